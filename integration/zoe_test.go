package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/harness"
)

const (
	zoeToken     = "zoe-master-token-0123456789abcdef"
	zoeKeySecret = "zoe-lifecycle-key-secret-0123456789abcdef"
)

// TestZoeClientLifecycle: Zoe's master, played by the Python client of
// examples/zoe (lifecycle_driver.py, one process per step, the system's
// python3 and its standard library only), drives a real sidecar on a real
// 3-node ensemble with a real Traefik through the life of the notebook and
// Spark ZApps: prepare → containers created with REVERSE_PROXY_PATH_<port>
// → start with the published ports → served through Traefik; then a master
// that dies before posting a stop, a restarted master's resync, mutual TLS
// with a second replica serving HTTPS, a normal stop, and a stop while the
// whole ensemble is frozen (503, retried after Retry-After once it thaws).
// The driver's errors step checks 401 and 400 with the field. The ensemble
// and Traefik are the test's own: it freezes every ZooKeeper node.
func TestZoeClientLifecycle(t *testing.T) {
	requireOwnStack(t)
	python, err := exec.LookPath("python3")
	require.NoError(t, err, "python3 is needed to run Zoe's client")
	driverDir, err := filepath.Abs(filepath.Join("..", "examples", "zoe"))
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ens, err := harness.StartEnsemble(ctx, harness.EnsembleOptions{Nodes: 3})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ens.Close() })
	require.NoError(t, ensureRootOn(ens.Servers(), "traefik"))
	tr, err := harness.StartTraefik(ctx, harness.TraefikOptions{Endpoints: ens.Servers(), RootKey: "traefik"})
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("Traefik log tail:\n%s", tail(tr.Logs(), 3000))
		}
		_ = tr.Close()
	})
	sc, err := harness.StartSidecar(ctx, harness.SidecarOptions{
		Binary:    apiSidecarBinary(t),
		Servers:   ens.Servers(),
		Token:     zoeToken,
		KeySecret: zoeKeySecret,
		// A short op timeout makes the frozen ensemble answer 503 quickly.
		Args: []string{"--traefik-api-url=" + tr.APIURL(), "--public-url=" + tr.WebURL(), "--zk-op-timeout=1s"},
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("sidecar log tail:\n%s", tail(sc.Logs(), 6000))
		}
		_ = sc.Close()
	})

	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "sidecar-token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(zoeToken+"\n"), 0o600))
	stateFile := filepath.Join(dir, "zoe-db.json")
	t.Cleanup(func() { killStandIns(t, stateFile) })
	d := &zoeDriver{t: t, python: python, dir: driverDir, env: append(os.Environ(),
		"ZOE_SIDECAR_URL="+sc.URL(),
		"ZOE_SIDECAR_TOKEN_FILE="+tokenFile,
		"TRAEFIK_URL="+tr.WebURL(),
		"ZOE_STATE_FILE="+stateFile,
		"PYTHONDONTWRITEBYTECODE=1",
	)}

	d.run("errors")
	d.run("launch")
	d.run("crash-while-stopping", "44")
	d.run("restart")
	d.withEnv(startTLSReplica(t, ens, tr)...).run("tls")
	d.run("stop", "42")
	d.runDuringOutage(ens, "43")

	// Independently of the driver: every path any container was given now
	// answers 404 through Traefik, and no container is left.
	db := readZoeDB(t, stateFile)
	require.Len(t, db.Executions, 3)
	for id, rec := range db.Executions {
		assert.Equal(t, "terminated", rec.Status, "execution %s", id)
		assert.Empty(t, rec.Pids, "execution %s", id)
		for service, env := range rec.Env {
			for name, path := range env {
				status, body, err := harness.Get(ctx, tr.WebURL()+path+"/", "")
				require.NoError(t, err)
				assert.Equal(t, http.StatusNotFound, status, "execution %s %s %s=%s: %s", id, service, name, path, body)
			}
		}
	}
}

