package connector

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/xdrhook/xdrhook/config"
	"github.com/xdrhook/xdrhook/dataplane"
	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/wire"
)

func parseConfig(t testing.TB, yml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("config.yml", []byte(yml), config.Options{
		LookupEnv: func(string) (string, bool) { return "", false },
	})
	if err != nil {
		t.Fatalf("config:\n%s\n%v", yml, err)
	}
	return cfg
}

// buildOptions runs the connector's wiring on a configuration, without
// starting anything.
func buildOptions(t testing.TB, yml string) (*config.Config, dataplane.Options) {
	t.Helper()
	cfg := parseConfig(t, yml)
	o, err := options(cfg, dataplane.Options{}, "test")
	if err != nil {
		t.Fatal(err)
	}
	return cfg, o
}

// message decodes the frame of r, as the data plane sees it.
func message(t testing.TB, r *wire.Record) *wire.Message {
	t.Helper()
	var d wire.Digester
	r.Generation, r.TTL, r.KeyType, r.Key = 1, wire.TTLNever, wire.ParticleInteger, wire.IntKey(7)
	r.LUT = wire.MakeLUT(1, 1734388704784)
	r.SetDigest(&d)
	frame := wire.AppendFrame(nil, r)
	m := new(wire.Message)
	if err := m.Decode(frame[wire.HeaderSize:]); err != nil {
		t.Fatal(err)
	}
	return m
}

func write(ns, set string, bins ...wire.BinSpec) *wire.Record {
	return &wire.Record{Kind: wire.KindWrite, Namespace: ns, Set: set, Bins: bins}
}

func del(ns, set string) *wire.Record {
	return &wire.Record{Kind: wire.KindDelete, Namespace: ns, Set: set}
}

func str(name, v string) wire.BinSpec {
	return wire.BinSpec{Name: name, Type: wire.ParticleString, Value: []byte(v)}
}

func integer(name string, v int64) wire.BinSpec {
	return wire.BinSpec{Name: name, Type: wire.ParticleInteger, Value: wire.IntValue(v)}
}

// routingConfig has three destinations (a, b and, when withDefault,
// "default"), the top-level routing under test, and overrides: namespace
// ns2 routes static to b in message-pack; its set s3 skips with batching
// off; its set s4 routes by bin "target".
func routingConfig(routing string, withDefault bool) string {
	def := ""
	if withDefault {
		def = "  default: {urls: [\"http://127.0.0.1:1/d\"]}\n"
	}
	return `destinations:
  a: {urls: ["http://127.0.0.1:1/a"]}
  b: {urls: ["http://127.0.0.1:1/b"]}
` + def + `routing: ` + routing + `
format: {mode: json}
batching: {enabled: true, max-records: 100, batch-interval: 20}
namespaces:
  ns2:
    routing: {mode: static, destination: b}
    format: {mode: message-pack}
    sets:
      s3:
        routing: {mode: skip}
        batching: {enabled: false}
      s4:
        routing: {mode: bin, bin: target}
`
}

// profileKind describes a dataplane profile by what tells the test's
// profiles apart: the encoder's format and batching.
func profileKind(p *dataplane.Profile) string {
	var f string
	switch p.NewEncoder().(type) {
	case *encode.JSON:
		f = "json"
	case *encode.MsgPack:
		f = "message-pack"
	default:
		f = fmt.Sprintf("%T", p.NewEncoder())
	}
	if p.Batching {
		return f + "+batching"
	}
	return f
}

func names(ds []*dataplane.Destination) string {
	var n []string
	for _, d := range ds {
		n = append(n, d.Name())
	}
	return strings.Join(n, ",")
}

