package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/harness"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
)

// client is the bench's HTTP client for the sidecar and for probes through
// Traefik: keep-alive (so that a probe costs Traefik one request, not a TCP
// handshake too), no redirects, short timeout.
var client = &http.Client{
	Transport: &http.Transport{Proxy: nil, MaxIdleConns: 256, MaxIdleConnsPerHost: 128, IdleConnTimeout: time.Minute},
	Timeout:   30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

// ---------------------------------------------------------------- sidecar

// hooks posts lifecycle hooks to one sidecar. Every execution has one
// service with one proxied port pointing at the bench's backend, so each
// start creates exactly one route (8 znodes, as in facts 5).
type hooks struct {
	base, token string
	backendIP   string
	backendPort int
}

type hookReply struct {
	Routes []struct {
		Path   string `json:"path"`
		Router string `json:"router"`
	} `json:"routes"`
	// timing is the sidecar's Server-Timing header: phase → milliseconds.
	timing map[string]float64
}

// parseServerTiming reads "name;dur=1.5, other;dur=0.2" (W3C Server-Timing)
// into name → milliseconds; entries without a duration are left out.
func parseServerTiming(header string) map[string]float64 {
	out := map[string]float64{}
	for _, entry := range strings.Split(header, ",") {
		parts := strings.Split(strings.TrimSpace(entry), ";")
		for _, param := range parts[1:] {
			k, v, ok := strings.Cut(strings.TrimSpace(param), "=")
			if !ok || k != "dur" {
				continue
			}
			if ms, err := strconv.ParseFloat(v, 64); err == nil && parts[0] != "" {
				out[parts[0]] = ms
			}
		}
	}
	return out
}

func (h *hooks) body(event, id string) []byte {
	exec := map[string]any{"id": id}
	if event == "start" {
		exec["services"] = []any{map[string]any{
			"name": "app0",
			"ports": []any{map[string]any{
				"name": "http", "port_number": 8888, "protocol": "tcp", "proxy": true,
				"external_ip": h.backendIP, "external_port": h.backendPort,
			}},
		}}
	}
	b, _ := json.Marshal(map[string]any{"event": event, "execution": exec})
	return b
}

// post sends one hook and returns the reply and the response time (request
// sent → whole answer read), which for start and stop is hook → ZooKeeper
// transaction committed: the sidecar answers after its commit.
func (h *hooks) post(ctx context.Context, event, id string) (hookReply, time.Duration, int, error) {
	body := h.body(event, id)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.base+"/v1/hooks", bytes.NewReader(body))
	if err != nil {
		return hookReply{}, 0, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+h.token)
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return hookReply{}, 0, 0, err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err != nil {
		return hookReply{}, took, resp.StatusCode, err
	}
	if resp.StatusCode != http.StatusOK {
		return hookReply{}, took, resp.StatusCode, fmt.Errorf("%s hook %s: %s %s", event, id, resp.Status, strings.TrimSpace(string(data)))
	}
	var r hookReply
	if err := json.Unmarshal(data, &r); err != nil {
		return r, took, resp.StatusCode, err
	}
	r.timing = parseServerTiming(resp.Header.Get("Server-Timing"))
	if event == "start" && len(r.Routes) != 1 {
		return r, took, resp.StatusCode, fmt.Errorf("start hook %s: %d routes, want 1", id, len(r.Routes))
	}
	return r, took, resp.StatusCode, nil
}

// start posts a start hook; it retries 503 (the sidecar's back-pressure).
func (h *hooks) start(ctx context.Context, id string) (hookReply, time.Duration, error) {
	for attempt := 0; ; attempt++ {
		r, took, status, err := h.post(ctx, "start", id)
		if status == http.StatusServiceUnavailable && attempt < 20 {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		return r, took, err
	}
}

// populate starts executions ids concurrently from workers clients and
// returns the route paths in the order of ids.
func (h *hooks) populate(ctx context.Context, ids []string, workers int) ([]string, error) {
	paths := make([]string, len(ids))
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(ids) || ctx.Err() != nil {
					return
				}
				r, _, err := h.start(ctx, ids[i])
				if err != nil {
					errs <- err
					return
				}
				paths[i] = r.Routes[0].Path
			}
		}()
	}
	wg.Wait()
	close(errs)
	return paths, <-errs
}

