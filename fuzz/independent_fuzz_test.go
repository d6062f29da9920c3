package fuzz

import (
	"bytes"
	"math"
	"strconv"
	"testing"

	"github.com/xdrhook/xdrhook/encode"
	cc "github.com/xdrhook/xdrhook/encode/crosscheck"
	"github.com/xdrhook/xdrhook/wire"
)

// Fuzz targets per encoder against decoders that are not ours: a record
// model drawn from the fuzz input (lengths up to ~600 bytes, every particle
// type, nested lists and maps) becomes a frame through the wire encoder,
// the frame is decoded and encoded, and goavro, vmihailenco/msgpack or
// encoding/json (with a duplicate-name check) must find the values that
// were shipped, alone and in a batch.

const fuzzNow = 1700000000

// length draws a length: mostly short, sometimes up to ~600 bytes, around
// the encoders' limits.
func (s *source) length() int {
	switch s.byte() % 4 {
	case 0:
		return int(s.byte() % 20)
	case 1:
		return 28 + int(s.byte()%40) // fixstr, 40, 64 limits
	case 2:
		return int(s.byte())
	}
	return int(s.byte())<<1 + int(s.byte()%100)
}

// text draws bytes of a length: from the input when short, else a
// pattern (ASCII, escapes and multi-byte UTF-8, or arbitrary bytes).
func (s *source) text() []byte {
	n := s.length()
	switch s.byte() % 4 {
	case 0:
		if n <= 32 {
			b := make([]byte, n)
			for i := range b {
				b[i] = s.byte()
			}
			return b
		}
		return cc.Bytes(n, int(s.byte()))
	case 1:
		return cc.ASCII(n, int(s.byte()))
	case 2:
		return cc.Bytes(n, int(s.byte()))
	}
	return cc.Text(n, int(s.byte()))
}

var typedTypes = []uint8{wire.ParticleJava, wire.ParticleCSharp, wire.ParticlePython, wire.ParticleRuby,
	wire.ParticlePHP, wire.ParticleErlang, wire.ParticleVector, wire.ParticleHLL, 5, 6, 99, 200, 255}

var geoTexts = [][]byte{[]byte(`{"type":"Point","coordinates":[1.5,-2]}`),
	[]byte(`{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}`), []byte(`not json`), nil}

func (s *source) value(depth int, top bool, first bool) cc.Value {
	k := s.byte() % 15
	switch k {
	case 0:
		return cc.Value{K: cc.Nil}
	case 1:
		return cc.Value{K: cc.Bool, Bool: s.byte()&1 == 1}
	case 2:
		return cc.Value{K: cc.Int, I: s.int64()}
	case 3:
		return cc.Value{K: cc.Int, I: int64(int8(s.byte()))}
	case 4:
		return cc.Value{K: cc.Float, F: math.Float64frombits(uint64(s.int64()))}
	case 5, 6:
		return cc.Value{K: cc.Str, B: s.text()}
	case 7:
		return cc.Value{K: cc.Blob, B: s.text()}
	case 8:
		return cc.Value{K: cc.Typed, T: typedTypes[int(s.byte())%len(typedTypes)], B: s.text()}
	case 9:
		return cc.Value{K: cc.Geo, B: geoTexts[int(s.byte())%len(geoTexts)]}
	case 10:
		if !top {
			return cc.Value{K: cc.Uint, U: 1<<63 | uint64(s.int64())}
		}
	case 11:
		if !top {
			return cc.Value{K: cc.Float32, F32: math.Float32frombits(uint32(s.int64()))}
		}
	case 12:
		if !top && !first { // an ext first in a list is its order flags
			return cc.Value{K: cc.Ext, T: s.byte() & 0x7f, B: s.text()}
		}
	}
	if depth <= 0 {
		return cc.Value{K: cc.Str, B: s.text()}
	}
	n := int(s.byte() % 7)
	if k%2 == 0 {
		v := cc.Value{K: cc.List, Flags: s.byte() & 1, FlagsElem: s.byte()&1 == 1}
		for i := 0; i < n; i++ {
			v.Items = append(v.Items, s.value(depth-1, false, i == 0 && !v.FlagsElem && v.Flags == 0))
		}
		return v
	}
	v := cc.Value{K: cc.Map, Flags: []uint8{0, 1, 3}[s.byte()%3]}
	for i := 0; i < n; i++ {
		var key cc.Value
		switch s.byte() % 3 { // keys whose JSON names cannot collide
		case 0:
			key = cc.Value{K: cc.Str, B: append([]byte("k-"+strconv.Itoa(i)), s.text()...)}
		case 1:
			key = cc.Value{K: cc.Int, I: int64(i)*1000 - int64(s.byte())}
		default:
			key = cc.Value{K: cc.Blob, B: append([]byte{byte(i)}, s.text()...)}
		}
		v.Entries = append(v.Entries, cc.Entry{Key: key, Val: s.value(depth-1, false, false)})
	}
	return v
}

