package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/cmd/internal/api"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/cmd/internal/config"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/keys"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/plan"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
)

const testSecret = "0123456789abcdef0123456789abcdef"

func run(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd(env)
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetIn(strings.NewReader(""))
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func wantKey(t *testing.T, deployment, execution, service string, port int) string {
	t.Helper()
	d, err := keys.NewDeriver([]byte(testSecret), deployment)
	require.NoError(t, err)
	return d.Key(execution, service, port)
}

func TestKey(t *testing.T) {
	env := []string{"TRAEFIK_ZK_SIDECAR_KEY_SECRET=" + testSecret}
	key := wantKey(t, "prod", "42", "jupyter0", 8888)

	t.Run("text", func(t *testing.T) {
		out, err := run(t, env, "key", "--execution", "42", "--service", "jupyter0", "--port", "8888")
		require.NoError(t, err)
		assert.Equal(t, "key   "+key+"\n"+
			"path  /zoe/proxy/"+key+"\n"+
			"env   REVERSE_PROXY_PATH_8888=/zoe/proxy/"+key+"\n", out)
	})

	t.Run("json, other base url and deployment", func(t *testing.T) {
		out, err := run(t, env, "key", "--execution", "42", "--service", "jupyter0", "--port", "8888",
			"--traefik-base-url", "apps//x/", "--deployment-name", "dev", "--json")
		require.NoError(t, err)
		var got keyOutput
		require.NoError(t, json.Unmarshal([]byte(out), &got))
		devKey := wantKey(t, "dev", "42", "jupyter0", 8888)
		assert.Equal(t, keyOutput{
			ExecutionID: "42", Service: "jupyter0", Port: 8888, Key: devKey,
			Path: "/apps/x/" + devKey,
			Env:  map[string]string{"REVERSE_PROXY_PATH_8888": "/apps/x/" + devKey},
		}, got)
	})

	t.Run("host routing", func(t *testing.T) {
		out, err := run(t, env, "key", "--execution", "42", "--service", "jupyter0", "--port", "8888",
			"--routing", "host", "--proxy-domain", "apps.example.com")
		require.NoError(t, err)
		assert.Contains(t, out, "host  jupyter0-42-prod.apps.example.com\n")
		assert.Contains(t, out, "key   "+key+"\n")
	})

	t.Run("secret from a file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "key")
		require.NoError(t, os.WriteFile(path, []byte(testSecret+"\n"), 0o600))
		out, err := run(t, nil, "key", "--execution", "42", "--service", "jupyter0", "--port", "8888", "--key-secret-file", path)
		require.NoError(t, err)
		assert.Contains(t, out, key)
	})

	for _, tc := range []struct {
		name   string
		env    []string
		args   []string
		expect []string
	}{
		{"no secret", nil, []string{"--execution", "42", "--service", "s", "--port", "1"},
			[]string{"no key secret", "--key-secret-file FILE", "TRAEFIK_ZK_SIDECAR_KEY_SECRET"}},
		{"bad port", env, []string{"--execution", "42", "--service", "s", "--port", "70000"},
			[]string{"invalid --port", "1-65535"}},
		{"bad execution", env, []string{"--execution", "a/b", "--service", "s", "--port", "1"},
			[]string{"invalid --execution"}},
		{"bad service", env, []string{"--execution", "1", "--service", "s s", "--port", "1"},
			[]string{"invalid --service"}},
		{"missing flag", env, []string{"--execution", "42", "--port", "1"},
			[]string{`"service" not set`}},
		{"bad setting", env, []string{"--execution", "42", "--service", "s", "--port", "1", "--routing", "foo"},
			[]string{`invalid --routing "foo"`}},
		{"upper case in host routing", env, []string{"--execution", "ABC", "--service", "s", "--port", "1", "--routing", "host", "--proxy-domain", "a.example"},
			[]string{"invalid --execution", "must be lower case in host routing"}},
		{"upper-case service in host routing", env, []string{"--execution", "abc", "--service", "S", "--port", "1", "--routing", "host", "--proxy-domain", "a.example"},
			[]string{"invalid --service", "must be lower case in host routing"}},
		{"host name too long", env, []string{"--execution", "42", "--service", strings.Repeat("s", 60), "--port", "1", "--routing", "host", "--proxy-domain", "a.example"},
			[]string{"--service, --execution or --deployment-name", "DNS label"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(t, tc.env, append([]string{"key"}, tc.args...)...)
			require.Error(t, err)
			for _, want := range tc.expect {
				assert.Contains(t, err.Error(), want)
			}
			assert.NotContains(t, err.Error(), testSecret)
		})
	}
}

