package kvschema

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameLength is the longest name accepted as a path segment (a DNS label).
const MaxNameLength = 63

// MaxValueLength bounds a single znode value; real values are far shorter.
const MaxValueLength = 4096

// ErrInvalid is wrapped by every validation error of this package.
var ErrInvalid = errors.New("invalid")

// ValidateName checks a name that becomes a znode path segment or a Traefik
// object name: a DNS-label-like token of letters, digits and inner hyphens.
// That excludes "/", ".", "@", whitespace and anything that means something
// to ZooKeeper, to Traefik's decoder or to a rule.
func ValidateName(name string) error {
	if name == "" {
		return fmt.Errorf("%w name: empty", ErrInvalid)
	}
	if len(name) > MaxNameLength {
		return fmt.Errorf("%w name %q: longer than %d characters", ErrInvalid, name, MaxNameLength)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isAlphaNum(c) && c != '-' {
			return fmt.Errorf("%w name %q: character %q not allowed (letters, digits and '-' only)", ErrInvalid, name, rune(c))
		}
	}
	if name[0] == '-' || name[len(name)-1] == '-' {
		return fmt.Errorf("%w name %q: must not start or end with '-'", ErrInvalid, name)
	}
	return nil
}

// validateKeyName checks a name that becomes a map key in Traefik's
// configuration (router, service, middleware or header name): ValidateName,
// and not all digits, because Traefik's KV decoder reads an all-digit path
// segment as a list index ("routers/0" becomes the router "[0]").
func validateKeyName(name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	for i := 0; i < len(name); i++ {
		if name[i] < '0' || name[i] > '9' {
			return nil
		}
	}
	return fmt.Errorf("%w name %q: must not be all digits (read as a list index)", ErrInvalid, name)
}

// ValidateValue checks a znode value: valid UTF-8, bounded, no control characters.
func ValidateValue(value string) error {
	if len(value) > MaxValueLength {
		return fmt.Errorf("%w value: longer than %d bytes", ErrInvalid, MaxValueLength)
	}
	if !utf8.ValidString(value) {
		return fmt.Errorf("%w value %q: not valid UTF-8", ErrInvalid, value)
	}
	for _, r := range value {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w value %q: control character %U", ErrInvalid, value, r)
		}
	}
	return nil
}

// validateConfiguration checks what the generic encoder cannot: list
// elements (joined with commas by the encoder) and names used as references.
func validateConfiguration(cfg *Configuration) error {
	if cfg.HTTP == nil {
		return nil
	}
	// The encoder would silently drop an empty map; Traefik cannot decode
	// one, so an empty map here is a caller's mistake.
	if m := cfg.HTTP.Routers; m != nil && len(m) == 0 {
		return fmt.Errorf("%w routers: empty map", ErrInvalid)
	}
	if m := cfg.HTTP.Services; m != nil && len(m) == 0 {
		return fmt.Errorf("%w services: empty map", ErrInvalid)
	}
	if m := cfg.HTTP.Middlewares; m != nil && len(m) == 0 {
		return fmt.Errorf("%w middlewares: empty map", ErrInvalid)
	}
	// Traefik's decoder matches names case-insensitively: "Web" and "web"
	// would be merged into one element.
	if err := uniqueFold("routers", cfg.HTTP.Routers); err != nil {
		return err
	}
	if err := uniqueFold("services", cfg.HTTP.Services); err != nil {
		return err
	}
	if err := uniqueFold("middlewares", cfg.HTTP.Middlewares); err != nil {
		return err
	}
	for name, router := range cfg.HTTP.Routers {
		if router == nil {
			return fmt.Errorf("%w router %q: nil", ErrInvalid, name)
		}
		for _, ep := range router.EntryPoints {
			if err := ValidateName(ep); err != nil {
				return fmt.Errorf("router %q entryPoints: %w", name, err)
			}
		}
		for _, mw := range router.Middlewares {
			if err := ValidateName(mw); err != nil {
				return fmt.Errorf("router %q middlewares: %w", name, err)
			}
		}
		if router.Service != "" {
			if err := ValidateName(router.Service); err != nil {
				return fmt.Errorf("router %q service: %w", name, err)
			}
		}
	}
	for name, mw := range cfg.HTTP.Middlewares {
		if mw == nil {
			return fmt.Errorf("%w middleware %q: nil", ErrInvalid, name)
		}
		if mw.Headers != nil {
			if err := uniqueFold("middleware "+strconv.Quote(name)+" customRequestHeaders", mw.Headers.CustomRequestHeaders); err != nil {
				return err
			}
			if err := uniqueFold("middleware "+strconv.Quote(name)+" customResponseHeaders", mw.Headers.CustomResponseHeaders); err != nil {
				return err
			}
		}
		if mw.StripPrefix != nil {
			for _, prefix := range mw.StripPrefix.Prefixes {
				if err := ValidatePath(prefix); err != nil {
					return fmt.Errorf("middleware %q stripPrefix: %w", name, err)
				}
			}
		}
	}
	for name, svc := range cfg.HTTP.Services {
		if svc == nil {
			return fmt.Errorf("%w service %q: nil", ErrInvalid, name)
		}
	}
	return nil
}

// uniqueFold rejects two keys of m that differ only in case.
func uniqueFold[V any](what string, m map[string]V) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	seen := make(map[string]string, len(keys))
	for _, k := range keys {
		lower := strings.ToLower(k)
		if other, ok := seen[lower]; ok {
			return fmt.Errorf("%w %s: names %q and %q differ only in case", ErrInvalid, what, other, k)
		}
		seen[lower] = k
	}
	return nil
}

func isAlphaNum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
