package crosscheck

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"unicode/utf8"

	"github.com/xdrhook/xdrhook/wire"
)

// F64 is an expected JSON number written from a float64: the decoded
// number must parse back to the same bits (shortest round trip).
type F64 float64

// F32 is an expected JSON number written from a float32 (32-bit shortest
// digits).
type F32 float32

func jsonFloat(f float64) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return F64(f)
}

func jsonInt(i int64) json.Number { return json.Number(strconv.FormatInt(i, 10)) }

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// JSONValue is what encoding/json (UseNumber) must find for v; top: a bin
// value rather than an element of a list or map.
func JSONValue(v *Value, top bool) any {
	switch v.K {
	case Nil:
		return nil
	case Bool:
		return v.Bool
	case Int:
		return jsonInt(v.I)
	case Uint:
		return json.Number(strconv.FormatUint(v.U, 10))
	case Float:
		return jsonFloat(v.F)
	case Float32:
		f := float64(v.F32)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return jsonFloat(f)
		}
		return F32(v.F32)
	case Str:
		return FixUTF8(v.B)
	case Blob, Typed, Ext:
		return b64(v.B)
	case Geo:
		return geoJSON(v.B)
	case List:
		out := make([]any, len(v.Items))
		for i := range v.Items {
			out[i] = JSONValue(&v.Items[i], false)
		}
		return out
	case Map:
		out := make(map[string]any, len(v.Entries))
		for i := range v.Entries {
			e := &v.Entries[i]
			out[JSONName(&e.Key)] = JSONValue(&e.Val, false)
		}
		return out
	}
	panic("crosscheck: unknown kind")
}

func geoJSON(text []byte) any {
	if !json.Valid(text) || !utf8.Valid(text) {
		return FixUTF8(text)
	}
	d := json.NewDecoder(bytes.NewReader(text))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		panic(err)
	}
	return numbersToFloats(v)
}