// startTLSReplica starts a second sidecar on the same ensemble and state,
// serving its API over HTTPS and requiring client certificates, and
// returns the driver's environment for it: its URL, the CA, the master's
// certificate, and a foreign CA and certificate for the refusals.
func startTLSReplica(t *testing.T, ens *harness.Ensemble, tr *harness.Traefik) []string {
	t.Helper()
	pki := newTLSPKI(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sc, err := harness.StartSidecar(ctx, harness.SidecarOptions{
		Binary:    apiSidecarBinary(t),
		Servers:   ens.Servers(),
		Token:     zoeToken,
		KeySecret: zoeKeySecret,
		Args: []string{"--traefik-api-url=" + tr.APIURL(), "--public-url=" + tr.WebURL(),
			"--tls-cert-file=" + pki.api.Cert, "--tls-key-file=" + pki.api.Key, "--tls-client-ca-file=" + pki.caFile},
		HTTPS: pki.clientTLS(t, pki.master),
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("HTTPS sidecar log tail:\n%s", tail(sc.Logs(), 4000))
		}
		_ = sc.Close()
	})
	require.True(t, strings.HasPrefix(sc.URL(), "https://"), sc.URL())
	return []string{
		"ZOE_SIDECAR_URL=" + sc.URL(),
		"ZOE_SIDECAR_CA_FILE=" + pki.caFile,
		"ZOE_SIDECAR_CERT_FILE=" + pki.master.Cert,
		"ZOE_SIDECAR_KEY_FILE=" + pki.master.Key,
		"OTHER_CA_FILE=" + pki.otherCAFile,
		"FOREIGN_CERT_FILE=" + pki.foreign.Cert,
		"FOREIGN_KEY_FILE=" + pki.foreign.Key,
	}
}

// zoeDriver runs steps of examples/zoe/lifecycle_driver.py.
type zoeDriver struct {
	t      *testing.T
	python string
	dir    string
	env    []string
}

// withEnv is the driver with extra environment variables; later ones win.
func (d *zoeDriver) withEnv(vars ...string) *zoeDriver {
	e := *d
	e.env = append(append([]string(nil), d.env...), vars...)
	return &e
}

func (d *zoeDriver) command(args ...string) *exec.Cmd {
	cmd := exec.Command(d.python, append([]string{"lifecycle_driver.py"}, args...)...)
	cmd.Dir = d.dir
	cmd.Env = d.env
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run runs one step to its end; its report goes to the test log.
func (d *zoeDriver) run(args ...string) {
	t := d.t
	t.Helper()
	start := time.Now()
	out, err := d.command(args...).CombinedOutput()
	t.Logf("lifecycle_driver.py %s (%s):\n%s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond), out)
	require.NoError(t, err, "lifecycle_driver.py %s", strings.Join(args, " "))
}

// runDuringOutage runs stop-during-outage: it freezes every ZooKeeper node
// when the driver says FREEZE and thaws them when it says THAW (after its
// first 503).
func (d *zoeDriver) runDuringOutage(ens *harness.Ensemble, id string) {
	t := d.t
	t.Helper()
	cmd := d.command("stop-during-outage", id)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())

	frozen := false
	thaw := func() {
		for i := range 3 {
			assert.NoError(t, ens.Thaw(i))
		}
		frozen = false
	}
	defer func() {
		if frozen {
			thaw()
		}
	}()
	var frozenAt, thawedAt time.Time
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		switch lines.Text() {
		case "FREEZE":
			for i := range 3 {
				require.NoError(t, ens.Freeze(i))
			}
			frozen, frozenAt = true, time.Now()
			_, err := io.WriteString(stdin, "frozen\n")
			require.NoError(t, err)
		case "THAW":
			require.True(t, frozen, "THAW before FREEZE")
			thaw()
			thawedAt = time.Now()
		default:
			t.Logf("driver: %s", lines.Text())
		}
	}
	err = cmd.Wait()
	t.Logf("lifecycle_driver.py stop-during-outage %s (ensemble frozen for %s):\n%s",
		id, thawedAt.Sub(frozenAt).Round(time.Millisecond), stderr.String())
	require.NoError(t, err, "lifecycle_driver.py stop-during-outage %s", id)
	require.False(t, frozenAt.IsZero() || thawedAt.IsZero(), "the driver never asked for the freeze and the thaw")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = ens.WaitForQuorum(ctx)
	require.NoError(t, err)
}

// zoeDB is the part of the driver's database the test reads.
type zoeDB struct {
	Executions map[string]struct {
		Status string                       `json:"status"`
		Pids   []int                        `json:"pids"`
		Env    map[string]map[string]string `json:"env"`
	} `json:"executions"`
}

func readZoeDB(t *testing.T, path string) zoeDB {
	t.Helper()
	var db zoeDB
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &db))
	return db
}

// killStandIns kills the stand-in containers a failed run left behind.
func killStandIns(t *testing.T, path string) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return
	}
	var db zoeDB
	if json.Unmarshal(raw, &db) != nil {
		return
	}
	for id, rec := range db.Executions {
		for _, pid := range rec.Pids {
			if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
				t.Logf("killed stand-in container pid %d of execution %s", pid, id)
			}
		}
	}
}
