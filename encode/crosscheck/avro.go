package crosscheck

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/linkedin/goavro/v2"

	"github.com/xdrhook/xdrhook/wire"
)

// Union is an expected value of an Avro union: goavro decodes it as
// map[string]any{Name: V} (nil for the null branch); decoders that do not
// keep the branch (Python's avro) give V alone.
type Union struct {
	Name string
	V    any
}

const ns = "io.xdrhook."

// AvroValue is the Value union an Avro consumer must find for v.
func AvroValue(v *Value, top bool) Union {
	switch v.K {
	case Nil:
		return Union{"null", nil}
	case Bool:
		return Union{"boolean", v.Bool}
	case Int:
		return Union{"long", v.I}
	case Uint:
		return Union{ns + "UInt64", new(big.Rat).SetUint64(v.U)}
	case Float:
		return Union{"double", v.F}
	case Float32:
		return Union{"double", float64(v.F32)}
	case Str:
		return Union{"string", string(v.B)}
	case Blob:
		return Union{"bytes", v.B}
	case Typed:
		if top {
			return Union{"bytes", v.B}
		}
		return Union{ns + "Typed", map[string]any{"type": int32(v.T), "data": v.B}}
	case Geo:
		return Union{ns + "GeoJSON", map[string]any{"json": string(v.B)}}
	case Ext:
		return Union{ns + "Ext", map[string]any{"type": int32(int8(v.T)), "data": v.B}}
	case List:
		items := make([]any, len(v.Items))
		for i := range v.Items {
			items[i] = AvroValue(&v.Items[i], false)
		}
		return Union{ns + "List", map[string]any{"ordered": v.Flags&1 != 0, "items": items}}
	case Map:
		entries := make([]any, len(v.Entries))
		for i := range v.Entries {
			e := &v.Entries[i]
			entries[i] = map[string]any{"key": AvroValue(&e.Key, false), "value": AvroValue(&e.Val, false)}
		}
		return Union{ns + "Map", map[string]any{"order": int32(v.Flags & 3), "entries": entries}}
	}
	panic("crosscheck: unknown kind")
}

// ExpectAvro is the ChangeNotification datum of r (lut as Unix ms: compare
// with AvroNormalize'd values).
func ExpectAvro(r *Record, now int64) map[string]any {
	m := map[string]any{"msg": "write", "namespace": r.Namespace, "digest": r.digest(), "gen": int64(r.Gen),
		"lut": r.lut(), "exp": r.expiry(now), "durable": r.Delete && r.Durable, "partial": r.partial()}
	if r.Delete {
		m["msg"] = "delete"
	}
	m["set"] = Union{"null", nil}
	if r.Set != "" {
		m["set"] = Union{"string", r.Set}
	}
	switch r.KeyType {
	case 0:
		m["userKey"] = Union{"null", nil}
	case wire.ParticleInteger:
		m["userKey"] = Union{"long", r.KeyInt}
	case wire.ParticleFloat:
		m["userKey"] = Union{"double", r.KeyFloat}
	case wire.ParticleString:
		m["userKey"] = Union{"string", string(r.KeyBytes)}
	default:
		m["userKey"] = Union{"bytes", r.KeyBytes}
	}
	bins := []any{}
	if !r.Delete {
		for i := range r.Bins {
			b := &r.Bins[i]
			bins = append(bins, map[string]any{"name": b.Name, "type": int32(b.V.ParticleType()), "value": AvroValue(&b.V, true)})
		}
	}
	m["bins"] = bins
	return m
}

// CompareAvro reports the first difference between a decoded datum and an
// expected one. tagged: got keeps union branches as goavro does
// (map[string]any{branch: value}); otherwise unions are bare values.
// Numbers compare by value across int32/int64/float64 types; time.Time is
// taken as Unix ms; *big.Rat and big.Int by value.
func CompareAvro(got, want any, tagged bool) error { return cmpAvro("$", got, want, tagged) }

