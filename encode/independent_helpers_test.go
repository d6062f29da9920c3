package encode_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/xdrhook/xdrhook/encode"
	cc "github.com/xdrhook/xdrhook/encode/crosscheck"
	"github.com/xdrhook/xdrhook/wire"
)

// The round trips through decoders that are not ours (goavro,
// vmihailenco/msgpack, encoding/json with a duplicate-name check), shared
// by the independent_*_test.go files. Values are compared with what XDR
// shipped: the models of encode/crosscheck, from which the frames are
// built with the repository's frame encoder.

const indepNow = 1700000000

func geoText() []byte { return []byte(`{"type":"Point","coordinates":[-122.25,37.5]}`) }

// richRecord holds a bin of every particle type, and lists and maps with
// every element kind, order flags at several depths.
func richRecord() *cc.Record {
	s := func(b string) cc.Value { return cc.Value{K: cc.Str, B: []byte(b)} }
	list := cc.Value{K: cc.List, Flags: 1, Items: []cc.Value{
		{K: cc.Int, I: 1}, {K: cc.Int, I: -1}, {K: cc.Int, I: math.MinInt64}, {K: cc.Int, I: 1 << 40},
		{K: cc.Uint, U: math.MaxUint64}, {K: cc.Float, F: 2.5}, {K: cc.Float, F: math.Inf(-1)},
		{K: cc.Float32, F32: 0.1}, s("a"), s("hello, world! 17 b"), {K: cc.Str, B: cc.Text(50, 3)},
		{K: cc.Blob, B: []byte{0, 1, 2}}, {K: cc.Typed, T: wire.ParticleJava, B: []byte("java")},
		{K: cc.Typed, T: wire.ParticleHLL, B: cc.Bytes(20, 1)}, {K: cc.Geo, B: geoText()},
		{K: cc.Ext, T: 5, B: []byte{9, 9}}, {K: cc.Bool, Bool: true}, {K: cc.Nil},
		{K: cc.List, Items: []cc.Value{s("x"), {K: cc.Int, I: 300}}},
		{K: cc.Map, Flags: 3, Entries: []cc.Entry{{Key: s("k"), Val: s("v")}}},
	}}
	m := cc.Value{K: cc.Map, Flags: 1, Entries: []cc.Entry{
		{Key: s("a"), Val: cc.Value{K: cc.Int, I: 1}},
		{Key: cc.Value{K: cc.Int, I: 7}, Val: s("seven")},
		{Key: cc.Value{K: cc.Blob, B: []byte{0xff, 0}}, Val: cc.Value{K: cc.Float, F: -0.0}},
		{Key: s("nested"), Val: list},
	}}
	return &cc.Record{Gen: 7, TTL: 3600, Namespace: "test", Set: "users", KeyType: wire.ParticleString,
		KeyBytes: []byte("k41"), LUTMs: 1734388704784, Bins: []cc.Bin{
			{Name: "i", V: cc.Value{K: cc.Int, I: -42}},
			{Name: "f", V: cc.Value{K: cc.Float, F: math.NaN()}},
			{Name: "f2", V: cc.Value{K: cc.Float, F: 1e21}},
			{Name: "s", V: cc.Value{K: cc.Str, B: bytes.Repeat([]byte("a"), 41)}},
			{Name: "s0", V: s("")},
			{Name: "blob", V: cc.Value{K: cc.Blob, B: cc.Bytes(64, 2)}},
			{Name: "java", V: cc.Value{K: cc.Typed, T: wire.ParticleJava, B: []byte{1}}},
			{Name: "vec", V: cc.Value{K: cc.Typed, T: wire.ParticleVector, B: cc.Bytes(33, 3)}},
			{Name: "unknown", V: cc.Value{K: cc.Typed, T: 200, B: []byte("x")}},
			{Name: "b", V: cc.Value{K: cc.Bool, Bool: true}},
			{Name: "gone", V: cc.Value{K: cc.Nil}},
			{Name: "geo", V: cc.Value{K: cc.Geo, B: geoText()}},
			{Name: "list", V: list},
			{Name: "map", V: m},
			{Name: "fifteen_bytes_n", V: s("x")},
		}}
}

