// Command demo runs the whole product on one machine: a 3-node ZooKeeper
// ensemble, Traefik, the sidecar and a demo web application. It posts the
// start hook of examples/hooks/notebook-start.json (pointed at the demo
// app), prints the public URL and a curl that works, and on Ctrl-C posts
// the stop hook and stops everything. `make demo` runs it.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/apiv1"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/harness"
)

func main() {
	sidecarBin := flag.String("sidecar", "", "sidecar binary (default: build it)")
	payloadPath := flag.String("payload", "", "start hook to post (default: examples/hooks/notebook-start.json)")
	withTLS := flag.Bool("tls", false, "encrypt every hop: HTTPS with client certificates to the sidecar, TLS from the sidecar and from Traefik (through zk-tls-proxy) to ZooKeeper")
	provider := flag.String("provider", "zookeeper", "Traefik's provider: zookeeper (Traefik reads ZooKeeper) or http (Traefik polls the sidecar's GET /v1/traefik)")
	flag.Parse()
	if *provider != "zookeeper" && *provider != "http" {
		fmt.Fprintln(os.Stderr, "demo: -provider: want zookeeper or http")
		os.Exit(2)
	}
	if *withTLS && *provider == "http" {
		fmt.Fprintln(os.Stderr, "demo: -tls runs Traefik on the ZooKeeper provider only")
		os.Exit(2)
	}
	if err := run(*sidecarBin, *payloadPath, *withTLS, *provider == "http"); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(sidecarBin, payloadPath string, withTLS, httpProvider bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	step := func(format string, args ...any) { fmt.Printf("==> "+format+"\n", args...) }

	step("ZooKeeper: ensuring Debian's package is installed")
	err := harness.EnsureZooKeeper(ctx)
	if err != nil {
		return err
	}
	var pki *demoPKI
	ensOpts := harness.EnsembleOptions{Nodes: 3}
	if withTLS {
		if pki, err = newDemoPKI(); err != nil {
			return err
		}
		defer pki.close()
		step("%s", pki.describe())
		ensOpts.TLS = pki.ensembleTLS()
	}
	ens, err := harness.StartEnsemble(ctx, ensOpts)
	if err != nil {
		return err
	}
	defer ens.Close()
	zkServers := ens.Servers()
	if withTLS {
		zkServers = ens.SecureServers()
		step("ZooKeeper ensemble up; TLS client ports (client certificates required): %s", strings.Join(zkServers, ","))
	} else {
		step("ZooKeeper ensemble up: %s", ens.ConnectString())
	}

	token, secret, readToken := randomHex(16), randomHex(32), randomHex(16)
	scOpts := harness.SidecarOptions{Binary: sidecarBin, Servers: zkServers, Token: token, KeySecret: secret}
	if httpProvider {
		// Traefik gets a token that can only read GET /v1/traefik.
		scOpts.Env = append(scOpts.Env, "TRAEFIK_ZK_SIDECAR_TRAEFIK_TOKEN="+readToken)
	}
	if withTLS {
		scOpts.Args, scOpts.HTTPS = pki.sidecarArgs(), pki.client
		client = pki.httpClient()
	}
	sidecar, err := harness.StartSidecar(ctx, scOpts)
	if err != nil {
		return err
	}
	defer sidecar.Close()
	step("sidecar serving its API on %s", sidecar.URL())

	traefikEndpoints := zkServers
	if withTLS {
		proxy, err := harness.StartZKTLSProxy(ctx, harness.ZKTLSProxyOptions{Binary: sidecarBin, Servers: zkServers,
			CAFile: pki.caFile, CertFile: pki.traefik.Cert, KeyFile: pki.traefik.Key})
		if err != nil {
			return err
		}
		defer proxy.Close()
		traefikEndpoints = []string{proxy.Addr()}
		step("zk-tls-proxy for Traefik on %s -> ZooKeeper over TLS", proxy.Addr())
	}
	trOpts := harness.TraefikOptions{Endpoints: traefikEndpoints, Throttle: 500 * time.Millisecond}
	providerNote := "ZooKeeper provider"
	if httpProvider {
		trOpts.HTTP = &harness.HTTPProviderOptions{
			Endpoint:     sidecar.URL() + "/v1/traefik",
			PollInterval: 100 * time.Millisecond,
			PollTimeout:  5 * time.Second,
			Headers:      map[string]string{"Authorization": "Bearer " + readToken},
		}
		providerNote = "HTTP provider polling " + trOpts.HTTP.Endpoint
	}
	traefik, err := harness.StartTraefik(ctx, trOpts)
	if err != nil {
		return err
	}
	defer traefik.Close()
	step("Traefik %s (%s): web entrypoint %s, API %s", harness.TraefikVersion, providerNote, traefik.WebURL(), traefik.APIURL())

	app, err := harness.StartBackend("demo-notebook")
	if err != nil {
		return err
	}
	defer app.Close()
	step("demo application (stands in for a Jupyter container) on %s", app.URL())

	payload, err := loadPayload(payloadPath, app)
	if err != nil {
		return err
	}
	api := sidecar.Client(harness.WithHTTPClient(client))
	step("POST %s/v1/hooks  (start hook of execution %s)", sidecar.URL(), payload.Execution.ID)
	var started apiv1.HookResponse
	if err := post(ctx, api, payload, &started); err != nil {
		return err
	}
	if len(started.Routes) == 0 {
		return errors.New("the start hook returned no routes")
	}
	env, _ := json.MarshalIndent(started.Env, "    ", "  ")
	fmt.Printf("    env for the containers: %s\n", env)
	url := traefik.WebURL() + started.Routes[0].Path + "/"
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	status, body, err := harness.WaitHTTP(waitCtx, url, "", func(s int, _ string) bool { return s == 200 })
	cancel()
	if err != nil {
		return err
	}
	step("served through Traefik: GET %s -> %d %q", url, status, strings.TrimSpace(body))
	fmt.Printf("\n    Public URL:  %s\n    Try:         curl -s %s\n\n", url, url)
	if httpProvider {
		fmt.Printf("    What Traefik reads: curl -s -H \"Authorization: Bearer %s\" %s/v1/traefik\n\n", readToken, sidecar.URL())
	}
	if withTLS {
		fmt.Printf("    Hook API:    curl -s %s -H \"Authorization: Bearer %s\" %s/v1/routes\n\n", pki.curlFlags(), token, sidecar.URL())
	}
	step("running; press Ctrl-C to post the stop hook and shut everything down")
	<-ctx.Done()

	stopCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	step("POST %s/v1/hooks  (stop hook of execution %s)", sidecar.URL(), payload.Execution.ID)
	if err := post(stopCtx, api, harness.StopHook(string(payload.Execution.ID)), nil); err != nil {
		return err
	}
	status, _, err = harness.WaitHTTP(stopCtx, url, "", func(s int, _ string) bool { return s == 404 })
	if err != nil {
		return err
	}
	step("after stop: GET %s -> %d; stopping Traefik, sidecar and ZooKeeper", url, status)
	return nil
}

// loadPayload reads the example start hook and points its proxied ports at the demo app.
func loadPayload(path string, app *harness.Backend) (apiv1.HookRequest, error) {
	if path == "" {
		_, self, _, _ := runtime.Caller(0)
		path = filepath.Join(filepath.Dir(self), "..", "..", "..", "examples", "hooks", "notebook-start.json")
	}
	var hook apiv1.HookRequest
	raw, err := os.ReadFile(path)
	if err != nil {
		return hook, err
	}
	if err := json.Unmarshal(raw, &hook); err != nil {
		return hook, fmt.Errorf("%s: %w", path, err)
	}
	if hook.Execution == nil {
		return hook, fmt.Errorf("%s: no execution", path)
	}
	ip, port := app.Addr()
	for i := range hook.Execution.Services {
		ports := hook.Execution.Services[i].Ports
		for j := range ports {
			if ports[j].Proxy {
				ports[j].ExternalIP, ports[j].ExternalPort = ip, port
			}
		}
	}
	return hook, nil
}

// client posts the hooks; the TLS demo gives it the master's certificate.
var client = http.DefaultClient

// post sends a hook, prints the answer and decodes it into out (when not nil).
func post(ctx context.Context, api *harness.Client, hook apiv1.HookRequest, out any) error {
	r, err := api.Hook(ctx, hook, "")
	if err != nil {
		return err
	}
	fmt.Printf("    <- %d %s %s\n", r.Status, http.StatusText(r.Status), strings.TrimSpace(string(r.Body)))
	if r.Status != http.StatusOK {
		return fmt.Errorf("hook answered %d %s", r.Status, http.StatusText(r.Status))
	}
	if out != nil {
		return r.Decode(out)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
