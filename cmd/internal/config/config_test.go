package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/traefik/paerser/types"
)

func flags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.SetOutput(new(bytes.Buffer))
	RegisterFlags(fs)
	require.NoError(t, fs.Parse(args))
	return fs
}

func writeFile(t *testing.T, name, content string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), mode))
	require.NoError(t, os.Chmod(path, mode)) // umask may have narrowed it
	return path
}

func secs(n int) types.Duration { return types.Duration(time.Duration(n) * time.Second) }

func TestDefaults(t *testing.T) {
	cfg, err := Load(nil, nil)
	require.NoError(t, err)
	assert.Equal(t, "", cfg.TraefikZKIPs)
	assert.Equal(t, "/zoe/proxy/", cfg.TraefikBaseURL)
	assert.Equal(t, "traefik", cfg.TraefikRootKey)
	assert.Equal(t, "/traefik-zk-sidecar", cfg.StateRoot)
	assert.Equal(t, "0.0.0.0:8480", cfg.Listen)
	assert.Equal(t, "prod", cfg.DeploymentName)
	assert.Equal(t, "path", cfg.Routing)
	assert.Empty(t, cfg.EntryPoints)
	assert.False(t, cfg.TLS)
	assert.Equal(t, secs(10), cfg.ZKSessionTimeout)
	assert.Equal(t, secs(5), cfg.ZKOpTimeout)
	assert.Equal(t, secs(5), cfg.GCInterval)
	assert.Equal(t, types.Duration(0), cfg.GCQuietWindow)
	assert.Equal(t, 256, cfg.MaxConcurrentApplies)
	assert.Equal(t, "info", cfg.LogLevel)
	assert.Equal(t, "text", cfg.LogFormat)
	assert.Equal(t, "default", cfg.Source("routing"))

	// The flags' defaults are the same values.
	fs := flags(t)
	for _, s := range Settings() {
		f := fs.Lookup(s.Flag)
		require.NotNil(t, f, s.Flag)
		want := s.Default
		if want == "" && s.Kind == KindDuration {
			want = "0s"
		}
		if want == "" && s.Kind == KindBool {
			want = "false"
		}
		assert.Equal(t, want, f.DefValue, s.Flag)
		assert.Equal(t, want, cfg.value(s), s.Flag)
	}
}

func TestTable(t *testing.T) {
	typ := reflect.TypeOf(Config{})
	inTable := map[string]bool{}
	for _, s := range Settings() {
		f, ok := typ.FieldByName(s.Field)
		require.True(t, ok, "setting %s names missing field %s", s.Flag, s.Field)
		inTable[s.Field] = true
		assert.Equal(t, EnvPrefix+strings.ToUpper(strings.ReplaceAll(s.Flag, "-", "_")), s.Env)
		if s.Flag == "config" {
			assert.Empty(t, s.FileKey)
		} else {
			// paerser matches file keys to field names case-insensitively.
			assert.True(t, strings.EqualFold(s.FileKey, s.Field), "%s vs %s", s.FileKey, s.Field)
		}
		wantType := map[Kind]reflect.Type{
			KindString: reflect.TypeOf(""), KindBool: reflect.TypeOf(false), KindInt: reflect.TypeOf(0),
			KindDuration: reflect.TypeOf(types.Duration(0)), KindList: reflect.TypeOf([]string(nil)),
		}[s.Kind]
		assert.Equal(t, wantType, f.Type, s.Flag)
		assert.NotEmpty(t, s.Description, s.Flag)
	}
	for i := 0; i < typ.NumField(); i++ {
		if f := typ.Field(i); f.IsExported() {
			assert.True(t, inTable[f.Name], "field %s has no setting", f.Name)
		}
	}
	assert.Equal(t, "traefikZkIps", mustLookup("traefik-zk-ips").FileKey)
	assert.Equal(t, "traefikBaseUrl", mustLookup("traefik-base-url").FileKey)
	assert.Equal(t, "keySecretFile", mustLookup("key-secret-file").FileKey)
	assert.Equal(t, "TRAEFIK_ZK_SIDECAR_TRAEFIK_ZK_IPS", mustLookup("traefik-zk-ips").Env)

	md := MarkdownTable()
	for _, s := range Settings() {
		assert.Contains(t, md, "`--"+s.Flag+"`")
		assert.Contains(t, md, "`"+s.Env+"`")
	}
	assert.NotContains(t, md, "<key>", "angle brackets must be escaped in Markdown")
}