func deleteRecord() *cc.Record {
	return &cc.Record{Delete: true, Durable: true, Gen: 3, Namespace: "test", KeyType: wire.ParticleInteger, KeyInt: -5,
		LUTMs: 1734388731220}
}

// message decodes the frame of r.
func message(t testing.TB, r *cc.Record) *wire.Message {
	t.Helper()
	m, _, err := r.Message()
	if err != nil {
		t.Fatalf("the frame of the model does not decode: %v", err)
	}
	return m
}

// checkSingle encodes r alone in every format and checks each message
// with its independent decoder.
func checkSingle(t testing.TB, r *cc.Record) {
	t.Helper()
	m := message(t, r)
	out, err := (&encode.JSON{}).Append(nil, m, indepNow)
	if err != nil {
		t.Fatalf("json: %v", err)
	}
	got, err := cc.DecodeJSONOne(out)
	if err == nil {
		err = cc.CompareJSON(got, cc.ExpectJSON(r, indepNow))
	}
	if err != nil {
		t.Fatalf("json: %v\n%s", err, clip(out))
	}
	out, err = (&encode.FlatJSON{}).Append(nil, m, indepNow)
	if err != nil {
		t.Fatalf("flat-json: %v", err)
	}
	got, err = cc.DecodeJSONOne(out)
	if err == nil {
		err = cc.CompareJSON(got, cc.ExpectFlatJSON(r, indepNow))
	}
	if err != nil {
		t.Fatalf("flat-json: %v\n%s", err, clip(out))
	}
	out, err = (&encode.MsgPack{}).Append(nil, m, indepNow)
	if err != nil {
		t.Fatalf("message-pack: %v", err)
	}
	mp, err := cc.DecodeMsgPack(out)
	if err == nil {
		err = cc.CompareMsgPack(mp, cc.ExpectMsgPack(r, indepNow))
	}
	if err != nil {
		t.Fatalf("message-pack (vmihailenco): %v", err)
	}
	a := encode.NewAvro(nil)
	out, err = a.Append(nil, m, indepNow)
	if err != nil {
		t.Fatalf("avro: %v", err)
	}
	av, err := cc.DecodeSingle(encode.ChangeNotificationSchema(), out)
	if err == nil {
		err = cc.CompareAvro(av, cc.ExpectAvro(r, indepNow), true)
	}
	if err != nil {
		t.Fatalf("avro single-object (goavro): %v", err)
	}
}

