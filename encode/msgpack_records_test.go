package encode

// Test records for the binary encoders (message-pack and avro), described
// as a model from which the tests build both the XDR frame (with wire's
// appenders) and, independently of the encoders, the values each decoder
// must produce.

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/wire"
)

// tvKind is the kind of a model value.
type tvKind uint8

const (
	tvNil tvKind = iota
	tvBool
	tvInt
	tvUint // unsigned above MaxInt64 (lists and maps only)
	tvFloat
	tvFloat32 // lists and maps only
	tvStr
	tvBlob
	tvEmpty // a zero-length str payload in a list or map: empty bytes
	tvTyped // typed bytes in a list or map (sub = particle type)
	tvExt   // a MessagePack ext in a list or map (sub = ext type)
	tvList
	tvMap
)

// tv is one model value. items holds list elements, or map keys and values
// alternately.
type tv struct {
	k     tvKind
	b     bool
	i     int64
	u     uint64
	f     float64
	s     string
	sub   uint8
	flags uint8
	items []tv
}

func vNil() tv              { return tv{k: tvNil} }
func vBool(b bool) tv       { return tv{k: tvBool, b: b} }
func vInt(i int64) tv       { return tv{k: tvInt, i: i} }
func vUint(u uint64) tv     { return tv{k: tvUint, u: u} }
func vFloat(f float64) tv   { return tv{k: tvFloat, f: f} }
func vFloat32(f float32) tv { return tv{k: tvFloat32, f: float64(f)} }
func vStr(s string) tv      { return tv{k: tvStr, s: s} }
func vBlob(s string) tv     { return tv{k: tvBlob, s: s} }
func vEmpty() tv            { return tv{k: tvEmpty} }
func vTyped(pt uint8, s string) tv {
	return tv{k: tvTyped, sub: pt, s: s}
}
func vExt(typ uint8, s string) tv    { return tv{k: tvExt, sub: typ, s: s} }
func vList(flags uint8, it ...tv) tv { return tv{k: tvList, flags: flags, items: it} }
func vMap(flags uint8, kv ...tv) tv  { return tv{k: tvMap, flags: flags, items: kv} }

// cdt appends v in Aerospike's MessagePack conventions.
func (v tv) cdt(dst []byte) []byte {
	switch v.k {
	case tvNil:
		return wire.AppendCDTNil(dst)
	case tvBool:
		return wire.AppendCDTBool(dst, v.b)
	case tvInt:
		return wire.AppendCDTInt(dst, v.i)
	case tvUint:
		return wire.AppendCDTUint(dst, v.u)
	case tvFloat:
		return wire.AppendCDTFloat(dst, v.f)
	case tvFloat32:
		dst = append(dst, 0xca)
		return binary.BigEndian.AppendUint32(dst, math.Float32bits(float32(v.f)))
	case tvStr:
		return wire.AppendCDTString(dst, v.s)
	case tvBlob:
		return wire.AppendCDTBlob(dst, []byte(v.s))
	case tvEmpty:
		return append(dst, 0xa0)
	case tvTyped:
		return wire.AppendCDTTyped(dst, v.sub, []byte(v.s))
	case tvExt:
		dst = append(dst, 0xc7, byte(len(v.s)), v.sub)
		return append(dst, v.s...)
	case tvList:
		n := len(v.items)
		if v.flags != 0 {
			dst = wire.AppendCDTList(dst, n+1)
			dst = wire.AppendCDTListOrder(dst, v.flags)
		} else {
			dst = wire.AppendCDTList(dst, n)
		}
		for _, it := range v.items {
			dst = it.cdt(dst)
		}
		return dst
	case tvMap:
		n := len(v.items) / 2
		if v.flags != 0 {
			dst = wire.AppendCDTMap(dst, n+1)
			dst = wire.AppendCDTMapOrder(dst, v.flags)
		} else {
			dst = wire.AppendCDTMap(dst, n)
		}
		for _, it := range v.items {
			dst = it.cdt(dst)
		}
		return dst
	}
	panic("tv kind")
}

// tbin is a model bin: a particle type and its value (val for scalars,
// lists and maps; raw for blobs and typed bytes; geo for GeoJSON).
type tbin struct {
	name  string
	pt    uint8
	val   tv
	raw   string
	geo   string
	cells []uint64
	lut   bool // carries a bin LUT
}

