package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
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
	fmt.Fprintf(os.Stderr, "building Traefik %s once into %s: a first build downloads its modules and compiles about 2,500 packages, about 9 minutes on 2 cores\n", TraefikVersion, bin)
	// -v names each package as it is compiled, for the progress lines.
	cmd := exec.CommandContext(ctx, goBin, "build", "-v", "-o", tmp, "github.com/traefik/traefik/v3/cmd/traefik")
	cmd.Dir = tools
	cmd.Env = append(os.Environ(), "GOWORK=off")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out := &buildOutput{}
	cmd.Stdout, cmd.Stderr = out, out
	start := time.Now()
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(30 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				fmt.Fprintf(os.Stderr, "building Traefik %s: %s elapsed, %s\n", TraefikVersion, time.Since(start).Round(time.Second), out.progress())
			}
		}
	}()
	err = cmd.Run()
	close(done)
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("build Traefik %s in %s: %w\n%s", TraefikVersion, tools, err, lastBytes(out.bytes(), 4000))
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
	// ExtraArgs are appended to the command line. They must leave the log
	// at DEBUG level, in the default format or JSON, on stdout: StartTraefik
	// reads its readiness from that log.
	ExtraArgs []string
	// Log, when set, also receives Traefik's output (the log file keeps it).
	Log io.Writer
	// HTTP, when set, makes Traefik read its configuration with the HTTP
	// provider instead of the ZooKeeper provider (Endpoints and RootKey
	// are then unused).
	HTTP *HTTPProviderOptions
	// Redis, when set, makes Traefik read its configuration with the Redis
	// provider from these servers (host:port) under RootKey instead of
	// the ZooKeeper provider (Endpoints is then unused).
	Redis []string
}

// HTTPProviderOptions configure Traefik's HTTP provider.
type HTTPProviderOptions struct {
	// Endpoint is the URL polled, such as a sidecar's /v1/traefik; required.
	Endpoint string
	// PollInterval defaults to 100ms, PollTimeout to Traefik's 5s.
	PollInterval, PollTimeout time.Duration
	// Headers are sent with every poll (Authorization).
	Headers map[string]string
	// CAFile, CertFile and KeyFile are providers.http.tls.*: the CA of an
	// https endpoint's certificate and a client certificate for mutual TLS.
	CAFile, CertFile, KeyFile string
}

// Traefik is a running Traefik process with a ZooKeeper provider.
type Traefik struct {
	dir     string
	logPath string
	logFile *os.File
	webPort int
	apiPort int
	// provider is the name Traefik gives the provider's objects ("name@provider").
	provider string
	proc     *process
	// external holds the URLs of a Traefik the harness did not start.
	external *struct{ web, api string }

	closeOnce sync.Once
	closeErr  error
}