// checkBatch encodes rs with every batch framer and checks each body.
func checkBatch(t testing.TB, rs []*cc.Record) {
	t.Helper()
	ms := make([]*wire.Message, len(rs))
	for i, r := range rs {
		ms[i] = message(t, r)
	}
	body := func(f encode.Framer) []byte {
		b := f.Begin(nil)
		for _, m := range ms {
			var err error
			if b, err = f.Append(b, m, indepNow); err != nil {
				t.Fatalf("%T: %v", f, err)
			}
		}
		return f.End(b)
	}

	// ndjson, json and flat-json
	for _, flat := range []bool{false, true} {
		var enc encode.Encoder = &encode.JSON{}
		if flat {
			enc = &encode.FlatJSON{}
		}
		b := body(&encode.NDJSON{Enc: enc})
		if len(b) == 0 || b[len(b)-1] != '\n' {
			t.Fatalf("ndjson: body does not end with a newline")
		}
		lines := strings.Split(string(b[:len(b)-1]), "\n")
		if len(lines) != len(rs) {
			t.Fatalf("ndjson: %d lines, want %d", len(lines), len(rs))
		}
		for i, l := range lines {
			got, err := cc.DecodeJSONOne([]byte(l))
			if err == nil {
				err = cc.CompareJSON(got, expectJSON(rs[i], flat))
			}
			if err != nil {
				t.Fatalf("ndjson (flat %v) line %d: %v", flat, i, err)
			}
		}
		b = body(&encode.JSONArray{Enc: enc})
		got, err := cc.DecodeJSONOne(b)
		if err == nil {
			want := make([]any, len(rs))
			for i, r := range rs {
				want[i] = expectJSON(r, flat)
			}
			err = cc.CompareJSON(got, want)
		}
		if err != nil {
			t.Fatalf("json-array (flat %v): %v", flat, err)
		}
	}

	// es-bulk
	b := body(&encode.ESBulk{})
	if len(b) == 0 || b[len(b)-1] != '\n' {
		t.Fatalf("es-bulk: body does not end with a newline")
	}
	lines := strings.Split(string(b[:len(b)-1]), "\n")
	var want []any
	for _, r := range rs {
		index := r.Set
		if index == "" {
			index = r.Namespace
		}
		m, _, _ := r.Message()
		meta := map[string]any{"_index": cc.FixUTF8([]byte(index)), "_id": hex.EncodeToString(m.Digest)}
		if r.Delete {
			want = append(want, map[string]any{"delete": meta})
			continue
		}
		want = append(want, map[string]any{"index": meta}, cc.ExpectFlatJSON(r, indepNow))
	}
	if len(lines) != len(want) {
		t.Fatalf("es-bulk: %d lines, want %d", len(lines), len(want))
	}
	for i, l := range lines {
		got, err := cc.DecodeJSONOne([]byte(l))
		if err == nil {
			err = cc.CompareJSON(got, want[i])
		}
		if err != nil {
			t.Fatalf("es-bulk line %d: %v", i, err)
		}
	}

	// splunk-hec
	b = body(&encode.SplunkHEC{})
	lines = strings.Split(string(b), "\n")
	if len(lines) != len(rs) {
		t.Fatalf("splunk-hec: %d lines, want %d", len(lines), len(rs))
	}
	for i, l := range lines {
		r := rs[i]
		w := map[string]any{"event": cc.ExpectFlatJSON(r, indepNow)}
		if !r.NoLUT {
			w["time"] = json.Number(fmt.Sprintf("%d.%03d", r.LUTMs/1000, r.LUTMs%1000))
		}
		got, err := cc.DecodeJSONOne([]byte(l))
		if err == nil {
			err = cc.CompareJSON(got, w)
		}
		if err != nil {
			t.Fatalf("splunk-hec event %d: %v", i, err)
		}
	}

	// msgpack-array
	b = body(encode.NewMsgPackArray(nil))
	got, err := cc.DecodeMsgPack(b)
	if err == nil {
		w := make([]any, len(rs))
		for i, r := range rs {
			w[i] = cc.ExpectMsgPack(r, indepNow)
		}
		err = cc.CompareMsgPack(got, w)
	}
	if err != nil {
		t.Fatalf("msgpack-array (vmihailenco): %v", err)
	}

	// avro-ocf
	b = body(encode.NewAvroOCF(encode.NewAvro(nil)))
	_, recs, err := cc.DecodeOCF(b)
	if err != nil {
		t.Fatalf("avro-ocf (goavro): %v", err)
	}
	if len(recs) != len(rs) {
		t.Fatalf("avro-ocf: %d records, want %d", len(recs), len(rs))
	}
	for i, r := range rs {
		if err := cc.CompareAvro(recs[i], cc.ExpectAvro(r, indepNow), true); err != nil {
			t.Fatalf("avro-ocf record %d (goavro): %v", i, err)
		}
	}
}

func expectJSON(r *cc.Record, flat bool) map[string]any {
	if flat {
		return cc.ExpectFlatJSON(r, indepNow)
	}
	return cc.ExpectJSON(r, indepNow)
}

func clip(b []byte) string {
	if len(b) > 400 {
		return string(b[:300]) + "…" + string(b[len(b)-100:])
	}
	return string(b)
}