func (b tbin) spec() wire.BinSpec {
	s := wire.BinSpec{Name: b.name, Type: b.pt, HasLUT: b.lut, LUT: 0x0100_0000_1234}
	switch b.pt {
	case wire.ParticleNull:
	case wire.ParticleInteger:
		s.Value = wire.IntValue(b.val.i)
	case wire.ParticleFloat:
		s.Value = wire.FloatValue(b.val.f)
	case wire.ParticleString:
		s.Value = []byte(b.val.s)
	case wire.ParticleBool:
		s.Value = wire.BoolValue(b.val.b)
	case wire.ParticleGeoJSON:
		if b.raw != "" {
			s.Value = []byte(b.raw) // malformed
		} else {
			s.Value = wire.GeoJSONValue(b.geo, b.cells...)
		}
	case wire.ParticleList, wire.ParticleMap:
		s.Value = b.val.cdt(nil)
	default:
		s.Value = []byte(b.raw)
	}
	return s
}

func binInt(name string, i int64) tbin {
	return tbin{name: name, pt: wire.ParticleInteger, val: vInt(i)}
}
func binFloat(name string, f float64) tbin {
	return tbin{name: name, pt: wire.ParticleFloat, val: vFloat(f)}
}
func binStr(name, s string) tbin       { return tbin{name: name, pt: wire.ParticleString, val: vStr(s)} }
func binBool(name string, b bool) tbin { return tbin{name: name, pt: wire.ParticleBool, val: vBool(b)} }
func binRaw(name string, pt uint8, s string) tbin {
	return tbin{name: name, pt: pt, raw: s}
}
func binGeo(name, text string, cells ...uint64) tbin {
	return tbin{name: name, pt: wire.ParticleGeoJSON, geo: text, cells: cells}
}
func binList(name string, v tv) tbin { return tbin{name: name, pt: wire.ParticleList, val: v} }
func binMap(name string, v tv) tbin  { return tbin{name: name, pt: wire.ParticleMap, val: v} }
func binDeleted(name string) tbin    { return tbin{name: name, pt: wire.ParticleNull} }

// trec is a model record.
type trec struct {
	name    string
	kind    wire.Kind
	durable bool
	partial bool
	gen     uint32
	ttl     uint32
	ns, set string
	keyType uint8
	keyInt  int64
	keyF    float64
	keyRaw  string
	noLUT   bool
	lutMs   int64
	bins    []tbin
}

const testNow = 1_700_000_000 // receipt time, Unix s

func (r *trec) digest() [20]byte {
	var d [20]byte
	for i := range d {
		d[i] = byte(i*7 + len(r.name))
	}
	return d
}

func (r *trec) record() *wire.Record {
	w := &wire.Record{
		Kind: r.kind, Durable: r.durable, Partial: r.partial,
		Generation: r.gen, TTL: r.ttl,
		Namespace: r.ns, Set: r.set, KeyType: r.keyType,
		Digest: r.digest(), NoLUT: r.noLUT, LUT: wire.MakeLUT(3, r.lutMs),
	}
	switch r.keyType {
	case wire.ParticleInteger:
		w.Key = wire.IntKey(r.keyInt)
	case wire.ParticleFloat:
		w.Key = wire.FloatKey(r.keyF)
	default:
		w.Key = []byte(r.keyRaw)
	}
	for _, b := range r.bins {
		w.Bins = append(w.Bins, b.spec())
	}
	return w
}

// message builds the frame and decodes it as the dataplane does.
func (r *trec) message(t testing.TB) *wire.Message {
	t.Helper()
	return decodeTestFrame(t, wire.AppendFrame(nil, r.record()))
}

func decodeTestFrame(t testing.TB, f []byte) *wire.Message {
	t.Helper()
	frame, typ, err := wire.Split(f, wire.DefaultMaxBody)
	if err != nil || typ != wire.TypeMsg || len(frame) != len(f) {
		t.Fatalf("split: %d of %d bytes, type %d, %v", len(frame), len(f), typ, err)
	}
	m := new(wire.Message)
	if err := m.Decode(frame[wire.HeaderSize:]); err != nil {
		t.Fatal(err)
	}
	return m
}

func readHexFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func capturedMessage(t testing.TB, name string) *wire.Message {
	t.Helper()
	return decodeTestFrame(t, readHexFile(t, "../testdata/xdr-frames/"+name))
}

func (r *trec) expiry() int64 {
	if r.kind != wire.KindWrite || r.ttl == 0 || r.ttl == wire.TTLNever {
		return 0
	}
	return testNow + int64(r.ttl)
}

func (r *trec) lut() int64 {
	if r.noLUT {
		return 0
	}
	return r.lutMs
}

