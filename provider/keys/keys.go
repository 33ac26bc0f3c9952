// Package keys derives the per-port route key, its public path and, in host
// routing mode, its host name. Pure functions: the same inputs give the same
// results on every replica and after restarts, which is what lets Zoe ask for
// REVERSE_PROXY_PATH_<port> before a container exists and retry freely.
package keys

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
)

// MinSecretLength is the shortest key secret accepted (128 bits as hex or text).
const MinSecretLength = 16

// Deriver computes route keys from a secret that never leaves it.
type Deriver struct {
	secret     []byte
	deployment string
}

// NewDeriver checks the secret and deployment name.
func NewDeriver(secret []byte, deployment string) (*Deriver, error) {
	if len(secret) < MinSecretLength {
		return nil, fmt.Errorf("key secret: at least %d bytes required", MinSecretLength)
	}
	if err := kvschema.ValidateName(deployment); err != nil {
		return nil, fmt.Errorf("deployment name: %w", err)
	}
	return &Deriver{secret: append([]byte(nil), secret...), deployment: deployment}, nil
}

// String hides the secret from any log line that prints the deriver.
func (d *Deriver) String() string { return "keys.Deriver{deployment:" + d.deployment + "}" }

// Deployment is the deployment name the keys are bound to.
func (d *Deriver) Deployment() string { return d.deployment }

// Key is HMAC-SHA256(secret, deployment/execution/service/port) as 64 lowercase
// hex characters (256 bits). The parts are validated by the caller to contain
// no "/", so distinct inputs give distinct messages.
func (d *Deriver) Key(executionID, service string, port int) string {
	mac := hmac.New(sha256.New, d.secret)
	mac.Write([]byte(d.deployment + "/" + executionID + "/" + service + "/" + strconv.Itoa(port)))
	return hex.EncodeToString(mac.Sum(nil))
}

// NormalizeBasePath turns any spelling of the base URL path ("/zoe/proxy",
// "zoe/proxy/", "/zoe//proxy/") into "/zoe/proxy"; "/" and "" give "".
func NormalizeBasePath(base string) (string, error) {
	var parts []string
	for _, seg := range strings.Split(base, "/") {
		if seg != "" {
			parts = append(parts, seg)
		}
	}
	if len(parts) == 0 {
		return "", nil
	}
	path := "/" + strings.Join(parts, "/")
	if err := kvschema.ValidatePath(path); err != nil {
		return "", fmt.Errorf("traefik-base-url: %w", err)
	}
	// Every public path is the base plus "/<64 hex key>"; a base that
	// leaves no room for it would pass start-up and fail every hook.
	if err := kvschema.ValidatePath(PublicPath(path, strings.Repeat("0", hex.EncodedLen(sha256.Size)))); err != nil {
		return "", fmt.Errorf("traefik-base-url: too long: %d characters plus /<key> exceed the path limit: %w", len(path), err)
	}
	return path, nil
}

// PublicPath joins a normalised base path and a key: "/zoe/proxy/<key>".
func PublicPath(normalizedBase, key string) string {
	return normalizedBase + "/" + key
}

// ErrHostName is wrapped when a host name cannot be built from the parts.
var ErrHostName = errors.New("invalid host name")

// ErrHyphenInID is wrapped too when the execution id is what makes the host
// name impossible, so a caller can name the id as the field at fault.
var ErrHyphenInID = errors.New("must not contain '-' in host routing")

// ErrUpperCaseInID and ErrUpperCaseInService are wrapped too when the
// execution id or the service name holds an upper-case letter: host names
// ignore case, so "ABC" would get the host of a running "abc". Refusing
// them up front, rather than refusing only a clash with a running
// execution, keeps the answer the same on every replica, at prepare and
// in the offline key command, whichever execution came first.
var (
	ErrUpperCaseInID      = errors.New("must be lower case in host routing (host names ignore case)")
	ErrUpperCaseInService = errors.New("must be lower case in host routing (host names ignore case)")
)

// HostName is "<service>-<execution>-<deployment>.<domain>", lowercased, the
// naming Zoe used on Kubernetes. Every label must be a DNS label, and the
// service and execution id must already be lower case, so that distinct
// executions and services never share a host.
func HostName(service, executionID, deployment, domain string) (string, error) {
	if domain == "" {
		return "", fmt.Errorf("%w: proxy domain is not set", ErrHostName)
	}
	// Validate before lowercasing: strings.ToLower also folds some
	// non-ASCII letters into ASCII ones (the Kelvin sign U+212A into 'k',
	// U+0130 into 'i'), which would give two different inputs one host.
	// The execution id is the one part that varies between executions; with
	// no '-' in it, "<service>-<execution>-<deployment>" can be split back
	// uniquely (the deployment is fixed), so two executions never share a host.
	if strings.Contains(executionID, "-") {
		return "", fmt.Errorf("%w: execution id %q %w", ErrHostName, executionID, ErrHyphenInID)
	}
	if hasUpper(executionID) {
		return "", fmt.Errorf("%w: execution id %q %w", ErrHostName, executionID, ErrUpperCaseInID)
	}
	if hasUpper(service) {
		return "", fmt.Errorf("%w: service name %q %w", ErrHostName, service, ErrUpperCaseInService)
	}
	label := service + "-" + executionID + "-" + deployment
	if err := kvschema.ValidateName(label); err != nil {
		return "", fmt.Errorf("%w: %q is not a DNS label (letters, digits, '-', at most %d characters)", ErrHostName, label, kvschema.MaxNameLength)
	}
	domain = strings.Trim(domain, ".")
	for i := 0; i < len(domain); i++ {
		if domain[i] >= utf8.RuneSelf {
			return "", fmt.Errorf("%w: proxy domain %q is not ASCII (use its xn-- form)", ErrHostName, domain)
		}
	}
	host := strings.ToLower(label) + "." + strings.ToLower(domain)
	if err := kvschema.ValidateHost(host); err != nil {
		return "", fmt.Errorf("%w: %v", ErrHostName, err)
	}
	return host, nil
}

// hasUpper tells whether s holds an ASCII upper-case letter (other
// non-ASCII letters fail the DNS label check anyway).
func hasUpper(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r >= 'A' && r <= 'Z' })
}
