package wire

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/xdrhook/xdrhook/pool"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The examples of xdr-wire.md §6, byte for byte.
func TestCDTSpecExamples(t *testing.T) {
	for _, c := range []struct{ hex, want string }{
		{"82 a2 03 61 01 a2 03 62 02", `{"a":1,"b":2}`},
		{"95 01 a2 03 61 cb 40 04 00 00 00 00 00 00 c3 c0", `[1,"a",2.5,true,null]`},
		{"94 c7 00 01 01 02 03", `[@1 1,2,3]`},
		{"82 c7 00 01 c0 a2 03 61 01", `{@1 "a":1}`},
		// key-value ordered map of int keys, nested ordered list inside.
		{"83 c7 00 03 c0 01 92 c7 00 01 a2 03 78 02 a1 04", `{@3 1:[@1 "x"],2:b:}`},
		// a blob via a bin header, typed bytes (GeoJSON, Java blob), empty payload.
		{"94 c4 03 04 ff 00 a3 17 7b 7d a2 07 01 a0", `[b:/wA=,t23:e30=,t7:AQ==,b:]`},
		// every int form, float32, uint64 above int64.
		{"9b 7f e0 cc ff cd ff ff ce ff ff ff ff d0 80 d1 80 00 d2 80 00 00 00 d3 80 00 00 00 00 00 00 00 cf ff ff ff ff ff ff ff ff ca 3f c0 00 00",
			`[127,-32,255,65535,4294967295,-128,-32768,-2147483648,-9223372036854775808,18446744073709551615,1.5]`},
		// array16 / map16 / str8 forms; an ext that is not an order flag.
		{"dc 00 02 de 00 01 d9 02 03 6b c2 d4 05 aa", `[{"k":false},x5:qg==]`},
		// lenient: an ext of another form in first position is dropped too.
		{"92 d4 01 00 05", `[@1 5]`},
	} {
		if got := dumpCDT(t, unhex(t, c.hex)); got != c.want {
			t.Errorf("%s: got %s, want %s", c.hex, got, c.want)
		}
	}
}

func TestCDTErrors(t *testing.T) {
	deep := bytes.Repeat([]byte{0x91}, MaxCDTDepth+1)
	deep = append(deep, 0x01)
	for _, c := range []struct{ name, hex, want string }{
		{"empty", "", "runs past the end"},
		{"truncated list", "93 01 02", "cannot fit"},
		{"huge array32", "dd ff ff ff ff 01", "cannot fit"},
		{"huge map32", "df 80 00 00 00 01 01", "cannot fit"},
		{"truncated str", "a5 03 61", "runs past the end"},
		{"str32 past end", "db ff ff ff ff 03", "runs past the end"},
		{"trailing", "01 02", "trailing bytes"},
		{"c1", "91 c1", "0xc1"},
		{"truncated float", "cb 40 04", "runs past the end"},
		{"flags paired with container", "82 c7 00 01 90 01 02", "paired with a container"},
		{"deep", hex.EncodeToString(deep), "deeper than 64"},
	} {
		var r CDTReader
		err := r.Validate(unhex(t, c.hex))
		var ce *CDTError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want a CDTError with %q", c.name, err, c.want)
		}
	}
	var r CDTReader
	if err := r.Validate(deep[1:]); err != nil {
		t.Errorf("64 levels must pass: %v", err)
	}
}

// A durable delete without set or user key, written by hand.
func TestHandDurableDelete(t *testing.T) {
	f := unhex(t, `02 03 000000000043
		16 10 13 00 00 00 00000007 00000000 00000000 0003 0000
		00000003 00 6e73
		00000015 04 0102030405060708090a0b0c0d0e0f1011121314
		00000009 0e 0000010000000064`)
	m := decodeFrame(t, f)
	if m.Kind != KindDelete || !m.Durable || m.HasSet || m.Key.Type != 0 || m.Generation != 7 {
		t.Fatalf("got %+v", m)
	}
	if string(m.Namespace) != "ns" || m.Digest[0] != 1 || m.Digest[19] != 0x14 {
		t.Fatalf("ns %q digest %x", m.Namespace, m.Digest)
	}
	if m.LUTSource() != 1 || m.LUTUnixMs() != CitrusleafEpochMs+100 {
		t.Fatalf("lut %d %d", m.LUTSource(), m.LUTUnixMs())
	}
}

