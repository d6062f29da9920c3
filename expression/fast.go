package expression

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm/runtime"
)

// The common filters and routes — comparisons of metadata and bins with
// constants, joined by &&, || and !, and a ternary choosing between
// constant lists — run on a small tree instead of expr's VM: the VM's
// fixed cost (its stack, a deferred recover) and a reflective read per
// field are most of such a program's time. The tree compares with expr's
// own runtime functions (runtime.Equal, Less, ...), so the results are
// expr's; when any step would fail (a nil compared, a value not a bool),
// the program runs on the VM instead, which gives expr's error. A test
// and the fuzz target compare the two on many records.

type fastKind uint8

const (
	fkConst fastKind = iota
	fkField          // a metadata field of the environment
	fkNamed          // a named bin ($bin<i>)
	fkNot
	fkAnd
	fkOr
	fkCmp
	fkCond
)

type fastNode struct {
	kind    fastKind
	op      string // fkCmp: == != < > <= >=
	val     any    // fkConst
	field   field  // fkField
	idx     int    // fkNamed
	a, b, c *fastNode
}

// toFast converts a checked tree, or returns nil when a node is not of
// the kinds above.
func toFast(n ast.Node) *fastNode {
	switch n := n.(type) {
	case *ast.BoolNode:
		return &fastNode{kind: fkConst, val: n.Value}
	case *ast.StringNode:
		return &fastNode{kind: fkConst, val: n.Value}
	case *ast.NilNode:
		return &fastNode{kind: fkConst}
	case *ast.FloatNode:
		if t := n.Type(); t != nil && t.Kind() != reflect.Float64 {
			return nil
		}
		return &fastNode{kind: fkConst, val: n.Value}
	case *ast.IntegerNode:
		if t := n.Type(); t != nil && t.Kind() != reflect.Int {
			return nil // the compiler converts it: leave it to the VM
		}
		return &fastNode{kind: fkConst, val: n.Value}
	case *ast.ArrayNode:
		list := make([]any, len(n.Nodes))
		for i, e := range n.Nodes {
			s, ok := e.(*ast.StringNode)
			if !ok {
				return nil
			}
			list[i] = s.Value
		}
		return &fastNode{kind: fkConst, val: list}
	case *ast.IdentifierNode:
		if f, ok := fieldOf[n.Value]; ok && f != fBins {
			return &fastNode{kind: fkField, field: f}
		}
		if n.Value == "$now" {
			return &fastNode{kind: fkField, field: fNow}
		}
		if i, err := strconv.Atoi(strings.TrimPrefix(n.Value, "$bin")); err == nil && strings.HasPrefix(n.Value, "$bin") {
			return &fastNode{kind: fkNamed, idx: i}
		}
	case *ast.UnaryNode:
		if n.Operator == "!" || n.Operator == "not" {
			if a := toFast(n.Node); a != nil {
				return &fastNode{kind: fkNot, a: a}
			}
		}
	case *ast.BinaryNode:
		a, b := toFast(n.Left), toFast(n.Right)
		if a == nil || b == nil {
			return nil
		}
		switch n.Operator {
		case "&&", "and":
			return &fastNode{kind: fkAnd, a: a, b: b}
		case "||", "or":
			return &fastNode{kind: fkOr, a: a, b: b}
		case "==", "!=", "<", ">", "<=", ">=":
			return &fastNode{kind: fkCmp, op: n.Operator, a: a, b: b}
		}
	case *ast.ConditionalNode:
		a, b, c := toFast(n.Cond), toFast(n.Exp1), toFast(n.Exp2)
		if a != nil && b != nil && c != nil {
			return &fastNode{kind: fkCond, a: a, b: b, c: c}
		}
	}
	return nil
}

// eval evaluates the tree; it panics where expr's VM would fail (the
// caller recovers and runs the VM).
func (n *fastNode) eval(r *Runner) any {
	switch n.kind {
	case fkConst:
		return n.val
	case fkField:
		return r.env.get(n.field)
	case fkNamed:
		return *r.env.named(n.idx)
	case fkNot:
		return !n.a.eval(r).(bool)
	case fkAnd:
		return n.a.eval(r).(bool) && n.b.eval(r).(bool)
	case fkOr:
		return n.a.eval(r).(bool) || n.b.eval(r).(bool)
	case fkCond:
		if n.a.eval(r).(bool) {
			return n.b.eval(r)
		}
		return n.c.eval(r)
	}
	a, b := n.a.eval(r), n.b.eval(r)
	switch n.op {
	case "==":
		return runtime.Equal(a, b)
	case "!=":
		return !runtime.Equal(a, b)
	case "<":
		return runtime.Less(a, b)
	case ">":
		return runtime.More(a, b)
	case "<=":
		return runtime.LessOrEqual(a, b)
	}
	return runtime.MoreOrEqual(a, b)
}

// runFast evaluates p's tree; ok false when it would fail (run the VM).
func (r *Runner) runFast(p *Program) (out any, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return p.fast.eval(r), true
}

// get returns the value of a metadata field.
func (v *values) get(f field) any {
	switch f {
	case fMsg:
		return v.Msg
	case fNamespace:
		return v.Namespace
	case fSet:
		return v.Set
	case fDigest:
		return v.Digest
	case fUserKey:
		return v.UserKey
	case fGen:
		return v.Gen
	case fLUT:
		return v.LUT
	case fExp:
		return v.Exp
	case fPartial:
		return v.Partial
	case fDurable:
		return v.Durable
	case fNow:
		return v.Now
	}
	return nil
}
