package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	httpmuxer "github.com/traefik/traefik/v3/pkg/muxer/http"
)

// route answers 200 for the paths one rule matches and Traefik's 404
// otherwise, through Traefik's own muxer.
func route(t *testing.T, rule string) http.Handler {
	t.Helper()
	parser, err := httpmuxer.NewSyntaxParser()
	if err != nil {
		t.Fatal(err)
	}
	m := httpmuxer.NewMuxer(parser)
	ok := http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) { rw.WriteHeader(http.StatusOK) })
	if err := m.AddRoute(rule, "", httpmuxer.GetRulePriority(rule), ok); err != nil {
		t.Fatal(err)
	}
	return m
}

func status(h http.Handler, target string) int {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec.Code
}

// equivalenceTable is, for a rule path p, request targets and whether a
// whole-segment route for p must serve them.
func equivalenceTable(p string) []struct {
	target string
	match  bool
} {
	last := p[strings.LastIndex(p, "/")+1:]
	parent := strings.TrimSuffix(p, last)
	table := []struct {
		target string
		match  bool
	}{
		{p, true},
		{p + "/", true},
		{p + "/api/kernels/1", true},
		{p + "?token=x", true},
		{p + "/a%0Ab", true}, // a newline below p
		{p + "/a%2Fb", true}, // an encoded slash below p
		{parent + "%" + fmt.Sprintf("%02X", last[0]) + last[1:], true}, // an unreserved character encoded
		{p + "//", true},
		{p + "/../other", true}, // the muxer sees the path as sent; the entry point cleans it before
		{p + "x", false},
		{p + "0", false}, // p's key is a prefix of a longer segment
		{p + "0/", false},
		{p + ".", false},
		{p + "./", false},
		{p + "..", false},
		{p + "%2E", false}, // "." encoded
		{p + "%2F", false}, // "/" encoded is not a segment end
		{p + "%2Fa", false},
		{p + "%0A", false}, // "$" must not match before a final newline
		{p + "%20", false},
		{p + "~", false},
		{p + "-", false},
		{strings.ToUpper(p), false},
		{p[:len(p)-1], false},
		{p[:len(p)-1] + "/", false},
		{parent, false},
		{parent + "other", false},
		{"/", false},
		{"/x" + p, false},
		{"/" + p, false},
	}
	if strings.Contains(p, ".") { // "." is literal, not any character
		table = append(table, struct {
			target string
			match  bool
		}{strings.Replace(p, ".", "X", 1), false})
	}
	return table
}

func TestShapesMatchTheSameRequests(t *testing.T) {
	paths := []string{
		keyPath(0),
		"/zoe/a.b~c-d_e", // characters a regexp must quote ("." matches any character)
		"/a",
	}
	for _, p := range paths {
		for _, c := range equivalenceTable(p) {
			for _, s := range shapes {
				want := http.StatusNotFound
				if c.match {
					want = http.StatusOK
				}
				if got := status(route(t, s.rule(p)), c.target); got != want {
					t.Errorf("%s %q: %s answered %d, want %d", s.name, s.rule(p), c.target, got, want)
				}
			}
		}
	}
}

// TestTableTellsShapesApart makes sure the table can fail: near misses of
// the whole-segment rule each differ from it on some target.
func TestTableTellsShapesApart(t *testing.T) {
	nearMisses := map[string]func(p string) string{
		"prefix without slash": func(p string) string { return fmt.Sprintf("PathPrefix(`%s`)", p) },
		"path only":            func(p string) string { return fmt.Sprintf("Path(`%s`)", p) },
		"prefix with slash":    func(p string) string { return fmt.Sprintf("PathPrefix(`%s/`)", p) },
		"regexp with .*":       func(p string) string { return fmt.Sprintf("PathRegexp(`^%s(/.*)?$`)", regexp.QuoteMeta(p)) },
		"regexp unquoted":      func(p string) string { return fmt.Sprintf("PathRegexp(`^%s(/|$)`)", p) },
		"regexp unanchored":    func(p string) string { return fmt.Sprintf("PathRegexp(`%s(/|$)`)", regexp.QuoteMeta(p)) },
	}
	for name, rule := range nearMisses {
		differs := false
		for _, p := range []string{keyPath(0), "/zoe/a.b~c-d_e"} {
			h := route(t, rule(p))
			for _, c := range equivalenceTable(p) {
				if (status(h, c.target) == http.StatusOK) != c.match {
					differs = true
				}
			}
		}
		if !differs {
			t.Errorf("%s: the table does not tell it from a whole-segment rule", name)
		}
	}
}
