package expression

import (
	"reflect"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm/runtime"
)

// concatName is the function a computed bin's root concatenation is
// rewritten into. Its name cannot be written in an expression.
const concatName = "$concat"

// concatDone is what concat returns when it wrote the result into the
// Runner's buffer: a pointer, so returning it boxes nothing.
var concatDone any = &struct{ byte }{}

// concat joins its string arguments into the Runner's buffer (params[0] is
// the environment, which knows its Runner) and returns concatDone: a
// computed bin such as `bins.first + " " + bins.last` then costs one
// allocation per record (expr's argument buffer) where expr's + makes and
// boxes a string per operator. Arguments that are not all strings are
// added as + adds them (numbers, lists), or fail as + would.
func concat(params ...any) (any, error) {
	env, _ := params[0].(*values)
	args := params[1:]
	all := env != nil && env.r != nil
	for _, a := range args {
		if _, ok := a.(string); !ok {
			all = false
			break
		}
	}
	if !all {
		acc := args[0]
		for _, a := range args[1:] {
			acc = runtime.Add(acc, a)
		}
		return acc, nil
	}
	r := env.r
	r.cat = r.cat[:0]
	for _, a := range args {
		r.cat = append(r.cat, a.(string)...)
	}
	return concatDone, nil
}

// concatRoot rewrites a root a + b + ... whose type is a string (or known
// only at run time) into concat($env, a, b, ...), and reports whether it did.
func concatRoot(tree *parser.Tree) bool {
	root, ok := tree.Node.(*ast.BinaryNode)
	if !ok || root.Operator != "+" || !stringish(root.Type()) {
		return false
	}
	var args []ast.Node
	var flatten func(n ast.Node)
	flatten = func(n ast.Node) {
		if b, ok := n.(*ast.BinaryNode); ok && b.Operator == "+" && stringish(b.Type()) {
			flatten(b.Left)
			flatten(b.Right)
			return
		}
		args = append(args, n)
	}
	flatten(root)
	call := &ast.CallNode{
		Callee:    &ast.IdentifierNode{Value: concatName},
		Arguments: append([]ast.Node{&ast.IdentifierNode{Value: "$env"}}, args...),
	}
	ast.Patch(&tree.Node, call)
	tree.Node.SetLocation(root.Location())
	return true
}

func stringish(t reflect.Type) bool {
	return t == nil || t.Kind() == reflect.String || t.Kind() == reflect.Interface
}