// metrics scrapes a Prometheus text endpoint into name{labels} → value.
func scrape(ctx context.Context, url string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}

// sidecarCommits is how many ZooKeeper transactions the sidecar committed.
func sidecarCommits(ctx context.Context, s *harness.Sidecar) (float64, error) {
	m, err := scrape(ctx, s.URL()+"/metrics")
	if err != nil {
		return 0, err
	}
	v, ok := m["zk_sidecar_apply_duration_seconds_count"]
	if !ok {
		return 0, errors.New("sidecar /metrics has no zk_sidecar_apply_duration_seconds_count")
	}
	return v, nil
}

// fetchToFile GETs url (no timeout but ctx: a CPU profile takes as long as
// it was asked to) and writes the body to file.
func fetchToFile(ctx context.Context, url, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(file, data, 0o644)
}

// ---------------------------------------------------------------- probes

// status GETs url once and returns the status code.
func status(ctx context.Context, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// pollInterval is the probe period of hook → served measurements; it bounds
// their resolution.
const pollInterval = 10 * time.Millisecond

// ---------------------------------------------------------------- Traefik

// traefikObs watches one Traefik: its debug log (walk starts "List: <root>",
// configurations received, ZooKeeper session trouble), its CPU time, and
// its Prometheus metrics. restart replaces a Traefik whose provider stopped
// watching.
type traefikObs struct {
	name     string
	root     string
	servers  []string
	throttle time.Duration
	// debugAPI serves Go's pprof endpoints on the API entry point.
	debugAPI bool

	mu       sync.Mutex
	t        *harness.Traefik
	logPath  string
	off      int64
	partial  []byte
	events   []logEvent
	lists    int
	configs  int
	errs     []string
	restarts int
	// serviceMissing counts "the service ... does not exist": a route
	// created while Traefik walked the tree (facts 6), harmless.
	serviceMissing int

	stop chan struct{}
	done chan struct{}
}

type logEvent struct {
	kind string // "list", "config", "disturb", "error"
	at   time.Time
	line string
}

func startTraefik(ctx context.Context, name string, servers []string, root string, throttle time.Duration, debugAPI bool) (*traefikObs, error) {
	o := &traefikObs{name: name, root: root, servers: servers, throttle: throttle, debugAPI: debugAPI}
	if err := o.launch(ctx); err != nil {
		return nil, err
	}
	return o, nil
}

func (o *traefikObs) launch(ctx context.Context) error {
	// traefik_config_reloads_total on the API entry point ("traefik").
	args := []string{"--metrics.prometheus=true"}
	if o.debugAPI {
		args = append(args, "--api.debug=true")
	}
	t, err := harness.StartTraefik(ctx, harness.TraefikOptions{
		Endpoints: o.servers,
		RootKey:   o.root,
		Throttle:  o.throttle,
		ExtraArgs: args,
	})
	if err != nil {
		return err
	}
	o.mu.Lock()
	o.t, o.logPath, o.off, o.partial = t, t.LogPath(), 0, nil
	o.stop, o.done = make(chan struct{}), make(chan struct{})
	o.mu.Unlock()
	go o.tail(o.stop, o.done)
	return nil
}

func (o *traefikObs) traefik() *harness.Traefik {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.t
}

func (o *traefikObs) web() string { return o.traefik().WebURL() }

func (o *traefikObs) close() {
	close(o.stop)
	<-o.done
	_ = o.traefik().Close()
}

// restart replaces the Traefik process (same root, new ports): used when
// its ZooKeeper provider stopped reacting, which Traefik v3.6 does not
// recover from by itself after a lost session on an overloaded machine.
func (o *traefikObs) restart(ctx context.Context) error {
	o.close()
	o.mu.Lock()
	o.restarts++
	o.mu.Unlock()
	return o.launch(ctx)
}

// repin replaces the Traefik process with one reading from servers.
func (o *traefikObs) repin(ctx context.Context, servers []string) error {
	o.close()
	o.servers = servers
	return o.launch(ctx)
}

// tail reads new log lines every 5 ms and records events with the time
// they were seen (Traefik's own timestamps have one-second resolution).
func (o *traefikObs) tail(stop, done chan struct{}) {
	defer close(done)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			o.poll()
			return
		case <-tick.C:
		}
		o.poll()
	}
}

