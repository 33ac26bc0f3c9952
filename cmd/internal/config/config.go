// Package config is the sidecar's configuration: one Config struct decoded
// with paerser from, in increasing precedence, defaults, a TOML or YAML file
// (--config), TRAEFIK_ZK_SIDECAR_* environment variables and command-line
// flags. The settings table (Settings) drives all of them.
package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/traefik/paerser/file"
	"github.com/traefik/paerser/parser"
	"github.com/traefik/paerser/types"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/execution"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/keys"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/zkstore"
)

// labelRoot is the root name of the paerser labels built from flags and
// environment variables ("sidecar.Routing").
const labelRoot = "sidecar"

// Config holds every setting. File keys are the field names, matched
// case-insensitively (traefikZkIps, keySecretFile, ...).
type Config struct {
	TraefikZKIPs              string
	TraefikBaseURL            string
	TraefikRootKey            string
	StateRoot                 string
	Listen                    string
	MetricsListen             string
	Token                     string
	TokenFile                 string
	KeySecret                 string
	KeySecretFile             string
	DeploymentName            string
	PublicURL                 string
	Routing                   string
	ProxyDomain               string
	EntryPoints               []string
	TLS                       bool
	CertResolver              string
	ZoeUIURL                  string
	ZoeUIPath                 string
	TraefikAPIURL             string
	TraefikProvider           string
	TraefikToken              string
	TraefikTokenFile          string
	TraefikPollHold           types.Duration
	TraefikDefaultCertificate bool
	ZKUser                    string
	ZKPassword                string
	ZKReaderUser              string
	ZKReaderPassword          string
	TLSCertFile               string
	TLSKeyFile                string
	TLSClientCAFile           string
	ZKTLSCAFile               string
	ZKTLSCertFile             string
	ZKTLSKeyFile              string
	ZKTLSVerifyHostname       bool
	ZKSessionTimeout          types.Duration
	ZKOpTimeout               types.Duration
	GCInterval                types.Duration
	GCQuietWindow             types.Duration
	MaxConcurrentApplies      int
	LogLevel                  string
	LogFormat                 string
	ConfigFile                string

	// sources tells, per flag name, where the value came from, for errors.
	sources map[string]string
}

// Default is the configuration before any file, variable or flag: the
// table's defaults, decoded like every other source.
func Default() Config {
	labels := map[string]string{}
	for _, s := range table {
		if s.Default != "" {
			labels[labelRoot+"."+s.Field] = s.Default
		}
	}
	var cfg Config
	if err := parser.Decode(labels, &cfg, labelRoot); err != nil {
		panic("config: bad default: " + err.Error())
	}
	cfg.sources = map[string]string{}
	return cfg
}

// RegisterFlags adds a flag for each named setting to fs, or for every
// setting when none is named: each command shows the flags it uses. A name
// not in the table panics (a programming error the tests catch).
func RegisterFlags(fs *pflag.FlagSet, only ...string) {
	selected := table
	if len(only) > 0 {
		selected = nil
		for _, name := range only {
			s, ok := Lookup(name)
			if !ok {
				panic("config: no setting " + name)
			}
			selected = append(selected, s)
		}
	}
	for _, s := range selected {
		switch s.Kind {
		case KindBool:
			fs.Bool(s.Flag, s.Default == "true", s.Description)
		case KindInt:
			n, _ := strconv.Atoi(s.Default)
			fs.Int(s.Flag, n, s.Description)
		case KindDuration:
			d, _ := time.ParseDuration(s.Default)
			fs.Duration(s.Flag, d, s.Description)
		default:
			fs.String(s.Flag, s.Default, s.Description)
		}
	}
}

// Error is an invalid setting; it names the setting and where its value
// came from.
type Error struct {
	Setting Setting
	// Source is "flag --x", "environment variable X", "key k in file f" or "default".
	Source  string
	Value   string
	Message string
}

func (e *Error) Error() string {
	value := ""
	if !e.Setting.Secret {
		value = " " + strconv.Quote(e.Value)
	}
	src := ""
	if e.Source != "" {
		src = " (from " + e.Source + ")"
	}
	return fmt.Sprintf("invalid --%s%s%s: %s", e.Setting.Flag, value, src, e.Message)
}

// ErrMissing is wrapped by errors for a required setting that is not given.
var ErrMissing = errors.New("missing setting")

type missingError struct{ msg string }

func (e *missingError) Error() string { return e.msg }
func (e *missingError) Unwrap() error { return ErrMissing }

