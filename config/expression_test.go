package config

import (
	"bytes"
	"testing"

	"github.com/xdrhook/xdrhook/expression"
)

const exprBase = `
destinations:
  search: {urls: ["http://127.0.0.1:9200/"]}
  audit: {urls: ["http://127.0.0.1:9300/"]}
`

func TestExpressionsLoad(t *testing.T) {
	c := mustParse(t, exprBase+`
routing:
  mode: expression
  expression: 'bins.tier == "gold" ? ["search", "audit"] : ["search"]'
filter: 'msg == "delete" || gen > 1'
transform:
  set:
    full_name: 'bins.first + " " + bins.last'
    shipped_at: 'now()'
  remove: [ssn, card]
expression-errors: skip
namespaces:
  test:
    filter: 'true'
    sets:
      orders:
        expression-errors: pass
      plain:
        routing: {mode: static, destination: search}
`, nil)
	top := c.Profile([]byte("other"), nil)
	if top.Filter == nil || top.Filter.Program.Source != `msg == "delete" || gen > 1` || top.ExpressionErrors.Policy != expression.Skip {
		t.Fatalf("top: %+v", top)
	}
	if top.Routing.Mode != RouteExpression || top.Routing.Expression == nil {
		t.Fatalf("routing %+v", top.Routing)
	}
	if tr := top.Transform; len(tr.Set) != 2 || tr.Set[0].Name != "full_name" || tr.Set[1].Name != "shipped_at" || len(tr.Remove) != 2 {
		t.Fatalf("transform %+v", tr)
	}
	ns := c.Profile([]byte("test"), []byte("x"))
	if ns.Filter.Program.Source != "true" || ns.Transform != top.Transform || ns.ExpressionErrors != top.ExpressionErrors {
		t.Errorf("namespace profile does not override filter alone: %+v", ns)
	}
	orders := c.Profile([]byte("test"), []byte("orders"))
	if orders.ExpressionErrors.Policy != expression.Pass || orders.Filter != ns.Filter {
		t.Errorf("set profile: %+v", orders)
	}
	plain := c.Profile([]byte("test"), []byte("plain"))
	if plain.Routing.Mode != RouteStatic || plain.Logic() == nil || plain.Logic().Route != nil || plain.Logic().Filter == nil {
		t.Errorf("plain: %+v", plain)
	}
	lg := top.Logic()
	if lg.Filter == nil || lg.Route == nil || lg.Transform == nil || lg.OnError != expression.Skip {
		t.Errorf("logic %+v", lg)
	}
	// No custom logic: no Logic, and expression-errors defaults to fail.
	c = mustParse(t, exprBase+"routing: {mode: static, destination: search}\n", nil)
	if p := c.Profile(nil, nil); p.Logic() != nil || p.ExpressionErrors.Policy != expression.Fail {
		t.Errorf("plain config: logic %v, policy %v", p.Logic(), p.ExpressionErrors.Policy)
	}
}

// TestExpressionErrorsPlaced: a program that does not compile is reported
// at its line and column in the file, whatever the YAML style of its text.
func TestExpressionErrorsPlaced(t *testing.T) {
	wantErrs(t, exprBase+`routing: {mode: static, destination: search}
filter: gen > "x"
`, nil, `config.yml:6:13: filter: invalid operation: > (mismatched types int and string)`)
	wantErrs(t, exprBase+`routing: {mode: static, destination: search}
filter: 'gen > "x"'
`, nil, `config.yml:6:14: filter: invalid operation: > (mismatched types int and string)`)
	wantErrs(t, exprBase+`routing: {mode: static, destination: search}
namespaces:
  test:
    filter: |
      msg == "write" &&
        nosuch > 1
`, nil, `config.yml:10:9: namespaces.test.filter: unknown name nosuch`)
	wantErrs(t, exprBase+`routing:
  mode: expression
  expression: 'bins.tier == "gold" ? ["search", "adit"] : ["serch"]'
`, nil,
		`config.yml:7:49: routing.expression: "adit" is not a defined destination (did you mean "audit"?)`,
		`config.yml:7:60: routing.expression: "serch" is not a defined destination (did you mean "search"?)`)
	wantErrs(t, exprBase+`routing: {mode: expression, expression: 'gen'}
`, nil, `config.yml:5:42: routing.expression: a route expression returns destination names (a string or a list of strings), not int`)
	wantErrs(t, exprBase+`routing: {mode: expression}
`, nil, `config.yml:5: routing.expression: missing: expression routing needs an expression returning destination names, such as 'bins.tier == "gold" ? ["search", "audit"] : ["search"]'`)
	wantErrs(t, exprBase+`routing: {mode: static, destination: search, expression: '"search"'}
`, nil, `config.yml:5: routing.expression: not used by routing mode static`)
	wantErrs(t, exprBase+`routing: {mode: static, destination: search}
transform:
  set:
    x: 'bins.a +'
  remove: [a, a, ""]
expression-errors: retry
`, nil,
		`config.yml:8:16: transform.set.x: unexpected token EOF`,
		`config.yml:9: transform.remove[1]: "a" is listed twice`,
		`config.yml:9: transform.remove[2]: empty bin name`,
		`config.yml:10: expression-errors: "retry" is not one of fail, skip, pass`)
	wantErrs(t, exprBase+`routing: {mode: static, destination: search}
transform: {}
`, nil, `config.yml:6: transform: sets nothing and removes nothing: add set (bin: expression) or remove ([bin, ...])`)
	// An expression from the environment: its text is not repeated.
	wantErrs(t, exprBase+`routing: {mode: static, destination: search}
filter: '${FILTER}'
`, map[string]string{"FILTER": "secret +"}, `config.yml:6:9: filter: does not compile (its text comes from the environment, so expr's message is not shown)`)
}

