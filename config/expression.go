package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/expression"
	"go.yaml.in/yaml/v3"
)

// Custom logic (issue 16): filter, routing mode expression, transform and
// expression-errors, at the top level and per namespace and set like the
// other sections. Expressions are compiled here, once, so that `xdrhook
// check` reports what does not compile at its line and column.

// Filter is a resolved filter section: records for which it is false are
// answered 0 and counted as skipped-filter.
type Filter struct {
	Program *expression.Program
	path    string
}

// Transform is a resolved transform section: computed bins (set, in file
// order), then bins removed. It applies before bin-transforms.
type Transform struct {
	Set    []TransformBin
	Remove []string
	path   string
}

// TransformBin is one computed bin.
type TransformBin struct {
	Name    string
	Program *expression.Program
}

// ExpressionErrors is expression-errors: what a record gets when one of its
// expressions fails at run time. Default fail.
type ExpressionErrors struct {
	Policy expression.Policy
	path   string
}

// Logic returns the profile's custom logic for a Runner (a new value
// each call: build it once per profile), or nil when it has none.
func (p *Profile) Logic() *expression.Logic {
	lg := &expression.Logic{}
	if p.Filter != nil {
		lg.Filter = p.Filter.Program
	}
	if p.Routing != nil && p.Routing.Mode == RouteExpression {
		lg.Route = p.Routing.Expression
	}
	if t := p.Transform; t != nil {
		set := make([]expression.SetBin, len(t.Set))
		for i, b := range t.Set {
			set[i] = expression.SetBin{Name: b.Name, Program: b.Program}
		}
		lg.Transform = expression.NewTransform(set, t.Remove)
	}
	if lg.Filter == nil && lg.Route == nil && lg.Transform == nil {
		return nil
	}
	if p.ExpressionErrors != nil {
		lg.OnError = p.ExpressionErrors.Policy
	}
	return lg
}

// exprText is an expression in the file. walk records where its text is.
type exprText string

// exprMap is transform.set: bin name → expression, in file order.
type exprMap struct{ orderedMap }

type rawTransform struct {
	Set    exprMap    `yaml:"set,omitempty"`
	Remove stringList `yaml:"remove,omitempty"`
}

// exprPlace is where an expression's text starts in the file, to place
// expr's line and column (counted within the expression) in the file.
type exprPlace struct {
	line, col int // of the scalar (the quote or the block indicator)
	style     yaml.Style
	indent    int // block scalars: the column before the text
}

func (l *loader) walkExpr(n *yaml.Node, path string) {
	if n.Kind != yaml.ScalarNode {
		l.problem(n.Line, path, "want an expression (a string), got "+l.describe(n, path))
		return
	}
	pl := exprPlace{line: n.Line, col: n.Column, style: n.Style}
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		lines := strings.Split(string(l.data), "\n")
		for i := n.Line; i < len(lines); i++ { // lines[n.Line] is the line after the indicator
			if t := strings.TrimLeft(lines[i], " "); t != "" {
				pl.indent = len(lines[i]) - len(t)
				break
			}
		}
	}
	l.exprAt[path] = pl
}

// at maps a 1-based line and column within the expression to the file.
// Columns after escapes in a double-quoted scalar, and lines of a plain
// scalar folded onto one, are approximate.
func (pl exprPlace) at(line, col int) (int, int) {
	switch {
	case pl.style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return pl.line + line, pl.indent + col
	case line == 1:
		if pl.style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0 {
			col++
		}
		return pl.line, pl.col + col - 1
	}
	return pl.line + line - 1, col
}

// compileExpr compiles the expression at path; a problem at its line and
// column if it does not compile.
func (l *loader) compileExpr(k expression.Kind, path, src string) *expression.Program {
	p, err := expression.Compile(k, src)
	if err == nil {
		return p
	}
	var e *expression.Error
	if !errors.As(err, &e) {
		l.errorf(path, "%v", err)
		return nil
	}
	line, col := l.line(path), 0
	if pl, ok := l.exprAt[path]; ok {
		line, col = pl.at(e.Line, e.Column)
	}
	msg := e.Msg
	if _, secret := l.secretPaths[path]; secret {
		msg = "does not compile (its text comes from the environment, so expr's message is not shown)"
		if pl, ok := l.exprAt[path]; ok {
			line, col = pl.line, pl.col // where it fails would tell the text
		}
	}
	l.problemAt(line, col, path, msg)
	return nil
}

func (l *loader) resolveFilter(r *exprText, p string) *Filter {
	f := &Filter{path: p}
	f.Program = l.compileExpr(expression.Filter, p, string(*r))
	return f
}

func (l *loader) resolveTransform(r *rawTransform, p string) *Transform {
	t := &Transform{path: p}
	if len(r.Set.kvs) == 0 && len(r.Remove.items) == 0 {
		l.errorf(p, "sets nothing and removes nothing: add set (bin: expression) or remove ([bin, ...])")
	}
	for _, e := range r.Set.kvs {
		sp := p + ".set." + e.k
		t.Set = append(t.Set, TransformBin{Name: e.k, Program: l.compileExpr(expression.Value, sp, e.v)})
	}
	seen := map[string]bool{}
	for i, b := range r.Remove.items {
		ip := index(p+".remove", i)
		switch {
		case b == "":
			l.errorf(ip, "empty bin name")
		case seen[b]:
			l.errorf(ip, "%s is listed twice", l.show(ip, b))
		}
		seen[b] = true
		t.Remove = append(t.Remove, b)
	}
	return t
}

