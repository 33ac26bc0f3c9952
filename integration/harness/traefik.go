package harness

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// TraefikVersion is the Traefik release the harness builds and runs.
const TraefikVersion = "v3.6.12"

// TraefikBinary returns the path of a Traefik binary: $TRAEFIK_BIN when set,
// else ${XDG_CACHE_HOME:-$HOME/.cache}/traefik-zk-sidecar/traefik-<version>/traefik,
// building it there first when missing. `go install ...@version` is refused
// because Traefik's go.mod has replace directives, so the build runs in the
// helper module integration/tools/traefik, which repeats them. A flock on a
// lock file next to the binary keeps parallel test binaries from building
// twice; the binary appears by an atomic rename.
func TraefikBinary(ctx context.Context) (string, error) {
	if p := os.Getenv("TRAEFIK_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("TRAEFIK_BIN: %w", err)
		}
		return p, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("locate the cache for the Traefik binary: %w", err)
	}
	dir := filepath.Join(cache, "traefik-zk-sidecar", "traefik-"+TraefikVersion)
	bin := filepath.Join(dir, "traefik")
	if isExecutable(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".build.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	// Poll a non-blocking flock, so that waiting for another builder still
	// honours ctx. The lock goes with the file descriptor.
	for {
		err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return "", fmt.Errorf("lock %s: %w", lock.Name(), err)
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("waiting for another process building Traefik: %w", ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing releases it anyway
	if isExecutable(bin) {
		return bin, nil // built by whoever held the lock
	}
	if err := buildTraefik(ctx, bin); err != nil {
		return "", err
	}
	return bin, nil
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

func buildTraefik(ctx context.Context, bin string) error {
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return errors.New("cannot locate the harness source to find integration/tools/traefik")
	}
	tools := filepath.Join(filepath.Dir(self), "..", "tools", "traefik")
	if _, err := os.Stat(filepath.Join(tools, "go.mod")); err != nil {
		return fmt.Errorf("the Traefik build module is missing: %w", err)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		if !isExecutable(goBin) {
			return errors.New("building Traefik needs the go command on PATH (or set TRAEFIK_BIN)")
		}
	}
	tmp := fmt.Sprintf("%s.tmp-%d", bin, os.Getpid())
	fmt.Fprintf(os.Stderr, "building Traefik %s once into %s (takes minutes)\n", TraefikVersion, bin)
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", tmp, "github.com/traefik/traefik/v3/cmd/traefik")
	cmd.Dir = tools
	cmd.Env = append(os.Environ(), "GOWORK=off")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("build Traefik %s in %s: %w\n%s", TraefikVersion, tools, err, lastBytes(out.Bytes(), 4000))
	}
	if err := os.Rename(tmp, bin); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	fmt.Fprintf(os.Stderr, "built Traefik %s in %s\n", TraefikVersion, time.Since(start).Round(time.Second))
	return nil
}

// TraefikOptions configures StartTraefik.
type TraefikOptions struct {
	// Endpoints are the ZooKeeper servers (host:port); required.
	Endpoints []string
	// RootKey is the ZooKeeper provider's root key; default "traefik". The
	// root znode must exist: StartTraefik waits for the provider's watch on
	// it, and ZooKeeper sets no children watch on a missing node.
	RootKey string
	// Throttle is providers.providersThrottleDuration; default 100ms
	// (Traefik's own default, 2s, would dominate every latency measured).
	Throttle time.Duration
	// Username and Password are the provider's digest credentials.
	Username, Password string
	// ExtraArgs are appended to the command line.
	ExtraArgs []string
	// Log, when set, also receives Traefik's output (the log file keeps it).
	Log io.Writer
}

// Traefik is a running Traefik process with a ZooKeeper provider.
type Traefik struct {
	dir     string
	logPath string
	logFile *os.File
	webPort int
	apiPort int
	proc    *process

	closeOnce sync.Once
	closeErr  error
}

// StartTraefik starts Traefik with entrypoints "web" (HTTP) and "traefik"
// (API) on free ports of 127.0.0.1 and waits, bounded by ctx, until the API
// answers and the ZooKeeper provider watches the root key.
//
// The provider-ready signal is the ZooKeeper server's own view: the session
// whose client port belongs to a socket of the Traefik process (read from
// /proc/<pid>/fd and /proc/<pid>/net/tcp, matched to `cons`) holds a
// children watch on /<root> (`wchc`). That is the watch through which
// Traefik sees every later change, so a write made after StartTraefik
// returns is certain to be noticed. Traefik's debug line "WatchTree: <root>"
// is logged just before its watch goroutine calls ChildrenW and so can come
// too early; it is used only when the servers refuse four-letter words.
func StartTraefik(ctx context.Context, opts TraefikOptions) (*Traefik, error) {
	if len(opts.Endpoints) == 0 {
		return nil, errors.New("StartTraefik: no ZooKeeper endpoints")
	}
	if opts.RootKey == "" {
		opts.RootKey = "traefik"
	}
	if opts.Throttle <= 0 {
		opts.Throttle = 100 * time.Millisecond
	}
	bin, err := TraefikBinary(ctx)
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "harness-traefik-")
	if err != nil {
		return nil, err
	}
	t := &Traefik{dir: dir, logPath: filepath.Join(dir, "traefik.log"), webPort: ports[0], apiPort: ports[1]}
	t.logFile, err = os.Create(t.logPath)
	if err != nil {
		return nil, err
	}
	args := []string{
		"--global.checkNewVersion=false",
		"--global.sendAnonymousUsage=false",
		fmt.Sprintf("--entryPoints.web.address=127.0.0.1:%d", t.webPort),
		fmt.Sprintf("--entryPoints.traefik.address=127.0.0.1:%d", t.apiPort),
		// Shut down within a second instead of the default 10s grace.
		"--entryPoints.web.transport.lifeCycle.graceTimeOut=1s",
		"--entryPoints.traefik.transport.lifeCycle.graceTimeOut=1s",
		"--api.insecure=true",
		"--log.level=DEBUG",
		"--log.noColor=true",
		"--providers.providersThrottleDuration=" + opts.Throttle.String(),
		"--providers.zookeeper.endpoints=" + strings.Join(opts.Endpoints, ","),
		"--providers.zookeeper.rootKey=" + opts.RootKey,
	}
	if opts.Username != "" {
		args = append(args, "--providers.zookeeper.username="+opts.Username,
			"--providers.zookeeper.password="+opts.Password)
	}
	args = append(args, opts.ExtraArgs...)
	// Traefik logs to stdout; keeping its stdout and stderr in one file also
	// keeps panics and start-up errors that precede log configuration.
	var out io.Writer = t.logFile
	if opts.Log != nil {
		out = io.MultiWriter(t.logFile, newPrefixWriter(&sync.Mutex{}, opts.Log, "traefik| "))
	}
	t.proc, err = startProcess(bin, args, dir, nil, out)
	if err != nil {
		_ = t.logFile.Close()
		return nil, err
	}
	if err := t.waitReady(ctx, opts); err != nil {
		_ = t.Close()
		return nil, fmt.Errorf("Traefik did not become ready: %w\n--- Traefik log tail (%s) ---\n%s",
			err, t.logPath, tailFile(t.logPath, 4000))
	}
	return t, nil
}

