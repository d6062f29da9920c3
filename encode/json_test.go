package encode

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/xdrhook/xdrhook/wire"
)

// The spec examples (output-formats.md), from the captured frames.
const (
	jtCapturedWriteJSON  = `{"msg":"write","key":["test","myset","X+O3wPRmmnfIRWwb9PH2jFWsEAI=",10],"gen":1,"exp":0,"lut":1734388704784,"bins":[{"name":"name","type":"str","value":"colton"},{"name":"age","type":"int","value":27},{"name":"mapTest","type":"map","value":{"a":1,"b":2},"order":"unordered"}]}`
	jtCapturedDeleteJSON = `{"msg":"delete","key":["test","myset","X+O3wPRmmnfIRWwb9PH2jFWsEAI=",10],"durable":false,"gen":2,"lut":1734388731220}`
	jtCapturedWriteFlat  = `{"metadata":{"namespace":"test","set":"myset","userKey":10,"digest":"X+O3wPRmmnfIRWwb9PH2jFWsEAI=","msg":"write","gen":1,"lut":1734388704784,"exp":0},"name":"colton","age":27,"mapTest":{"a":1,"b":2}}`
	jtCapturedDeleteFlat = `{"metadata":{"namespace":"test","set":"myset","userKey":10,"digest":"X+O3wPRmmnfIRWwb9PH2jFWsEAI=","msg":"delete","gen":2,"lut":1734388731220,"durable":false}}`
)

func TestJSONCaptured(t *testing.T) {
	w := jtCaptured(t, "write-3bins-key10.hex")
	d := jtCaptured(t, "delete-key10.hex")
	for _, tc := range []struct {
		enc  Encoder
		m    *wire.Message
		want string
	}{
		{new(JSON), w, jtCapturedWriteJSON},
		{new(JSON), d, jtCapturedDeleteJSON},
		{new(FlatJSON), w, jtCapturedWriteFlat},
		{new(FlatJSON), d, jtCapturedDeleteFlat},
	} {
		// Append after a prefix: the encoder must only append.
		out, err := tc.enc.Append([]byte("prefix"), tc.m, jtNow)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(out); got != "prefix"+tc.want {
			t.Errorf("got  %s\nwant prefix%s", got, tc.want)
		}
		jtCheckJSON(t, out[len("prefix"):])
		if ct := tc.enc.ContentType(); ct != "application/json" {
			t.Errorf("content type %q", ct)
		}
	}
}

// TestJSONEveryParticle renders one bin of every particle type.
func TestJSONEveryParticle(t *testing.T) {
	geo := `{"type":"Point","coordinates":[-122.0,37.5]}`
	mp := jvMap(-1, jvStr("a"), jvInt(1))
	list := jvList(-1, jvInt(1), jvStr("a"))
	r := jtRecord(
		wire.BinSpec{Name: "gone", Type: wire.ParticleNull},
		wire.BinSpec{Name: "int", Type: wire.ParticleInteger, Value: wire.IntValue(-42)},
		wire.BinSpec{Name: "float", Type: wire.ParticleFloat, Value: wire.FloatValue(2.5)},
		wire.BinSpec{Name: "str", Type: wire.ParticleString, Value: []byte("héllo")},
		wire.BinSpec{Name: "blob", Type: wire.ParticleBlob, Value: []byte{0, 1, 2, 0xff}},
		wire.BinSpec{Name: "java", Type: wire.ParticleJava, Value: []byte{0xac, 0xed, 0, 5}},
		wire.BinSpec{Name: "csharp", Type: wire.ParticleCSharp, Value: []byte("cs")},
		wire.BinSpec{Name: "python", Type: wire.ParticlePython, Value: []byte("py")},
		wire.BinSpec{Name: "ruby", Type: wire.ParticleRuby, Value: []byte("rb")},
		wire.BinSpec{Name: "php", Type: wire.ParticlePHP, Value: []byte("php")},
		wire.BinSpec{Name: "erlang", Type: wire.ParticleErlang, Value: []byte("erl")},
		wire.BinSpec{Name: "vector", Type: wire.ParticleVector, Value: []byte{0, 0, 0x80, 0x3f}},
		wire.BinSpec{Name: "bool", Type: wire.ParticleBool, Value: wire.BoolValue(false)},
		wire.BinSpec{Name: "hll", Type: wire.ParticleHLL, Value: []byte{1, 2, 3}},
		wire.BinSpec{Name: "map", Type: wire.ParticleMap, Value: mp.b},
		wire.BinSpec{Name: "list", Type: wire.ParticleList, Value: list.b},
		wire.BinSpec{Name: "geo", Type: wire.ParticleGeoJSON, Value: wire.GeoJSONValue(geo, 0x1234, 0x5678)},
		wire.BinSpec{Name: "t5", Type: 5, Value: []byte{5, 6}},
		wire.BinSpec{Name: "t99", Type: 99, Value: []byte("c")},
	)
	r.Partial = true
	r.TTL = 3600
	want := `{"msg":"write","key":["test","myset","X+O3wPRmmnfIRWwb9PH2jFWsEAI=",10],"gen":1,"exp":1700003600,"lut":1734388704784,"partial":true,"bins":[` +
		`{"name":"gone","type":"null","value":null},` +
		`{"name":"int","type":"int","value":-42},` +
		`{"name":"float","type":"float","value":2.5},` +
		`{"name":"str","type":"str","value":"héllo"},` +
		`{"name":"blob","type":"blob","value":"AAEC/w=="},` +
		`{"name":"java","type":"java-blob","value":"rO0ABQ=="},` +
		`{"name":"csharp","type":"csharp-blob","value":"Y3M="},` +
		`{"name":"python","type":"python-blob","value":"cHk="},` +
		`{"name":"ruby","type":"ruby-blob","value":"cmI="},` +
		`{"name":"php","type":"php-blob","value":"cGhw"},` +
		`{"name":"erlang","type":"erlang-blob","value":"ZXJs"},` +
		`{"name":"vector","type":"vector","value":"AACAPw=="},` +
		`{"name":"bool","type":"bool","value":false},` +
		`{"name":"hll","type":"hll","value":"AQID"},` +
		`{"name":"map","type":"map","value":{"a":1},"order":"unordered"},` +
		`{"name":"list","type":"list","value":[1,"a"],"ordered":false},` +
		`{"name":"geo","type":"geojson","value":{"type":"Point","coordinates":[-122.0,37.5]}},` +
		`{"name":"t5","type":"type-5","value":"BQY="},` +
		`{"name":"t99","type":"type-99","value":"Yw=="}]}`
	m := jtMessage(t, r)
	if got := string(jtEncode(t, new(JSON), m)); got != want {
		t.Errorf("json\ngot  %s\nwant %s", got, want)
	}
	wantFlat := `{"metadata":{"namespace":"test","set":"myset","userKey":10,"digest":"X+O3wPRmmnfIRWwb9PH2jFWsEAI=","msg":"write","gen":1,"lut":1734388704784,"exp":1700003600,"partial":true},` +
		`"gone":null,"int":-42,"float":2.5,"str":"héllo","blob":"AAEC/w==","java":"rO0ABQ==","csharp":"Y3M=","python":"cHk=","ruby":"cmI=","php":"cGhw","erlang":"ZXJs",` +
		`"vector":"AACAPw==","bool":false,"hll":"AQID","map":{"a":1},"list":[1,"a"],"geo":{"type":"Point","coordinates":[-122.0,37.5]},"t5":"BQY=","t99":"Yw=="}`
	if got := string(jtEncode(t, new(FlatJSON), m)); got != wantFlat {
		t.Errorf("flat-json\ngot  %s\nwant %s", got, wantFlat)
	}
}

