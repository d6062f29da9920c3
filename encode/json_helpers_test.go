package encode

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tinylib/msgp/msgp"

	"github.com/xdrhook/xdrhook/wire"
)

// Test helpers of the JSON formats. Every identifier starts with jt so that
// the tests of the other encoders of this package can name theirs freely.

// jtNow is the time of receipt used by the tests (Unix seconds).
const jtNow = 1700000000

// jtFrame reads a captured frame of ../testdata/xdr-frames.
func jtFrame(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../testdata/xdr-frames/" + name)
	if err != nil {
		t.Fatal(err)
	}
	f, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// jtDecode splits and decodes one frame.
func jtDecode(t testing.TB, f []byte) *wire.Message {
	t.Helper()
	frame, typ, err := wire.Split(f, wire.DefaultMaxBody)
	if err != nil || typ != wire.TypeMsg || len(frame) != len(f) {
		t.Fatalf("Split: %d of %d bytes, type %d, %v", len(frame), len(f), typ, err)
	}
	m := new(wire.Message)
	if err := m.Decode(frame[wire.HeaderSize:]); err != nil {
		t.Fatal(err)
	}
	return m
}

func jtCaptured(t testing.TB, name string) *wire.Message { return jtDecode(t, jtFrame(t, name)) }

// jtMessage builds the frame of r as XDR would send it and decodes it.
func jtMessage(t testing.TB, r *wire.Record) *wire.Message {
	t.Helper()
	return jtDecode(t, wire.AppendFrame(nil, r))
}

// jtDigest is a fixed digest for hand-built records.
var jtDigest = [20]byte{0x5f, 0xe3, 0xb7, 0xc0, 0xf4, 0x66, 0x9a, 0x77, 0xc8, 0x45, 0x6c, 0x1b, 0xf4, 0xf1, 0xf6, 0x8c, 0x55, 0xac, 0x10, 0x02}

const jtDigestB64 = "X+O3wPRmmnfIRWwb9PH2jFWsEAI="

// jtLUT is 1734388704784 Unix ms from source 1.
var jtLUT = wire.MakeLUT(1, 1734388704784)

// jtRecord is a write to test/myset, user key 10, generation 1, never
// expiring, with the given bins.
func jtRecord(bins ...wire.BinSpec) *wire.Record {
	return &wire.Record{
		Kind: wire.KindWrite, Generation: 1, TTL: wire.TTLNever,
		Namespace: "test", Set: "myset", KeyType: wire.ParticleInteger, Key: wire.IntKey(10),
		Digest: jtDigest, LUT: jtLUT, Bins: bins,
	}
}

// jtTypicalRecord is the record of the allocation tests and benchmarks: ten
// bins of about 300 bytes of frame (ints, strings, a float, a bool, a blob,
// a small list and a small map).
func jtTypicalRecord() *wire.Record {
	var list, mp []byte
	list = wire.AppendCDTList(list, 3)
	list = wire.AppendCDTString(list, "red")
	list = wire.AppendCDTString(list, "green")
	list = wire.AppendCDTInt(list, 42)
	mp = wire.AppendCDTMap(mp, 3)
	mp = wire.AppendCDTMapOrder(mp, 1)
	mp = wire.AppendCDTString(mp, "lang")
	mp = wire.AppendCDTString(mp, "en")
	mp = wire.AppendCDTString(mp, "visits")
	mp = wire.AppendCDTInt(mp, 1234)
	return jtRecord(
		wire.BinSpec{Name: "id", Type: wire.ParticleInteger, Value: wire.IntValue(1234567890123)},
		wire.BinSpec{Name: "name", Type: wire.ParticleString, Value: []byte("Colton Smith")},
		wire.BinSpec{Name: "email", Type: wire.ParticleString, Value: []byte("colton.smith@example.com")},
		wire.BinSpec{Name: "age", Type: wire.ParticleInteger, Value: wire.IntValue(27)},
		wire.BinSpec{Name: "balance", Type: wire.ParticleFloat, Value: wire.FloatValue(1234.56)},
		wire.BinSpec{Name: "active", Type: wire.ParticleBool, Value: wire.BoolValue(true)},
		wire.BinSpec{Name: "avatar", Type: wire.ParticleBlob, Value: []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")},
		wire.BinSpec{Name: "city", Type: wire.ParticleString, Value: []byte("Mountain View")},
		wire.BinSpec{Name: "tags", Type: wire.ParticleList, Value: list},
		wire.BinSpec{Name: "prefs", Type: wire.ParticleMap, Value: mp},
	)
}

// jtCheckJSON checks that b is valid UTF-8, one valid JSON text per line
// when lines is set (else one JSON text), and that no object holds a name
// twice. encoding/json accepts duplicate names silently, so the walk over
// tokens is ours.
func jtCheckJSON(t testing.TB, b []byte) {
	t.Helper()
	if !utf8.Valid(b) {
		t.Fatalf("not valid UTF-8: %q", b)
	}
	if !json.Valid(b) {
		t.Fatalf("not valid JSON: %s", b)
	}
	if err := jtNoDuplicateNames(b); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
}

func jtNoDuplicateNames(b []byte) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	type level struct {
		names  map[string]bool
		isObj  bool
		expect bool // next token of an object is a name
	}
	var stack []*level
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		var top *level
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.isObj && top.expect {
			if s, ok := tok.(string); ok {
				if top.names[s] {
					return errors.New("duplicate name " + strconv.Quote(s))
				}
				top.names[s] = true
				top.expect = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			if top != nil && top.isObj {
				top.expect = true
			}
			stack = append(stack, &level{names: map[string]bool{}, isObj: true, expect: true})
			continue
		case json.Delim('['):
			if top != nil && top.isObj {
				top.expect = true
			}
			stack = append(stack, &level{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			continue
		}
		if top != nil && top.isObj {
			top.expect = true
		}
	}
}

// jtParse parses one JSON text with numbers as json.Number.
func jtParse(t testing.TB, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("parse %s: %v", b, err)
	}
	if d.More() {
		t.Fatalf("more than one value in %s", b)
	}
	return v
}

// Models: the expected value of an output, built from what the test put in,
// never from the encoder. Numbers are compared by kind:
//   - jtInt: an integer literal with exactly this text;
//   - jtF64 / jtF32: a number that parses to exactly this float (sign of
//     zero included), at 64 or 32 bits.
type (
	jtInt string
	jtF64 float64
	jtF32 float32
)

// jtFloatModel is the model of a float: a jtF64, or the string of a
// non-finite value.
func jtFloatModel(f float64) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return jtF64(f)
}

// jtValidString is what a JSON string reads back as: invalid bytes become
// U+FFFD, one each.
func jtValidString(s []byte) string {
	var sb strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRune(s)
		sb.WriteRune(r) // RuneError for an invalid byte
		s = s[n:]
	}
	return sb.String()
}