func cmpAvro(path string, got, want any, tagged bool) error {
	switch w := want.(type) {
	case Union:
		if !tagged {
			return cmpAvro(path, got, w.V, tagged)
		}
		if w.Name == "null" {
			if got != nil {
				return fmt.Errorf("%s: %v, want the null branch", path, got)
			}
			return nil
		}
		g, ok := got.(map[string]any)
		if !ok || len(g) != 1 {
			return fmt.Errorf("%s: %T %v, want branch %s", path, got, got, w.Name)
		}
		gv, ok := g[w.Name]
		if !ok {
			for k := range g {
				return fmt.Errorf("%s: branch %s, want %s", path, k, w.Name)
			}
		}
		return cmpAvro(path+"<"+strings.TrimPrefix(w.Name, ns)+">", gv, w.V, tagged)
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: %T, want a record", path, got)
		}
		if len(g) != len(w) {
			return fmt.Errorf("%s: %d fields, want %d", path, len(g), len(w))
		}
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := cmpAvro(path+"."+k, g[k], w[k], tagged); err != nil {
				return err
			}
		}
		return nil
	case []any:
		return cmpItems(path, got, w, func(path string, g, w any) error { return cmpAvro(path, g, w, tagged) })
	case []byte:
		g, ok := got.([]byte)
		if !ok || !bytes.Equal(g, w) {
			return fmt.Errorf("%s: %T %q, want bytes %q", path, got, short(fmt.Sprint(got)), short(string(w)))
		}
		return nil
	case float64:
		g, ok := got.(float64)
		if !ok || math.Float64bits(g) != math.Float64bits(w) {
			return fmt.Errorf("%s: %T %v, want double %v", path, got, got, w)
		}
		return nil
	case *big.Rat:
		var g *big.Rat
		switch x := got.(type) {
		case *big.Rat:
			g = x
		case *big.Int:
			g = new(big.Rat).SetInt(x)
		}
		if g == nil || g.Cmp(w) != 0 {
			return fmt.Errorf("%s: %T %v, want %v", path, got, got, w.RatString())
		}
		return nil
	case int64, int32:
		wi := reflect.ValueOf(w).Int()
		var gi int64
		switch x := got.(type) {
		case int64:
			gi = x
		case int32:
			gi = int64(x)
		case int:
			gi = int64(x)
		case time.Time:
			gi = x.UnixMilli()
		default:
			return fmt.Errorf("%s: %T %v, want %d", path, got, got, wi)
		}
		if gi != wi {
			return fmt.Errorf("%s: %d, want %d", path, gi, wi)
		}
		return nil
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("%s: %T %q, want %T %q", path, got, short(fmt.Sprint(got)), want, short(fmt.Sprint(want)))
	}
	return nil
}

// Codec returns goavro's codec of a schema text.
func Codec(schema string) (*goavro.Codec, error) { return goavro.NewCodec(schema) }

var codecs sync.Map

// CachedCodec is Codec, made once per schema text.
func CachedCodec(schema string) (*goavro.Codec, error) {
	if c, ok := codecs.Load(schema); ok {
		return c.(*goavro.Codec), nil
	}
	c, err := goavro.NewCodec(schema)
	if err != nil {
		return nil, err
	}
	codecs.Store(schema, c)
	return c, nil
}

// DecodeSingle decodes an Avro single-object message with goavro: the
// header must be C3 01 and the CRC-64-AVRO fingerprint of the schema's
// Parsing Canonical Form as this package computes it (not goavro's), then
// exactly one datum.
func DecodeSingle(schema string, b []byte) (any, error) {
	fp, err := Fingerprint(schema)
	if err != nil {
		return nil, err
	}
	if len(b) < 10 || b[0] != 0xc3 || b[1] != 0x01 {
		return nil, fmt.Errorf("no single-object header: % x", b[:min(len(b), 10)])
	}
	if got := binary.LittleEndian.Uint64(b[2:10]); got != fp {
		return nil, fmt.Errorf("fingerprint %016x, want %016x", got, fp)
	}
	c, err := CachedCodec(schema)
	if err != nil {
		return nil, err
	}
	v, rest, err := c.NativeFromBinary(b[10:])
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%d bytes after the datum", len(rest))
	}
	return v, nil
}

// DecodeOCF decodes an object container file with goavro's reader and
// returns its schema text and records.
func DecodeOCF(b []byte) (string, []any, error) {
	r, err := goavro.NewOCFReader(bytes.NewReader(b))
	if err != nil {
		return "", nil, err
	}
	var out []any
	for r.Scan() {
		v, err := r.Read()
		if err != nil {
			return "", out, err
		}
		out = append(out, v)
	}
	if err := r.Err(); err != nil {
		return "", out, err
	}
	return r.Codec().Schema(), out, nil
}

// Parsing Canonical Form and CRC-64-AVRO, written from the Avro
// specification ("Parsing Canonical Form for Schemas", "Schema
// Fingerprints"), independently of goavro and of the encoder.

// CanonicalForm returns the Parsing Canonical Form of a schema text.
func CanonicalForm(schema string) (string, error) {
	d := json.NewDecoder(strings.NewReader(schema))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return "", err
	}
	var b strings.Builder
	if err := pcf(&b, v, ""); err != nil {
		return "", err
	}
	return b.String(), nil
}