// TestJSONNestedCDT covers order flags at depth, int and uint keys, the
// scalar kinds inside lists and maps, and empty containers.
func TestJSONNestedCDT(t *testing.T) {
	inner := jvMap(3, jvInt(-5), jvList(1, jvInt(1), jvInt(2)), jvInt(7), jvMap(1, jvStr("k"), jvNil()))
	v := jvList(1,
		inner,
		jvUint(math.MaxUint64),
		jvInt(math.MinInt64),
		jvInt(math.MaxInt64),
		jvFloat(math.Copysign(0, -1)),
		jvFloat(math.NaN()),
		jvFloat(math.Inf(1)),
		jvFloat(math.Inf(-1)),
		jvFloat32(0.1),
		jvBool(true),
		jvNil(),
		jvStr(""),
		jvBlob(nil),
		jv{[]byte{0xa0}, "", ""}, // empty payload without a type byte
		jvTyped(wire.ParticleJava, []byte{1}),
		jv{[]byte{0xd4, 0x05, 0x07}, "Bw==", ""}, // fixext1, not in first position
		jvList(-1),
		jvMap(-1),
		jvList(0, jvStr("unordered flags")),
	)
	r := jtRecord(wire.BinSpec{Name: "deep", Type: wire.ParticleList, Value: v.b})
	m := jtMessage(t, r)
	want := `{"msg":"write","key":["test","myset","X+O3wPRmmnfIRWwb9PH2jFWsEAI=",10],"gen":1,"exp":0,"lut":1734388704784,"bins":[{"name":"deep","type":"list","value":[` +
		`{"-5":[1,2],"7":{"k":null}},18446744073709551615,-9223372036854775808,9223372036854775807,-0,"NaN","Infinity","-Infinity",0.1,true,null,"","","","AQ==","Bw==",[],{},["unordered flags"]` +
		`],"ordered":true}]}`
	if got := string(jtEncode(t, new(JSON), m)); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	jtRoundTrip(t, r, []jtBin{jtListBin("deep", 1, v)})

	// Map order flags on the bin.
	for _, flags := range []int{-1, 0, 1, 3} {
		v := jvMap(flags, jvInt(1), jvStr("one"), jvInt(2), jvStr("two"))
		r := jtRecord(wire.BinSpec{Name: "m", Type: wire.ParticleMap, Value: v.b})
		jtRoundTrip(t, r, []jtBin{jtMapBin("m", flags, v)})
	}
	// Bits above the order bits (a persisted index) do not change the order.
	v = jvMap(0x13, jvInt(1), jvInt(2))
	r = jtRecord(wire.BinSpec{Name: "m", Type: wire.ParticleMap, Value: v.b})
	if got := string(jtEncode(t, new(JSON), jtMessage(t, r))); !strings.HasSuffix(got, `"value":{"1":2},"order":"key-value"}]}`) {
		t.Errorf("flags 0x13: %s", got)
	}
	// A list bin that holds a map and a map bin that holds a scalar: the
	// value is rendered as it is, the order member says "not ordered".
	r = jtRecord(
		wire.BinSpec{Name: "l", Type: wire.ParticleList, Value: jvMap(1, jvInt(1), jvInt(2)).b},
		wire.BinSpec{Name: "m", Type: wire.ParticleMap, Value: jvInt(7).b},
	)
	if got, want := string(jtEncode(t, new(JSON), jtMessage(t, r))), `"bins":[{"name":"l","type":"list","value":{"1":2},"ordered":false},{"name":"m","type":"map","value":7,"order":"unordered"}]}`; !strings.HasSuffix(got, want) {
		t.Errorf("got %s\nwant suffix %s", got, want)
	}
}

func TestJSONMapKeys(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  jv
		want string // the name as written
	}{
		{"string", jvStr("k"), `"k"`},
		{"int", jvInt(-12), `"-12"`},
		{"uint", jvUint(math.MaxUint64), `"18446744073709551615"`},
		{"float", jvFloat(1.5), `"1.5"`},
		{"float integral", jvFloat(3), `"3"`},
		{"nan", jvFloat(math.NaN()), `"NaN"`},
		{"bool", jvBool(true), `"true"`},
		{"nil", jvNil(), `"null"`},
		{"bytes", jvBlob([]byte{1, 2, 3}), `"AQID"`},
		{"typed", jvTyped(wire.ParticleHLL, []byte{0xff}), `"/w=="`},
		{"ext", jv{b: []byte{0xd4, 9, 1}}, `"AQ=="`},
		{"geojson", jvGeo(t, `{ "type" : "Point" }`), `"{\"type\":\"Point\"}"`},
		{"geojson invalid", jvGeo(t, `{"type"`), `"{\"type\""`},
		{"list", jvList(-1, jvInt(1), jvStr("a\"b"), jvList(-1)), `"[1,\"a\\\"b\",[]]"`},
		{"map", jvMap(1, jvInt(1), jvStr("x"), jvList(-1, jvInt(2)), jvNil()), `"{\"1\":\"x\",[2]:null}"`},
		{"escaped", jvStr("tab\there\u2028"), `"tab\there\u2028"`},
		// Keys inside a key's text are bare: no escaping per level.
		{"nested key", jvMap(-1, jvMap(-1, jvList(-1, jvStr("a")), jvStr("b")), jvInt(1)), `"{{[\"a\"]:\"b\"}:1}"`},
		{"nested geo key", jvMap(-1, jvGeo(t, `{"g": 1}`), jvInt(1), jvGeo(t, `7`), jvInt(2)), `"{{\"g\":1}:1,7:2}"`},
		{"nested duplicate key", jvMap(-1, jvList(-1), jvInt(1), jvStr("[]"), jvInt(2), jvList(-1), jvInt(3)), `"{[]:1,\"[]\":2,_[]:3}"`},
	} {
		// Not first: an ext in first position would be taken for order flags.
		v := jvMap(-1, jvStr("before"), jvInt(0), tc.key, jvInt(1), jvStr("after"), jvInt(2))
		r := jtRecord(wire.BinSpec{Name: "m", Type: wire.ParticleMap, Value: v.b})
		out := string(jtEncode(t, new(JSON), jtMessage(t, r)))
		want := `"value":{"before":0,` + tc.want + `:1,"after":2},"order":"unordered"}`
		if !strings.Contains(out, want) {
			t.Errorf("%s: got %s\nwant %s", tc.name, out, want)
		}
	}
}