const tomlFile = `
traefikZkIps = "z1:2181,z2:2181"
traefikBaseUrl = "/apps/"
routing = "host"
proxyDomain = "apps.example.com"
entrypoints = ["web", "websecure"]
tls = true
zkSessionTimeout = "20s"
gcQuietWindow = 30
maxConcurrentApplies = 10
logFormat = "json"
`

const yamlFile = `
traefikZkIps: z1:2181,z2:2181
TraefikBaseURL: /apps/
routing: host
proxyDomain: apps.example.com
entrypoints:
  - web
  - websecure
tls: true
zkSessionTimeout: 20s
gcQuietWindow: 30
maxConcurrentApplies: 10
logFormat: json
`

func TestFile(t *testing.T) {
	for _, tc := range []struct{ name, content string }{
		{"c.toml", tomlFile},
		{"c.yaml", yamlFile},
		{"c.yml", yamlFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, tc.name, tc.content, 0o644)
			cfg, err := Load(flags(t, "--config", path), nil)
			require.NoError(t, err)
			assert.Equal(t, "z1:2181,z2:2181", cfg.TraefikZKIPs)
			assert.Equal(t, "/apps/", cfg.TraefikBaseURL)
			assert.Equal(t, "host", cfg.Routing)
			assert.Equal(t, "apps.example.com", cfg.ProxyDomain)
			assert.Equal(t, []string{"web", "websecure"}, cfg.EntryPoints)
			assert.True(t, cfg.TLS)
			assert.Equal(t, secs(20), cfg.ZKSessionTimeout)
			assert.Equal(t, secs(30), cfg.GCQuietWindow, "a bare number is seconds")
			assert.Equal(t, 10, cfg.MaxConcurrentApplies)
			assert.Equal(t, "json", cfg.LogFormat)
			assert.Equal(t, path, cfg.ConfigFile)
			// Untouched settings keep their defaults.
			assert.Equal(t, "traefik", cfg.TraefikRootKey)
			assert.Equal(t, secs(5), cfg.ZKOpTimeout)
			assert.Contains(t, cfg.Source("routing"), path)
		})
	}

	t.Run("config file from the environment", func(t *testing.T) {
		path := writeFile(t, "c.toml", tomlFile, 0o644)
		cfg, err := Load(nil, []string{"TRAEFIK_ZK_SIDECAR_CONFIG=" + path})
		require.NoError(t, err)
		assert.Equal(t, "host", cfg.Routing)
	})

	t.Run("entrypoints as a comma-separated string", func(t *testing.T) {
		path := writeFile(t, "c.toml", `entrypoints = "web, websecure"`, 0o644)
		cfg, err := Load(flags(t, "--config", path), nil)
		require.NoError(t, err)
		assert.Equal(t, []string{"web", "websecure"}, cfg.EntryPoints)
	})
}

func TestEnv(t *testing.T) {
	cfg, err := Load(nil, []string{
		"PATH=/bin",
		"TRAEFIK_ZK_SIDECAR_TRAEFIK_ZK_IPS=zk:2181",
		"TRAEFIK_ZK_SIDECAR_ROUTING=host",
		"TRAEFIK_ZK_SIDECAR_PROXY_DOMAIN=apps.example.com",
		"TRAEFIK_ZK_SIDECAR_ENTRYPOINTS=web,websecure",
		"TRAEFIK_ZK_SIDECAR_TLS=true",
		"TRAEFIK_ZK_SIDECAR_ZK_OP_TIMEOUT=2s",
		"TRAEFIK_ZK_SIDECAR_MAX_CONCURRENT_APPLIES=7",
		"TRAEFIK_ZK_SIDECAR_DEPLOYMENT_NAME=", // empty counts as unset
	})
	require.NoError(t, err)
	assert.Equal(t, "zk:2181", cfg.TraefikZKIPs)
	assert.Equal(t, "host", cfg.Routing)
	assert.Equal(t, []string{"web", "websecure"}, cfg.EntryPoints)
	assert.True(t, cfg.TLS)
	assert.Equal(t, secs(2), cfg.ZKOpTimeout)
	assert.Equal(t, 7, cfg.MaxConcurrentApplies)
	assert.Equal(t, "prod", cfg.DeploymentName)
	assert.Equal(t, "environment variable TRAEFIK_ZK_SIDECAR_ROUTING", cfg.Source("routing"))
}

