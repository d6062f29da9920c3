package encode

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/xdrhook/xdrhook/encode/crosscheck"
	"github.com/xdrhook/xdrhook/wire"
)

// sizesUserSchema is a user schema with a field per kind of variable-length
// value: a string and bytes at the top level (each a union, as most user
// schemas write an optional bin), and strings inside an array and a map.
const sizesUserSchema = `{
  "type": "record", "name": "Sized", "namespace": "com.example",
  "fields": [
    {"name": "msg", "type": "string"},
    {"name": "namespace", "type": "string"},
    {"name": "set", "type": ["null", "string"], "default": null},
    {"name": "userKey", "type": ["null", "long", "string"], "default": null},
    {"name": "digest", "type": {"type": "fixed", "name": "Digest", "size": 20}},
    {"name": "gen", "type": "long"},
    {"name": "lut", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "s", "type": ["null", "string"], "default": null},
    {"name": "r", "type": "string"},
    {"name": "b", "type": ["null", "bytes"], "default": null},
    {"name": "l", "type": ["null", {"type": "array", "items": ["string", "long"]}], "default": null},
    {"name": "m", "type": {"type": "map", "values": "string"}}
  ]
}`

// User-schema Avro (avro_user.go) through goavro, a decoder that is not
// ours nor hamba's: string, bytes, set and user-key values of every length
// from 0 to 300 bytes and past the two- and three-byte varint lengths, at
// the top level and inside an array and a map, alone (single-object, the
// fingerprint checked against the specification's canonical form) and in
// an object container file; each value compared with the one shipped.
func TestIndependentAvroUserSizes(t *testing.T) {
	comp, err := CompileAvroSchema([]byte(sizesUserSchema))
	if err != nil {
		t.Fatal(err)
	}
	enc := comp.NewEncoder(nil)
	ocf := NewAvroOCF(comp.NewEncoder(nil))
	var batch []byte
	var want []map[string]any
	batch = ocf.Begin(batch)
	for _, n := range sweepLengths(t) {
		s := string(crosscheck.Text(n, n))
		raw := string(crosscheck.Bytes(n, n+1))
		r := trec{
			name: fmt.Sprint("n", n), kind: wire.KindWrite, gen: 3, ns: "test", set: strings.Repeat("s", min(n, 63)),
			keyType: wire.ParticleString, keyRaw: s, lutMs: 1734388704784,
			bins: []tbin{
				binStr("s", s), binStr("r", s), binRaw("b", wire.ParticleBlob, raw),
				binList("l", vList(0, vStr(s), vInt(int64(n)))),
				binMap("m", vMap(0, vStr("k"), vStr(s))),
			},
		}
		d := r.digest()
		w := map[string]any{
			"msg": "write", "namespace": "test", "userKey": map[string]any{"string": s},
			"digest": d[:], "gen": int64(3), "lut": r.lutMs,
			"s": map[string]any{"string": s}, "r": s, "b": map[string]any{"bytes": []byte(raw)},
			"l": map[string]any{"array": []any{map[string]any{"string": s}, map[string]any{"long": int64(n)}}},
			"m": map[string]any{"k": s},
		}
		if r.set == "" {
			w["set"] = nil
		} else {
			w["set"] = map[string]any{"string": r.set}
		}
		m := r.message(t)
		msg, err := enc.Append(nil, m, testNow)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		got, err := crosscheck.DecodeSingle(sizesUserSchema, msg)
		if err != nil {
			t.Fatalf("%d bytes: goavro: %v", n, err)
		}
		if err := sameAvroUser(got, w); err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if batch, err = ocf.Append(batch, m, testNow); err != nil {
			t.Fatalf("%d bytes, OCF: %v", n, err)
		}
		want = append(want, w)
	}
	batch = ocf.End(batch)
	_, recs, err := crosscheck.DecodeOCF(batch)
	if err != nil {
		t.Fatalf("OCF: goavro: %v", err)
	}
	if len(recs) != len(want) {
		t.Fatalf("OCF: %d records, want %d", len(recs), len(want))
	}
	for i := range recs {
		if err := sameAvroUser(recs[i], want[i]); err != nil {
			t.Fatalf("OCF record %d: %v", i, err)
		}
	}
}

// sweepLengths are the lengths of TestIndependentAvroUserSizes: 0..300 and
// around the varint steps (a length of 64 and 8192 takes one more byte),
// and 64 KiB; under -short the lengths around each step only.
func sweepLengths(t *testing.T) []int {
	var ns []int
	if testing.Short() {
		ns = []int{0, 1, 15, 16, 17, 39, 40, 41, 42, 63, 64, 65, 127, 128, 255, 256, 300}
	} else {
		for n := 0; n <= 300; n++ {
			ns = append(ns, n)
		}
	}
	return append(ns, 8191, 8192, 8193, 65536)
}

// sameAvroUser compares a goavro native record with the expected one:
// timestamp-millis comes back as a time, the rest as written.
func sameAvroUser(got any, want map[string]any) error {
	g, ok := got.(map[string]any)
	if !ok {
		return fmt.Errorf("decoded %T, want a record", got)
	}
	for k, w := range want {
		v := g[k]
		if tm, ok := v.(interface{ UnixMilli() int64 }); ok {
			v = tm.UnixMilli()
		}
		if wb, ok := w.([]byte); ok {
			if gb, ok := v.([]byte); !ok || !bytes.Equal(gb, wb) {
				return fmt.Errorf("field %s: %.60q, want %.60q", k, v, wb)
			}
			continue
		}
		if !reflect.DeepEqual(v, w) {
			return fmt.Errorf("field %s: %.80v, want %.80v", k, v, w)
		}
	}
	if len(g) != len(want) {
		return fmt.Errorf("%d fields, want %d", len(g), len(want))
	}
	return nil
}
