package execution

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/keys"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
)

const testSecret = "0123456789abcdef0123456789abcdef"

func testDeriver(t *testing.T) *keys.Deriver {
	t.Helper()
	d, err := keys.NewDeriver([]byte(testSecret), "zoe-prod")
	require.NoError(t, err)
	return d
}

func TestIDUnmarshalJSON(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		want    ID
		wantErr bool
	}{
		{name: "string digits", json: `"42"`, want: "42"},
		{name: "integer", json: `42`, want: "42"},
		{name: "string letters", json: `"abc"`, want: "abc"},
		{name: "integer with spaces", json: ` 42 `, want: "42"},
		{name: "large integer", json: `9007199254740993`, want: "9007199254740993"},
		{name: "negative integer is decoded, Validate rejects it", json: `-7`, want: "-7"},
		{name: "null leaves the id unset", json: `null`, want: ""},
		{name: "float", json: `4.2`, wantErr: true},
		{name: "integral float", json: `42.0`, wantErr: true},
		{name: "exponent", json: `1e3`, wantErr: true},
		{name: "beyond int64", json: `99999999999999999999`, wantErr: true},
		{name: "true", json: `true`, wantErr: true},
		{name: "false", json: `false`, wantErr: true},
		{name: "object", json: `{}`, wantErr: true},
		{name: "array", json: `[42]`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e Execution
			err := json.Unmarshal([]byte(`{"id":`+tt.json+`}`), &e)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, e.ID)

			var id ID
			require.NoError(t, json.Unmarshal([]byte(tt.json), &id))
			assert.Equal(t, tt.want, id)
		})
	}
}

func TestIDUnmarshalJSONErrorMessage(t *testing.T) {
	var id ID
	err := id.UnmarshalJSON([]byte(`4.2`))
	var typeErr *json.UnmarshalTypeError
	require.ErrorAs(t, err, &typeErr)
	assert.Equal(t, "4.2 (want a string or an integer)", typeErr.Value)
	assert.Equal(t, ID(""), id, "a rejected value leaves the id untouched")

	// Inside a document, encoding/json adds the field path.
	var doc struct {
		Execution Execution `json:"execution"`
	}
	err = json.Unmarshal([]byte(`{"execution": {"id": true}}`), &doc)
	require.ErrorAs(t, err, &typeErr)
	assert.Equal(t, "execution.id", typeErr.Field)
}

func TestIDNullThenValidate(t *testing.T) {
	var e Execution
	require.NoError(t, json.Unmarshal([]byte(`{"id":null}`), &e))
	err := e.Validate("execution", true)
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "execution.id", fe.Field)
	assert.Equal(t, "execution.id: required", err.Error())
}

func TestExecutionJSON(t *testing.T) {
	const body = `{"id": 42, "name": "nb", "owner": "alice", "services": [
		{"name": "jupyter0", "ports": [
			{"name": "Notebook", "port_number": 8888, "protocol": "tcp", "proxy": true,
			 "url_template": "http://{ip_port}{proxy_path}", "external_ip": "10.1.2.3", "external_port": 32768,
			 "strip_prefix": true},
			{"port_number": 22}
		]}
	]}`
	var e Execution
	require.NoError(t, json.Unmarshal([]byte(body), &e))
	assert.Equal(t, Execution{
		ID: "42", Name: "nb", Owner: "alice",
		Services: []Service{{Name: "jupyter0", Ports: []Port{
			{Name: "Notebook", PortNumber: 8888, Protocol: "tcp", Proxy: true,
				URLTemplate: "http://{ip_port}{proxy_path}", ExternalIP: "10.1.2.3", ExternalPort: 32768, StripPrefix: true},
			{PortNumber: 22},
		}}},
	}, e)
}