// jtMatch compares a parsed value with a model; it returns a description
// of the first difference, or "".
func jtMatch(path string, got, want any) string {
	switch w := want.(type) {
	case jtInt:
		n, ok := got.(json.Number)
		if !ok || string(n) != string(w) {
			return path + ": got " + jtShow(got) + ", want integer " + string(w)
		}
	case jtF64:
		n, ok := got.(json.Number)
		if !ok {
			return path + ": got " + jtShow(got) + ", want number"
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil || math.Float64bits(f) != math.Float64bits(float64(w)) {
			return path + ": got " + string(n) + ", want " + strconv.FormatFloat(float64(w), 'g', -1, 64)
		}
	case jtF32:
		n, ok := got.(json.Number)
		if !ok {
			return path + ": got " + jtShow(got) + ", want number"
		}
		f, err := strconv.ParseFloat(string(n), 32)
		if err != nil || math.Float32bits(float32(f)) != math.Float32bits(float32(w)) {
			return path + ": got " + string(n) + ", want float32 " + strconv.FormatFloat(float64(w), 'g', -1, 32)
		}
	case string, bool, nil:
		if got != want {
			return path + ": got " + jtShow(got) + ", want " + jtShow(want)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return path + ": got " + jtShow(got) + ", want " + jtShow(want)
		}
		for i := range w {
			if d := jtMatch(path+"["+strconv.Itoa(i)+"]", g[i], w[i]); d != "" {
				return d
			}
		}
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return path + ": got " + jtShow(got) + ", want " + jtShow(want)
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				return path + ": no member " + strconv.Quote(k) + " in " + jtShow(got)
			}
			if d := jtMatch(path+"."+k, gv, wv); d != "" {
				return d
			}
		}
	default:
		return path + ": bad model " + jtShow(want)
	}
	return ""
}

func jtShow(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return string(b)
}

// jv is a test value of a list or map: its MessagePack bytes in Aerospike's
// conventions, its model, and its name when used as a map key.
type jv struct {
	b    []byte
	m    any
	name string
}

func jvInt(v int64) jv {
	s := strconv.FormatInt(v, 10)
	return jv{wire.AppendCDTInt(nil, v), jtInt(s), s}
}