// TestJSONKeyNesting: map keys that are maps with map keys, nested as deep
// as the walker allows, give an output linear in the input (quoting each
// level's text again would double it per level).
func TestJSONKeyNesting(t *testing.T) {
	v := jvStr("a\"b\\c")
	for i := 0; i < wire.MaxCDTDepth-1; i++ {
		v = jvMap(-1, v, jvStr("x\"y"))
	}
	r := jtRecord(wire.BinSpec{Name: "m", Type: wire.ParticleMap, Value: v.b})
	out := jtEncode(t, new(JSON), jtMessage(t, r))
	if len(out) > 20*len(v.b)+300 {
		t.Errorf("%d bytes of JSON for a %d-byte map", len(out), len(v.b))
	}
	// Maps whose first keys are maps, down to the depth limit, with ext and
	// quote bytes: the shape of the fuzz input that exhausted memory before
	// the rule.
	hostile := append(bytes.Repeat([]byte{0x83}, 60), bytes.Repeat([]byte{0xd5, 0x22, 0x5c}, 200)...)
	m := jtMessage(t, jtRecord(wire.BinSpec{Name: "m", Type: wire.ParticleMap, Value: hostile}))
	if out, err := new(JSON).Append(nil, m, jtNow); err == nil {
		jtCheckJSON(t, out)
	}
}

// TestJSONDuplicateKeys: no object ever holds a name twice.
func TestJSONDuplicateKeys(t *testing.T) {
	check := func(name string, v jv, want string) {
		t.Helper()
		r := jtRecord(wire.BinSpec{Name: "m", Type: wire.ParticleMap, Value: v.b})
		e := new(JSON)
		out := string(jtEncode(t, e, jtMessage(t, r)))
		if want != "" && !strings.Contains(out, `"value":`+want+`,"order"`) {
			t.Errorf("%s: got %s\nwant value %s", name, out, want)
		}
	}
	// Int 1 and string "1"; the later one is renamed.
	check("int and string", jvMap(-1, jvInt(1), jvStr("a"), jvStr("1"), jvStr("b")), `{"1":"a","_1":"b"}`)
	check("string and int", jvMap(-1, jvStr("1"), jvStr("a"), jvInt(1), jvStr("b")), `{"1":"a","_1":"b"}`)
	// The renamed name collides again.
	check("chain", jvMap(-1, jvInt(1), jvInt(0), jvStr("_1"), jvInt(1), jvStr("1"), jvInt(2)), `{"1":0,"_1":1,"__1":2}`)
	// Bytes key equal to a string key; float, bool and nil keys.
	check("bytes", jvMap(-1, jvStr("AQI="), jvInt(0), jvBlob([]byte{1, 2}), jvInt(1)), `{"AQI=":0,"_AQI=":1}`)
	check("scalars", jvMap(-1, jvStr("true"), jvInt(0), jvBool(true), jvInt(1), jvStr("null"), jvInt(2), jvNil(), jvInt(3), jvFloat(1.5), jvInt(4), jvStr("1.5"), jvInt(5)),
		`{"true":0,"_true":1,"null":2,"_null":3,"1.5":4,"_1.5":5}`)
	// Equal after escaping: invalid UTF-8 and a real U+FFFD.
	check("replacement", jvMap(-1, jvStr("\xff"), jvInt(0), jvStr("\ufffd"), jvInt(1)), `{"\ufffd":0,"_\ufffd":1}`)
	// Nested maps have their own names.
	check("nested", jvMap(-1, jvStr("a"), jvMap(-1, jvStr("a"), jvInt(1)), jvInt(5), jvMap(-1, jvStr("a"), jvInt(2))), `{"a":{"a":1},"5":{"a":2}}`)

	// A big map (table mode) with a duplicate at the end.
	var kv []jv
	var want strings.Builder
	want.WriteString("{")
	for i := 0; i < 100; i++ {
		kv = append(kv, jvInt(int64(i)), jvInt(int64(i)))
		want.WriteString(`"` + strconv.Itoa(i) + `":` + strconv.Itoa(i) + ",")
	}
	kv = append(kv, jvStr("42"), jvInt(-1), jvStr("_42"), jvInt(-2))
	want.WriteString(`"_42":-1,"__42":-2}`)
	check("big", jvMap(-1, kv...), want.String())

	// Many equal keys (a hostile map): renamed up to 8 times, then dropped.
	kv = kv[:0]
	for i := 0; i < 12; i++ {
		kv = append(kv, jvStr("k"), jvInt(int64(i)))
	}
	r := jtRecord(wire.BinSpec{Name: "m", Type: wire.ParticleMap, Value: jvMap(-1, kv...).b})
	e := new(JSON)
	out := string(jtEncode(t, e, jtMessage(t, r)))
	if want := `{"k":0,"_k":1,"__k":2,"___k":3,"____k":4,"_____k":5,"______k":6,"_______k":7,"________k":8},"order"`; !strings.Contains(out, want) {
		t.Errorf("hostile map: %s", out)
	}
	if renamed, dropped := e.KeyStats(); renamed != 11 || dropped != 3 {
		t.Errorf("KeyStats = %d renamed, %d dropped; want 11, 3", renamed, dropped)
	}
	// The same in a big map, where the table is used.
	kv = kv[:0]
	for i := 0; i < 3000; i++ {
		kv = append(kv, jvStr("k"), jvInt(int64(i)))
	}
	r = jtRecord(wire.BinSpec{Name: "m", Type: wire.ParticleMap, Value: jvMap(-1, kv...).b})
	out = string(jtEncode(t, new(JSON), jtMessage(t, r)))
	if !strings.Contains(out, `"________k":8},"order"`) {
		t.Errorf("big hostile map: %.300s", out)
	}
}

