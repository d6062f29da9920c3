package expression

import (
	"encoding/hex"
	"fmt"
	"reflect"
	"testing"

	"github.com/xdrhook/xdrhook/wire"
)

// eval runs src as a Value program on m and returns its result.
func eval(t *testing.T, m *wire.Message, src string) any {
	t.Helper()
	r := NewRunner()
	r.Reset(m, 1000)
	v, err := r.run(mustCompile(t, Value, src))
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	return v
}

// TestEnvironment checks what every name of the environment holds, for
// every particle type a bin can have.
func TestEnvironment(t *testing.T) {
	rec := typical()
	geo := wire.GeoJSONValue(`{"type":"Point","coordinates":[1.5,2]}`, 7)
	rec.Bins = append(rec.Bins,
		wire.BinSpec{Name: "geo", Type: wire.ParticleGeoJSON, Value: geo},
		wire.BinSpec{Name: "hll", Type: wire.ParticleHLL, Value: []byte{9, 9}},
		wire.BinSpec{Name: "java", Type: wire.ParticleJava, Value: []byte{0xac, 0xed}},
		wire.BinSpec{Name: "neg", Type: wire.ParticleInteger, Value: wire.IntValue(-1 << 40)},
	)
	m := record(t, rec)
	for src, want := range map[string]any{
		`msg`:             "write",
		`namespace`:       "test",
		`set`:             "customers",
		`digest`:          hex.EncodeToString(rec.Digest[:]),
		`userKey`:         "k1",
		`gen`:             3,
		`lut`:             1700000000123,
		`exp`:             1100,
		`partial`:         false,
		`durable`:         false,
		`bins.first`:      "Ada",
		`bins["age"]`:     36,
		`bins.score`:      9.5,
		`bins.vip`:        true,
		`bins.raw`:        []byte{1, 2, 3},
		`bins.tags`:       []any{"a", 7},
		`bins.addr`:       map[string]any{"city": "Oslo", "zip": 150},
		`bins.addr.city`:  "Oslo",
		`bins.geo.type`:   "Point",
		`bins.geo`:        map[string]any{"type": "Point", "coordinates": []any{1.5, 2.0}},
		`bins.hll`:        []byte{9, 9},
		`bins.java`:       []byte{0xac, 0xed},
		`bins.neg`:        -1 << 40,
		`bins.missing`:    nil,
		`bins.age * 2`:    72,
		`len(bins.tags)`:  2,
		`bins.tags[1]`:    7,
		`"x" + bins.last`: "xLovelace",
	} {
		if got := eval(t, m, src); !reflect.DeepEqual(got, want) {
			if got == concatDone {
				continue // the root concatenation writes into the Runner: checked by TestTransform
			}
			t.Errorf("%s = %#v, want %#v", src, got, want)
		}
	}
	// Keys of other types: integer-keyed maps stay map[any]any.
	mp := wire.AppendCDTMap(nil, 2)
	mp = wire.AppendCDTInt(mp, 1)
	mp = wire.AppendCDTString(mp, "one")
	mp = wire.AppendCDTInt(mp, 2)
	mp = wire.AppendCDTFloat(mp, 2.5)
	del := &wire.Record{Kind: wire.KindDelete, Durable: true, NoLUT: true, Namespace: "ns", KeyType: wire.ParticleInteger, Key: wire.IntValue(42),
		Bins: nil}
	dm := record(t, del)
	for src, want := range map[string]any{`msg`: "delete", `durable`: true, `userKey`: 42, `set`: "", `exp`: 0, `bins.x`: nil, `lut`: 0} {
		if got := eval(t, dm, src); !reflect.DeepEqual(got, want) {
			t.Errorf("delete: %s = %#v, want %#v", src, got, want)
		}
	}
	im := record(t, &wire.Record{Kind: wire.KindWrite, Namespace: "ns", Bins: []wire.BinSpec{{Name: "m", Type: wire.ParticleMap, Value: mp}}})
	if got, want := eval(t, im, `bins.m`), map[any]any{1: "one", 2: 2.5}; !reflect.DeepEqual(got, want) {
		t.Errorf("int-keyed map = %#v", got)
	}
}

