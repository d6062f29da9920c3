package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

var (
	rawType        = reflect.TypeOf(rawConfig{})
	portListType   = reflect.TypeOf(portList{})
	stringListType = reflect.TypeOf(stringList{})
	statusListType = reflect.TypeOf(statusList{})
	orderedMapType = reflect.TypeOf(orderedMap{})
	exprTextType   = reflect.TypeOf(exprText(""))
	exprMapType    = reflect.TypeOf(exprMap{})
)

// walk checks the node tree against the raw types before anything is
// decoded: every key must be known (else an error naming it, its line and a
// suggestion), every value must have the right shape, and a key written
// twice is an error. A key with no value (null) means "the default" and is
// removed from the tree. Key lines and declaration orders are recorded for
// later messages and for printing.
func (l *loader) walk(n *yaml.Node, t reflect.Type, path string, depth int) {
	l.visits++
	if l.visits > maxNodeVisits || depth > 64 {
		if !l.tooBig {
			l.tooBig = true
			l.errorf(path, "the file nests too deep or expands to too many nodes (aliases)")
		}
		return
	}
	n = deref(n)
	if n == nil || l.substFailed[n] {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case portListType:
		l.walkList(n, path, "a port number or a list of them", func(c *yaml.Node, p string) {
			l.wantInt(c, p)
		})
		return
	case stringListType:
		l.walkList(n, path, "a string or a list of strings", func(c *yaml.Node, p string) {
			if c.Kind != yaml.ScalarNode {
				l.problem(c.Line, p, "want a string, got "+l.describe(c, p)+espTransformsHint(path))
			}
		})
		return
	case statusListType:
		l.walkList(n, path, `a list of status codes and ranges such as [200-299, 404]`, func(c *yaml.Node, p string) {
			if c.Kind != yaml.ScalarNode {
				l.problem(c.Line, p, "want a status code or a range such as 200-299, got "+l.describe(c, p))
			}
		})
		return
	case orderedMapType:
		l.walkMap(n, path, func(v *yaml.Node, p string) {
			if v.Kind == yaml.ScalarNode {
				return
			}
			if espStaticHeaders(p) && v.Kind == yaml.MappingNode {
				l.walk(v, orderedMapType, p, depth+1)
				return
			}
			l.problem(v.Line, p, "want a string, got "+l.describe(v, p)+espHeadersHint(p))
		})
		return
	case exprTextType:
		l.walkExpr(n, path)
		return
	case exprMapType:
		l.walkMap(n, path, l.walkExpr)
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		l.walkStruct(n, t, path, depth)
	case reflect.Map:
		l.walkMap(n, path, func(v *yaml.Node, p string) {
			l.walk(v, t.Elem(), p, depth+1)
		})
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			l.problem(n.Line, path, "want a string, got "+l.describe(n, path))
		}
	case reflect.Int:
		l.wantInt(n, path)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			l.problem(n.Line, path, "want true or false, got "+l.describe(n, path))
		}
	default:
		panic("config: walk: unhandled type " + t.String())
	}
}

func (l *loader) wantInt(n *yaml.Node, path string) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		l.problem(n.Line, path, "want an integer, got "+l.describe(n, path))
		return
	}
	if _, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err != nil {
		l.problem(n.Line, path, "integer out of range: "+l.show(path, n.Value))
	}
}

// walkList accepts one item alone or a sequence of items.
func (l *loader) walkList(n *yaml.Node, path, want string, item func(*yaml.Node, string)) {
	switch n.Kind {
	case yaml.ScalarNode:
		l.lines[path+"[0]"] = n.Line
		item(n, path)
	case yaml.SequenceNode:
		for i, c := range n.Content {
			c = deref(c)
			p := index(path, i)
			l.lines[p] = c.Line
			if l.substFailed[c] {
				continue
			}
			if c.Kind == yaml.ScalarNode && c.ShortTag() == "!!null" {
				l.problem(c.Line, p, "empty list item")
				continue
			}
			item(c, p)
		}
	default:
		l.problem(n.Line, path, "want "+want+", got "+l.describe(n, path))
	}
}