// TestFlatJSONNames: bins never collide with the metadata object or each
// other.
func TestFlatJSONNames(t *testing.T) {
	r := jtRecord(
		wire.BinSpec{Name: "metadata", Type: wire.ParticleInteger, Value: wire.IntValue(1)},
		wire.BinSpec{Name: "_metadata", Type: wire.ParticleInteger, Value: wire.IntValue(2)},
		wire.BinSpec{Name: "a", Type: wire.ParticleInteger, Value: wire.IntValue(3)},
		wire.BinSpec{Name: "a", Type: wire.ParticleInteger, Value: wire.IntValue(4)}, // only a hostile frame does this
	)
	m := jtMessage(t, r)
	e := new(FlatJSON)
	out := string(jtEncode(t, e, m))
	if want := `"exp":0},"_metadata":1,"__metadata":2,"a":3,"_a":4}`; !strings.HasSuffix(out, want) {
		t.Errorf("got %s\nwant suffix %s", out, want)
	}
	if renamed, dropped := e.KeyStats(); renamed != 3 || dropped != 0 {
		t.Errorf("KeyStats %d %d", renamed, dropped)
	}
	// Another metadata key: "metadata" is then an ordinary bin.
	e.MetadataKey = "_meta"
	out = string(jtEncode(t, e, m))
	if want := `{"_meta":{"namespace":"test",`; !strings.HasPrefix(out, want) {
		t.Errorf("got %s\nwant prefix %s", out, want)
	}
	if want := `"exp":0},"metadata":1,"_metadata":2,"a":3,"_a":4}`; !strings.HasSuffix(out, want) {
		t.Errorf("got %s\nwant suffix %s", out, want)
	}
	// A metadata key that needs escaping, and a rename onto it.
	e.MetadataKey = "m\"d"
	e.Transform = NewTransform(nil, nil, map[string]string{"a": "m\"d"})
	out = string(jtEncode(t, e, m))
	if want := `{"m\"d":{"namespace":"test",`; !strings.HasPrefix(out, want) {
		t.Errorf("got %s", out)
	}
	if want := `"exp":0},"metadata":1,"_metadata":2,"_m\"d":3,"__m\"d":4}`; !strings.HasSuffix(out, want) {
		t.Errorf("got %s\nwant suffix %s", out, want)
	}
	// Back to the default.
	e.MetadataKey, e.Transform = "", nil
	if out := string(jtEncode(t, e, jtCaptured(t, "write-3bins-key10.hex"))); out != jtCapturedWriteFlat {
		t.Errorf("got %s", out)
	}
}

func TestJSONStrings(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", `""`},
		{"plain ascii", `"plain ascii"`},
		{`quote " backslash \ slash /`, `"quote \" backslash \\ slash /"`},
		{"\n\r\t\b\f", `"\n\r\t\b\f"`},
		{"\x00\x01\x1f\x7f", `"\u0000\u0001\u001f` + "\x7f" + `"`},
		{"<html>&amp;", `"<html>&amp;"`},
		{"é中文🎉", `"é中文🎉"`},
		{"line\u2028para\u2029end", `"line\u2028para\u2029end"`},
		{"bad \xff byte", `"bad \ufffd byte"`},
		{"\xc3\x28", `"\ufffd("`},                // bad continuation
		{"\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`}, // surrogate half
		{"\xf0\x9f\x8e", `"\ufffd\ufffd\ufffd"`}, // cut-off rune
		{"real \ufffd", `"real \ufffd"`},
		{"\u0080\u07ff\u0800\uffff\U0010ffff", "\"\u0080\u07ff\u0800\uffff\U0010ffff\""},
	} {
		got := string(appendJSONString([]byte("x"), []byte(tc.in)))
		if got != "x"+tc.want {
			t.Errorf("%q: got %s want %s", tc.in, got[1:], tc.want)
		}
		jtCheckJSON(t, []byte(tc.want))
		var back string
		if err := json.Unmarshal([]byte(tc.want), &back); err != nil || back != jtValidString([]byte(tc.in)) {
			t.Errorf("%q reads back as %q, %v", tc.in, back, err)
		}
		// As a bin value, a map key, a namespace, a set, a user key, a bin name.
		v := jvMap(-1, jvStr(tc.in), jvStr(tc.in))
		r := jtRecord(
			wire.BinSpec{Name: "s", Type: wire.ParticleString, Value: []byte(tc.in)},
			wire.BinSpec{Name: "m", Type: wire.ParticleMap, Value: v.b},
		)
		if len(tc.in) <= 15 {
			r.Bins = append(r.Bins, wire.BinSpec{Name: tc.in, Type: wire.ParticleInteger, Value: wire.IntValue(1)})
		}
		if len(tc.in) > 0 && len(tc.in) <= 31 {
			r.Namespace = tc.in
		}
		r.Set = tc.in
		r.KeyType, r.Key = wire.ParticleString, []byte(tc.in)
		bins := []jtBin{
			{r.Bins[0], jtValidString([]byte(tc.in)), "str", nil},
			jtMapBin("m", -1, v),
		}
		if len(r.Bins) == 3 {
			bins = append(bins, jtBin{r.Bins[2], jtInt("1"), "int", nil})
			bins[2].spec.Name = jtValidString([]byte(tc.in))
		}
		if tc.in == "" { // no set field, then
			continue
		}
		if len(r.Bins) == 3 && (jtValidString([]byte(tc.in)) == "s" || jtValidString([]byte(tc.in)) == "m") {
			continue
		}
		jtRoundTripNames(t, r, bins)
	}
}

// jtRoundTripNames is jtRoundTrip for bins whose names may hold invalid
// UTF-8 (the model names are the names as read back).
func jtRoundTripNames(t *testing.T, r *wire.Record, bins []jtBin) {
	t.Helper()
	m := jtMessage(t, r)
	rr := *r
	rr.Namespace = jtValidString([]byte(r.Namespace))
	rr.Set = jtValidString([]byte(r.Set))
	out := jtEncode(t, new(JSON), m)
	if d := jtMatch("json", jtParse(t, out), jtModelTyped(&rr, bins, jtNow)); d != "" {
		t.Errorf("%s\n%s", d, out)
	}
	out = jtEncode(t, new(FlatJSON), m)
	if d := jtMatch("flat-json", jtParse(t, out), jtModelFlat(&rr, bins, jtNow, "")); d != "" {
		t.Errorf("%s\n%s", d, out)
	}
}

