// Package examples checks the example files shipped in examples/: the hook
// payloads decode into the sidecar's real input types and pass its
// validation, the ZApps are in Zoe's format and agree with the payloads, and
// the sidecar configuration files use only documented keys.
package examples

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"gopkg.in/yaml.v3"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/apiv1"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/execution"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/keys"
)

// zapp is a Zoe application description (format version 3, Zoe's 2018
// schemas/app_description_schema.json). Every property the schema allows is
// a field, so decoding with DisallowUnknownFields enforces its
// "additionalProperties": false.
type zapp struct {
	Name     *string        `json:"name"`
	WillEnd  *bool          `json:"will_end"`
	Size     *int           `json:"size"`
	Version  *int           `json:"version"`
	Services []zappServices `json:"services"`
}

type zappServices struct {
	Name           *string         `json:"name"`
	Image          *string         `json:"image"`
	Ports          []zappPort      `json:"ports"`
	Environment    [][]string      `json:"environment"`
	Volumes        []zappVolume    `json:"volumes"`
	Monitor        *bool           `json:"monitor"`
	StartupOrder   *int            `json:"startup_order"`
	EssentialCount *int            `json:"essential_count"`
	TotalCount     *int            `json:"total_count"`
	Replicas       *int            `json:"replicas"`
	Resources      *zappResources  `json:"resources"`
	Command        json.RawMessage `json:"command"`
	WorkDir        string          `json:"work_dir"`
	Labels         []string        `json:"labels"`
	Network        string          `json:"network"`
}

type zappPort struct {
	Name        *string `json:"name"`
	PortNumber  *int    `json:"port_number"`
	Protocol    *string `json:"protocol"`
	URLTemplate *string `json:"url_template"`
	Proxy       bool    `json:"proxy"`
}

type zappVolume struct {
	Name     string `json:"name"`
	Path     string `json:"path"`
	ReadOnly bool   `json:"read_only"`
}

type zappResources struct {
	Memory  *zappRange `json:"memory"`
	Cores   *zappRange `json:"cores"`
	ShmSize *int64     `json:"shm_size"`
}

type zappRange struct {
	Min *float64 `json:"min"`
	Max *float64 `json:"max"`
}

// Zoe's name pattern for ZApps and services (3-16 characters).
var zoeName = regexp.MustCompile(`^[a-zA-Z0-9-]{3,16}$`)

// decodeStrict decodes one JSON value from a file, refusing unknown fields
// (the sidecar itself ignores them, so a typo would go unnoticed) and
// trailing data.
func decodeStrict(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if dec.More() {
		t.Fatalf("%s: trailing data after the JSON value", path)
	}
}

func glob(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no files match %s", pattern)
	}
	return files
}

// hookFiles are hooks/<app>-<event>.json, by app and event.
func hookFiles(t *testing.T) map[string]map[string]string {
	t.Helper()
	apps := map[string]map[string]string{}
	for _, path := range glob(t, "hooks/*.json") {
		base := strings.TrimSuffix(filepath.Base(path), ".json")
		if base == "executions" {
			continue
		}
		i := strings.LastIndex(base, "-")
		if i < 0 {
			t.Fatalf("%s: want hooks/<app>-<event>.json", path)
		}
		app, event := base[:i], base[i+1:]
		if apps[app] == nil {
			apps[app] = map[string]string{}
		}
		apps[app][event] = path
	}
	return apps
}

func readHook(t *testing.T, path string) apiv1.HookRequest {
	t.Helper()
	var h apiv1.HookRequest
	decodeStrict(t, path, &h)
	if h.Execution == nil {
		t.Fatalf("%s: no execution", path)
	}
	return h
}

// proxied lists "<service>:<port>" of every proxied port.
func proxied(e *execution.Execution) []string {
	var out []string
	for _, s := range e.Services {
		for _, p := range s.Ports {
			if p.Proxy {
				out = append(out, fmt.Sprintf("%s:%d", s.Name, p.PortNumber))
			}
		}
	}
	sort.Strings(out)
	return out
}