func (s *source) model() *cc.Record {
	r := &cc.Record{Gen: uint32(s.byte()) << uint(s.byte()%24), TTL: []uint32{wire.TTLNever, 0, 1, 86400, 0xFFFFFFFE}[s.byte()%5],
		Namespace: "test", LUTMs: 1262304000000 + s.int64()&0xFFFFFFFFFF}
	switch s.byte() % 4 {
	case 0:
		r.Delete, r.Durable = true, s.byte()&1 == 1
	case 1:
		r.Partial = true
	}
	if s.byte()%4 == 0 {
		r.NoLUT = true
	}
	if s.byte()&1 == 1 {
		r.Namespace = string(s.text())
		if len(r.Namespace) == 0 || len(r.Namespace) > 31 {
			r.Namespace = "ns" + strconv.Itoa(len(r.Namespace)%20)
		}
	}
	if s.byte()&1 == 1 {
		r.Set = string(s.text())
		if len(r.Set) > 63 {
			r.Set = r.Set[:63]
		}
	}
	switch s.byte() % 5 {
	case 1:
		r.KeyType, r.KeyInt = wire.ParticleInteger, s.int64()
	case 2:
		r.KeyType, r.KeyFloat = wire.ParticleFloat, math.Float64frombits(uint64(s.int64()))
	case 3:
		r.KeyType, r.KeyBytes = wire.ParticleString, s.text()
	case 4:
		r.KeyType, r.KeyBytes = wire.ParticleBlob, s.text()
	}
	if !r.Delete {
		n := int(s.byte() % 9)
		for i := 0; i < n; i++ {
			name := s.text()
			if len(name) > 240 {
				name = name[:240]
			}
			// distinct names, none "metadata"
			r.Bins = append(r.Bins, cc.Bin{Name: strconv.Itoa(i) + "#" + string(name), V: s.value(3, true, false)})
		}
	}
	return r
}

func fuzzSeeds(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27})
	f.Add(bytes.Repeat([]byte{5}, 200))
	f.Add(bytes.Repeat([]byte{0xff, 0x13, 0x07}, 100))
	f.Add(bytes.Repeat([]byte{1, 41, 6, 1, 0x29}, 60))
	f.Add(bytes.Repeat([]byte{2, 200, 3, 9, 14, 12, 10}, 50))
	f.Add([]byte{0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 1, 0, 5, 1, 13, 3, 1, 0, 5, 1, 13, 3, 1})
}

func fuzzModel(t *testing.T, data []byte) (*cc.Record, *wire.Message) {
	r := (&source{b: data}).model()
	m, _, err := r.Message()
	if err != nil {
		t.Fatalf("the frame of the model does not decode: %v", err)
	}
	return r, m
}

