package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// WriteYAML writes the resolved config: every key with its effective value
// (defaults filled in, durations in milliseconds, file names resolved),
// destinations in the order of the file, then the effective profile of each
// namespace and set as comments. The output loads again to the same config,
// except that every value that came from the environment is printed as
// "<redacted: from TEMPLATE>" (TEMPLATE being the text written in the
// file, e.g. "Bearer ${SEARCH_TOKEN}"), never as its value.
func (c *Config) WriteYAML(w io.Writer) error {
	n, err := c.configNode()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# %s, resolved: defaults filled in, values from the environment redacted.\n", c.Source)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	buf.WriteString("\n# Effective settings per namespace and set (profile ID: where it applies):\n")
	for _, p := range c.profiles {
		fmt.Fprintf(&buf, "#   %d: %s\n", p.ID, c.describeProfile(p))
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// WriteJSON writes {"config": ..., "profiles": [...]}: the same config tree
// as WriteYAML (redacted the same way) and every profile with its
// effective sections.
func (c *Config) WriteJSON(w io.Writer) error {
	n, err := c.configNode()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.WriteString("{\n  \"config\": ")
	appendJSON(&buf, n, 1)
	buf.WriteString(",\n  \"profiles\": [")
	for i, p := range c.profiles {
		if i > 0 {
			buf.WriteByte(',')
		}
		pn, err := c.profileNode(p)
		if err != nil {
			return err
		}
		buf.WriteString("\n    ")
		appendJSON(&buf, pn, 2)
	}
	buf.WriteString("\n  ]\n}\n")
	_, err = w.Write(buf.Bytes())
	return err
}

// configNode encodes the filled raw tree, puts the mappings of names back
// in the order of the file, and redacts.
func (c *Config) configNode() (*yaml.Node, error) {
	var n yaml.Node
	if err := n.Encode(c.raw); err != nil {
		return nil, err
	}
	c.reorder(&n, "")
	unquotePortKeys(&n)
	c.redact(&n, "")
	return &n, nil
}

func (c *Config) reorder(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.MappingNode:
		if order := c.order[path]; len(order) > 0 && (path == "destinations" || path == "namespaces" || strings.HasSuffix(path, ".sets")) {
			pos := map[string]int{}
			for i, k := range uniq(order) {
				pos[k] = i
			}
			pairs := make([][2]*yaml.Node, 0, len(n.Content)/2)
			for i := 0; i+1 < len(n.Content); i += 2 {
				pairs = append(pairs, [2]*yaml.Node{n.Content[i], n.Content[i+1]})
			}
			// insertion sort: a few entries, stable
			for i := 1; i < len(pairs); i++ {
				for j := i; j > 0 && pos[pairs[j][0].Value] < pos[pairs[j-1][0].Value]; j-- {
					pairs[j], pairs[j-1] = pairs[j-1], pairs[j]
				}
			}
			n.Content = n.Content[:0]
			for _, p := range pairs {
				n.Content = append(n.Content, p[0], p[1])
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			c.reorder(n.Content[i+1], join(path, n.Content[i].Value))
		}
	case yaml.SequenceNode:
		for i, e := range n.Content {
			c.reorder(e, index(path, i))
		}
	}
}

// redact replaces every scalar that came from the environment: by the path
// it was written at (a list item also by its list's path: a single value
// written for a list), and by value wherever it was copied.
func (c *Config) redact(n *yaml.Node, path string) {
	c.redactIn(n, path, "")
}

func (c *Config) redactIn(n *yaml.Node, path, listPath string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			c.redactIn(n.Content[i+1], join(path, n.Content[i].Value), "")
		}
	case yaml.SequenceNode:
		for i, e := range n.Content {
			c.redactIn(e, index(path, i), path)
		}
	case yaml.ScalarNode:
		tpl, ok := c.secretPaths[path]
		if !ok && listPath != "" {
			tpl, ok = c.secretPaths[listPath]
		}
		if !ok {
			tpl, ok = c.secretVals[n.Value]
		}
		if ok {
			n.Value, n.Tag, n.Style = redacted(tpl), "!!str", yaml.DoubleQuotedStyle
		}
	}
}

// profileNode is one profile as a mapping, each section redacted at the
// path it was defined at.
func (c *Config) profileNode(p *Profile) (*yaml.Node, error) {
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	add := func(k string, v *yaml.Node) {
		kn := &yaml.Node{}
		kn.SetString(k)
		m.Content = append(m.Content, kn, v)
	}
	scalar := func(tag, v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v} }
	add("id", scalar("!!int", strconv.Itoa(p.ID)))
	add("namespace", scalar("!!str", p.Namespace))
	add("set", scalar("!!str", p.Set))
	if p.Port != 0 {
		add("port", scalar("!!int", strconv.Itoa(p.Port)))
	}
	sections := []struct {
		key  string
		raw  any
		path string
	}{
		{"routing", p.Routing.raw, p.Routing.path},
		{"format", p.Format.raw, p.Format.path},
		{"batching", p.Batching.raw, p.Batching.path},
		{"bin-transforms", p.BinTransforms.raw, p.BinTransforms.path},
		{"record-ordering", p.RecordOrdering.raw, p.RecordOrdering.path},
	}
	for _, s := range sections {
		var n yaml.Node
		if err := n.Encode(s.raw); err != nil {
			return nil, err
		}
		c.redact(&n, s.path)
		add(s.key, &n)
	}
	return m, nil
}

