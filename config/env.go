package config

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// expand replaces every ${NAME} in s with the value of the environment
// variable NAME. "$${" stands for a literal "${"; any other "$" is kept as it
// is. A variable that is not set, or set to the empty string, is an error
// (the contract: never an empty string in place of a secret). vars lists the
// variables used.
func expand(s string, lookup func(string) (string, bool)) (out string, vars []string, err error) {
	if !strings.Contains(s, "${") {
		return s, nil, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		if i > 0 && s[i-1] == '$' { // $${ → literal ${
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return "", vars, fmt.Errorf(`"${" without a closing "}" (write "$${" for a literal "${")`)
		}
		name := s[i+2 : i+2+end]
		if !isEnvName(name) {
			return "", vars, fmt.Errorf(`"${%s}" is not an environment variable reference: a name is letters, digits and "_", not starting with a digit`, name)
		}
		v, ok := lookup(name)
		switch {
		case !ok:
			return "", vars, fmt.Errorf("environment variable %s is not set", name)
		case v == "":
			return "", vars, fmt.Errorf("environment variable %s is set but empty", name)
		}
		vars = append(vars, name)
		b.WriteString(v)
		s = s[i+2+end+1:]
	}
	return b.String(), vars, nil
}

func isEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// maxNodeVisits bounds the walks over the node tree, which follow aliases:
// a file of nested aliases (a "billion laughs") must not take the process
// down.
const maxNodeVisits = 1 << 20

// substitute expands ${VAR} in every scalar value of the tree (mapping keys
// are names and are left alone). It runs on the node tree before decoding,
// so line numbers stay those of the file. A substituted scalar is re-tagged
// by its new text (a plain `port: ${PORT}` becomes an int). Every path at
// which a substituted scalar appears (through aliases and merge keys too) is
// recorded, so printing can redact it.
func (l *loader) substitute(n *yaml.Node, path string) {
	l.visits++
	if l.visits > maxNodeVisits {
		if !l.tooBig {
			l.tooBig = true
			l.errorf("", "the file expands to too many nodes (aliases nested too deep)")
		}
		return
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			l.substitute(c, path)
		}
	case yaml.AliasNode:
		if n.Alias != nil {
			l.substitute(n.Alias, path)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			l.substitute(c, index(path, i))
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if isMerge(k) {
				// Merged keys land at this mapping's path.
				m := deref(v)
				if m != nil && m.Kind == yaml.SequenceNode {
					for _, c := range m.Content {
						l.substitute(c, path)
					}
				} else {
					l.substitute(v, path)
				}
				continue
			}
			l.substitute(v, join(path, k.Value))
		}
	case yaml.ScalarNode:
		if tpl, done := l.substituted[n]; done {
			if tpl != "" {
				l.secretPaths[path] = tpl
			}
			return
		}
		l.substituted[n] = ""
		if !strings.Contains(n.Value, "${") {
			return
		}
		tpl := n.Value
		out, vars, err := expand(tpl, l.opt.LookupEnv)
		if err != nil {
			l.problem(n.Line, path, err.Error())
			l.substFailed[n] = true
			return
		}
		if len(vars) == 0 { // only $${ escapes
			n.Value = out
			return
		}
		n.Value = out
		probe := yaml.Node{Kind: yaml.ScalarNode, Value: out}
		switch tag := probe.ShortTag(); tag {
		case "!!int", "!!float", "!!bool":
			n.Tag, n.Style = tag, 0
		default:
			n.Tag = "!!str"
		}
		l.substituted[n] = tpl
		l.secretPaths[path] = tpl
		l.secretVals[out] = tpl
	}
}

// isMerge reports whether a mapping key is the merge key "<<".
func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && (k.Tag == "" || k.Tag == "!" || k.Tag == "!!merge" || k.Tag == "tag:yaml.org,2002:merge")
}

// deref follows an alias.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 64; i++ {
		n = n.Alias
	}
	return n
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}

// redacted is what is printed in place of a value that came from the
// environment.
func redacted(tpl string) string { return "<redacted: from " + tpl + ">" }
