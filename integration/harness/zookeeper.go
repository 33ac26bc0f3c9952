package harness

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ZooKeeperJar is the Debian package's server jar; its manifest Class-Path
// names every dependency except an slf4j binding.
const ZooKeeperJar = "/usr/share/java/zookeeper.jar"

// Optional logging jars of the Debian packages libslf4j-java and
// liblog4j1.2-java. Without an slf4j binding the server logs nothing at all.
var zkLogJars = []string{"/usr/share/java/slf4j-log4j12.jar", "/usr/share/java/log4j-1.2.jar"}

// EnsureZooKeeper makes sure java and the ZooKeeper jar are installed,
// installing the Debian package zookeeper (which pulls in Java) when either is
// missing. Needs root and network then.
func EnsureZooKeeper(ctx context.Context) error {
	_, javaErr := exec.LookPath("java")
	_, jarErr := os.Stat(ZooKeeperJar)
	if javaErr == nil && jarErr == nil {
		return nil
	}
	fmt.Fprintf(os.Stderr, "harness: java (%v) or %s (%v) missing: installing the Debian package zookeeper\n",
		javaErr, ZooKeeperJar, jarErr)
	run := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("apt-get %s failed: %w\n%s", strings.Join(args, " "), err, lastBytes(out, 2000))
		}
		return nil
	}
	if err := run("update"); err != nil {
		return fmt.Errorf("install ZooKeeper: %w", err)
	}
	if err := run("install", "-y", "zookeeper"); err != nil {
		return fmt.Errorf("install ZooKeeper: %w", err)
	}
	if _, err := exec.LookPath("java"); err != nil {
		return fmt.Errorf("installed zookeeper but java is still not on PATH: %w", err)
	}
	if _, err := os.Stat(ZooKeeperJar); err != nil {
		return fmt.Errorf("installed zookeeper but %w", err)
	}
	return nil
}

func lastBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// EnsembleOptions configures StartEnsemble.
type EnsembleOptions struct {
	// Nodes is the number of servers; default 3. 1 runs a standalone server.
	Nodes int
	// TickTime is ZooKeeper's tickTime; default 500ms. Session timeouts are
	// bounded to [2, 20] ticks, so with 500ms clients get at most 10s.
	TickTime time.Duration
	// Log receives the nodes' output, each line prefixed "zk<myid>| ".
	// Default: a file zookeeper.log in each node's directory (see Logs).
	Log io.Writer
	// ForceSync makes servers fsync their transaction log. Default off:
	// tests do not need durability across machine crashes, and fsync on a
	// slow disk makes every write take milliseconds.
	ForceSync bool
	// TLS, when set, adds a TLS client port to every node (see
	// SecureServers); the plain port stays for the harness's own probes.
	TLS *EnsembleTLS
}

// EnsembleTLS is the servers' side of TLS client connections: PEM files,
// as ZooKeeper 3.8's Netty connection factory reads them.
type EnsembleTLS struct {
	// CertFile and KeyFile are the servers' certificate and private key;
	// clients verify the certificate against 127.0.0.1.
	CertFile, KeyFile string
	// CAFile is the bundle client certificates are verified against.
	CAFile string
	// ClientAuth is ZooKeeper's ssl.clientAuth: "need" (the default: a
	// client without a certificate signed by CAFile is refused), "want"
	// or "none".
	ClientAuth string
}

// Netty jars the Debian package's class path lacks but its TLS needs (the
// SSL handler is a codec; the transport needs the resolver).
var zkNettyJars = []string{"/usr/share/java/netty-codec.jar", "/usr/share/java/netty-resolver.jar",
	"/usr/share/java/netty-transport-native-unix-common.jar"}

// Ensemble is a running set of ZooKeeper servers on 127.0.0.1.
type Ensemble struct {
	mu     sync.Mutex
	dir    string
	conf   string // directory with the logging configuration, on the class path
	opts   EnsembleOptions
	logMu  sync.Mutex
	nodes  []*zkNode
	closed bool
}