// validExecution is valid for a start; tests mutate a fresh copy.
func validExecution() Execution {
	return Execution{
		ID: "42",
		Services: []Service{
			{Name: "jupyter0", Ports: []Port{
				{Name: "notebook", PortNumber: 8888, Protocol: "tcp", Proxy: true,
					URLTemplate: "http://{ip_port}{proxy_path}", ExternalIP: "10.1.2.3", ExternalPort: 32768},
				{Name: "spark-ui", PortNumber: 4040, Proxy: true, ExternalIP: "10.1.2.3", ExternalPort: 32769},
				{Name: "ssh", PortNumber: 22, Protocol: "tcp"},
			}},
			{Name: "worker0", Ports: []Port{
				{Name: "dns", PortNumber: 53, Protocol: "udp"},
			}},
		},
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name        string
		mutate      func(e *Execution)
		needBackend bool
		field       string // "" means valid
		message     string // when set, the message must contain it
	}{
		{name: "valid start", needBackend: true},
		{name: "valid prepare", needBackend: false},
		{name: "no services", mutate: func(e *Execution) { e.Services = nil }, needBackend: true},
		{name: "id missing", mutate: func(e *Execution) { e.ID = "" }, needBackend: true, field: "execution.id"},
		{name: "id with slash", mutate: func(e *Execution) { e.ID = "4/2" }, needBackend: true, field: "execution.id"},
		{name: "negative id", mutate: func(e *Execution) { e.ID = "-7" }, needBackend: true, field: "execution.id"},
		{name: "id too long", mutate: func(e *Execution) { e.ID = ID(strings.Repeat("1", 64)) }, field: "execution.id"},
		{name: "service name with backquote", mutate: func(e *Execution) { e.Services[0].Name = "jupyter`0" }, needBackend: true, field: "execution.services[0].name"},
		{name: "service name with slash", mutate: func(e *Execution) { e.Services[0].Name = "jupyter/0" }, needBackend: true, field: "execution.services[0].name"},
		{name: "service name empty", mutate: func(e *Execution) { e.Services[0].Name = "" }, field: "execution.services[0].name"},
		{name: "second service name bad", mutate: func(e *Execution) { e.Services[1].Name = "worker 0" }, field: "execution.services[1].name"},
		{name: "duplicate service name", mutate: func(e *Execution) { e.Services[1].Name = "jupyter0" }, field: "execution.services[1].name"},
		{name: "port number missing", mutate: func(e *Execution) { e.Services[0].Ports[1].PortNumber = 0 }, needBackend: true, field: "execution.services[0].ports[1].port_number", message: "required: 1-65535"},
		{name: "port number 70000", mutate: func(e *Execution) { e.Services[0].Ports[1].PortNumber = 70000 }, needBackend: true, field: "execution.services[0].ports[1].port_number", message: "must be 1-65535"},
		{name: "port number -1", mutate: func(e *Execution) { e.Services[0].Ports[1].PortNumber = -1 }, needBackend: true, field: "execution.services[0].ports[1].port_number", message: "must be 1-65535"},
		{name: "port number 65535", mutate: func(e *Execution) { e.Services[0].Ports[1].PortNumber = 65535 }, needBackend: true},
		{name: "non-proxied port number 0", mutate: func(e *Execution) { e.Services[0].Ports[2].PortNumber = 0 }, field: "execution.services[0].ports[2].port_number"},
		{name: "external_ip missing on start", mutate: func(e *Execution) { e.Services[0].Ports[0].ExternalIP = "" }, needBackend: true, field: "execution.services[0].ports[0].external_ip"},
		{name: "external_ip missing on prepare", mutate: func(e *Execution) { e.Services[0].Ports[0].ExternalIP = "" }, needBackend: false},
		{name: "external_ip missing on non-proxied port", mutate: func(e *Execution) { e.Services[0].Ports[2].ExternalIP = "" }, needBackend: true},
		{name: "external_ip DNS name", mutate: func(e *Execution) { e.Services[0].Ports[0].ExternalIP = "Node1.Example.com" }, needBackend: true},
		{name: "external_ip IPv6", mutate: func(e *Execution) { e.Services[0].Ports[0].ExternalIP = "fd00::1" }, needBackend: true},
		{name: "external_ip injection", mutate: func(e *Execution) { e.Services[0].Ports[0].ExternalIP = "10.1.2.3/x`" }, needBackend: true, field: "execution.services[0].ports[0].external_ip"},
		{name: "external_ip with port", mutate: func(e *Execution) { e.Services[0].Ports[0].ExternalIP = "10.1.2.3:80" }, needBackend: true, field: "execution.services[0].ports[0].external_ip"},
		{name: "external_port missing on start", mutate: func(e *Execution) { e.Services[0].Ports[1].ExternalPort = 0 }, needBackend: true, field: "execution.services[0].ports[1].external_port", message: "required to start a proxied port"},
		{name: "external_port 70000 on start", mutate: func(e *Execution) { e.Services[0].Ports[1].ExternalPort = 70000 }, needBackend: true, field: "execution.services[0].ports[1].external_port", message: "must be 1-65535"},
		{name: "external_port 0 on prepare", mutate: func(e *Execution) { e.Services[0].Ports[1].ExternalPort = 0 }, needBackend: false},
		{name: "duplicate proxied port", mutate: func(e *Execution) { e.Services[0].Ports[1].PortNumber = 8888 }, needBackend: true, field: "execution.services[0].ports[1].port_number"},
		{name: "duplicate proxied port on prepare", mutate: func(e *Execution) { e.Services[0].Ports[1].PortNumber = 8888 }, field: "execution.services[0].ports[1].port_number"},
		{name: "same proxied port in two services", mutate: func(e *Execution) {
			e.Services[1].Ports = append(e.Services[1].Ports, e.Services[0].Ports[0])
		}, needBackend: true},
		{name: "non-proxied port then proxied port with same number", mutate: func(e *Execution) {
			e.Services[0].Ports[2].PortNumber = 4040
			e.Services[0].Ports[0], e.Services[0].Ports[2] = e.Services[0].Ports[2], e.Services[0].Ports[0]
		}, needBackend: true},
		{name: "proxied port then non-proxied port with same number", mutate: func(e *Execution) { e.Services[0].Ports[2].PortNumber = 8888 }, needBackend: true},
		{name: "udp and proxy", mutate: func(e *Execution) { e.Services[0].Ports[1].Protocol = "udp" }, needBackend: true, field: "execution.services[0].ports[1].protocol"},
		{name: "udp without proxy", mutate: func(e *Execution) { e.Services[0].Ports[2].Protocol = "udp" }, needBackend: true},
		{name: "unknown protocol", mutate: func(e *Execution) { e.Services[1].Ports[0].Protocol = "sctp" }, needBackend: true, field: "execution.services[1].ports[0].protocol"},
		{name: "protocol in upper case", mutate: func(e *Execution) { e.Services[0].Ports[0].Protocol = "TCP" }, needBackend: true},
		{name: "protocol in mixed case", mutate: func(e *Execution) { e.Services[1].Ports[0].Protocol = "Udp" }, needBackend: true},
		{name: "upper-case udp and proxy", mutate: func(e *Execution) { e.Services[0].Ports[1].Protocol = "UDP" }, needBackend: true, field: "execution.services[0].ports[1].protocol", message: "cannot be proxied"},
		{name: "unknown protocol in upper case", mutate: func(e *Execution) { e.Services[1].Ports[0].Protocol = "SCTP" }, field: "execution.services[1].ports[0].protocol", message: "must be tcp or udp"},
		{name: "ftp url_template", mutate: func(e *Execution) { e.Services[0].Ports[0].URLTemplate = "ftp://{ip_port}/" }, needBackend: true, field: "execution.services[0].ports[0].url_template"},
		{name: "ftp url_template on prepare", mutate: func(e *Execution) { e.Services[0].Ports[0].URLTemplate = "ftp://{ip_port}/" }, field: "execution.services[0].ports[0].url_template"},
		{name: "ftp url_template on non-proxied port", mutate: func(e *Execution) { e.Services[0].Ports[2].URLTemplate = "ftp://{ip_port}/" }, needBackend: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := validExecution()
			if tt.mutate != nil {
				tt.mutate(&e)
			}
			err := e.Validate("execution", tt.needBackend)
			if tt.field == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tt.field, fe.Field)
			assert.Equal(t, tt.field+": "+fe.Message, err.Error())
			assert.NotEmpty(t, fe.Message)
			assert.Contains(t, fe.Message, tt.message)
		})
	}
}