func TestHookPayloads(t *testing.T) {
	apps := hookFiles(t)
	for _, app := range []string{"notebook", "spark"} {
		for _, event := range []string{"prepare", "start", "stop"} {
			if apps[app][event] == "" {
				t.Errorf("missing hooks/%s-%s.json", app, event)
			}
		}
	}
	for app, events := range apps {
		ids := map[string]string{}
		for event, path := range events {
			h := readHook(t, path)
			if h.Event != event {
				t.Errorf("%s: event %q, want %q (from the file name)", path, h.Event, event)
			}
			e := h.Execution
			ids[event] = string(e.ID)
			switch event {
			case "start":
				if err := e.Validate("execution", true); err != nil {
					t.Errorf("%s: %v", path, err)
				}
				if len(proxied(e)) == 0 {
					t.Errorf("%s: no proxied port", path)
				}
			case "prepare":
				if err := e.Validate("execution", false); err != nil {
					t.Errorf("%s: %v", path, err)
				}
				// prepare runs before the containers exist.
				for _, s := range e.Services {
					for _, p := range s.Ports {
						if p.ExternalIP != "" || p.ExternalPort != 0 {
							t.Errorf("%s: %s port %d has a backend; prepare comes before the containers exist", path, s.Name, p.PortNumber)
						}
					}
				}
			case "stop":
				if err := execution.ValidateID(e.ID, "execution.id"); err != nil {
					t.Errorf("%s: %v", path, err)
				}
				if len(e.Services) != 0 {
					t.Errorf("%s: stop needs only execution.id", path)
				}
			default:
				t.Errorf("%s: unknown event %q", path, event)
			}
		}
		for event, id := range ids {
			if id != ids["start"] {
				t.Errorf("%s: %s has execution id %q, start has %q", app, event, id, ids["start"])
			}
		}
	}
}

// TestPrepareMatchesStart: prepare and start describe the same services and
// ports, so they derive the same keys and REVERSE_PROXY_PATH_<port> values.
func TestPrepareMatchesStart(t *testing.T) {
	deriver, err := keys.NewDeriver([]byte("examples-test-key-secret"), "demo")
	if err != nil {
		t.Fatal(err)
	}
	settings := execution.Settings{BasePath: "/zoe/proxy", Routing: execution.RoutingPath}
	for app, events := range hookFiles(t) {
		if events["prepare"] == "" || events["start"] == "" {
			continue
		}
		prep := readHook(t, events["prepare"]).Execution
		start := readHook(t, events["start"]).Execution
		prepRoutes, err := execution.Routes(prep, settings, deriver, false)
		if err != nil {
			t.Fatalf("%s prepare: %v", app, err)
		}
		startRoutes, err := execution.Routes(start, settings, deriver, true)
		if err != nil {
			t.Fatalf("%s start: %v", app, err)
		}
		if got, want := len(startRoutes), len(proxied(start)); got != want {
			t.Errorf("%s: start gives %d routes, want one per proxied port (%d)", app, got, want)
		}
		if len(prepRoutes) != len(startRoutes) {
			t.Fatalf("%s: prepare gives %d routes, start %d", app, len(prepRoutes), len(startRoutes))
		}
		for i := range prepRoutes {
			p, s := prepRoutes[i], startRoutes[i]
			if p.Service != s.Service || p.Port != s.Port || p.Key != s.Key || p.Path != s.Path {
				t.Errorf("%s: prepare route %s:%d %s differs from start route %s:%d %s",
					app, p.Service, p.Port, p.Path, s.Service, s.Port, s.Path)
			}
		}
		// Same names and ports; only the backends differ.
		if !reflect.DeepEqual(shape(prep), shape(start)) {
			t.Errorf("%s: prepare and start list different services or ports:\n prepare %v\n start   %v", app, shape(prep), shape(start))
		}
	}
}

// shape is an execution without its backends.
func shape(e *execution.Execution) []string {
	var out []string
	for _, s := range e.Services {
		for _, p := range s.Ports {
			out = append(out, fmt.Sprintf("%s:%d/%s proxy=%t %s", s.Name, p.PortNumber, p.Protocol, p.Proxy, p.URLTemplate))
		}
	}
	return out
}

// TestExecutionsFile: hooks/executions.json (PUT /v1/executions) lists the
// running executions: exactly those of the start payloads.
func TestExecutionsFile(t *testing.T) {
	var body apiv1.ExecutionsRequest
	decodeStrict(t, "hooks/executions.json", &body)
	if len(body.Executions) == 0 {
		t.Fatal("hooks/executions.json: no executions")
	}
	starts := map[string]*execution.Execution{}
	for _, events := range hookFiles(t) {
		if events["start"] != "" {
			e := readHook(t, events["start"]).Execution
			starts[string(e.ID)] = e
		}
	}
	seen := map[string]bool{}
	for i := range body.Executions {
		e := &body.Executions[i]
		if err := e.Validate(execution.Path("executions").Index(i), true); err != nil {
			t.Errorf("hooks/executions.json: %v", err)
		}
		id := string(e.ID)
		if seen[id] {
			t.Errorf("hooks/executions.json: execution %s listed twice", id)
		}
		seen[id] = true
		want, ok := starts[id]
		if !ok {
			t.Errorf("hooks/executions.json: execution %s has no start payload", id)
			continue
		}
		if !reflect.DeepEqual(e, want) {
			t.Errorf("hooks/executions.json: execution %s differs from its start payload", id)
		}
	}
	for id := range starts {
		if !seen[id] {
			t.Errorf("hooks/executions.json: execution %s of a start payload is missing", id)
		}
	}
}

