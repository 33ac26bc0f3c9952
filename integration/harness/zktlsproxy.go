package harness

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ZKTLSProxyOptions configure a `traefik-zk-sidecar zk-tls-proxy`.
type ZKTLSProxyOptions struct {
	Binary string // default: SidecarBinary
	// Servers are the ensemble's TLS client ports.
	Servers []string
	// CAFile, CertFile and KeyFile are the proxy's --zk-tls-* files.
	CAFile, CertFile, KeyFile string
}

// ZKTLSProxy is a running zk-tls-proxy: plain ZooKeeper clients (Traefik)
// connect to Addr and reach the ensemble over TLS.
type ZKTLSProxy struct {
	addr    string
	dir     string
	logPath string
	proc    *process
}

// StartZKTLSProxy starts the proxy on a free loopback port and waits until
// it accepts connections.
func StartZKTLSProxy(ctx context.Context, opts ZKTLSProxyOptions) (*ZKTLSProxy, error) {
	if opts.Binary == "" {
		bin, err := SidecarBinary(ctx)
		if err != nil {
			return nil, err
		}
		opts.Binary = bin
	}
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "harness-zktlsproxy-")
	if err != nil {
		return nil, err
	}
	p := &ZKTLSProxy{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])), dir: dir, logPath: filepath.Join(dir, "proxy.log")}
	args := []string{"zk-tls-proxy", "--proxy-listen=" + p.addr, "--traefik-zk-ips=" + strings.Join(opts.Servers, ","),
		"--zk-tls-ca-file=" + opts.CAFile, "--log-level=debug"}
	if opts.CertFile != "" {
		args = append(args, "--zk-tls-cert-file="+opts.CertFile, "--zk-tls-key-file="+opts.KeyFile)
	}
	f, err := os.Create(p.logPath)
	if err != nil {
		return nil, err
	}
	defer f.Close() // the child keeps its own descriptor
	p.proc, err = startProcess(opts.Binary, args, dir, os.Environ(), f)
	if err != nil {
		return nil, err
	}
	for {
		c, err := net.DialTimeout("tcp", p.addr, time.Second)
		if err == nil {
			_ = c.Close()
			return p, nil
		}
		if p.proc.exited() {
			return nil, fmt.Errorf("zk-tls-proxy exited during start-up:\n%s", tailFile(p.logPath, 3000))
		}
		select {
		case <-ctx.Done():
			_ = p.Close()
			return nil, fmt.Errorf("zk-tls-proxy not listening: %w\n%s", ctx.Err(), tailFile(p.logPath, 3000))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Addr is where plain clients connect.
func (p *ZKTLSProxy) Addr() string { return p.addr }

// Logs returns what the proxy logged so far.
func (p *ZKTLSProxy) Logs() string { return tailFile(p.logPath, 1<<30) }

// Close stops the proxy and removes its directory.
func (p *ZKTLSProxy) Close() error {
	err := p.proc.terminate(10 * time.Second)
	_ = os.RemoveAll(p.dir)
	return err
}