func TestValidateMessages(t *testing.T) {
	e := validExecution()
	e.Services[0].Ports[1].PortNumber = 8888
	assert.EqualError(t, e.Validate("execution", true), "execution.services[0].ports[1].port_number: duplicate proxied port 8888")

	e = validExecution()
	e.Services[0].Ports[0].URLTemplate = "ftp://x"
	assert.EqualError(t, e.Validate("execution", true), `execution.services[0].ports[0].url_template: scheme "ftp" is not http or https`)

	e = validExecution()
	e.Services[0].Ports[0].ExternalIP = ""
	assert.EqualError(t, e.Validate("execution", true), "execution.services[0].ports[0].external_ip: required to start a proxied port")

	e = validExecution()
	e.Services[0].Ports[0].ExternalIP = "10.1.2.3:80"
	assert.EqualError(t, e.Validate("execution", true), "execution.services[0].ports[0].external_ip: must be an IP address or a DNS name")

	e = validExecution()
	e.Services[0].Ports[1].Protocol = "udp"
	assert.EqualError(t, e.Validate("execution", true), "execution.services[0].ports[1].protocol: udp ports cannot be proxied over HTTP")

	e = validExecution()
	e.Services[1].Ports[0].Protocol = "sctp"
	assert.EqualError(t, e.Validate("execution", true), "execution.services[1].ports[0].protocol: must be tcp or udp")

	e = validExecution()
	e.Services[0].Ports[1].PortNumber = 70000
	assert.EqualError(t, e.Validate("execution", true), "execution.services[0].ports[1].port_number: must be 1-65535")

	e = validExecution()
	e.Services[0].Name = "jupyter`0"
	assert.EqualError(t, e.Validate("execution", true), "execution.services[0].name: must be 1-63 letters, digits or inner '-'")

	e = validExecution()
	e.Services[1].Name = "jupyter0"
	assert.EqualError(t, e.Validate("execution", true), `execution.services[1].name: duplicate service name "jupyter0"`)
}

