// Command rebuildcost reproduces, with Traefik's own packages and nothing
// else running, two costs of Traefik v3.6's configuration rebuild that grow
// faster than the number of routers:
//
//  1. decoding an HTTP-provider body: pkg/provider/http decodes it with
//     paerser's file.DecodeContent(body, ".yaml", ...), which unmarshals it
//     with gopkg.in/yaml.v3; that decoder checks every mapping's keys for
//     duplicates pair by pair, so a routers map of N keys costs O(N²);
//  2. building the HTTP muxer: pkg/muxer/http's Muxer.AddRoute appends the
//     route and re-sorts all routes, so adding N routers costs O(N² log N);
//  3. decoding a KV provider's pairs (Redis, ZooKeeper, etcd, Consul):
//     pkg/config/kv's decodeToNode finds each key's parent among its
//     siblings with a linear scan (containsNode, strings.EqualFold), so the
//     pairs of N routers cost O(N²).
//
// The routers have the shape the sidecar writes: a whole-segment path rule,
// one service with one server. For comparison it also times encoding/json
// decoding the same body into the same type. Times are the process's CPU
// time (user + system), which a busy machine inflates less than wall time.
//
//	cd integration/tools/traefik && GOWORK=off go run ./rebuildcost -sizes 1000,5000,10000,20000
//
// With -rules it compares instead rule shapes that match the same requests
// (shapes.go): building the muxer, and routing a hit and a 404 through it.
//
//	cd integration/tools/traefik && GOWORK=off go run ./rebuildcost -rules all -sizes 1000,10000
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kvtools/valkeyrie/store"
	"github.com/traefik/paerser/file"
	"github.com/traefik/traefik/v3/pkg/config/dynamic"
	"github.com/traefik/traefik/v3/pkg/config/kv"
	httpmuxer "github.com/traefik/traefik/v3/pkg/muxer/http"
	"gopkg.in/yaml.v3"
)

func main() {
	sizes := flag.String("sizes", "1000,5000,10000,20000", "router counts")
	rules := flag.String("rules", "", "compare rule shapes instead (comma-separated names, or all): muxer build and routing cost")
	reps := flag.Int("reps", 7, "repetitions per shape and size, with -rules or -static")
	static := flag.Bool("static", false, "time a request to Zoe's UI route among the execution routes instead, at Traefik's derived priority and at the sidecar's")
	flag.Parse()
	if *rules != "" || *static {
		var ns []int
		for _, s := range strings.Split(*sizes, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				fail(err)
			}
			ns = append(ns, n)
		}
		if *static {
			compareStatic(ns, *reps)
		} else {
			compareShapes(splitNames(*rules), ns, *reps)
		}
		return
	}
	fmt.Println("| routers | body | yaml.v3 Unmarshal (map) | file.DecodeContent .yaml (Traefik's HTTP provider) | encoding/json (same type) | Muxer.AddRoute × N | sort once | KV pairs | kv.Decode (KV providers) |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			fail(err)
		}
		body, rules := config(n)
		var m map[string]any
		tYAML := timed(func() error { return yaml.Unmarshal(body, &m) })
		tFile := timed(func() error { return file.DecodeContent(string(body), ".yaml", emptyConfig()) })
		tJSON := timed(func() error { return json.Unmarshal(body, emptyConfig()) })
		tMux, tOnce := muxer(rules)
		pairs := kvPairs(body)
		tKV := timed(func() error { return kv.Decode(pairs, emptyConfig(), "traefik") })
		fmt.Printf("| %d | %.1f MB | %s | %s | %s | %s | %s | %d | %s |\n", n, float64(len(body))/1e6, tYAML, tFile, tJSON, tMux, tOnce, len(pairs), tKV)
	}
}

// config is a body of n routers of the sidecar's shape, and their rules.
func config(n int) ([]byte, []string) {
	routers := map[string]any{}
	services := map[string]any{}
	rules := make([]string, 0, n)
	for i := range n {
		sum := sha256.Sum256([]byte(strconv.Itoa(i)))
		key := hex.EncodeToString(sum[:])
		name := fmt.Sprintf("zsc-%s-%d", key[:16], i+1)
		rule := fmt.Sprintf("Path(`/zoe/proxy/%s`) || PathPrefix(`/zoe/proxy/%s/`)", key, key)
		rules = append(rules, rule)
		routers[name] = map[string]any{"rule": rule, "service": name, "entryPoints": []string{"web"}}
		services[name] = map[string]any{"loadBalancer": map[string]any{"servers": []any{map[string]any{"url": "http://10.0.0.1:8888"}}}}
	}
	body, err := json.Marshal(map[string]any{"http": map[string]any{"routers": routers, "services": services}})
	if err != nil {
		fail(err)
	}
	return body, rules
}

// kvPairs are the body's leaves as a KV provider lists them
// ("traefik/http/routers/<name>/rule", ...), slices indexed ("/0").
func kvPairs(body []byte) []*store.KVPair {
	var tree any
	if err := json.Unmarshal(body, &tree); err != nil {
		fail(err)
	}
	var out []*store.KVPair
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, c := range t {
				walk(prefix+"/"+k, c)
			}
		case []any:
			for i, c := range t {
				walk(prefix+"/"+strconv.Itoa(i), c)
			}
		default:
			out = append(out, &store.KVPair{Key: prefix, Value: []byte(fmt.Sprint(t))})
		}
	}
	walk("traefik", tree)
	return out
}

// emptyConfig is the value Traefik's HTTP provider decodes into.
func emptyConfig() *dynamic.Configuration {
	return &dynamic.Configuration{HTTP: &dynamic.HTTPConfiguration{
		Routers: map[string]*dynamic.Router{}, Services: map[string]*dynamic.Service{}, Middlewares: map[string]*dynamic.Middleware{},
	}}
}

// muxer times adding every rule to a Traefik muxer one by one, as
// Traefik's router manager does, then one more insert into the full muxer:
// about one sort of all routes, i.e. what building it would cost if the
// routes were sorted once at the end instead of after each insert.
func muxer(rules []string) (time.Duration, time.Duration) {
	parser, err := httpmuxer.NewSyntaxParser()
	if err != nil {
		fail(err)
	}
	m := httpmuxer.NewMuxer(parser)
	h := http.NotFoundHandler()
	all := timed(func() error {
		for _, r := range rules {
			if err := m.AddRoute(r, "", httpmuxer.GetRulePriority(r), h); err != nil {
				return err
			}
		}
		return nil
	})
	// One more insert into the full muxer: about what one sort of N
	// routes costs, i.e. what the whole build would cost sorting once.
	start := time.Now()
	if err := m.AddRoute("Path(`/one-more`)", "", httpmuxer.GetRulePriority("Path(`/one-more`)"), h); err != nil {
		fail(err)
	}
	return all, time.Since(start).Round(10 * time.Microsecond)
}

func timed(f func() error) time.Duration {
	start := cpuTime()
	if err := f(); err != nil {
		fail(err)
	}
	return (cpuTime() - start).Round(time.Millisecond)
}

// cpuTime is the process's user and system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		fail(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "rebuildcost:", err)
	os.Exit(1)
}
