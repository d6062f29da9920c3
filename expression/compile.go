package expression

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/optimizer"
	"github.com/expr-lang/expr/vm"
)

// MaxNodes bounds the size of a program (expr's AST nodes). expr has no
// loops or recursion of its own, so a program's cost grows with its size
// and with the data its builtins walk: what they allocate is bounded by the
// VM's memory budget, and loops are not nested (nestedLoop), so their steps
// are bounded by the record's size. A program over the bound is refused at
// load.
const MaxNodes = 1000

// Kind is what a program is for: it fixes the type the result must have.
type Kind uint8

const (
	// Filter programs return a bool: false skips the record.
	Filter Kind = iota + 1
	// Route programs return destination names: a string, or a list of
	// strings ([] skips the record).
	Route
	// Value programs compute one bin (transform.set): int, float, string,
	// bytes, bool, list, map, or nil (no bin).
	Value
)

func (k Kind) String() string {
	switch k {
	case Filter:
		return "filter"
	case Route:
		return "routing"
	case Value:
		return "transform"
	}
	return "unknown"
}

// Program is one compiled expression. It is read-only: every Runner shares
// it.
type Program struct {
	Kind   Kind
	Source string

	prog *vm.Program
	id   int // dense, for a Runner's per-program state
	// fields are the Env fields the program reads; bins the bins it names
	// (bins.x, bins["x"]). allBins: it reads bins some other way (bins[x],
	// keys(bins)...), so every bin is decoded.
	fields  field
	bins    []string
	allBins bool
	// names are the destination names a route program returns as literals,
	// with their place in the source (checked against the destinations at
	// load).
	names []Literal
	// parts are the operands of a Value program's root concatenation
	// (concat.go); nil for other programs.
	parts []part
	// fast is the program as a tree of comparisons (fast.go), when it is
	// one; nil otherwise.
	fast *fastNode
}

// Literal is a string constant in a result position of a route program.
type Literal struct {
	Name         string
	Line, Column int // 1-based, within the expression
}

// Bins returns the bins a program reads by name, and whether it reads
// every bin.
func (p *Program) Bins() (names []string, all bool) { return p.bins, p.allBins }

// Literals returns the destination names a route program returns as
// constants.
func (p *Program) Literals() []Literal { return p.names }

// Error is a program that does not compile: where (1-based line and column
// within the expression's source) and expr's message.
type Error struct {
	Line, Column int
	Msg          string
}

func (e *Error) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Msg) }

var nextID atomic.Int64

// nowMs is the clock of now(): Unix milliseconds. Tests replace it.
var nowMs = defaultNow

func defaultNow() int64 { return time.Now().UnixMilli() }

// options are the compile options every program shares.
func options(k Kind) []expr.Option {
	o := []expr.Option{
		expr.Env(Env{}),
		expr.MaxNodes(MaxNodes),
		// now() is Unix milliseconds (an int), like lut: a bin a program
		// stamps with it encodes in every format as a number.
		expr.DisableBuiltin("now"),
		expr.Function("now", func(...any) (any, error) { return int(nowMs()), nil }, new(func() int)),
	}
	if k == Filter {
		o = append(o, expr.AsBool())
	}
	return o
}

// Compile compiles src as a program of kind k, checked against Env.
func Compile(k Kind, src string) (*Program, error) {
	if strings.TrimSpace(src) == "" {
		return nil, &Error{Line: 1, Column: 1, Msg: "empty expression"}
	}
	p := &Program{Kind: k, Source: src, id: int(nextID.Add(1) - 1)}
	if err := p.build(src); err != nil {
		return nil, compileError(src, err)
	}
	prog := p.prog
	switch k {
	case Route:
		if t := prog.Node().Type(); !routeType(t) {
			return nil, &Error{Line: 1, Column: 1, Msg: fmt.Sprintf("a route expression returns destination names (a string or a list of strings), not %s", typeName(t))}
		}
	case Value:
		if t := prog.Node().Type(); t != nil && !valueType(t) {
			return nil, &Error{Line: 1, Column: 1, Msg: fmt.Sprintf("a computed bin is an int, float, string, bytes, bool, list or map, not %s", typeName(t))}
		}
	}
	return p, nil
}

// build is expr.Compile with steps between checking and compiling: the
// bins the program names become fields of the environment ($bin<i>, see
// Env), and the operands of a Value program's root string concatenation
// are compiled too (concat.go).
func (p *Program) build(src string) error {
	config := conf.CreateNew()
	for _, op := range options(p.Kind) {
		op(config)
	}
	for name := range config.Disabled {
		delete(config.Builtins, name)
	}
	config.Check()
	tree, err := checker.ParseCheck(src, config)
	if err != nil {
		return err
	}
	if at := nestedLoop(tree.Node); at >= 0 {
		line, col := position(src, at)
		return &Error{Line: line, Column: col, Msg: "a loop inside a loop's predicate (all, any, map, filter, count… within another) is refused: its steps grow with the product of the lists' lengths, and one record could hold an event loop for minutes; loop over a flattened list instead: any(flatten(map(bins.orders, {#.items})), {# == \"x\"})"}
	}
	p.scan(&tree.Node)
	if p.Kind == Route {
		p.names = literals(src, tree.Node, nil)
	}
	named, now := p.namedBins(&tree.Node), p.nowField(&tree.Node)
	if named || now {
		if _, err := checker.Check(tree, config); err != nil {
			return err
		}
	}
	if p.Kind == Value {
		if p.parts, err = concatParts(tree, config); err != nil {
			return err
		}
	} else if !p.allBins {
		p.fast = toFast(tree.Node)
	}
	if config.Optimize {
		if err := optimizer.Optimize(&tree.Node, config); err != nil {
			var fe *file.Error
			if errors.As(err, &fe) {
				return fe.Bind(tree.Source)
			}
			return err
		}
	}
	p.prog, err = compiler.Compile(tree, config)
	return err
}

