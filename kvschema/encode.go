package kvschema

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/traefik/paerser/parser"
)

// DirectoryValue is stored in every directory znode (see the package doc).
const DirectoryValue = "true"

// labelRoot is the root name paerser's node tree uses; it never reaches ZooKeeper.
const labelRoot = "traefik"

// sliceSeparator is how paerser joins a slice of strings into one node value.
const sliceSeparator = ", "

// KV is one znode: its absolute path and its value.
type KV struct {
	Key   string
	Value string
}

// Encode turns cfg into the znodes Traefik reads under the root key: every
// directory on the way to a value holds "true", lists become /0, /1, ...
// The result is sorted by key, so parents come before their children.
func Encode(rootKey string, cfg *Configuration) ([]KV, error) {
	if cfg == nil {
		if _, err := RootPath(rootKey); err != nil {
			return nil, err
		}
		return nil, nil
	}
	if err := validateConfiguration(cfg); err != nil {
		return nil, err
	}
	return encodeValid(rootKey, cfg)
}

// encodeValid is Encode of a configuration already checked.
func encodeValid(rootKey string, cfg *Configuration) ([]KV, error) {
	rootPath, err := RootPath(rootKey)
	if err != nil {
		return nil, err
	}
	node, err := parser.EncodeToNode(cfg, labelRoot, parser.EncoderToNodeOpts{OmitEmpty: true, TagName: parser.TagLabel})
	if err != nil {
		return nil, fmt.Errorf("encode configuration: %w", err)
	}
	if len(node.Children) == 0 {
		return nil, nil
	}
	// The metadata pass gives each node its Go kind and struct tag: the tag
	// carries the documented key name, the kind tells slices from scalars.
	// (The encoder silently drops maps without elements, which Traefik
	// cannot decode; validateConfiguration has rejected those already.)
	if err := parser.AddMetadata(cfg, node, parser.MetadataOpts{TagName: parser.TagLabel}); err != nil {
		return nil, fmt.Errorf("encode configuration: %w", err)
	}

	var kvs []KV
	for _, child := range node.Children {
		if err := flatten(child, rootPath, &kvs); err != nil {
			return nil, err
		}
	}
	sort.Slice(kvs, func(i, j int) bool { return kvs[i].Key < kvs[j].Key })
	return kvs, nil
}

func flatten(node *parser.Node, parent string, out *[]KV) error {
	segment, err := pathSegment(node)
	if err != nil {
		return err
	}
	path := parent + "/" + segment

	switch {
	case len(node.Children) > 0:
		*out = append(*out, KV{Key: path, Value: DirectoryValue})
		for _, child := range node.Children {
			if err := flatten(child, path, out); err != nil {
				return err
			}
		}
	case node.Value == "" && (node.Kind == reflect.Pointer || node.Kind == reflect.Struct):
		// A map element whose fields are all empty (a router with no
		// field set, a service without load balancer, ...) would become an
		// empty znode: slow for Traefik to read and not a valid element.
		return fmt.Errorf("%w %s: element has no content", ErrInvalid, path)
	case node.Kind == reflect.Slice:
		// paerser joins a slice of scalars into one value; Traefik's KV
		// layout wants one znode per element.
		if node.Value == "" {
			return nil
		}
		*out = append(*out, KV{Key: path, Value: DirectoryValue})
		for i, v := range strings.Split(node.Value, sliceSeparator) {
			if err := ValidateValue(v); err != nil {
				return fmt.Errorf("%s/%d: %w", path, i, err)
			}
			*out = append(*out, KV{Key: path + "/" + strconv.Itoa(i), Value: v})
		}
	default:
		if err := ValidateValue(node.Value); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		*out = append(*out, KV{Key: path, Value: node.Value})
	}
	return nil
}

// pathSegment is the documented key name of a struct field (its json tag),
// the index of a slice element, or a validated map key.
func pathSegment(node *parser.Node) (string, error) {
	if name, _, _ := strings.Cut(node.Tag.Get("json"), ","); name != "" {
		return name, nil
	}
	if strings.HasPrefix(node.Name, "[") && strings.HasSuffix(node.Name, "]") {
		return node.Name[1 : len(node.Name)-1], nil
	}
	if err := validateKeyName(node.Name); err != nil {
		return "", err
	}
	return node.Name, nil
}

// RootPath turns Traefik's rootkey setting ("traefik", "/traefik") into the
// absolute znode path ("/traefik").
func RootPath(rootKey string) (string, error) {
	trimmed := strings.Trim(rootKey, "/")
	if trimmed == "" {
		return "", fmt.Errorf("%w root key %q: must name at least one path segment", ErrInvalid, rootKey)
	}
	for _, seg := range strings.Split(trimmed, "/") {
		if err := ValidateName(seg); err != nil {
			return "", fmt.Errorf("root key %q: %w", rootKey, err)
		}
	}
	return "/" + trimmed, nil
}
