package zkstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// proxyDialTimeout bounds connecting and the TLS handshake with one server.
const proxyDialTimeout = 5 * time.Second

// ServeTLSProxy relays every connection accepted on ln to one of
// opts.Servers over TLS (opts.TLS), trying the servers from a random one
// onwards until one answers; it returns when ctx ends. It is for ZooKeeper
// clients that cannot speak TLS themselves, Traefik's ZooKeeper provider
// among them: run it next to the client (same host, pod or network
// namespace) and point the client at ln, so that only loopback traffic is
// in clear. Bytes are relayed unchanged; sessions, watches and
// authentication are the client's and the server's business.
func ServeTLSProxy(ctx context.Context, ln net.Listener, opts Options) error {
	if opts.TLS == nil {
		return errors.New("zookeeper TLS proxy: no TLS configuration (give --zk-tls-ca-file and/or --zk-tls-cert-file)")
	}
	if len(opts.Servers) == 0 {
		return errors.New("zookeeper TLS proxy: no servers")
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	go func() {
		<-ctx.Done()
		_ = ln.Close()
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	var dials dialState
	dial := tlsDialer(opts.TLS, &dials)
	for {
		client, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("zookeeper TLS proxy: accept: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			relay(ctx, client, opts.Servers, dial, log)
		}()
	}
}

func relay(ctx context.Context, client net.Conn, servers []string, dial func(network, address string, timeout time.Duration) (net.Conn, error), log *slog.Logger) {
	defer client.Close()
	first := rand.IntN(len(servers))
	var server net.Conn
	var errs []error
	for i := range servers {
		addr := servers[(first+i)%len(servers)]
		c, err := dial("tcp", addr, proxyDialTimeout)
		if err == nil {
			server = c
			log.Debug("zookeeper TLS proxy: relaying", "client", client.RemoteAddr().String(), "server", addr)
			break
		}
		errs = append(errs, fmt.Errorf("%s: %w", addr, err))
	}
	if server == nil {
		log.Warn("zookeeper TLS proxy: no server reachable; closing the client's connection", "error", errors.Join(errs...))
		return
	}
	defer server.Close()
	stop := context.AfterFunc(ctx, func() {
		client.Close()
		server.Close()
	})
	defer stop()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		// One side ended: end the other, as a ZooKeeper client would.
		_ = dst.Close()
		_ = src.Close()
		done <- struct{}{}
	}
	go pipe(server, client)
	go pipe(client, server)
	<-done
	<-done
}