type zkNode struct {
	myid         int
	dir          string
	clientPort   int
	securePort   int // TLS client port; 0 without EnsembleOptions.TLS
	peerPort     int
	electionPort int
	proc         *process
	logFile      *os.File
	frozen       bool
	stopped      bool // stopped on purpose; an exit is not a crash
}

func (n *zkNode) running() bool { return n.proc != nil && !n.proc.exited() }

// StartEnsemble writes a configuration per node into a temporary directory,
// starts every node and waits (bounded by ctx) until they form a quorum. On
// error everything started is cleaned up.
func StartEnsemble(ctx context.Context, opts EnsembleOptions) (*Ensemble, error) {
	if opts.Nodes <= 0 {
		opts.Nodes = 3
	}
	if opts.TickTime <= 0 {
		opts.TickTime = 500 * time.Millisecond
	}
	if err := EnsureZooKeeper(ctx); err != nil {
		return nil, err
	}
	ports, err := freePorts(4 * opts.Nodes)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "harness-zk-")
	if err != nil {
		return nil, err
	}
	e := &Ensemble{dir: dir, conf: filepath.Join(dir, "conf"), opts: opts}
	for i := range opts.Nodes {
		e.nodes = append(e.nodes, &zkNode{
			myid:         i + 1,
			dir:          filepath.Join(dir, fmt.Sprintf("zk%d", i+1)),
			clientPort:   ports[3*i],
			peerPort:     ports[3*i+1],
			electionPort: ports[3*i+2],
		})
		if opts.TLS != nil {
			e.nodes[i].securePort = ports[3*opts.Nodes+i]
		}
	}
	if err := e.writeConfig(); err != nil {
		_ = e.Close()
		return nil, err
	}
	e.mu.Lock()
	for i := range e.nodes {
		if err := e.startLocked(i); err != nil {
			e.mu.Unlock()
			_ = e.Close()
			return nil, err
		}
	}
	e.mu.Unlock()
	if _, err := e.WaitForQuorum(ctx); err != nil {
		err = fmt.Errorf("ZooKeeper ensemble did not start: %w%s", err, e.logTails())
		_ = e.Close()
		return nil, err
	}
	return e, nil
}

const log4jProperties = `log4j.rootLogger=INFO, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} [myid:%X{myid}] %-5p [%t:%C{1}@%L] - %m%n
`

// logbackXML serves a ZooKeeper installation that ships logback instead.
const logbackXML = `<configuration>
  <appender name="CONSOLE" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%d{ISO8601} [myid:%X{myid}] %-5level [%thread:%C{1}@%L] - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="CONSOLE"/></root>
</configuration>
`

