package execution

import (
	"fmt"
	"strconv"
)

// Path is where a value sits in the JSON request that carried it
// ("executions[1].services[0].ports[2]"). Callers pass the path of the
// execution in their request ("execution" in a hook, "executions[1]" in a
// resync) and every error below it is named from there, so an error always
// names the field the client sent.
type Path string

// Key is the path of an object member.
func (p Path) Key(name string) Path {
	if p == "" {
		return Path(name)
	}
	return p + "." + Path(name)
}

// Index is the path of an array element.
func (p Path) Index(i int) Path { return p + "[" + Path(strconv.Itoa(i)) + "]" }

// Errorf is a FieldError naming p.
func (p Path) Errorf(format string, args ...any) *FieldError {
	return &FieldError{Field: string(p), Message: fmt.Sprintf(format, args...)}
}

// FieldError is a validation error that names the JSON field at fault.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }
