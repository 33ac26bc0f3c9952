// Package kvschema is the part of Traefik v3's dynamic configuration that the
// sidecar writes, and its encoding as flat ZooKeeper key/value pairs.
//
// Everything here is pure: no I/O. The encoding follows the layout Traefik's
// KV providers read (http/routers/<name>/rule, http/services/<name>/
// loadBalancer/servers/0/url, ...) with two rules that Traefik's ZooKeeper
// provider makes important:
//
//   - every directory znode carries the value "true": Traefik re-reads empty
//     znodes several times on every reload, and "true" is the only non-empty
//     value that never disables an allowEmpty element;
//   - every name that becomes a path segment, and every value that reaches a
//     router rule, is validated so that nothing can escape its own route.
package kvschema