func TestZApps(t *testing.T) {
	apps := hookFiles(t)
	for _, path := range glob(t, "zapps/*.json") {
		app := strings.TrimSuffix(filepath.Base(path), ".json")
		var z zapp
		decodeStrict(t, path, &z)
		checkZApp(t, path, z)

		events := apps[app]
		if events["start"] == "" || events["prepare"] == "" {
			t.Errorf("%s: no hooks/%s-prepare.json and hooks/%s-start.json", path, app, app)
			continue
		}
		for _, event := range []string{"prepare", "start"} {
			e := readHook(t, events[event]).Execution
			checkInstances(t, path, z, events[event], e)
		}
	}
}

// checkZApp enforces the required properties and value ranges of Zoe's schema.
func checkZApp(t *testing.T, path string, z zapp) {
	t.Helper()
	if z.Name == nil || !zoeName.MatchString(*z.Name) {
		t.Errorf("%s: name must be 3-16 letters, digits or '-'", path)
	}
	if z.WillEnd == nil || z.Size == nil || z.Version == nil {
		t.Errorf("%s: will_end, size and version are required", path)
	}
	if z.Version != nil && *z.Version < 3 {
		t.Errorf("%s: version %d, want 3 or later", path, *z.Version)
	}
	if len(z.Services) == 0 {
		t.Fatalf("%s: no services", path)
	}
	for i, s := range z.Services {
		f := fmt.Sprintf("%s: services[%d]", path, i)
		if s.Name == nil || !zoeName.MatchString(*s.Name) {
			t.Errorf("%s.name must be 3-16 letters, digits or '-'", f)
		}
		if s.Image == nil || *s.Image == "" {
			t.Errorf("%s.image is required", f)
		}
		if s.Ports == nil || s.Environment == nil || s.Volumes == nil {
			t.Errorf("%s: ports, environment and volumes are required (may be empty)", f)
		}
		if s.Monitor == nil || s.StartupOrder == nil || s.EssentialCount == nil || s.TotalCount == nil || s.Command == nil {
			t.Errorf("%s: monitor, startup_order, essential_count, total_count and command are required", f)
		}
		if s.TotalCount != nil && s.EssentialCount != nil && (*s.EssentialCount < 1 || *s.TotalCount < *s.EssentialCount) {
			t.Errorf("%s: want 1 <= essential_count <= total_count", f)
		}
		if s.Resources == nil || s.Resources.Memory == nil || s.Resources.Cores == nil {
			t.Errorf("%s.resources: memory and cores are required", f)
		}
		if c := string(s.Command); c != "null" && !strings.HasPrefix(c, `"`) {
			t.Errorf("%s.command must be a string or null", f)
		}
		for _, env := range s.Environment {
			if len(env) != 2 {
				t.Errorf("%s.environment: %q is not a [name, value] pair", f, env)
			}
		}
		for j, p := range s.Ports {
			pf := fmt.Sprintf("%s.ports[%d]", f, j)
			if p.Name == nil || len(*p.Name) < 3 || p.PortNumber == nil || p.Protocol == nil || p.URLTemplate == nil {
				t.Errorf("%s: name (3+ characters), port_number, protocol and url_template are required", pf)
				continue
			}
			if *p.PortNumber < 1 || *p.PortNumber > 65535 {
				t.Errorf("%s.port_number %d out of range", pf, *p.PortNumber)
			}
			if *p.Protocol != "tcp" && *p.Protocol != "udp" {
				t.Errorf("%s.protocol %q, want tcp or udp", pf, *p.Protocol)
			}
		}
	}
}