// A metadata-only write (bin-policy no-bins) and a partial write with a
// deleted bin and a bin LUT, by hand.
func TestHandMetadataOnlyAndPartial(t *testing.T) {
	meta := unhex(t, `02 03 000000000043
		16 10 01 00 00 00 00000003 0000012c 00000000 0003 0000
		00000003 00 6e73
		00000015 04 0102030405060708090a0b0c0d0e0f1011121314
		00000009 0e 0000010000000064`)
	m := decodeFrame(t, meta)
	if m.Kind != KindWrite || !m.MetadataOnly || !m.Partial || len(m.Bins) != 0 {
		t.Fatalf("got %+v", m)
	}
	if m.TTL != 300 || m.Expiry(1000) != 1300 {
		t.Fatalf("ttl %d expiry %d", m.TTL, m.Expiry(1000))
	}

	partial := unhex(t, `02 03 000000000058
		16 10 11 00 00 00 00000004 ffffffff 00000000 0002 0002
		00000003 00 6e73
		00000015 04 0102030405060708090a0b0c0d0e0f1011121314
		00000005 02 00 00 01 64
		00000015 02 01 01 01 62 0000010000000200 0000000000000005`)
	m = decodeFrame(t, partial)
	if m.Kind != KindWrite || m.MetadataOnly || !m.Partial || len(m.Bins) != 2 {
		t.Fatalf("got %+v", m)
	}
	if !m.Bins[0].Deleted() || string(m.Bins[0].Name) != "d" || len(m.Bins[0].Value) != 0 || m.Bins[0].HasLUT {
		t.Errorf("bin 0: %+v", m.Bins[0])
	}
	b := m.Bins[1]
	if v, _ := Int(b.Value); string(b.Name) != "b" || !b.HasLUT || b.LUT != 0x10000000200 || v != 5 {
		t.Errorf("bin 1: %+v", b)
	}
}

func TestIntWidths(t *testing.T) {
	for _, c := range []struct {
		hex  string
		want int64
	}{{"05", 5}, {"ff", -1}, {"0100", 256}, {"ff7f", -129}, {"7fffffffffffffff", math.MaxInt64}, {"8000000000000000", math.MinInt64}} {
		if v, ok := Int(unhex(t, c.hex)); !ok || v != c.want {
			t.Errorf("%s: %d %v", c.hex, v, ok)
		}
	}
}

// typicalRecord is the ~300-byte, 10-bin record of the performance budget.
func typicalRecord() *Record {
	var d Digester
	list := AppendCDTList(nil, 3)
	list = AppendCDTInt(list, 1)
	list = AppendCDTString(list, "two")
	list = AppendCDTFloat(list, 3.5)
	mp := AppendCDTMap(nil, 2)
	mp = AppendCDTString(mp, "city")
	mp = AppendCDTString(mp, "Lisbon")
	mp = AppendCDTString(mp, "zip")
	mp = AppendCDTInt(mp, 1100)
	r := &Record{
		Kind: KindWrite, Generation: 12, TTL: 86400,
		Namespace: "test", Set: "users", KeyType: ParticleString, Key: []byte("user-000042"),
		LUT: MakeLUT(1, 1734388704784),
		Bins: []BinSpec{
			{Name: "id", Type: ParticleInteger, Value: IntValue(42)},
			{Name: "name", Type: ParticleString, Value: []byte("Ada Lovelace")},
			{Name: "email", Type: ParticleString, Value: []byte("ada@example.com")},
			{Name: "age", Type: ParticleInteger, Value: IntValue(36)},
			{Name: "score", Type: ParticleFloat, Value: FloatValue(98.25)},
			{Name: "active", Type: ParticleBool, Value: BoolValue(true)},
			{Name: "avatar", Type: ParticleBlob, Value: bytes.Repeat([]byte{0xab}, 32)},
			{Name: "tags", Type: ParticleList, Value: list},
			{Name: "address", Type: ParticleMap, Value: mp},
			{Name: "bio", Type: ParticleString, Value: []byte("First programmer; wrote the notes on the Analytical Engine.")},
		},
	}
	r.SetDigest(&d)
	return r
}