func TestValidateFieldPrefix(t *testing.T) {
	e := validExecution()
	e.Services[1].Ports[0].PortNumber = 70000
	var fe *FieldError
	require.ErrorAs(t, e.Validate("executions[3]", true), &fe)
	assert.Equal(t, "executions[3].services[1].ports[0].port_number", fe.Field)

	e = validExecution()
	e.ID = ""
	require.ErrorAs(t, e.Validate("executions[3]", true), &fe)
	assert.Equal(t, "executions[3].id", fe.Field)
}

func TestValidateID(t *testing.T) {
	tests := []struct {
		id      ID
		wantErr string
	}{
		{"42", ""},
		{"abc-1", ""},
		{"", "id: required"},
		{"a/b", "id: must be 1-63 letters, digits or inner '-'"},
		{"a.b", "id: must be 1-63 letters, digits or inner '-'"},
		{"-1", "id: must be 1-63 letters, digits or inner '-'"},
	}
	for _, tt := range tests {
		t.Run(string(tt.id), func(t *testing.T) {
			err := ValidateID(tt.id, "id")
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.EqualError(t, err, tt.wantErr)
		})
	}
}

func TestPortScheme(t *testing.T) {
	tests := []struct {
		template string
		want     string
		wantErr  string
	}{
		{"", "http", ""},
		{"http://{ip_port}{proxy_path}", "http", ""},
		{"https://{ip_port}{proxy_path}", "https", ""},
		{"HTTPS://{ip_port}/", "https", ""},
		{"Http://{ip_port}/", "http", ""},
		{"ws://{ip_port}/", "http", ""},
		{"wss://{ip_port}/", "https", ""},
		{"{ip_port}{proxy_path}", "http", ""},
		{"ftp://{ip_port}/", "", `scheme "ftp" is not http or https`},
		{"ftp://", "", `scheme "ftp" is not http or https`},
		{"://{ip_port}", "", `scheme "" is not http or https`},
	}
	for _, tt := range tests {
		t.Run(tt.template, func(t *testing.T) {
			got, err := Port{URLTemplate: tt.template}.Scheme()
			if tt.wantErr != "" {
				assert.EqualError(t, err, tt.wantErr)
				assert.Equal(t, "", got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestPortBackend(t *testing.T) {
	tests := []struct {
		port Port
		want string
	}{
		{Port{ExternalIP: "10.1.2.3", ExternalPort: 32768}, "http://10.1.2.3:32768"},
		{Port{URLTemplate: "https://{ip_port}/", ExternalIP: "10.1.2.3", ExternalPort: 443}, "https://10.1.2.3:443"},
		{Port{ExternalIP: "Node1.Example.COM", ExternalPort: 8080}, "http://node1.example.com:8080"},
		{Port{ExternalIP: "fd00::1", ExternalPort: 8080}, "http://[fd00::1]:8080"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			got, err := tt.port.Backend()
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.NoError(t, kvschema.ValidateBackend(got))
		})
	}
	_, err := Port{URLTemplate: "ftp://x", ExternalIP: "10.1.2.3", ExternalPort: 1}.Backend()
	assert.Error(t, err)
}

func pathSettings() Settings {
	return Settings{BasePath: "/zoe/proxy", Routing: RoutingPath, EntryPoints: []string{"web"}}
}

func TestRoutesPathMode(t *testing.T) {
	d := testDeriver(t)
	e := Execution{
		ID: "42",
		Services: []Service{
			{Name: "zeppelin0", Ports: []Port{
				{PortNumber: 8080, Proxy: true, ExternalIP: "10.1.2.4", ExternalPort: 31000},
			}},
			{Name: "jupyter0", Ports: []Port{
				{PortNumber: 8888, Proxy: true, URLTemplate: "http://{ip_port}{proxy_path}", ExternalIP: "10.1.2.3", ExternalPort: 32768},
				{PortNumber: 22},
				{PortNumber: 4040, Proxy: true, StripPrefix: true, URLTemplate: "https://{ip_port}/", ExternalIP: "10.1.2.3", ExternalPort: 32769},
			}},
		},
	}
	kJ8888 := d.Key("42", "jupyter0", 8888)
	kJ4040 := d.Key("42", "jupyter0", 4040)
	kZ8080 := d.Key("42", "zeppelin0", 8080)
	require.Equal(t, "356285bbd155c04b584518c87bb81a7ea500f245c3ddd88fb560519627422418", kJ8888)

	want := []state.Route{
		{
			ExecutionID: "42", Service: "jupyter0", Port: 4040, Key: kJ4040,
			Path: "/zoe/proxy/" + kJ4040,
			Traefik: kvschema.Route{
				Rule:        "Path(`/zoe/proxy/" + kJ4040 + "`) || PathPrefix(`/zoe/proxy/" + kJ4040 + "/`)",
				Backend:     "https://10.1.2.3:32769",
				EntryPoints: []string{"web"},
				StripPrefix: "/zoe/proxy/" + kJ4040,
			},
		},
		{
			ExecutionID: "42", Service: "jupyter0", Port: 8888, Key: kJ8888,
			Path: "/zoe/proxy/356285bbd155c04b584518c87bb81a7ea500f245c3ddd88fb560519627422418",
			Traefik: kvschema.Route{
				Rule:        "Path(`/zoe/proxy/356285bbd155c04b584518c87bb81a7ea500f245c3ddd88fb560519627422418`) || PathPrefix(`/zoe/proxy/356285bbd155c04b584518c87bb81a7ea500f245c3ddd88fb560519627422418/`)",
				Backend:     "http://10.1.2.3:32768",
				EntryPoints: []string{"web"},
			},
		},
		{
			ExecutionID: "42", Service: "zeppelin0", Port: 8080, Key: kZ8080,
			Path: "/zoe/proxy/" + kZ8080,
			Traefik: kvschema.Route{
				Rule:        "Path(`/zoe/proxy/" + kZ8080 + "`) || PathPrefix(`/zoe/proxy/" + kZ8080 + "/`)",
				Backend:     "http://10.1.2.4:31000",
				EntryPoints: []string{"web"},
			},
		},
	}

	got, err := Routes(&e, pathSettings(), d, true)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	for _, r := range got {
		assert.Equal(t, "", r.Traefik.Name, "name is given at creation")
		assert.Equal(t, "", r.Host)
		assert.Nil(t, r.Traefik.TLS)
	}

	// Prepare: same routes, no backends.
	prepared, err := Routes(&e, pathSettings(), d, false)
	require.NoError(t, err)
	require.Len(t, prepared, 3)
	for i := range want {
		w := want[i]
		w.Traefik.Backend = ""
		assert.Equal(t, w, prepared[i])
	}

	// Prepare does not need where the ports run.
	for i := range e.Services {
		for j := range e.Services[i].Ports {
			e.Services[i].Ports[j].ExternalIP = ""
			e.Services[i].Ports[j].ExternalPort = 0
		}
	}
	preparedBare, err := Routes(&e, pathSettings(), d, false)
	require.NoError(t, err)
	assert.Equal(t, prepared, preparedBare)
	_, err = Routes(&e, pathSettings(), d, true)
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "execution.services[0].ports[0].external_ip", fe.Field)
}

func TestRoutesPathModeEmptyBase(t *testing.T) {
	d := testDeriver(t)
	e := validExecution()
	s := pathSettings()
	s.BasePath = ""
	s.EntryPoints = nil
	got, err := Routes(&e, s, d, true)
	require.NoError(t, err)
	require.Len(t, got, 2)
	k := d.Key("42", "jupyter0", 4040)
	assert.Equal(t, "/"+k, got[0].Path)
	assert.Equal(t, "Path(`/"+k+"`) || PathPrefix(`/"+k+"/`)", got[0].Traefik.Rule)
	assert.Nil(t, got[0].Traefik.EntryPoints)
}

func TestRoutesOnlyProxied(t *testing.T) {
	d := testDeriver(t)
	e := Execution{ID: "42", Services: []Service{
		{Name: "jupyter0", Ports: []Port{{PortNumber: 22}, {PortNumber: 53, Protocol: "udp"}}},
	}}
	got, err := Routes(&e, pathSettings(), d, true)
	require.NoError(t, err)
	assert.Empty(t, got)
}

func TestRoutesHostMode(t *testing.T) {
	d := testDeriver(t)
	e := validExecution()
	e.Services[0].Ports[1].StripPrefix = true // ignored in host mode
	s := Settings{
		BasePath: "/zoe/proxy", Routing: RoutingHost, ProxyDomain: "proxy.example.com",
		EntryPoints: []string{"websecure"}, TLS: true, CertResolver: "le",
	}
	got, err := Routes(&e, s, d, true)
	require.NoError(t, err)
	// Two proxied ports of one service: one host per port.
	const host4040 = "jupyter0-4040-42-zoe-prod.proxy.example.com"
	const host = "jupyter0-8888-42-zoe-prod.proxy.example.com"
	want := []state.Route{
		{
			ExecutionID: "42", Service: "jupyter0", Port: 4040, Key: d.Key("42", "jupyter0", 4040),
			Path: "/", Host: host4040,
			Traefik: kvschema.Route{
				Rule: "Host(`" + host4040 + "`)", Backend: "http://10.1.2.3:32769",
				EntryPoints: []string{"websecure"}, TLS: &kvschema.RouterTLSConfig{CertResolver: "le"},
			},
		},
		{
			ExecutionID: "42", Service: "jupyter0", Port: 8888, Key: d.Key("42", "jupyter0", 8888),
			Path: "/", Host: host,
			Traefik: kvschema.Route{
				Rule: "Host(`" + host + "`)", Backend: "http://10.1.2.3:32768",
				EntryPoints: []string{"websecure"}, TLS: &kvschema.RouterTLSConfig{CertResolver: "le"},
			},
		},
	}
	assert.Equal(t, want, got)
}

func TestRoutesTLS(t *testing.T) {
	d := testDeriver(t)
	tests := []struct {
		name         string
		tls          bool
		certResolver string
		want         *kvschema.RouterTLSConfig
	}{
		{"no TLS", false, "", nil},
		{"TLS without resolver", true, "", &kvschema.RouterTLSConfig{}},
		{"TLS with resolver", true, "le", &kvschema.RouterTLSConfig{CertResolver: "le"}},
		{"resolver implies TLS", false, "le", &kvschema.RouterTLSConfig{CertResolver: "le"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := validExecution()
			s := pathSettings()
			s.TLS, s.CertResolver = tt.tls, tt.certResolver
			got, err := Routes(&e, s, d, true)
			require.NoError(t, err)
			require.Len(t, got, 2)
			for _, r := range got {
				assert.Equal(t, tt.want, r.Traefik.TLS)
			}
		})
	}
}

func TestRoutesHostModeSinglePortAndCollisions(t *testing.T) {
	d := testDeriver(t)
	s := Settings{Routing: RoutingHost, ProxyDomain: "apps.test"}
	one := Execution{ID: "7", Services: []Service{{Name: "nb0", Ports: []Port{
		{PortNumber: 8888, Proxy: true, ExternalIP: "10.0.0.1", ExternalPort: 1},
		{PortNumber: 22, ExternalIP: "10.0.0.1", ExternalPort: 2},
	}}}}
	got, err := Routes(&one, s, d, true)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "nb0-7-zoe-prod.apps.test", got[0].Host, "one proxied port: Zoe's naming unchanged")

	clash := Execution{ID: "7", Services: []Service{
		{Name: "svc", Ports: []Port{
			{PortNumber: 8888, Proxy: true, ExternalIP: "10.0.0.1", ExternalPort: 1},
			{PortNumber: 9999, Proxy: true, ExternalIP: "10.0.0.1", ExternalPort: 2},
		}},
		{Name: "svc-8888", Ports: []Port{{PortNumber: 80, Proxy: true, ExternalIP: "10.0.0.1", ExternalPort: 3}}},
	}}
	_, err = Routes(&clash, s, d, true)
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "execution.services[1].ports[0]", fe.Field)
	assert.Contains(t, fe.Message, "svc-8888-7-zoe-prod.apps.test")

	hyphen := one
	hyphen.ID = "7-1"
	_, err = Routes(&hyphen, s, d, true)
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "execution.id", fe.Field, "the id is what cannot become a host name")
	assert.Contains(t, fe.Message, `execution id "7-1" must not contain '-' in host routing`)

	// Host names ignore case: "ABC" would take the host of a running "abc".
	upper := one
	upper.ID = "ABC"
	_, err = Routes(&upper, s, d, false)
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "execution.id", fe.Field)
	assert.Contains(t, fe.Message, `execution id "ABC" must be lower case in host routing`)
	upperService := one
	upperService.Services = []Service{{Name: "other0", Ports: one.Services[0].Ports}, {Name: "Nb0", Ports: one.Services[0].Ports}}
	_, err = RoutesAt(&upperService, Path("executions").Index(3), s, d, true)
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "executions[3].services[1].name", fe.Field)
	assert.Contains(t, fe.Message, `service name "Nb0" must be lower case in host routing`)
	// In path routing the key tells them apart: both are accepted.
	pathRoutes, err := Routes(&upper, pathSettings(), d, true)
	require.NoError(t, err)
	lowerRoutes, err := Routes(&Execution{ID: "abc", Services: one.Services}, pathSettings(), d, true)
	require.NoError(t, err)
	assert.NotEqual(t, pathRoutes[0].Path, lowerRoutes[0].Path)

	// The field is named from where the execution sits in the request.
	_, err = RoutesAt(&hyphen, Path("executions").Index(1), s, d, true)
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "executions[1].id", fe.Field)
	long := one
	long.Services = []Service{{Name: strings.Repeat("j", 60), Ports: one.Services[0].Ports}}
	_, err = RoutesAt(&long, Path("executions").Index(2), s, d, true)
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "executions[2].services[0].ports[0]", fe.Field)
}

