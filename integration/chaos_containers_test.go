package integration

// TestChaosContainers is the chaos run against the compose stack's
// containers (make compose-e2e runs it on a stack of its own): the same
// client, hooks, probes, invariant checker and figures as TestChaos, with
// the faults containers make real. Two sidecar replicas run as containers
// of the sidecar image on the stack's network; Traefik and ZooKeeper are the
// stack's. In sequence:
//
//   - docker kill of the ZooKeeper leader, docker start after a while;
//   - docker pause of all three ZooKeeper containers for longer than the
//     replicas' session timeout, then unpause;
//   - docker network disconnect of one ZooKeeper node (the leader): cut off
//     from the other two and from every client, then reconnected;
//   - docker network disconnect of replica 0: cut off from the ensemble
//     (and from the client, which retries on replica 1) for longer than its
//     session timeout, while Traefik keeps serving;
//   - docker restart of Traefik; probes taken until it serves the probe
//     routes again are counted apart.
//
// ZK_SIDECAR_CHAOS_COMPOSE names the compose project; the suite's external
// mode variables name its ensemble and Traefik.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/harness"
)

const (
	envChaosCompose = "ZK_SIDECAR_CHAOS_COMPOSE" // compose project of the stack
	envSidecarImage = "ZK_SIDECAR_IMAGE"         // sidecar image the replicas run

	// How long each cut lasts: longer than the replicas' session timeout.
	chaosPartition = 6 * time.Second
)

func TestChaosContainers(t *testing.T) {
	requireEnv(t)
	project := os.Getenv(envChaosCompose)
	if project == "" || !env.external {
		t.Skip("containerized chaos run: needs a compose stack (make compose-e2e runs it with " + envChaosCompose + ")")
	}
	image := os.Getenv(envSidecarImage)
	if image == "" {
		image = "traefik-zk-sidecar/sidecar:local"
	}
	testStart := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	run := newChaosRun(t, ctx)
	cs := startContainerStack(t, ctx, project, image)
	run.servers, run.tr, run.backends = env.servers, env.traefik, cs.backends
	run.replicas = []chaosReplica{cs.replicas[0], cs.replicas[1]}
	run.chaos = func() []*chaosPhase { return cs.script(run) }
	run.execute(testStart)
}

// containerStack is the compose project's containers, driven with the
// docker command.
type containerStack struct {
	t        *testing.T
	ctx      context.Context
	project  string
	network  string
	zk       [3]string // container ids of zk1..zk3
	traefik  string
	replicas [2]*containerReplica
	backends []*harness.Backend
}

func startContainerStack(t *testing.T, ctx context.Context, project, image string) *containerStack {
	cs := &containerStack{t: t, ctx: ctx, project: project, network: project + "_default"}
	for i := range cs.zk {
		cs.zk[i] = cs.service(fmt.Sprintf("zk%d", i+1))
	}
	cs.traefik = cs.service("traefik")
	leader, err := cs.leader()
	require.NoError(t, err)
	t.Logf("compose project %s: ZooKeeper %s (leader zk%d), Traefik %s", project, strings.Join(env.servers, ","), leader+1, env.traefik.WebURL())

	cs.backends = make([]*harness.Backend, chaosBackends)
	for i := range cs.backends {
		b, err := harness.StartBackend(fmt.Sprintf("b%d", i))
		require.NoError(t, err)
		t.Cleanup(func() { _ = b.Close() })
		cs.backends[i] = b
	}
	ports, err := harness.FreePorts(len(cs.replicas))
	require.NoError(t, err)
	for i := range cs.replicas {
		r := &containerReplica{name: fmt.Sprintf("%s-chaos-sidecar%d", project, i), port: ports[i]}
		_ = exec.Command("docker", "rm", "-f", r.name).Run()
		// The labels make it part of the project: `down --remove-orphans`
		// removes it should the test not get to.
		args := []string{"run", "-d", "--name", r.name, "--network", cs.network,
			"--label", "com.docker.compose.project=" + project,
			"--label", fmt.Sprintf("com.docker.compose.service=chaos-sidecar%d", i),
			"-p", fmt.Sprintf("127.0.0.1:%d:8480", r.port),
			"-e", "TRAEFIK_ZK_SIDECAR_TOKEN=" + chaosToken,
			"-e", "TRAEFIK_ZK_SIDECAR_KEY_SECRET=" + chaosSecret,
			image, "serve",
			"--traefik-zk-ips=zk1:2181,zk2:2181,zk3:2181",
			"--traefik-root-key=" + chaosRoot,
			"--state-root=" + chaosStateRoot,
			"--listen=0.0.0.0:8480",
			"--log-level=debug", "--log-format=text",
			"--zk-session-timeout=" + chaosSessionTimeout.String(),
			"--zk-op-timeout=" + chaosOpTimeout.String(),
		}
		out, err := exec.Command("docker", args...).CombinedOutput()
		require.NoError(t, err, "docker run: %s", out)
		r.id = strings.TrimSpace(string(out))
		t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", r.id).Run() })
		require.NoError(t, r.waitReady(ctx), "replica %d", i)
		cs.replicas[i] = r
	}
	return cs
}