func TestJSONFloats(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		bits int
		want string
	}{
		{0, 64, "0"},
		{math.Copysign(0, -1), 64, "-0"},
		{2, 64, "2"},
		{-2.5, 64, "-2.5"},
		{0.1, 64, "0.1"},
		{1e6, 64, "1000000"},
		{123456789.125, 64, "123456789.125"},
		{1e20, 64, "100000000000000000000"},
		{1e21, 64, "1e+21"},
		{1.5e300, 64, "1.5e+300"},
		{1e-6, 64, "0.000001"},
		{1e-7, 64, "1e-7"},
		{-1.25e-10, 64, "-1.25e-10"},
		{math.MaxFloat64, 64, "1.7976931348623157e+308"},
		{math.SmallestNonzeroFloat64, 64, "5e-324"},
		{math.NaN(), 64, `"NaN"`},
		{math.Inf(1), 64, `"Infinity"`},
		{math.Inf(-1), 64, `"-Infinity"`},
		{float64(float32(0.1)), 32, "0.1"},
		{float64(float32(1e-7)), 32, "1e-7"},
		{float64(float32(3.4e38)), 32, "3.4e+38"},
	} {
		if got := string(appendJSONFloat(nil, tc.f, tc.bits)); got != tc.want {
			t.Errorf("%v/%d: got %s want %s", tc.f, tc.bits, got, tc.want)
		}
		// Same text as encoding/json for finite values.
		if !math.IsNaN(tc.f) && !math.IsInf(tc.f, 0) {
			var ej []byte
			if tc.bits == 32 {
				ej, _ = json.Marshal(float32(tc.f))
			} else {
				ej, _ = json.Marshal(tc.f)
			}
			if string(ej) != tc.want && tc.want != "-0" {
				t.Errorf("%v: encoding/json writes %s, we %s", tc.f, ej, tc.want)
			}
		}
	}
	// Top-level float bins and a double user key.
	r := jtRecord(
		wire.BinSpec{Name: "neg0", Type: wire.ParticleFloat, Value: wire.FloatValue(math.Copysign(0, -1))},
		wire.BinSpec{Name: "nan", Type: wire.ParticleFloat, Value: wire.FloatValue(math.NaN())},
		wire.BinSpec{Name: "inf", Type: wire.ParticleFloat, Value: wire.FloatValue(math.Inf(-1))},
		wire.BinSpec{Name: "two", Type: wire.ParticleFloat, Value: wire.FloatValue(2)},
	)
	r.KeyType, r.Key = wire.ParticleFloat, wire.FloatKey(-1.5)
	m := jtMessage(t, r)
	want := `{"msg":"write","key":["test","myset","X+O3wPRmmnfIRWwb9PH2jFWsEAI=",-1.5],"gen":1,"exp":0,"lut":1734388704784,"bins":[{"name":"neg0","type":"float","value":-0},{"name":"nan","type":"float","value":"NaN"},{"name":"inf","type":"float","value":"-Infinity"},{"name":"two","type":"float","value":2}]}`
	if got := string(jtEncode(t, new(JSON), m)); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	r.KeyType, r.Key = wire.ParticleFloat, wire.FloatKey(math.Inf(1))
	if got := string(jtEncode(t, new(JSON), jtMessage(t, r))); !strings.Contains(got, `jFWsEAI=","Infinity"]`) {
		t.Errorf("infinite key: %s", got)
	}
}