func TestBuildRoundTripEveryParticle(t *testing.T) {
	geo := GeoJSONValue(`{"type":"Point","coordinates":[1,2]}`, 0x1234, 0x5678)
	r := &Record{
		Kind: KindWrite, Partial: true, Generation: 3, TTL: TTLNever,
		Namespace: "test", KeyType: ParticleBlob, Key: []byte{0, 1, 2}, LUT: MakeLUT(2, 1734388704784),
		Bins: []BinSpec{
			{Name: "null", Type: ParticleNull},
			{Name: "i", Type: ParticleInteger, Value: IntValue(-7)},
			{Name: "f", Type: ParticleFloat, Value: FloatValue(math.Inf(-1))},
			{Name: "s", Type: ParticleString, Value: []byte("héllo")},
			{Name: "b", Type: ParticleBlob, Value: []byte{9, 8}},
			{Name: "java", Type: ParticleJava, Value: []byte{1}},
			{Name: "vec", Type: ParticleVector, Value: []byte{1, 2, 3, 4}},
			{Name: "t", Type: ParticleBool, Value: BoolValue(true)},
			{Name: "hll", Type: ParticleHLL, Value: []byte{0, 1}},
			{Name: "geo", Type: ParticleGeoJSON, Value: geo},
			{Name: "x99", Type: 99, Value: []byte{7}},
			{Name: "lut", Type: ParticleInteger, Value: IntValue(1), HasLUT: true, LUT: 77},
		},
	}
	var d Digester
	r.SetDigest(&d)
	f := AppendFrame(nil, r)
	m := decodeFrame(t, f)
	if !m.Partial || m.MetadataOnly || m.HasSet || m.Key.Type != ParticleBlob || !bytes.Equal(m.Key.Bytes, []byte{0, 1, 2}) {
		t.Fatalf("got %+v", m)
	}
	if !d.Verify(m) {
		t.Error("digest does not verify")
	}
	if len(m.Bins) != len(r.Bins) {
		t.Fatalf("%d bins", len(m.Bins))
	}
	for i, b := range m.Bins {
		w := r.Bins[i]
		if string(b.Name) != w.Name || b.Type != w.Type || !bytes.Equal(b.Value, w.Value) || b.HasLUT != w.HasLUT || b.LUT != w.LUT {
			t.Errorf("bin %d: %+v, want %+v", i, b, w)
		}
	}
	if txt, err := GeoJSONText(m.Bins[9].Value); err != nil || string(txt) != `{"type":"Point","coordinates":[1,2]}` {
		t.Errorf("geojson %q %v", txt, err)
	}
	if _, err := GeoJSONText([]byte{0, 0, 2, 1}); err == nil {
		t.Error("GeoJSON with missing cells accepted")
	}
}

