package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/harness"
)

func connectZK(servers []string) (*zk.Conn, error) {
	conn, events, err := zk.Connect(servers, 10*time.Second, zk.WithLogInfo(false), zk.WithLogger(quietLogger{}))
	if err != nil {
		return nil, err
	}
	deadline := time.After(30 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return conn, nil
			}
		case <-deadline:
			conn.Close()
			return nil, errors.New("no ZooKeeper session after 30s")
		}
	}
}

type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

// zkPackets sums zk_packets_received over the ensemble's servers: every
// client request (reads, syncs, writes, pings) counts one.
func zkPackets(servers []string) (int64, error) {
	var total int64
	for _, s := range servers {
		out, err := harness.FourLetterWord(s, "mntr", 5*time.Second)
		if err != nil {
			return 0, err
		}
		found := false
		for _, line := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(line, "zk_packets_received\t"); ok {
				n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				if err != nil {
					return 0, err
				}
				total += n
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("mntr of %s: no zk_packets_received", s)
		}
	}
	return total, nil
}

var openACL = zk.WorldACL(zk.PermAll)

// warmUpTxns scratch transactions shaped like the sidecar's (a set, route
// creates and deletes), each followed by a read, from a few concurrent
// clients, run before the overhead is timed, so that the samples do not
// pay for freshly started JVMs (class loading, JIT compilation), which a
// long-running ensemble has long done.
const (
	warmUpTxns    = 6000
	warmUpClients = 4
)

func warmUp(servers []string) error {
	conn, err := connectZK(servers)
	if err != nil {
		return err
	}
	defer conn.Close()
	const dir = "/bench-warmup"
	if _, err := conn.Create(dir, nil, 0, openACL); err != nil && !errors.Is(err, zk.ErrNodeExists) {
		return err
	}
	var wg sync.WaitGroup
	errs := make(chan error, warmUpClients)
	for c := range warmUpClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range warmUpTxns / warmUpClients {
				ops := []any{&zk.SetDataRequest{Path: dir, Data: []byte(strconv.Itoa(i)), Version: -1}}
				for j := range 8 {
					ops = append(ops, &zk.CreateRequest{Path: fmt.Sprintf("%s/c%d-%d", dir, c, j), Data: []byte("true"), Acl: openACL})
				}
				for j := range 8 {
					ops = append(ops, &zk.DeleteRequest{Path: fmt.Sprintf("%s/c%d-%d", dir, c, j), Version: -1})
				}
				if _, err := conn.Multi(ops...); err != nil {
					errs <- fmt.Errorf("ZooKeeper warm-up: %w", err)
					return
				}
				if _, _, err := conn.Get(dir); err != nil {
					errs <- fmt.Errorf("ZooKeeper warm-up: %w", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func packetsNow(servers []string) int64 {
	n, err := zkPackets(servers)
	if err != nil {
		return -1
	}
	return n
}

func delta(a, b int64) int64 {
	if a < 0 || b < 0 {
		return -1
	}
	return b - a
}

func zkVersion(server string) string {
	out, err := harness.FourLetterWord(server, "srvr", 2*time.Second)
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "Zookeeper version: "); ok {
			v, _, _ = strings.Cut(v, ",")
			v, _, _ = strings.Cut(v, "-") // "3.8.0-${mvngit.commit.id}" in Debian's build
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
