package api

import (
	"bytes"
	"encoding/json"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/execution"
)

// fieldPath names the JSON value of body that ends at offset, with array
// indexes ("execution.services[0].ports[1].port_number"): encoding/json's
// type errors name the field without them, and a client with many ports
// needs to know which one was wrong. It returns "" when body does not
// reach offset (the caller falls back to encoding/json's name).
func fieldPath(body []byte, offset int64) string {
	type frame struct {
		array     bool
		index     int    // array: index of the next element
		key       string // object: key of the current value
		expectKey bool   // object: the next string is a key
	}
	var stack []frame
	path := func() string {
		var p execution.Path
		for _, f := range stack {
			if f.array {
				p = p.Index(f.index - 1)
			} else {
				p = p.Key(f.key)
			}
		}
		return string(p)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		// A value begins here unless tok is a key or a closing delimiter.
		if n := len(stack); n > 0 {
			top := &stack[n-1]
			if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
				stack = stack[:n-1]
				if dec.InputOffset() >= offset {
					return ""
				}
				continue
			}
			if !top.array && top.expectKey {
				top.key, _ = tok.(string)
				top.expectKey = false
				continue
			}
			if top.array {
				top.index++
			} else {
				top.expectKey = true
			}
		}
		switch tok {
		case json.Delim('{'):
			if dec.InputOffset() >= offset {
				return path()
			}
			stack = append(stack, frame{expectKey: true})
		case json.Delim('['):
			if dec.InputOffset() >= offset {
				return path()
			}
			stack = append(stack, frame{array: true})
		default:
			if dec.InputOffset() >= offset {
				return path()
			}
		}
	}
}
