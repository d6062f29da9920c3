package fuzz

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"testing"

	"github.com/hamba/avro/v2"
	"github.com/tinylib/msgp/msgp"

	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/wire"
)

// source turns fuzz bytes into choices; past the end it yields zeros.
type source struct {
	b []byte
	i int
}

func (s *source) byte() byte {
	if s.i >= len(s.b) {
		return 0
	}
	s.i++
	return s.b[s.i-1]
}

func (s *source) bytes(max int) []byte {
	n := int(s.byte()) % (max + 1)
	out := make([]byte, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, s.byte())
	}
	return out
}

func (s *source) int64() int64 {
	var v uint64
	for i := 0; i < 8; i++ {
		v = v<<8 | uint64(s.byte())
	}
	return int64(v)
}

// binModel is what a bin must decode to: its name and, for scalars, the
// value as the JSON formats render it (nil for values not compared).
type binModel struct {
	name string
	json any
}

// cdt appends a random list or map value of at most depth levels.
func (s *source) cdt(dst []byte, depth int) []byte {
	n := int(s.byte() % 5)
	if depth <= 0 || s.byte()%2 == 0 {
		dst = wire.AppendCDTList(dst, n+1)
		dst = wire.AppendCDTListOrder(dst, s.byte()&1)
		for i := 0; i < n; i++ {
			dst = s.cdtValue(dst, depth-1)
		}
		return dst
	}
	dst = wire.AppendCDTMap(dst, n)
	for i := 0; i < n; i++ {
		dst = wire.AppendCDTString(dst, "k"+strconv.Itoa(i)) // distinct keys
		dst = s.cdtValue(dst, depth-1)
	}
	return dst
}

func (s *source) cdtValue(dst []byte, depth int) []byte {
	switch s.byte() % 9 {
	case 0:
		return wire.AppendCDTInt(dst, s.int64())
	case 1:
		return wire.AppendCDTFloat(dst, math.Float64frombits(uint64(s.int64())))
	case 2:
		return wire.AppendCDTString(dst, string(s.bytes(12)))
	case 3:
		return wire.AppendCDTBlob(dst, s.bytes(12))
	case 4:
		return wire.AppendCDTBool(dst, s.byte()&1 == 1)
	case 5:
		return wire.AppendCDTNil(dst)
	case 6:
		return wire.AppendCDTTyped(dst, wire.ParticleGeoJSON, []byte(`{"type":"Point","coordinates":[1,2]}`))
	case 7:
		return wire.AppendCDTUint(dst, uint64(s.int64()))
	}
	if depth > 0 {
		return s.cdt(dst, depth)
	}
	return wire.AppendCDTNil(dst)
}

// record builds a record and its model from the fuzz input.
func (s *source) record() (*wire.Record, []binModel) {
	r := &wire.Record{Kind: wire.KindWrite, Generation: uint32(s.byte()), TTL: wire.TTLNever, Namespace: "test",
		LUT: wire.MakeLUT(1, 1734388704784+int64(s.byte()))}
	switch s.byte() % 4 {
	case 0:
		r.Kind, r.Durable = wire.KindDelete, s.byte()&1 == 1
	case 1:
		r.Partial = true
	}
	if s.byte()&1 == 1 {
		r.Set = "set" + strconv.Itoa(int(s.byte()%3))
	}
	switch s.byte() % 4 {
	case 1:
		r.KeyType, r.Key = wire.ParticleInteger, wire.IntKey(s.int64())
	case 2:
		r.KeyType, r.Key = wire.ParticleString, s.bytes(10)
	case 3:
		r.KeyType, r.Key = wire.ParticleBlob, s.bytes(10)
	}
	var d wire.Digester
	r.SetDigest(&d)
	var model []binModel
	if r.Kind == wire.KindWrite {
		n := int(s.byte() % 8)
		for i := 0; i < n; i++ {
			b := wire.BinSpec{Name: "b" + strconv.Itoa(i)}
			m := binModel{name: b.Name}
			switch s.byte() % 8 {
			case 0:
				v := s.int64()
				b.Type, b.Value, m.json = wire.ParticleInteger, wire.IntValue(v), json.Number(strconv.FormatInt(v, 10))
			case 1:
				f := math.Float64frombits(uint64(s.int64()))
				b.Type, b.Value = wire.ParticleFloat, wire.FloatValue(f)
			case 2:
				v := s.bytes(20)
				b.Type, b.Value = wire.ParticleString, v
			case 3:
				b.Type, b.Value = wire.ParticleBlob, s.bytes(20)
			case 4:
				v := s.byte()&1 == 1
				b.Type, b.Value, m.json = wire.ParticleBool, wire.BoolValue(v), v
			case 5:
				b.Type, b.Value = wire.ParticleList, s.cdt(nil, 3)
			case 6:
				b.Type, b.Value = wire.ParticleGeoJSON, wire.GeoJSONValue(`{"type":"Point","coordinates":[0.5,-1]}`, 7)
			default:
				b.Type = wire.ParticleNull
			}
			r.Bins = append(r.Bins, b)
			model = append(model, m)
		}
	}
	return r, model
}

