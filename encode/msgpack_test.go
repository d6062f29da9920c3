package encode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/tinylib/msgp/msgp"
	"github.com/xdrhook/xdrhook/wire"
)

// mpExt is a decoded MessagePack ext.
type mpExt struct {
	Type int8
	Data []byte
}

// mpPairs is a decoded MessagePack map: keys and values alternately, in
// order (keys may be of any type).
type mpPairs []any

// mpDecode decodes one MessagePack value with msgp's readers, the
// independent decoder of these tests. Integers come out as int64 when they
// fit, else uint64; floats keep their width.
func mpDecode(b []byte) (any, []byte, error) {
	if len(b) == 0 {
		return nil, b, msgp.ErrShortBytes
	}
	// Ext first: msgp's NextType turns some ext types into time or complex.
	if c := b[0]; c >= 0xd4 && c <= 0xd8 || c >= 0xc7 && c <= 0xc9 {
		var n, hdr int
		switch c {
		case 0xc7:
			n, hdr = int(b[1]), 2
		case 0xc8:
			n, hdr = int(binary.BigEndian.Uint16(b[1:])), 3
		case 0xc9:
			n, hdr = int(binary.BigEndian.Uint32(b[1:])), 5
		default:
			n, hdr = 1<<(c-0xd4), 1
		}
		if len(b) < hdr+1+n {
			return nil, b, msgp.ErrShortBytes
		}
		return mpExt{Type: int8(b[hdr]), Data: b[hdr+1 : hdr+1+n]}, b[hdr+1+n:], nil
	}
	switch msgp.NextType(b) {
	case msgp.NilType:
		o, err := msgp.ReadNilBytes(b)
		return nil, o, err
	case msgp.BoolType:
		return wrap(msgp.ReadBoolBytes(b))
	case msgp.IntType:
		return wrap(msgp.ReadInt64Bytes(b))
	case msgp.UintType:
		u, o, err := msgp.ReadUint64Bytes(b)
		if u <= math.MaxInt64 {
			return int64(u), o, err
		}
		return u, o, err
	case msgp.Float32Type:
		return wrap(msgp.ReadFloat32Bytes(b))
	case msgp.Float64Type:
		return wrap(msgp.ReadFloat64Bytes(b))
	case msgp.StrType:
		return wrap(msgp.ReadStringBytes(b))
	case msgp.BinType:
		v, o, err := msgp.ReadBytesZC(b)
		return v, o, err
	case msgp.ArrayType:
		n, o, err := msgp.ReadArrayHeaderBytes(b)
		if err != nil {
			return nil, b, err
		}
		out := make([]any, n)
		for i := range out {
			if out[i], o, err = mpDecode(o); err != nil {
				return nil, b, err
			}
		}
		return out, o, nil
	case msgp.MapType:
		n, o, err := msgp.ReadMapHeaderBytes(b)
		if err != nil {
			return nil, b, err
		}
		out := make(mpPairs, 2*n)
		for i := range out {
			if out[i], o, err = mpDecode(o); err != nil {
				return nil, b, err
			}
		}
		return out, o, nil
	}
	return nil, b, fmt.Errorf("unexpected MessagePack byte %#x", b[0])
}

func wrap[T any](v T, o []byte, err error) (any, []byte, error) { return v, o, err }

// mpDecodeAll decodes exactly one value.
func mpDecodeAll(t testing.TB, b []byte) any {
	t.Helper()
	v, rest, err := mpDecode(b)
	if err != nil {
		t.Fatalf("decode %x: %v", b, err)
	}
	if len(rest) != 0 {
		t.Fatalf("%d trailing bytes after the message", len(rest))
	}
	return v
}

// mpModel is the message a record must decode to, built from the model.
func mpModel(r *trec, tr *Transform) any {
	d := r.digest()
	var set, key any
	if r.set != "" {
		set = r.set
	}
	switch r.keyType {
	case wire.ParticleInteger:
		key = r.keyInt
	case wire.ParticleFloat:
		key = r.keyF
	case wire.ParticleString:
		key = r.keyRaw
	case wire.ParticleBlob:
		key = []byte(r.keyRaw)
	}
	k := []any{r.ns, set, d[:], key}
	if r.kind == wire.KindDelete {
		flags := int64(0)
		if r.durable {
			flags = 1
		}
		return []any{int64(1), int64(2), []any{k, flags, int64(r.gen), r.lut()}}
	}
	bins := []any{}
	for _, b := range r.bins {
		name, ok := tr.Bin([]byte(b.name))
		if !ok {
			continue
		}
		flags, v := mpTopModel(b)
		bins = append(bins, []any{string(name), int64(b.pt), flags, v})
	}
	return []any{int64(1), int64(1), []any{k, int64(r.gen), r.expiry(), r.lut(), bins, r.partial || len(r.bins) == 0}}
}