// describeProfile is a one-line summary for the YAML comments.
func (c *Config) describeProfile(p *Profile) string {
	var b strings.Builder
	if p.Port != 0 {
		fmt.Fprintf(&b, "port %d: ", p.Port)
	}
	switch {
	case p.ID == 0:
		b.WriteString("every namespace and set not listed below")
	case p.Namespace == "":
		b.WriteString("every namespace and set not listed below for this port")
	case p.Set == "":
		fmt.Fprintf(&b, "namespace %s (its other sets)", p.Namespace)
	default:
		fmt.Fprintf(&b, "namespace %s, set %s", p.Namespace, p.Set)
	}
	r := p.Routing
	fmt.Fprintf(&b, " — routing %s", r.Mode)
	switch r.Mode {
	case RouteStatic, RouteStaticMulti:
		names := make([]string, len(r.Destinations))
		for i, d := range r.Destinations {
			names[i] = d.Name
		}
		fmt.Fprintf(&b, " → %s", strings.Join(names, ", "))
	case RouteNamespace, RouteSet, RouteBin:
		what := map[RoutingMode]string{RouteNamespace: "the namespace", RouteSet: "the set", RouteBin: "bin " + c.Redact(r.Bin)}[r.Mode]
		fallback := "skip"
		if r.Default != nil {
			fallback = DefaultDestinationName
		}
		fmt.Fprintf(&b, " → the destination named like %s, else %s", what, fallback)
	case RouteExpression:
		b.WriteString(" → the destinations its expression names ([] skips)")
	}
	f := p.Format
	fmt.Fprintf(&b, "; format %s, framing %s", f.Mode, f.Framing)
	if f.Framing == FramingESBulk {
		id := string(f.DocID)
		if f.DocID == DocIDBin {
			id += ":" + c.Redact(f.DocIDBin)
		}
		fmt.Fprintf(&b, " (write-operation %s, versioning %s, doc-id %s)", f.WriteOperation, f.Versioning, id)
	}
	switch bt := p.Batching; {
	case bt.Enabled:
		fmt.Fprintf(&b, "; batching %d records / %d bytes / %d ms", bt.MaxRecords, bt.MaxBytes, bt.Interval.Milliseconds())
	case f.Framing.Protocol():
		fmt.Fprintf(&b, "; batching off: one record per %s body", f.Framing)
	default:
		b.WriteString("; batching off: one message per body, unframed")
	}
	bt := p.BinTransforms
	switch {
	case bt.Identity():
		b.WriteString("; all bins")
	default:
		if bt.Include != nil {
			fmt.Fprintf(&b, "; bins %s only", strings.Join(bt.Include, ", "))
		}
		if len(bt.Exclude) > 0 {
			fmt.Fprintf(&b, "; without bins %s", strings.Join(bt.Exclude, ", "))
		}
		if len(bt.Map) > 0 {
			fmt.Fprintf(&b, "; %d bin(s) renamed", len(bt.Map))
		}
	}
	if ro := p.RecordOrdering; ro.Enable {
		fmt.Fprintf(&b, "; record-ordering on (%d s)", int(ro.LUTCacheTTL.Seconds()))
	}
	describeLogic(&b, p)
	return b.String()
}

// appendJSON writes a YAML node tree as indented JSON, keeping the order of
// mappings.
func appendJSON(b *bytes.Buffer, n *yaml.Node, depth int) {
	ind := func(d int) { b.WriteByte('\n'); b.WriteString(strings.Repeat("  ", d)) }
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) > 0 {
			appendJSON(b, n.Content[0], depth)
		}
	case yaml.AliasNode:
		appendJSON(b, n.Alias, depth)
	case yaml.MappingNode:
		if len(n.Content) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			ind(depth + 1)
			appendJSONString(b, n.Content[i].Value)
			b.WriteString(": ")
			appendJSON(b, n.Content[i+1], depth+1)
		}
		ind(depth)
		b.WriteByte('}')
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteByte('[')
		for i, e := range n.Content {
			if i > 0 {
				b.WriteString(", ")
			}
			appendJSON(b, e, depth+1)
		}
		b.WriteByte(']')
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!int":
			if v, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err == nil {
				b.WriteString(strconv.FormatInt(v, 10))
				return
			}
		case "!!bool":
			if v, err := strconv.ParseBool(n.Value); err == nil {
				b.WriteString(strconv.FormatBool(v))
				return
			}
		case "!!null":
			b.WriteString("null")
			return
		}
		appendJSONString(b, n.Value)
	}
}

// appendJSONString writes s as a JSON string, without escaping <, > and &
// (the output is for people and tools, not HTML).
func appendJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	b.Truncate(b.Len() - 1) // Encode adds a newline
}