func jvUint(v uint64) jv {
	s := strconv.FormatUint(v, 10)
	return jv{wire.AppendCDTUint(nil, v), jtInt(s), s}
}

func jvFloat(f float64) jv {
	m := jtFloatModel(f)
	name, _ := m.(string)
	if name == "" {
		name = strconv.FormatFloat(f, 'g', -1, 64) // only used for simple keys in tests
	}
	return jv{wire.AppendCDTFloat(nil, f), m, name}
}

func jvFloat32(f float32) jv {
	return jv{msgp.AppendFloat32(nil, f), jtF32(f), ""}
}

func jvStr(s string) jv {
	return jv{wire.AppendCDTString(nil, s), jtValidString([]byte(s)), jtValidString([]byte(s))}
}

func jvBlob(b []byte) jv {
	s := base64.StdEncoding.EncodeToString(b)
	return jv{wire.AppendCDTBlob(nil, b), s, s}
}

func jvTyped(pt uint8, b []byte) jv {
	s := base64.StdEncoding.EncodeToString(b)
	return jv{wire.AppendCDTTyped(nil, pt, b), s, s}
}

func jvBool(v bool) jv { return jv{wire.AppendCDTBool(nil, v), v, strconv.FormatBool(v)} }

func jvNil() jv { return jv{wire.AppendCDTNil(nil), nil, "null"} }

// jvGeo is GeoJSON text inside a list or map; model is its parsed value
// (valid text) or the text as a string.
func jvGeo(t testing.TB, text string) jv {
	var m any = jtValidString([]byte(text))
	if json.Valid([]byte(text)) && utf8.ValidString(text) {
		m = jtModelOf(t, []byte(text))
	}
	return jv{wire.AppendCDTTyped(nil, wire.ParticleGeoJSON, []byte(text)), m, ""}
}

// jtModelOf turns a parsed JSON text into a model (numbers compared as
// float64 unless integral literals).
func jtModelOf(t testing.TB, b []byte) any {
	var conv func(v any) any
	conv = func(v any) any {
		switch x := v.(type) {
		case json.Number:
			if _, err := strconv.ParseInt(string(x), 10, 64); err == nil {
				return jtInt(x)
			}
			f, _ := strconv.ParseFloat(string(x), 64)
			return jtF64(f)
		case []any:
			for i := range x {
				x[i] = conv(x[i])
			}
		case map[string]any:
			for k := range x {
				x[k] = conv(x[k])
			}
		}
		return v
	}
	return conv(jtParse(t, b))
}

// jvList builds a list; flags < 0 means no order-flags element.
func jvList(flags int, elems ...jv) jv {
	n := len(elems)
	if flags >= 0 {
		n++
	}
	b := wire.AppendCDTList(nil, n)
	if flags >= 0 {
		b = wire.AppendCDTListOrder(b, uint8(flags))
	}
	m := []any{}
	for _, e := range elems {
		b = append(b, e.b...)
		m = append(m, e.m)
	}
	return jv{b, m, ""}
}

// jvMap builds a map from key, value, key, value…; flags < 0 means no
// order-flags pair. The keys' names must be distinct.
func jvMap(flags int, kv ...jv) jv {
	n := len(kv) / 2
	if flags >= 0 {
		n++
	}
	b := wire.AppendCDTMap(nil, n)
	if flags >= 0 {
		b = wire.AppendCDTMapOrder(b, uint8(flags))
	}
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		b = append(b, kv[i].b...)
		b = append(b, kv[i+1].b...)
		m[kv[i].name] = kv[i+1].m
	}
	return jv{b, m, ""}
}

// jtBin is a bin of a hand-built record with its expected rendering.
type jtBin struct {
	spec  wire.BinSpec
	model any    // the value's model
	typ   string // typed-format type name
	order any    // "ordered" (bool) for lists, "order" (string) for maps, else nil
}

func jtListBin(name string, flags int, v jv) jtBin {
	return jtBin{wire.BinSpec{Name: name, Type: wire.ParticleList, Value: v.b}, v.m, "list", flags >= 0 && flags&1 != 0}
}

func jtMapBin(name string, flags int, v jv) jtBin {
	order := "unordered"
	switch flags {
	case 1:
		order = "key"
	case 3:
		order = "key-value"
	}
	return jtBin{wire.BinSpec{Name: name, Type: wire.ParticleMap, Value: v.b}, v.m, "map", order}
}