func (o *traefikObs) poll() {
	o.mu.Lock()
	defer o.mu.Unlock()
	f, err := os.Open(o.logPath)
	if err != nil {
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() <= o.off {
		return
	}
	buf := make([]byte, st.Size()-o.off)
	n, _ := f.ReadAt(buf, o.off)
	buf = buf[:n]
	o.off += int64(n)
	now := time.Now()
	data := append(o.partial, buf...)
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		o.classify(data[:i], now)
		data = data[i+1:]
	}
	// Only the start of a line is classified, and configuration lines are
	// megabytes long: keep at most the head of an unfinished line.
	if len(data) > 4096 {
		data = data[:4096]
	}
	o.partial = append([]byte(nil), data...)
}

// Log lines that mean Traefik's ZooKeeper session was interrupted (the
// client's own messages, logged by Traefik at debug level) or that its
// provider failed.
var disturbMarks = [][]byte{
	[]byte("session has been expired"),
	[]byte("recv loop terminated"),
	[]byte("failed to connect to"),
	[]byte("Provider error"),
	[]byte("Cannot build the configuration"),
}

func (o *traefikObs) classify(line []byte, now time.Time) {
	head := line
	if len(head) > 400 {
		head = head[:400]
	}
	add := func(kind string) {
		o.events = append(o.events, logEvent{kind: kind, at: now, line: string(head)})
	}
	switch {
	case bytes.HasSuffix(bytes.TrimSpace(line), []byte("> List: "+o.root)):
		o.lists++
		add("list")
	case bytes.Contains(head, []byte("> Configuration received")):
		o.configs++
		add("config")
	default:
		for _, m := range disturbMarks {
			if bytes.Contains(head, m) {
				add("disturb")
				o.errs = append(o.errs, string(head))
				return
			}
		}
		if bytes.Contains(head, []byte("does not exist")) && bytes.Contains(head, []byte("the service")) {
			o.serviceMissing++
			return
		}
		// The API dashboard's assets are not in Traefik's Go module: this
		// error is logged on every reload and means nothing here.
		if (bytes.Contains(head, []byte(" ERR ")) || bytes.Contains(head, []byte(" WRN "))) &&
			!bytes.Contains(head, []byte("Error appending dashboard")) &&
			!bytes.Contains(head, []byte("can reject some encoded characters")) {
			add("error")
			o.errs = append(o.errs, string(head))
		}
	}
}

// counts returns walks started and configurations received so far.
func (o *traefikObs) counts() (lists, configs int) {
	o.poll()
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.lists, o.configs
}

// eventsSince returns the log events seen at or after t.
func (o *traefikObs) eventsSince(t time.Time) []logEvent {
	o.poll()
	o.mu.Lock()
	defer o.mu.Unlock()
	i := sort.Search(len(o.events), func(i int) bool { return !o.events[i].at.Before(t) })
	return append([]logEvent(nil), o.events[i:]...)
}

// lastWalkStart is when the latest "List" was seen (zero if never).
func (o *traefikObs) lastWalkStart() time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := len(o.events) - 1; i >= 0; i-- {
		if o.events[i].kind == "list" {
			return o.events[i].at
		}
	}
	return time.Time{}
}

// disturbedBetween returns the first session or provider trouble Traefik
// logged in [t0, t1], or "".
func (o *traefikObs) disturbedBetween(t0, t1 time.Time) string {
	for _, e := range o.eventsSince(t0) {
		if e.at.After(t1) {
			break
		}
		if e.kind == "disturb" {
			return e.line
		}
	}
	return ""
}

func (o *traefikObs) errorsSoFar() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.errs...)
}

// cpuTicks is the process's user+system CPU time in clock ticks.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which may contain spaces) in parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime/stime", pid)
	}
	return u + st, nil
}

// idleWindow and idleTicks define "Traefik is idle": over idleWindow it used
// at most idleTicks of CPU (1 tick = 10 ms) and started no walk. A walk of
// the tree keeps Traefik busy well above that (measured: 10-40 % of a core).
const (
	idleWindow = 500 * time.Millisecond
	idleTicks  = 1
)