func TestTransform(t *testing.T) {
	m := record(t, typical())
	nowMs = func() int64 { return 1700000999000 }
	defer func() { nowMs = defaultNow }()
	tr := NewTransform([]SetBin{
		{Name: "full_name", Program: mustCompile(t, Value, `bins.first + " " + bins.last`)},
		{Name: "tier", Program: mustCompile(t, Value, `upper(bins.tier)`)},
		{Name: "age", Program: mustCompile(t, Value, `nil`)},
		{Name: "shipped_at", Program: mustCompile(t, Value, `now()`)},
		{Name: "adult", Program: mustCompile(t, Value, `bins.age >= 18`)},
		{Name: "ratio", Program: mustCompile(t, Value, `bins.score / 2`)},
		{Name: "pair", Program: mustCompile(t, Value, `[gen, "x", nil, true, 1.5, {"b": 1, "a": [1]}]`)},
		{Name: "blob", Program: mustCompile(t, Value, `bins.raw`)},
		{Name: "card", Program: mustCompile(t, Value, `"4111"`)},
		{Name: "sum", Program: mustCompile(t, Value, `bins.age + gen`)},
	}, []string{"ssn", "card", "nosuch"})
	r := NewRunner()
	r.Reset(m, 1000)
	out, err := r.Transform(tr, false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range out.Bins {
		got = append(got, fmt.Sprintf("%s:%d:%x", b.Name, b.Type, b.Value))
	}
	list := wire.AppendCDTList(nil, 6)
	list = wire.AppendCDTInt(list, 3)
	list = wire.AppendCDTString(list, "x")
	list = wire.AppendCDTNil(list)
	list = wire.AppendCDTBool(list, true)
	list = wire.AppendCDTFloat(list, 1.5)
	list = wire.AppendCDTMap(list, 2)
	list = wire.AppendCDTString(list, "a")
	list = wire.AppendCDTList(list, 1)
	list = wire.AppendCDTInt(list, 1)
	list = wire.AppendCDTString(list, "b")
	list = wire.AppendCDTInt(list, 1)
	want := []string{
		"first:3:" + hex.EncodeToString([]byte("Ada")),
		"last:3:" + hex.EncodeToString([]byte("Lovelace")),
		"tier:3:" + hex.EncodeToString([]byte("GOLD")), // replaced in place
		// age: nil, left out; ssn removed
		"score:2:" + hex.EncodeToString(wire.FloatValue(9.5)),
		"vip:17:01",
		"tags:20:" + hex.EncodeToString(m.Bins[7].Value),
		"addr:19:" + hex.EncodeToString(m.Bins[8].Value),
		"raw:4:010203",
		"full_name:3:" + hex.EncodeToString([]byte("Ada Lovelace")),
		"shipped_at:1:" + hex.EncodeToString(wire.IntValue(1700000999000)),
		"adult:17:01",
		"ratio:2:" + hex.EncodeToString(wire.FloatValue(4.75)),
		"pair:20:" + hex.EncodeToString(list),
		"blob:4:010203",
		// card: set, then removed
		"sum:1:" + hex.EncodeToString(wire.IntValue(39)),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("bins:\n got %q\nwant %q", got, want)
	}
	if out.Generation != m.Generation || string(out.Namespace) != "test" || out == m {
		t.Errorf("metadata not kept, or the input message changed")
	}
	if len(m.Bins) != 10 {
		t.Errorf("input message changed: %d bins", len(m.Bins))
	}
	// Pass after a failure: remove only.
	r.Reset(m, 1000)
	out, _ = r.Transform(tr, true)
	if len(out.Bins) != 9 {
		t.Errorf("skipSet: %d bins, want 9 (ssn removed)", len(out.Bins))
	}
	// A root concatenation runs operand by operand; when one is not a
	// string, the whole program gives + its meaning.
	cat := NewTransform([]SetBin{
		{Name: "sum", Program: mustCompile(t, Value, `bins.age + bins.age + 1`)},
		{Name: "joined", Program: mustCompile(t, Value, `bins.score + bins.score`)},
		{Name: "lit", Program: mustCompile(t, Value, `"a" + "b"`)},
		{Name: "mixed", Program: mustCompile(t, Value, `set + ":" + string(gen) + bins.first`)},
	}, nil)
	for _, s := range cat.Set {
		if s.Program.parts == nil && s.Name != "lit" {
			t.Errorf("%s: not compiled as a concatenation", s.Name)
		}
	}
	r.Reset(m, 1000)
	out, err = r.Transform(cat, false)
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, b := range out.Bins[10:] {
		got = append(got, fmt.Sprintf("%s:%d:%x", b.Name, b.Type, b.Value))
	}
	want = []string{
		"sum:1:" + hex.EncodeToString(wire.IntValue(73)),
		"joined:2:" + hex.EncodeToString(wire.FloatValue(19)),
		"lit:3:" + hex.EncodeToString([]byte("ab")),
		"mixed:3:" + hex.EncodeToString([]byte("customers:3Ada")),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("concatenations:\n got %q\nwant %q", got, want)
	}
	// A run-time error names the bin.
	bad := NewTransform([]SetBin{{Name: "x", Program: mustCompile(t, Value, `bins.first + 1`)}}, nil)
	r.Reset(m, 1000)
	if _, err := r.Transform(bad, false); err == nil || err.Error()[:6] != `bin "x` {
		t.Errorf("error %v", err)
	}
}

func TestRouteResults(t *testing.T) {
	m := record(t, typical())
	r := NewRunner()
	for src, want := range map[string][]string{
		`["a", "b"]`:                          {"a", "b"},
		`"a"`:                                 {"a"},
		`[]`:                                  nil,
		`bins.tier == "gold" ? ["x"] : ["y"]`: {"x"},
		`[bins.tier, set]`:                    {"gold", "customers"},
		`nil`:                                 nil,
	} {
		r.Reset(m, 0)
		got, err := r.Route(mustCompile(t, Route, src), nil)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %q, %v; want %q", src, got, err, want)
		}
	}
	r.Reset(m, 0)
	if _, err := r.Route(mustCompile(t, Route, `[bins.age]`), nil); err == nil {
		t.Error("a list holding an int: no error")
	}
}
