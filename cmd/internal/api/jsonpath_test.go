package api

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFieldPath decodes each body into a HookRequest and checks that the
// type error's offset leads to the value's full path.
func TestFieldPath(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"top-level field", `{"event": 5}`, "event"},
		{"nested object", `{"event":"start","execution":{"id":"1","name":7}}`, "execution.name"},
		{"an object where a string belongs", `{"event":"start","execution":{"id":"1","name":{"a":1}}}`, "execution.name"},
		{"an array where an object belongs", `{"event":"start","execution":[1,2]}`, "execution"},
		{"second port of the first service", `{"event":"start","execution":{"id":"1","services":[{"name":"a","ports":[
			{"port_number":1},{"port_number":"8888"}]}]}}`, "execution.services[0].ports[1].port_number"},
		{"third service, after nested arrays", `{"event":"start","execution":{"id":"1","services":[
			{"name":"a","ports":[{"port_number":1},{"port_number":2}]},
			{"name":"b","ports":[]},
			{"name":"c","ports":[{"proxy":"yes"}]}]}}`, "execution.services[2].ports[0].proxy"},
		{"keys that look like paths", `{"event":"start","execution":{"id":"1","x.y":[1,[2]],"services":[{"name":["n"]}]}}`, "execution.services[0].name"},
		{"a number where the ports array belongs", `{"event":"start","execution":{"services":[{"ports":3}]}}`, "execution.services[0].ports"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req HookRequest
			err := json.Unmarshal([]byte(tt.body), &req)
			var typeErr *json.UnmarshalTypeError
			require.True(t, errors.As(err, &typeErr), "want a type error, got %v", err)
			assert.Equal(t, tt.want, fieldPath([]byte(tt.body), typeErr.Offset), "encoding/json says %q at %d", typeErr.Field, typeErr.Offset)
		})
	}
}

func TestFieldPathOutOfRange(t *testing.T) {
	assert.Equal(t, "", fieldPath([]byte(`{"a":1}`), 100))
	assert.Equal(t, "", fieldPath([]byte(`{"a":`), 100), "truncated")
	assert.Equal(t, "", fieldPath(nil, 1))
}