// TestRouterModes routes records through the router the connector builds
// from real configuration text: every routing mode, with and without a
// destination named "default", under namespace and set overrides, writes
// and deletes. "D" in a want stands for the default destination: "default"
// when it exists, else nothing (skipped).
func TestRouterModes(t *testing.T) {
	type rec struct {
		name string
		r    *wire.Record
	}
	recs := []rec{
		{"test/a target=b", write("test", "a", str("target", "b"), integer("n", 1))},
		{"a/- target=int", write("a", "", integer("target", 5))},
		{"test/x delete", del("test", "x")},
		{"test/b target=nope", write("test", "b", str("other", "a"), str("target", "nope"))},
		{"ns2/q target=a", write("ns2", "q", str("target", "a"))},
		{"ns2/s3 target=a", write("ns2", "s3", str("target", "a"))},
		{"ns2/s3 delete", del("ns2", "s3")},
		{"ns2/s4 target=a", write("ns2", "s4", str("target", "a"))},
		{"ns2/s4 target=b", write("ns2", "s4", integer("n", 2), str("target", "b"))},
		{"ns2/s4 no target", write("ns2", "s4", integer("n", 2))},
		{"ns2/s4 delete", del("ns2", "s4")},
	}
	// The overrides route the same whatever the top-level mode.
	overrides := []string{"b", "", "", "a", "b", "D", "D"}
	profiles := []string{"json+batching", "json+batching", "json+batching", "json+batching",
		"message-pack+batching", "message-pack", "message-pack",
		"message-pack+batching", "message-pack+batching", "message-pack+batching", "message-pack+batching"}
	modes := []struct {
		name, routing string
		want          []string // for recs[0:4]
	}{
		{"static", "{mode: static, destination: a}", []string{"a", "a", "a", "a"}},
		{"static-multi-destination", "{mode: static-multi-destination, destinations: [a, b]}", []string{"a,b", "a,b", "a,b", "a,b"}},
		{"skip", "{mode: skip}", []string{"", "", "", ""}},
		{"namespace", "{mode: namespace}", []string{"D", "a", "D", "D"}},
		{"set", "{mode: set}", []string{"a", "D", "D", "b"}},
		{"bin", "{mode: bin, bin: target}", []string{"b", "D", "D", "D"}},
	}
	for _, mode := range modes {
		for _, withDefault := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/default=%t", mode.name, withDefault), func(t *testing.T) {
				_, o := buildOptions(t, routingConfig(mode.routing, withDefault))
				want := append(slices.Clone(mode.want), overrides...)
				for i, r := range recs {
					m := message(t, r.r)
					p, ds := o.Router.Route(m)
					w := want[i]
					if w == "D" {
						w = ""
						if withDefault {
							w = "default"
						}
					}
					if got := names(ds); got != w {
						t.Errorf("%s: destinations %q, want %q", r.name, got, w)
					}
					if got := profileKind(p); got != profiles[i] {
						t.Errorf("%s: profile %s, want %s", r.name, got, profiles[i])
					}
					if p != o.Profiles[p.ID] {
						t.Errorf("%s: profile %d is not the engine's", r.name, p.ID)
					}
					for _, d := range ds {
						if !slices.Contains(o.Destinations, d) {
							t.Errorf("%s: destination %s is not the engine's", r.name, d.Name())
						}
					}
				}
			})
		}
	}
}

// TestRouterAllocs: Route runs for every record on the event loops.
func TestRouterAllocs(t *testing.T) {
	for _, routing := range []string{"{mode: static, destination: a}", "{mode: namespace}", "{mode: set}", "{mode: bin, bin: target}"} {
		_, o := buildOptions(t, routingConfig(routing, true))
		ms := []*wire.Message{
			message(t, write("test", "a", str("target", "b"))),
			message(t, write("ns2", "s4", str("target", "a"))),
			message(t, del("test", "x")),
			message(t, write("a", "", integer("target", 1))),
		}
		if n := testing.AllocsPerRun(200, func() {
			for _, m := range ms {
				o.Router.Route(m)
			}
		}); n != 0 {
			t.Errorf("routing %s: %.1f allocs per run, want 0", routing, n)
		}
	}
}
