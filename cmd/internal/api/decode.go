package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/execution"
)

// DecodeStrict decodes one JSON value into v and refuses what a lenient
// decoder would let pass unnoticed: a member v does not have (a misspelt
// "strip_prefx" would otherwise be dropped), a member given twice (the
// last would otherwise win), a member name in another case than its own
// (they are matched exactly), invalid UTF-8, and trailing data. Every error
// is a FieldError naming the JSON path at fault ("body" for the document
// itself).
func DecodeStrict(body []byte, v any) error {
	err := jsonv2.Unmarshal(body, v, jsonv2.RejectUnknownMembers(true))
	if err == nil {
		return nil
	}
	target := reflect.TypeOf(v)
	var syntax *jsontext.SyntacticError
	if errors.As(err, &syntax) {
		if errors.Is(syntax.Err, jsontext.ErrDuplicateName) {
			return &execution.FieldError{Field: fieldOf(target, syntax.JSONPointer), Message: "given twice; each key may appear once"}
		}
		return &execution.FieldError{Field: "body", Message: "malformed JSON: " + strings.TrimPrefix(syntax.Error(), "jsontext: ")}
	}
	var semantic *jsonv2.SemanticError
	if errors.As(err, &semantic) {
		field := fieldOf(target, semantic.JSONPointer)
		if errors.Is(semantic.Err, jsonv2.ErrUnknownName) {
			return &execution.FieldError{Field: field, Message: "unknown field"}
		}
		got := kindName(semantic.JSONKind)
		// A type's own UnmarshalJSON (the execution id's) says what it wants.
		var typeErr *json.UnmarshalTypeError
		if errors.As(semantic.Err, &typeErr) {
			got = typeErr.Value
		}
		if semantic.JSONKind == '0' && semantic.GoType != nil && semantic.GoType.Kind() == reflect.Int {
			return &execution.FieldError{Field: field, Message: fmt.Sprintf("want an integer, got %s", semantic.JSONValue)}
		}
		return &execution.FieldError{Field: field, Message: "wrong type: got JSON " + got}
	}
	return &execution.FieldError{Field: "body", Message: err.Error()}
}

// fieldOf turns a JSON pointer ("/executions/1/id") into the path clients
// see ("executions[1].id"), telling array indexes from member names by the
// Go type the pointer walks through.
func fieldOf(t reflect.Type, ptr jsontext.Pointer) string {
	var p execution.Path
	for tok := range ptr.Tokens() {
		for t != nil && t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t != nil && t.Kind() == reflect.Slice {
			if i, err := strconv.Atoi(tok); err == nil {
				p = p.Index(i)
				t = t.Elem()
				continue
			}
		}
		p = p.Key(tok)
		t = memberType(t, tok)
	}
	if p == "" {
		return "body"
	}
	return string(p)
}

// memberType is the type of t's member named name in JSON; nil when t is
// not a struct or has no such member.
func memberType(t reflect.Type, name string) reflect.Type {
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && tag == "" {
			if mt := memberType(f.Type, name); mt != nil {
				return mt
			}
			continue
		}
		if tag == name || (tag == "" && f.Name == name) {
			return f.Type
		}
	}
	return nil
}

func kindName(k jsontext.Kind) string {
	switch k {
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 0:
		return "value"
	default:
		return k.String()
	}
}
