package wire

import (
	"encoding/binary"
	"errors"
	"io"
	"math"
	"strconv"
)

// MaxCDTDepth bounds the nesting of lists and maps. Aerospike itself allows
// far less in practice; the bound keeps hostile input from exhausting the
// walker or an encoder that recurses with it.
const MaxCDTDepth = 64

// CDTKind is the kind of one token of a list or map value.
type CDTKind uint8

const (
	CDTNil    CDTKind = iota + 1
	CDTBool           // Bool
	CDTInt            // Int
	CDTUint           // Uint: an unsigned value above MaxInt64
	CDTFloat          // Float (Float32 set when it was a float32 on the wire)
	CDTString         // Bytes: UTF-8 text (type prefix 3)
	CDTBytes          // Bytes: a blob (prefix 4, or an empty payload)
	CDTTyped          // Bytes, Sub: typed bytes; Sub is the particle type (GeoJSON 23, Java blob 7, HLL 18…)
	CDTExt            // Bytes, Sub: a MessagePack ext value; Sub is its type
	CDTList           // N elements follow, then CDTEnd; Flags: 1 = ordered
	CDTMap            // N key/value pairs follow, then CDTEnd; Flags: 1 = key-ordered, 3 = key-value-ordered
	CDTEnd            // closes the innermost list or map
)

var cdtKindNames = [...]string{"", "nil", "bool", "int", "uint", "float", "string", "bytes", "typed", "ext", "list", "map", "end"}

func (k CDTKind) String() string {
	if int(k) < len(cdtKindNames) {
		return cdtKindNames[k]
	}
	return "kind-" + strconv.Itoa(int(k))
}

// CDTToken is one token produced by CDTReader.Next. Only Kind, Key and the
// fields its Kind names are meaningful: the reader does not clear the others.
type CDTToken struct {
	Kind    CDTKind
	Key     bool // the token is a map key (containers: the whole container is the key)
	Bool    bool
	Float32 bool
	Sub     uint8
	Flags   uint8
	N       int
	Int     int64
	Uint    uint64
	Float   float64
	Bytes   []byte // view into the value: string text, blob, typed payload or ext data
}

// CDTError is a malformed list or map value.
type CDTError struct {
	Offset int // byte offset in the value
	What   string
}

func (e *CDTError) Error() string {
	return "xdr cdt: at offset " + strconv.Itoa(e.Offset) + ": " + e.What
}

// ErrCDTEnd is returned by CDTReader.Next after the last token.
var ErrCDTEnd = io.EOF

type cdtLevel struct {
	left  uint32 // elements still to come (a map counts keys and values)
	isMap bool
}

// CDTReader walks a MessagePack list or map value in Aerospike's conventions
// (xdr-wire.md §6) as a stream of tokens, so encoders can emit values
// without building Go maps or slices. It drops order-flag elements, strips
// the type prefix of strings and bytes, bounds the depth and checks every
// count against the bytes that remain. The zero value is not usable: call
// Reset. A CDTReader holds no heap memory of its own; keep one per encoder.
type CDTReader struct {
	b     []byte
	off   int
	depth int
	done  bool
	stack [MaxCDTDepth]cdtLevel
}

// Reset starts walking the value v (one complete MessagePack value).
func (r *CDTReader) Reset(v []byte) {
	r.b, r.off, r.depth, r.done = v, 0, 0, false
}

// Depth returns the number of containers currently open.
func (r *CDTReader) Depth() int { return r.depth }

func (r *CDTReader) fail(what string) error { return &CDTError{Offset: r.off, What: what} }