func TestRoutesHostModeErrorNamesPort(t *testing.T) {
	d := testDeriver(t)
	e := validExecution()
	e.Services[0].Name = strings.Repeat("j", 60) // label longer than 63 with "-42-zoe-prod"
	s := Settings{Routing: RoutingHost, ProxyDomain: "proxy.example.com"}
	_, err := Routes(&e, s, d, true)
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "execution.services[0].ports[0]", fe.Field)
	assert.True(t, errors.Is(err, fe))
}

func TestRoutesValidationError(t *testing.T) {
	d := testDeriver(t)
	e := validExecution()
	e.Services[0].Ports[0].Protocol = "udp"
	_, err := Routes(&e, pathSettings(), d, true)
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "execution.services[0].ports[0].protocol", fe.Field)
}

func TestSettingsValidate(t *testing.T) {
	tests := []struct {
		name    string
		s       Settings
		wantErr string
	}{
		{"path", Settings{BasePath: "/zoe/proxy", Routing: RoutingPath}, ""},
		{"path with entry points and TLS", Settings{Routing: RoutingPath, EntryPoints: []string{"web", "websecure"}, TLS: true, CertResolver: "le"}, ""},
		{"path ignores proxy domain", Settings{Routing: RoutingPath, ProxyDomain: "NOT VALID"}, ""},
		{"host", Settings{Routing: RoutingHost, ProxyDomain: "proxy.example.com"}, ""},
		{"host without domain", Settings{Routing: RoutingHost}, "routing host needs a proxy domain"},
		{"host with uppercase domain", Settings{Routing: RoutingHost, ProxyDomain: "Proxy.Example.com"}, "proxy domain: "},
		{"host with bad domain", Settings{Routing: RoutingHost, ProxyDomain: "proxy example.com"}, "proxy domain: "},
		{"host with rule injection", Settings{Routing: RoutingHost, ProxyDomain: "x.com`) || Host(`y.com"}, "proxy domain: "},
		{"empty routing", Settings{}, `routing must be "path" or "host", not ""`},
		{"unknown routing", Settings{Routing: "PATH"}, `routing must be "path" or "host", not "PATH"`},
		{"bad entry point", Settings{Routing: RoutingPath, EntryPoints: []string{"web", "web secure"}}, "entrypoints: "},
		{"empty entry point", Settings{Routing: RoutingPath, EntryPoints: []string{""}}, "entrypoints: "},
		{"bad cert resolver", Settings{Routing: RoutingPath, CertResolver: "le/x"}, "cert resolver: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.Validate()
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), tt.wantErr), "error %q should start with %q", err, tt.wantErr)
		})
	}
}