func TestCompressedFrame(t *testing.T) {
	plain := readHexFrame(t, "write-3bins-key10.hex")
	z := AppendCompressed(nil, plain, zlib.BestCompression)
	frame, typ, err := Split(append(z, 0xee), DefaultMaxBody)
	if err != nil || typ != TypeCompressed || len(frame) != len(z) {
		t.Fatalf("split: %d %d %v", len(frame), typ, err)
	}
	var inf Inflater
	out := pool.Get(0)
	defer pool.Put(out)
	for i := 0; i < 3; i++ { // reuse of the zlib state
		inner, err := inf.Inflate(frame, DefaultMaxBody, out)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(inner, plain) {
			t.Fatalf("inflated %x", inner)
		}
	}

	bad := func(name string, f []byte, max int, want string) {
		t.Helper()
		_, err := inf.Inflate(f, max, out)
		var de *DecodeError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
	// Stated size larger / smaller than the stream.
	lie := append([]byte(nil), z...)
	binary.BigEndian.PutUint64(lie[8:], uint64(len(plain)+1))
	bad("short stream", lie, DefaultMaxBody, "fewer bytes")
	binary.BigEndian.PutUint64(lie[8:], uint64(len(plain)-1))
	bad("long stream", lie, DefaultMaxBody, "more bytes")
	bad("over the limit", z, len(plain)-HeaderSize-1, "over the limit")
	corrupt := append([]byte(nil), z...)
	corrupt[len(corrupt)-1] ^= 0xff // adler32
	bad("checksum", corrupt, DefaultMaxBody, "checksum mismatch")
	bad("no size", z[:12], DefaultMaxBody, "original size")
	// An inner frame that is not type 3.
	inner := append([]byte(nil), plain...)
	inner[1] = TypeCompressed
	bad("inner type", AppendCompressed(nil, inner, 1), DefaultMaxBody, "inner frame of type 4")
	// A zip bomb: 64 MiB of zeros stating its true size is refused before inflating.
	var zb bytes.Buffer
	zw := zlib.NewWriter(&zb)
	zw.Write(make([]byte, 64<<20))
	zw.Close()
	bomb := AppendHeader(nil, TypeCompressed, 8+zb.Len())
	bomb = binary.BigEndian.AppendUint64(bomb, 64<<20)
	bomb = append(bomb, zb.Bytes()...)
	bad("bomb", bomb, DefaultMaxBody, "over the limit")
	// The same bomb lying about its size stops at the stated size.
	binary.BigEndian.PutUint64(bomb[8:], 100)
	bad("lying bomb", bomb, DefaultMaxBody, "more bytes")
}

func TestSplitStreaming(t *testing.T) {
	w := readHexFrame(t, "write-3bins-key10.hex")
	d := readHexFrame(t, "delete-key10.hex")
	stream := append(append([]byte(nil), w...), d...)
	for cut := 0; cut <= len(stream); cut++ {
		f, _, err := Split(stream[:cut], DefaultMaxBody)
		if err != nil {
			t.Fatal(err)
		}
		if (cut < len(w)) != (f == nil) {
			t.Fatalf("cut %d: frame %d bytes", cut, len(f))
		}
	}
	f, _, _ := Split(stream, DefaultMaxBody)
	g, _, _ := Split(stream[len(f):], DefaultMaxBody)
	if !bytes.Equal(f, w) || !bytes.Equal(g, d) || &f[0] != &stream[0] {
		t.Fatal("frames differ or were copied")
	}
}

func TestFrameErrors(t *testing.T) {
	for _, c := range []struct{ name, hex, want string }{
		{"version", "01 03 000000000016", "version 1"},
		{"type 2", "02 02 000000000016", "frame type 2"},
		{"type 9", "02 09 000000000000", "frame type 9"},
		{"oversized", "02 03 000001000001", "exceeds the limit"},
		{"max uint48", "02 04 ffffffffffff", "exceeds the limit"},
	} {
		_, _, err := Split(unhex(t, c.hex), DefaultMaxBody)
		var fe *FrameError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	if typ, n, err := ParseHeader(unhex(t, "02 01 000000000005"), 10); err != nil || typ != TypeInfo || n != 5 {
		t.Errorf("info header: %d %d %v", typ, n, err)
	}
}

func TestDecodeErrors(t *testing.T) {
	good := readHexFrame(t, "write-3bins-key10.hex")[HeaderSize:]
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	for _, c := range []struct {
		name string
		body []byte
		want string
	}{
		{"short", good[:10], "shorter than its 22-byte header"},
		{"header_sz", mut(func(b []byte) []byte { b[0] = 20; return b }), "header_sz 20"},
		{"no write/delete", mut(func(b []byte) []byte { b[2] = 0x10; return b }), "neither WRITE nor DELETE"},
		{"trailing", mut(func(b []byte) []byte { return append(b, 0) }), "1 trailing bytes"},
		{"truncated", good[:len(good)-1], "runs past the message"},
		{"too many ops", mut(func(b []byte) []byte { b[20], b[21] = 0xff, 0xff; return b }), "counts run past"},
		{"field size 0", mut(func(b []byte) []byte { copy(b[22:], []byte{0, 0, 0, 0}); return b }), "field size 0"},
		{"field past end", mut(func(b []byte) []byte { copy(b[22:], []byte{0x7f, 0, 0, 0}); return b }), "runs past the message"},
		{"bad digest", mut(func(b []byte) []byte { b[31] = 0x14; return b }), ""},
		{"op not write", mut(func(b []byte) []byte { b[len(good)-24+4] = 1; return b }), "XDR sends only WRITE"},
		{"no namespace", mut(func(b []byte) []byte { b[22+4] = 77; return b }), "no namespace"},
	} {
		var m Message
		err := m.Decode(c.body)
		var de *DecodeError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want a DecodeError with %q", c.name, err, c.want)
		}
	}
}

func TestReply(t *testing.T) {
	b := AppendReply(nil, RCOK)
	b = AppendReply(b, RCRetry)
	want := unhex(t, `02 03 00 00 00 00 00 16 16 00 00 00 00 00 `+strings.Repeat("00 ", 16)+
		`02 03 00 00 00 00 00 16 16 00 00 00 00 0b `+strings.Repeat("00 ", 16))
	if !bytes.Equal(b, want) {
		t.Fatalf("replies %x", b)
	}
	if !Retried(11) || !Retried(80) || Retried(4) || !Done(2) || Done(11) {
		t.Fatal("rc classes")
	}
}

func TestZeroAllocs(t *testing.T) {
	frame := AppendFrame(nil, typicalRecord())
	var m Message
	if err := m.Decode(frame[HeaderSize:]); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(200, func() {
		if err := m.Decode(frame[HeaderSize:]); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Decode: %v allocs", n)
	}
	buf := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(200, func() {
		buf = AppendReply(buf[:0], RCOK)
		buf = AppendReply(buf, RCRetry)
	}); n != 0 {
		t.Errorf("AppendReply: %v allocs", n)
	}
	var r CDTReader
	if n := testing.AllocsPerRun(200, func() {
		if err := r.Validate(m.Bins[8].Value); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("CDT walk: %v allocs", n)
	}
	z := AppendCompressed(nil, frame, 6)
	var inf Inflater
	out := pool.Get(len(frame))
	defer pool.Put(out)
	inf.Inflate(z, DefaultMaxBody, out)
	if n := testing.AllocsPerRun(50, func() {
		if _, err := inf.Inflate(z, DefaultMaxBody, out); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Inflate: %v allocs", n)
	}
	var d Digester
	d.Verify(&m)
	if n := testing.AllocsPerRun(200, func() { d.Verify(&m) }); n != 0 {
		t.Errorf("Digest: %v allocs", n)
	}
}

// TestDecodeScalarSizes holds Decode's table check of the fixed-size
// particles (scalarLens) to checkScalar's rules: every size 0..9 of null,
// integer, float and bool, with and without a bin LUT, is accepted exactly
// when the rules allow it, and a rejected one is a DecodeError at the
// value's offset; other types take any size.
func TestDecodeScalarSizes(t *testing.T) {
	valid := map[uint8]func(n int) bool{
		ParticleNull:    func(n int) bool { return n == 0 },
		ParticleInteger: func(n int) bool { return n >= 1 && n <= 8 },
		ParticleFloat:   func(n int) bool { return n == 8 },
		ParticleBool:    func(n int) bool { return n == 1 },
		ParticleString:  func(int) bool { return true },
		ParticleBlob:    func(int) bool { return true },
	}
	for pt, ok := range valid {
		for n := 0; n <= 9; n++ {
			for _, hasLUT := range []bool{false, true} {
				val := bytes.Repeat([]byte{7}, n)
				r := &Record{Kind: KindWrite, Namespace: "test", KeyType: ParticleString, Key: []byte("k"),
					Bins: []BinSpec{{Name: "a", Type: ParticleString, Value: []byte("x")}, {Name: "bin", Type: pt, Value: val, HasLUT: hasLUT, LUT: 9}}}
				var d Digester
				r.SetDigest(&d)
				body := AppendFrame(nil, r)[HeaderSize:]
				var m Message
				err := m.Decode(body)
				if ok(n) {
					if err != nil || len(m.Bins) != 2 || !bytes.Equal(m.Bins[1].Value, val) || m.Bins[1].HasLUT != hasLUT || hasLUT && m.Bins[1].LUT != 9 {
						t.Errorf("type %d, %d bytes, LUT %v: %v, bins %+v", pt, n, hasLUT, err, m.Bins)
					}
					continue
				}
				var de *DecodeError
				if !errors.As(err, &de) || de.Offset != len(body)-n {
					t.Errorf("type %d, %d bytes, LUT %v: %v, want a DecodeError at offset %d", pt, n, hasLUT, err, len(body)-n)
				}
			}
		}
	}
}
