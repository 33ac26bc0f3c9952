package api

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/execution"
)

func TestDecodeStrict(t *testing.T) {
	const svc = `"services":[{"name":"a","ports":[{"port_number":1},`
	tests := []struct {
		name    string
		body    string
		sync    bool // decode an ExecutionsRequest instead of a HookRequest
		field   string
		message string
	}{
		// Refused: what a lenient decoder let pass.
		{"unknown top-level field", `{"event":"start","bogus":1}`, false, "bogus", "unknown field"},
		{"misspelt port field", `{"event":"start","execution":{"id":"1",` + svc + `{"port_number":2,"strip_prefx":true}]}]}}`, false,
			"execution.services[0].ports[1].strip_prefx", "unknown field"},
		{"unknown field in a resync", `{"executions":[{"id":"1"},{"id":"2","nmae":"x"}]}`, true, "executions[1].nmae", "unknown field"},
		{"a member name in another case", `{"Event":"start"}`, false, "Event", "unknown field"},
		{"numeric member name is a name, not an index", `{"execution":{"0":1}}`, false, "execution.0", "unknown field"},
		{"repeated top-level key", `{"event":"stop","event":"prepare"}`, false, "event", "given twice"},
		{"repeated nested key", `{"event":"start","execution":{"id":"1",` + svc + `{"port_number":2,"port_number":3}]}]}}`, false,
			"execution.services[0].ports[1].port_number", "given twice"},
		{"repeated key in a resync", `{"executions":[],"executions":[]}`, true, "executions", "given twice"},

		// Type errors name the value's full path.
		{"top-level field", `{"event": 5}`, false, "event", "wrong type: got JSON number"},
		{"nested object", `{"event":"start","execution":{"id":"1","name":7}}`, false, "execution.name", "wrong type: got JSON number"},
		{"an object where a string belongs", `{"event":"start","execution":{"id":"1","name":{"a":1}}}`, false, "execution.name", "wrong type: got JSON object"},
		{"an array where an object belongs", `{"event":"start","execution":[1,2]}`, false, "execution", "wrong type: got JSON array"},
		{"second port of the first service", `{"event":"start","execution":{"id":"1",` + svc + `{"port_number":"8888"}]}]}}`, false,
			"execution.services[0].ports[1].port_number", "wrong type: got JSON string"},
		{"third service, after nested arrays", `{"event":"start","execution":{"id":"1","services":[
			{"name":"a","ports":[{"port_number":1},{"port_number":2}]},
			{"name":"b","ports":[]},
			{"name":"c","ports":[{"proxy":"yes"}]}]}}`, false, "execution.services[2].ports[0].proxy", "wrong type: got JSON string"},
		{"a number where the ports array belongs", `{"event":"start","execution":{"services":[{"ports":3}]}}`, false, "execution.services[0].ports", "wrong type: got JSON number"},
		{"a fraction where an integer belongs", `{"event":"start","execution":{"id":"1",` + svc + `{"port_number":8888.5}]}]}}`, false,
			"execution.services[0].ports[1].port_number", "want an integer, got 8888.5"},
		{"an id that is neither string nor integer", `{"executions":[{"id":"1"},{"id":4.2}]}`, true, "executions[1].id", "got JSON 4.2 (want a string or an integer)"},
		{"an array where the request belongs", `[1]`, false, "body", "wrong type: got JSON array"},

		// The document itself.
		{"malformed", `{"event":"start","execution":{"id":"42",`, false, "body", "malformed JSON"},
		{"trailing data", `{"event":"stop"} {"event":"start"}`, false, "body", "malformed JSON: invalid character '{' after top-level value"},
		{"invalid UTF-8", "{\"event\":\"st\xffop\"}", false, "body", "malformed JSON"},
		{"empty", ``, false, "body", "malformed JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.sync {
				err = DecodeStrict([]byte(tt.body), &ExecutionsRequest{})
			} else {
				err = DecodeStrict([]byte(tt.body), &HookRequest{})
			}
			var fe *execution.FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tt.field, fe.Field, fe.Message)
			assert.Contains(t, fe.Message, tt.message)
		})
	}
}

func TestDecodeStrictAccepts(t *testing.T) {
	var req HookRequest
	require.NoError(t, DecodeStrict([]byte(` {"event":"start","execution":{"id":42,"name":"nb","owner":"alice","services":[{"name":"a","ports":[
		{"name":"Jupyter","port_number":8888,"protocol":"tcp","proxy":true,"url_template":"http://{ip_port}{proxy_path}","external_ip":"10.0.0.1","external_port":32768,"strip_prefix":true}]}]}}
`), &req))
	assert.Equal(t, "start", req.Event)
	assert.Equal(t, execution.ID("42"), req.Execution.ID)
	assert.Equal(t, 32768, req.Execution.Services[0].Ports[0].ExternalPort)
	assert.True(t, req.Execution.Services[0].Ports[0].StripPrefix)

	var sync ExecutionsRequest
	require.NoError(t, DecodeStrict([]byte(`{"executions":[]}`), &sync))
	assert.NotNil(t, sync.Executions)
}
