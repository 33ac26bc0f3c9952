//go:build tools

// Package traefik only records the Traefik command as a dependency.
package traefik

import _ "github.com/traefik/traefik/v3/cmd/traefik"
