package crosscheck

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"strconv"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/xdrhook/xdrhook/wire"
)

// Decoded MessagePack values (vmihailenco/msgpack, walked with its
// Decoder): nil, bool, int64 (every integer that fits), uint64 (above
// MaxInt64), float64, float32, string (str), []byte (bin), MPExt, []any
// (array), []MPPair (map, in wire order).

// MPExt is an ext value.
type MPExt struct {
	Type int8
	Data []byte
}

// MPPair is one pair of a map.
type MPPair struct{ Key, Val any }

// DecodeMsgPack decodes exactly one MessagePack value.
func DecodeMsgPack(b []byte) (any, error) {
	vs, err := DecodeMsgPackStream(b)
	return exactlyOne(vs, err, "MessagePack")
}

// DecodeMsgPackStream decodes consecutive MessagePack values until b ends.
func DecodeMsgPackStream(b []byte) ([]any, error) {
	r := bytes.NewReader(b)
	d := msgpack.NewDecoder(r)
	var out []any
	for r.Len() > 0 {
		v, err := mpValue(d, 0)
		if err != nil {
			return out, fmt.Errorf("at byte %d: %w", len(b)-r.Len(), err)
		}
		out = append(out, v)
	}
	return out, nil
}

func mpValue(d *msgpack.Decoder, depth int) (any, error) {
	if depth > 100 {
		return nil, fmt.Errorf("too deep")
	}
	c, err := d.PeekCode()
	if err != nil {
		return nil, err
	}
	switch {
	case msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32:
		n, err := d.DecodeArrayLen()
		if err != nil {
			return nil, err
		}
		a := make([]any, 0, min(n, 1024))
		for i := 0; i < n; i++ {
			v, err := mpValue(d, depth+1)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		return a, nil
	case msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32:
		n, err := d.DecodeMapLen()
		if err != nil {
			return nil, err
		}
		m := make([]MPPair, 0, min(n, 1024))
		for i := 0; i < n; i++ {
			k, err := mpValue(d, depth+1)
			if err != nil {
				return nil, err
			}
			v, err := mpValue(d, depth+1)
			if err != nil {
				return nil, err
			}
			m = append(m, MPPair{k, v})
		}
		return m, nil
	case msgpcode.IsExt(c):
		id, n, err := d.DecodeExtHeader()
		if err != nil {
			return nil, err
		}
		data := make([]byte, n)
		if err := d.ReadFull(data); err != nil {
			return nil, err
		}
		return MPExt{id, data}, nil
	}
	v, err := d.DecodeInterface()
	if err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int64:
		return x, nil
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), nil
		}
		return x, nil
	case nil, bool, float32, float64, string, []byte:
		return v, nil
	}
	return nil, fmt.Errorf("unexpected %T from DecodeInterface", v)
}

// MsgPackValue is what a MessagePack consumer must find for v.
func MsgPackValue(v *Value, top bool) any {
	switch v.K {
	case Nil:
		return nil
	case Bool:
		return v.Bool
	case Int:
		return v.I
	case Uint:
		if v.U <= math.MaxInt64 {
			return int64(v.U)
		}
		return v.U
	case Float:
		return v.F
	case Float32:
		return v.F32
	case Str:
		return string(v.B)
	case Blob:
		return v.B
	case Typed:
		if top {
			return v.B
		}
		return MPExt{int8(v.T), v.B}
	case Geo:
		if top {
			return string(v.B)
		}
		return MPExt{wire.ParticleGeoJSON, v.B}
	case Ext:
		return MPExt{int8(v.T), v.B}
	case List:
		a := make([]any, len(v.Items))
		for i := range v.Items {
			a[i] = MsgPackValue(&v.Items[i], false)
		}
		return a
	case Map:
		m := make([]MPPair, len(v.Entries))
		for i := range v.Entries {
			m[i] = MPPair{MsgPackValue(&v.Entries[i].Key, false), MsgPackValue(&v.Entries[i].Val, false)}
		}
		return m
	}
	panic("crosscheck: unknown kind")
}

// ExpectMsgPack is the message-pack message of r.
func ExpectMsgPack(r *Record, now int64) []any {
	var set any
	if r.Set != "" {
		set = r.Set
	}
	var uk any
	switch r.KeyType {
	case 0:
	case wire.ParticleInteger:
		uk = r.KeyInt
	case wire.ParticleFloat:
		uk = r.KeyFloat
	case wire.ParticleString:
		uk = string(r.KeyBytes)
	default:
		uk = r.KeyBytes
	}
	key := []any{r.Namespace, set, r.digest(), uk}
	if r.Delete {
		var flags int64
		if r.Durable {
			flags = 1
		}
		return []any{int64(1), int64(2), []any{key, flags, int64(r.Gen), r.lut()}}
	}
	bins := []any{}
	for i := range r.Bins {
		b := &r.Bins[i]
		var flags int64
		switch b.V.K {
		case List:
			flags = int64(b.V.Flags & 1)
		case Map:
			flags = int64(b.V.Flags & 3)
		}
		bins = append(bins, []any{b.Name, int64(b.V.ParticleType()), flags, MsgPackValue(&b.V, true)})
	}
	return []any{int64(1), int64(1), []any{key, int64(r.Gen), r.expiry(now), r.lut(), bins, r.partial()}}
}

// CompareMsgPack reports the first difference (floats by bits).
func CompareMsgPack(got, want any) error { return cmpMP("$", got, want) }

func cmpMP(path string, got, want any) error {
	switch w := want.(type) {
	case float64:
		g, ok := got.(float64)
		if !ok || math.Float64bits(g) != math.Float64bits(w) {
			return fmt.Errorf("%s: %T %v, want float64 %v", path, got, got, w)
		}
		return nil
	case float32:
		g, ok := got.(float32)
		if !ok || math.Float32bits(g) != math.Float32bits(w) {
			return fmt.Errorf("%s: %T %v, want float32 %v", path, got, got, w)
		}
		return nil
	case []any:
		return cmpItems(path, got, w, cmpMP)
	case []MPPair:
		g, ok := got.([]MPPair)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("%s: %T, want a map of %d", path, got, len(w))
		}
		for i := range w {
			p := path + "{" + strconv.Itoa(i) + "}"
			if err := cmpMP(p+".key", g[i].Key, w[i].Key); err != nil {
				return err
			}
			if err := cmpMP(p+".val", g[i].Val, w[i].Val); err != nil {
				return err
			}
		}
		return nil
	case []byte:
		g, ok := got.([]byte)
		if !ok || !bytes.Equal(g, w) {
			return fmt.Errorf("%s: %T %q, want bin %q", path, got, short(fmt.Sprint(got)), short(string(w)))
		}
		return nil
	case MPExt:
		g, ok := got.(MPExt)
		if !ok || g.Type != w.Type || !bytes.Equal(g.Data, w.Data) {
			return fmt.Errorf("%s: %T %q, want ext %d %q", path, got, short(fmt.Sprint(got)), w.Type, short(string(w.Data)))
		}
		return nil
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("%s: %T %q, want %T %q", path, got, short(fmt.Sprint(got)), want, short(fmt.Sprint(want)))
	}
	return nil
}