// Next reads the next token into t. After the whole value it returns
// ErrCDTEnd; trailing bytes after the value are an error.
func (r *CDTReader) Next(t *CDTToken) error {
	if r.done {
		return ErrCDTEnd
	}
	if r.depth > 0 && r.stack[r.depth-1].left == 0 {
		r.depth--
		*t = CDTToken{Kind: CDTEnd}
		if r.depth == 0 {
			return r.finish()
		}
		return nil
	}
	key := false
	if r.depth > 0 {
		l := &r.stack[r.depth-1]
		key = l.isMap && l.left%2 == 0
		l.left--
	}
	if err := r.read(t); err != nil {
		return err
	}
	t.Key = key
	switch t.Kind {
	case CDTList, CDTMap:
		if r.depth == MaxCDTDepth {
			return r.fail("nesting deeper than " + strconv.Itoa(MaxCDTDepth))
		}
		n := uint32(t.N)
		if t.Kind == CDTMap {
			n *= 2
		}
		r.stack[r.depth] = cdtLevel{left: n, isMap: t.Kind == CDTMap}
		r.depth++
		if err := r.orderFlags(t); err != nil {
			return err
		}
	default:
		if r.depth == 0 {
			return r.finish()
		}
	}
	return nil
}

func (r *CDTReader) finish() error {
	r.done = true
	if r.off != len(r.b) {
		return r.fail(strconv.Itoa(len(r.b)-r.off) + " trailing bytes after the value")
	}
	return nil
}

// orderFlags drops a leading ext element of the container just opened (its
// order flags) and, in a map, the value paired with it.
func (r *CDTReader) orderFlags(t *CDTToken) error {
	if t.N == 0 || r.off >= len(r.b) || !isExt(r.b[r.off]) {
		return nil
	}
	var ext CDTToken
	if err := r.read(&ext); err != nil {
		return err
	}
	t.Flags = ext.Sub
	t.N--
	l := &r.stack[r.depth-1]
	l.left--
	if t.Kind == CDTMap {
		var v CDTToken
		if err := r.read(&v); err != nil {
			return err
		}
		if v.Kind == CDTList || v.Kind == CDTMap {
			return r.fail("order flags paired with a container")
		}
		l.left--
	}
	return nil
}

func isExt(c byte) bool { return c >= 0xd4 && c <= 0xd8 || c >= 0xc7 && c <= 0xc9 }

// need checks that n more bytes are there.
func (r *CDTReader) need(n uint64) error {
	if n > uint64(len(r.b)-r.off) {
		return r.fail("value of " + strconv.FormatUint(n, 10) + " bytes runs past the end")
	}
	return nil
}

func (r *CDTReader) uint(n int) (uint64, error) {
	if err := r.need(uint64(n)); err != nil {
		return 0, err
	}
	var v uint64
	switch n {
	case 1:
		v = uint64(r.b[r.off])
	case 2:
		v = uint64(binary.BigEndian.Uint16(r.b[r.off:]))
	case 4:
		v = uint64(binary.BigEndian.Uint32(r.b[r.off:]))
	case 8:
		v = binary.BigEndian.Uint64(r.b[r.off:])
	}
	r.off += n
	return v, nil
}