func TestJSONInts(t *testing.T) {
	r := jtRecord(
		wire.BinSpec{Name: "min", Type: wire.ParticleInteger, Value: wire.IntValue(math.MinInt64)},
		wire.BinSpec{Name: "max", Type: wire.ParticleInteger, Value: wire.IntValue(math.MaxInt64)},
		wire.BinSpec{Name: "one", Type: wire.ParticleInteger, Value: []byte{0xff}},    // 1 byte, sign-extended
		wire.BinSpec{Name: "two", Type: wire.ParticleInteger, Value: []byte{0x01, 0}}, // 2 bytes
		wire.BinSpec{Name: "u", Type: wire.ParticleList, Value: jvList(-1, jvUint(math.MaxUint64), jvUint(1<<63)).b},
	)
	r.KeyType, r.Key = wire.ParticleInteger, wire.IntKey(math.MinInt64)
	want := `{"msg":"write","key":["test","myset","X+O3wPRmmnfIRWwb9PH2jFWsEAI=",-9223372036854775808],"gen":1,"exp":0,"lut":1734388704784,"bins":[` +
		`{"name":"min","type":"int","value":-9223372036854775808},{"name":"max","type":"int","value":9223372036854775807},` +
		`{"name":"one","type":"int","value":-1},{"name":"two","type":"int","value":256},` +
		`{"name":"u","type":"list","value":[18446744073709551615,9223372036854775808],"ordered":false}]}`
	if got := string(jtEncode(t, new(JSON), jtMessage(t, r))); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestJSONRecordShapes: keys, sets, LUTs, partial and metadata-only writes,
// deletes.
func TestJSONRecordShapes(t *testing.T) {
	str := wire.BinSpec{Name: "s", Type: wire.ParticleString, Value: []byte("v")}
	sBin := jtBin{str, "v", "str", nil}
	for _, tc := range []struct {
		name     string
		edit     func(r *wire.Record)
		bins     []jtBin
		wantJSON string
		wantFlat string
	}{
		{
			"no set no key", func(r *wire.Record) { r.Set, r.KeyType, r.Key = "", 0, nil }, []jtBin{sBin},
			`{"msg":"write","key":["test",null,"X+O3wPRmmnfIRWwb9PH2jFWsEAI=",null],"gen":1,"exp":0,"lut":1734388704784,"bins":[{"name":"s","type":"str","value":"v"}]}`,
			`{"metadata":{"namespace":"test","digest":"X+O3wPRmmnfIRWwb9PH2jFWsEAI=","msg":"write","gen":1,"lut":1734388704784,"exp":0},"s":"v"}`,
		},
		{
			"string key", func(r *wire.Record) { r.KeyType, r.Key = wire.ParticleString, []byte("user\"1") }, []jtBin{sBin},
			`{"msg":"write","key":["test","myset","X+O3wPRmmnfIRWwb9PH2jFWsEAI=","user\"1"],"gen":1,"exp":0,"lut":1734388704784,"bins":[{"name":"s","type":"str","value":"v"}]}`,
			`{"metadata":{"namespace":"test","set":"myset","userKey":"user\"1","digest":"X+O3wPRmmnfIRWwb9PH2jFWsEAI=","msg":"write","gen":1,"lut":1734388704784,"exp":0},"s":"v"}`,
		},
		{
			"bytes key", func(r *wire.Record) { r.KeyType, r.Key = wire.ParticleBlob, []byte{1, 2, 3} }, []jtBin{sBin},
			`{"msg":"write","key":["test","myset","X+O3wPRmmnfIRWwb9PH2jFWsEAI=","AQID"],"gen":1,"exp":0,"lut":1734388704784,"bins":[{"name":"s","type":"str","value":"v"}]}`,
			`{"metadata":{"namespace":"test","set":"myset","userKey":"AQID","digest":"X+O3wPRmmnfIRWwb9PH2jFWsEAI=","msg":"write","gen":1,"lut":1734388704784,"exp":0},"s":"v"}`,
		},
		{
			"double key", func(r *wire.Record) { r.KeyType, r.Key = wire.ParticleFloat, wire.FloatKey(2.25) }, []jtBin{sBin},
			`{"msg":"write","key":["test","myset","X+O3wPRmmnfIRWwb9PH2jFWsEAI=",2.25],"gen":1,"exp":0,"lut":1734388704784,"bins":[{"name":"s","type":"str","value":"v"}]}`,
			`{"metadata":{"namespace":"test","set":"myset","userKey":2.25,"digest":"X+O3wPRmmnfIRWwb9PH2jFWsEAI=","msg":"write","gen":1,"lut":1734388704784,"exp":0},"s":"v"}`,
		},
		{
			"ttl and no LUT", func(r *wire.Record) { r.TTL, r.NoLUT, r.Generation = 86400, true, 65535 }, []jtBin{sBin},
			`{"msg":"write","key":["test","myset","X+O3wPRmmnfIRWwb9PH2jFWsEAI=",10],"gen":65535,"exp":1700086400,"lut":0,"bins":[{"name":"s","type":"str","value":"v"}]}`,
			`{"metadata":{"namespace":"test","set":"myset","userKey":10,"digest":"X+O3wPRmmnfIRWwb9PH2jFWsEAI=","msg":"write","gen":65535,"lut":0,"exp":1700086400},"s":"v"}`,
		},
		{
			"metadata only", func(r *wire.Record) { r.Bins = nil }, nil,
			`{"msg":"write","key":["test","myset","X+O3wPRmmnfIRWwb9PH2jFWsEAI=",10],"gen":1,"exp":0,"lut":1734388704784,"partial":true,"bins":[]}`,
			`{"metadata":{"namespace":"test","set":"myset","userKey":10,"digest":"X+O3wPRmmnfIRWwb9PH2jFWsEAI=","msg":"write","gen":1,"lut":1734388704784,"exp":0,"partial":true}}`,
		},
		{
			"partial with a deleted bin", func(r *wire.Record) {
				r.Partial = true
				r.Bins = append(r.Bins, wire.BinSpec{Name: "old", Type: wire.ParticleNull})
			}, []jtBin{sBin, {wire.BinSpec{Name: "old"}, nil, "null", nil}},
			`{"msg":"write","key":["test","myset","X+O3wPRmmnfIRWwb9PH2jFWsEAI=",10],"gen":1,"exp":0,"lut":1734388704784,"partial":true,"bins":[{"name":"s","type":"str","value":"v"},{"name":"old","type":"null","value":null}]}`,
			`{"metadata":{"namespace":"test","set":"myset","userKey":10,"digest":"X+O3wPRmmnfIRWwb9PH2jFWsEAI=","msg":"write","gen":1,"lut":1734388704784,"exp":0,"partial":true},"s":"v","old":null}`,
		},
		{
			"durable delete", func(r *wire.Record) { r.Kind, r.Durable, r.Bins, r.Generation = wire.KindDelete, true, nil, 7 }, nil,
			`{"msg":"delete","key":["test","myset","X+O3wPRmmnfIRWwb9PH2jFWsEAI=",10],"durable":true,"gen":7,"lut":1734388704784}`,
			`{"metadata":{"namespace":"test","set":"myset","userKey":10,"digest":"X+O3wPRmmnfIRWwb9PH2jFWsEAI=","msg":"delete","gen":7,"lut":1734388704784,"durable":true}}`,
		},
		{
			"delete without set or key", func(r *wire.Record) { r.Kind, r.Bins, r.Set, r.KeyType, r.Key = wire.KindDelete, nil, "", 0, nil }, nil,
			`{"msg":"delete","key":["test",null,"X+O3wPRmmnfIRWwb9PH2jFWsEAI=",null],"durable":false,"gen":1,"lut":1734388704784}`,
			`{"metadata":{"namespace":"test","digest":"X+O3wPRmmnfIRWwb9PH2jFWsEAI=","msg":"delete","gen":1,"lut":1734388704784,"durable":false}}`,
		},
	} {
		r := jtRecord(str)
		tc.edit(r)
		m := jtMessage(t, r)
		if got := string(jtEncode(t, new(JSON), m)); got != tc.wantJSON {
			t.Errorf("%s json\ngot  %s\nwant %s", tc.name, got, tc.wantJSON)
		}
		if got := string(jtEncode(t, new(FlatJSON), m)); got != tc.wantFlat {
			t.Errorf("%s flat-json\ngot  %s\nwant %s", tc.name, got, tc.wantFlat)
		}
		jtRoundTrip(t, r, tc.bins)
	}
}

func TestJSONTransform(t *testing.T) {
	m := jtCaptured(t, "write-3bins-key10.hex")
	for _, tc := range []struct {
		tr       *Transform
		wantJSON string // the bins array
		wantFlat string // after the metadata
	}{
		{NewTransform([]string{"age", "mapTest"}, nil, nil),
			`[{"name":"age","type":"int","value":27},{"name":"mapTest","type":"map","value":{"a":1,"b":2},"order":"unordered"}]`,
			`"age":27,"mapTest":{"a":1,"b":2}}`},
		{NewTransform(nil, []string{"name"}, map[string]string{"age": "years", "mapTest": "m"}),
			`[{"name":"years","type":"int","value":27},{"name":"m","type":"map","value":{"a":1,"b":2},"order":"unordered"}]`,
			`"years":27,"m":{"a":1,"b":2}}`},
		{NewTransform([]string{"nope"}, nil, nil), `[]`, `"exp":0}}`},
		{NewTransform([]string{"name", "age"}, []string{"name"}, map[string]string{"age": "name"}),
			`[{"name":"name","type":"int","value":27}]`, `"name":27}`},
	} {
		out := string(jtEncode(t, &JSON{Transform: tc.tr}, m))
		if !strings.HasSuffix(out, `"bins":`+tc.wantJSON+`}`) {
			t.Errorf("json: %s\nwant bins %s", out, tc.wantJSON)
		}
		out = string(jtEncode(t, &FlatJSON{Transform: tc.tr}, m))
		if !strings.HasSuffix(out, tc.wantFlat) {
			t.Errorf("flat-json: %s\nwant suffix %s", out, tc.wantFlat)
		}
	}
}

func TestJSONGeoJSON(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{`{"type":"Point","coordinates":[-122.0,37.5]}`, `{"type":"Point","coordinates":[-122.0,37.5]}`},
		{" {\n  \"type\" : \"Polygon\",\r\n\t\"coordinates\": [[[0,0], [1, 0], [1,1],[0,0]]] }\n", `{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}`},
		{`{"type":"AeroCircle","coordinates":[[-122.5,37.0],1E3]}`, `{"type":"AeroCircle","coordinates":[[-122.5,37.0],1E3]}`},
		{`{"t":"\u0041\/\u00e9\ud83c\udf89\ud800 \u2028` + "\u2029" + `"}`, `{"t":"A/é🎉\ufffd \u2028\u2029"}`},
		{`{"a":{"a":1},"b":[{"a":1},{"a":2}]}`, `{"a":{"a":1},"b":[{"a":1},{"a":2}]}`},
		{`[true,false,null,-0,0.5e-3,"x"]`, `[true,false,null,-0,0.5e-3,"x"]`},
		{`"just a string"`, `"just a string"`},
		{`12`, `12`},
		{`{}`, `{}`},
		// Not valid JSON: the text as a string.
		{``, `""`},
		{`{"type":"Point"`, `"{\"type\":\"Point\""`},
		{`{"a":1,}`, `"{\"a\":1,}"`},
		{`{"a":1} x`, `"{\"a\":1} x"`},
		{`{"a":01}`, `"{\"a\":01}"`},
		{`{"a":1.}`, `"{\"a\":1.}"`},
		{`{"a":.5}`, `"{\"a\":.5}"`},
		{`{"a":1e}`, `"{\"a\":1e}"`},
		{`{"a":tru}`, `"{\"a\":tru}"`},
		{`{a:1}`, `"{a:1}"`},
		{`{"a":"\x"}`, `"{\"a\":\"\\x\"}"`},
		{`{"a":"\u12"}`, `"{\"a\":\"\\u12\"}"`},
		{"{\"a\":\"tab\tinside\"}", `"{\"a\":\"tab\tinside\"}"`},
		{"{\"a\":\"\xff\"}", `"{\"a\":\"\ufffd\"}"`},
		{`{"a":1,"a":2}`, `"{\"a\":1,\"a\":2}"`},
		{`{"a":1,"\u0061":2}`, `"{\"a\":1,\"\\u0061\":2}"`},
		{strings.Repeat("[", 65) + strings.Repeat("]", 65), `"` + strings.Repeat("[", 65) + strings.Repeat("]", 65) + `"`},
	} {
		got := string(new(jsonWriter).appendGeoJSON([]byte("x"), []byte(tc.text)))
		if got != "x"+tc.want {
			t.Errorf("%q:\ngot  %s\nwant %s", tc.text, got[1:], tc.want)
			continue
		}
		jtCheckJSON(t, []byte(tc.want))
		// As a bin and inside a list and a map.
		lv := jvList(-1, jvGeo(t, tc.text))
		r := jtRecord(
			wire.BinSpec{Name: "g", Type: wire.ParticleGeoJSON, Value: wire.GeoJSONValue(tc.text, 1, 2, 3)},
			wire.BinSpec{Name: "l", Type: wire.ParticleList, Value: lv.b},
			wire.BinSpec{Name: "m", Type: wire.ParticleMap, Value: jvMap(-1, jvStr("g"), jvGeo(t, tc.text)).b},
		)
		out := string(jtEncode(t, new(JSON), jtMessage(t, r)))
		if want := `[{"name":"g","type":"geojson","value":` + tc.want + `},{"name":"l","type":"list","value":[` + tc.want + `],"ordered":false},{"name":"m","type":"map","value":{"g":` + tc.want + `},"order":"unordered"}]}`; !strings.HasSuffix(out, want) {
			t.Errorf("in a record:\ngot  %s\nwant %s", out, want)
		}
	}
	// 64 levels are fine.
	deep := strings.Repeat("[", 64) + strings.Repeat("]", 64)
	if got := string(new(jsonWriter).appendGeoJSON(nil, []byte(deep))); got != deep {
		t.Errorf("depth 64: %s", got)
	}
	// An object with many names uses the table.
	var sb strings.Builder
	sb.WriteString("{")
	for i := 0; i < 200; i++ {
		sb.WriteString(`"k` + strconv.Itoa(i) + `":` + strconv.Itoa(i) + ",")
	}
	big := sb.String()
	if got := string(new(jsonWriter).appendGeoJSON(nil, []byte(big+`"k":1}`))); got != big+`"k":1}` {
		t.Errorf("big object: %.100s", got)
	}
	if got := string(new(jsonWriter).appendGeoJSON(nil, []byte(big+`"k7":1}`))); !strings.HasPrefix(got, `"{\"k0\"`) {
		t.Errorf("big object with a duplicate: %.100s", got)
	}
	// A GeoJSON particle too short for its cells is an error.
	r := jtRecord(wire.BinSpec{Name: "g", Type: wire.ParticleGeoJSON, Value: []byte{0, 0, 2, 1}})
	if _, err := new(JSON).Append(nil, jtMessage(t, r), jtNow); err == nil {
		t.Error("short GeoJSON particle: no error")
	}
}