// checkInstances: the payload's services are the ZApp's instances
// (<service><n>, n < total_count), with the ZApp's ports; every proxied port
// of the ZApp is proxied in the payload and no other port is.
func checkInstances(t *testing.T, zappPath string, z zapp, hookPath string, e *execution.Execution) {
	t.Helper()
	byName := map[string]execution.Service{}
	for _, s := range e.Services {
		byName[s.Name] = s
	}
	want := map[string]bool{}
	for _, s := range z.Services {
		if s.Name == nil || s.TotalCount == nil {
			continue
		}
		for n := 0; n < *s.TotalCount; n++ {
			instance := fmt.Sprintf("%s%d", *s.Name, n)
			want[instance] = true
			got, ok := byName[instance]
			if !ok {
				t.Errorf("%s: no service %s (instance %d of %s in %s)", hookPath, instance, n, *s.Name, zappPath)
				continue
			}
			ports := map[int]execution.Port{}
			for _, p := range got.Ports {
				ports[p.PortNumber] = p
			}
			for _, zp := range s.Ports {
				if zp.PortNumber == nil {
					continue
				}
				p, ok := ports[*zp.PortNumber]
				switch {
				case !ok && zp.Proxy:
					t.Errorf("%s: %s lacks proxied port %d of %s", hookPath, instance, *zp.PortNumber, zappPath)
				case !ok:
					t.Errorf("%s: %s lacks port %d of %s", hookPath, instance, *zp.PortNumber, zappPath)
				case p.Proxy != zp.Proxy:
					t.Errorf("%s: %s port %d has proxy %t, %s says %t", hookPath, instance, *zp.PortNumber, p.Proxy, zappPath, zp.Proxy)
				case zp.Protocol != nil && p.Protocol != *zp.Protocol, zp.URLTemplate != nil && p.URLTemplate != *zp.URLTemplate:
					t.Errorf("%s: %s port %d: protocol or url_template differ from %s", hookPath, instance, *zp.PortNumber, zappPath)
				}
				delete(ports, *zp.PortNumber)
			}
			for n := range ports {
				t.Errorf("%s: %s port %d is not in %s", hookPath, instance, n, zappPath)
			}
		}
	}
	for name := range byName {
		if !want[name] {
			t.Errorf("%s: service %s is no instance of a service of %s", hookPath, name, zappPath)
		}
	}
}

// documentedFileKeys are the "File key" column of README.md's settings table.
func documentedFileKeys(t *testing.T) map[string]bool {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	begin := strings.Index(text, "<!-- flags:begin -->")
	end := strings.Index(text, "<!-- flags:end -->")
	if begin < 0 || end < begin {
		t.Fatal("README.md: no <!-- flags:begin --> ... <!-- flags:end --> table")
	}
	keys := map[string]bool{}
	for _, line := range strings.Split(text[begin:end], "\n") {
		cells := strings.Split(line, "|")
		// "| flag | env | file key | default | description |" → 7 cells.
		if len(cells) < 7 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`--") {
			continue
		}
		key := strings.Trim(strings.TrimSpace(cells[3]), "`")
		if key != "" && key != "—" {
			keys[key] = true
		}
	}
	if len(keys) < 10 {
		t.Fatalf("README.md: found only %d file keys in the settings table", len(keys))
	}
	return keys
}

// secretKeys must never be written into a config file: the examples name
// files (tokenFile, keySecretFile) or the environment instead.
var secretKeys = []string{"token", "keySecret", "zkPassword", "zkReaderPassword"}

func TestSidecarConfigFiles(t *testing.T) {
	documented := documentedFileKeys(t)
	for _, k := range append([]string{"tokenFile", "keySecretFile"}, secretKeys...) {
		if !documented[k] {
			t.Fatalf("README.md does not document file key %s; the test is out of date", k)
		}
	}

	var fromTOML map[string]any
	if _, err := toml.DecodeFile("sidecar.toml", &fromTOML); err != nil {
		t.Fatalf("sidecar.toml: %v", err)
	}
	var fromYAML map[string]any
	data, err := os.ReadFile("sidecar.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &fromYAML); err != nil {
		t.Fatalf("sidecar.yaml: %v", err)
	}

	for name, cfg := range map[string]map[string]any{"sidecar.toml": fromTOML, "sidecar.yaml": fromYAML} {
		if len(cfg) == 0 {
			t.Errorf("%s: no settings", name)
		}
		for key := range cfg {
			if !documented[key] {
				t.Errorf("%s: key %q is not a file key of README.md's settings table", name, key)
			}
		}
		for _, key := range secretKeys {
			if _, ok := cfg[key]; ok {
				t.Errorf("%s: secret %q inline; use tokenFile/keySecretFile or the environment", name, key)
			}
		}
		for _, key := range []string{"traefikZkIps", "tokenFile", "keySecretFile"} {
			if _, ok := cfg[key]; !ok {
				t.Errorf("%s: %s missing: serve needs it", name, key)
			}
		}
	}

	// The two files show the same configuration.
	for key, tv := range fromTOML {
		yv, ok := fromYAML[key]
		if !ok {
			t.Errorf("%s is in sidecar.toml but not in sidecar.yaml", key)
			continue
		}
		tj, _ := json.Marshal(tv)
		yj, _ := json.Marshal(yv)
		if !bytes.Equal(tj, yj) {
			t.Errorf("%s: sidecar.toml has %s, sidecar.yaml %s", key, tj, yj)
		}
	}
	for key := range fromYAML {
		if _, ok := fromTOML[key]; !ok {
			t.Errorf("%s is in sidecar.yaml but not in sidecar.toml", key)
		}
	}
}