// service is the container id of a compose service.
func (cs *containerStack) service(name string) string {
	out, err := exec.Command("docker", "ps", "-q", "--filter", "label=com.docker.compose.project="+cs.project,
		"--filter", "label=com.docker.compose.service="+name).Output()
	require.NoError(cs.t, err)
	id := strings.TrimSpace(string(out))
	require.NotEmpty(cs.t, id, "no running container of service %s in project %s", name, cs.project)
	return id
}

func docker(args ...string) error {
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// mode asks node i (through its published client port) what it is.
func (cs *containerStack) mode(i int) string {
	c, err := net.DialTimeout("tcp", env.servers[i], time.Second)
	if err != nil {
		return ""
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("srvr")); err != nil {
		return ""
	}
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		if m, ok := strings.CutPrefix(sc.Text(), "Mode: "); ok {
			return m
		}
	}
	return ""
}

func (cs *containerStack) leader() (int, error) {
	for i := range cs.zk {
		if cs.mode(i) == "leader" {
			return i, nil
		}
	}
	return -1, errors.New("no ZooKeeper node says it leads")
}

// waitQuorum waits until every node serves as leader or follower.
func (cs *containerStack) waitQuorum(ctx context.Context) (int, error) {
	for {
		leader, serving := -1, 0
		for i := range cs.zk {
			switch cs.mode(i) {
			case "leader":
				leader = i
				serving++
			case "follower":
				serving++
			}
		}
		if leader >= 0 && serving == len(cs.zk) {
			return leader, nil
		}
		select {
		case <-ctx.Done():
			return -1, fmt.Errorf("no quorum of all 3 nodes: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// reconnect joins a container to the stack's network again under its
// compose service name, which the others resolve.
func (cs *containerStack) reconnect(id, alias string) error {
	return docker("network", "connect", "--alias", alias, cs.network, id)
}

func (cs *containerStack) script(run *chaosRun) []*chaosPhase {
	t, ctx := cs.t, cs.ctx
	quorum := func(phase int) (int, error) {
		qctx, qcancel := context.WithTimeout(ctx, 2*time.Minute)
		defer qcancel()
		start := time.Now()
		leader, err := cs.waitQuorum(qctx)
		t.Logf("phase %d: all 3 nodes serve %s later (leader zk%d)", phase, time.Since(start).Round(time.Millisecond), leader+1)
		return leader, err
	}
	phases := []*chaosPhase{
		{name: "docker kill the ZooKeeper leader, docker start it", trigger: 120, run: func() error {
			leader, err := cs.leader()
			if err != nil {
				return err
			}
			t.Logf("phase 1: docker kill zk%d", leader+1)
			if err := docker("kill", cs.zk[leader]); err != nil {
				return err
			}
			time.Sleep(chaosLeaderDown)
			if err := docker("start", cs.zk[leader]); err != nil {
				return err
			}
			_, err = quorum(1)
			return err
		}},
		{name: fmt.Sprintf("docker pause all 3 ZooKeeper containers for %s (session timeout %s)", chaosFreeze, chaosSessionTimeout), trigger: 280, run: func() error {
			run.frozen.Store(true)
			err := docker(append([]string{"pause"}, cs.zk[:]...)...)
			if err == nil {
				time.Sleep(chaosFreeze)
			}
			err = errors.Join(err, docker(append([]string{"unpause"}, cs.zk[:]...)...))
			run.frozen.Store(false)
			if err != nil {
				return err
			}
			if _, err := quorum(2); err != nil {
				return err
			}
			return cs.replicasReady(ctx, 2)
		}},
		{name: fmt.Sprintf("docker network disconnect the ZooKeeper leader for %s", chaosPartition), trigger: 440, run: func() error {
			leader, err := cs.leader()
			if err != nil {
				return err
			}
			t.Logf("phase 3: zk%d cut off from the other nodes and every client", leader+1)
			if err := docker("network", "disconnect", cs.network, cs.zk[leader]); err != nil {
				return err
			}
			time.Sleep(chaosPartition)
			if err := cs.reconnect(cs.zk[leader], fmt.Sprintf("zk%d", leader+1)); err != nil {
				return err
			}
			_, err = quorum(3)
			return err
		}},
		{name: fmt.Sprintf("docker network disconnect replica 0 mid-burst for %s", chaosPartition), trigger: chaosTriggerSidecar, run: func() error {
			r := cs.replicas[0]
			if err := docker("network", "disconnect", cs.network, r.id); err != nil {
				return err
			}
			time.Sleep(chaosPartition)
			if err := docker("network", "connect", cs.network, r.id); err != nil {
				return err
			}
			return cs.replicasReady(ctx, 4)
		}},
		{name: "docker restart Traefik", trigger: 820, run: func() error {
			run.traefikDown.Store(true)
			defer run.traefikDown.Store(false)
			start := time.Now()
			if err := docker("restart", cs.traefik); err != nil {
				return err
			}
			wctx, wcancel := context.WithTimeout(ctx, 2*time.Minute)
			defer wcancel()
			for _, p := range run.probes {
				want := run.backends[p.backend].Name() + " "
				_, _, err := harness.WaitHTTP(wctx, run.tr.WebURL()+p.path+"/", "", func(status int, body string) bool {
					return status == http.StatusOK && strings.HasPrefix(body, want)
				})
				if err != nil {
					return fmt.Errorf("probe route %s not served after the restart: %w", p.id, err)
				}
			}
			t.Logf("phase 5: Traefik serves the probe routes again %s after docker restart", time.Since(start).Round(time.Millisecond))
			return nil
		}},
	}
	for _, ph := range phases {
		ph.done = make(chan struct{})
	}
	return phases
}

func (cs *containerStack) replicasReady(ctx context.Context, phase int) error {
	start := time.Now()
	for i, r := range cs.replicas {
		if err := r.waitReady(ctx); err != nil {
			return fmt.Errorf("replica %d: %w", i, err)
		}
	}
	cs.t.Logf("phase %d: both replicas ready %s later", phase, time.Since(start).Round(time.Millisecond))
	return nil
}

// containerReplica is a sidecar replica in a container of the sidecar
// image, its API published on a fixed loopback port (kept across restarts).
type containerReplica struct {
	name string
	id   string
	port int
}

func (r *containerReplica) URL() string { return fmt.Sprintf("http://127.0.0.1:%d", r.port) }

func (r *containerReplica) Client(opts ...harness.ClientOption) *harness.Client {
	return harness.NewClient(r.URL(), chaosToken, opts...)
}

func (r *containerReplica) Logs() string {
	out, _ := exec.Command("docker", "logs", r.id).CombinedOutput()
	return string(out)
}

func (r *containerReplica) Kill() error { return docker("kill", r.id) }

func (r *containerReplica) Start(ctx context.Context) error {
	if err := docker("start", r.id); err != nil {
		return err
	}
	return r.waitReady(ctx)
}

func (r *containerReplica) waitReady(ctx context.Context) error {
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, _, err := harness.WaitHTTP(wctx, r.URL()+"/readyz", "", func(status int, _ string) bool { return status == http.StatusOK })
	return err
}