// walkMap checks a mapping whose keys are names (destinations, namespaces,
// sets, headers, renames).
func (l *loader) walkMap(n *yaml.Node, path string, value func(*yaml.Node, string)) {
	if n.Kind != yaml.MappingNode {
		l.problem(n.Line, path, "want a mapping of names, got "+l.describe(n, path))
		return
	}
	seen := map[string]int{}
	kept := n.Content[:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if isMerge(k) {
			l.problem(k.Line, path, "merge keys (<<) are supported inside a section, not in a mapping of names")
			continue
		}
		if k.Kind != yaml.ScalarNode || k.Value == "" {
			l.problem(k.Line, path, "want a non-empty name as key, got "+l.describe(k, ""))
			continue
		}
		p := join(path, k.Value)
		if first, dup := seen[k.Value]; dup {
			l.problem(k.Line, path, fmt.Sprintf("%q is defined twice (first at line %d)", k.Value, first))
			continue
		}
		seen[k.Value] = k.Line
		if isNull(v) {
			continue
		}
		l.lines[p] = k.Line
		l.order[path] = append(l.order[path], k.Value)
		kept = append(kept, k, v)
		value(v, p)
	}
	n.Content = kept
}

func (l *loader) walkStruct(n *yaml.Node, t reflect.Type, path string, depth int) {
	if n.Kind != yaml.MappingNode {
		what := "a mapping"
		if names := fieldNames(t); len(names) > 0 {
			what = "a mapping of " + strings.Join(names, ", ")
		}
		if path == "" {
			l.problem(n.Line, "", "want "+what+" at the top level, got "+l.describe(n, path))
		} else {
			l.problem(n.Line, path, "want "+what+", got "+l.describe(n, path))
		}
		return
	}
	fields := structFields(t)
	seen := map[string]int{}
	kept := n.Content[:0]
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if isMerge(k) {
			merges = append(merges, v)
			kept = append(kept, k, v)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			l.problem(k.Line, path, "want a key name, got "+l.describe(k, ""))
			continue
		}
		ft, ok := fields[k.Value]
		if !ok {
			l.unknownKey(k, t, path)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			l.problem(k.Line, join(path, k.Value), fmt.Sprintf("key written twice (first at line %d)", first))
			continue
		}
		seen[k.Value] = k.Line
		if isNull(v) {
			continue
		}
		p := join(path, k.Value)
		l.lines[p] = k.Line
		kept = append(kept, k, v)
		l.walk(v, ft, p, depth+1)
	}
	n.Content = kept
	// Merged mappings (<<: *anchor): their keys count where not written here.
	for _, m := range merges {
		m = deref(m)
		var list []*yaml.Node
		switch {
		case m == nil:
		case m.Kind == yaml.MappingNode:
			list = []*yaml.Node{m}
		case m.Kind == yaml.SequenceNode:
			list = m.Content
		default:
			l.problem(m.Line, path, "a merge key (<<) needs a mapping or a list of mappings, got "+l.describe(m, ""))
		}
		for _, mm := range list {
			mm = deref(mm)
			if mm == nil || mm.Kind != yaml.MappingNode {
				l.problem(m.Line, path, "a merge key (<<) needs a mapping or a list of mappings")
				continue
			}
			for i := 0; i+1 < len(mm.Content); i += 2 {
				k, v := mm.Content[i], mm.Content[i+1]
				if k.Kind != yaml.ScalarNode || isMerge(k) {
					continue
				}
				if _, here := seen[k.Value]; here {
					continue
				}
				ft, ok := fields[k.Value]
				if !ok {
					l.unknownKey(k, t, path)
					continue
				}
				seen[k.Value] = k.Line
				if isNull(v) {
					continue
				}
				p := join(path, k.Value)
				if _, ok := l.lines[p]; !ok {
					l.lines[p] = k.Line
				}
				l.walk(v, ft, p, depth+1)
			}
		}
	}
}

func (l *loader) unknownKey(k *yaml.Node, t reflect.Type, path string) {
	where := "in " + path
	if path == "" {
		where = "at the top level"
	}
	if l.espUnknown(k, path) {
		return
	}
	msg := fmt.Sprintf("unknown key %q %s", k.Value, where)
	if s := suggest(k.Value, fieldNames(t)); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	} else {
		msg += " (known keys: " + strings.Join(fieldNames(t), ", ") + ")"
	}
	l.problem(k.Line, "", msg)
}

func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what a node is, for "want X, got Y".
func (l *loader) describe(n *yaml.Node, path string) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.ShortTag() == "!!null" {
		return "nothing"
	}
	return l.show(path, n.Value)
}

// structFields maps the YAML keys of a raw struct type to their field types
// (inline fields included).
func structFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if strings.Contains(opts, "inline") {
			for k, v := range structFields(f.Type) {
				m[k] = v
			}
			continue
		}
		if name != "" && name != "-" {
			m[name] = f.Type
		}
	}
	return m
}

// fieldNames lists the YAML keys of a raw struct type in declaration order.
func fieldNames(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if strings.Contains(opts, "inline") {
			out = append(out, fieldNames(f.Type)...)
			continue
		}
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}