// TestJSONErrors: a malformed value fails the message and leaves dst as it
// was.
func TestJSONErrors(t *testing.T) {
	good := jtMessage(t, jtRecord(wire.BinSpec{Name: "ok", Type: wire.ParticleInteger, Value: wire.IntValue(1)}))
	for _, tc := range []struct {
		name string
		bin  wire.BinSpec
	}{
		{"truncated list", wire.BinSpec{Name: "l", Type: wire.ParticleList, Value: []byte{0x93, 0x01}}},
		{"trailing bytes", wire.BinSpec{Name: "l", Type: wire.ParticleList, Value: []byte{0x91, 0x01, 0x02}}},
		{"empty map value", wire.BinSpec{Name: "m", Type: wire.ParticleMap}},
		{"bad byte", wire.BinSpec{Name: "m", Type: wire.ParticleMap, Value: []byte{0x81, 0xc1, 0x01}}},
		{"too deep", wire.BinSpec{Name: "l", Type: wire.ParticleList, Value: append([]byte(strings.Repeat("\x91", 65)), 1)}},
		{"bad geo", wire.BinSpec{Name: "g", Type: wire.ParticleGeoJSON, Value: []byte{0}}},
	} {
		r := jtRecord(wire.BinSpec{Name: "first", Type: wire.ParticleString, Value: []byte("x")}, tc.bin)
		m := jtMessage(t, r)
		for _, enc := range []Encoder{new(JSON), new(FlatJSON)} {
			out, err := enc.Append([]byte("keep"), m, jtNow)
			var je *JSONError
			if !errors.As(err, &je) || je.Bin != tc.bin.Name || je.Type != tc.bin.Type {
				t.Errorf("%s: error %v", tc.name, err)
			}
			if string(out) != "keep" {
				t.Errorf("%s: dst %q after the error", tc.name, out)
			}
			// The encoder works on afterwards.
			if _, err := enc.Append(nil, good, jtNow); err != nil {
				t.Errorf("%s: next message: %v", tc.name, err)
			}
		}
	}
	// A message that is neither a write nor a delete.
	var m wire.Message
	for _, enc := range []Encoder{new(JSON), new(FlatJSON)} {
		if out, err := enc.Append([]byte("keep"), &m, jtNow); err == nil || string(out) != "keep" {
			t.Errorf("zero message: %q %v", out, err)
		}
	}
}