// testRecords covers every particle type and the metadata variants.
func testRecords() []trec {
	const lut = 1734388704784
	typical := trec{name: "typical", kind: wire.KindWrite, gen: 7, ttl: 3600, ns: "test", set: "users",
		keyType: wire.ParticleString, keyRaw: "user-42", lutMs: lut, bins: typicalBins()}
	every := trec{name: "every-type", kind: wire.KindWrite, gen: 65535, ttl: wire.TTLNever, ns: "ns", set: "s",
		keyType: wire.ParticleInteger, keyInt: math.MinInt64, lutMs: lut, bins: []tbin{
			binInt("i0", 0), binInt("imax", math.MaxInt64), binInt("imin", math.MinInt64), binInt("ineg", -33),
			binFloat("f", 2.5), binFloat("nan", math.NaN()), binFloat("inf", math.Inf(1)), binFloat("ninf", math.Inf(-1)),
			binFloat("negz", math.Copysign(0, -1)), binFloat("tiny", 5e-324),
			binStr("s", "héllo \"x\""), binStr("empty", ""), binStr("bad-utf8", "a\xffb"),
			binRaw("blob", wire.ParticleBlob, "\x00\x01\xfe\xff"), binRaw("emptyblob", wire.ParticleBlob, ""),
			binRaw("java", wire.ParticleJava, "\xac\xed\x00\x05"), binRaw("csharp", wire.ParticleCSharp, "cs"),
			binRaw("python", wire.ParticlePython, "py"), binRaw("ruby", wire.ParticleRuby, "rb"),
			binRaw("php", wire.ParticlePHP, "php"), binRaw("erlang", wire.ParticleErlang, "erl"),
			binRaw("vector", wire.ParticleVector, "\x00\x00\x80\x3f"), binRaw("hll", wire.ParticleHLL, "\x01\x02\x03"),
			binRaw("unknown", 99, "??"),
			binBool("t", true), binBool("fl", false),
			binGeo("geo", `{"type":"Point","coordinates":[1,2]}`, 0x1234, 0x5678),
			binRaw("badgeo", wire.ParticleGeoJSON, "\x00\x00\x09"),
			binList("list", vList(0, vInt(1), vStr("a"), vFloat(2.5), vBool(true), vNil())),
			binList("olist", vList(1, vInt(1), vInt(2), vInt(3))),
			binList("emptylist", vList(0)),
			binMap("map", vMap(0, vStr("a"), vInt(1), vStr("b"), vInt(2))),
			binMap("kmap", vMap(1, vStr("a"), vInt(1))),
			binMap("kvmap", vMap(3, vInt(1), vStr("x"), vInt(-2), vStr("y"))),
			binMap("emptymap", vMap(0)),
			binList("scalars", vList(0,
				vInt(math.MinInt64), vInt(math.MaxInt64), vUint(math.MaxUint64), vUint(1<<63),
				vFloat(math.NaN()), vFloat(math.Inf(1)), vFloat(math.Inf(-1)), vFloat(math.Copysign(0, -1)),
				vFloat32(1.5), vFloat32(float32(math.Inf(-1))),
				vStr(""), vStr("ünï"), vBlob("\x00\xff"), vEmpty(),
				vTyped(wire.ParticleGeoJSON, `{"type":"Point","coordinates":[3,4]}`),
				vTyped(wire.ParticleJava, "jv"), vTyped(wire.ParticleHLL, "hll!"), vTyped(200, "x"),
				vExt(5, "ext"), vExt(0xff, "neg"))),
			binMap("intkeys", vMap(0, vInt(1), vStr("one"), vInt(-1), vStr("minus one"), vInt(math.MaxInt64), vNil(),
				vBlob("bk"), vInt(3), vFloat(1.5), vBool(false))),
			binList("nested", vList(1,
				vMap(3, vStr("k"), vList(1, vInt(1), vList(0, vMap(1, vInt(9), vList(0)))), vStr("m"), vMap(0)),
				vList(0, vList(1), vList(0, vList(0, vList(1, vStr("deep"))))))),
			binMap("mapkeys", vMap(0, vList(0, vInt(1)), vStr("listkey"), vTyped(wire.ParticleJava, "j"), vInt(2))),
		}}
	every.bins[0].lut = true
	return []trec{
		typical,
		every,
		{name: "no-set-no-key", kind: wire.KindWrite, gen: 1, ttl: 100, ns: "bar", lutMs: lut,
			bins: []tbin{binInt("a", 1)}},
		{name: "float-key", kind: wire.KindWrite, gen: 300, ns: "bar", set: "fs", keyType: wire.ParticleFloat, keyF: -0.5,
			lutMs: lut, bins: []tbin{binStr("a", "x")}},
		{name: "blob-key", kind: wire.KindWrite, gen: 2, ttl: wire.TTLNever, ns: "bar", set: "bs", keyType: wire.ParticleBlob,
			keyRaw: "\x01\x02", lutMs: lut, bins: []tbin{binBool("b", true)}},
		{name: "metadata-only", kind: wire.KindWrite, gen: 3, ttl: 50, ns: "test", set: "myset",
			keyType: wire.ParticleInteger, keyInt: 10, lutMs: lut},
		{name: "partial-deleted-bin", kind: wire.KindWrite, partial: true, gen: 4, ttl: 1000, ns: "test", set: "myset",
			keyType: wire.ParticleInteger, keyInt: 10, lutMs: lut, bins: []tbin{binStr("name", "x"), binDeleted("gone")}},
		{name: "no-lut", kind: wire.KindWrite, gen: 1, ns: "test", noLUT: true, bins: []tbin{binInt("a", 1)}},
		{name: "delete", kind: wire.KindDelete, gen: 9, ns: "test", set: "myset", keyType: wire.ParticleInteger,
			keyInt: 10, lutMs: lut},
		{name: "durable-delete", kind: wire.KindDelete, durable: true, gen: 200, ns: "test", lutMs: lut},
		{name: "durable-delete-key", kind: wire.KindDelete, durable: true, gen: 1, ns: "test", set: "s",
			keyType: wire.ParticleString, keyRaw: "k", lutMs: lut},
	}
}