func (e *Ensemble) writeConfig() error {
	if err := os.MkdirAll(e.conf, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(e.conf, "log4j.properties"), []byte(log4jProperties), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(e.conf, "logback.xml"), []byte(logbackXML), 0o644); err != nil {
		return err
	}
	tick := int(e.opts.TickTime / time.Millisecond)
	if tick < 1 {
		tick = 1
	}
	// initLimit/syncLimit in ticks: 10s to connect and sync to a leader (JVM
	// start-up on a loaded 2-core machine), 5s before a silent peer is dropped.
	initLimit := max(10, int(10*time.Second/e.opts.TickTime))
	syncLimit := max(5, int(5*time.Second/e.opts.TickTime))
	forceSync := "no"
	if e.opts.ForceSync {
		forceSync = "yes"
	}
	for _, n := range e.nodes {
		data := filepath.Join(n.dir, "data")
		if err := os.MkdirAll(data, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(data, "myid"), []byte(strconv.Itoa(n.myid)+"\n"), 0o644); err != nil {
			return err
		}
		var b strings.Builder
		fmt.Fprintf(&b, "tickTime=%d\ninitLimit=%d\nsyncLimit=%d\n", tick, initLimit, syncLimit)
		fmt.Fprintf(&b, "dataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\n", data, n.clientPort)
		b.WriteString("admin.enableServer=false\n4lw.commands.whitelist=*\nmaxClientCnxns=0\n")
		// Unknown keys become zookeeper.* system properties: no fsync unless
		// asked, and a 4 MB (not 64 MB) transaction log preallocation.
		fmt.Fprintf(&b, "forceSync=%s\npreAllocSize=4096\n", forceSync)
		if e.opts.TLS != nil {
			if err := e.writeTLSConfig(&b, n); err != nil {
				return err
			}
		}
		if len(e.nodes) > 1 {
			for _, m := range e.nodes {
				fmt.Fprintf(&b, "server.%d=127.0.0.1:%d:%d\n", m.myid, m.peerPort, m.electionPort)
			}
		}
		if err := os.WriteFile(filepath.Join(n.dir, "zoo.cfg"), []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// writeTLSConfig adds node n's TLS client port to its zoo.cfg. ZooKeeper
// 3.8 reads PEM directly: the key store is one file holding the private key
// and the certificate.
func (e *Ensemble) writeTLSConfig(b *strings.Builder, n *zkNode) error {
	t := e.opts.TLS
	cert, err := os.ReadFile(t.CertFile)
	if err != nil {
		return err
	}
	key, err := os.ReadFile(t.KeyFile)
	if err != nil {
		return err
	}
	keyStore := filepath.Join(n.dir, "keystore.pem")
	if err := os.WriteFile(keyStore, append(append(key, '\n'), cert...), 0o600); err != nil {
		return err
	}
	clientAuth := t.ClientAuth
	if clientAuth == "" {
		clientAuth = "need"
	}
	fmt.Fprintf(b, "secureClientPort=%d\nsecureClientPortAddress=127.0.0.1\n", n.securePort)
	b.WriteString("serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory\n")
	fmt.Fprintf(b, "ssl.keyStore.location=%s\nssl.keyStore.type=PEM\n", keyStore)
	fmt.Fprintf(b, "ssl.trustStore.location=%s\nssl.trustStore.type=PEM\n", t.CAFile)
	fmt.Fprintf(b, "ssl.clientAuth=%s\n", clientAuth)
	return nil
}

// startLocked starts node i; e.mu must be held.
func (e *Ensemble) startLocked(i int) error {
	n := e.nodes[i]
	cp := []string{ZooKeeperJar, e.conf}
	jars := zkLogJars
	if e.opts.TLS != nil {
		jars = append(append([]string(nil), jars...), zkNettyJars...)
	}
	for _, j := range jars {
		if _, err := os.Stat(j); err == nil {
			cp = append(cp, j)
		}
	}
	args := []string{
		"-Xmx256m", "-Xms32m",
		"-XX:+UseSerialGC", // one GC thread per JVM: the machines have 2 cores
		"-Djava.awt.headless=true",
		"-Djava.net.preferIPv4Stack=true",
		"-Dzookeeper.jmx.log4j.disable=true",
		"-Dlog4j.configuration=file:" + filepath.Join(e.conf, "log4j.properties"),
		"-cp", strings.Join(cp, ":"),
		"org.apache.zookeeper.server.quorum.QuorumPeerMain",
		filepath.Join(n.dir, "zoo.cfg"),
	}
	var out io.Writer
	if e.opts.Log != nil {
		out = newPrefixWriter(&e.logMu, e.opts.Log, fmt.Sprintf("zk%d| ", n.myid))
	} else {
		if n.logFile == nil {
			f, err := os.OpenFile(filepath.Join(n.dir, "zookeeper.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
			if err != nil {
				return err
			}
			n.logFile = f
		}
		out = n.logFile
	}
	p, err := startProcess("java", args, n.dir, nil, out)
	if err != nil {
		return fmt.Errorf("start ZooKeeper node %d: %w", i, err)
	}
	n.proc = p
	n.frozen = false
	n.stopped = false
	return nil
}

func (e *Ensemble) node(i int) (*zkNode, error) {
	if i < 0 || i >= len(e.nodes) {
		return nil, fmt.Errorf("no ZooKeeper node %d (ensemble has %d)", i, len(e.nodes))
	}
	return e.nodes[i], nil
}

// Servers returns "127.0.0.1:<clientPort>" per node, in node order.
func (e *Ensemble) Servers() []string {
	s := make([]string, len(e.nodes))
	for i, n := range e.nodes {
		s[i] = net.JoinHostPort("127.0.0.1", strconv.Itoa(n.clientPort))
	}
	return s
}

// SecureServers returns "127.0.0.1:<TLS client port>" per node, in node
// order; nil without EnsembleOptions.TLS.
func (e *Ensemble) SecureServers() []string {
	if e.opts.TLS == nil {
		return nil
	}
	s := make([]string, len(e.nodes))
	for i, n := range e.nodes {
		s[i] = net.JoinHostPort("127.0.0.1", strconv.Itoa(n.securePort))
	}
	return s
}

// ConnectString returns the comma-joined Servers, as ZooKeeper clients take it.
func (e *Ensemble) ConnectString() string { return strings.Join(e.Servers(), ",") }

// Dir returns node i's directory (zoo.cfg, data/, zookeeper.log).
func (e *Ensemble) Dir(i int) string {
	if n, err := e.node(i); err == nil {
		return n.dir
	}
	return ""
}

// Logs returns node i's output so far when EnsembleOptions.Log was nil.
func (e *Ensemble) Logs(i int) string {
	n, err := e.node(i)
	if err != nil {
		return err.Error()
	}
	return tailFile(filepath.Join(n.dir, "zookeeper.log"), 1<<30)
}

func (e *Ensemble) logTails() string {
	if e.opts.Log != nil {
		return ""
	}
	var b strings.Builder
	for i, n := range e.nodes {
		fmt.Fprintf(&b, "\n--- zk node %d (myid %d) log tail ---\n%s", i, n.myid,
			tailFile(filepath.Join(n.dir, "zookeeper.log"), 3000))
	}
	return b.String()
}

// FourLetterWord sends a ZooKeeper four-letter command (srvr, mntr, cons,
// wchc, ...) to addr and returns the answer.
func FourLetterWord(addr, cmd string, timeout time.Duration) (string, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, cmd); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	if err != nil {
		return string(b), fmt.Errorf("%s to %s: %w", cmd, addr, err)
	}
	return string(b), nil
}

// Mode asks node i with `srvr` for its mode: "leader", "follower",
// "standalone" (or "observer"). A node that is up but has no quorum answers
// that it is not serving requests, which is an error here.
func (e *Ensemble) Mode(i int) (string, error) {
	n, err := e.node(i)
	if err != nil {
		return "", err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(n.clientPort))
	out, err := FourLetterWord(addr, "srvr", time.Second)
	if err != nil {
		return "", fmt.Errorf("node %d: %w", i, err)
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if m, ok := strings.CutPrefix(sc.Text(), "Mode: "); ok {
			return strings.TrimSpace(m), nil
		}
	}
	return "", fmt.Errorf("node %d: no mode in srvr answer %q", i, strings.TrimSpace(out))
}

// live returns the indexes of nodes that run and are not frozen.
func (e *Ensemble) live() []int {
	e.mu.Lock()
	defer e.mu.Unlock()
	var idx []int
	for i, n := range e.nodes {
		if n.running() && !n.frozen {
			idx = append(idx, i)
		}
	}
	return idx
}

// crashed reports a node that exited without Stop/Kill/Close.
func (e *Ensemble) crashed() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, n := range e.nodes {
		if n.proc != nil && n.proc.exited() && !n.stopped {
			return fmt.Errorf("ZooKeeper node %d exited unexpectedly: %v", i, n.proc.waitErr)
		}
	}
	return nil
}

// Leader returns the index of the node that reports itself leader (or
// standalone) among the running, unfrozen nodes.
func (e *Ensemble) Leader() (int, error) {
	var errs []error
	for _, i := range e.live() {
		m, err := e.Mode(i)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if m == "leader" || m == "standalone" {
			return i, nil
		}
	}
	errs = append(errs, errors.New("no running ZooKeeper node is leader"))
	return -1, errors.Join(errs...)
}

// checkQuorum returns the leader if every running, unfrozen node serves
// and exactly one of them leads.
func (e *Ensemble) checkQuorum() (int, error) {
	live := e.live()
	if len(live) == 0 {
		return -1, errors.New("no ZooKeeper node is running")
	}
	leader := -1
	var errs []error
	for _, i := range live {
		m, err := e.Mode(i)
		switch {
		case err != nil:
			errs = append(errs, err)
		case m == "leader" || m == "standalone":
			if leader >= 0 {
				errs = append(errs, fmt.Errorf("nodes %d and %d both lead", leader, i))
			}
			leader = i
		case m == "follower" || m == "observer":
		default:
			errs = append(errs, fmt.Errorf("node %d: mode %q", i, m))
		}
	}
	if leader < 0 {
		errs = append(errs, errors.New("no leader among running nodes"))
	}
	if len(errs) > 0 {
		return -1, errors.Join(errs...)
	}
	return leader, nil
}

// WaitForQuorum polls every 100ms until a leader is elected among the
// running nodes and every running, unfrozen node serves as leader or
// follower. It fails at once if a node crashed.
func (e *Ensemble) WaitForQuorum(ctx context.Context) (leader int, err error) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := e.crashed(); err != nil {
			return -1, err
		}
		leader, err = e.checkQuorum()
		if err == nil {
			return leader, nil
		}
		select {
		case <-ctx.Done():
			return -1, fmt.Errorf("waiting for a ZooKeeper quorum: %w (last: %v)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

func (e *Ensemble) runningNode(i int) (*zkNode, error) {
	n, err := e.node(i)
	if err != nil {
		return nil, err
	}
	if e.closed {
		return nil, errors.New("ensemble closed")
	}
	if !n.running() {
		return nil, fmt.Errorf("ZooKeeper node %d is not running", i)
	}
	return n, nil
}

// Stop sends node i SIGTERM and waits for it to exit (SIGKILL after 10s).
func (e *Ensemble) Stop(i int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	n, err := e.runningNode(i)
	if err != nil {
		return err
	}
	n.stopped = true
	err = n.proc.terminate(10 * time.Second)
	n.frozen = false
	return err
}

// Kill sends node i SIGKILL and waits for it to exit.
func (e *Ensemble) Kill(i int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	n, err := e.runningNode(i)
	if err != nil {
		return err
	}
	n.stopped = true
	err = n.proc.kill()
	n.frozen = false
	return err
}

// Restart starts node i again, with the same directory and ports, after
// Stop or Kill. It does not wait for the node to join: use WaitForQuorum.
func (e *Ensemble) Restart(i int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	n, err := e.node(i)
	if err != nil {
		return err
	}
	if e.closed {
		return errors.New("ensemble closed")
	}
	if n.running() {
		return fmt.Errorf("ZooKeeper node %d is still running", i)
	}
	return e.startLocked(i)
}

// Freeze stops node i with SIGSTOP: its sockets stay open but it answers
// nothing, like a hung machine.
func (e *Ensemble) Freeze(i int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	n, err := e.runningNode(i)
	if err != nil {
		return err
	}
	if err := n.proc.signal(syscall.SIGSTOP); err != nil {
		return err
	}
	n.frozen = true
	// The signal is delivered asynchronously; return only once the kernel
	// reports the JVM stopped, so a test's next request meets a frozen node.
	return waitStopped(n.proc.pid(), 5*time.Second)
}

// waitStopped polls /proc/<pid>/stat until the process state is 'T' (stopped).
func waitStopped(pid int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return err
		}
		// The state follows the command name, which is in parentheses.
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'T' {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pid %d not stopped %s after SIGSTOP", pid, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Thaw continues a frozen node i with SIGCONT.
func (e *Ensemble) Thaw(i int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	n, err := e.runningNode(i)
	if err != nil {
		return err
	}
	if err := n.proc.signal(syscall.SIGCONT); err != nil {
		return err
	}
	n.frozen = false
	return nil
}

// Close kills every node (thawing frozen ones first) and removes the
// temporary directories. It is idempotent.
func (e *Ensemble) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	var errs []error
	for _, n := range e.nodes {
		if n.proc != nil {
			n.stopped = true
			_ = n.proc.signal(syscall.SIGCONT)
			if err := n.proc.kill(); err != nil {
				errs = append(errs, err)
			}
		}
		if n.logFile != nil {
			_ = n.logFile.Close()
		}
	}
	if err := os.RemoveAll(e.dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
