package execution

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/keys"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
)

// Routing modes.
const (
	RoutingPath = "path"
	RoutingHost = "host"
)

// Settings decide how routes look in Traefik.
type Settings struct {
	// BasePath is the normalised traefik-base-url ("/zoe/proxy").
	BasePath     string
	Routing      string
	ProxyDomain  string
	EntryPoints  []string
	TLS          bool
	CertResolver string
}

// The settings a SettingError can name.
const (
	SettingRouting      = "routing"
	SettingProxyDomain  = "proxy-domain"
	SettingEntryPoints  = "entrypoints"
	SettingCertResolver = "cert-resolver"
)

// SettingError names the setting at fault and the value refused, so that
// a caller can name its own flag or key for it.
type SettingError struct {
	Setting string
	Value   string
	Message string
}

func (e *SettingError) Error() string { return e.Message }

// Validate checks the settings once, at start-up: the one check of each
// routing setting (the command line maps its errors to flags).
func (s Settings) Validate() error {
	switch s.Routing {
	case RoutingPath:
	case RoutingHost:
		if s.ProxyDomain == "" {
			return &SettingError{Setting: SettingProxyDomain, Message: "routing host needs a proxy domain"}
		}
		if err := ValidateProxyDomain(s.ProxyDomain); err != nil {
			return err
		}
	default:
		return &SettingError{Setting: SettingRouting, Value: s.Routing,
			Message: fmt.Sprintf("routing must be %q or %q, not %q", RoutingPath, RoutingHost, s.Routing)}
	}
	for _, ep := range s.EntryPoints {
		if err := kvschema.ValidateName(ep); err != nil {
			return &SettingError{Setting: SettingEntryPoints, Value: ep, Message: "entrypoints: " + err.Error()}
		}
	}
	if s.CertResolver != "" {
		if err := kvschema.ValidateName(s.CertResolver); err != nil {
			return &SettingError{Setting: SettingCertResolver, Value: s.CertResolver, Message: "cert resolver: " + err.Error()}
		}
	}
	return nil
}

// ValidateProxyDomain checks the DNS domain of host routing's host names.
func ValidateProxyDomain(domain string) error {
	if err := kvschema.ValidateHost(domain); err != nil {
		return &SettingError{Setting: SettingProxyDomain, Value: domain, Message: "proxy domain: " + err.Error()}
	}
	return nil
}

// EnvName is the variable that tells an application its public path.
func EnvName(port int) string { return "REVERSE_PROXY_PATH_" + strconv.Itoa(port) }

// Routes are the routes of a hook's execution (found at "execution"); see
// RoutesAt.
func Routes(e *Execution, s Settings, d *keys.Deriver, withBackends bool) ([]state.Route, error) {
	return RoutesAt(e, "execution", s, d, withBackends)
}

// RoutesAt validates the execution found at the request path at, once, and
// returns the routes it should have: one per proxied port, sorted by
// service and port. Every error is a FieldError under at. Without backends
// (prepare) Traefik.Backend is left empty. The Traefik name is left empty:
// it is given at creation.
func RoutesAt(e *Execution, at Path, s Settings, d *keys.Deriver, withBackends bool) ([]state.Route, error) {
	if err := e.Validate(at, withBackends); err != nil {
		return nil, err
	}
	var routes []state.Route
	hosts := map[string]bool{}
	for i, svc := range e.Services {
		proxied := 0
		for _, port := range svc.Ports {
			if port.Proxy {
				proxied++
			}
		}
		for j, port := range svc.Ports {
			if !port.Proxy {
				continue
			}
			field := at.Key("services").Index(i).Key("ports").Index(j)
			route, err := newRoute(string(e.ID), svc.Name, port, proxied > 1, s, d, withBackends)
			if errors.Is(err, keys.ErrHyphenInID) || errors.Is(err, keys.ErrUpperCaseInID) {
				return nil, at.Key("id").Errorf("%v", err)
			}
			if errors.Is(err, keys.ErrUpperCaseInService) {
				return nil, at.Key("services").Index(i).Key("name").Errorf("%v", err)
			}
			if err != nil {
				return nil, field.Errorf("%v", err)
			}
			if route.Host != "" {
				// Names like "svc" port 8888 and "svc-8888" could meet.
				if hosts[route.Host] {
					return nil, field.Errorf("host %s is already used by another port of this execution", route.Host)
				}
				hosts[route.Host] = true
			}
			routes = append(routes, route)
		}
	}
	sort.Slice(routes, func(a, b int) bool {
		if routes[a].Service != routes[b].Service {
			return routes[a].Service < routes[b].Service
		}
		return routes[a].Port < routes[b].Port
	})
	return routes, nil
}

