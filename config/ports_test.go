package config

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

const portsYAML = `
service: {port: [3000, 3001, 3002]}
destinations:
  search: {urls: ["http://127.0.0.1:9200/_bulk"]}
  audit: {urls: ["http://127.0.0.1:9300/"]}
routing: {mode: static, destination: search}
format: {mode: flat-json}
namespaces:
  test: {format: {mode: json}}
port-based-config:
  3001:
    routing: {mode: static, destination: audit}
    format: {mode: message-pack}
    batching: {max-records: 10}
    bin-transforms: {exclude: {type: specified, bins: [secret]}}
    record-ordering: {enable: true}
    namespaces:
      bar:
        format: {mode: json}
        sets:
          s1: {routing: {mode: skip}}
  3002:
    namespaces:
      test: {routing: {mode: static, destination: audit}}
`

func TestPortBasedConfig(t *testing.T) {
	c := mustParse(t, portsYAML, nil)
	b := func(s string) []byte { return []byte(s) }
	top := c.Profile(b("x"), b("y"))
	// A port without a block: the file's top level and namespaces.
	if p := c.ProfileFor(3000, b("x"), b("y")); p != top {
		t.Errorf("port 3000: profile %+v, want the top level", p)
	}
	if p := c.ProfileFor(3000, b("test"), b("y")); p.Format.Mode != FormatJSON || p.Routing.Destinations[0].Name != "search" {
		t.Errorf("port 3000, namespace test: %s → %s", p.Format.Mode, p.Routing.Destinations[0].Name)
	}
	// Port 3001: its block is its top level; the file's namespace test
	// override does not apply to it.
	for _, ns := range []string{"x", "test"} {
		p := c.ProfileFor(3001, b(ns), b("y"))
		if p.Port != 3001 || p.Format.Mode != FormatMessagePack || p.Routing.Destinations[0].Name != "audit" ||
			p.Batching.MaxRecords != 10 || !p.Batching.Enabled || p.BinTransforms.Exclude[0] != "secret" || !p.RecordOrdering.Enable {
			t.Errorf("port 3001, namespace %s: %+v", ns, p)
		}
	}
	// Its namespaces apply on top of it: bar replaces format only.
	p := c.ProfileFor(3001, b("bar"), b("s2"))
	if p.Format.Mode != FormatJSON || p.Routing.Destinations[0].Name != "audit" || p.Batching.MaxRecords != 10 || p.Namespace != "bar" || p.Port != 3001 {
		t.Errorf("port 3001, bar.s2: %+v", p)
	}
	if p := c.ProfileFor(3001, b("bar"), b("s1")); p.Routing.Mode != RouteSkip || p.Format.Mode != FormatJSON {
		t.Errorf("port 3001, bar.s1: %+v", p)
	}
	// Port 3002 overrides a namespace only: the rest is the file's top level
	// (flat-json to search).
	if p := c.ProfileFor(3002, b("x"), nil); p != top {
		t.Errorf("port 3002, x: %+v, want the top level", p)
	}
	if p := c.ProfileFor(3002, b("test"), nil); p.Routing.Destinations[0].Name != "audit" || p.Format.Mode != FormatFlatJSON || p.Port != 3002 {
		t.Errorf("port 3002, test: %s %s", p.Routing.Destinations[0].Name, p.Format.Mode)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %v", Errors(c.Warnings))
	}
	// A port block without namespaces while the top level has some: said.
	cw := mustParse(t, strings.Replace(portsYAML, "      test: {routing: {mode: static, destination: audit}}", "      {}", 1), nil)
	if len(cw.Warnings) != 1 || cw.Warnings[0].Error() != `config.yml:22: port-based-config.3002: the top-level namespaces overrides do not apply to port 3002 (its block is its top level); repeat the ones it needs under port-based-config.3002.namespaces` {
		t.Errorf("warnings: %v", Errors(cw.Warnings))
	}
	// check prints it, and the output loads again to the same profiles.
	var out bytes.Buffer
	if err := c.WriteYAML(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"port-based-config:\n", "port 3001: every namespace and set not listed below for this port — routing static → audit; format message-pack",
		"port 3001: namespace bar, set s1 — routing skip"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check output lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(out.String(), "\nport-based-config:\n  3001:\n") {
		t.Errorf("ports not printed as integers:\n%s", out.String())
	}
	var js bytes.Buffer
	if err := c.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Config struct {
			Ports map[string]any `json:"port-based-config"`
		}
		Profiles []struct{ Port int }
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil || len(doc.Config.Ports) != 2 || doc.Profiles[len(doc.Profiles)-1].Port != 3002 {
		t.Errorf("json: %v %+v\n%s", err, doc, js.String())
	}
	c2 := mustParse(t, out.String(), nil)
	if len(c2.Profiles()) != len(c.Profiles()) {
		t.Fatalf("reloaded: %d profiles, want %d", len(c2.Profiles()), len(c.Profiles()))
	}
	for i, p := range c.Profiles() {
		if d1, d2 := c.describeProfile(p), c2.describeProfile(c2.Profiles()[i]); d1 != d2 {
			t.Errorf("reloaded profile %d: %s, want %s", i, d2, d1)
		}
	}
	allocs := testing.AllocsPerRun(100, func() {
		c.ProfileFor(3001, b("bar"), b("s1"))
		c.ProfileFor(3000, b("test"), b("y"))
	})
	if allocs != 0 {
		t.Errorf("ProfileFor allocates %v", allocs)
	}
}

func TestPortBasedConfigErrors(t *testing.T) {
	wantErrs(t, `
service: {port: [3000, 0]}
destinations:
  d: {urls: ["http://127.0.0.1:9200/"]}
routing: {mode: static, destination: d}
port-based-config:
  3001: {format: {mode: json}}
  http: {format: {mode: json}}
  0: {}
  3000:
    routing: {mode: static, destination: e}
    format: {mode: xml}
`, nil,
		`config.yml:7: port-based-config.3001: 3001 is not an XDR listener port (service.port: [3000, 0]): records can only arrive on those`,
		`config.yml:8: port-based-config.http: "http" is not a port number: port-based-config maps XDR listener ports (service.port) to their sections`,
		`config.yml:9: port-based-config.0: port 0 asks the OS for a free port; port-based-config needs the fixed ports of service.port`,
		`config.yml:11: port-based-config.3000.routing.destination: "e" is not a defined destination (defined: d)`,
		`config.yml:12: port-based-config.3000.format.mode: "xml" is not one of json, flat-json, message-pack, avro`)
	wantErrContains(t, `
service: {port: 3000}
destinations:
  d: {urls: ["http://127.0.0.1:9200/"]}
routing: {mode: static, destination: d}
port-based-config:
  3000: {service: {port: 1}}
`, nil, `config.yml:7: unknown key "service" in port-based-config.3000 (known keys: routing, format, batching, bin-transforms, filter, transform, expression-errors, record-ordering, namespaces)`)
}

// A port's block carries the custom-logic sections like the others: the
// filter of port 3001 applies to its records only, and its namespaces
// inherit it.
func TestPortBasedConfigExpressions(t *testing.T) {
	c := mustParse(t, `
service: {port: [3000, 3001]}
destinations:
  search: {urls: ["http://127.0.0.1:9200/"]}
routing: {mode: static, destination: search}
port-based-config:
  3001:
    filter: 'gen > 1'
    transform: {remove: [ssn]}
    expression-errors: skip
    namespaces:
      bar: {format: {mode: json}}
`, nil)
	b := func(s string) []byte { return []byte(s) }
	if p := c.ProfileFor(3000, b("bar"), b("s")); p.Filter != nil || p.Logic() != nil {
		t.Errorf("port 3000: filter %v, want none", p.Filter)
	}
	for _, ns := range []string{"x", "bar"} {
		p := c.ProfileFor(3001, b(ns), b("s"))
		if p.Filter == nil || p.Transform == nil || p.ExpressionErrors == nil || p.Logic() == nil {
			t.Errorf("port 3001, namespace %s: filter %v transform %v errors %v", ns, p.Filter, p.Transform, p.ExpressionErrors)
		}
	}
}
