package harness

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// process is a started child with its own process group.
type process struct {
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error // valid once done is closed
}

// startProcess starts path with args in its own process group, with output
// (stdout and stderr) going to out. Pdeathsig makes the kernel kill the child
// when the thread that forked it dies; the Go runtime does not end threads
// unless a goroutine exits while locked to one, which this package never does.
func startProcess(path string, args []string, dir string, env []string, out io.Writer) (*process, error) {
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdin = nil
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signal sends sig to the child's whole process group. Once the child has
// been reaped its group id could in theory be reused, so nothing is sent then.
func (p *process) signal(sig syscall.Signal) error {
	if p.exited() {
		return nil
	}
	if err := syscall.Kill(-p.pid(), sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill -%d -%d: %w", sig, p.pid(), err)
	}
	return nil
}

// waitExit waits up to timeout for the child to exit.
func (p *process) waitExit(timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
		return true
	case <-t.C:
		return false
	}
}

// kill SIGKILLs the group (continuing it first is unnecessary: SIGKILL also
// ends stopped processes) and waits for the child to be reaped.
func (p *process) kill() error {
	if err := p.signal(syscall.SIGKILL); err != nil {
		return err
	}
	if !p.waitExit(10 * time.Second) {
		return fmt.Errorf("pid %d did not exit 10s after SIGKILL", p.pid())
	}
	return nil
}

// terminate sends SIGTERM (and SIGCONT, so that a frozen process can act on
// it), waits up to grace, then SIGKILLs.
func (p *process) terminate(grace time.Duration) error {
	if err := p.signal(syscall.SIGTERM); err != nil {
		return err
	}
	_ = p.signal(syscall.SIGCONT)
	if p.waitExit(grace) {
		return nil
	}
	return p.kill()
}

// FreePorts returns n distinct TCP ports that were free on 127.0.0.1, for
// tests that give a process extra listeners (a TLS entrypoint).
func FreePorts(n int) ([]int, error) { return freePorts(n) }

// freePorts returns n distinct TCP ports that were free on 127.0.0.1. All
// listeners are held until every port is chosen, so the ports are distinct;
// another process may still take one before the caller binds it.
func freePorts(n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// lockedWriter serialises writes of several processes to one io.Writer and
// prefixes every line, so that interleaved outputs stay readable.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

type prefixWriter struct {
	lw     lockedWriter
	prefix []byte
	buf    []byte
}

func newPrefixWriter(mu *sync.Mutex, w io.Writer, prefix string) *prefixWriter {
	return &prefixWriter{lw: lockedWriter{mu: mu, w: w}, prefix: []byte(prefix)}
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	var out []byte
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		out = append(out, p.prefix...)
		out = append(out, p.buf[:i+1]...)
		p.buf = p.buf[i+1:]
	}
	if len(out) > 0 {
		p.lw.mu.Lock()
		_, err := p.lw.w.Write(out)
		p.lw.mu.Unlock()
		if err != nil {
			return len(b), nil // a failing log sink must not kill the child
		}
	}
	return len(b), nil
}

// tailFile returns at most the last max bytes of path, or a note why not.
func tailFile(path string, max int64) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	off := st.Size() - max
	if off < 0 {
		off = 0
	}
	b := make([]byte, st.Size()-off)
	n, _ := f.ReadAt(b, off)
	return string(b[:n])
}
