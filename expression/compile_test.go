package expression

import (
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

// TestValuesMirrorsEnv: values must have Env's fields in Env's order (the
// checker resolves a name to a field index of Env; the VM reads that index
// of values), each an interface or the same type as Env's.
func TestValuesMirrorsEnv(t *testing.T) {
	e, v := reflect.TypeOf(Env{}), reflect.TypeOf(values{})
	if v.NumField() != e.NumField() {
		t.Fatalf("values has %d fields, Env %d", v.NumField(), e.NumField())
	}
	for i := 0; i < e.NumField(); i++ {
		ef, vf := e.Field(i), v.Field(i)
		if ef.Name != vf.Name {
			t.Errorf("field %d: Env.%s, values.%s", i, ef.Name, vf.Name)
		}
		if vf.Type.Kind() != reflect.Interface && vf.Type != ef.Type {
			t.Errorf("values.%s is %s, want an interface or %s", vf.Name, vf.Type, ef.Type)
		}
	}
	var x values
	for j := 0; j < maxNamed; j++ {
		f := v.Field(fieldOf["bins"].index() + 1 + j)
		if uintptr(unsafe.Pointer(x.named(j))) != uintptr(unsafe.Pointer(&x))+f.Offset {
			t.Fatalf("named(%d) is not field %s", j, f.Name)
		}
	}
	if got := strings.Join(Names(), " "); got != "msg namespace set digest userKey gen lut exp partial durable bins now()" {
		t.Errorf("Names() = %s", got)
	}
}

func TestCompileErrors(t *testing.T) {
	for _, c := range []struct {
		k         Kind
		src       string
		line, col int
		msg       string
	}{
		{Filter, `gen > "x"`, 1, 5, `invalid operation: > (mismatched types int and string)`},
		{Filter, `gen + 1`, 1, 1, `expected bool, but got int`},
		{Filter, "msg == \"write\" &&\n  nosuch > 1", 2, 3, `unknown name nosuch`},
		{Filter, `gen >`, 1, 5, `unexpected token EOF`},
		{Filter, `  `, 1, 1, `empty expression`},
		{Route, `gen`, 1, 1, `a route expression returns destination names (a string or a list of strings), not int`},
		{Value, `set == ""`, 0, 0, ""}, // a bool bin is fine
		{Filter, strings.Repeat("gen + ", 600) + "gen > 1", 1, 3005, "the expression is too large (over 1000 nodes); split it or simplify it"},
		// Nested loops over record data: under ten nodes, no allocation,
		// minutes per record.
		{Filter, `all(bins.big, {all(bins.big, {all(bins.big, {# >= 0})})})`, 1, 16, "a loop inside a loop's predicate"},
		{Filter, "gen > 1 &&\n  any(bins.l, {len(filter(bins.l, {# == 1})) > 0})", 2, 20, "a loop inside a loop's predicate"},
		{Value, `map(bins.l, {map(1..3, {# * 2})})`, 1, 14, "a loop inside a loop's predicate"},
		// One level, and loops one after another, stay.
		{Filter, `all(bins.l, {# >= 0}) && any(bins.l, {# == 1})`, 0, 0, ""},
		{Value, `bins.l | filter(# > 1) | map(# * 2)`, 0, 0, ""},
	} {
		_, err := Compile(c.k, c.src)
		if c.msg == "" {
			if err != nil {
				t.Errorf("%q: %v", c.src, err)
			}
			continue
		}
		e, ok := err.(*Error)
		if !ok {
			t.Errorf("%q: error %v (%T), want *Error", c.src, err, err)
			continue
		}
		if e.Line != c.line || e.Column != c.col || !strings.HasPrefix(e.Msg, c.msg) {
			t.Errorf("%.40q: %d:%d %q, want %d:%d %q", c.src, e.Line, e.Column, e.Msg, c.line, c.col, c.msg)
		}
	}
}

func TestScan(t *testing.T) {
	p := mustCompile(t, Route, `bins.tier == "gold" ? ["search", "audit"] : bins["region"] == "eu" ? "eu" : []`)
	if names, all := p.Bins(); !reflect.DeepEqual(names, []string{"tier", "region"}) || all {
		t.Errorf("bins %v all %v", names, all)
	}
	want := []Literal{{"search", 1, 24}, {"audit", 1, 34}, {"eu", 1, 70}}
	if !reflect.DeepEqual(p.Literals(), want) {
		t.Errorf("literals %+v, want %+v", p.Literals(), want)
	}
	if p.fields != fBins {
		t.Errorf("fields %b", p.fields)
	}
	p = mustCompile(t, Filter, `any(keys(bins), {# startsWith "x"}) || gen > 2`)
	if _, all := p.Bins(); !all || p.fields != fBins|fGen {
		t.Errorf("dynamic bins: all %v fields %b", all, p.fields)
	}
}

// TestHostilePrograms: what a program builds at run time is bounded by
// expr's VM memory budget (a Runner's VM keeps the default); such a
// program fails on the record, as any run-time error, instead of taking
// the process's memory.
func TestHostilePrograms(t *testing.T) {
	m := record(t, typical())
	r := NewRunner()
	for _, src := range []string{
		`len(repeat("x", 1000000000)) > 0`,
		`len(1..100000000) > 0`,
		`len(map(1..10000, {1..10000})) > 0`,
		`len(join(map(1..1000000, {"xxxxxxxxxx"}))) > 0`,
	} {
		r.Reset(m, 0)
		if _, err := r.Filter(mustCompile(t, Filter, src)); err == nil || !strings.Contains(err.Error(), "memory budget exceeded") {
			t.Errorf("%s: %v", src, err)
		}
	}
}
