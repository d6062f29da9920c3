// Package crosscheck holds what the tests of the encoders need to check
// them against decoders that are not ours: a model of what XDR ships (a
// record, its bins and their values), the frame of a model built with the
// repository's frame encoder (wire.AppendFrame), and, per output format,
// the values an independent decoder must find (goavro for Avro,
// vmihailenco/msgpack for MessagePack, encoding/json with a duplicate-name
// check for the JSON formats).
//
// It is imported by tests only (encode's independent_*_test.go, the fuzz
// targets); nothing in the binary uses it.
package crosscheck

import (
	"encoding/binary"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/xdrhook/xdrhook/wire"
)

// VKind is the kind of a Value.
type VKind uint8

// Value kinds. Uint, Float32 and Ext exist only inside lists and maps.
const (
	Nil VKind = iota
	Bool
	Int
	Uint // an unsigned integer above MaxInt64
	Float
	Float32
	Str
	Blob
	Typed // T: the particle type (top level: the bin's type; in a CDT: the prefix)
	Geo   // B: the GeoJSON text
	Ext   // T: the ext type
	List
	Map
)

// Value is a bin value or an element of a list or map, as XDR ships it.
type Value struct {
	K     VKind
	Bool  bool
	I     int64
	U     uint64
	F     float64
	F32   float32
	B     []byte
	T     uint8
	Flags uint8 // list: 1 = ordered; map: 1 key-ordered, 3 key-value-ordered
	// FlagsElem: the container carries its order flags element (written
	// whenever Flags != 0, and also for 0 when set).
	FlagsElem bool
	Items     []Value // list
	Entries   []Entry // map
}

// Entry is one pair of a map.
type Entry struct{ Key, Val Value }

// Bin is one bin of a write.
type Bin struct {
	Name string
	V    Value
}

// Record is a change notification as XDR ships it.
type Record struct {
	Delete, Durable, Partial bool
	Gen                      uint32
	TTL                      uint32
	Namespace                string
	Set                      string // "" = none
	KeyType                  uint8  // 0 none, wire.ParticleInteger/Float/String/Blob
	KeyInt                   int64
	KeyFloat                 float64
	KeyBytes                 []byte
	NoLUT                    bool
	LUTMs                    int64 // Unix ms
	Bins                     []Bin
}

// ParticleType is the particle type a top-level value is shipped as.
func (v *Value) ParticleType() uint8 {
	switch v.K {
	case Nil:
		return wire.ParticleNull
	case Bool:
		return wire.ParticleBool
	case Int:
		return wire.ParticleInteger
	case Float:
		return wire.ParticleFloat
	case Str:
		return wire.ParticleString
	case Blob:
		return wire.ParticleBlob
	case Typed:
		return v.T
	case Geo:
		return wire.ParticleGeoJSON
	case List:
		return wire.ParticleList
	case Map:
		return wire.ParticleMap
	}
	panic("crosscheck: " + strconv.Itoa(int(v.K)) + " is not a top-level value")
}

// WireValue is the value bytes of a top-level value.
func (v *Value) WireValue() []byte {
	switch v.K {
	case Nil:
		return nil
	case Bool:
		return wire.BoolValue(v.Bool)
	case Int:
		return wire.IntValue(v.I)
	case Float:
		return wire.FloatValue(v.F)
	case Str, Blob, Typed:
		return v.B
	case Geo:
		return wire.GeoJSONValue(string(v.B), 0x1234)
	case List, Map:
		return AppendCDT(nil, v)
	}
	panic("crosscheck: " + strconv.Itoa(int(v.K)) + " is not a top-level value")
}

// AppendCDT appends v in Aerospike's MessagePack conventions.
func AppendCDT(dst []byte, v *Value) []byte {
	switch v.K {
	case Nil:
		return wire.AppendCDTNil(dst)
	case Bool:
		return wire.AppendCDTBool(dst, v.Bool)
	case Int:
		return wire.AppendCDTInt(dst, v.I)
	case Uint:
		return wire.AppendCDTUint(dst, v.U)
	case Float:
		return wire.AppendCDTFloat(dst, v.F)
	case Float32:
		dst = append(dst, 0xca)
		return binary.BigEndian.AppendUint32(dst, math.Float32bits(v.F32))
	case Str:
		return wire.AppendCDTTyped(dst, wire.ParticleString, v.B)
	case Blob:
		return wire.AppendCDTTyped(dst, wire.ParticleBlob, v.B)
	case Typed:
		return wire.AppendCDTTyped(dst, v.T, v.B)
	case Geo:
		return wire.AppendCDTTyped(dst, wire.ParticleGeoJSON, v.B)
	case Ext:
		n := len(v.B)
		switch {
		case n <= math.MaxUint8:
			dst = append(dst, 0xc7, byte(n), v.T)
		case n <= math.MaxUint16:
			dst = append(dst, 0xc8, byte(n>>8), byte(n), v.T)
		default:
			dst = append(dst, 0xc9)
			dst = binary.BigEndian.AppendUint32(dst, uint32(n))
			dst = append(dst, v.T)
		}
		return append(dst, v.B...)
	case List:
		fe := v.FlagsElem || v.Flags != 0
		n := len(v.Items)
		if fe {
			n++
		}
		dst = wire.AppendCDTList(dst, n)
		if fe {
			dst = wire.AppendCDTListOrder(dst, v.Flags)
		}
		for i := range v.Items {
			dst = AppendCDT(dst, &v.Items[i])
		}
		return dst
	case Map:
		fe := v.FlagsElem || v.Flags != 0
		n := len(v.Entries)
		if fe {
			n++
		}
		dst = wire.AppendCDTMap(dst, n)
		if fe {
			dst = wire.AppendCDTMapOrder(dst, v.Flags)
		}
		for i := range v.Entries {
			dst = AppendCDT(dst, &v.Entries[i].Key)
			dst = AppendCDT(dst, &v.Entries[i].Val)
		}
		return dst
	}
	panic("crosscheck: unknown kind")
}

