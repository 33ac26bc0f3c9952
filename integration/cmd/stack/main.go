// Command stack starts a local 3-node ZooKeeper ensemble and a Traefik
// watching root key "traefik", for trying the sidecar by hand: it writes a
// fresh token and key secret (mode 0600) and prints the exact `serve`
// command line to paste into another terminal, a hook to post and where
// Traefik serves it. It also prints the variables that point the
// integration suite at the same processes (external mode). It runs until
// Ctrl-C, then stops Traefik and the ensemble and removes the secrets.
// `make stack` builds and runs it.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
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

func step(format string, args ...any) { fmt.Printf("==> "+format+"\n", args...) }

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	step("ZooKeeper: ensuring Debian's package is installed")
	if err := harness.EnsureZooKeeper(ctx); err != nil {
		return err
	}
	ens, err := harness.StartEnsemble(ctx, harness.EnsembleOptions{Nodes: 3})
	if err != nil {
		return err
	}
	defer ens.Close()
	leader, _ := ens.Leader()
	step("ZooKeeper ensemble of 3 nodes up: %s (leader: node %d)", ens.ConnectString(), leader)

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
	step("Traefik %s: web entrypoint %s, API %s", harness.TraefikVersion, tr.WebURL(), tr.APIURL())

	secrets, err := os.MkdirTemp("", "zk-sidecar-stack-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(secrets)
	tokenFile, keyFile := filepath.Join(secrets, "token"), filepath.Join(secrets, "key-secret")
	for _, f := range []string{tokenFile, keyFile} {
		if err := writeSecret(f); err != nil {
			return err
		}
	}
	step("a fresh token and key secret in %s (mode 0600; removed on exit)", secrets)
	ports, err := harness.FreePorts(1)
	if err != nil {
		return err
	}
	api := fmt.Sprintf("127.0.0.1:%d", ports[0])

	fmt.Printf(`
Run the sidecar against them, in another terminal at the repository's root (after make build):

  bin/traefik-zk-sidecar serve --listen=%s --traefik-zk-ips=%s \
    --traefik-api-url=%s --token-file=%s --key-secret-file=%s

Post a start hook and wait until Traefik serves it (the answer's "path" is the route):

  curl -s -H "Authorization: Bearer $(cat %s)" -d @examples/hooks/notebook-start.json \
    'http://%s/v1/hooks?wait=30s'
  curl -si %s<path>/    # 502 until something listens on the hook's external_ip:external_port

Or point the integration suite at this ensemble and Traefik (external mode):

  export ZK_SIDECAR_ZK_ENDPOINTS=%s
  export ZK_SIDECAR_TRAEFIK_URL=%s
  export ZK_SIDECAR_TRAEFIK_API_URL=%s

`, api, ens.ConnectString(), tr.APIURL(), tokenFile, keyFile, tokenFile, api, tr.WebURL(),
		ens.ConnectString(), tr.WebURL(), tr.APIURL())
	step("running; press Ctrl-C to stop Traefik and the ensemble")
	<-ctx.Done()
	step("stopping Traefik and ZooKeeper")
	if err := tr.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "stack: Traefik:", err)
	}
	if err := ens.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "stack: ZooKeeper:", err)
	}
	if err := os.RemoveAll(secrets); err != nil {
		return err
	}
	step("stopped; %s removed", secrets)
	return nil
}

// writeSecret writes 32 random bytes as hex, readable by the owner only.
func writeSecret(path string) error {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(hex.EncodeToString(b)+"\n"), 0o600)
}
