package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
)

// ensureRedis installs Debian's redis-server when it is missing, as the
// harness installs ZooKeeper.
func ensureRedis(ctx context.Context) error {
	if _, err := exec.LookPath("redis-server"); err == nil {
		return nil
	}
	fmt.Fprintln(os.Stderr, "bench: redis-server missing: installing the Debian package redis-server")
	for _, args := range [][]string{{"update"}, {"install", "-y", "redis-server"}} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get %s: %w\n%s", strings.Join(args, " "), err, out)
		}
	}
	_, err := exec.LookPath("redis-server")
	return err
}

// redisServer is one redis-server process on a free loopback port, no
// persistence.
type redisServer struct {
	cmd  *exec.Cmd
	addr string
	dir  string
}

func startRedis(ctx context.Context) (*redisServer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "bench-redis-")
	if err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(dir, "redis.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("redis-server", "--bind", "127.0.0.1", "--port", strconv.Itoa(port),
		"--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := &redisServer{cmd: cmd, addr: fmt.Sprintf("127.0.0.1:%d", port), dir: dir}
	c := redis.NewClient(&redis.Options{Addr: r.addr})
	defer c.Close()
	for c.Ping(ctx).Err() != nil {
		select {
		case <-ctx.Done():
			r.close()
			return nil, fmt.Errorf("redis-server on %s never answered: %w", r.addr, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return r, nil
}

func (r *redisServer) close() {
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	_ = os.RemoveAll(r.dir)
}

// redisRoutes writes routes the way jupyterhub/traefik-proxy's Redis
// backend does: a plain client, one MULTI/EXEC per change (MSET of the
// route's keys to add it, DEL of them to remove it), and only leaf keys:
// Redis has no directories. The keys and values are the sidecar's
// (kvschema), so Traefik builds the same routers and services.
type redisRoutes struct {
	c       *redis.Client
	rootKey string
	backend string
	n       int
}

func newRedisRoutes(addr, rootKey, backend string) *redisRoutes {
	return &redisRoutes{c: redis.NewClient(&redis.Options{Addr: addr, PoolSize: 8}), rootKey: rootKey, backend: backend}
}

func (r *redisRoutes) close() { _ = r.c.Close() }

// key of route i: 64 hex like the sidecar's, distinct from the baseline's.
func (r *redisRoutes) key(i int) string { return routeKey(2_000_000 + i) }

func (r *redisRoutes) path(i int) string { return "/zoe/proxy/" + r.key(i) }

// name is route i's router and service name.
func (r *redisRoutes) name(i int) string { return fmt.Sprintf("rds-%s-%d", r.key(i)[:16], i+1) }

// leaves are route i's keys and values: the sidecar's encoding without its
// directory nodes, the leading slash dropped ("traefik/http/...").
func (r *redisRoutes) leaves(i int) (map[string]string, error) {
	rule, err := kvschema.PathRule(r.path(i))
	if err != nil {
		return nil, err
	}
	route := kvschema.Route{Name: r.name(i), Rule: rule, Backend: r.backend, EntryPoints: []string{"web"}}
	kvs, err := route.Encode(r.rootKey)
	if err != nil {
		return nil, err
	}
	return leafValues(kvs), nil
}

// leafValues keeps the keys no other key lies below.
func leafValues(kvs []kvschema.KV) map[string]string {
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		parent := false
		for _, other := range kvs {
			if strings.HasPrefix(other.Key, kv.Key+"/") {
				parent = true
				break
			}
		}
		if !parent {
			out[strings.TrimPrefix(kv.Key, "/")] = kv.Value
		}
	}
	return out
}

// add writes routes [r.n, r.n+count), one transaction per route, from
// workers clients at once; it returns the last route's path.
func (r *redisRoutes) add(ctx context.Context, count, workers int) (string, error) {
	from := r.n
	jobs := make(chan int)
	errs := make(chan error, workers)
	for range workers {
		go func() {
			var err error
			for i := range jobs {
				if err == nil {
					err = r.set(ctx, i)
				}
			}
			errs <- err
		}()
	}
	for i := from; i < from+count; i++ {
		jobs <- i
	}
	close(jobs)
	var first error
	for range workers {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return "", first
	}
	r.n = from + count
	return r.path(r.n - 1), nil
}

// set is route i's transaction.
func (r *redisRoutes) set(ctx context.Context, i int) error {
	kv, err := r.leaves(i)
	if err != nil {
		return err
	}
	_, err = r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.MSet(ctx, kv)
		return nil
	})
	return err
}

// writeOne adds the next route and returns its path.
func (r *redisRoutes) writeOne(ctx context.Context) (string, error) {
	return r.add(ctx, 1, 1)
}

// remove deletes route i's keys in one transaction.
func (r *redisRoutes) remove(ctx context.Context, i int) error {
	kv, err := r.leaves(i)
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	_, err = r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, keys...)
		return nil
	})
	return err
}

// rss is redis-server's resident set in bytes.
func (r *redisServer) rss() (int64, error) { return procStatus(r.cmd.Process.Pid, "VmRSS") }

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