// Wire returns r as the frame encoder's record (digest computed).
func (r *Record) Wire() *wire.Record {
	w := &wire.Record{Kind: wire.KindWrite, Durable: r.Durable, Partial: r.Partial, Generation: r.Gen, TTL: r.TTL,
		Namespace: r.Namespace, Set: r.Set, KeyType: r.KeyType, NoLUT: r.NoLUT}
	if r.Delete {
		w.Kind = wire.KindDelete
	}
	if !r.NoLUT {
		w.LUT = wire.MakeLUT(3, r.LUTMs)
	}
	switch r.KeyType {
	case 0:
	case wire.ParticleInteger:
		w.Key = wire.IntKey(r.KeyInt)
	case wire.ParticleFloat:
		w.Key = wire.FloatValue(r.KeyFloat)
	default:
		w.Key = r.KeyBytes
	}
	var d wire.Digester
	w.SetDigest(&d)
	if !r.Delete {
		for i := range r.Bins {
			b := &r.Bins[i]
			w.Bins = append(w.Bins, wire.BinSpec{Name: b.Name, Type: b.V.ParticleType(), Value: b.V.WireValue()})
		}
	}
	return w
}

// Frame returns r as a type-3 frame, and the record it was built from.
func (r *Record) Frame() ([]byte, *wire.Record) {
	w := r.Wire()
	return wire.AppendFrame(nil, w), w
}

// Message decodes the frame of r (the view the encoders take).
func (r *Record) Message() (*wire.Message, *wire.Record, error) {
	f, w := r.Frame()
	m := new(wire.Message)
	if err := m.Decode(f[wire.HeaderSize:]); err != nil {
		return nil, nil, err
	}
	return m, w, nil
}

// partial is what the connector reports as partial.
func (r *Record) partial() bool { return !r.Delete && (r.Partial || len(r.Bins) == 0) }

func (r *Record) expiry(now int64) int64 {
	if r.Delete || r.TTL == wire.TTLNever || r.TTL == 0 {
		return 0
	}
	return now + int64(r.TTL)
}

func (r *Record) lut() int64 {
	if r.NoLUT {
		return 0
	}
	return r.LUTMs
}

// FixUTF8 is s with every byte that is not part of valid UTF-8 replaced by
// U+FFFD, as the JSON formats write strings.
func FixUTF8(s []byte) string {
	if utf8.Valid(s) {
		return string(s)
	}
	out := make([]rune, 0, len(s))
	for len(s) > 0 {
		r, n := utf8.DecodeRune(s)
		out = append(out, r) // RuneError for an invalid byte (n == 1)
		s = s[n:]
	}
	return string(out)
}

// Text returns n bytes of valid UTF-8 that exercise JSON escaping: quotes,
// backslashes, control characters, '<', '/', U+2028, two-, three- and
// four-byte characters, runs of plain ASCII between them. seed shifts the
// pattern.
func Text(n, seed int) []byte {
	pieces := []string{"abc", "\"", "\\", "\x01", "\n", "é", "€", "😀", "\u2028", "<", "/", "\x7f", "xyz0123", "\t", "\u2029"}
	out := make([]byte, 0, n)
	for i := seed; len(out) < n; i++ {
		p := pieces[i%len(pieces)]
		if len(out)+len(p) > n {
			p = "abcdefgh"[:min(8, n-len(out))]
		}
		out = append(out, p...)
	}
	return out
}

// ASCII returns n bytes of letters.
func ASCII(n, seed int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = 'a' + byte((i+seed)%26)
	}
	return out
}

// Bytes returns n arbitrary bytes (invalid UTF-8 among them).
func Bytes(n, seed int) []byte {
	out := make([]byte, n)
	x := uint32(seed)*2654435761 + 1
	for i := range out {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		out[i] = byte(x)
	}
	return out
}
