package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"strings"

	"github.com/traefik/paerser/types"
)

// Redacted replaces a secret's value wherever the configuration is shown.
const Redacted = "REDACTED"

// value is a setting's value as text, with secrets redacted.
func (c Config) value(s Setting) string {
	v := reflect.ValueOf(c).FieldByName(s.Field)
	var text string
	switch x := v.Interface().(type) {
	case string:
		text = x
	case bool:
		text = strconv.FormatBool(x)
	case int:
		text = strconv.Itoa(x)
	case types.Duration:
		text = x.String()
	case []string:
		text = strings.Join(x, ",")
	default:
		text = fmt.Sprint(x)
	}
	if s.Secret && text != "" {
		return Redacted
	}
	return text
}

// String shows every setting as flag=value with secrets redacted.
func (c Config) String() string {
	parts := make([]string, 0, len(table))
	for _, s := range table {
		parts = append(parts, s.Flag+"="+strconv.Quote(c.value(s)))
	}
	return strings.Join(parts, " ")
}

// GoString keeps %#v from printing the fields.
func (c Config) GoString() string { return "config.Config{" + c.String() + "}" }

// Format makes every fmt verb print the redacted form: without it %d or %x
// would print the struct's fields, secrets included.
func (c Config) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = fmt.Fprint(f, c.GoString())
		return
	}
	_, _ = fmt.Fprint(f, c.String())
}

// LogValue logs the settings as a group, secrets redacted.
func (c Config) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, len(table))
	for _, s := range table {
		attrs = append(attrs, slog.String(s.Flag, c.value(s)))
	}
	return slog.GroupValue(attrs...)
}

// MarshalJSON encodes the settings by flag name, secrets redacted.
func (c Config) MarshalJSON() ([]byte, error) {
	m := make(map[string]string, len(table))
	for _, s := range table {
		m[s.Flag] = c.value(s)
	}
	return json.Marshal(m)
}