func TestExpressionTooLarge(t *testing.T) {
	big := "gen > 0"
	for i := 0; i < 400; i++ {
		big += " && gen > 0"
	}
	_, err := parse(t, exprBase+"routing: {mode: static, destination: search}\nfilter: '"+big+"'\n", nil, nil)
	if err == nil || !contains([]string{err.Error()}, err.Error()) || !containsStr(err.Error(), "the expression is too large (over 1000 nodes); split it or simplify it") {
		t.Fatalf("error %v", err)
	}
}

func containsStr(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestTransformAvroUserSchema(t *testing.T) {
	schema := `{"type":"record","name":"r","fields":[{"name":"msg","type":"string"},{"name":"full_name","type":["null","string"]}]}`
	yml := exprBase + `routing: {mode: static, destination: search}
format: {mode: avro, schema-file: s.avsc}
transform:
  set:
    full_name: 'bins.first + " " + bins.last'
    shipped_at: 'now()'
    dropped: '1'
  remove: [dropped]
`
	_, err := parse(t, yml, nil, files{"s.avsc": []byte(schema)})
	want := `config.yml:10: transform.set.shipped_at: "shipped_at" is not a field of the Avro schema of format (a bin the schema does not name is left out): add the field, or use the built-in schema`
	if err == nil || err.Error() != want {
		t.Fatalf("error:\n%v\nwant:\n%s", err, want)
	}
	// The built-in schema holds every bin.
	if _, err := parse(t, exprBase+`routing: {mode: static, destination: search}
format: {mode: avro}
transform: {set: {shipped_at: 'now()'}}
`, nil, nil); err != nil {
		t.Fatal(err)
	}
}

// With expression-errors: pass and no destination named default, a failing
// route expression skips its record: check says so, where the route is.
func TestPassRouteWithoutDefaultWarns(t *testing.T) {
	const route = "routing:\n  mode: expression\n  expression: 'bins.tier == \"gold\" ? [\"audit\"] : [\"search\"]'\n"
	c := mustParse(t, exprBase+route+"expression-errors: pass\n", nil)
	want := `config.yml:7: routing.expression: with expression-errors: pass, a record whose route expression fails goes to the destination named "default"; none is defined, so such a record is skipped (answered 0, sent nowhere): define one, or use expression-errors: fail`
	if len(c.Warnings) != 1 || c.Warnings[0].Error() != want {
		t.Errorf("warnings %v, want\n%s", c.Warnings, want)
	}
	for _, yml := range []string{
		exprBase + route + "expression-errors: fail\n",
		exprBase + "  default: {urls: [\"http://127.0.0.1:9400/\"]}\n" + route + "expression-errors: pass\n",
	} {
		if c := mustParse(t, yml, nil); len(c.Warnings) != 0 {
			t.Errorf("warnings %v for\n%s", c.Warnings, yml)
		}
	}
}

// An expression route may name any destination: the checks that follow the
// routes (es-bulk query parameters, request shaping with batching) see
// every destination, as for bin routing.
func TestExpressionRouteReachesEveryDestination(t *testing.T) {
	c := mustParse(t, exprBase+`routing: {mode: expression, expression: '["search"]'}
`, nil)
	if got := c.ESDestinations(c.Profile(nil, nil)); len(got) != 2 {
		t.Errorf("ESDestinations: %d, want every destination", len(got))
	}
}

// TestExpressionsPrintAndLoadAgain: `xdrhook check` prints every
// expression so that the printed config loads to the same programs and
// policies (block scalars, quotes and all).
func TestExpressionsPrintAndLoadAgain(t *testing.T) {
	c1 := mustParse(t, exprBase+`routing:
  mode: expression
  expression: |
    bins.tier == "gold"
      ? ["search", "audit"]
      : ["search"]
filter: "msg == 'delete' || gen > 1 && bins[\"a: b\"] != nil"
transform:
  set:
    full_name: 'bins.first + " " + bins.last'
    "x: y": '{"k": [1, 2.5, "s"]}'
  remove: [ssn]
expression-errors: pass
namespaces:
  test: {filter: 'true', expression-errors: skip}
`, nil)
	var out bytes.Buffer
	if err := c1.WriteYAML(&out); err != nil {
		t.Fatal(err)
	}
	c2, err := Parse("again.yml", out.Bytes(), Options{})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for i, p1 := range c1.Profiles() {
		p2 := c2.Profiles()[i]
		if p1.Filter.Program.Source != p2.Filter.Program.Source || p1.Routing.Expression.Source != p2.Routing.Expression.Source ||
			p1.ExpressionErrors.Policy != p2.ExpressionErrors.Policy || len(p1.Transform.Set) != len(p2.Transform.Set) {
			t.Errorf("profile %d differs:\n%s", i, out.String())
		}
		for j, s := range p1.Transform.Set {
			if s2 := p2.Transform.Set[j]; s.Name != s2.Name || s.Program.Source != s2.Program.Source {
				t.Errorf("set %d: %q %q, then %q %q", j, s.Name, s.Program.Source, s2.Name, s2.Program.Source)
			}
		}
	}
}