// jtModelTyped is the expected typed-json message of r and its bins.
func jtModelTyped(r *wire.Record, bins []jtBin, now int64) map[string]any {
	key := []any{r.Namespace, nil, base64.StdEncoding.EncodeToString(r.Digest[:]), jtUserKeyModel(r)}
	if r.Set != "" {
		key[1] = r.Set
	}
	lut := jtInt("0")
	if !r.NoLUT {
		lut = jtInt(strconv.FormatInt(int64(r.LUT&0xFFFFFFFFFF)+wire.CitrusleafEpochMs, 10))
	}
	gen := jtInt(strconv.FormatUint(uint64(r.Generation), 10))
	if r.Kind == wire.KindDelete {
		return map[string]any{"msg": "delete", "key": key, "durable": r.Durable, "gen": gen, "lut": lut}
	}
	m := map[string]any{"msg": "write", "key": key, "gen": gen, "exp": jtExp(r, now), "lut": lut}
	if r.Partial || len(r.Bins) == 0 {
		m["partial"] = true
	}
	bs := []any{}
	for _, b := range bins {
		o := map[string]any{"name": b.spec.Name, "type": b.typ, "value": b.model}
		switch b.typ {
		case "list":
			o["ordered"] = b.order
		case "map":
			o["order"] = b.order
		}
		bs = append(bs, o)
	}
	m["bins"] = bs
	return m
}

// jtModelFlat is the expected flat-json message of r and its bins.
func jtModelFlat(r *wire.Record, bins []jtBin, now int64, metaKey string) map[string]any {
	md := map[string]any{
		"namespace": r.Namespace,
		"digest":    base64.StdEncoding.EncodeToString(r.Digest[:]),
		"msg":       "write",
		"gen":       jtInt(strconv.FormatUint(uint64(r.Generation), 10)),
		"lut":       jtInt("0"),
	}
	if !r.NoLUT {
		md["lut"] = jtInt(strconv.FormatInt(int64(r.LUT&0xFFFFFFFFFF)+wire.CitrusleafEpochMs, 10))
	}
	if r.Set != "" {
		md["set"] = r.Set
	}
	if r.KeyType != 0 {
		md["userKey"] = jtUserKeyModel(r)
	}
	if metaKey == "" {
		metaKey = "metadata"
	}
	m := map[string]any{metaKey: md}
	if r.Kind == wire.KindDelete {
		md["msg"] = "delete"
		md["durable"] = r.Durable
		return m
	}
	md["exp"] = jtExp(r, now)
	if r.Partial || len(r.Bins) == 0 {
		md["partial"] = true
	}
	for _, b := range bins {
		m[b.spec.Name] = b.model
	}
	return m
}

func jtExp(r *wire.Record, now int64) jtInt {
	if r.TTL == wire.TTLNever || r.TTL == 0 {
		return "0"
	}
	return jtInt(strconv.FormatInt(now+int64(r.TTL), 10))
}

func jtUserKeyModel(r *wire.Record) any {
	switch r.KeyType {
	case 0:
		return nil
	case wire.ParticleInteger:
		return jtInt(strconv.FormatInt(int64(jtBE(r.Key)), 10))
	case wire.ParticleFloat:
		return jtFloatModel(math.Float64frombits(jtBE(r.Key)))
	case wire.ParticleString:
		return jtValidString(r.Key)
	}
	return base64.StdEncoding.EncodeToString(r.Key)
}

func jtBE(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

func jtSpecs(bins []jtBin) []wire.BinSpec {
	s := make([]wire.BinSpec, len(bins))
	for i, b := range bins {
		s[i] = b.spec
	}
	return s
}

// jtEncode runs enc on m, checks the output is well-formed JSON and returns
// it.
func jtEncode(t testing.TB, enc Encoder, m *wire.Message) []byte {
	t.Helper()
	out, err := enc.Append(nil, m, jtNow)
	if err != nil {
		t.Fatal(err)
	}
	jtCheckJSON(t, out)
	return out
}

// jtRoundTrip encodes r in json and flat-json and compares both with their
// models.
func jtRoundTrip(t *testing.T, r *wire.Record, bins []jtBin) {
	t.Helper()
	m := jtMessage(t, r)
	out := jtEncode(t, new(JSON), m)
	if d := jtMatch("json", jtParse(t, out), jtModelTyped(r, bins, jtNow)); d != "" {
		t.Errorf("%s\n%s", d, out)
	}
	out = jtEncode(t, new(FlatJSON), m)
	if d := jtMatch("flat-json", jtParse(t, out), jtModelFlat(r, bins, jtNow, "")); d != "" {
		t.Errorf("%s\n%s", d, out)
	}
}