func TestVersion(t *testing.T) {
	out, err := run(t, nil, "version")
	require.NoError(t, err)
	assert.Contains(t, out, "traefik-zk-sidecar ")
	assert.Contains(t, out, runtime.Version())

	old := version
	version = "v9.9.9"
	defer func() { version = old }()
	out, err = run(t, nil, "--version")
	require.NoError(t, err)
	assert.Contains(t, out, "v9.9.9")
}

func TestServeRefusesWithoutCredentials(t *testing.T) {
	_, err := run(t, nil, "serve")
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		"refusing to start",
		"no API token", "--token-file FILE", "--token VALUE", "TRAEFIK_ZK_SIDECAR_TOKEN_FILE", "tokenFile",
		"no key secret", "--key-secret-file FILE", "TRAEFIK_ZK_SIDECAR_KEY_SECRET",
		"no ZooKeeper servers", "--traefik-zk-ips",
		"openssl rand",
	} {
		assert.Contains(t, msg, want)
	}

	// Only what is missing is listed.
	_, err = run(t, []string{"TRAEFIK_ZK_SIDECAR_TOKEN=tok", "TRAEFIK_ZK_SIDECAR_KEY_SECRET=" + testSecret}, "serve")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "no API token")
	assert.Contains(t, err.Error(), "--traefik-zk-ips")
	assert.NotContains(t, err.Error(), testSecret)
}

func TestServeRefusesReadableTokenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(path, []byte("tok\n"), 0o644))
	require.NoError(t, os.Chmod(path, 0o644))
	_, err := run(t, []string{"TRAEFIK_ZK_SIDECAR_KEY_SECRET=" + testSecret}, "serve", "--token-file", path, "--traefik-zk-ips", "127.0.0.1:1")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "chmod 600 "+path)
}