// FuzzEncoders: a record the wire encoder makes from the fuzz input is
// decoded and written in every format; independent decoders (encoding/json,
// msgp's reader, hamba/avro) must parse each and find the record's
// metadata and bins.
func FuzzEncoders(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27})
	f.Add(bytes.Repeat([]byte{5}, 200))
	f.Add(bytes.Repeat([]byte{0xff, 0x13, 0x07}, 100))
	schema, err := avro.Parse(encode.ChangeNotificationSchema())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		src := &source{b: data}
		r, model := src.record()
		frame := wire.AppendFrame(nil, r)
		var m wire.Message
		if err := m.Decode(frame[wire.HeaderSize:]); err != nil {
			t.Fatalf("the wire encoder's frame does not decode: %v", err)
		}
		const now = 1700000000
		checkJSON(t, &encode.JSON{}, &m, r, model, now)
		checkJSON(t, &encode.FlatJSON{}, &m, r, model, now)
		checkMsgPack(t, &m, r, model, now)
		checkAvro(t, schema, &m, r, model, now)
	})
}

func checkJSON(t *testing.T, enc encode.Encoder, m *wire.Message, r *wire.Record, model []binModel, now int64) {
	out, err := enc.Append(nil, m, now)
	if err != nil {
		t.Fatalf("%T: %v", enc, err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%T output is not JSON: %v\n%s", enc, err, out)
	}
	if dec.More() {
		t.Fatalf("%T: more than one value", enc)
	}
	if _, flat := enc.(*encode.FlatJSON); flat {
		md, _ := v["metadata"].(map[string]any)
		if md == nil || md["namespace"] != "test" || md["msg"] != r.Kind.String() {
			t.Fatalf("flat-json metadata: %s", out)
		}
		for _, b := range model {
			if b.json != nil && fmt.Sprint(v[b.name]) != fmt.Sprint(b.json) {
				t.Fatalf("flat-json bin %s = %v, want %v: %s", b.name, v[b.name], b.json, out)
			}
		}
		return
	}
	if v["msg"] != r.Kind.String() || v["gen"] != json.Number(strconv.Itoa(int(r.Generation))) {
		t.Fatalf("json envelope: %s", out)
	}
	if r.Kind == wire.KindDelete {
		return
	}
	bins, _ := v["bins"].([]any)
	if len(bins) != len(model) {
		t.Fatalf("json: %d bins, want %d: %s", len(bins), len(model), out)
	}
	for i, b := range model {
		bo := bins[i].(map[string]any)
		if bo["name"] != b.name || (b.json != nil && fmt.Sprint(bo["value"]) != fmt.Sprint(b.json)) {
			t.Fatalf("json bin %d = %v, want %+v", i, bo, b)
		}
	}
}

func checkMsgPack(t *testing.T, m *wire.Message, r *wire.Record, model []binModel, now int64) {
	out, err := (&encode.MsgPack{}).Append(nil, m, now)
	if err != nil {
		t.Fatal(err)
	}
	// [1, kind, [key, ...]]: walk it with msgp's reader.
	n, rest, err := msgp.ReadArrayHeaderBytes(out)
	if err != nil || n != 3 {
		t.Fatalf("msgpack envelope: %v", err)
	}
	_, rest, _ = msgp.ReadIntBytes(rest)
	kind, rest, err := msgp.ReadIntBytes(rest)
	if err != nil || kind != int(r.Kind) {
		t.Fatalf("msgpack kind %d: %v", kind, err)
	}
	inner, rest, err := msgp.ReadArrayHeaderBytes(rest)
	if err != nil {
		t.Fatal(err)
	}
	// key
	if rest, err = msgp.Skip(rest); err != nil {
		t.Fatal(err)
	}
	if r.Kind == wire.KindWrite {
		for i := 0; i < 3; i++ { // gen, exp, lut
			if rest, err = msgp.Skip(rest); err != nil {
				t.Fatal(err)
			}
		}
		nb, r2, err := msgp.ReadArrayHeaderBytes(rest)
		if err != nil || int(nb) != len(model) {
			t.Fatalf("msgpack: %d bins, want %d (%v)", nb, len(model), err)
		}
		rest = r2
		for _, b := range model {
			if _, r3, err := msgp.ReadArrayHeaderBytes(rest); err != nil {
				t.Fatal(err)
			} else {
				rest = r3
			}
			name, r3, err := msgp.ReadStringBytes(rest)
			if err != nil || name != b.name {
				t.Fatalf("msgpack bin name %q, want %q (%v)", name, b.name, err)
			}
			rest = r3
			for i := 0; i < 3; i++ { // type, flags, value
				if rest, err = msgp.Skip(rest); err != nil {
					t.Fatal(err)
				}
			}
		}
		inner -= 4
	}
	for i := uint32(1); i < inner; i++ {
		if rest, err = msgp.Skip(rest); err != nil {
			t.Fatal(err)
		}
	}
	if len(rest) != 0 {
		t.Fatalf("msgpack: %d trailing bytes", len(rest))
	}
}

func checkAvro(t *testing.T, schema avro.Schema, m *wire.Message, r *wire.Record, model []binModel, now int64) {
	out, err := encode.NewAvro(nil).AppendDatum(nil, m, now)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := avro.Unmarshal(schema, out, &v); err != nil {
		t.Fatalf("avro: %v", err)
	}
	if v["msg"] != r.Kind.String() || v["namespace"] != "test" {
		t.Fatalf("avro envelope %v", v)
	}
	bins, _ := v["bins"].([]any)
	if r.Kind == wire.KindWrite && len(bins) != len(model) {
		t.Fatalf("avro: %d bins, want %d", len(bins), len(model))
	}
	for i, b := range model {
		if bo := bins[i].(map[string]any); bo["name"] != b.name {
			t.Fatalf("avro bin %d: %v", i, bo)
		}
	}
}