// jtRandValue makes a random list or map element and its model. Map keys are
// unique by construction (the duplicate rule has its own test).
func jtRandValue(rng *rand.Rand, depth int) jv {
	k := rng.IntN(14)
	if depth >= 5 && k >= 12 {
		k = rng.IntN(12)
	}
	switch k {
	case 0:
		return jvNil()
	case 1:
		return jvBool(rng.IntN(2) == 0)
	case 2:
		return jvInt(rng.Int64() >> rng.IntN(64))
	case 3:
		return jvInt(-rng.Int64() >> rng.IntN(64))
	case 4:
		return jvUint(rng.Uint64() | 1<<63)
	case 5:
		return jvFloat(math.Float64frombits(rng.Uint64()))
	case 6:
		return jvFloat(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(60)-30)))
	case 7:
		return jvFloat32(float32(rng.NormFloat64()))
	case 8, 9:
		b := make([]byte, rng.IntN(20))
		for i := range b {
			b[i] = byte(rng.IntN(256))
			if rng.IntN(3) > 0 {
				b[i] = byte(0x20 + rng.IntN(0x60))
			}
		}
		return jvStr(string(b))
	case 10:
		b := make([]byte, rng.IntN(10))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		if rng.IntN(2) == 0 {
			return jvBlob(b)
		}
		return jvTyped(uint8(5+rng.IntN(18)), b) // not 3, 4 or 23 below
	case 11:
		n := rng.IntN(4)
		return jvInt(int64(n)) // small ints are common in real data
	case 12:
		n := rng.IntN(6)
		var elems []jv
		for i := 0; i < n; i++ {
			elems = append(elems, jtRandValue(rng, depth+1))
		}
		return jvList(rng.IntN(3)-1, elems...)
	}
	n := rng.IntN(25)
	var kv []jv
	seen := map[string]bool{}
	for i := 0; i < n; i++ {
		var key jv
		if rng.IntN(2) == 0 {
			key = jvInt(rng.Int64N(1000))
		} else {
			key = jvStr("k" + strconv.Itoa(rng.IntN(1000)))
		}
		if seen[key.name] {
			continue
		}
		seen[key.name] = true
		kv = append(kv, key, jtRandValue(rng, depth+1))
	}
	flags := []int{-1, 0, 1, 3}[rng.IntN(4)]
	return jvMap(flags, kv...)
}

func TestJSONRandomRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 1000; i++ {
		var bins []jtBin
		for j := 0; j < 1+rng.IntN(6); j++ {
			name := "b" + strconv.Itoa(j)
			v := jtRandValue(rng, 0)
			if v.b[0]&0xf0 == 0x90 || v.b[0] == 0xdc {
				flags := -1
				if len(v.b) > 1 && v.b[1] == 0xc7 {
					flags = int(v.b[3])
				}
				bins = append(bins, jtListBin(name, flags, v))
			} else {
				// Wrap scalars and maps in a map bin.
				mv := jvMap(-1, jvStr("v"), v)
				bins = append(bins, jtMapBin(name, -1, mv))
			}
		}
		r := jtRecord(jtSpecs(bins)...)
		jtRoundTrip(t, r, bins)
		if t.Failed() {
			return
		}
	}
}

// TestJSONAllocs: no allocation per message once dst has capacity.
func TestJSONAllocs(t *testing.T) {
	m := jtMessage(t, jtTypicalRecord())
	del := jtCaptured(t, "delete-key10.hex")
	geo := jtMessage(t, jtRecord(
		wire.BinSpec{Name: "g", Type: wire.ParticleGeoJSON, Value: wire.GeoJSONValue(`{"type": "Point", "coordinates": [1.5, 2]}`)},
		wire.BinSpec{Name: "bad", Type: wire.ParticleGeoJSON, Value: wire.GeoJSONValue(`{"type": "Point"`)},
		wire.BinSpec{Name: "k", Type: wire.ParticleMap, Value: jvMap(-1, jvList(-1, jvInt(1)), jvInt(1), jvInt(2), jvInt(2), jvStr("2"), jvInt(3)).b},
	))
	buf := make([]byte, 0, 64<<10)
	for _, tc := range []struct {
		name string
		enc  Encoder
	}{
		{"json", new(JSON)},
		{"flat-json", new(FlatJSON)},
	} {
		for _, msg := range []*wire.Message{m, del, geo} {
			allocs := testing.AllocsPerRun(200, func() {
				if _, err := tc.enc.Append(buf[:0], msg, jtNow); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("%s: %v allocs per message", tc.name, allocs)
			}
		}
	}
	for _, tc := range []struct {
		name string
		f    Framer
	}{
		{"ndjson", &NDJSON{Enc: new(JSON)}},
		{"json-array", &JSONArray{Enc: new(FlatJSON)}},
		{"es-bulk", &ESBulk{Index: "xdr-{namespace}-{set}"}},
		{"splunk-hec", &SplunkHEC{Source: "xdr", SourceType: "_json", Index: "main"}},
	} {
		allocs := testing.AllocsPerRun(100, func() {
			b := tc.f.Begin(buf[:0])
			var err error
			for i := 0; i < 10; i++ {
				if b, err = tc.f.Append(b, m, jtNow); err != nil {
					t.Fatal(err)
				}
				if b, err = tc.f.Append(b, del, jtNow); err != nil {
					t.Fatal(err)
				}
			}
			b = tc.f.End(b)
			_ = AppendIdempotencyKey(b, m)
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocs per body", tc.name, allocs)
		}
	}
}

// FuzzJSONCDT: any list value either fails or renders valid UTF-8 JSON
// without duplicate names, in both formats.
func FuzzJSONCDT(f *testing.F) {
	f.Add(jvList(1, jvInt(1), jvStr("a"), jvMap(3, jvInt(1), jvStr("x"), jvStr("1"), jvNil())).b)
	f.Add(jvList(-1, jvGeo(f, `{"type":"Point","coordinates":[1,2]}`), jvFloat(math.NaN())).b)
	f.Add(jvList(-1, jvMap(-1, jvList(-1, jvInt(1)), jvInt(1), jvStr("[1]"), jvInt(2))).b)
	e, fe := new(JSON), new(FlatJSON)
	f.Fuzz(func(t *testing.T, v []byte) {
		m := jtMessage(t, jtRecord(
			wire.BinSpec{Name: "l", Type: wire.ParticleList, Value: v},
			wire.BinSpec{Name: "m", Type: wire.ParticleMap, Value: v},
		))
		for _, enc := range []Encoder{e, fe} {
			out, err := enc.Append(nil, m, jtNow)
			if err != nil {
				if len(out) != 0 {
					t.Fatalf("error %v with output %q", err, out)
				}
				continue
			}
			jtCheckJSON(t, out)
		}
	})
}