func (t *Traefik) waitReady(ctx context.Context, opts TraefikOptions) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	root := "/" + strings.Trim(opts.RootKey, "/")
	apiUp := false
	var last error
	for {
		if t.proc.exited() {
			return fmt.Errorf("Traefik exited: %v", t.proc.waitErr)
		}
		if !apiUp {
			status, _, err := Get(ctx, t.APIURL()+"/api/overview", "")
			if err == nil && status == http.StatusOK {
				apiUp = true
			} else {
				last = fmt.Errorf("API not answering (status %d, %v)", status, err)
			}
		}
		if apiUp {
			ok, err := zkWatching(t.proc.pid(), opts.Endpoints, root)
			if errors.Is(err, errNo4lw) {
				ok = strings.Contains(t.Logs(), "WatchTree: "+strings.Trim(opts.RootKey, "/"))
				err = errors.New(`no "WatchTree" line in Traefik's log yet`)
			}
			if ok {
				return nil
			}
			last = fmt.Errorf("ZooKeeper provider not watching %s yet (does the znode exist?): %v", root, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w; last: %v", ctx.Err(), last)
		case <-tick.C:
		}
	}
}

var errNo4lw = errors.New("ZooKeeper four-letter words unavailable")

// zkWatching reports whether a ZooKeeper session of process pid holds a
// children watch on path root.
func zkWatching(pid int, endpoints []string, root string) (bool, error) {
	conns, err := tcpConnsOf(pid)
	if err != nil {
		return false, err
	}
	refused := 0
	var errs []error
	for _, ep := range endpoints {
		host, portStr, err := net.SplitHostPort(ep)
		if err != nil {
			return false, fmt.Errorf("endpoint %q: %w", ep, err)
		}
		port, _ := strconv.Atoi(portStr)
		var localPorts []int
		for _, c := range conns {
			if c.remotePort == port {
				localPorts = append(localPorts, c.localPort)
			}
		}
		if len(localPorts) == 0 {
			continue
		}
		addr := net.JoinHostPort(host, portStr)
		cons, err := FourLetterWord(addr, "cons", time.Second)
		if err == nil && strings.Contains(cons, "not in the whitelist") {
			refused++
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var sids []string
		for _, lp := range localPorts {
			if sid := sessionOfClientPort(cons, lp); sid != "" {
				sids = append(sids, sid)
			}
		}
		if len(sids) == 0 {
			errs = append(errs, fmt.Errorf("%s: no session for Traefik's connection yet", ep))
			continue
		}
		wchc, err := FourLetterWord(addr, "wchc", time.Second)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if strings.Contains(wchc, "not in the whitelist") {
			refused++
			continue
		}
		w := watchesBySession(wchc)
		for _, sid := range sids {
			for _, p := range w[sid] {
				if p == root {
					return true, nil
				}
			}
		}
		errs = append(errs, fmt.Errorf("%s: session %v watches no %s", ep, sids, root))
	}
	if refused > 0 && len(errs) == 0 {
		return false, errNo4lw
	}
	if len(errs) == 0 {
		return false, errors.New("Traefik has no connection to any ZooKeeper endpoint yet")
	}
	return false, errors.Join(errs...)
}

// sessionOfClientPort finds, in a `cons` answer, the session id of the
// connection from client port lp; lines look like
// " /127.0.0.1:40312[1](queued=0,recved=9,sent=9,sid=0x100001f7a9c0000,...)".
func sessionOfClientPort(cons string, lp int) string {
	needle := ":" + strconv.Itoa(lp) + "["
	for line := range strings.SplitSeq(cons, "\n") {
		if !strings.Contains(line, needle) {
			continue
		}
		_, rest, ok := strings.Cut(line, "sid=")
		if !ok {
			continue
		}
		sid, _, _ := strings.Cut(rest, ",")
		return strings.TrimRight(sid, ")")
	}
	return ""
}

// watchesBySession parses a `wchc` answer: a session id line followed by
// tab-indented watched paths.
func watchesBySession(wchc string) map[string][]string {
	m := map[string][]string{}
	cur := ""
	for line := range strings.SplitSeq(wchc, "\n") {
		switch {
		case strings.HasPrefix(line, "0x"):
			cur = strings.TrimSpace(line)
		case cur != "" && strings.TrimSpace(line) != "":
			m[cur] = append(m[cur], strings.TrimSpace(line))
		}
	}
	return m
}

type tcpConn struct{ localPort, remotePort int }

// tcpConnsOf lists the TCP connections held by process pid, from the socket
// inodes among its file descriptors and the kernel's connection tables.
func tcpConnsOf(pid int) ([]tcpConn, error) {
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(fdDir)
	if err != nil {
		return nil, err
	}
	inodes := map[string]bool{}
	for _, e := range ents {
		l, err := os.Readlink(filepath.Join(fdDir, e.Name()))
		if err != nil {
			continue
		}
		if in, ok := strings.CutPrefix(l, "socket:["); ok {
			inodes[strings.TrimSuffix(in, "]")] = true
		}
	}
	var conns []tcpConn
	for _, table := range []string{"tcp", "tcp6"} {
		f, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 || !inodes[fs[9]] {
				continue
			}
			lp, err1 := hexPort(fs[1])
			rp, err2 := hexPort(fs[2])
			if err1 == nil && err2 == nil {
				conns = append(conns, tcpConn{localPort: lp, remotePort: rp})
			}
		}
		_ = f.Close()
	}
	return conns, nil
}

