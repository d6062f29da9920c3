package expression

import (
	"reflect"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// A computed bin that is a string concatenation (`bins.first + " " +
// bins.last`) is the common transform, and expr's + makes a new string
// and boxes it (two allocations per +). So the operands of a root
// concatenation are also compiled one by one: a Runner runs each, appends
// the strings to its buffer and takes the buffer as the bin's value. No
// allocation; string constants are not run at all. When an operand is not
// a string at run time, the whole program runs instead, so + keeps its
// meaning (numbers add, lists join, a mismatch fails).

// part is one operand of a root concatenation: a constant, a field of the
// environment (read directly), or a program.
type part struct {
	lit   []byte
	field *fastNode
	prog  *vm.Program
}

// concatParts compiles the operands of tree's root when it is a + chain
// whose type is a string (or known only at run time). Call it before the
// optimizer rewrites the tree.
func concatParts(tree *parser.Tree, config *conf.Config) ([]part, error) {
	root, ok := tree.Node.(*ast.BinaryNode)
	if !ok || root.Operator != "+" || !stringish(root.Type()) {
		return nil, nil
	}
	var ops []ast.Node
	var flatten func(n ast.Node)
	flatten = func(n ast.Node) {
		if b, ok := n.(*ast.BinaryNode); ok && b.Operator == "+" && stringish(b.Type()) {
			flatten(b.Left)
			flatten(b.Right)
			return
		}
		ops = append(ops, n)
	}
	flatten(root)
	parts := make([]part, 0, len(ops))
	for _, op := range ops {
		if s, ok := op.(*ast.StringNode); ok {
			parts = append(parts, part{lit: []byte(s.Value)})
			continue
		}
		if f := toFast(op); f != nil && (f.kind == fkField || f.kind == fkNamed) {
			parts = append(parts, part{field: f})
			continue
		}
		prog, err := compiler.Compile(&parser.Tree{Node: op, Source: tree.Source}, config)
		if err != nil {
			return nil, err
		}
		parts = append(parts, part{prog: prog})
	}
	return parts, nil
}

func stringish(t reflect.Type) bool {
	return t == nil || t.Kind() == reflect.String || t.Kind() == reflect.Interface
}

// concatDone is what runParts returns when the value is in r.cat.
var concatDone any = &struct{ byte }{}

// runParts runs the operands of p's root concatenation into r.cat and
// returns concatDone, or the value of the whole program when an operand is
// not a string.
func (r *Runner) runParts(p *Program) (any, error) {
	if err := r.prepare(p); err != nil {
		return nil, err
	}
	r.cat = r.cat[:0]
	for i := range p.parts {
		pt := &p.parts[i]
		var out any
		switch {
		case pt.field != nil:
			out = pt.field.eval(r)
		case pt.prog == nil:
			r.cat = append(r.cat, pt.lit...)
			continue
		default:
			var err error
			if out, err = r.vm.Run(pt.prog, &r.env); err != nil {
				return nil, err
			}
		}
		s, ok := out.(string)
		if !ok {
			return r.vm.Run(p.prog, &r.env)
		}
		r.cat = append(r.cat, s...)
	}
	return concatDone, nil
}
