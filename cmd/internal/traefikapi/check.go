// Package traefikapi tells, from Traefik's API, whether Traefik serves
// routes exactly as the sidecar wrote them, or no longer routes them. The
// comparison is pure (check.go); the polling around it is thin (wait.go).
package traefikapi

import (
	"fmt"
	"slices"
	"strings"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
)

// Router is what Traefik's API shows of one HTTP router
// (GET /api/http/routers/<name>@<provider>).
type Router struct {
	Rule        string   `json:"rule"`
	Service     string   `json:"service"`
	Middlewares []string `json:"middlewares"`
	EntryPoints []string `json:"entryPoints"`
	Status      string   `json:"status"`
	Error       []string `json:"error"`
}

// Service is what Traefik's API shows of one HTTP service
// (GET /api/http/services/<name>@<provider>).
type Service struct {
	LoadBalancer *struct {
		Servers []struct {
			URL string `json:"url"`
		} `json:"servers"`
	} `json:"loadBalancer"`
	Status string   `json:"status"`
	Error  []string `json:"error"`
}

// enabled is Traefik's status of a router or service that is in use with
// no error; "warning" and "disabled" come with errors.
const enabled = "enabled"

// Served returns nil when Traefik's API shows route as written: the router
// enabled without error, with the rule, service, middlewares and (when the
// route names them) entry points written, and its service enabled without
// error with exactly the route's backend as its servers. router and service
// are nil when the API answered 404. provider is the suffix Traefik gives
// the names ("zookeeper"). Otherwise the error says what differs, for logs.
//
// Each part matters: a router can be listed while disabled because Traefik
// read the tree before the service was written, and a router of a changed
// route keeps its name and rule while Traefik still sends requests to the
// old backend until it reloads.
func Served(route kvschema.Route, provider string, router *Router, service *Service) error {
	want := route.Configuration().HTTP
	wantRouter := want.Routers[route.Name]
	if router == nil {
		return fmt.Errorf("router %s@%s: not in Traefik's configuration", route.Name, provider)
	}
	if err := usable("router", route.Name, provider, router.Status, router.Error); err != nil {
		return err
	}
	if router.Rule != wantRouter.Rule {
		return fmt.Errorf("router %s@%s: rule %q, written %q", route.Name, provider, router.Rule, wantRouter.Rule)
	}
	if !sameName(router.Service, wantRouter.Service, provider) {
		return fmt.Errorf("router %s@%s: service %q, written %q", route.Name, provider, router.Service, wantRouter.Service)
	}
	if !sameNames(router.Middlewares, wantRouter.Middlewares, provider) {
		return fmt.Errorf("router %s@%s: middlewares %q, written %q", route.Name, provider, router.Middlewares, wantRouter.Middlewares)
	}
	// Without entry points written, Traefik puts the router on its default ones.
	if len(wantRouter.EntryPoints) > 0 && !slices.Equal(router.EntryPoints, wantRouter.EntryPoints) {
		return fmt.Errorf("router %s@%s: entry points %q, written %q", route.Name, provider, router.EntryPoints, wantRouter.EntryPoints)
	}
	if service == nil {
		return fmt.Errorf("service %s@%s: not in Traefik's configuration", wantRouter.Service, provider)
	}
	if err := usable("service", wantRouter.Service, provider, service.Status, service.Error); err != nil {
		return err
	}
	var got []string
	if service.LoadBalancer != nil {
		for _, s := range service.LoadBalancer.Servers {
			got = append(got, s.URL)
		}
	}
	var written []string
	for _, s := range want.Services[wantRouter.Service].LoadBalancer.Servers {
		written = append(written, s.URL)
	}
	if !slices.Equal(got, written) {
		return fmt.Errorf("service %s@%s: servers %q, written %q", wantRouter.Service, provider, got, written)
	}
	return nil
}

// Unserved returns nil when Traefik routes no request with route's router:
// the router is gone, disabled (Traefik does not build it), or carries the
// rule of route's tombstone, which no request matches. route is the route
// as it was before it was stopped or replaced.
func Unserved(route kvschema.Route, provider string, router *Router) error {
	switch {
	case router == nil, router.Status == "disabled", router.Rule == route.Tombstone().Rule:
		return nil
	default:
		return fmt.Errorf("router %s@%s: still routes rule %q (status %s)", route.Name, provider, router.Rule, router.Status)
	}
}

func usable(kind, name, provider, status string, errs []string) error {
	if status != enabled || len(errs) > 0 {
		return fmt.Errorf("%s %s@%s: status %q, errors %q", kind, name, provider, status, strings.Join(errs, "; "))
	}
	return nil
}

// sameName compares a reference Traefik shows with the name written: the
// API shows it as written, or qualified with the provider.
func sameName(got, written, provider string) bool {
	return got == written || got == written+"@"+provider
}

func sameNames(got, written []string, provider string) bool {
	return slices.EqualFunc(got, written, func(g, w string) bool { return sameName(g, w, provider) })
}
