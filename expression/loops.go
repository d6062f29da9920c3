package expression

import (
	"github.com/expr-lang/expr/ast"
)

// nestedLoop refuses a loop inside another loop's predicate (all, any,
// map, filter, count, sum, reduce, sortBy…: each takes a predicate, and
// walks its collection once): MaxNodes bounds a program's size and the
// VM's memory budget what it allocates, but not its steps, and nested
// loops over record data multiply the lengths of its lists — three levels
// over a 1,000-element list bin, under ten nodes and no allocation, took
// about a minute per record on an event loop. One level costs at most the
// record's own size. It returns the place (an offset of the source) of the
// outermost loop inside another's predicate, or -1.
func nestedLoop(root ast.Node) int {
	// ast.Walk visits children first: reversed, outer nodes come before
	// the nodes inside them.
	preds := collect[*ast.PredicateNode](&root)
	for i := len(preds) - 1; i >= 0; i-- {
		loops := collect[*ast.BuiltinNode](&preds[i].Node)
		for j := len(loops) - 1; j >= 0; j-- {
			for _, a := range loops[j].Arguments {
				if _, ok := a.(*ast.PredicateNode); ok {
					return loops[j].Location().From
				}
			}
		}
	}
	return -1
}

// collect returns the nodes of type T under (and at) n, children first.
func collect[T ast.Node](n *ast.Node) []T {
	var out []T
	ast.Walk(n, visitor(func(x ast.Node) {
		if t, ok := x.(T); ok {
			out = append(out, t)
		}
	}))
	return out
}