// waitIdle waits until Traefik walks nothing and applies nothing, so that a
// measurement starts from rest and is not queued behind an earlier reload.
func (o *traefikObs) waitIdle(ctx context.Context) error {
	for {
		pid := o.traefik().Pid()
		c0, err := cpuTicks(pid)
		if err != nil {
			return err
		}
		l0, _ := o.counts()
		select {
		case <-ctx.Done():
			return fmt.Errorf("Traefik %s never became idle: %w", o.name, ctx.Err())
		case <-time.After(idleWindow):
		}
		c1, err := cpuTicks(pid)
		if err != nil {
			return err
		}
		l1, _ := o.counts()
		if c1-c0 <= idleTicks && l1 == l0 {
			return nil
		}
	}
}

// errStalled means Traefik stopped reacting to changes: no walk for a long
// time while the change is not served, and Traefik idle.
var errStalled = errors.New("Traefik's ZooKeeper provider stopped reacting to changes")

// stallAfter is how long without a walk start, with the change not served
// and Traefik idle, counts as a lost watch. A walk of the largest baseline
// tree takes longer, but keeps Traefik busy.
const stallAfter = 30 * time.Second

// wait polls path on Traefik's web entry point every pollInterval until it
// answers want and returns when that answer arrived; errStalled when
// Traefik's watch looks lost.
func (o *traefikObs) wait(ctx context.Context, path string, want int, since time.Time) (time.Time, error) {
	var (
		last     int
		lastErr  error
		checked  = time.Now()
		ticks, _ = cpuTicks(o.traefik().Pid())
	)
	for {
		url := o.web() + path
		st, err := status(ctx, url)
		if err == nil && st == want {
			return time.Now(), nil
		}
		last, lastErr = st, err
		if time.Since(checked) >= 2*time.Second {
			now, _ := cpuTicks(o.traefik().Pid())
			active := since
			if w := o.lastWalkStart(); w.After(active) {
				active = w
			}
			if time.Since(active) > stallAfter && now-ticks <= 2 {
				return time.Time{}, fmt.Errorf("%w: %s has not answered %d for %s (last %d, %v)",
					errStalled, path, want, time.Since(since).Round(time.Second), last, lastErr)
			}
			checked, ticks = time.Now(), now
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("GET %s never answered %d: %w (last %d, %v)", path, want, ctx.Err(), last, lastErr)
		case <-time.After(pollInterval):
		}
	}
}

// settle waits until path answers want (the latest write is served) and
// Traefik is idle afterwards, restarting a Traefik whose watch got lost.
func (o *traefikObs) settle(ctx context.Context, path string, want int, progress func(string, ...any)) error {
	since := time.Now()
	for attempt := 0; ; attempt++ {
		_, err := o.wait(ctx, path, want, since)
		if errors.Is(err, errStalled) && attempt < 3 {
			progress("Traefik %s: %v; restarting it", o.name, err)
			if err := o.restart(ctx); err != nil {
				return err
			}
			since = time.Now()
			continue
		}
		if err != nil {
			return err
		}
		return o.waitIdle(ctx)
	}
}

// reloads is traefik_config_reloads_total: configurations Traefik applied.
func (o *traefikObs) reloads(ctx context.Context) (float64, error) {
	m, err := scrape(ctx, o.traefik().APIURL()+"/metrics")
	if err != nil {
		return 0, err
	}
	for k, v := range m {
		if k == "traefik_config_reloads_total" || strings.HasPrefix(k, "traefik_config_reloads_total{") {
			return v, nil
		}
	}
	return 0, errors.New("Traefik /metrics has no traefik_config_reloads_total")
}

// ---------------------------------------------------------------- ZooKeeper

func connectZK(servers []string) (*zk.Conn, error) {
	conn, events, err := zk.Connect(servers, 10*time.Second, zk.WithLogInfo(false), zk.WithLogger(quietLogger{}))
	if err != nil {
		return nil, err
	}
	deadline := time.After(30 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return conn, nil
			}
		case <-deadline:
			conn.Close()
			return nil, errors.New("no ZooKeeper session after 30s")
		}
	}
}

type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

// zkPackets sums zk_packets_received over the ensemble's servers: every
// client request (reads, syncs, writes, pings) counts one.
func zkPackets(servers []string) (int64, error) {
	var total int64
	for _, s := range servers {
		out, err := harness.FourLetterWord(s, "mntr", 5*time.Second)
		if err != nil {
			return 0, err
		}
		found := false
		for _, line := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(line, "zk_packets_received\t"); ok {
				n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				if err != nil {
					return 0, err
				}
				total += n
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("mntr of %s: no zk_packets_received", s)
		}
	}
	return total, nil
}