func TestCommandsNeedZooKeeperServers(t *testing.T) {
	_, err := run(t, nil, "routes")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "TRAEFIK_ZK_SIDECAR_TRAEFIK_ZK_IPS")

	path := filepath.Join(t.TempDir(), "ex.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"executions":[]}`), 0o600))
	_, err = run(t, []string{"TRAEFIK_ZK_SIDECAR_KEY_SECRET=" + testSecret}, "sync", "--file", path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--traefik-zk-ips")

	_, err = run(t, nil, "sync", "--file", path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no key secret")
}

// Each command has flags for the settings it uses and no others; serve
// uses them all.
func TestCommandsShowOnlyTheirFlags(t *testing.T) {
	root := newRootCmd(nil)
	commands := map[string]*cobra.Command{}
	for _, c := range root.Commands() {
		commands[c.Name()] = c
	}
	for _, s := range config.Settings() {
		assert.NotNil(t, commands["serve"].Flags().Lookup(s.Flag), "serve --%s", s.Flag)
		assert.Nil(t, root.PersistentFlags().Lookup(s.Flag), "--%s is not global", s.Flag)
	}
	has := func(name string, want ...string) {
		t.Helper()
		help, err := run(t, nil, name, "--help")
		require.NoError(t, err)
		var got []string
		commands[name].Flags().VisitAll(func(f *pflag.Flag) { got = append(got, f.Name) })
		assert.ElementsMatch(t, want, got, "%s's flags", name)
		for _, f := range got {
			assert.Contains(t, help, "--"+f, "%s --help", name)
		}
		for _, s := range config.Settings() {
			if !slices.Contains(got, s.Flag) {
				assert.NotContains(t, help, "--"+s.Flag+" ", "%s --help", name)
			}
		}
	}
	has("version")
	has("key", append([]string{"execution", "service", "port", "json"}, keySettings...)...)
	has("routes", append([]string{"json"}, routesSettings...)...)
	has("sync", append([]string{"file", "dry-run", "json"}, syncSettings...)...)
	has("zk-tls-proxy", append([]string{"proxy-listen"}, zkProxySettings...)...)
}

func TestReadExecutions(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		ids        []string
		err        string
	}{
		{"list", `{"executions":[{"id":42},{"id":"x-1"}]}`, []string{"42", "x-1"}, ""},
		{"empty list", `{"executions":[]}`, []string{}, ""},
		{"no list", `{}`, nil, `no "executions" list`},
		{"null list", `{"executions":null}`, nil, `no "executions" list`},
		{"not json", `executions`, nil, `not {"executions": [...]}`},
		{"bad id", `{"executions":[{"id":1.5}]}`, nil, "string or an integer"},
		{"trailing", `{"executions":[]} {}`, nil, "after top-level value"},
		{"unknown field", `{"executions":[{"id":1,"servces":[]}]}`, nil, "executions[0].servces: unknown field"},
		{"repeated key", `{"executions":[],"executions":[{"id":1}]}`, nil, "executions: given twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readExecutions("-", strings.NewReader(tc.body))
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			ids := []string{}
			for _, e := range got {
				ids = append(ids, string(e.ID))
			}
			assert.Equal(t, tc.ids, ids)
		})
	}
	_, err := readExecutions(filepath.Join(t.TempDir(), "missing.json"), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--file")
}

func route(exec, svc string, port int, backend, name string) state.Route {
	return state.Route{
		ExecutionID: exec, Service: svc, Port: port, Key: "k", Path: "/zoe/proxy/" + svc,
		Traefik: kvschema.Route{Name: name, Backend: backend},
	}
}

func TestPrintPlan(t *testing.T) {
	old := route("7", "web0", 80, "http://10.0.0.1:1", "zsc-a-1")
	moved := old
	moved.Traefik.Backend = "http://10.0.0.2:1"
	sp := provider.SyncPlan{Plans: map[string]plan.Plan{
		"8": {Delete: []state.Route{route("8", "db0", 5432, "http://10.0.0.3:1", "zsc-b-2")}},
		"7": {
			Create: []state.Route{route("7", "api0", 8080, "http://10.0.0.1:2", "")},
			Update: []plan.Change{{Old: old, New: moved}},
		},
	}}
	var b bytes.Buffer
	require.NoError(t, printPlan(&b, sp, true))
	assert.Equal(t, `execution 7: 1 to create, 1 to update, 0 to delete
  + api0:8080 /zoe/proxy/api0 -> http://10.0.0.1:2
  ~ web0:80 /zoe/proxy/web0 http://10.0.0.1:1 -> http://10.0.0.2:1
execution 8: 0 to create, 0 to update, 1 to delete
  - db0:5432 /zoe/proxy/db0
dry run: 2 executions would change; nothing written
`, b.String())

	b.Reset()
	require.NoError(t, printPlan(&b, provider.SyncPlan{}, false))
	assert.Equal(t, "nothing to change\n", b.String())

	resp := api.Views{}.Sync(sp, false)
	assert.False(t, resp.DryRun)
	assert.Len(t, resp.Plan["7"].Create, 1)
	assert.Equal(t, "http://10.0.0.2:1", resp.Plan["7"].Update[0].Backend)
	assert.Equal(t, "zsc-b-2", resp.Plan["8"].Delete[0].Router)
}

func TestPrintRoutes(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, printRoutes(&b, nil))
	assert.Equal(t, "no routes\n", b.String())

	b.Reset()
	r := route("42", "jupyter0", 8888, "http://10.0.0.5:32768", "zsc-x-2")
	h := route("43", "web0", 80, "http://10.0.0.6:1", "zsc-y-3")
	h.Path, h.Host = "/", "web0-43-prod.apps.example.com"
	require.NoError(t, printRoutes(&b, []state.Route{r, h}))
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	require.Len(t, lines, 3)
	assert.Equal(t, []string{"EXECUTION", "SERVICE", "PORT", "BACKEND", "ROUTER", "PATH", "OR", "HOST"}, strings.Fields(lines[0]))
	assert.Equal(t, []string{"42", "jupyter0", "8888", "http://10.0.0.5:32768", "zsc-x-2", "/zoe/proxy/jupyter0"}, strings.Fields(lines[1]))
	assert.Equal(t, []string{"43", "web0", "80", "http://10.0.0.6:1", "zsc-y-3", "web0-43-prod.apps.example.com"}, strings.Fields(lines[2]))
}