func mpTopModel(b tbin) (flags int64, v any) {
	switch b.pt {
	case wire.ParticleNull:
		return 0, nil
	case wire.ParticleInteger:
		return 0, b.val.i
	case wire.ParticleFloat:
		return 0, b.val.f
	case wire.ParticleString:
		return 0, b.val.s
	case wire.ParticleBool:
		return 0, b.val.b
	case wire.ParticleGeoJSON:
		if b.raw != "" {
			return 0, []byte(b.raw)
		}
		return 0, b.geo
	case wire.ParticleList:
		return int64(b.val.flags & 1), mpCDTModel(b.val)
	case wire.ParticleMap:
		return int64(b.val.flags & 3), mpCDTModel(b.val)
	}
	return 0, []byte(b.raw)
}

func mpCDTModel(v tv) any {
	switch v.k {
	case tvNil:
		return nil
	case tvBool:
		return v.b
	case tvInt:
		return v.i
	case tvUint:
		return v.u
	case tvFloat:
		return v.f
	case tvFloat32:
		return float32(v.f)
	case tvStr:
		return v.s
	case tvBlob, tvEmpty:
		return []byte(v.s)
	case tvTyped, tvExt:
		return mpExt{Type: int8(v.sub), Data: []byte(v.s)}
	case tvList:
		out := []any{}
		for _, it := range v.items {
			out = append(out, mpCDTModel(it))
		}
		return out
	}
	out := mpPairs{}
	for _, it := range v.items {
		out = append(out, mpCDTModel(it))
	}
	return out
}

func mpEqual(path string, got, want any) error {
	if w, ok := want.(mpPairs); ok {
		g, ok := got.(mpPairs)
		if !ok {
			return fmt.Errorf("%s: got %#v, want a map", path, got)
		}
		return mpEqual(path, []any(g), []any(w))
	}
	if w, ok := want.([]any); ok {
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("%s: got %#v, want %#v", path, got, w)
		}
		for i := range w {
			if err := mpEqual(fmt.Sprintf("%s[%d]", path, i), g[i], w[i]); err != nil {
				return err
			}
		}
		return nil
	}
	return modelEqual(path, got, want)
}

func TestMsgPackGolden(t *testing.T) {
	var e MsgPack
	for _, name := range []string{"write-3bins-key10", "delete-key10"} {
		m := capturedMessage(t, name+".hex")
		got, err := e.Append([]byte("prefix"), m, testNow)
		if err != nil {
			t.Fatal(err)
		}
		want := readHexFile(t, "testdata/msgpack/"+name+".hex")
		if !bytes.Equal(got[6:], want) || string(got[:6]) != "prefix" {
			t.Errorf("%s:\n got %x\nwant %x", name, got[6:], want)
		}
	}
}

