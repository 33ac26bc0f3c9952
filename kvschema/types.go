package kvschema

// Configuration is the root of the dynamic configuration subset.
// The json tags are the key names Traefik documents for its KV providers;
// the encoder uses them as ZooKeeper path segments.
type Configuration struct {
	HTTP *HTTPConfiguration `json:"http,omitempty"`
}

// HTTPConfiguration holds the HTTP routers, services and middlewares.
type HTTPConfiguration struct {
	Routers     map[string]*Router     `json:"routers,omitempty"`
	Services    map[string]*Service    `json:"services,omitempty"`
	Middlewares map[string]*Middleware `json:"middlewares,omitempty"`
}

// Router matches requests with Rule and sends them to Service.
type Router struct {
	EntryPoints []string `json:"entryPoints,omitempty"`
	Middlewares []string `json:"middlewares,omitempty"`
	Service     string   `json:"service,omitempty"`
	Rule        string   `json:"rule,omitempty"`
	// Priority is a pointer so that "unset" (Traefik derives it from the
	// rule length) is not written as a znode.
	Priority *int             `json:"priority,omitempty"`
	TLS      *RouterTLSConfig `json:"tls,omitempty" label:"allowEmpty"`
}

// RouterTLSConfig enables TLS on a router; an empty one means "tls = true".
type RouterTLSConfig struct {
	CertResolver string `json:"certResolver,omitempty"`
}

// Service is a load-balanced set of servers.
type Service struct {
	LoadBalancer *ServersLoadBalancer `json:"loadBalancer,omitempty"`
}

// ServersLoadBalancer lists the servers of a service.
type ServersLoadBalancer struct {
	Servers        []Server `json:"servers,omitempty"`
	PassHostHeader *bool    `json:"passHostHeader,omitempty"`
}

// Server is one backend, given as scheme://host:port (Traefik ignores a path).
type Server struct {
	URL string `json:"url,omitempty"`
}

// Middleware is one of the middleware kinds the sidecar uses.
type Middleware struct {
	StripPrefix *StripPrefix `json:"stripPrefix,omitempty"`
	Headers     *Headers     `json:"headers,omitempty"`
}

// StripPrefix removes one of Prefixes from the request path.
type StripPrefix struct {
	Prefixes []string `json:"prefixes,omitempty"`
}

// Headers adds request or response headers.
type Headers struct {
	CustomRequestHeaders  map[string]string `json:"customRequestHeaders,omitempty"`
	CustomResponseHeaders map[string]string `json:"customResponseHeaders,omitempty"`
}
