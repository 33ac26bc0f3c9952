package kvschema

import (
	"fmt"
	"strings"
)

// NeverMatchRule is a router rule no request can satisfy (a path that is
// both exactly "/" and not under "/"). Tombstones and the sentinel use it.
const NeverMatchRule = "Path(`/`) && !PathPrefix(`/`)"

// PathRule routes a path and everything below it, matching the last segment
// as a whole: "/p/k1" must not also serve "/p/k19".
func PathRule(path string) (string, error) {
	if err := ValidatePath(path); err != nil {
		return "", err
	}
	return fmt.Sprintf("Path(`%s`) || PathPrefix(`%s/`)", path, path), nil
}

// PathRuleExcept is PathRule(path) minus everything under excluded, a
// path below it: Zoe's UI at /zoe must not answer for /zoe/proxy/<key>
// once that route is stopped, which Traefik should answer with 404.
func PathRuleExcept(path, excluded string) (string, error) {
	rule, err := PathRule(path)
	if err != nil {
		return "", err
	}
	if err := ValidatePath(excluded); err != nil {
		return "", err
	}
	if !strings.HasPrefix(excluded, strings.TrimSuffix(path, "/")+"/") {
		return "", fmt.Errorf("%w path %q: not below %q", ErrInvalid, excluded, path)
	}
	return fmt.Sprintf("(%s) && !PathPrefix(`%s/`)", rule, excluded), nil
}

// HostRule routes every request for one host name.
func HostRule(host string) (string, error) {
	if err := ValidateHost(host); err != nil {
		return "", err
	}
	return fmt.Sprintf("Host(`%s`)", host), nil
}

// ValidatePath accepts "/seg/seg..." where each segment uses only RFC 3986
// unreserved characters and is not "." or "..". Nothing else can reach a
// rule, so a backquote, backslash, parenthesis, quote, space or control
// character can never end the backquoted string or add a matcher.
func ValidatePath(path string) error {
	if path == "" || path[0] != '/' {
		return fmt.Errorf("%w path %q: must start with '/'", ErrInvalid, path)
	}
	if len(path) > 1024 {
		return fmt.Errorf("%w path: longer than 1024 characters", ErrInvalid)
	}
	for _, seg := range strings.Split(path[1:], "/") {
		if seg == "" {
			return fmt.Errorf("%w path %q: empty segment", ErrInvalid, path)
		}
		if seg == "." || seg == ".." {
			return fmt.Errorf("%w path %q: dot segment", ErrInvalid, path)
		}
		for i := 0; i < len(seg); i++ {
			if c := seg[i]; !isAlphaNum(c) && !strings.ContainsRune("-._~", rune(c)) {
				return fmt.Errorf("%w path %q: character %q not allowed", ErrInvalid, path, rune(c))
			}
		}
	}
	return nil
}

// ValidateHost accepts a lowercase DNS name: dot-separated labels of
// letters, digits and inner hyphens, at most 253 characters.
func ValidateHost(host string) error {
	if host == "" || len(host) > 253 {
		return fmt.Errorf("%w host %q: must be 1 to 253 characters", ErrInvalid, host)
	}
	if host != strings.ToLower(host) {
		return fmt.Errorf("%w host %q: must be lowercase", ErrInvalid, host)
	}
	for _, label := range strings.Split(host, ".") {
		if err := ValidateName(label); err != nil {
			return fmt.Errorf("%w host %q: label %q is not a DNS label", ErrInvalid, host, label)
		}
	}
	return nil
}
