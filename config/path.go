package config

import (
	"fmt"
	"strings"
)

// PathTemplate is destinations.*.path: text appended to each URL, where
// {namespace} and {set} stand for the record's namespace and set name
// (empty when the record has none), escaped as path segments.
type PathTemplate struct {
	text  string
	parts []pathPart
}

type pathPart struct {
	lit string
	arg byte // 0 literal, 'n' namespace, 's' set
}

func parsePathTemplate(s string) (*PathTemplate, error) {
	t := &PathTemplate{text: s}
	if s == "" {
		return t, nil
	}
	if s[0] != '/' {
		return nil, fmt.Errorf("a path starts with /")
	}
	if strings.ContainsAny(s, "?# \t\r\n") {
		return nil, fmt.Errorf("a path may not contain spaces, ? or #")
	}
	for s != "" {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			t.parts = append(t.parts, pathPart{lit: s})
			break
		}
		if i > 0 {
			t.parts = append(t.parts, pathPart{lit: s[:i]})
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("%q has no closing }", s[i:])
		}
		switch name := s[i+1 : i+j]; name {
		case "namespace":
			t.parts = append(t.parts, pathPart{arg: 'n'})
		case "set":
			t.parts = append(t.parts, pathPart{arg: 's'})
		default:
			return nil, fmt.Errorf("unknown placeholder {%s}: the placeholders are {namespace} and {set}", name)
		}
		s = s[i+j+1:]
	}
	return t, nil
}

// String returns the template as written.
func (t *PathTemplate) String() string { return t.text }

// IsStatic reports whether the path is the same for every record. When it
// is not, records of different namespaces (or sets) cannot share a request:
// batch per (profile, namespace, set).
func (t *PathTemplate) IsStatic() bool {
	for _, p := range t.parts {
		if p.arg != 0 {
			return false
		}
	}
	return true
}

// UsesSet reports whether the path contains {set}.
func (t *PathTemplate) UsesSet() bool {
	for _, p := range t.parts {
		if p.arg == 's' {
			return true
		}
	}
	return false
}

// Append appends the path for a record to dst, escaping the names as path
// segments (RFC 3986 unreserved characters are kept, every other byte is
// %XX). It allocates only if dst must grow.
func (t *PathTemplate) Append(dst []byte, ns, set []byte) []byte {
	for _, p := range t.parts {
		switch p.arg {
		case 0:
			dst = append(dst, p.lit...)
		case 'n':
			dst = appendPathEscaped(dst, ns)
		case 's':
			dst = appendPathEscaped(dst, set)
		}
	}
	return dst
}

func appendPathEscaped(dst, s []byte) []byte {
	const hex = "0123456789ABCDEF"
	for _, c := range s {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', hex[c>>4], hex[c&15])
	}
	return dst
}
