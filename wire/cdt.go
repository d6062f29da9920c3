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
	b   []byte
	off int
	// cur is the innermost open container; stack[:depth-1] hold the ones
	// around it. Keeping the innermost count in a field of its own (not
	// stack[depth-1]) saves an index computation, a bounds check and a
	// dependent load on every token. cur.left is 0 when depth is 0, so a
	// non-zero cur.left alone says "an element of an open container comes
	// next", the case of nearly every token.
	cur   cdtLevel
	depth int
	done  bool
	stack [MaxCDTDepth]cdtLevel
}

// Reset starts walking the value v (one complete MessagePack value).
func (r *CDTReader) Reset(v []byte) {
	r.b, r.off, r.depth, r.done = v, 0, 0, false
	r.cur = cdtLevel{}
}

// Depth returns the number of containers currently open.
func (r *CDTReader) Depth() int { return r.depth }

func (r *CDTReader) fail(what string) error { return &CDTError{Offset: r.off, What: what} }

// Next reads the next token into t. After the whole value it returns
// ErrCDTEnd; trailing bytes after the value are an error.
func (r *CDTReader) Next(t *CDTToken) error {
	if r.cur.left == 0 {
		return r.edge(t)
	}
	key := r.cur.isMap && r.cur.left%2 == 0
	r.cur.left--
	// Fast path: the one-byte scalars and the short strings that make up
	// most elements are decoded here, before the general switch of read.
	// Each sets exactly the fields read would.
	if off := r.off; off < len(r.b) {
		switch c := r.b[off]; {
		case c <= 0x7f:
			t.Kind, t.Key, t.Int = CDTInt, key, int64(c)
			r.off = off + 1
			return nil
		case c >= 0xe0:
			t.Kind, t.Key, t.Int = CDTInt, key, int64(int8(c))
			r.off = off + 1
			return nil
		case c >= 0xa1 && c <= 0xbf: // fixstr of 1 to 31 bytes: prefix and text
			end := off + 1 + int(c&0x1f)
			if end > len(r.b) {
				break // read reports it
			}
			switch p := r.b[off+1]; p {
			case ParticleString:
				t.Kind = CDTString
			case ParticleBlob:
				t.Kind = CDTBytes
			default:
				t.Kind, t.Sub = CDTTyped, p
			}
			t.Key, t.Bytes = key, r.b[off+2:end]
			r.off = end
			return nil
		case c == 0xc0:
			t.Kind, t.Key = CDTNil, key
			r.off = off + 1
			return nil
		case c == 0xc2 || c == 0xc3:
			t.Kind, t.Key, t.Bool = CDTBool, key, c == 0xc3
			r.off = off + 1
			return nil
		case (c == 0xcd || c == 0xd1) && len(r.b)-off >= 3:
			// uint16, int16: the forms of most other ints of records
			// (Aerospike writes uint16, msgp int16).
			v := binary.BigEndian.Uint16(r.b[off+1:])
			t.Kind, t.Key, t.Int = CDTInt, key, int64(v)
			if c == 0xd1 {
				t.Int = int64(int16(v))
			}
			r.off = off + 3
			return nil
		}
	}
	if err := r.read(t); err != nil {
		return err
	}
	t.Key = key
	if t.Kind == CDTList || t.Kind == CDTMap {
		return r.open(t)
	}
	return nil
}

// edge handles the tokens that are not an element of an open container:
// the value itself (depth 0), the end of a container, and the end of the
// walk.
func (r *CDTReader) edge(t *CDTToken) error {
	if r.done {
		return ErrCDTEnd
	}
	if r.depth > 0 {
		r.depth--
		if r.depth > 0 {
			r.cur = r.stack[r.depth-1]
		} else {
			r.cur = cdtLevel{}
		}
		*t = CDTToken{Kind: CDTEnd}
		if r.depth == 0 {
			return r.finish()
		}
		return nil
	}
	if err := r.read(t); err != nil {
		return err
	}
	t.Key = false
	if t.Kind == CDTList || t.Kind == CDTMap {
		return r.open(t)
	}
	return r.finish()
}

// open pushes the container t just read and drops its order flags.
func (r *CDTReader) open(t *CDTToken) error {
	if r.depth == MaxCDTDepth {
		return r.fail("nesting deeper than " + strconv.Itoa(MaxCDTDepth))
	}
	n := uint32(t.N)
	if t.Kind == CDTMap {
		n *= 2
	}
	if r.depth > 0 {
		r.stack[r.depth-1] = r.cur
	}
	r.cur = cdtLevel{left: n, isMap: t.Kind == CDTMap}
	r.depth++
	return r.orderFlags(t)
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
	l := &r.cur
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
		return r.short(n)
	}
	return nil
}

