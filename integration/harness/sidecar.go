package harness

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// SidecarBinary returns $SIDECAR_BIN when set (make builds it), else builds
// the sidecar from this checkout into a temporary directory.
func SidecarBinary(ctx context.Context) (string, error) {
	if p := os.Getenv("SIDECAR_BIN"); p != "" {
		if !isExecutable(p) {
			return "", fmt.Errorf("SIDECAR_BIN %s is not an executable", p)
		}
		return p, nil
	}
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot locate the repository to build the sidecar")
	}
	repo := filepath.Join(filepath.Dir(self), "..", "..")
	dir, err := os.MkdirTemp("", "harness-sidecar-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "traefik-zk-sidecar")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/traefik-zk-sidecar")
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the sidecar: %w\n%s", err, out)
	}
	return bin, nil
}

// SidecarOptions configure one sidecar process.
type SidecarOptions struct {
	Binary    string // default: SidecarBinary
	Servers   []string
	RootKey   string // default "traefik"
	StateRoot string // default the sidecar's own
	Token     string
	KeySecret string
	// Args are extra command-line flags for `serve`.
	Args []string
	// Env are extra environment variables (TRAEFIK_ZK_SIDECAR_...).
	Env []string
	// HTTPS, when set, says the API serves HTTPS (Args or Env give the
	// --tls-* files) and is the client side the harness probes it with:
	// the CA to trust and, for mutual TLS, a client certificate. URL is
	// then https.
	HTTPS *tls.Config
	Log   io.Writer
}

// Sidecar is a running `traefik-zk-sidecar serve`.
type Sidecar struct {
	opts    SidecarOptions
	args    []string
	env     []string
	port    int
	dir     string
	logPath string

	mu   sync.Mutex
	proc *process
	logF *os.File
}

// StartSidecar starts the sidecar on a free loopback port and waits until
// /readyz answers 200 (its ZooKeeper session is up and the layout exists).
func StartSidecar(ctx context.Context, opts SidecarOptions) (*Sidecar, error) {
	if opts.Binary == "" {
		bin, err := SidecarBinary(ctx)
		if err != nil {
			return nil, err
		}
		opts.Binary = bin
	}
	if opts.RootKey == "" {
		opts.RootKey = "traefik"
	}
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "harness-sidecar-")
	if err != nil {
		return nil, err
	}
	s := &Sidecar{opts: opts, port: ports[0], dir: dir, logPath: filepath.Join(dir, "sidecar.log")}
	s.args = append([]string{"serve",
		fmt.Sprintf("--listen=127.0.0.1:%d", s.port),
		"--traefik-zk-ips=" + strings.Join(opts.Servers, ","),
		"--traefik-root-key=" + opts.RootKey,
	}, opts.Args...)
	if opts.StateRoot != "" {
		s.args = append(s.args, "--state-root="+opts.StateRoot)
	}
	// Secrets go through the environment, as an operator's would.
	s.env = append(os.Environ(),
		"TRAEFIK_ZK_SIDECAR_TOKEN="+opts.Token,
		"TRAEFIK_ZK_SIDECAR_KEY_SECRET="+opts.KeySecret)
	s.env = append(s.env, opts.Env...)
	if err := s.Start(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Start (re)starts the process and waits until it is ready.
func (s *Sidecar) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil && !s.proc.exited() {
		return errors.New("sidecar already running")
	}
	f, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	s.logF = f
	var out io.Writer = f
	if s.opts.Log != nil {
		out = io.MultiWriter(f, newPrefixWriter(&sync.Mutex{}, s.opts.Log, "sidecar| "))
	}
	s.proc, err = startProcess(s.opts.Binary, s.args, s.dir, s.env, out)
	if err != nil {
		return err
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		status, _, err := GetWith(ctx, s.probe(), s.URL()+"/readyz", "")
		if err == nil && status == http.StatusOK {
			return nil
		}
		if s.proc.exited() {
			return fmt.Errorf("sidecar exited during start-up:\n%s", tailFile(s.logPath, 3000))
		}
		select {
		case <-ctx.Done():
			_ = s.proc.kill()
			return fmt.Errorf("sidecar not ready: %w\n%s", ctx.Err(), tailFile(s.logPath, 3000))
		case <-tick.C:
		}
	}
}

// URL is the sidecar's API base URL.
func (s *Sidecar) URL() string {
	if s.opts.HTTPS != nil {
		return fmt.Sprintf("https://127.0.0.1:%d", s.port)
	}
	return fmt.Sprintf("http://127.0.0.1:%d", s.port)
}

func (s *Sidecar) probe() *http.Client {
	if s.opts.HTTPS != nil {
		return TLSClient(s.opts.HTTPS)
	}
	return probeClient
}

// Pid returns the process id of the running sidecar (0 before Start), for
// reading its /proc entries (memory, CPU) in benchmarks.
func (s *Sidecar) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.pid()
}

// Logs returns what the sidecar logged so far.
func (s *Sidecar) Logs() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

// Kill SIGKILLs the sidecar (a crash); Start brings it back.
func (s *Sidecar) Kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return nil
	}
	err := s.proc.kill()
	_ = s.logF.Close()
	return err
}

// Close stops the sidecar with SIGTERM (SIGKILL after 10s) and removes its directory.
func (s *Sidecar) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if s.proc != nil {
		err = s.proc.terminate(10 * time.Second)
		_ = s.logF.Close()
	}
	_ = os.RemoveAll(s.dir)
	return err
}