func hexPort(addr string) (int, error) {
	_, p, ok := strings.Cut(addr, ":")
	if !ok {
		return 0, fmt.Errorf("bad address %q", addr)
	}
	v, err := strconv.ParseUint(p, 16, 16)
	return int(v), err
}

// WebURL returns the "web" entrypoint's base URL.
func (t *Traefik) WebURL() string { return fmt.Sprintf("http://127.0.0.1:%d", t.webPort) }

// APIURL returns the API entrypoint's base URL.
func (t *Traefik) APIURL() string { return fmt.Sprintf("http://127.0.0.1:%d", t.apiPort) }

// LogPath returns the log file; it is kept after Close for post-mortems.
func (t *Traefik) LogPath() string { return t.logPath }

// Logs returns Traefik's output so far (debug level).
func (t *Traefik) Logs() string {
	b, err := os.ReadFile(t.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(b)
}

// Pid returns the Traefik process id.
func (t *Traefik) Pid() int { return t.proc.pid() }

// RouterLive reports whether Traefik's API lists router name@zookeeper,
// i.e. whether the router is in the configuration Traefik applied.
func (t *Traefik) RouterLive(ctx context.Context, name string) (bool, error) {
	status, body, err := Get(ctx, t.APIURL()+"/api/http/routers/"+name+"@zookeeper", "")
	switch {
	case err != nil:
		return false, err
	case status == http.StatusOK:
		return true, nil
	case status == http.StatusNotFound:
		return false, nil
	default:
		return false, fmt.Errorf("router %s: API answered %d: %s", name, status, truncate(body, 200))
	}
}

// Close sends SIGTERM, then SIGKILL after 5s, to Traefik's process group
// and waits for it to exit. The log file stays. Idempotent.
func (t *Traefik) Close() error {
	t.closeOnce.Do(func() {
		t.closeErr = t.proc.terminate(5 * time.Second)
		_ = t.logFile.Close()
	})
	return t.closeErr
}
