// Command stack starts a 3-node ZooKeeper ensemble and a Traefik watching
// root key "traefik", prints the environment variables that point the
// integration suite at them (external mode), and runs until Ctrl-C. It
// stands in for `docker compose up` on machines without a Docker engine.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/harness"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "stack:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ens, err := harness.StartEnsemble(ctx, harness.EnsembleOptions{Nodes: 3})
	if err != nil {
		return err
	}
	defer ens.Close()
	// Traefik's provider cannot watch a missing root key.
	conn, _, err := zk.Connect(ens.Servers(), 10*time.Second, zk.WithLogInfo(false))
	if err != nil {
		return err
	}
	_, err = conn.Create("/traefik", []byte("true"), 0, zk.WorldACL(zk.PermAll))
	conn.Close()
	if err != nil && err != zk.ErrNodeExists {
		return err
	}
	tr, err := harness.StartTraefik(ctx, harness.TraefikOptions{Endpoints: ens.Servers(), RootKey: "traefik"})
	if err != nil {
		return err
	}
	defer tr.Close()
	fmt.Printf("export ZK_SIDECAR_ZK_ENDPOINTS=%s\n", ens.ConnectString())
	fmt.Printf("export ZK_SIDECAR_TRAEFIK_URL=%s\n", tr.WebURL())
	fmt.Printf("export ZK_SIDECAR_TRAEFIK_API_URL=%s\n", tr.APIURL())
	fmt.Println("# ready; Ctrl-C stops the ensemble and Traefik")
	<-ctx.Done()
	return nil
}