// short is the fault of a value of n bytes that runs past the end.
func (r *CDTReader) short(n uint64) error {
	return r.fail("value of " + strconv.FormatUint(n, 10) + " bytes runs past the end")
}

// fixed returns the next w bytes (a length, count or scalar of a header)
// and moves past them; ok is false if fewer are left. It inlines, and with
// a constant w the big-endian loads of its callers need no bounds check:
// faster than a call with a switch on the width.
func (r *CDTReader) fixed(w int) (p []byte, ok bool) {
	off := r.off
	if w > len(r.b)-off {
		return nil, false
	}
	r.off = off + w
	return r.b[off : off+w], true
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
	case 0xc4, 0xd9: // bin8, str8
		p, ok := r.fixed(1)
		if !ok {
			return r.short(1)
		}
		return r.payload(t, uint64(p[0]))
	case 0xc5, 0xda: // bin16, str16
		p, ok := r.fixed(2)
		if !ok {
			return r.short(2)
		}
		return r.payload(t, uint64(binary.BigEndian.Uint16(p)))
	case 0xc6, 0xdb: // bin32, str32
		p, ok := r.fixed(4)
		if !ok {
			return r.short(4)
		}
		return r.payload(t, uint64(binary.BigEndian.Uint32(p)))
	case 0xc7: // ext8
		p, ok := r.fixed(1)
		if !ok {
			return r.short(1)
		}
		return r.ext(t, uint64(p[0]))
	case 0xc8: // ext16
		p, ok := r.fixed(2)
		if !ok {
			return r.short(2)
		}
		return r.ext(t, uint64(binary.BigEndian.Uint16(p)))
	case 0xc9: // ext32
		p, ok := r.fixed(4)
		if !ok {
			return r.short(4)
		}
		return r.ext(t, uint64(binary.BigEndian.Uint32(p)))
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1 to 16
		return r.ext(t, 1<<(c-0xd4))
	case 0xca:
		p, ok := r.fixed(4)
		if !ok {
			return r.short(4)
		}
		t.Kind, t.Float, t.Float32 = CDTFloat, float64(math.Float32frombits(binary.BigEndian.Uint32(p))), true
	case 0xcb:
		p, ok := r.fixed(8)
		if !ok {
			return r.short(8)
		}
		t.Kind, t.Float, t.Float32 = CDTFloat, math.Float64frombits(binary.BigEndian.Uint64(p)), false
	case 0xcc:
		p, ok := r.fixed(1)
		if !ok {
			return r.short(1)
		}
		t.Kind, t.Int = CDTInt, int64(p[0])
	case 0xcd:
		p, ok := r.fixed(2)
		if !ok {
			return r.short(2)
		}
		t.Kind, t.Int = CDTInt, int64(binary.BigEndian.Uint16(p))
	case 0xce:
		p, ok := r.fixed(4)
		if !ok {
			return r.short(4)
		}
		t.Kind, t.Int = CDTInt, int64(binary.BigEndian.Uint32(p))
	case 0xcf:
		p, ok := r.fixed(8)
		if !ok {
			return r.short(8)
		}
		if v := binary.BigEndian.Uint64(p); v > math.MaxInt64 {
			t.Kind, t.Uint = CDTUint, v
		} else {
			t.Kind, t.Int = CDTInt, int64(v)
		}
	case 0xd0:
		p, ok := r.fixed(1)
		if !ok {
			return r.short(1)
		}
		t.Kind, t.Int = CDTInt, int64(int8(p[0]))
	case 0xd1:
		p, ok := r.fixed(2)
		if !ok {
			return r.short(2)
		}
		t.Kind, t.Int = CDTInt, int64(int16(binary.BigEndian.Uint16(p)))
	case 0xd2:
		p, ok := r.fixed(4)
		if !ok {
			return r.short(4)
		}
		t.Kind, t.Int = CDTInt, int64(int32(binary.BigEndian.Uint32(p)))
	case 0xd3:
		p, ok := r.fixed(8)
		if !ok {
			return r.short(8)
		}
		t.Kind, t.Int = CDTInt, int64(binary.BigEndian.Uint64(p))
	case 0xdc:
		p, ok := r.fixed(2)
		if !ok {
			return r.short(2)
		}
		return r.container(t, CDTList, uint64(binary.BigEndian.Uint16(p)))
	case 0xdd:
		p, ok := r.fixed(4)
		if !ok {
			return r.short(4)
		}
		return r.container(t, CDTList, uint64(binary.BigEndian.Uint32(p)))
	case 0xde:
		p, ok := r.fixed(2)
		if !ok {
			return r.short(2)
		}
		return r.container(t, CDTMap, uint64(binary.BigEndian.Uint16(p)))
	case 0xdf:
		p, ok := r.fixed(4)
		if !ok {
			return r.short(4)
		}
		return r.container(t, CDTMap, uint64(binary.BigEndian.Uint32(p)))
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