// newRoute builds one port's route. In host routing a service with several
// proxied ports gets one host per port ("<service>-<port>-<execution>-...").
func newRoute(executionID, service string, port Port, hostPerPort bool, s Settings, d *keys.Deriver, withBackend bool) (state.Route, error) {
	key := d.Key(executionID, service, port.PortNumber)
	r := state.Route{
		ExecutionID: executionID,
		Service:     service,
		Port:        port.PortNumber,
		Key:         key,
		Traefik:     kvschema.Route{EntryPoints: s.EntryPoints},
	}
	var err error
	switch s.Routing {
	case RoutingHost:
		label := service
		if hostPerPort {
			label += "-" + strconv.Itoa(port.PortNumber)
		}
		if r.Host, err = keys.HostName(label, executionID, d.Deployment(), s.ProxyDomain); err != nil {
			return r, err
		}
		r.Path = "/"
		r.Traefik.Rule, err = kvschema.HostRule(r.Host)
	default:
		r.Path = keys.PublicPath(s.BasePath, key)
		r.Traefik.Rule, err = kvschema.PathRule(r.Path)
		if port.StripPrefix {
			r.Traefik.StripPrefix = r.Path
		}
	}
	if err != nil {
		return r, err
	}
	if s.TLS || s.CertResolver != "" {
		r.Traefik.TLS = &kvschema.RouterTLSConfig{CertResolver: s.CertResolver}
	}
	if withBackend {
		// Validate has checked the scheme, address and port it is made of.
		if r.Traefik.Backend, err = port.Backend(); err != nil {
			return r, err
		}
	}
	return r, nil
}

// RouterName names a new route's Traefik objects after its key and the
// revision that creates it, so a name is never used twice even when the
// same execution is started again after a stop.
func RouterName(key string, revision int64) string {
	return "zsc-" + key[:16] + "-" + strconv.FormatInt(revision, 10)
}

// StaticRoutePriority is a path-routed static route's priority: above
// kvschema.MaxValueLength, the longest rule that validates, so above the
// priority Traefik derives (the rule's length) for any execution's route.
const StaticRoutePriority = 1_000_000

// StaticRouteLastPriority is a host-routed static route's priority: the
// lowest there is (0 lets Traefik derive one).
const StaticRouteLastPriority = 1

// StaticRoute is a fixed route the sidecar keeps in Traefik, such as Zoe's
// own web UI under its reverse-proxy-path: named "zsc-static-<name>", path
// routing with the same entry points and TLS as execution routes. Zoe's UI
// serves under its path, so nothing is stripped; websockets pass through
// Traefik unchanged.
func StaticRoute(name, path, backend string, s Settings) (kvschema.Route, error) {
	r := kvschema.Route{Name: "zsc-static-" + name, Backend: backend, EntryPoints: s.EntryPoints}
	var err error
	switch {
	case s.Routing == RoutingPath && !strings.HasPrefix(path+"/", s.BasePath+"/"):
		// No request both this rule and a proxied path's matches: either
		// the proxied paths lie elsewhere or the rule excludes them (below).
		// Going first changes which rules Traefik tries, never which one
		// answers, and spares each request to it a pass over every
		// execution's route.
		r.Priority = StaticRoutePriority
	case s.Routing == RoutingHost:
		// The rule has no host: an application's host has this path too,
		// and a host rule shorter than this rule would come after it by
		// Traefik's derived priority. Last, so an application's host is
		// the application's whatever the path.
		r.Priority = StaticRouteLastPriority
	}
	switch {
	case s.Routing != RoutingPath || !strings.HasPrefix(s.BasePath+"/", path+"/"):
		r.Rule, err = kvschema.PathRule(path)
	case s.BasePath == path:
		err = fmt.Errorf("%w: static route %s at %s would take every proxied path (%s)", kvschema.ErrInvalid, name, path, s.BasePath)
	default:
		// The proxied paths lie below this one: keep them out, so that a
		// stopped route answers 404 instead of reaching this backend.
		r.Rule, err = kvschema.PathRuleExcept(path, s.BasePath)
	}
	if err != nil {
		return r, err
	}
	if s.TLS || s.CertResolver != "" {
		r.TLS = &kvschema.RouterTLSConfig{CertResolver: s.CertResolver}
	}
	return r, r.Validate()
}