// Missing says that a setting is required and every way to give it; the
// error wraps ErrMissing.
func Missing(what string, flags ...string) error {
	ways := make([]string, len(flags))
	for i, f := range flags {
		ways[i] = HowToSet(f)
	}
	return &missingError{msg: what + ": give " + strings.Join(ways, "; or ")}
}

// item is one value given for a setting by one source.
type item struct {
	setting Setting
	value   string
	source  string
}

// Load builds the configuration from the flags that were set, the
// environment (os.Environ() form) and the --config file, then validates it.
// flags may be nil.
func Load(flags *pflag.FlagSet, environ []string) (Config, error) {
	cfg := Default()
	envItems, err := fromEnv(environ)
	if err != nil {
		return cfg, err
	}
	flagItems := fromFlags(flags)

	path := ""
	for _, it := range append(envItems, flagItems...) { // flags last: they win
		if it.setting.Flag == "config" {
			path = it.value
		}
	}
	if path != "" {
		if err := cfg.loadFile(path); err != nil {
			return cfg, err
		}
	}
	if err := cfg.decode(envItems); err != nil {
		return cfg, err
	}
	if err := cfg.decode(flagItems); err != nil {
		return cfg, err
	}
	cfg.normalize()
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func fromEnv(environ []string) ([]item, error) {
	byEnv := map[string]Setting{}
	for _, s := range table {
		byEnv[s.Env] = s
	}
	var items []item
	var unknown []string
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		s, ok := byEnv[name]
		if !ok {
			unknown = append(unknown, name)
			continue
		}
		// An empty variable counts as unset, so compose files can pass
		// through variables that may be empty.
		if value == "" {
			continue
		}
		items = append(items, item{setting: s, value: value, source: "environment variable " + name})
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("unknown environment variable %s: no such setting (the variables are %s<FLAG NAME>, e.g. %s; see --help)",
			strings.Join(unknown, ", "), EnvPrefix, mustLookup("traefik-zk-ips").Env)
	}
	return items, nil
}

func fromFlags(flags *pflag.FlagSet) []item {
	if flags == nil {
		return nil
	}
	var items []item
	for _, s := range table {
		if f := flags.Lookup(s.Flag); f != nil && f.Changed {
			items = append(items, item{setting: s, value: f.Value.String(), source: "flag --" + s.Flag})
		}
	}
	return items
}

// decode applies one source's values as paerser labels. parser.Decode only
// sets the fields the labels name, which is what layers the sources.
func (c *Config) decode(items []item) error {
	if len(items) == 0 {
		return nil
	}
	labels := map[string]string{}
	for _, it := range items {
		labels[labelRoot+"."+it.setting.Field] = it.value
	}
	if err := parser.Decode(labels, c, labelRoot); err != nil {
		// Find which value is at fault, to name it.
		for _, it := range items {
			if e := checkValue(it); e != nil {
				return e
			}
		}
		return fmt.Errorf("decode settings: %w", err)
	}
	for _, it := range items {
		if it.setting.Kind == KindList && strings.TrimSpace(it.value) == "" {
			// paerser leaves a slice alone for an empty value; an explicit
			// empty list clears what a lower layer set.
			reflect.ValueOf(c).Elem().FieldByName(it.setting.Field).SetZero()
		}
		c.sources[it.setting.Flag] = it.source
	}
	return nil
}

// checkValue decodes one value alone, to report a type error precisely.
func checkValue(it item) *Error {
	var scratch Config
	err := parser.Decode(map[string]string{labelRoot + "." + it.setting.Field: it.value}, &scratch, labelRoot)
	if err == nil {
		return nil
	}
	msg := err.Error()
	switch it.setting.Kind {
	case KindDuration:
		msg = "want a duration such as 500ms, 5s or 1m30s (a bare number means seconds)"
	case KindInt:
		msg = "want a whole number"
	case KindBool:
		msg = "want true or false"
	}
	return &Error{Setting: it.setting, Source: it.source, Value: it.value, Message: msg}
}

