package encode

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/hamba/avro/v2/ocf"
	"github.com/xdrhook/xdrhook/wire"
)

// personSchema is a user schema in the style Aerospike documents: metadata
// and bins as fields of one record.
const personSchema = `{
  "type": "record", "name": "Person", "namespace": "com.example",
  "fields": [
    {"name": "msg", "type": "string"},
    {"name": "namespace", "type": "string"},
    {"name": "set", "type": ["null", "string"], "default": null},
    {"name": "userKey", "type": ["null", "long", "double", "string", "bytes"], "default": null},
    {"name": "digest", "type": "bytes"},
    {"name": "gen", "type": "int"},
    {"name": "lut", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "exp", "type": ["null", "long"], "default": null},
    {"name": "durable", "type": ["null", "boolean"], "default": null},
    {"name": "partial", "type": "boolean"},
    {"name": "id", "type": "long"},
    {"name": "name", "type": ["null", "string"], "default": null},
    {"name": "email", "type": "string", "default": "none"},
    {"name": "age", "type": "int"},
    {"name": "score", "type": "double"},
    {"name": "active", "type": "boolean"},
    {"name": "avatar", "type": "bytes"},
    {"name": "visits", "type": "long"},
    {"name": "tags", "type": ["null", {"type": "array", "items": ["string", "long"]}], "default": null},
    {"name": "prefs", "type": {"type": "map", "values": ["string", "long"]}},
    {"name": "missing", "type": ["null", "string"], "default": null},
    {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["A", "B"]}, "default": "B"}
  ]
}`

// eventSchema keeps the metadata in a record of its own: every top-level
// field is then a bin, even one named like metadata (gen).
const eventSchema = `{
  "type": "record", "name": "Event",
  "fields": [
    {"name": "metadata", "type": {"type": "record", "name": "Meta", "fields": [
      {"name": "msg", "type": {"type": "enum", "name": "Kind", "symbols": ["write", "delete"]}},
      {"name": "namespace", "type": "string"},
      {"name": "set", "type": "string", "default": "-"},
      {"name": "userKey", "type": ["null", "string", "long"], "default": null},
      {"name": "digest", "type": {"type": "fixed", "name": "Digest", "size": 20}},
      {"name": "generation", "type": "long"},
      {"name": "lut", "type": {"type": "long", "logicalType": "timestamp-micros"}},
      {"name": "expiration", "type": "long"},
      {"name": "durable", "type": "boolean"}
    ]}},
    {"name": "gen", "type": ["null", "double"], "default": null},
    {"name": "name", "type": ["null", "string"], "default": null}
  ]
}`