// ---------------------------------------------------------------- baseline

// baseline writes the same kind of routes as the sidecar the way a generic
// KV client does: every directory znode empty, plain creates, and a kick as
// a separate request (create and delete of the ignored root child "alias",
// as Zoe's own Traefik 1.x writer did).
type baseline struct {
	conn    *zk.Conn
	root    string // "/bench-baseline"
	rootKey string
	backend string
	n       int
	kicks   int
}

var openACL = zk.WorldACL(zk.PermAll)

func newBaseline(conn *zk.Conn, rootKey, backend string) (*baseline, error) {
	root, err := kvschema.RootPath(rootKey)
	if err != nil {
		return nil, err
	}
	b := &baseline{conn: conn, root: root, rootKey: rootKey, backend: backend}
	// The root must exist before Traefik starts (facts 4).
	if _, err := conn.Create(root, nil, 0, openACL); err != nil && !errors.Is(err, zk.ErrNodeExists) {
		return nil, err
	}
	return b, nil
}

// routeKey is the 64-hex key of baseline route i, shaped like the sidecar's.
func routeKey(i int) string {
	sum := sha256.Sum256([]byte("baseline/" + strconv.Itoa(i)))
	return hex.EncodeToString(sum[:])
}

func (b *baseline) path(i int) string { return "/zoe/proxy/" + routeKey(i) }

// kvs are route i's znodes as kvschema encodes them (the sidecar's layout)
// with every directory value emptied.
func (b *baseline) kvs(i int) ([]kvschema.KV, error) {
	key := routeKey(i)
	rule, err := kvschema.PathRule(b.path(i))
	if err != nil {
		return nil, err
	}
	r := kvschema.Route{Name: fmt.Sprintf("zsc-%s-%d", key[:16], i+1), Rule: rule, Backend: b.backend}
	kvs, err := r.Encode(b.rootKey)
	if err != nil {
		return nil, err
	}
	for j := range kvs {
		if kvs[j].Value == kvschema.DirectoryValue {
			kvs[j].Value = ""
		}
	}
	return kvs, nil
}

func (b *baseline) shared() []string {
	return []string{b.root + "/http", b.root + "/http/routers", b.root + "/http/services"}
}

// bulk creates routes [b.n, b.n+count) in multis of at most ~400 KB, then kicks.
func (b *baseline) bulk(count int) error {
	var ops []any
	size := 0
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		if _, err := b.conn.Multi(ops...); err != nil {
			return fmt.Errorf("baseline bulk create: %w", err)
		}
		ops, size = nil, 0
		return nil
	}
	if b.n == 0 {
		for _, p := range b.shared() {
			ops = append(ops, &zk.CreateRequest{Path: p, Acl: openACL})
		}
	}
	for i := b.n; i < b.n+count; i++ {
		kvs, err := b.kvs(i)
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			ops = append(ops, &zk.CreateRequest{Path: kv.Key, Data: []byte(kv.Value), Acl: openACL})
			size += len(kv.Key) + len(kv.Value) + 64
		}
		if size > 400<<10 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	b.n += count
	return b.kick()
}

// writeOne is one new route as a generic client writes it: one create per
// znode, parents first, then the separate kick. It returns the route's path.
func (b *baseline) writeOne() (string, error) {
	i := b.n
	kvs, err := b.kvs(i)
	if err != nil {
		return "", err
	}
	for _, kv := range kvs {
		if _, err := b.conn.Create(kv.Key, []byte(kv.Value), 0, openACL); err != nil {
			return "", fmt.Errorf("create %s: %w", kv.Key, err)
		}
	}
	b.n++
	return b.path(i), b.kick()
}

func (b *baseline) kick() error {
	p := b.root + "/alias"
	_, err := b.conn.Multi(&zk.CreateRequest{Path: p, Acl: openACL}, &zk.DeleteRequest{Path: p, Version: -1})
	if err == nil {
		b.kicks++
	}
	return err
}

// ---------------------------------------------------------------- /proc