// StartTraefik starts Traefik with entrypoints "web" (HTTP) and "traefik"
// (API) on free ports of 127.0.0.1 and waits, bounded by ctx, until the API
// answers and the ZooKeeper provider watches the root key.
//
// The provider-ready signal is Traefik's own debug log: a "List: <root>"
// line after its last "WatchTree: <root>" line, which Traefik only logs
// once its children watch on the root is registered (see
// providerWatching). So a write made after StartTraefik returns is certain
// to be noticed. Alternatives that do not work: the API answers
// independently of the provider, and (measured with ZooKeeper 3.8)
// wchc/wchp/wchs list only data watches, never the children watch Traefik
// sets, so ZooKeeper cannot be asked.
func StartTraefik(ctx context.Context, opts TraefikOptions) (*Traefik, error) {
	if len(opts.Endpoints) == 0 && opts.HTTP == nil && len(opts.Redis) == 0 {
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
	t := &Traefik{dir: dir, logPath: filepath.Join(dir, "traefik.log"), webPort: ports[0], apiPort: ports[1], provider: "zookeeper"}
	switch {
	case opts.HTTP != nil:
		t.provider = "http"
	case len(opts.Redis) > 0:
		t.provider = "redis"
	}
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
	}
	switch {
	case opts.HTTP != nil:
		args = append(args, opts.HTTP.args()...)
	case len(opts.Redis) > 0:
		args = append(args, "--providers.redis.endpoints="+strings.Join(opts.Redis, ","),
			"--providers.redis.rootKey="+opts.RootKey)
	default:
		args = append(args, "--providers.zookeeper.endpoints="+strings.Join(opts.Endpoints, ","),
			"--providers.zookeeper.rootKey="+opts.RootKey)
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
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	apiUp, watching := false, false
	var last error
	for {
		if t.proc.exited() {
			return fmt.Errorf("Traefik exited: %v", t.proc.waitErr)
		}
		if !apiUp {
			status, _, err := Get(ctx, t.APIURL()+"/api/overview", "")
			apiUp = err == nil && status == http.StatusOK
			if !apiUp {
				last = fmt.Errorf("API not answering (status %d, %v)", status, err)
			}
		}
		if !watching && opts.HTTP != nil {
			watching = httpProviderLoaded(t.Logs())
			if !watching {
				last = fmt.Errorf("HTTP provider has not loaded a configuration from %s yet", opts.HTTP.Endpoint)
			}
		}
		if !watching && opts.HTTP == nil {
			watching = providerWatching(t.Logs(), opts.RootKey)
			if !watching {
				last = fmt.Errorf("%s provider not watching %q yet (does the root exist?)", t.provider, opts.RootKey)
			}
		}
		if apiUp && watching {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w; last: %v", ctx.Err(), last)
		case <-tick.C:
		}
	}
}

// providerWatching reports whether Traefik's debug log shows a "List: <root>"
// after its last "WatchTree: <root>" (any KV provider logs both). In Traefik v3.6 (pkg/provider/kv and
// github.com/kvtools/zookeeper) the provider logs "WatchTree" when it asks
// for the watch; the watch goroutine then calls ChildrenW on the root and
// only after that call succeeded (the server registers a watch before it
// answers) sends the first event, on which the provider re-reads the tree
// and logs "List". If ChildrenW fails (e.g. no root znode) the channel is
// closed instead, no List follows, and a retry logs WatchTree again.
func providerWatching(log, root string) bool {
	w := strings.LastIndex(log, "> WatchTree: "+root+"\n")
	if w < 0 { // --log.format=json
		w = strings.LastIndex(log, `"message":"WatchTree: `+root+`"`)
		return w >= 0 && strings.Contains(log[w:], `"message":"List: `+root+`"`)
	}
	return strings.Contains(log[w:], "> List: "+root+"\n")
}

func (o *HTTPProviderOptions) args() []string {
	interval, timeout := o.PollInterval, o.PollTimeout
	if interval <= 0 {
		interval = 100 * time.Millisecond
	}
	args := []string{
		"--providers.http.endpoint=" + o.Endpoint,
		"--providers.http.pollInterval=" + interval.String(),
	}
	if timeout > 0 {
		args = append(args, "--providers.http.pollTimeout="+timeout.String())
	}
	for name, value := range o.Headers {
		args = append(args, "--providers.http.headers."+name+"="+value)
	}
	for flag, file := range map[string]string{"ca": o.CAFile, "cert": o.CertFile, "key": o.KeyFile} {
		if file != "" {
			args = append(args, "--providers.http.tls."+flag+"="+file)
		}
	}
	return args
}

// httpProviderLoaded reports whether Traefik's debug log shows a
// configuration received from the HTTP provider.
func httpProviderLoaded(log string) bool {
	for _, line := range strings.Split(log, "\n") {
		fields := strings.Fields(line)
		if slices.Contains(fields, "providerName=http") && strings.Contains(line, "> Configuration received") ||
			strings.Contains(line, `"providerName":"http"`) && strings.Contains(line, `"message":"Configuration received"`) {
			return true
		}
	}
	return false
}

// ExternalTraefik stands for a Traefik started elsewhere (a compose stack):
// tests reach it by URL; it has no process, log or pid here.
func ExternalTraefik(webURL, apiURL string) *Traefik {
	return &Traefik{external: &struct{ web, api string }{
		web: strings.TrimRight(webURL, "/"), api: strings.TrimRight(apiURL, "/"),
	}}
}

// WebURL returns the "web" entrypoint's base URL.
func (t *Traefik) WebURL() string {
	if t.external != nil {
		return t.external.web
	}
	return fmt.Sprintf("http://127.0.0.1:%d", t.webPort)
}

// APIURL returns the API entrypoint's base URL.
func (t *Traefik) APIURL() string {
	if t.external != nil {
		return t.external.api
	}
	return fmt.Sprintf("http://127.0.0.1:%d", t.apiPort)
}

// LogPath returns the log file; it is kept after Close for post-mortems.
func (t *Traefik) LogPath() string { return t.logPath }

// Logs returns Traefik's output so far (debug level).
func (t *Traefik) Logs() string {
	if t.external != nil {
		return "(external Traefik: see its own logs)"
	}
	b, err := os.ReadFile(t.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(b)
}

// Pid returns the Traefik process id.
func (t *Traefik) Pid() int {
	if t.external != nil {
		return 0
	}
	return t.proc.pid()
}

// RouterLive reports whether Traefik's API lists router name@zookeeper (or
// name@http with the HTTP provider), i.e. whether the router is in the
// configuration Traefik applied.
func (t *Traefik) RouterLive(ctx context.Context, name string) (bool, error) {
	provider := t.provider
	if provider == "" {
		provider = "zookeeper" // an external Traefik
	}
	status, body, err := Get(ctx, t.APIURL()+"/api/http/routers/"+name+"@"+provider, "")
	switch {
	case err != nil:
		return false, err
	case status == http.StatusOK:
		return true, nil
	case status == http.StatusNotFound:
		return false, nil
	default:
		return false, fmt.Errorf("router %s: API answered %d: %s", name, status, Truncate(body, 200))
	}
}

// Close sends SIGTERM, then SIGKILL after 5s, to Traefik's process group
// and waits for it to exit. The log file stays. Idempotent.
func (t *Traefik) Close() error {
	t.closeOnce.Do(func() {
		if t.external != nil {
			return
		}
		t.closeErr = t.proc.terminate(5 * time.Second)
		_ = t.logFile.Close()
	})
	return t.closeErr
}

// buildOutput keeps a build's output and counts its lines as they come:
// "go: downloading <module>" per module, one package path per package
// compiled (go build -v).
type buildOutput struct {
	mu         sync.Mutex
	buf        bytes.Buffer
	lineStart  int
	downloaded int
	compiled   int
	last       string
}

func (o *buildOutput) Write(b []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(b)
	for {
		rest := o.buf.Bytes()[o.lineStart:]
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			return len(b), nil
		}
		line := string(rest[:i])
		o.lineStart += i + 1
		switch {
		case strings.HasPrefix(line, "go: downloading "):
			o.downloaded++
		case strings.HasPrefix(line, "go: "), line == "":
		default:
			o.compiled++
			o.last = line
		}
	}
}

func (o *buildOutput) progress() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := fmt.Sprintf("%d modules downloaded, %d packages compiled", o.downloaded, o.compiled)
	if o.last != "" {
		s += " (last: " + o.last + ")"
	}
	return s
}

func (o *buildOutput) bytes() []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]byte(nil), o.buf.Bytes()...)
}