// typicalBins is the typical record of the budget: 10 bins, ~300 bytes.
func typicalBins() []tbin {
	return []tbin{
		binInt("id", 1234567),
		binStr("name", "Colton Aerospike"),
		binStr("email", "colton@example.com"),
		binInt("age", 27),
		binFloat("score", 98.25),
		binBool("active", true),
		binRaw("avatar", wire.ParticleBlob, "\x89PNG\r\n\x1a\n0123456789abcdef0123456789"),
		binInt("visits", 1<<40),
		binList("tags", vList(0, vStr("alpha"), vStr("beta"), vStr("gamma"), vInt(3))),
		binMap("prefs", vMap(0, vStr("theme"), vStr("dark"), vStr("lang"), vStr("en"), vStr("size"), vInt(12))),
	}
}

func typicalMessage(t testing.TB) *wire.Message {
	recs := testRecords()
	return recs[0].message(t)
}

// modelEqual compares decoded values with the model: floats by their bits
// (-0 differs from 0; NaN equals NaN, whatever its payload), byte slices by content (nil equals
// empty), big.Rat by value, times by instant.
func modelEqual(path string, got, want any) error {
	switch w := want.(type) {
	case nil:
		if got != nil {
			return fmt.Errorf("%s: got %#v, want nil", path, got)
		}
		return nil
	case float64:
		g, ok := got.(float64)
		if !ok || math.Float64bits(g) != math.Float64bits(w) && !(math.IsNaN(g) && math.IsNaN(w)) {
			return fmt.Errorf("%s: got %#v, want float64 %v", path, got, w)
		}
		return nil
	case float32:
		g, ok := got.(float32)
		if !ok || math.Float32bits(g) != math.Float32bits(w) && !(g != g && w != w) {
			return fmt.Errorf("%s: got %#v, want float32 %v", path, got, w)
		}
		return nil
	case []byte:
		g, ok := got.([]byte)
		if !ok || !bytes.Equal(g, w) {
			return fmt.Errorf("%s: got %#v, want bytes %x", path, got, w)
		}
		return nil
	case *big.Rat:
		g, ok := got.(*big.Rat)
		if !ok || g.Cmp(w) != 0 {
			return fmt.Errorf("%s: got %#v, want %v", path, got, w)
		}
		return nil
	case time.Time:
		g, ok := got.(time.Time)
		if !ok || !g.Equal(w) {
			return fmt.Errorf("%s: got %#v, want %v", path, got, w)
		}
		return nil
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("%s: got %#v, want %d elements %#v", path, got, len(w), w)
		}
		for i := range w {
			if err := modelEqual(fmt.Sprintf("%s[%d]", path, i), g[i], w[i]); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("%s: got %#v, want %#v", path, got, w)
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				return fmt.Errorf("%s: no key %q in %#v", path, k, g)
			}
			if err := modelEqual(path+"."+k, gv, wv); err != nil {
				return err
			}
		}
		return nil
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("%s: got %#v (%T), want %#v (%T)", path, got, got, want, want)
	}
	return nil
}
