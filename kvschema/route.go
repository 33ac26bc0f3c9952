package kvschema

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// DeadBackend is the server URL of tombstones and the sentinel: loopback
// port 1 (tcpmux, never served) so a tombstone no longer points anywhere real.
const DeadBackend = "http://127.0.0.1:1"

// SentinelName names the router, service and middleware that are never
// removed, so that Traefik's routers, services and middlewares maps are
// never empty (an empty map makes Traefik reject the whole configuration).
const SentinelName = "zsc-sentinel"

// kickPrefix starts every kick node name; it must stay ignored by Traefik.
const kickPrefix = "zsc-kick-"

// Route is what one proxied port needs in Traefik: a router and a service of
// one server, plus an optional strip-prefix middleware, all named after Name.
type Route struct {
	Name        string   `json:"name"`
	Rule        string   `json:"rule"`
	Backend     string   `json:"backend"`
	EntryPoints []string `json:"entryPoints,omitempty"`
	// StripPrefix, when set, is removed from the path before forwarding,
	// for applications that cannot be told their base path.
	StripPrefix string           `json:"stripPrefix,omitempty"`
	TLS         *RouterTLSConfig `json:"tls,omitempty"`
	// Priority, when not zero, replaces the priority Traefik derives from
	// the rule's length. Traefik tries routers in priority order, so a
	// request for a route below thousands of others first tries all of
	// them, at the cost of a 404.
	Priority int `json:"priority,omitempty"`
}

// StripMiddlewareName is the name of the route's strip-prefix middleware.
func (r Route) StripMiddlewareName() string { return r.Name + "-strip" }

// Validate checks everything that Configuration and Encode rely on.
func (r Route) Validate() error {
	if err := validateKeyName(r.Name); err != nil {
		return fmt.Errorf("route: %w", err)
	}
	for _, ep := range r.EntryPoints {
		if err := ValidateName(ep); err != nil {
			return fmt.Errorf("route %q entry point: %w", r.Name, err)
		}
	}
	if r.TLS != nil {
		if err := ValidateValue(r.TLS.CertResolver); err != nil {
			return fmt.Errorf("route %q cert resolver: %w", r.Name, err)
		}
	}
	if r.Rule == "" {
		return fmt.Errorf("%w route %q: empty rule", ErrInvalid, r.Name)
	}
	if err := ValidateValue(r.Rule); err != nil {
		return fmt.Errorf("route %q rule: %w", r.Name, err)
	}
	if err := ValidateBackend(r.Backend); err != nil {
		return fmt.Errorf("route %q: %w", r.Name, err)
	}
	if r.Priority < 0 || r.Priority > MaxPriority {
		return fmt.Errorf("%w route %q: priority %d not in 0..%d", ErrInvalid, r.Name, r.Priority, MaxPriority)
	}
	if r.StripPrefix != "" {
		if err := ValidatePath(r.StripPrefix); err != nil {
			return fmt.Errorf("route %q strip prefix: %w", r.Name, err)
		}
		if err := ValidateName(r.StripMiddlewareName()); err != nil {
			return fmt.Errorf("route %q strip middleware: %w", r.Name, err)
		}
	}
	return nil
}

// Configuration is the route as Traefik dynamic configuration.
func (r Route) Configuration() *Configuration {
	router := &Router{
		EntryPoints: r.EntryPoints,
		Service:     r.Name,
		Rule:        r.Rule,
		TLS:         r.TLS,
	}
	if r.Priority != 0 {
		priority := r.Priority
		router.Priority = &priority
	}
	http := &HTTPConfiguration{
		Routers: map[string]*Router{r.Name: router},
		Services: map[string]*Service{r.Name: {LoadBalancer: &ServersLoadBalancer{
			Servers: []Server{{URL: r.Backend}},
		}}},
	}
	if r.StripPrefix != "" {
		router.Middlewares = []string{r.StripMiddlewareName()}
		http.Middlewares = map[string]*Middleware{r.StripMiddlewareName(): {
			StripPrefix: &StripPrefix{Prefixes: []string{r.StripPrefix}},
		}}
	}
	return &Configuration{HTTP: http}
}

// Encode returns the znodes the route owns: its own router, service and
// middleware subtrees, without the shared directories above them (those are
// created once, see SharedDirectories).
func (r Route) Encode(rootKey string) ([]KV, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	// Validate covers everything validateConfiguration would check of a
	// one-route configuration.
	all, err := encodeValid(rootKey, r.Configuration())
	if err != nil {
		return nil, err
	}
	rootPath, _ := RootPath(rootKey)
	owned := all[:0]
	for _, kv := range all {
		// <root>/http/<kind>/<name>... : three segments below the root.
		if strings.Count(strings.TrimPrefix(kv.Key, rootPath), "/") >= 3 {
			owned = append(owned, kv)
		}
	}
	return owned, nil
}