// FuzzIndependentJSON: json and flat-json, alone and framed as ndjson and
// json-array, decoded by encoding/json with a duplicate-name check.
func FuzzIndependentJSON(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		r, m := fuzzModel(t, data)
		for _, flat := range []bool{false, true} {
			var enc encode.Encoder = &encode.JSON{}
			want := any(cc.ExpectJSON(r, fuzzNow))
			if flat {
				enc, want = &encode.FlatJSON{}, cc.ExpectFlatJSON(r, fuzzNow)
			}
			out, err := enc.Append(nil, m, fuzzNow)
			if err != nil {
				t.Fatalf("%T: %v", enc, err)
			}
			got, err := cc.DecodeJSONOne(out)
			if err == nil {
				err = cc.CompareJSON(got, want)
			}
			if err != nil {
				t.Fatalf("%T: %v\n%s", enc, err, out)
			}
			fr := &encode.JSONArray{Enc: enc}
			body := fr.Begin(nil)
			for i := 0; i < 2; i++ {
				if body, err = fr.Append(body, m, fuzzNow); err != nil {
					t.Fatal(err)
				}
			}
			got, err = cc.DecodeJSONOne(fr.End(body))
			if err == nil {
				err = cc.CompareJSON(got, []any{want, want})
			}
			if err != nil {
				t.Fatalf("json-array of %T: %v", enc, err)
			}
		}
	})
}

// FuzzIndependentMsgPack: message-pack alone and in a msgpack-array,
// decoded by vmihailenco/msgpack.
func FuzzIndependentMsgPack(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		r, m := fuzzModel(t, data)
		want := cc.ExpectMsgPack(r, fuzzNow)
		out, err := (&encode.MsgPack{}).Append(nil, m, fuzzNow)
		if err != nil {
			t.Fatal(err)
		}
		got, err := cc.DecodeMsgPack(out)
		if err == nil {
			err = cc.CompareMsgPack(got, want)
		}
		if err != nil {
			t.Fatalf("message-pack: %v\n%x", err, out)
		}
		fr := encode.NewMsgPackArray(nil)
		body := fr.Begin(nil)
		for i := 0; i < 2; i++ {
			if body, err = fr.Append(body, m, fuzzNow); err != nil {
				t.Fatal(err)
			}
		}
		got, err = cc.DecodeMsgPack(fr.End(body))
		if err == nil {
			err = cc.CompareMsgPack(got, []any{want, want})
		}
		if err != nil {
			t.Fatalf("msgpack-array: %v", err)
		}
	})
}

// FuzzIndependentAvro: avro single-object (fingerprint checked against the
// spec's canonical form) and avro-ocf, decoded by goavro.
func FuzzIndependentAvro(f *testing.F) {
	fuzzSeeds(f)
	schema := encode.ChangeNotificationSchema()
	f.Fuzz(func(t *testing.T, data []byte) {
		r, m := fuzzModel(t, data)
		want := cc.ExpectAvro(r, fuzzNow)
		a := encode.NewAvro(nil)
		out, err := a.Append(nil, m, fuzzNow)
		if err != nil {
			t.Fatal(err)
		}
		got, err := cc.DecodeSingle(schema, out)
		if err == nil {
			err = cc.CompareAvro(got, want, true)
		}
		if err != nil {
			t.Fatalf("avro single-object: %v\n%x", err, out)
		}
		fr := encode.NewAvroOCF(a)
		body := fr.Begin(nil)
		for i := 0; i < 2; i++ {
			if body, err = fr.Append(body, m, fuzzNow); err != nil {
				t.Fatal(err)
			}
		}
		_, recs, err := cc.DecodeOCF(fr.End(body))
		if err != nil || len(recs) != 2 {
			t.Fatalf("avro-ocf: %d records, %v", len(recs), err)
		}
		for _, g := range recs {
			if err := cc.CompareAvro(g, want, true); err != nil {
				t.Fatalf("avro-ocf: %v", err)
			}
		}
	})
}