func mustAvroUser(t testing.TB, schema string, tr *Transform) *Avro {
	t.Helper()
	e, err := NewAvroWithSchema([]byte(schema), tr)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// avroUnmarshal decodes a single-object message with hamba (avro.Unmarshal
// into a map, a union of primitives as its value).
func avroUnmarshal(t testing.TB, e *Avro, msg []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := avro.Unmarshal(e.Schema(), avroSingle(t, e, msg), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestAvroUserSchema(t *testing.T) {
	e := mustAvroUser(t, personSchema, nil)
	r := testRecords()[0]
	msg, err := e.Append(nil, r.message(t), testNow)
	if err != nil {
		t.Fatal(err)
	}
	d := r.digest()
	want := map[string]any{
		"msg": "write", "namespace": "test", "set": "users", "userKey": "user-42", "digest": d[:],
		"gen": 7, "lut": time.UnixMilli(r.lutMs).UTC(), "exp": int64(testNow + 3600), "durable": nil, "partial": false,
		"id": int64(1234567), "name": "Colton Aerospike", "email": "colton@example.com", "age": 27, "score": 98.25,
		"active": true, "avatar": []byte("\x89PNG\r\n\x1a\n0123456789abcdef0123456789"), "visits": int64(1 << 40),
		"tags":    map[string]any{"array": []any{"alpha", "beta", "gamma", int64(3)}}, // hamba: a union with an array is keyed
		"prefs":   map[string]any{"theme": "dark", "lang": "en", "size": int64(12)},
		"missing": nil, "status": "B",
	}
	if err := modelEqual("person", avroUnmarshal(t, e, msg), want); err != nil {
		t.Error(err)
	}

	// A typed consumer, with hamba's struct codec.
	var p struct {
		Msg    string         `avro:"msg"`
		Set    *string        `avro:"set"`
		Gen    int32          `avro:"gen"`
		Lut    time.Time      `avro:"lut"`
		ID     int64          `avro:"id"`
		Tags   []any          `avro:"tags"`
		Prefs  map[string]any `avro:"prefs"`
		Email  string         `avro:"email"`
		Status string         `avro:"status"`
	}
	if err := avro.Unmarshal(e.Schema(), msg[10:], &p); err != nil {
		t.Fatal(err)
	}
	if p.Msg != "write" || p.Set == nil || *p.Set != "users" || p.Gen != 7 || p.ID != 1234567 || len(p.Tags) != 4 ||
		p.Prefs["size"] != int64(12) || p.Status != "B" || p.Lut.UnixMilli() != r.lutMs {
		t.Errorf("struct %+v", p)
	}

	// A delete has no bins: id, age... have no default and are not nullable.
	del := testRecords()[8]
	_, err = e.Append(nil, del.message(t), testNow)
	var re *RecordError
	if !errors.As(err, &re) || re.Field != "id" {
		t.Errorf("delete: err %v, want a RecordError on id", err)
	}

	// Renamed and excluded bins: a bin renamed to a field fills it.
	e2 := mustAvroUser(t, personSchema, NewTransform(nil, []string{"email"}, map[string]string{"visits": "age", "age": "visits"}))
	r.bins[3].val.i = 5
	msg, err = e2.Append(nil, r.message(t), testNow)
	var re2 *RecordError
	if !errors.As(err, &re2) || re2.Field != "age" || !strings.Contains(err.Error(), "does not fit an int") {
		t.Errorf("visits (2^40) renamed to age (int): err %v", err)
	}
	r.bins[7].val.i = 41
	msg, err = e2.Append(nil, r.message(t), testNow)
	if err != nil {
		t.Fatal(err)
	}
	v := avroUnmarshal(t, e2, msg)
	if v["age"] != 41 || v["visits"] != int64(5) || v["email"] != "none" {
		t.Errorf("age %v visits %v email %v, want 41 and 5 (swapped) and the default", v["age"], v["visits"], v["email"])
	}
	// A new transform takes effect at once (the bin positions cache).
	e2.Transform = nil
	if msg, err = e2.Append(nil, r.message(t), testNow); err != nil {
		t.Fatal(err)
	}
	if v := avroUnmarshal(t, e2, msg); v["age"] != 5 || v["visits"] != int64(41) || v["email"] != "colton@example.com" {
		t.Errorf("without the transform: age %v visits %v email %v", v["age"], v["visits"], v["email"])
	}
}

func TestAvroUserMetadataRecord(t *testing.T) {
	e := mustAvroUser(t, eventSchema, nil)
	for _, r := range testRecords() {
		if r.keyType != 0 && r.keyType != wire.ParticleInteger && r.keyType != wire.ParticleString {
			continue
		}
		msg, err := e.Append(nil, r.message(t), testNow)
		if err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		v := avroUnmarshal(t, e, msg)
		d := r.digest()
		meta := map[string]any{
			"msg": "write", "namespace": r.ns, "set": r.set, "userKey": nil, "digest": d,
			"generation": int64(r.gen), "lut": time.UnixMicro(r.lut() * 1000).UTC(), "expiration": r.expiry(),
			"durable": r.durable,
		}
		if r.kind == wire.KindDelete {
			meta["msg"] = "delete"
		}
		if r.set == "" {
			meta["set"] = "-"
		}
		switch r.keyType {
		case wire.ParticleInteger:
			meta["userKey"] = r.keyInt
		case wire.ParticleString:
			meta["userKey"] = r.keyRaw
		}
		want := map[string]any{"metadata": meta, "gen": nil, "name": nil}
		for _, b := range r.bins {
			if b.name == "name" && b.pt == wire.ParticleString {
				want["name"] = b.val.s
			}
		}
		if err := modelEqual(r.name, v, want); err != nil {
			t.Error(err)
		}
	}
	// The bin named gen is a bin.
	r := trec{kind: wire.KindWrite, ns: "n", gen: 1, lutMs: 1, bins: []tbin{binInt("gen", 12)}}
	msg, err := e.Append(nil, r.message(t), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if v := avroUnmarshal(t, e, msg); v["gen"] != 12.0 {
		t.Errorf("gen bin %#v, want 12.0", v["gen"])
	}
}

func TestAvroUserDigestString(t *testing.T) {
	e := mustAvroUser(t, `{"type":"record","name":"R","fields":[{"name":"digest","type":"string"},{"name":"msg","type":"bytes"}]}`, nil)
	r := testRecords()[2]
	msg, err := e.Append(nil, r.message(t), testNow)
	if err != nil {
		t.Fatal(err)
	}
	d := r.digest()
	if v := avroUnmarshal(t, e, msg); v["digest"] != base64.StdEncoding.EncodeToString(d[:]) || string(v["msg"].([]byte)) != "write" {
		t.Errorf("%v", v)
	}
}

// TestAvroUserConversions writes one bin into a one-field schema.
func TestAvroUserConversions(t *testing.T) {
	geo := `{"type":"Point","coordinates":[1,2]}`
	cases := []struct {
		name, typ string
		bin       tbin
		want      any    // decoded value of field v
		err       string // or an error containing this
	}{
		{"int-double", `"double"`, binInt("v", 5), 5.0, ""},
		{"int-float", `"float"`, binInt("v", -3), float32(-3), ""},
		{"float-float", `"float"`, binFloat("v", 2.5), float32(2.5), ""},
		{"nan-double", `"double"`, binFloat("v", math.NaN()), math.NaN(), ""},
		{"int-int", `"int"`, binInt("v", math.MinInt32), math.MinInt32, ""},
		{"int-int-overflow", `"int"`, binInt("v", math.MaxInt32+1), nil, "does not fit an int"},
		{"int-long", `"long"`, binInt("v", math.MinInt64), int64(math.MinInt64), ""},
		{"float-long", `"long"`, binFloat("v", 1), nil, "a float value cannot be written as long"},
		{"string-long", `"long"`, binStr("v", "1"), nil, "a string value cannot be written as long"},
		{"bool", `"boolean"`, binBool("v", true), true, ""},
		{"geo-string", `"string"`, binGeo("v", geo, 7), geo, ""},
		{"geo-bytes", `"bytes"`, binGeo("v", geo), []byte(geo), ""},
		{"string-bytes", `"bytes"`, binStr("v", "abc"), []byte("abc"), ""},
		{"java-bytes", `"bytes"`, binRaw("v", wire.ParticleJava, "\xac\xed"), []byte("\xac\xed"), ""},
		{"blob-string", `"string"`, binRaw("v", wire.ParticleBlob, "x"), nil, "a blob value cannot be written as string"},
		{"blob-fixed", `{"type":"fixed","name":"F","size":4}`, binRaw("v", wire.ParticleBlob, "abcd"), [4]byte{'a', 'b', 'c', 'd'}, ""},
		{"blob-fixed-size", `{"type":"fixed","name":"F","size":4}`, binRaw("v", wire.ParticleBlob, "abc"), nil, "3 bytes for a fixed of 4"},
		{"string-enum", `{"type":"enum","name":"E","symbols":["A","B"]}`, binStr("v", "B"), "B", ""},
		{"string-enum-unknown", `{"type":"enum","name":"E","symbols":["A","B"]}`, binStr("v", "C"), nil, `"C" is not a symbol`},
		{"union-branch", `["null","long","string"]`, binStr("v", "x"), "x", ""},
		{"union-none", `["null","long"]`, binBool("v", true), nil, "a bool value cannot be written as [null,long]"},
		{"deleted-nullable", `["null","long"]`, binDeleted("v"), nil, ""},
		{"deleted-default", `{"type":"long"}, "default": 7, "x": "x"`, binDeleted("v"), int64(7), ""},
		{"deleted-required", `"long"`, binDeleted("v"), nil, "no value"},
		{"missing-default", `"string", "default": "dflt"`, binInt("other", 1), "dflt", ""},
		{"missing-required", `"string"`, binInt("other", 1), nil, "no value"},
		{"list-array", `{"type":"array","items":"long"}`, binList("v", vList(1, vInt(1), vInt(2), vInt(3))), []any{int64(1), int64(2), int64(3)}, ""},
		{"list-empty", `{"type":"array","items":"long"}`, binList("v", vList(0)), []any{}, ""},
		{"list-nested", `{"type":"array","items":{"type":"array","items":"double"}}`,
			binList("v", vList(0, vList(0, vInt(1)), vList(0), vList(0, vUint(math.MaxUint64), vFloat32(0.5)))),
			[]any{[]any{1.0}, []any{}, []any{float64(math.MaxUint64), 0.5}}, ""},
		{"list-bad-item", `{"type":"array","items":"long"}`, binList("v", vList(0, vInt(1), vStr("x"))), nil, "a string value cannot be written as long"},
		{"list-map", `{"type":"array","items":"long"}`, binMap("v", vMap(0)), nil, "a map value cannot be written as array"},
		{"map-map", `{"type":"map","values":"string"}`, binMap("v", vMap(1, vInt(1), vStr("a"), vInt(-2), vStr("b"), vStr("k"), vStr("c"))),
			map[string]any{"1": "a", "-2": "b", "k": "c"}, ""},
		{"map-uint-key", `{"type":"map","values":"long"}`, binMap("v", vMap(0, vUint(math.MaxUint64), vInt(1))), map[string]any{"18446744073709551615": int64(1)}, ""},
		{"map-of-lists", `{"type":"map","values":{"type":"array","items":"string"}}`, binMap("v", vMap(0, vStr("a"), vList(0, vStr("x")))),
			map[string]any{"a": []any{"x"}}, ""},
		{"map-blob-key", `{"type":"map","values":"long"}`, binMap("v", vMap(0, vBlob("k"), vInt(1))), nil, "cannot be an Avro map key"},
		{"map-bad-value", `{"type":"map","values":"long"}`, binMap("v", vMap(0, vStr("k"), vNil())), nil, "a null value cannot be written as long"},
		{"list-nullable-items", `{"type":"array","items":["null","string","long"]}`, binList("v", vList(0, vNil(), vStr("s"), vInt(2))), []any{nil, "s", int64(2)}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			schema := `{"type":"record","name":"R","fields":[{"name":"v","type":` + c.typ + `}]}`
			e := mustAvroUser(t, schema, nil)
			r := trec{kind: wire.KindWrite, partial: true, ns: "n", gen: 1, lutMs: 1, bins: []tbin{c.bin}}
			msg, err := e.Append([]byte("keep"), r.message(t), testNow)
			if c.err != "" {
				var re *RecordError
				if !errors.As(err, &re) || !strings.Contains(err.Error(), c.err) || string(msg) != "keep" {
					t.Fatalf("err %v, dst %q; want a RecordError with %q and dst unchanged", err, msg, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			v := avroUnmarshal(t, e, msg[4:])
			if err := modelEqual("v", v["v"], c.want); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestAvroUserSchemaErrors(t *testing.T) {
	rec := func(fields string) string { return `{"type":"record","name":"R","fields":[` + fields + `]}` }
	cases := []struct{ schema, err string }{
		{`"string"`, "want a record"},
		{`{"type":"record","name":"R","fields":[{"name":"v","type":"nope"}]}`, "avro schema"},
		{`{not json`, "avro schema"},
		{rec(`{"name":"v","type":{"type":"record","name":"S","fields":[{"name":"a","type":"long"}]}}`), "record-typed bin fields are not supported"},
		{rec(`{"name":"v","type":{"type":"bytes","logicalType":"decimal","precision":4,"scale":2}}`), "decimal"},
		{rec(`{"name":"msg","type":"long"}`), "cannot hold the message kind"},
		{rec(`{"name":"msg","type":{"type":"enum","name":"K","symbols":["write"]}}`), "enum needs the symbols write and delete"},
		{rec(`{"name":"lut","type":"int"}`), "too small"},
		{rec(`{"name":"digest","type":{"type":"fixed","name":"F","size":16}}`), "cannot hold a digest"},
		{rec(`{"name":"durable","type":"string"}`), "cannot hold a flag"},
		{rec(`{"name":"userKey","type":"boolean"}`), "cannot hold a user key"},
		{rec(`{"name":"metadata","type":{"type":"record","name":"M","fields":[{"name":"foo","type":"long"}]}}`), `"foo" is not a metadata name`},
	}
	for _, c := range cases {
		_, err := NewAvroWithSchema([]byte(c.schema), nil)
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: err %v, want %q", c.schema, err, c.err)
		}
	}
}

func TestAvroUserFingerprint(t *testing.T) {
	// Without logical types, hamba's fingerprint is the specification's.
	e := mustAvroUser(t, eventSchema, nil)
	s := strings.Replace(eventSchema, `{"type": "long", "logicalType": "timestamp-micros"}`, `"long"`, 1)
	plain := mustAvroUser(t, s, nil)
	if e.Fingerprint() != plain.Fingerprint() || e.CanonicalForm() != plain.CanonicalForm() {
		t.Error("a logical type changes the fingerprint")
	}
	fp, err := plain.Schema().FingerprintUsing(avro.CRC64AvroLE)
	if err != nil {
		t.Fatal(err)
	}
	if binary.LittleEndian.Uint64(fp) != plain.Fingerprint() {
		t.Errorf("fingerprint %016x, hamba %x", plain.Fingerprint(), fp)
	}
}

func TestAvroUserOCF(t *testing.T) {
	e := mustAvroUser(t, eventSchema, nil)
	f := NewAvroOCF(e)
	recs := testRecords()
	body := f.Begin(nil)
	n := 0
	for i := range recs {
		var err error
		if body, err = f.Append(body, recs[i].message(t), testNow); err == nil {
			n++
		}
	}
	body = f.End(body)
	dec, err := ocf.NewDecoder(bytes.NewReader(body), ocf.WithDecoderSchemaCache(&avro.SchemaCache{}))
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for dec.HasNext() {
		var v map[string]any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if v["metadata"].(map[string]any)["namespace"] == "" {
			t.Errorf("record %d: %v", got, v)
		}
		got++
	}
	if got != n || n < len(recs)-2 || dec.Error() != nil {
		t.Errorf("decoded %d of %d (of %d), %v", got, n, len(recs), dec.Error())
	}
}

func TestAvroUserAllocs(t *testing.T) {
	appendAllocsNone(t, mustAvroUser(t, personSchema, nil))
}