// numbersToFloats turns the numbers of a GeoJSON text into F64: the encoder
// compacts the text, it does not rewrite numbers, but comparing values
// keeps the check independent of the digits.
func numbersToFloats(v any) any {
	switch x := v.(type) {
	case json.Number:
		if _, err := x.Int64(); err == nil {
			return x
		}
		f, _ := x.Float64()
		return F64(f)
	case []any:
		for i := range x {
			x[i] = numbersToFloats(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = numbersToFloats(x[k])
		}
	}
	return v
}

// JSONName is the object name a map key becomes (the kinds the models use).
func JSONName(k *Value) string {
	switch k.K {
	case Str:
		return FixUTF8(k.B)
	case Int:
		return strconv.FormatInt(k.I, 10)
	case Uint:
		return strconv.FormatUint(k.U, 10)
	case Blob, Typed, Ext:
		return b64(k.B)
	}
	panic("crosscheck: a map key of kind " + strconv.Itoa(int(k.K)) + " is not modelled")
}

func jsonUserKey(r *Record) any {
	switch r.KeyType {
	case 0:
		return nil
	case wire.ParticleInteger:
		return jsonInt(r.KeyInt)
	case wire.ParticleFloat:
		return jsonFloat(r.KeyFloat)
	case wire.ParticleString:
		return FixUTF8(r.KeyBytes)
	}
	return b64(r.KeyBytes)
}

func (r *Record) digest() []byte {
	var d wire.Digester
	var key []byte
	switch r.KeyType {
	case wire.ParticleInteger:
		key = wire.IntKey(r.KeyInt)
	case wire.ParticleFloat:
		key = wire.FloatValue(r.KeyFloat)
	default:
		key = r.KeyBytes
	}
	dg := d.Digest([]byte(r.Set), r.KeyType, key)
	return dg[:]
}

// ExpectJSON is the message of the json format for r.
func ExpectJSON(r *Record, now int64) map[string]any {
	var set any
	if r.Set != "" {
		set = FixUTF8([]byte(r.Set))
	}
	key := []any{FixUTF8([]byte(r.Namespace)), set, b64(r.digest()), jsonUserKey(r)}
	if r.Delete {
		return map[string]any{"msg": "delete", "key": key, "durable": r.Durable, "gen": jsonInt(int64(r.Gen)), "lut": jsonInt(r.lut())}
	}
	m := map[string]any{"msg": "write", "key": key, "gen": jsonInt(int64(r.Gen)), "exp": jsonInt(r.expiry(now)), "lut": jsonInt(r.lut())}
	if r.partial() {
		m["partial"] = true
	}
	bins := []any{}
	for i := range r.Bins {
		b := &r.Bins[i]
		pt := b.V.ParticleType()
		o := map[string]any{"name": FixUTF8([]byte(b.Name)), "type": JSONTypeName(pt), "value": JSONValue(&b.V, true)}
		switch b.V.K {
		case List:
			o["ordered"] = b.V.Flags&1 != 0
		case Map:
			o["order"] = [4]string{"unordered", "key", "unordered", "key-value"}[b.V.Flags&3]
		}
		bins = append(bins, o)
	}
	m["bins"] = bins
	return m
}

// JSONTypeName is the "type" of a bin of the json format (output-formats.md).
func JSONTypeName(pt uint8) string {
	names := map[uint8]string{0: "null", 1: "int", 2: "float", 3: "str", 4: "blob", 7: "java-blob", 8: "csharp-blob",
		9: "python-blob", 10: "ruby-blob", 11: "php-blob", 12: "erlang-blob", 16: "vector", 17: "bool", 18: "hll",
		19: "map", 20: "list", 23: "geojson"}
	if n, ok := names[pt]; ok {
		return n
	}
	return "type-" + strconv.Itoa(int(pt))
}

// ExpectFlatJSON is the message of the flat-json format for r (metadata
// under "metadata"; the models never name a bin "metadata").
func ExpectFlatJSON(r *Record, now int64) map[string]any {
	md := map[string]any{"namespace": FixUTF8([]byte(r.Namespace)), "digest": b64(r.digest()), "msg": "write",
		"gen": jsonInt(int64(r.Gen)), "lut": jsonInt(r.lut())}
	if r.Set != "" {
		md["set"] = FixUTF8([]byte(r.Set))
	}
	if r.KeyType != 0 {
		md["userKey"] = jsonUserKey(r)
	}
	m := map[string]any{"metadata": md}
	if r.Delete {
		md["msg"], md["durable"] = "delete", r.Durable
		return m
	}
	md["exp"] = jsonInt(r.expiry(now))
	if r.partial() {
		md["partial"] = true
	}
	for i := range r.Bins {
		b := &r.Bins[i]
		m[FixUTF8([]byte(b.Name))] = JSONValue(&b.V, true)
	}
	return m
}

// DecodeJSON decodes a stream of JSON values with encoding/json's tokenizer
// (numbers as json.Number), failing on a repeated name in any object, on
// invalid UTF-8 anywhere in b, and on anything that is not JSON.
func DecodeJSON(b []byte) ([]any, error) {
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("output is not valid UTF-8")
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var out []any
	for {
		v, err := jsonValue(d)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
}

// DecodeJSONOne decodes exactly one JSON value.
func DecodeJSONOne(b []byte) (any, error) {
	vs, err := DecodeJSON(b)
	return exactlyOne(vs, err, "JSON")
}

// exactlyOne returns the one value of a stream decoder's result.
func exactlyOne(vs []any, err error, what string) (any, error) {
	if err != nil {
		return nil, err
	}
	if len(vs) != 1 {
		return nil, fmt.Errorf("%d %s values, want 1", len(vs), what)
	}
	return vs[0], nil
}

func jsonValue(d *json.Decoder) (any, error) {
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch t := t.(type) {
	case json.Delim:
		switch t {
		case '{':
			m := map[string]any{}
			for d.More() {
				k, err := d.Token()
				if err != nil {
					return nil, err
				}
				ks := k.(string)
				if _, dup := m[ks]; dup {
					return nil, fmt.Errorf("duplicate name %q in an object", ks)
				}
				if m[ks], err = jsonValue(d); err != nil {
					return nil, err
				}
			}
			_, err := d.Token() // '}'
			return m, err
		case '[':
			a := []any{}
			for d.More() {
				v, err := jsonValue(d)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			_, err := d.Token() // ']'
			return a, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	}
	return t, nil
}

// CompareJSON reports the first difference between a decoded value and an
// expected one (F64/F32 compare by bits after parsing).
func CompareJSON(got, want any) error { return cmpJSON("$", got, want) }

func cmpJSON(path string, got, want any) error {
	switch w := want.(type) {
	case F64:
		n, ok := got.(json.Number)
		if !ok {
			return fmt.Errorf("%s: %T %v, want number %v", path, got, got, float64(w))
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil || math.Float64bits(f) != math.Float64bits(float64(w)) {
			return fmt.Errorf("%s: %s, want %v (%v)", path, n, float64(w), err)
		}
		return nil
	case F32:
		n, ok := got.(json.Number)
		if !ok {
			return fmt.Errorf("%s: %T %v, want number %v", path, got, got, float32(w))
		}
		f, err := strconv.ParseFloat(string(n), 32)
		if err != nil || math.Float32bits(float32(f)) != math.Float32bits(float32(w)) {
			return fmt.Errorf("%s: %s, want %v (%v)", path, n, float32(w), err)
		}
		return nil
	case json.Number:
		n, ok := got.(json.Number)
		if !ok || n != w {
			return fmt.Errorf("%s: %T %v, want %s", path, got, got, w)
		}
		return nil
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: %T, want an object", path, got)
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				return fmt.Errorf("%s: unexpected member %q", path, short(k))
			}
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				return fmt.Errorf("%s: missing member %q", path, short(k))
			}
			if err := cmpJSON(path+"."+short(k), gv, wv); err != nil {
				return err
			}
		}
		return nil
	case []any:
		return cmpItems(path, got, w, cmpJSON)
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("%s: %T %q, want %T %q", path, got, short(fmt.Sprint(got)), want, short(fmt.Sprint(want)))
	}
	return nil
}

// cmpItems compares got with the array want, item by item with cmp.
func cmpItems(path string, got any, want []any, cmp func(path string, got, want any) error) error {
	g, ok := got.([]any)
	if !ok || len(g) != len(want) {
		return fmt.Errorf("%s: %T of %d, want an array of %d", path, got, lenOf(got), len(want))
	}
	for i := range want {
		if err := cmp(path+"["+strconv.Itoa(i)+"]", g[i], want[i]); err != nil {
			return err
		}
	}
	return nil
}

func lenOf(v any) int {
	if a, ok := v.([]any); ok {
		return len(a)
	}
	return -1
}

func short(s string) string {
	if len(s) > 80 {
		return s[:40] + "…(" + strconv.Itoa(len(s)) + " bytes)…" + s[len(s)-20:]
	}
	return s
}
