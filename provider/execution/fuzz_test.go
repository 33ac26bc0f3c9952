package execution

// Fuzz target of execution validation and route building: any JSON
// that decodes into an Execution either is refused with a FieldError or
// gives routes whose every value is safe to write to ZooKeeper. Run with
// `go test ./provider/execution -run '^$' -fuzz '^FuzzExecutionRoutes$' -fuzztime 5m`.

import (
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/keys"
)

var (
	fuzzHex64RE    = regexp.MustCompile(`^[0-9a-f]{64}$`)
	fuzzPathRuleRE = regexp.MustCompile("^Path\\(`((?:/[A-Za-z0-9._~-]+)+)`\\) \\|\\| PathPrefix\\(`((?:/[A-Za-z0-9._~-]+)+)/`\\)$")
	fuzzHostRuleRE = regexp.MustCompile("^Host\\(`([a-z0-9.-]+)`\\)$")
	fuzzBackendRE  = regexp.MustCompile(`^https?://(\[[0-9a-f:.]+\]|[a-z0-9.-]+):([0-9]+)$`)
	// fuzzFieldRE is the JSON path a FieldError names.
	fuzzFieldRE = regexp.MustCompile(`^execution(\.id|\.services\[[0-9]+\](\.name|\.ports\[[0-9]+\](\.[a-z_]+)?))$`)
)

const fuzzBase = "/zoe/proxy"

func fuzzSeedJSON() []string {
	issue := `{"id": 42, "name": "nb", "owner": "alice", "services": [{"name": "py-notebook0", "ports": [
		{"name": "Jupyter", "port_number": 8888, "protocol": "tcp", "proxy": true, "url_template": "http://{ip_port}{proxy_path}", "external_ip": "10.1.2.3", "external_port": 32768},
		{"name": "Tensorboard", "port_number": 6006, "protocol": "tcp", "url_template": "http://{ip_port}/", "external_ip": "10.1.2.3", "external_port": 32769}]}]}`
	return []string{
		issue,
		`{"id": "42", "services": [{"name": "jupyter0", "ports": [{"port_number": 8888, "proxy": true}]}]}`,
		`{"id": "spark-7", "services": [{"name": "spark-master0", "ports": [
			{"port_number": 8080, "proxy": true, "external_ip": "Node1.Example.COM", "external_port": 31000, "strip_prefix": true},
			{"port_number": 4040, "proxy": true, "url_template": "HTTPS://{ip_port}/", "external_ip": "fd00::1", "external_port": 443},
			{"port_number": 7077, "protocol": "tcp"}, {"port_number": 53, "protocol": "udp"}]},
			{"name": "spark-worker0", "ports": [{"port_number": 8081, "proxy": true, "url_template": "wss://x", "external_ip": "10.0.0.9", "external_port": 1}]}]}`,
		`{"id": 9223372036854775807, "services": []}`,
		`{"id": 9223372036854775808}`,
		`{"id": -1}`,
		`{"id": 1e3}`,
		`{"id": null}`,
		`{"id": "42` + "`" + `) || Host(` + "`" + `evil.com", "services": []}`,
		`{"id": "42", "services": [{"name": "jupyter0` + "`" + `) || Host(` + "`" + `evil", "ports": [{"port_number": 1, "proxy": true}]}]}`,
		`{"id": "42", "services": [{"name": "jupyter0", "ports": [{"port_number": 8888, "proxy": true, "external_ip": "10.1.2.3` + "`" + `) || Host(` + "`" + `x", "external_port": 80}]}]}`,
		`{"id": "42", "services": [{"name": "jupyter0", "ports": [{"port_number": 8888, "proxy": true, "external_ip": "10.1.2.3/x?y#z", "external_port": 80}]}]}`,
		`{"id": "42", "services": [{"name": "jupyter0", "ports": [{"port_number": 8888, "proxy": true, "external_ip": "user@10.1.2.3", "external_port": 80}]}]}`,
		`{"id": "42", "services": [{"name": "jupyter0", "ports": [{"port_number": 8888, "proxy": true, "external_ip": "10.1.2.3", "external_port": 99999999999999999999}]}]}`,
		`{"id": "42", "services": [{"name": "jupyter0", "ports": [{"port_number": 4294975184, "proxy": true, "external_ip": "10.1.2.3", "external_port": 80}]}]}`,
		`{"id": "42", "services": [{"name": "jupyter0", "ports": [{"port_number": -8888, "proxy": true, "external_ip": "10.1.2.3", "external_port": 80}]}]}`,
		`{"id": "42", "services": [{"name": "jupyter0", "ports": [{"port_number": 8888, "proxy": true, "url_template": "javascript://x", "external_ip": "10.1.2.3", "external_port": 80}]}]}`,
		`{"id": "42", "services": [{"name": "jüpyter0", "ports": [{"port_number": 8888, "proxy": true, "external_ip": "10.1.2.3", "external_port": 80}]}]}`,
		`{"id": "42", "services": [{"name": "` + "\u212a" + `upyter0", "ports": [{"port_number": 8888, "proxy": true, "external_ip": "10.1.2.3", "external_port": 80}]}]}`,
		`{"id": "42", "services": [{"name": "jupyter0", "ports": [{"port_number": 8888, "proxy": true, "external_ip": "ｅxample.com", "external_port": 80}]}]}`,
		`{"id": "42", "services": [{"name": "jupyter0", "ports": [{"port_number": 8888, "proxy": true, "external_ip": "` + "\u212a" + `.example", "external_port": 80}]}]}`,
		`{"id": "42", "services": [{"name": "jupyter0", "ports": [{"port_number": 8888, "proxy": true, "external_ip": "::ffff:10.1.2.3", "external_port": 80}]}]}`,
		`{"id": "42", "services": [{"name": "jupyter0", "ports": [{"port_number": 8888, "proxy": true, "external_ip": "fe80::1%eth0", "external_port": 80}]}]}`,
		`{"id": "42", "services": [{"name": "a", "ports": [{"port_number": 1, "proxy": true}, {"port_number": 1, "proxy": true}]}]}`,
		`{"id": "42", "services": [{"name": "a"}, {"name": "a"}]}`,
		`{"id": "42", "services": [{"name": "a", "ports": [{"port_number": 1, "proxy": true, "protocol": "udp"}]}]}`,
		`{"id": "42", "services": [{"name": "a", "ports": [{"port_number": 1, "proxy": true, "extra": {"nested": [[[[{}]]]]}}]}], "x": [1, [2, [3, {"y": null}]]]}`,
		`{"id": "42", "services": [{"name": "` + strings.Repeat("s", 63) + `", "ports": [{"port_number": 1, "proxy": true}]}]}`,
		`{"id": "42", "services": [{"name": "` + strings.Repeat("s", 64) + `", "ports": [{"port_number": 1, "proxy": true}]}]}`,
		`{"id": "42", "services": [{"name": "` + strings.Repeat("s", 56) + `", "ports": [{"port_number": 1, "proxy": true}]}]}`,
		`{"id": "", "services": null}`,
		`{"ID": "42", "Services": [{"Name": "a", "Ports": [{"Port_Number": 1, "Proxy": true}]}]}`,
		`[]`, `null`, `"42"`, `{"id": {"id": {"id": 42}}}`,
	}
}

