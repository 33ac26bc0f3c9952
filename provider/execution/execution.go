// Package execution is the sidecar's input model: a Zoe execution with its
// services and ports as the master posts it, its validation (errors name the
// offending JSON field), and the routes it should have. Pure: no I/O.
package execution

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"reflect"
	"strconv"
	"strings"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
)

// Execution is a group of services started together.
type Execution struct {
	ID       ID        `json:"id"`
	Name     string    `json:"name,omitempty"`
	Owner    string    `json:"owner,omitempty"`
	Services []Service `json:"services,omitempty"`
}

// Service is one container of an execution, named the way Zoe names
// instances ("jupyter0").
type Service struct {
	Name  string `json:"name"`
	Ports []Port `json:"ports,omitempty"`
}

// Port is a ZApp port description plus where it runs.
type Port struct {
	Name         string `json:"name,omitempty"`
	PortNumber   int    `json:"port_number"`
	Protocol     string `json:"protocol,omitempty"`
	Proxy        bool   `json:"proxy,omitempty"`
	URLTemplate  string `json:"url_template,omitempty"`
	ExternalIP   string `json:"external_ip,omitempty"`
	ExternalPort int    `json:"external_port,omitempty"`
	// StripPrefix asks Traefik to remove the public path before forwarding,
	// for applications that cannot serve under REVERSE_PROXY_PATH_<port>.
	StripPrefix bool `json:"strip_prefix,omitempty"`
}

// ID is an execution id; Zoe sends it as a JSON integer, others as a string.
type ID string

// UnmarshalJSON accepts a JSON string or an integer; null is a no-op, as
// for encoding/json's own types, so that Validate reports the missing id.
func (id *ID) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if string(data) == "null" {
		return nil
	}
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*id = ID(s)
		return nil
	}
	// An UnmarshalTypeError lets encoding/json add the field path
	// ("execution.id"), so the API can name the field.
	notAnID := &json.UnmarshalTypeError{Value: string(data) + " (want a string or an integer)", Type: reflect.TypeOf(ID(""))}
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&n); err != nil {
		return notAnID
	}
	if _, err := strconv.ParseInt(n.String(), 10, 64); err != nil {
		return notAnID
	}
	*id = ID(n.String())
	return nil
}

// ValidateID checks an execution id: it becomes a znode name and part of
// keys and host names, so it must be a DNS-label-like token.
func ValidateID(id ID, at Path) error {
	if id == "" {
		return at.Errorf("required")
	}
	if err := kvschema.ValidateName(string(id)); err != nil {
		return at.Errorf("must be 1-63 letters, digits or inner '-'")
	}
	return nil
}

// Validate checks the execution found at the request path at. With
// needBackend (a start), every proxied port must say where it runs; prepare
// needs only names and port numbers. Routes runs it; what it accepts the
// route building and the encoding rely on.
func (e *Execution) Validate(at Path, needBackend bool) error {
	if err := ValidateID(e.ID, at.Key("id")); err != nil {
		return err
	}
	seenServices := map[string]bool{}
	for i, svc := range e.Services {
		sf := at.Key("services").Index(i)
		if err := kvschema.ValidateName(svc.Name); err != nil {
			return sf.Key("name").Errorf("must be 1-63 letters, digits or inner '-'")
		}
		if seenServices[svc.Name] {
			return sf.Key("name").Errorf("duplicate service name %q", svc.Name)
		}
		seenServices[svc.Name] = true
		seenPorts := map[int]bool{}
		for j, port := range svc.Ports {
			pf := sf.Key("ports").Index(j)
			if err := port.validate(pf, needBackend); err != nil {
				return err
			}
			if !port.Proxy {
				continue
			}
			if seenPorts[port.PortNumber] {
				return pf.Key("port_number").Errorf("duplicate proxied port %d", port.PortNumber)
			}
			seenPorts[port.PortNumber] = true
		}
	}
	return nil
}

func (p Port) validate(at Path, needBackend bool) error {
	// A missing number decodes as 0, which no port has: say what is wanted.
	if p.PortNumber == 0 {
		return at.Key("port_number").Errorf("required: 1-65535")
	}
	if p.PortNumber < 1 || p.PortNumber > 65535 {
		return at.Key("port_number").Errorf("must be 1-65535")
	}
	// Users type the protocol in any case ("TCP"); nothing else reads it.
	switch strings.ToLower(p.Protocol) {
	case "", "tcp":
	case "udp":
		if p.Proxy {
			return at.Key("protocol").Errorf("udp ports cannot be proxied over HTTP")
		}
	default:
		return at.Key("protocol").Errorf("must be tcp or udp")
	}
	if !p.Proxy {
		return nil
	}
	if _, err := p.Scheme(); err != nil {
		return at.Key("url_template").Errorf("%v", err)
	}
	if !needBackend {
		return nil
	}
	if p.ExternalIP == "" {
		return at.Key("external_ip").Errorf("required to start a proxied port")
	}
	if net.ParseIP(p.ExternalIP) == nil && kvschema.ValidateHost(strings.ToLower(p.ExternalIP)) != nil {
		return at.Key("external_ip").Errorf("must be an IP address or a DNS name")
	}
	if p.ExternalPort == 0 {
		return at.Key("external_port").Errorf("required to start a proxied port: 1-65535")
	}
	if p.ExternalPort < 1 || p.ExternalPort > 65535 {
		return at.Key("external_port").Errorf("must be 1-65535")
	}
	return nil
}

// Scheme is the backend scheme taken from the url_template ("https://..." →
// https); http when there is no template.
func (p Port) Scheme() (string, error) {
	if p.URLTemplate == "" {
		return "http", nil
	}
	scheme, _, ok := strings.Cut(p.URLTemplate, "://")
	if !ok {
		return "http", nil
	}
	switch strings.ToLower(scheme) {
	case "http", "ws":
		return "http", nil
	case "https", "wss":
		return "https", nil
	default:
		return "", fmt.Errorf("scheme %q is not http or https", scheme)
	}
}

// Backend is scheme://external_ip:external_port.
func (p Port) Backend() (string, error) {
	scheme, err := p.Scheme()
	if err != nil {
		return "", err
	}
	host := strings.ToLower(p.ExternalIP)
	return scheme + "://" + net.JoinHostPort(host, strconv.Itoa(p.ExternalPort)), nil
}