func TestFlags(t *testing.T) {
	cfg, err := Load(flags(t,
		"--traefik-zk-ips", "a:1,b:2",
		"--traefik-base-url=/p",
		"--listen", "127.0.0.1:9000",
		"--entrypoints", "web",
		"--tls",
		"--cert-resolver", "le",
		"--zk-session-timeout", "1m",
		"--gc-quiet-window", "45s",
		"--max-concurrent-applies", "3",
		"--log-level", "debug",
		"--zk-user", "sidecar", "--zk-password", "pw",
	), nil)
	require.NoError(t, err)
	assert.Equal(t, "a:1,b:2", cfg.TraefikZKIPs)
	assert.Equal(t, "/p", cfg.TraefikBaseURL)
	assert.Equal(t, "127.0.0.1:9000", cfg.Listen)
	assert.Equal(t, []string{"web"}, cfg.EntryPoints)
	assert.True(t, cfg.TLS)
	assert.Equal(t, "le", cfg.CertResolver)
	assert.Equal(t, secs(60), cfg.ZKSessionTimeout)
	assert.Equal(t, secs(45), cfg.GCQuietWindow)
	assert.Equal(t, 3, cfg.MaxConcurrentApplies)
	assert.Equal(t, "debug", cfg.LogLevel)
	assert.Equal(t, "flag --listen", cfg.Source("listen"))

	opts, err := cfg.ZooKeeperOptions()
	require.NoError(t, err)
	assert.Equal(t, []string{"a:1", "b:2"}, opts.Servers)
	assert.Equal(t, time.Minute, opts.SessionTimeout)
	assert.Equal(t, "sidecar", opts.User)

	es, err := cfg.ExecutionSettings()
	require.NoError(t, err)
	assert.Equal(t, "/p", es.BasePath)
	assert.Equal(t, []string{"web"}, es.EntryPoints)
}

func TestPrecedence(t *testing.T) {
	// deployment-name is given by all three sources; each other setting by
	// fewer, so the test also shows that a layer only changes what it names.
	file := writeFile(t, "c.yaml", `
deploymentName: from-file
traefikRootKey: file-root
logLevel: warn
entrypoints: [file-ep]
`, 0o644)
	env := []string{
		"TRAEFIK_ZK_SIDECAR_DEPLOYMENT_NAME=from-env",
		"TRAEFIK_ZK_SIDECAR_TRAEFIK_ROOT_KEY=env-root",
		"TRAEFIK_ZK_SIDECAR_GC_INTERVAL=9s",
	}
	for _, tc := range []struct {
		name  string
		args  []string
		env   []string
		check func(t *testing.T, c Config)
	}{
		{"defaults only", nil, nil, func(t *testing.T, c Config) {
			assert.Equal(t, "prod", c.DeploymentName)
			assert.Equal(t, "traefik", c.TraefikRootKey)
		}},
		{"file over defaults", []string{"--config", file}, nil, func(t *testing.T, c Config) {
			assert.Equal(t, "from-file", c.DeploymentName)
			assert.Equal(t, "file-root", c.TraefikRootKey)
			assert.Equal(t, "warn", c.LogLevel)
			assert.Equal(t, "text", c.LogFormat)
		}},
		{"env over file", []string{"--config", file}, env, func(t *testing.T, c Config) {
			assert.Equal(t, "from-env", c.DeploymentName)
			assert.Equal(t, "env-root", c.TraefikRootKey)
			assert.Equal(t, "warn", c.LogLevel, "file value kept where env says nothing")
			assert.Equal(t, []string{"file-ep"}, c.EntryPoints)
			assert.Equal(t, secs(9), c.GCInterval)
		}},
		{"flags over env and file", []string{"--config", file, "--deployment-name", "from-flag", "--entrypoints", ""}, env, func(t *testing.T, c Config) {
			assert.Equal(t, "from-flag", c.DeploymentName)
			assert.Equal(t, "env-root", c.TraefikRootKey, "env value kept where flags say nothing")
			assert.Equal(t, "warn", c.LogLevel, "file value kept where flags and env say nothing")
			assert.Empty(t, c.EntryPoints, "an explicit empty list clears the file's")
			assert.Equal(t, secs(9), c.GCInterval)
			assert.Equal(t, "flag --deployment-name", c.Source("deployment-name"))
			assert.Equal(t, "environment variable TRAEFIK_ZK_SIDECAR_TRAEFIK_ROOT_KEY", c.Source("traefik-root-key"))
		}},
		{"config flag over config env", []string{"--config", file}, []string{"TRAEFIK_ZK_SIDECAR_CONFIG=/nonexistent.toml"}, func(t *testing.T, c Config) {
			assert.Equal(t, "from-file", c.DeploymentName)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(flags(t, tc.args...), tc.env)
			require.NoError(t, err)
			tc.check(t, c)
		})
	}
}