func FuzzExecutionRoutes(f *testing.F) {
	for _, s := range fuzzSeedJSON() {
		f.Add([]byte(s), true, false)
		f.Add([]byte(s), false, false)
		f.Add([]byte(s), true, true)
	}
	d, err := keys.NewDeriver([]byte(testSecret), "zoe-prod")
	require.NoError(f, err)
	pathMode := Settings{BasePath: fuzzBase, Routing: RoutingPath, EntryPoints: []string{"web"}}
	hostMode := Settings{BasePath: fuzzBase, Routing: RoutingHost, ProxyDomain: "proxy.example.com", EntryPoints: []string{"websecure"}, TLS: true}
	require.NoError(f, pathMode.Validate())
	require.NoError(f, hostMode.Validate())

	f.Fuzz(func(t *testing.T, data []byte, withBackends, host bool) {
		var e Execution
		if err := json.Unmarshal(data, &e); err != nil {
			return
		}
		s := pathMode
		if host {
			s = hostMode
		}
		routes, err := Routes(&e, s, d, withBackends)
		if err != nil {
			var fe *FieldError
			require.True(t, errors.As(err, &fe), "error %v is not a FieldError", err)
			require.Regexp(t, fuzzFieldRE, fe.Field)
			require.NotEmpty(t, fe.Message)
			require.Nil(t, routes)
			return
		}

		// Accepted: the id and every service name are DNS-label tokens.
		require.NoError(t, kvschema.ValidateName(string(e.ID)))
		proxied := 0
		for _, svc := range e.Services {
			require.NoError(t, kvschema.ValidateName(svc.Name))
			for _, p := range svc.Ports {
				if p.Proxy {
					proxied++
				}
			}
		}
		require.Len(t, routes, proxied, "one route per proxied port")

		seenKeys := map[string]bool{}
		seenPorts := map[string]bool{}
		hostOf := map[string]string{} // host → service/port
		proxiedOf := map[string]int{}
		for _, svc := range e.Services {
			for _, p := range svc.Ports {
				if p.Proxy {
					proxiedOf[svc.Name]++
				}
			}
		}
		for i, r := range routes {
			if i > 0 {
				prev := routes[i-1]
				require.True(t, prev.Service < r.Service || (prev.Service == r.Service && prev.Port < r.Port), "routes not sorted")
			}
			require.Equal(t, string(e.ID), r.ExecutionID)
			require.True(t, r.Port >= 1 && r.Port <= 65535, "port %d", r.Port)
			sp := r.Service + "/" + strconv.Itoa(r.Port)
			require.False(t, seenPorts[sp], "two routes for %s", sp)
			seenPorts[sp] = true

			require.Regexp(t, fuzzHex64RE, r.Key)
			require.Equal(t, d.Key(string(e.ID), r.Service, r.Port), r.Key)
			require.False(t, seenKeys[r.Key], "key %s twice", r.Key)
			seenKeys[r.Key] = true

			if host {
				require.Equal(t, "/", r.Path)
				label := r.Service
				if proxiedOf[r.Service] > 1 {
					label += "-" + strconv.Itoa(r.Port)
				}
				require.Equal(t, strings.ToLower(label+"-"+string(e.ID)+"-zoe-prod")+".proxy.example.com", r.Host)
				rule, err := kvschema.HostRule(r.Host)
				require.NoError(t, err)
				require.Equal(t, rule, r.Traefik.Rule)
				m := fuzzHostRuleRE.FindStringSubmatch(r.Traefik.Rule)
				require.NotNil(t, m, "rule %q", r.Traefik.Rule)
				require.Equal(t, r.Host, m[1])
				require.Empty(t, r.Traefik.StripPrefix)
				require.Equal(t, &kvschema.RouterTLSConfig{}, r.Traefik.TLS)
				// Every proxied port has a host of its own.
				if other, ok := hostOf[r.Host]; ok {
					require.Failf(t, "shared host", "%s and %s share host %s", other, sp, r.Host)
				}
				hostOf[r.Host] = sp
			} else {
				require.Empty(t, r.Host)
				require.Equal(t, fuzzBase+"/"+r.Key, r.Path)
				rule, err := kvschema.PathRule(r.Path)
				require.NoError(t, err)
				require.Equal(t, rule, r.Traefik.Rule, "rule is exactly PathRule(path)")
				m := fuzzPathRuleRE.FindStringSubmatch(r.Traefik.Rule)
				require.NotNil(t, m, "rule %q", r.Traefik.Rule)
				require.Equal(t, r.Path, m[1])
				require.Equal(t, r.Path, m[2])
				require.Equal(t, 4, strings.Count(r.Traefik.Rule, "`"))
				if r.Traefik.StripPrefix != "" {
					require.Equal(t, r.Path, r.Traefik.StripPrefix)
				}
				require.Nil(t, r.Traefik.TLS)
			}
			require.Equal(t, s.EntryPoints, r.Traefik.EntryPoints)
			require.Empty(t, r.Traefik.Name, "names are given at creation")

			if !withBackends {
				require.Empty(t, r.Traefik.Backend)
				continue
			}
			require.NoError(t, kvschema.ValidateBackend(r.Traefik.Backend))
			require.Regexp(t, fuzzBackendRE, r.Traefik.Backend)
			bm := fuzzBackendRE.FindStringSubmatch(r.Traefik.Backend)
			port, err := strconv.Atoi(bm[2])
			require.NoError(t, err)
			require.True(t, port >= 1 && port <= 65535, "backend port %d", port)

			named := r.Traefik
			named.Name = RouterName(r.Key, 1)
			kvs, err := named.Encode("traefik")
			require.NoError(t, err, "route %+v", named)
			require.NotEmpty(t, kvs)
			for _, kv := range kvs {
				require.True(t, strings.HasPrefix(kv.Key, "/traefik/http/"), kv.Key)
				require.NoError(t, kvschema.ValidateValue(kv.Value), kv.Key)
			}
			dead, err := named.Tombstone().Encode("traefik")
			require.NoError(t, err)
			require.Len(t, dead, len(kvs), "a tombstone has the same znodes")
		}
	})
}
