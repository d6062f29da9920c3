package encode

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tinylib/msgp/msgp"
	"github.com/xdrhook/xdrhook/wire"
)

// The transcoders of msgpack_cdt.go and avro.go replace a walk with
// wire.CDTReader for speed. These tests hold them to that walk: the
// references below are the straightforward token-by-token encoders, and
// every value (well formed or not) must give the same result both ways.

// refMPCDT is the reference message-pack encoding of a list or map bin:
// wire.CDTReader tokens, each written with msgp's appenders.
func refMPCDT(dst []byte, pt uint8, v []byte) ([]byte, error) {
	var r wire.CDTReader
	var t wire.CDTToken
	r.Reset(v)
	if err := r.Next(&t); err != nil {
		return dst, err
	}
	var flags uint8
	switch {
	case t.Kind == wire.CDTList && pt == wire.ParticleList:
		flags = t.Flags & 1
	case t.Kind == wire.CDTMap && pt == wire.ParticleMap:
		flags = t.Flags & 3
	}
	dst = append(dst, flags)
	for {
		switch t.Kind {
		case wire.CDTNil:
			dst = msgp.AppendNil(dst)
		case wire.CDTBool:
			dst = msgp.AppendBool(dst, t.Bool)
		case wire.CDTInt:
			dst = msgp.AppendInt64(dst, t.Int)
		case wire.CDTUint:
			dst = msgp.AppendUint64(dst, t.Uint)
		case wire.CDTFloat:
			if t.Float32 {
				dst = msgp.AppendFloat32(dst, float32(t.Float))
			} else {
				dst = msgp.AppendFloat64(dst, t.Float)
			}
		case wire.CDTString:
			dst = msgp.AppendStringFromBytes(dst, t.Bytes)
		case wire.CDTBytes:
			dst = msgp.AppendBytes(dst, t.Bytes)
		case wire.CDTTyped, wire.CDTExt:
			dst, _ = msgp.AppendExtension(dst, &msgp.RawExtension{Type: int8(t.Sub), Data: t.Bytes})
		case wire.CDTList:
			dst = msgp.AppendArrayHeader(dst, uint32(t.N))
		case wire.CDTMap:
			dst = msgp.AppendMapHeader(dst, uint32(t.N))
		}
		err := r.Next(&t)
		if err == wire.ErrCDTEnd {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}

// refAvroCDT is the reference avro encoding of a list or map value as
// Value unions: wire.CDTReader tokens, one by one.
func refAvroCDT(dst, v []byte) ([]byte, error) {
	var r wire.CDTReader
	var t wire.CDTToken
	r.Reset(v)
	for {
		err := r.Next(&t)
		if err == wire.ErrCDTEnd {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
		switch t.Kind {
		case wire.CDTNil:
			dst = appendAvroLong(dst, avValNull)
		case wire.CDTBool:
			dst = appendAvroBool(appendAvroLong(dst, avValBoolean), t.Bool)
		case wire.CDTInt:
			dst = appendAvroLong(appendAvroLong(dst, avValLong), t.Int)
		case wire.CDTUint:
			dst = append(appendAvroLong(dst, avValUInt64), 0)
			dst = binary.BigEndian.AppendUint64(dst, t.Uint)
		case wire.CDTFloat:
			dst = appendAvroDouble(appendAvroLong(dst, avValDouble), t.Float)
		case wire.CDTString:
			dst = appendAvroBytes(appendAvroLong(dst, avValString), t.Bytes)
		case wire.CDTBytes:
			dst = appendAvroBytes(appendAvroLong(dst, avValBytes), t.Bytes)
		case wire.CDTTyped:
			if t.Sub == wire.ParticleGeoJSON {
				dst = appendAvroBytes(appendAvroLong(dst, avValGeoJSON), t.Bytes)
			} else {
				dst = appendAvroLong(appendAvroLong(dst, avValTyped), int64(t.Sub))
				dst = appendAvroBytes(dst, t.Bytes)
			}
		case wire.CDTExt:
			dst = appendAvroLong(appendAvroLong(dst, avValExt), int64(int8(t.Sub)))
			dst = appendAvroBytes(dst, t.Bytes)
		case wire.CDTList:
			dst = appendAvroBool(appendAvroLong(dst, avValList), t.Flags&1 != 0)
			if t.N > 0 {
				dst = appendAvroLong(dst, int64(t.N))
			}
		case wire.CDTMap:
			dst = appendAvroLong(appendAvroLong(dst, avValMap), int64(t.Flags&3))
			if t.N > 0 {
				dst = appendAvroLong(dst, int64(t.N))
			}
		case wire.CDTEnd:
			dst = append(dst, 0)
		}
	}
}

// cdtSamples are list and map values, well formed and not.
func cdtSamples() [][]byte {
	var out [][]byte
	for _, r := range testRecords() {
		for _, b := range r.bins {
			if b.pt == wire.ParticleList || b.pt == wire.ParticleMap {
				out = append(out, b.val.cdt(nil))
			}
		}
	}
	long := make([]tv, 40)
	for i := range long {
		long[i] = vStr(fmt.Sprintf("element %d with a longer text to pass 31 bytes", i))
	}
	out = append(out,
		vList(0, long...).cdt(nil),
		vMap(0, vStr("k"), vList(0, long...)).cdt(nil),
		vList(0, vInt(200), vInt(-200), vInt(70000), vInt(-70000), vInt(1<<40), vInt(-1<<40), vInt(math.MaxInt64)).cdt(nil),
		vList(0, vStr(string(make([]byte, 300))), vBlob(string(make([]byte, 70000)))).cdt(nil),
		[]byte{0x92, 0xcc, 0xc8, 0xd0, 0x80}, // uint8, int8 forms
		[]byte{0x82, 0xa2, 0x03, 0x61, 0xcb, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18, 0xcd, 0x01, 0x00, 0xce, 0, 1, 0, 0},                   // map: float64 value, uint16 key, uint32 value
		[]byte{0x94, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xd1, 0x80, 0x00, 0xd2, 0x80, 0, 0, 0, 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0}, // uint64 max, int16/32/64 min
		[]byte{0x93, 0xca, 0x7f, 0xc0, 0, 0, 0xc2, 0xc3},             // float32 NaN, bools
		[]byte{0x91, 0xc4, 0x02, 0x03, 0x61},                         // bin header holding a string
		[]byte{0x92, 0xd4, 0x01, 0x02, 0x03},                         // fixext1 as order flags, then an int
		[]byte{0x92, 0x03, 0xd4, 0x01, 0x02},                         // fixext1 in second position
		[]byte{0x82, 0xc7, 0x00, 0x01, 0xc0, 0xa2, 0x03, 0x61, 0x01}, // map flags pair
		[]byte{0x91, 0x91, 0x91, 0x90},                               // nested empties
		[]byte{0x90},
		[]byte{0x80},
		[]byte{0x05}, // a scalar, not a container
		[]byte{0xa2, 0x03, 0x61},
	)
	// Malformed.
	deep := bytes.Repeat([]byte{0x91}, wire.MaxCDTDepth)
	deeper := bytes.Repeat([]byte{0x91}, wire.MaxCDTDepth+1)
	out = append(out,
		append(deep, 0x01), append(deeper, 0x01),
		[]byte{}, []byte{0x93, 0x01}, []byte{0x81, 0xa2, 0x03}, []byte{0x91, 0xc1}, []byte{0x91, 0x01, 0x02},
		[]byte{0x9f}, []byte{0xdc, 0x00}, []byte{0xdd, 0xff, 0xff, 0xff, 0xff, 0x01}, []byte{0xdf, 0, 0, 0, 1},
		[]byte{0x91, 0xa5, 0x03}, []byte{0x91, 0xd9}, []byte{0x91, 0xd9, 0x05, 0x03}, []byte{0x91, 0xc6, 0, 0, 1},
		[]byte{0x91, 0xcb, 0, 0}, []byte{0x91, 0xca}, []byte{0x91, 0xcf, 1}, []byte{0x91, 0xd3}, []byte{0x91, 0xcd, 1},
		[]byte{0x91, 0xc7, 0x05, 0x01}, []byte{0x91, 0xc7}, []byte{0x91, 0xd8, 0x01}, []byte{0x92, 0xc7, 0x00}, []byte{0x91, 0xc8, 0},
		[]byte{0x82, 0xc7, 0x00, 0x01, 0x91, 0x01, 0x01, 0x02}, // flags paired with a container
		[]byte{0x81, 0xc7, 0x00, 0x01},                         // flags pair missing its value
		[]byte{0x92, 0xc7, 0x00, 0x01},                         // list: flags then nothing
		[]byte{0x90, 0x00},                                     // trailing
		[]byte{0x01, 0x02},                                     // trailing after a scalar
	)
	return out
}

// compareCDT checks one value through every walk.
func compareCDT(t *testing.T, v []byte) {
	t.Helper()
	// message-pack: the same value, decoded; into a full dst (append grows
	// it) and into one with room (the in-place fast paths).
	// The two must agree byte for byte and error for error.
	roomy := append(make([]byte, 0, 64+3*len(v)), 'x')
	for _, pt := range []uint8{wire.ParticleList, wire.ParticleMap} {
		var w cdtWalk
		got, errGot := appendMPCDT([]byte("x"), &w, pt, v)
		got2, errGot2 := appendMPCDT(roomy, &w, pt, v)
		if fmt.Sprint(errGot) != fmt.Sprint(errGot2) || errGot == nil && !bytes.Equal(got, got2) {
			t.Fatalf("%x: a full dst gives %x, %v; a roomy one %x, %v", v, got, errGot, got2, errGot2)
		}
		want, errWant := refMPCDT([]byte("x"), pt, v)
		if (errGot == nil) != (errWant == nil) {
			t.Fatalf("%x: msgpack: transcoder %v, reference %v", v, errGot, errWant)
		}
		if errGot != nil {
			if _, ok := errGot.(*wire.CDTError); !ok {
				t.Fatalf("%x: %T %v", v, errGot, errGot)
			}
			continue
		}
		if got[1] != want[1] {
			t.Fatalf("%x: flags %d, reference %d", v, got[1], want[1])
		}
		g, rest, err := mpDecode(got[2:])
		if err != nil || len(rest) != 0 {
			t.Fatalf("%x: transcoded %x does not decode: %v", v, got, err)
		}
		w2, _, _ := mpDecode(want[2:])
		if err := mpEqual("value", g, w2); err != nil {
			t.Fatalf("%x: %v", v, err)
		}
	}
	// The fast entry of a fixarray or fixmap against the general path: the
	// same container with a 16-bit header gives the same bytes.
	if len(v) > 0 && v[0]&0xe0 == 0x80 {
		long := append([]byte{0xdc, 0, v[0] & 0x0f}, v[1:]...)
		if v[0] < 0x90 {
			long[0] = 0xde
		}
		for _, pt := range []uint8{wire.ParticleList, wire.ParticleMap} {
			var w cdtWalk
			a, errA := appendMPCDT(append(make([]byte, 0, 64+3*len(v)), 'x'), &w, pt, v)
			b, errB := appendMPCDT(append(make([]byte, 0, 64+3*len(v)), 'x'), &w, pt, long)
			if (errA == nil) != (errB == nil) || errA == nil && !bytes.Equal(a, b) {
				t.Fatalf("%x: fixed header %x, %v; 16-bit header %x, %v", v, a, errA, b, errB)
			}
		}
	}
	// avro: the same bytes.
	var w cdtWalk
	got, errGot := appendAvroCDT([]byte("x"), &w, v)
	want, errWant := refAvroCDT([]byte("x"), v)
	if (errGot == nil) != (errWant == nil) {
		t.Fatalf("%x: avro: transcoder %v, reference %v", v, errGot, errWant)
	}
	if errGot == nil && !bytes.Equal(got, want) {
		t.Fatalf("%x: avro\n got %x\nwant %x", v, got, want)
	}
}

func TestCDTTranscoders(t *testing.T) {
	for _, v := range cdtSamples() {
		compareCDT(t, v)
	}
}

// TestCDTTranscodersRandom mutates the samples: every prefix, and random
// byte changes.
func TestCDTTranscodersRandom(t *testing.T) {
	mutateSamples(t, cdtSamples(), 200, 5000, 1, func(v []byte) { compareCDT(t, v) })
}

// mutateSamples calls check with every prefix of the samples up to
// maxPrefix bytes long, then with n random samples (n/10 under -short),
// each with one to three bytes changed; seed picks the changes.
func mutateSamples(t *testing.T, samples [][]byte, maxPrefix, n int, seed uint64, check func([]byte)) {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	if testing.Short() {
		n /= 10
	}
	for _, v := range samples {
		if len(v) > maxPrefix {
			continue
		}
		for i := range v {
			check(v[:i])
		}
	}
	for range n {
		v := bytes.Clone(samples[rng.IntN(len(samples))])
		if len(v) == 0 || len(v) > 4096 {
			continue
		}
		for range 1 + rng.IntN(3) {
			v[rng.IntN(len(v))] = byte(rng.Uint32())
		}
		check(v)
	}
}

func FuzzCDTTranscoders(f *testing.F) {
	for _, v := range cdtSamples() {
		if len(v) < 1024 {
			f.Add(v)
		}
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		compareCDT(t, v)
	})
}