var primitives = map[string]bool{"null": true, "boolean": true, "int": true, "long": true, "float": true,
	"double": true, "bytes": true, "string": true}

func fullName(name, enclosing string) string {
	if strings.Contains(name, ".") || enclosing == "" || primitives[name] {
		return name
	}
	return enclosing + "." + name
}

func pcfString(b *strings.Builder, s string) {
	t, _ := json.Marshal(s)
	// [STRINGS]: no escapes other than JSON's own; json.Marshal escapes
	// <, > and & as \u00XX, the canonical form keeps them.
	r := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&")
	b.WriteString(r.Replace(string(t)))
}

func pcf(b *strings.Builder, v any, space string) error {
	switch x := v.(type) {
	case string: // [PRIMITIVES] or a reference to a named type: [FULLNAMES]
		pcfString(b, fullName(x, space))
		return nil
	case []any: // a union
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := pcf(b, e, space); err != nil {
				return err
			}
		}
		b.WriteByte(']')
		return nil
	case map[string]any:
		typ, _ := x["type"].(string)
		if primitives[typ] { // [PRIMITIVES]: {"type":"long",...} → "long"; [STRIP] drops logicalType
			pcfString(b, typ)
			return nil
		}
		if typ == "" { // {"type": {...}}
			return pcf(b, x["type"], space)
		}
		// [ORDER]: name, type, fields, symbols, items, values, size.
		b.WriteByte('{')
		inner := space
		if name, ok := x["name"].(string); ok {
			fn := name
			if !strings.Contains(name, ".") {
				if s, ok := x["namespace"].(string); ok {
					fn = s + "." + name
					if s == "" {
						fn = name
					}
				} else if space != "" {
					fn = space + "." + name
				}
			}
			if i := strings.LastIndexByte(fn, '.'); i >= 0 {
				inner = fn[:i]
			} else {
				inner = ""
			}
			b.WriteString(`"name":`)
			pcfString(b, fn)
			b.WriteByte(',')
		}
		b.WriteString(`"type":`)
		pcfString(b, typ)
		if f, ok := x["fields"].([]any); ok {
			b.WriteString(`,"fields":[`)
			for i, fe := range f {
				if i > 0 {
					b.WriteByte(',')
				}
				fm := fe.(map[string]any)
				b.WriteString(`{"name":`)
				pcfString(b, fm["name"].(string))
				b.WriteString(`,"type":`)
				if err := pcf(b, fm["type"], inner); err != nil {
					return err
				}
				b.WriteByte('}')
			}
			b.WriteByte(']')
		}
		if s, ok := x["symbols"].([]any); ok {
			b.WriteString(`,"symbols":[`)
			for i, e := range s {
				if i > 0 {
					b.WriteByte(',')
				}
				pcfString(b, e.(string))
			}
			b.WriteByte(']')
		}
		if it, ok := x["items"]; ok {
			b.WriteString(`,"items":`)
			if err := pcf(b, it, inner); err != nil {
				return err
			}
		}
		if vs, ok := x["values"]; ok {
			b.WriteString(`,"values":`)
			if err := pcf(b, vs, inner); err != nil {
				return err
			}
		}
		if sz, ok := x["size"].(json.Number); ok { // [INTEGERS]
			n, err := strconv.ParseInt(string(sz), 10, 64)
			if err != nil {
				return err
			}
			b.WriteString(`,"size":`)
			b.WriteString(strconv.FormatInt(n, 10))
		}
		b.WriteByte('}')
		return nil
	}
	return fmt.Errorf("crosscheck: schema element %T", v)
}

// CRC64Avro is the spec's 64-bit Rabin fingerprint.
func CRC64Avro(b []byte) uint64 {
	const empty = 0xc15d213aa4d7a795
	var table [256]uint64
	for i := range table {
		fp := uint64(i)
		for j := 0; j < 8; j++ {
			fp = (fp >> 1) ^ (empty & -(fp & 1))
		}
		table[i] = fp
	}
	fp := uint64(empty)
	for _, c := range b {
		fp = (fp >> 8) ^ table[byte(fp)^c]
	}
	return fp
}

// Fingerprint is CRC64Avro of the schema's Parsing Canonical Form.
func Fingerprint(schema string) (uint64, error) {
	c, err := CanonicalForm(schema)
	if err != nil {
		return 0, err
	}
	return CRC64Avro([]byte(c)), nil
}