var exprPolicies = []string{"fail", "skip", "pass"}

func (l *loader) resolveExprErrors(r **string, p string) *ExpressionErrors {
	v := l.enum(r, p, "fail", exprPolicies...)
	x := &ExpressionErrors{path: p}
	for i, s := range exprPolicies {
		if s == v {
			x.Policy = expression.Policy(i)
		}
	}
	return x
}

// resolveRouteExpression compiles routing.expression and checks the
// destination names it returns as literals.
func (l *loader) resolveRouteExpression(r *rawRouting, p string, rt *Routing, c *Config, used map[string]bool) {
	ep := p + ".expression"
	if r.Expression == nil || strings.TrimSpace(string(*r.Expression)) == "" {
		l.errorf(ep, "missing: expression routing needs an expression returning destination names, such as 'bins.tier == \"gold\" ? [\"search\", \"audit\"] : [\"search\"]'")
		return
	}
	rt.Expression = l.compileExpr(expression.Route, ep, string(*r.Expression))
	rt.Default = c.Destinations[DefaultDestinationName]
	rt.byName = c.Destinations
	if rt.Expression == nil {
		return
	}
	for _, lit := range rt.Expression.Literals() {
		if c.Destinations[lit.Name] != nil {
			used[lit.Name] = true
			continue
		}
		line, col := l.line(ep), 0
		if pl, ok := l.exprAt[ep]; ok {
			line, col = pl.at(lit.Line, lit.Column)
		}
		msg := fmt.Sprintf("%q is not a defined destination", lit.Name)
		switch {
		case len(c.DestinationNames) == 0:
			msg += " (none is defined: add a destinations section)"
		case suggest(lit.Name, c.DestinationNames) != "":
			msg += fmt.Sprintf(" (did you mean %q?)", suggest(lit.Name, c.DestinationNames))
		default:
			msg += " (defined: " + strings.Join(c.DestinationNames, ", ") + ")"
		}
		l.problemAt(line, col, ep, msg)
	}
}

// checkTransformSchema: with a user Avro schema, the bins a transform
// computes must be fields of it (the writer leaves out the bins a schema
// does not name, so a computed bin would vanish without a word).
func (l *loader) checkTransformSchema(c *Config) {
	type key struct {
		t *Transform
		f *Format
	}
	seen := map[key]bool{}
	for _, p := range c.profiles {
		t, f := p.Transform, p.Format
		if t == nil || f.Mode != FormatAvro || f.Schema == "" || seen[key{t, f}] {
			continue
		}
		seen[key{t, f}] = true
		sch, err := encode.CompileAvroSchema([]byte(f.Schema))
		if err != nil {
			continue // the connector reports it
		}
		for _, b := range t.Set {
			name := b.Name
			if contains(t.Remove, name) {
				continue
			}
			if bt := p.BinTransforms; bt != nil {
				if bt.Include != nil && !contains(bt.Include, name) || contains(bt.Exclude, name) {
					continue
				}
				if to, ok := bt.Map[name]; ok {
					name = to
				}
			}
			if !sch.HasBin(name) {
				l.errorf(t.path+".set."+b.Name, "%q is not a field of the Avro schema of %s (a bin the schema does not name is left out): add the field, or use the built-in schema", name, f.path)
			}
		}
	}
}

// checkPassRoute: with expression-errors pass, a record whose route
// expression fails goes to the destination named default; without one it
// is skipped (answered 0, sent nowhere), which "pass" does not suggest.
func (l *loader) checkPassRoute(c *Config) {
	seen := map[*Routing]bool{}
	for _, p := range c.profiles {
		r, x := p.Routing, p.ExpressionErrors
		if r == nil || r.Mode != RouteExpression || r.Default != nil || x == nil || x.Policy != expression.Pass || seen[r] {
			continue
		}
		seen[r] = true
		l.warnf(r.path+".expression", "with expression-errors: pass, a record whose route expression fails goes to the destination named %q; none is defined, so such a record is skipped (answered 0, sent nowhere): define one, or use expression-errors: fail", DefaultDestinationName)
	}
}

// describeLogic adds a profile's custom logic to its `check` summary.
func describeLogic(b *strings.Builder, p *Profile) {
	if p.Filter != nil {
		b.WriteString("; filtered")
	}
	if t := p.Transform; t != nil {
		if len(t.Set) > 0 {
			names := make([]string, len(t.Set))
			for i, s := range t.Set {
				names[i] = s.Name
			}
			fmt.Fprintf(b, "; computes bins %s", strings.Join(names, ", "))
		}
		if len(t.Remove) > 0 {
			fmt.Fprintf(b, "; removes bins %s", strings.Join(t.Remove, ", "))
		}
	}
	if p.Logic() != nil {
		fmt.Fprintf(b, "; expression-errors %s", p.ExpressionErrors.Policy)
	}
}