// read reads one MessagePack header (and a scalar's payload) at r.off.
func (r *CDTReader) read(t *CDTToken) error {
	if r.off >= len(r.b) {
		return r.fail("value runs past the end")
	}
	c := r.b[r.off]
	r.off++
	switch {
	case c <= 0x7f:
		t.Kind, t.Int = CDTInt, int64(c)
		return nil
	case c >= 0xe0:
		t.Kind, t.Int = CDTInt, int64(int8(c))
		return nil
	case c <= 0x8f:
		return r.container(t, CDTMap, uint64(c&0x0f))
	case c <= 0x9f:
		return r.container(t, CDTList, uint64(c&0x0f))
	case c <= 0xbf:
		return r.payload(t, uint64(c&0x1f))
	}
	switch c {
	case 0xc0:
		t.Kind = CDTNil
	case 0xc2, 0xc3:
		t.Kind, t.Bool = CDTBool, c == 0xc3
	case 0xc4, 0xc5, 0xc6, 0xd9, 0xda, 0xdb:
		w := 1 << (c - 0xc4) // bin8/16/32
		if c >= 0xd9 {
			w = 1 << (c - 0xd9) // str8/16/32
		}
		n, err := r.uint(w)
		if err != nil {
			return err
		}
		return r.payload(t, n)
	case 0xc7, 0xc8, 0xc9:
		n, err := r.uint(1 << (c - 0xc7))
		if err != nil {
			return err
		}
		return r.ext(t, n)
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		return r.ext(t, 1<<(c-0xd4))
	case 0xca:
		v, err := r.uint(4)
		if err != nil {
			return err
		}
		t.Kind, t.Float, t.Float32 = CDTFloat, float64(math.Float32frombits(uint32(v))), true
	case 0xcb:
		v, err := r.uint(8)
		if err != nil {
			return err
		}
		t.Kind, t.Float, t.Float32 = CDTFloat, math.Float64frombits(v), false
	case 0xcc, 0xcd, 0xce, 0xcf:
		v, err := r.uint(1 << (c - 0xcc))
		if err != nil {
			return err
		}
		if v > math.MaxInt64 {
			t.Kind, t.Uint = CDTUint, v
		} else {
			t.Kind, t.Int = CDTInt, int64(v)
		}
	case 0xd0, 0xd1, 0xd2, 0xd3:
		w := 1 << (c - 0xd0)
		v, err := r.uint(w)
		if err != nil {
			return err
		}
		t.Kind = CDTInt
		switch w {
		case 1:
			t.Int = int64(int8(v))
		case 2:
			t.Int = int64(int16(v))
		case 4:
			t.Int = int64(int32(v))
		default:
			t.Int = int64(v)
		}
	case 0xdc, 0xdd:
		n, err := r.uint(2 << (c - 0xdc))
		if err != nil {
			return err
		}
		return r.container(t, CDTList, n)
	case 0xde, 0xdf:
		n, err := r.uint(2 << (c - 0xde))
		if err != nil {
			return err
		}
		return r.container(t, CDTMap, n)
	default: // 0xc1
		r.off--
		return r.fail("byte 0xc1 is never used in MessagePack")
	}
	return nil
}

func (r *CDTReader) container(t *CDTToken, k CDTKind, n uint64) error {
	per := uint64(1)
	if k == CDTMap {
		per = 2
	}
	// Every element takes at least one byte.
	if n*per > uint64(len(r.b)-r.off) {
		return r.fail(k.String() + " of " + strconv.FormatUint(n, 10) + " elements cannot fit in the " + strconv.Itoa(len(r.b)-r.off) + " bytes left")
	}
	t.Kind, t.N, t.Flags = k, int(n), 0
	return nil
}

func (r *CDTReader) payload(t *CDTToken, n uint64) error {
	if err := r.need(n); err != nil {
		return err
	}
	p := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	if len(p) == 0 {
		t.Kind, t.Bytes = CDTBytes, p
		return nil
	}
	switch p[0] {
	case ParticleString:
		t.Kind = CDTString
	case ParticleBlob:
		t.Kind = CDTBytes
	default:
		t.Kind, t.Sub = CDTTyped, p[0]
	}
	t.Bytes = p[1:]
	return nil
}

func (r *CDTReader) ext(t *CDTToken, n uint64) error {
	if err := r.need(1 + n); err != nil {
		return err
	}
	t.Kind, t.Sub = CDTExt, r.b[r.off]
	t.Bytes = r.b[r.off+1 : r.off+1+int(n)]
	r.off += 1 + int(n)
	return nil
}

// Validate walks a whole list or map value and reports its first fault.
func (r *CDTReader) Validate(v []byte) error {
	r.Reset(v)
	var t CDTToken
	for {
		err := r.Next(&t)
		if err == ErrCDTEnd {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// errNotGeoJSON is returned for a GeoJSON particle too short for its cells.
var errNotGeoJSON = errors.New("xdr geojson: value shorter than its flags and cells")

// GeoJSONText returns the JSON text of a GeoJSON particle value: it skips the
// flags byte, the cell count and the cells.
func GeoJSONText(v []byte) ([]byte, error) {
	if len(v) < 3 {
		return nil, errNotGeoJSON
	}
	n := int(binary.BigEndian.Uint16(v[1:3]))
	if 3+8*n > len(v) {
		return nil, errNotGeoJSON
	}
	return v[3+8*n:], nil
}