// namedBins rewrites bins.x and bins["x"] into the field of x ($bin<i>,
// i its index in p.bins) for the first maxNamed names.
func (p *Program) namedBins(root *ast.Node) bool {
	index := map[string]int{}
	for i, b := range p.bins {
		if i < maxNamed {
			index[b] = i
		}
	}
	done := false
	ast.Walk(root, ptrVisitor(func(n *ast.Node) {
		m, ok := (*n).(*ast.MemberNode)
		if !ok {
			return
		}
		id, ok := m.Node.(*ast.IdentifierNode)
		if !ok || id.Value != "bins" {
			return
		}
		s, ok := m.Property.(*ast.StringNode)
		if !ok {
			return
		}
		if i, ok := index[s.Value]; ok {
			ast.Patch(n, &ast.IdentifierNode{Value: "$bin" + strconv.Itoa(i)})
			done = true
		}
	}))
	return done
}

// nowField rewrites now() into the field $now (see Env.Now).
func (p *Program) nowField(root *ast.Node) bool {
	done := false
	ast.Walk(root, ptrVisitor(func(n *ast.Node) {
		c, ok := (*n).(*ast.CallNode)
		if !ok || len(c.Arguments) != 0 {
			return
		}
		if id, ok := c.Callee.(*ast.IdentifierNode); ok && id.Value == "now" {
			ast.Patch(n, &ast.IdentifierNode{Value: "$now"})
			p.fields |= fNow
			done = true
		}
	}))
	return done
}

type ptrVisitor func(*ast.Node)

func (v ptrVisitor) Visit(n *ast.Node) { v(n) }

// compileError turns expr's error into an Error with a 1-based place.
func compileError(src string, err error) error {
	if e, ok := err.(*Error); ok {
		return e // placed already
	}
	var fe *file.Error
	if errors.As(err, &fe) {
		msg := fe.Message
		if strings.Contains(msg, "exceeds maximum allowed nodes") || strings.Contains(msg, "maximum allowed nodes") {
			msg = fmt.Sprintf("the expression is too large (over %d nodes); split it or simplify it", MaxNodes)
		}
		line, col := fe.Line, fe.Column+1
		if line == 0 {
			line, col = position(src, fe.From)
		}
		return &Error{Line: line, Column: col, Msg: msg}
	}
	msg := err.Error()
	if strings.Contains(msg, "nodes") {
		msg = fmt.Sprintf("the expression is too large (over %d nodes); split it or simplify it", MaxNodes)
	}
	return &Error{Line: 1, Column: 1, Msg: msg}
}

// position turns a rune offset of src into a 1-based line and column.
func position(src string, from int) (line, col int) {
	line, col = 1, 1
	n := 0
	for _, r := range src {
		if n == from {
			break
		}
		n++
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

func typeName(t reflect.Type) string {
	if t == nil {
		return "nil"
	}
	return t.String()
}

// routeType: a string, a list, or a type known only at run time.
func routeType(t reflect.Type) bool {
	if t == nil {
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Interface:
		return true
	case reflect.Slice, reflect.Array:
		e := t.Elem().Kind()
		return e == reflect.String || e == reflect.Interface
	}
	return false
}

func valueType(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.String, reflect.Bool, reflect.Interface,
		reflect.Slice, reflect.Array, reflect.Map:
		return true
	}
	return false
}

// scan records the Env fields and the bins a program reads.
func (p *Program) scan(root *ast.Node) {
	seen := map[string]bool{}
	ast.Walk(root, visitor(func(n ast.Node) {
		switch n := n.(type) {
		case *ast.IdentifierNode:
			p.fields |= fieldOf[n.Value]
		case *ast.MemberNode:
			id, ok := n.Node.(*ast.IdentifierNode)
			if !ok || id.Value != "bins" {
				return
			}
			if s, ok := n.Property.(*ast.StringNode); ok {
				if !seen[s.Value] {
					seen[s.Value] = true
					p.bins = append(p.bins, s.Value)
				}
				return
			}
			p.allBins = true
		}
	}))
	// bins read other than as bins.x or bins["x"]: every bin is decoded.
	var uses, named int
	ast.Walk(root, visitor(func(n ast.Node) {
		switch n := n.(type) {
		case *ast.IdentifierNode:
			if n.Value == "bins" {
				uses++
			}
		case *ast.MemberNode:
			if id, ok := n.Node.(*ast.IdentifierNode); ok && id.Value == "bins" {
				if _, ok := n.Property.(*ast.StringNode); ok {
					named++
				}
			}
		}
	}))
	if uses > named {
		p.allBins = true
	}
}

type visitor func(ast.Node)

func (v visitor) Visit(n *ast.Node) { v(*n) }

// literals lists the string constants a route program can return: the
// result itself, both branches of a conditional, the items of a list.
func literals(src string, n ast.Node, out []Literal) []Literal {
	switch n := n.(type) {
	case *ast.StringNode:
		line, col := position(src, n.Location().From)
		return append(out, Literal{Name: n.Value, Line: line, Column: col})
	case *ast.ArrayNode:
		for _, e := range n.Nodes {
			if s, ok := e.(*ast.StringNode); ok {
				out = literals(src, s, out)
			}
		}
	case *ast.ConditionalNode:
		out = literals(src, n.Exp1, out)
		out = literals(src, n.Exp2, out)
	}
	return out
}