func TestBadValues(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		env    []string
		file   string // TOML content, given with --config
		expect []string
	}{
		{name: "traefik provider", args: []string{"--traefik-provider", "redis"},
			expect: []string{`invalid --traefik-provider "redis" (from flag --traefik-provider)`, `want zookeeper or http`}},
		{name: "both Traefik tokens", args: []string{"--traefik-token", "x", "--traefik-token-file", "/f"},
			expect: []string{"traefik-token", "traefik-token-file"}},
		{name: "routing flag", args: []string{"--routing", "foo"},
			expect: []string{`invalid --routing "foo" (from flag --routing)`, `want "path" or "host"`}},
		{name: "routing env", env: []string{"TRAEFIK_ZK_SIDECAR_ROUTING=foo"},
			expect: []string{`invalid --routing "foo"`, "environment variable TRAEFIK_ZK_SIDECAR_ROUTING"}},
		{name: "routing file", file: `routing = "foo"`,
			expect: []string{`invalid --routing "foo"`, "key routing in "}},
		{name: "host routing without domain", args: []string{"--routing", "host"},
			expect: []string{"host routing needs a domain", "--proxy-domain", "TRAEFIK_ZK_SIDECAR_PROXY_DOMAIN", "proxyDomain"}},
		{name: "duration env", env: []string{"TRAEFIK_ZK_SIDECAR_ZK_OP_TIMEOUT=soon"},
			expect: []string{`invalid --zk-op-timeout "soon"`, "TRAEFIK_ZK_SIDECAR_ZK_OP_TIMEOUT", "want a duration"}},
		{name: "duration file", file: `gcInterval = "often"`,
			expect: []string{`invalid --gc-interval "often"`, "key gcInterval in", "want a duration"}},
		{name: "zero duration", args: []string{"--zk-op-timeout", "0s"},
			expect: []string{"invalid --zk-op-timeout", "more than 0"}},
		{name: "int env", env: []string{"TRAEFIK_ZK_SIDECAR_MAX_CONCURRENT_APPLIES=many"},
			expect: []string{"invalid --max-concurrent-applies", "want a whole number"}},
		{name: "bool file", file: `tls = "sometimes"`,
			expect: []string{"invalid --tls", "want true or false"}},
		{name: "unknown file key", file: `traefikZkIp = "z:1"`,
			expect: []string{`unknown key "traefikZkIp"`, "lowerCamelCase"}},
		{name: "unknown env var", env: []string{"TRAEFIK_ZK_SIDECAR_TOKN=x"},
			expect: []string{"unknown environment variable TRAEFIK_ZK_SIDECAR_TOKN"}},
		{name: "zk servers", args: []string{"--traefik-zk-ips", "zk"},
			expect: []string{`invalid --traefik-zk-ips "zk"`, "host:port"}},
		{name: "state root inside traefik root", args: []string{"--state-root", "/traefik/state"},
			expect: []string{"invalid --state-root", "outside the Traefik root key /traefik"}},
		{name: "listen", args: []string{"--listen", "8480"},
			expect: []string{`invalid --listen "8480"`, "host:port"}},
		{name: "metrics listen", args: []string{"--metrics-listen", "localhost"},
			expect: []string{`invalid --metrics-listen "localhost"`, "host:port"}},
		{name: "metrics listen on the API's address", args: []string{"--listen", "127.0.0.1:8480", "--metrics-listen", "127.0.0.1:8480"},
			expect: []string{`invalid --metrics-listen "127.0.0.1:8480"`, "is --listen's address"}},
		{name: "log level", env: []string{"TRAEFIK_ZK_SIDECAR_LOG_LEVEL=loud"},
			expect: []string{"invalid --log-level", "debug, info, warn or error"}},
		{name: "zk password without user", args: []string{"--zk-password", "hunter2hunter2"},
			expect: []string{"invalid --zk-password", "without --zk-user"}},
		{name: "token and token file", args: []string{"--token", "t0ps3cr3t", "--token-file", "/x"},
			expect: []string{"invalid --token", "also given as --token-file", "only one"}},
		{name: "bad extension", args: []string{"--config", "/etc/x.ini"},
			expect: []string{"want a .toml, .yaml or .yml file"}},
		{name: "config file names another", file: `config = "/x.toml"`,
			expect: []string{"cannot name another"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.file != "" {
				args = append(args, "--config", writeFile(t, "c.toml", tc.file, 0o644))
			}
			_, err := Load(flags(t, args...), tc.env)
			require.Error(t, err)
			for _, want := range tc.expect {
				assert.Contains(t, err.Error(), want)
			}
			assert.NotContains(t, err.Error(), "t0ps3cr3t")
			assert.NotContains(t, err.Error(), "hunter2hunter2")
		})
	}

	t.Run("bad duration flag is refused by the flag parser", func(t *testing.T) {
		fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
		fs.SetOutput(new(bytes.Buffer))
		RegisterFlags(fs)
		err := fs.Parse([]string{"--zk-session-timeout", "soon"})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "zk-session-timeout")
	})
}