func TestRouterName(t *testing.T) {
	const key = "356285bbd155c04b584518c87bb81a7ea500f245c3ddd88fb560519627422418"
	tests := []struct {
		revision int64
		want     string
	}{
		{0, "zsc-356285bbd155c04b-0"},
		{42, "zsc-356285bbd155c04b-42"},
		{9223372036854775807, "zsc-356285bbd155c04b-9223372036854775807"},
	}
	for _, tt := range tests {
		got := RouterName(key, tt.revision)
		assert.Equal(t, tt.want, got)
		assert.NoError(t, kvschema.ValidateName(got), "usable as a znode and Traefik name")
		assert.True(t, kvschema.IgnoredByTraefik(got) == kvschema.IgnoredByTraefik("zsc-"))
	}
	assert.NotEqual(t, RouterName(key, 1), RouterName(key, 2), "a revision never reuses a name")
}

func TestEnvName(t *testing.T) {
	assert.Equal(t, "REVERSE_PROXY_PATH_8888", EnvName(8888))
	assert.Equal(t, "REVERSE_PROXY_PATH_1", EnvName(1))
}

func TestStaticRoute(t *testing.T) {
	require.Greater(t, StaticRoutePriority, kvschema.MaxValueLength, "above any rule's length")
	require.LessOrEqual(t, StaticRoutePriority, kvschema.MaxPriority)
	pathMode := Settings{BasePath: "/zoe/proxy", Routing: RoutingPath, EntryPoints: []string{"web"}}
	hostMode := Settings{BasePath: "/zoe/proxy", Routing: RoutingHost, ProxyDomain: "apps.test"}
	tests := []struct {
		name     string
		path     string
		settings Settings
		wantRule string
		// wantPriority: first when no proxied path can match the rule,
		// last when an application's host can have the path.
		wantPriority int
		wantErr      bool
	}{
		{"proxied paths below the UI are kept out", "/zoe", pathMode, "(Path(`/zoe`) || PathPrefix(`/zoe/`)) && !PathPrefix(`/zoe/proxy/`)", StaticRoutePriority, false},
		{"proxied paths elsewhere", "/zoe", Settings{BasePath: "/proxy", Routing: RoutingPath}, "Path(`/zoe`) || PathPrefix(`/zoe/`)", StaticRoutePriority, false},
		{"a sibling prefix is not below", "/zoe", Settings{BasePath: "/zoey/proxy", Routing: RoutingPath}, "Path(`/zoe`) || PathPrefix(`/zoe/`)", StaticRoutePriority, false},
		{"below the proxied paths' base: Traefik's order", "/zoe/proxy/ui", pathMode, "Path(`/zoe/proxy/ui`) || PathPrefix(`/zoe/proxy/ui/`)", 0, false},
		{"host routing: apps' hosts have the path too, last", "/zoe", hostMode, "Path(`/zoe`) || PathPrefix(`/zoe/`)", StaticRouteLastPriority, false},
		{"the proxied paths' own base", "/zoe/proxy", pathMode, "", 0, true},
		{"an invalid path", "/zoe`)", pathMode, "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := StaticRoute("zoe-ui", tt.path, "http://10.0.0.9:5001", tt.settings)
			if tt.wantErr {
				require.ErrorIs(t, err, kvschema.ErrInvalid)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "zsc-static-zoe-ui", r.Name)
			assert.Equal(t, tt.wantRule, r.Rule)
			assert.Equal(t, tt.wantPriority, r.Priority)
			assert.Equal(t, "http://10.0.0.9:5001", r.Backend)
			assert.Equal(t, tt.settings.EntryPoints, r.EntryPoints)
		})
	}
}

func TestPath(t *testing.T) {
	tests := []struct {
		path Path
		want string
	}{
		{Path("").Key("execution"), "execution"},
		{Path("execution").Key("id"), "execution.id"},
		{Path("executions").Index(1).Key("id"), "executions[1].id"},
		{Path("execution").Key("services").Index(0).Key("ports").Index(12).Key("port_number"), "execution.services[0].ports[12].port_number"},
		{Path("").Index(3), "[3]"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, string(tt.path))
	}
	err := Path("executions").Index(1).Key("id").Errorf("duplicate execution id %q", "7")
	assert.Equal(t, &FieldError{Field: "executions[1].id", Message: `duplicate execution id "7"`}, err)
	assert.EqualError(t, err, `executions[1].id: duplicate execution id "7"`)
}