func TestMsgPackRecords(t *testing.T) {
	var e MsgPack
	var buf []byte
	for _, r := range testRecords() {
		t.Run(r.name, func(t *testing.T) {
			m := r.message(t)
			var err error
			buf, err = e.Append(buf[:0], m, testNow)
			if err != nil {
				t.Fatal(err)
			}
			if err := mpEqual("msg", mpDecodeAll(t, buf), mpModel(&r, nil)); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestMsgPackTransform(t *testing.T) {
	tr := NewTransform(nil, []string{"email", "avatar"}, map[string]string{"name": "fullName", "tags": "labels"})
	e := MsgPack{Transform: tr}
	r := testRecords()[0]
	got, err := e.Append(nil, r.message(t), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if err := mpEqual("msg", mpDecodeAll(t, got), mpModel(&r, tr)); err != nil {
		t.Error(err)
	}
	// Everything excluded: an empty bins array (still not partial).
	e.Transform = NewTransform([]string{}, nil, nil)
	got, err = e.Append(got[:0], r.message(t), testNow)
	if err != nil {
		t.Fatal(err)
	}
	body := mpDecodeAll(t, got).([]any)[2].([]any)
	if bins := body[4].([]any); len(bins) != 0 || body[5] != false {
		t.Errorf("bins %v partial %v, want none and false", bins, body[5])
	}
}

func TestMsgPackMalformed(t *testing.T) {
	var e MsgPack
	for _, v := range [][]byte{{0x93, 0x01}, {0x81, 0xa2, 0x03}, {0x91, 0xc1}, {0x91, 0x01, 0x02}, {}} {
		r := &wire.Record{Kind: wire.KindWrite, Namespace: "ns", Bins: []wire.BinSpec{{Name: "a", Type: wire.ParticleInteger, Value: wire.IntValue(1)}, {Name: "l", Type: wire.ParticleList, Value: v}}}
		m := decodeTestFrame(t, wire.AppendFrame(nil, r))
		got, err := e.Append([]byte("keep"), m, testNow)
		var ce *wire.CDTError
		if !errors.As(err, &ce) {
			t.Errorf("value %x: err %v, want a *wire.CDTError", v, err)
		}
		if string(got) != "keep" {
			t.Errorf("value %x: dst %q after an error, want it unchanged", v, got)
		}
	}
}

func TestMsgPackArray(t *testing.T) {
	f := NewMsgPackArray(nil)
	if f.ContentType() != "application/x-msgpack" || f.Enc.ContentType() != "application/x-msgpack" {
		t.Error("content type")
	}
	recs := testRecords()
	body := f.Begin([]byte("xx"))
	for i := range recs {
		var err error
		if body, err = f.Append(body, recs[i].message(t), testNow); err != nil {
			t.Fatal(err)
		}
	}
	// A record that fails leaves the body as it was and is not counted.
	bad := decodeTestFrame(t, wire.AppendFrame(nil, &wire.Record{Kind: wire.KindWrite, Namespace: "ns",
		Bins: []wire.BinSpec{{Name: "l", Type: wire.ParticleList, Value: []byte{0x95}}}}))
	before := len(body)
	body, err := f.Append(body, bad, testNow)
	if err == nil || len(body) != before {
		t.Fatalf("bad record: err %v, body %d → %d bytes", err, before, len(body))
	}
	body = f.End(body)
	if string(body[:2]) != "xx" || body[2] != 0xdd || binary.BigEndian.Uint32(body[3:]) != uint32(len(recs)) {
		t.Fatalf("header %x", body[:7])
	}
	n, rest, err := msgp.ReadArrayHeaderBytes(body[2:])
	if err != nil || n != uint32(len(recs)) {
		t.Fatalf("array header: %d, %v", n, err)
	}
	for i := range recs {
		var v any
		if v, rest, err = mpDecode(rest); err != nil {
			t.Fatal(err)
		}
		if err := mpEqual(recs[i].name, v, mpModel(&recs[i], nil)); err != nil {
			t.Error(err)
		}
	}
	if len(rest) != 0 {
		t.Errorf("%d trailing bytes", len(rest))
	}
	// An empty batch is an empty array; a framer is reusable.
	empty := f.End(f.Begin(nil))
	if v := mpDecodeAll(t, empty); len(v.([]any)) != 0 {
		t.Errorf("empty batch %x", empty)
	}
}

func TestMsgPackAllocs(t *testing.T) {
	var e MsgPack
	buf := appendAllocsNone(t, &e)
	t.Logf("typical record: %d bytes of frame, %d bytes of message-pack", len(wire.AppendFrame(nil, testRecords()[0].record())), len(buf))
}

// appendAllocsNone checks that e appends the typical record without
// allocating, into a buffer with room, and returns what it wrote.
func appendAllocsNone(t *testing.T, e Encoder) []byte {
	t.Helper()
	m := typicalMessage(t)
	buf := make([]byte, 0, 4096)
	var err error
	allocs := testing.AllocsPerRun(200, func() {
		buf, err = e.Append(buf[:0], m, testNow)
	})
	if err != nil {
		t.Fatal(err)
	}
	if allocs != 0 {
		t.Errorf("%v allocs per Append, want 0", allocs)
	}
	return buf
}

// TestMsgPackGenerated checks that msgpack_envelope_gen.go is what
// `go generate` writes from msgpack_envelope.go.
func TestMsgPackGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("system tier: runs the msgp generator; run by make test-system")
	}
	out := filepath.Join(t.TempDir(), "gen.go")
	cmd := exec.Command("go", "run", "github.com/tinylib/msgp", "-file", "msgpack_envelope.go", "-o", out, "-io=false", "-tests=false", "-unexported")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("msgp: %v\n%s", err, b)
	}
	got, _ := os.ReadFile(out)
	want, _ := os.ReadFile("msgpack_envelope_gen.go")
	if !bytes.Equal(got, want) {
		t.Error("msgpack_envelope_gen.go is stale: run go generate ./encode")
	}
}

// TestBinaryFastPathsRoom checks that the in-place fast paths of the
// message-pack and avro bin writers (taken when dst has room) and their
// slow paths (a full dst) write the same bytes: every bin of every test
// record, appended after a prefix into buffers of every capacity around
// its size.
func TestBinaryFastPathsRoom(t *testing.T) {
	var mp MsgPack
	av := NewAvro(nil)
	prefix := []byte("prefix")
	for _, r := range testRecords() {
		m := r.message(t)
		for i := range m.Bins {
			b := &m.Bins[i]
			for _, enc := range []struct {
				name   string
				append func(dst []byte) ([]byte, error)
			}{
				{"msgpack", func(dst []byte) ([]byte, error) { return mp.appendBinArray(dst, m.Bins[i:i+1], true) }},
				{"avro", func(dst []byte) ([]byte, error) { return av.appendBin(dst, b.Name, b) }},
			} {
				want, err := enc.append(append(make([]byte, 0, 4096), prefix...))
				if err != nil {
					t.Fatalf("%s %s/%s: %v", enc.name, r.name, b.Name, err)
				}
				for c := len(prefix); c <= len(want)+80; c++ {
					got, err := enc.append(append(make([]byte, 0, c), prefix...))
					if err != nil || !bytes.Equal(got, want) {
						t.Fatalf("%s %s/%s, cap %d: got %x, %v; want %x", enc.name, r.name, b.Name, c, got, err, want)
					}
				}
			}
		}
	}
}
