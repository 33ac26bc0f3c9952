package mirror

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
)

// fragment is one route's part of the body, its router, service and
// middleware each encoded as JSON once, when the route is written: a new
// revision re-encodes only the routes it changed, and rendering a body is
// then a sort of the names and a copy (at 10,000 routes, encoding the
// whole document each revision cost 23 ms and 20 MB of garbage).
type fragment struct {
	router, service []byte
	// middleware is the strip-prefix middleware named middlewareName;
	// nil for a route without one.
	middlewareName string
	middleware     []byte
}

// encodeFragment encodes r's configuration as Configuration would put it
// into the document.
func encodeFragment(r kvschema.Route) (fragment, error) {
	http := r.Configuration().HTTP
	var f fragment
	var err error
	if f.router, err = json.Marshal(http.Routers[r.Name]); err != nil {
		return fragment{}, fmt.Errorf("route %s: %w", r.Name, err)
	}
	if f.service, err = json.Marshal(http.Services[r.Name]); err != nil {
		return fragment{}, fmt.Errorf("route %s: %w", r.Name, err)
	}
	for name, m := range http.Middlewares {
		if f.middleware, err = json.Marshal(m); err != nil {
			return fragment{}, fmt.Errorf("route %s: %w", r.Name, err)
		}
		f.middlewareName = name
	}
	return f, nil
}

// sentinel is the sentinel route's fragment, in every body.
var sentinel = func() fragment {
	f, err := encodeFragment(kvschema.SentinelRoute())
	if err != nil {
		panic(err) // a constant route: only a broken build gets here
	}
	return f
}()

// render writes the document NewDocument(routes, cert) would encode to,
// byte for byte (mirror_test checks it): encoding/json writes a struct's
// fields in order, omits the empty ones and sorts a map's keys; the
// sentinel keeps every map non-empty.
func render(fragments map[string]fragment, cert *state.Certificate) ([]byte, error) {
	names := make([]string, 0, len(fragments)+1)
	for name := range fragments {
		names = append(names, name)
	}
	names = append(names, kvschema.SentinelName)
	slices.Sort(names)
	byName := func(name string) fragment {
		if name == kvschema.SentinelName {
			return sentinel
		}
		return fragments[name]
	}
	type entry struct {
		name string
		json []byte
	}
	var middlewares []entry
	size := 64
	for _, name := range names {
		f := byName(name)
		size += 2*len(name) + len(f.router) + len(f.service) + 8
		if f.middleware != nil {
			middlewares = append(middlewares, entry{f.middlewareName, f.middleware})
			size += len(f.middlewareName) + len(f.middleware) + 4
		}
	}
	// Middleware names are their route's name plus a suffix, so their
	// order can differ from the routes'.
	slices.SortFunc(middlewares, func(a, b entry) int { return strings.Compare(a.name, b.name) })

	buf := bytes.NewBuffer(make([]byte, 0, size))
	object := func(key string, n int, at func(i int) (string, []byte)) error {
		buf.WriteString(`"` + key + `":{`)
		for i := range n {
			if i > 0 {
				buf.WriteByte(',')
			}
			name, value := at(i)
			if err := writeKey(buf, name); err != nil {
				return err
			}
			buf.WriteByte(':')
			buf.Write(value)
		}
		buf.WriteByte('}')
		return nil
	}
	buf.WriteString(`{"http":{`)
	if err := object("routers", len(names), func(i int) (string, []byte) { return names[i], byName(names[i]).router }); err != nil {
		return nil, err
	}
	buf.WriteByte(',')
	if err := object("services", len(names), func(i int) (string, []byte) { return names[i], byName(names[i]).service }); err != nil {
		return nil, err
	}
	buf.WriteByte(',')
	if err := object("middlewares", len(middlewares), func(i int) (string, []byte) { return middlewares[i].name, middlewares[i].json }); err != nil {
		return nil, err
	}
	buf.WriteByte('}')
	if cert != nil {
		tls, err := json.Marshal(NewDocument(nil, cert).TLS)
		if err != nil {
			return nil, err
		}
		buf.WriteString(`,"tls":`)
		buf.Write(tls)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// writeKey writes name as a JSON string. Router and middleware names are
// validated kvschema names, which encoding/json writes as they are; any
// other is left to encoding/json.
func writeKey(buf *bytes.Buffer, name string) error {
	for i := range len(name) {
		if c := name[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			quoted, err := json.Marshal(name)
			buf.Write(quoted)
			return err
		}
	}
	buf.WriteByte('"')
	buf.WriteString(name)
	buf.WriteByte('"')
	return nil
}