// procStatus reads a "VmHWM:   1234 kB" style field of /proc/<pid>/status in bytes.
func procStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(v)
			if len(f) < 1 {
				break
			}
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, err
			}
			return n * 1024, nil
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s", pid, field)
}

// execution returns the path of execution id's (only) route.
func (h *hooks) execution(ctx context.Context, id string) (string, error) {
	req, err := newGet(ctx, h.base+"/v1/executions/"+id, h.token)
	if err != nil {
		return "", err
	}
	var r hookReply
	if err := getJSON(req, &r); err != nil {
		return "", err
	}
	if len(r.Routes) != 1 {
		return "", fmt.Errorf("execution %s has %d routes, want 1", id, len(r.Routes))
	}
	return r.Routes[0].Path, nil
}

// ---------------------------------------------------------------- ZooKeeper floor

// floor sends, with a plain ZooKeeper client, the transaction a start hook
// for a new one-route execution makes the sidecar commit: the revision set
// with its version, the route's znodes (directories holding "true"), the
// execution's record, and the kick's create and delete. Timed on the same
// ensemble, interleaved with the sidecar's hooks, it is what ZooKeeper alone
// costs, so that the sidecar's share of the overhead can be told apart.
type floor struct {
	conn    *zk.Conn
	rootKey string // "bench-floor/traefik"
	state   string // "/bench-floor/state"
	backend string
	version int32
	n       int
}

func newFloor(conn *zk.Conn, backend string) (*floor, error) {
	f := &floor{conn: conn, rootKey: "bench-floor/traefik", state: "/bench-floor/state", backend: backend}
	for _, p := range []string{"/bench-floor", "/bench-floor/traefik", "/bench-floor/traefik/http", "/bench-floor/traefik/http/routers",
		"/bench-floor/traefik/http/services", f.state, f.state + "/executions", f.state + "/revision"} {
		if _, err := conn.Create(p, []byte(kvschema.DirectoryValue), 0, openACL); err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return nil, err
		}
	}
	_, stat, err := conn.Get(f.state + "/revision")
	if err != nil {
		return nil, err
	}
	f.version = stat.Version
	return f, nil
}

// ops is the transaction of the floor's next start.
func (f *floor) ops() ([]any, error) {
	i := f.n
	revision := int64(f.version) + 1
	key := routeKey(1_000_000 + i)
	rule, err := kvschema.PathRule("/zoe/proxy/" + key)
	if err != nil {
		return nil, err
	}
	route := kvschema.Route{Name: fmt.Sprintf("zsc-%s-%d", key[:16], revision), Rule: rule, Backend: f.backend, EntryPoints: []string{"web"}}
	kvs, err := route.Encode(f.rootKey)
	if err != nil {
		return nil, err
	}
	id := fmt.Sprintf("floor-%d", i)
	record, err := json.Marshal(state.Execution{ID: id, Revision: revision, Routes: []state.Route{{
		ExecutionID: id, Service: "notebook", Port: 8888, Key: key, Path: "/zoe/proxy/" + key, Traefik: route}}})
	if err != nil {
		return nil, err
	}
	meta, err := json.Marshal(state.Meta{Routes: i + 1})
	if err != nil {
		return nil, err
	}
	kick, err := kvschema.KickPath(f.rootKey, revision)
	if err != nil {
		return nil, err
	}
	ops := []any{&zk.SetDataRequest{Path: f.state + "/revision", Data: meta, Version: f.version}}
	for _, kv := range kvs {
		ops = append(ops, &zk.CreateRequest{Path: kv.Key, Data: []byte(kv.Value), Acl: openACL})
	}
	return append(ops,
		&zk.CreateRequest{Path: f.state + "/executions/" + id, Data: record, Acl: openACL},
		&zk.CreateRequest{Path: kick, Acl: openACL},
		&zk.DeleteRequest{Path: kick, Version: -1}), nil
}

// start commits the next transaction and returns how long the multi took.
func (f *floor) start() (time.Duration, error) {
	ops, err := f.ops()
	if err != nil {
		return 0, err
	}
	began := time.Now()
	if _, err := f.conn.Multi(ops...); err != nil {
		return 0, fmt.Errorf("floor transaction %d: %w", f.n, err)
	}
	took := time.Since(began)
	f.version++
	f.n++
	return took, nil
}