// Shape is what decides which znodes a route owns, its name aside: two
// routes of one shape encode to the same keys and differ only in values, so
// one becomes the other by value changes alone.
type Shape struct {
	EntryPoints  int
	StripPrefix  bool
	TLS          bool
	CertResolver bool
	Priority     bool
}

// Shape of the route.
func (r Route) Shape() Shape {
	return Shape{
		EntryPoints:  len(r.EntryPoints),
		StripPrefix:  r.StripPrefix != "",
		TLS:          r.TLS != nil,
		CertResolver: r.TLS != nil && r.TLS.CertResolver != "",
		Priority:     r.Priority != 0,
	}
}

// MaxPriority bounds Route.Priority: Traefik v3 keeps the priorities
// above math.MaxInt32 - 1000 for its own internal routers.
const MaxPriority = 1<<31 - 1 - 1000

// OwnedRoots are the top znodes of the route's subtrees; removing a route
// means removing these and everything below them.
func (r Route) OwnedRoots(rootKey string) ([]string, error) {
	rootPath, err := RootPath(rootKey)
	if err != nil {
		return nil, err
	}
	roots := []string{
		rootPath + "/http/routers/" + r.Name,
		rootPath + "/http/services/" + r.Name,
	}
	if r.StripPrefix != "" {
		roots = append(roots, rootPath+"/http/middlewares/"+r.StripMiddlewareName())
	}
	return roots, nil
}

// Tombstone is the route made unreachable by value changes only: a rule no
// request matches and a dead server. Writing it changes no znode's
// existence, so it is safe while Traefik walks the tree.
func (r Route) Tombstone() Route {
	t := r
	t.Rule = NeverMatchRule
	t.Backend = DeadBackend
	return t
}

// IsTombstone tells whether the route has been tombstoned.
func (r Route) IsTombstone() bool {
	return r.Rule == NeverMatchRule && r.Backend == DeadBackend
}

// SentinelRoute is the permanent route that keeps every map non-empty; it
// has a strip-prefix middleware so the middlewares map has an element too.
func SentinelRoute() Route {
	return Route{
		Name:        SentinelName,
		Rule:        NeverMatchRule,
		Backend:     DeadBackend,
		StripPrefix: "/" + SentinelName,
	}
}

// SharedDirectories are the directory znodes above every route.
func SharedDirectories(rootKey string) ([]KV, error) {
	rootPath, err := RootPath(rootKey)
	if err != nil {
		return nil, err
	}
	return []KV{
		{Key: rootPath + "/http", Value: DirectoryValue},
		{Key: rootPath + "/http/middlewares", Value: DirectoryValue},
		{Key: rootPath + "/http/routers", Value: DirectoryValue},
		{Key: rootPath + "/http/services", Value: DirectoryValue},
	}, nil
}

// KickPath names the transient root child that makes Traefik reload: it is
// created and deleted in the same transaction as the change, which fires
// Traefik's children watch on the root and leaves nothing behind.
func KickPath(rootKey string, revision int64) (string, error) {
	rootPath, err := RootPath(rootKey)
	if err != nil {
		return "", err
	}
	return rootPath + "/" + kickPrefix + strconv.FormatInt(revision, 10), nil
}

// IgnoredByTraefik tells whether Traefik's decoder skips a root child of this
// name: it only reads children starting, in any case, with http, tcp, udp or tls.
func IgnoredByTraefik(name string) bool {
	lower := strings.ToLower(name)
	for _, prefix := range []string{"http", "tcp", "udp", "tls"} {
		if strings.HasPrefix(lower, prefix) {
			return false
		}
	}
	return true
}

// ValidateBackend accepts scheme://host:port with scheme http, https or h2c,
// an IP address or DNS name, and nothing after the port (Traefik does not
// use a path there, and a query or user info has no business in it).
func ValidateBackend(backend string) error {
	u, err := url.Parse(backend)
	if err != nil {
		return fmt.Errorf("%w backend %q: %v", ErrInvalid, backend, err)
	}
	switch u.Scheme {
	case "http", "https", "h2c":
	default:
		return fmt.Errorf("%w backend %q: scheme must be http, https or h2c", ErrInvalid, backend)
	}
	// An empty query or fragment ("http://h:80?", "http://h:80#") leaves
	// RawQuery and Fragment empty, hence the check on the raw string.
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.Opaque != "" || strings.ContainsAny(backend, "?#") {
		return fmt.Errorf("%w backend %q: only scheme://host:port is allowed", ErrInvalid, backend)
	}
	host, port := u.Hostname(), u.Port()
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%w backend %q: port must be 1-65535", ErrInvalid, backend)
	}
	if net.ParseIP(host) == nil {
		if err := ValidateHost(strings.ToLower(host)); err != nil {
			return fmt.Errorf("%w backend %q: host is neither an IP address nor a DNS name", ErrInvalid, backend)
		}
	}
	return nil
}