// loadFile decodes the --config file with paerser, refusing keys that are
// not settings (a typo would otherwise be ignored silently).
func (c *Config) loadFile(path string) error {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".toml", ".yaml", ".yml", ".json":
	default:
		return fmt.Errorf("config file %s: want a .toml, .yaml or .yml file", path)
	}
	raw := map[string]interface{}{}
	if err := file.Decode(path, &raw); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	var items []item
	for key, value := range raw {
		s, ok := settingOfFileKey(key)
		if !ok {
			if strings.EqualFold(key, "config") || strings.EqualFold(key, "configFile") {
				return fmt.Errorf("config file %s: key %q: a config file cannot name another one", path, key)
			}
			return fmt.Errorf("config file %s: unknown key %q: keys are the flag names in lowerCamelCase, e.g. traefikZkIps for --traefik-zk-ips (see --help)", path, key)
		}
		items = append(items, item{setting: s, value: rawString(value), source: fmt.Sprintf("key %s in %s", key, path)})
	}
	if err := file.Decode(path, c); err != nil {
		for _, it := range items {
			if e := checkValue(it); e != nil {
				return e
			}
		}
		return fmt.Errorf("config file %s: %w", path, err)
	}
	for _, it := range items {
		c.sources[it.setting.Flag] = it.source
	}
	return nil
}

func settingOfFileKey(key string) (Setting, bool) {
	for _, s := range table {
		if s.FileKey != "" && strings.EqualFold(key, s.Field) {
			return s, true
		}
	}
	return Setting{}, false
}

func rawString(v interface{}) string {
	if list, ok := v.([]interface{}); ok {
		parts := make([]string, len(list))
		for i, e := range list {
			parts[i] = fmt.Sprint(e)
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v)
}

// normalize trims list entries and drops empty ones ("web, websecure,").
func (c *Config) normalize() {
	var eps []string
	for _, ep := range c.EntryPoints {
		if ep = strings.TrimSpace(ep); ep != "" {
			eps = append(eps, ep)
		}
	}
	c.EntryPoints = eps
}

// Source tells where a setting's value came from.
func (c Config) Source(flag string) string {
	if src, ok := c.sources[flag]; ok {
		return src
	}
	return "default"
}

// ExecutionSettings are the routing settings the provider uses.
func (c Config) ExecutionSettings() (execution.Settings, error) {
	base, err := keys.NormalizeBasePath(c.TraefikBaseURL)
	if err != nil {
		return execution.Settings{}, err
	}
	s := c.executionSettings(base)
	return s, s.Validate()
}

func (c Config) executionSettings(base string) execution.Settings {
	return execution.Settings{
		BasePath:     base,
		Routing:      c.Routing,
		ProxyDomain:  normalizeDomain(c.ProxyDomain),
		EntryPoints:  c.EntryPoints,
		TLS:          c.TLS,
		CertResolver: c.CertResolver,
	}
}

// StaticRoutes are the fixed routes the sidecar keeps: Zoe's own UI when
// --zoe-ui-url is set.
func (c Config) StaticRoutes(s execution.Settings) ([]kvschema.Route, error) {
	if c.ZoeUIURL == "" {
		return nil, nil
	}
	path, err := keys.NormalizeBasePath(c.ZoeUIPath)
	if err != nil {
		return nil, err
	}
	r, err := execution.StaticRoute("zoe-ui", path, strings.TrimRight(c.ZoeUIURL, "/"), s)
	if err != nil {
		return nil, err
	}
	return []kvschema.Route{r}, nil
}

// ZooKeeperServers are the parsed --traefik-zk-ips; an error says how to
// give them when they are missing.
func (c Config) ZooKeeperServers() ([]string, error) {
	if strings.TrimSpace(c.TraefikZKIPs) == "" {
		return nil, Missing("no ZooKeeper servers (host:port[,host:port...])", "traefik-zk-ips")
	}
	servers, err := zkstore.ParseServers(c.TraefikZKIPs)
	if err != nil {
		return nil, c.invalid("traefik-zk-ips", c.TraefikZKIPs, "%v", err)
	}
	return servers, nil
}

// ZooKeeperOptions are the connection options; Logger is left to the caller.
func (c Config) ZooKeeperOptions() (zkstore.Options, error) {
	servers, err := c.ZooKeeperServers()
	if err != nil {
		return zkstore.Options{}, err
	}
	dialTLS, err := c.zooKeeperTLS()
	if err != nil {
		return zkstore.Options{}, err
	}
	return zkstore.Options{
		TLS:            dialTLS,
		Servers:        servers,
		SessionTimeout: time.Duration(c.ZKSessionTimeout),
		OpTimeout:      time.Duration(c.ZKOpTimeout),
		User:           c.ZKUser,
		Password:       c.ZKPassword,
		ReaderUser:     c.ZKReaderUser,
		ReaderPassword: c.ZKReaderPassword,
	}, nil
}
