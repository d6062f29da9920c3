package config

import (
	"fmt"
	"strings"

	"github.com/xdrhook/xdrhook/shape"
	"github.com/xdrhook/xdrhook/wire"
)

// PathTemplate is destinations.*.path: text appended to each URL, where
// {namespace} and {set} stand for the record's namespace and set name
// (empty when the record has none), escaped as path segments. It is a
// shape template (destinations.*.request's) limited to those two
// placeholders, the ones a batch of records can share.
type PathTemplate struct {
	text string
	tpl  *shape.Template // nil for ""
}

func parsePathTemplate(s string) (*PathTemplate, error) {
	t := &PathTemplate{text: s}
	if s == "" {
		return t, nil
	}
	tpl, err := shape.Parse(s, shape.PlacePath)
	if err != nil {
		if name := otherPlaceholder(s); name != "" {
			return nil, fmt.Errorf("unknown placeholder {%s}: the placeholders are {namespace} and {set}", name)
		}
		return nil, err
	}
	if tpl.PerRecord() {
		return nil, fmt.Errorf("unknown placeholder {%s}: the placeholders are {namespace} and {set}", otherPlaceholder(s))
	}
	t.tpl = tpl
	return t, nil
}

// otherPlaceholder returns the first placeholder of s other than
// {namespace} and {set}, or "".
func otherPlaceholder(s string) string {
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			return ""
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return ""
		}
		if name := s[i+1 : i+j]; name != "namespace" && name != "set" {
			return name
		}
		s = s[i+j+1:]
	}
}

// String returns the template as written.
func (t *PathTemplate) String() string { return t.text }

// IsStatic reports whether the path is the same for every record. When it
// is not, records of different namespaces (or sets) cannot share a request:
// batch per (profile, namespace, set).
func (t *PathTemplate) IsStatic() bool { return !strings.Contains(t.text, "{") }

// UsesSet reports whether the path contains {set}.
func (t *PathTemplate) UsesSet() bool { return strings.Contains(t.text, "{set}") }

// Append appends the path for m to dst, escaping the names as path
// segments (RFC 3986 unreserved characters are kept, every other byte is
// %XX). It allocates only if dst must grow.
func (t *PathTemplate) Append(dst []byte, m *wire.Message) []byte {
	if t.tpl == nil {
		return dst
	}
	dst, _ = t.tpl.Append(dst, m, shape.MissingFail) // a namespace or set is never missing
	return dst
}