func TestSecrets(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef"

	t.Run("file with mode 0600", func(t *testing.T) {
		tokenFile := writeFile(t, "token", "api-token\n", 0o600)
		keyFile := writeFile(t, "key", secret+"\r\n", 0o400)
		cfg, err := Load(flags(t, "--token-file", tokenFile), []string{"TRAEFIK_ZK_SIDECAR_KEY_SECRET_FILE=" + keyFile})
		require.NoError(t, err)
		token, err := cfg.ResolveToken()
		require.NoError(t, err)
		assert.Equal(t, "api-token", token)
		key, err := cfg.ResolveKeySecret()
		require.NoError(t, err)
		assert.Equal(t, secret, key)
		d, err := cfg.Deriver()
		require.NoError(t, err)
		assert.Equal(t, "prod", d.Deployment())
	})

	t.Run("value", func(t *testing.T) {
		cfg, err := Load(flags(t, "--token", "tok", "--key-secret", secret), nil)
		require.NoError(t, err)
		token, err := cfg.ResolveToken()
		require.NoError(t, err)
		assert.Equal(t, "tok", token)
	})

	t.Run("file readable by others is refused", func(t *testing.T) {
		path := writeFile(t, "token", "api-token\n", 0o644)
		cfg, err := Load(flags(t, "--token-file", path), nil)
		require.NoError(t, err)
		_, err = cfg.ResolveToken()
		require.Error(t, err)
		assert.Contains(t, err.Error(), path)
		assert.Contains(t, err.Error(), "0644")
		assert.Contains(t, err.Error(), "chmod 600")
		assert.NotContains(t, err.Error(), "api-token")
	})

	t.Run("group-readable key secret file is refused", func(t *testing.T) {
		path := writeFile(t, "key", secret, 0o640)
		cfg, err := Load(nil, []string{"TRAEFIK_ZK_SIDECAR_KEY_SECRET_FILE=" + path})
		require.NoError(t, err)
		_, err = cfg.Deriver()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "chmod 600")
	})

	t.Run("value and file", func(t *testing.T) {
		path := writeFile(t, "key", secret, 0o600)
		_, err := Load(flags(t, "--key-secret-file", path), []string{"TRAEFIK_ZK_SIDECAR_KEY_SECRET=" + secret})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "--key-secret")
		assert.Contains(t, err.Error(), "--key-secret-file")
		assert.Contains(t, err.Error(), "only one")
		assert.NotContains(t, err.Error(), secret)
	})

	t.Run("missing says how to give it", func(t *testing.T) {
		cfg, err := Load(nil, nil)
		require.NoError(t, err)
		_, err = cfg.ResolveToken()
		require.ErrorIs(t, err, ErrMissing)
		for _, want := range []string{"--token-file FILE", "--token VALUE", "TRAEFIK_ZK_SIDECAR_TOKEN_FILE", "TRAEFIK_ZK_SIDECAR_TOKEN", "tokenFile", "key token "} {
			assert.Contains(t, err.Error(), want)
		}
		_, err = cfg.ResolveKeySecret()
		require.ErrorIs(t, err, ErrMissing)
		assert.Contains(t, err.Error(), "--key-secret-file")
	})

	t.Run("short key secret", func(t *testing.T) {
		cfg, err := Load(flags(t, "--key-secret", "short"), nil)
		require.NoError(t, err)
		_, err = cfg.ResolveKeySecret()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "at least 16")
		assert.NotContains(t, err.Error(), `"short"`)
	})

	t.Run("empty file", func(t *testing.T) {
		path := writeFile(t, "token", "\n", 0o600)
		cfg, err := Load(flags(t, "--token-file", path), nil)
		require.NoError(t, err)
		_, err = cfg.ResolveToken()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "is empty")
	})

	t.Run("missing file", func(t *testing.T) {
		cfg, err := Load(flags(t, "--token-file", "/nonexistent/token"), nil)
		require.NoError(t, err)
		_, err = cfg.ResolveToken()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "/nonexistent/token")
	})
}

func TestRedaction(t *testing.T) {
	secrets := map[string]string{
		"token": "tok-SECRET-1", "key-secret": "key-SECRET-2-0123456789",
		"zk-password": "zkpw-SECRET-3", "zk-reader-password": "zkrpw-SECRET-4",
	}
	cfg, err := Load(flags(t,
		"--token", secrets["token"], "--key-secret", secrets["key-secret"],
		"--zk-user", "u", "--zk-password", secrets["zk-password"],
		"--zk-reader-user", "r", "--zk-reader-password", secrets["zk-reader-password"],
	), nil)
	require.NoError(t, err)

	var jsonLog, textLog bytes.Buffer
	slog.New(slog.NewJSONHandler(&jsonLog, nil)).Info("start", "config", cfg)
	slog.New(slog.NewTextHandler(&textLog, nil)).Info("start", "config", &cfg)
	marshalled, err := json.Marshal(cfg)
	require.NoError(t, err)
	outputs := map[string]string{
		"String": cfg.String(), "%v": fmt.Sprintf("%v", cfg), "%+v": fmt.Sprintf("%+v", cfg),
		"%#v": fmt.Sprintf("%#v", cfg), "%s": fmt.Sprintf("%s", cfg), "%d": fmt.Sprintf("%d", cfg),
		"%x": fmt.Sprintf("%x", cfg), "pointer %+v": fmt.Sprintf("%+v", &cfg),
		"slog json": jsonLog.String(), "slog text": textLog.String(), "json": string(marshalled),
	}
	for name, out := range outputs {
		for _, s := range secrets {
			assert.NotContains(t, out, "SECRET", "%s leaks %s: %s", name, s, out)
		}
		assert.Contains(t, out, Redacted, name)
	}
	assert.Contains(t, cfg.String(), `zk-user="u"`)
	assert.Contains(t, jsonLog.String(), `"zk-reader-user":"r"`)
	// Unset secrets show as empty, not as REDACTED.
	empty, err := Load(nil, nil)
	require.NoError(t, err)
	assert.Contains(t, empty.String(), `token=""`)
}

func TestErrorsAreTyped(t *testing.T) {
	_, err := Load(flags(t, "--routing", "foo"), nil)
	var cerr *Error
	require.True(t, errors.As(err, &cerr))
	assert.Equal(t, "routing", cerr.Setting.Flag)
	assert.Equal(t, "flag --routing", cerr.Source)
}
