package config

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestWriteYAMLRoundTrip: the printed config loads again to the same
// config (the redacted header aside).
func TestWriteYAMLRoundTrip(t *testing.T) {
	for _, src := range []string{"example", "overrides"} {
		t.Run(src, func(t *testing.T) {
			env := map[string]string{"SEARCH_TOKEN": "tok-3f9a"}
			var c1 *Config
			if src == "example" {
				c1 = loadExample(t)
			} else {
				c1 = mustParse(t, overrides, env)
			}
			var out bytes.Buffer
			if err := c1.WriteYAML(&out); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out.String(), "tok-3f9a") {
				t.Fatalf("the token is printed:\n%s", out.String())
			}
			c2, err := Parse("again.yml", out.Bytes(), Options{LookupEnv: mapEnv(env), ReadFile: exampleFiles().read})
			if err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			if !reflect.DeepEqual(c1.Service, c2.Service) || !reflect.DeepEqual(c1.DestinationNames, c2.DestinationNames) ||
				c1.Logging != c2.Logging || len(c1.Profiles()) != len(c2.Profiles()) {
				t.Errorf("service, destinations, logging or profiles differ")
			}
			for _, name := range c1.DestinationNames {
				d1, d2 := *c1.Destinations[name], *c2.Destinations[name]
				d1.Headers, d2.Headers = nil, nil
				if !reflect.DeepEqual(d1, d2) {
					t.Errorf("destination %s:\n%+v\n%+v", name, d1, d2)
				}
			}
			for i, p1 := range c1.Profiles() {
				p2 := c2.Profiles()[i]
				if p1.Namespace != p2.Namespace || p1.Set != p2.Set || p1.Routing.Mode != p2.Routing.Mode ||
					len(p1.Routing.Destinations) != len(p2.Routing.Destinations) ||
					!eqSection(*p1.Format, *p2.Format) || !eqSection(*p1.Batching, *p2.Batching) ||
					!eqSection(*p1.BinTransforms, *p2.BinTransforms) || !eqSection(*p1.RecordOrdering, *p2.RecordOrdering) {
					t.Errorf("profile %d differs:\n%+v\n%+v", i, p1, p2)
				}
			}
		})
	}
}

// eqSection compares resolved sections, leaving out their links to the
// raw tree and what they note of it (a printed config writes every value).
func eqSection[T Format | Batching | BinTransforms | RecordOrdering](a, b T) bool {
	for _, v := range []any{&a, &b} {
		switch s := v.(type) {
		case *Format:
			s.raw, s.framingSet = nil, false
		case *Batching:
			s.raw, s.absent = nil, false
		case *BinTransforms:
			s.raw = nil
		case *RecordOrdering:
			s.raw = nil
		}
	}
	return reflect.DeepEqual(a, b)
}

func TestWriteExampleYAML(t *testing.T) {
	c := loadExample(t)
	var out bytes.Buffer
	if err := c.WriteYAML(&out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{
		"# testdata/example.yml, resolved: defaults filled in, values from the environment redacted.\n",
		`      Authorization: "<redacted: from Bearer ${SEARCH_TOKEN}>"` + "\n",
		"  reply-deadline: 8000\n",
		"    http-success-status-codes: [\"200-299\"]\n",
		"#   0: every namespace and set not listed below — routing static-multi-destination → search; format json, framing ndjson; batching 500 records / 1048576 bytes / 50 ms; 1 bin(s) renamed\n",
		"#   1: namespace test, set orders — routing static → search; format json, framing ndjson; batching 500 records / 1048576 bytes / 50 ms; 1 bin(s) renamed\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
}

// TestRedaction: no value from the environment is printed, wherever it was
// written (a list, a single value for a list, a merged anchor, an
// override) and in both formats.
func TestRedaction(t *testing.T) {
	env := map[string]string{
		"TOKEN": "Zq7-secret-token", "HOST": "es-secret.example.com", "PORT": "9311",
		"KEY": "meta-secret-key", "BIN": "binsecret", "USER": "user-secret-1",
	}
	yml := `
service: {port: "${PORT}"}
destinations:
  a: &base
    urls: "https://${HOST}/_bulk"
    headers: {Authorization: "Bearer ${TOKEN}", X-User: "${USER}"}
  b:
    <<: *base
    urls: ["https://${HOST}:9200/_bulk"]
routing: {mode: static-multi-destination, destinations: [a, b]}
namespaces:
  test:
    format: {mode: flat-json, metadata-key: "${KEY}"}
    sets:
      s: {routing: {mode: bin, bin: "${BIN}"}}
`
	c := mustParse(t, yml, env)
	if c.Service.Ports[0] != 9311 || c.Destinations["b"].Headers[0].Value != "Bearer Zq7-secret-token" {
		t.Fatalf("values: %v %+v", c.Service.Ports, c.Destinations["b"].Headers)
	}
	var y, j bytes.Buffer
	if err := c.WriteYAML(&y); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteJSON(&j); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{y.String(), j.String()} {
		for k, v := range env {
			if strings.Contains(out, v) {
				t.Errorf("%s's value %q is printed:\n%s", k, v, out)
			}
		}
		for _, tpl := range []string{"<redacted: from Bearer ${TOKEN}>", "<redacted: from https://${HOST}/_bulk>", "<redacted: from https://${HOST}:9200/_bulk>", "<redacted: from ${KEY}>", "<redacted: from ${BIN}>", "<redacted: from ${PORT}>", "<redacted: from ${USER}>"} {
			if !strings.Contains(out, tpl) {
				t.Errorf("%q is not in:\n%s", tpl, out)
			}
		}
	}
	var doc struct {
		Config   map[string]any   `json:"config"`
		Profiles []map[string]any `json:"profiles"`
	}
	if err := json.Unmarshal(j.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, j.String())
	}
	if len(doc.Profiles) != 3 || doc.Config["routing"] == nil {
		t.Errorf("json: %d profiles\n%s", len(doc.Profiles), j.String())
	}
	// Destinations keep the order of the file in both outputs.
	if strings.Index(j.String(), `"a": {`) > strings.Index(j.String(), `"b": {`) {
		t.Error("json: destinations out of order")
	}
}

func TestDestinationOrder(t *testing.T) {
	c := mustParse(t, `
destinations:
  zeta: {urls: ["http://127.0.0.1:1/"]}
  alpha: {urls: ["http://127.0.0.1:2/"]}
  mid: {urls: ["http://127.0.0.1:3/"]}
routing: {mode: static-multi-destination, destinations: [mid, zeta, alpha]}
`, nil)
	if !reflect.DeepEqual(c.DestinationNames, []string{"zeta", "alpha", "mid"}) {
		t.Errorf("names %v", c.DestinationNames)
	}
	for i, name := range c.DestinationNames {
		if c.Destinations[name].ID != i || c.DestinationList()[i].Name != name {
			t.Errorf("%s: ID %d", name, c.Destinations[name].ID)
		}
	}
	var out bytes.Buffer
	_ = c.WriteYAML(&out)
	s := out.String()
	if !(strings.Index(s, "  zeta:") < strings.Index(s, "  alpha:") && strings.Index(s, "  alpha:") < strings.Index(s, "  mid:")) {
		t.Errorf("yaml order:\n%s", s)
	}
}
