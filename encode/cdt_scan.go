package encode

import (
	"encoding/binary"
	"math"
	"strconv"

	"github.com/xdrhook/xdrhook/wire"
)

// A list or map bin is MessagePack already. The binary encoders do not walk
// it token by token with wire.CDTReader (a token struct per element costs
// more than copying the bytes through): they transcode it in one pass with the element
// parser below, copying scalars as they are for message-pack. The walk
// applies exactly the rules of wire.CDTReader (xdr-wire.md §6): order-flag
// ext elements in first position dropped (and the nil paired with one in a
// map), type prefixes of strings and bytes, nesting at most
// wire.MaxCDTDepth, counts checked against the bytes left, no trailing
// bytes; faults are *wire.CDTError. The tests compare both walks on the
// same values, malformed ones included.

// Kinds of MessagePack elements.
const (
	mkNil = iota
	mkBool
	mkInt     // x: the int64 bits
	mkUint    // x: an unsigned value above MaxInt64
	mkFloat32 // x: the float32 bits
	mkFloat64 // x: the float64 bits
	mkBytes   // str or bin: n payload bytes after hdr
	mkExt     // sub: the ext type; n data bytes after hdr
	mkList    // n elements follow
	mkMap     // n pairs follow
)

// mpElem is one parsed element header. A scalar takes hdr bytes; a bytes or
// ext element hdr+n; a list or map header hdr.
type mpElem struct {
	kind uint8
	sub  uint8
	hdr  int
	n    int
	x    uint64
}

// size is the number of bytes of the element (a container's header only).
func (e *mpElem) size() int {
	if e.kind == mkBytes || e.kind == mkExt {
		return e.hdr + e.n
	}
	return e.hdr
}

const (
	cdtOK = iota
	cdtShort
	cdtC1
)

// mpParse parses the element at v[off:] into e. (Through a pointer, field
// by field: returning the struct made the caller's wide loads of it miss
// store forwarding, a third of the time of a transcoding walk.)
func mpParse(v []byte, off int, e *mpElem) (fault uint8) {
	if off >= len(v) {
		return cdtShort
	}
	c := v[off]
	rest := len(v) - off - 1
	e.hdr, e.n, e.x = 1, 0, 0
	switch {
	case c <= 0x7f:
		e.kind, e.x = mkInt, uint64(c)
		return cdtOK
	case c >= 0xe0:
		e.kind, e.x = mkInt, uint64(int64(int8(c)))
		return cdtOK
	case c <= 0x8f:
		e.kind, e.n = mkMap, int(c&0x0f)
		return cdtOK
	case c <= 0x9f:
		e.kind, e.n = mkList, int(c&0x0f)
		return cdtOK
	case c <= 0xbf:
		e.kind, e.n = mkBytes, int(c&0x1f)
		if e.n > rest {
			return cdtShort
		}
		return cdtOK
	}
	b := v[off+1:]
	switch c {
	case 0xc0:
		e.kind = mkNil
	case 0xc2, 0xc3:
		e.kind, e.x = mkBool, uint64(c&1)
	case 0xc4, 0xd9:
		if rest < 1 {
			return cdtShort
		}
		e.kind, e.hdr, e.n = mkBytes, 2, int(b[0])
	case 0xc5, 0xda:
		if rest < 2 {
			return cdtShort
		}
		e.kind, e.hdr, e.n = mkBytes, 3, int(binary.BigEndian.Uint16(b))
	case 0xc6, 0xdb:
		if rest < 4 {
			return cdtShort
		}
		e.kind, e.hdr, e.n = mkBytes, 5, int(binary.BigEndian.Uint32(b))
	case 0xc7:
		if rest < 1 {
			return cdtShort
		}
		e.kind, e.hdr, e.n = mkExt, 3, int(b[0])
	case 0xc8:
		if rest < 2 {
			return cdtShort
		}
		e.kind, e.hdr, e.n = mkExt, 4, int(binary.BigEndian.Uint16(b))
	case 0xc9:
		if rest < 4 {
			return cdtShort
		}
		e.kind, e.hdr, e.n = mkExt, 6, int(binary.BigEndian.Uint32(b))
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		e.kind, e.hdr, e.n = mkExt, 2, 1<<(c-0xd4)
	case 0xca:
		if rest < 4 {
			return cdtShort
		}
		e.kind, e.hdr, e.x = mkFloat32, 5, uint64(binary.BigEndian.Uint32(b))
	case 0xcb:
		if rest < 8 {
			return cdtShort
		}
		e.kind, e.hdr, e.x = mkFloat64, 9, binary.BigEndian.Uint64(b)
	case 0xcc:
		if rest < 1 {
			return cdtShort
		}
		e.kind, e.hdr, e.x = mkInt, 2, uint64(b[0])
	case 0xcd:
		if rest < 2 {
			return cdtShort
		}
		e.kind, e.hdr, e.x = mkInt, 3, uint64(binary.BigEndian.Uint16(b))
	case 0xce:
		if rest < 4 {
			return cdtShort
		}
		e.kind, e.hdr, e.x = mkInt, 5, uint64(binary.BigEndian.Uint32(b))
	case 0xcf:
		if rest < 8 {
			return cdtShort
		}
		e.kind, e.hdr, e.x = mkInt, 9, binary.BigEndian.Uint64(b)
		if e.x > math.MaxInt64 {
			e.kind = mkUint
		}
	case 0xd0:
		if rest < 1 {
			return cdtShort
		}
		e.kind, e.hdr, e.x = mkInt, 2, uint64(int64(int8(b[0])))
	case 0xd1:
		if rest < 2 {
			return cdtShort
		}
		e.kind, e.hdr, e.x = mkInt, 3, uint64(int64(int16(binary.BigEndian.Uint16(b))))
	case 0xd2:
		if rest < 4 {
			return cdtShort
		}
		e.kind, e.hdr, e.x = mkInt, 5, uint64(int64(int32(binary.BigEndian.Uint32(b))))
	case 0xd3:
		if rest < 8 {
			return cdtShort
		}
		e.kind, e.hdr, e.x = mkInt, 9, binary.BigEndian.Uint64(b)
	case 0xdc:
		if rest < 2 {
			return cdtShort
		}
		e.kind, e.hdr, e.n = mkList, 3, int(binary.BigEndian.Uint16(b))
	case 0xdd:
		if rest < 4 {
			return cdtShort
		}
		e.kind, e.hdr, e.n = mkList, 5, int(binary.BigEndian.Uint32(b))
	case 0xde:
		if rest < 2 {
			return cdtShort
		}
		e.kind, e.hdr, e.n = mkMap, 3, int(binary.BigEndian.Uint16(b))
	case 0xdf:
		if rest < 4 {
			return cdtShort
		}
		e.kind, e.hdr, e.n = mkMap, 5, int(binary.BigEndian.Uint32(b))
	default: // 0xc1
		return cdtC1
	}
	if e.kind == mkExt {
		if e.n >= len(v)-off-e.hdr+1 { // the type byte is part of hdr
			return cdtShort
		}
		e.sub = v[off+e.hdr-1]
	} else if e.kind == mkBytes && e.n > len(v)-off-e.hdr {
		return cdtShort
	}
	return cdtOK
}

func cdtFault(off int, fault uint8) error {
	if fault == cdtC1 {
		return &wire.CDTError{Offset: off, What: "byte 0xc1 is never used in MessagePack"}
	}
	return &wire.CDTError{Offset: off, What: "value runs past the end"}
}

// cdtWalk is the state of one transcoding walk: the counts of elements
// left in the open containers but the innermost one (which the walk keeps
// in a local variable: a count in memory, decremented and tested at every
// element, made a chain of store-load latencies).
type cdtWalk struct {
	left  [wire.MaxCDTDepth]int
	depth int
}

// open checks the container e at v[off:] (its header already parsed) and
// drops its order flags. It returns the offset after the header and flags,
// the element count without the flags and the flags. The caller pushes it.
func (w *cdtWalk) open(v []byte, off int, e *mpElem) (next, n int, flags uint8, err error) {
	next, n = off+e.hdr, e.n
	per := 1
	if e.kind == mkMap {
		per = 2
	}
	if uint64(n)*uint64(per) > uint64(len(v)-next) {
		what := "list of "
		if e.kind == mkMap {
			what = "map of "
		}
		return next, n, 0, &wire.CDTError{Offset: next, What: what + strconv.Itoa(n) + " elements cannot fit in the " + strconv.Itoa(len(v)-next) + " bytes left"}
	}
	if w.depth == wire.MaxCDTDepth {
		return next, n, 0, &wire.CDTError{Offset: next, What: "nesting deeper than " + strconv.Itoa(wire.MaxCDTDepth)}
	}
	if n > 0 && isExtByte(v[next]) {
		var x mpElem
		if fault := mpParse(v, next, &x); fault != cdtOK {
			return next, n, 0, cdtFault(next, fault)
		}
		flags = x.sub
		next += x.size()
		n--
		if e.kind == mkMap {
			var pv mpElem
			if fault := mpParse(v, next, &pv); fault != cdtOK {
				return next, n, 0, cdtFault(next, fault)
			}
			if pv.kind == mkList || pv.kind == mkMap {
				return next, n, 0, &wire.CDTError{Offset: next + pv.hdr, What: "order flags paired with a container"}
			}
			next += pv.size()
		}
	}
	return next, n, flags, nil
}

// push makes a container of n elements (a map: n pairs) the innermost one;
// left is the count of the one that was.
func (w *cdtWalk) push(left, n int, isMap bool) int {
	if w.depth > 0 {
		w.left[w.depth-1] = left
	}
	w.depth++
	if isMap {
		return 2 * n
	}
	return n
}

// pop closes the innermost container and returns the count left in the
// one that is now innermost.
func (w *cdtWalk) pop() int {
	w.depth--
	if w.depth > 0 {
		return w.left[w.depth-1]
	}
	return -1
}

// mpScalarSize is the size of each fixed-size scalar (nil, bool, int,
// float) by its first byte, 0 for every other element: mpParse's sizes,
// read off once.
var mpScalarSize = func() (t [256]uint8) {
	var b [9]byte
	for c := range t {
		b[0] = byte(c)
		var e mpElem
		if mpParse(b[:], 0, &e) == cdtOK && e.kind <= mkFloat64 {
			t[c] = uint8(e.hdr)
		}
	}
	return t
}()

func isExtByte(c byte) bool { return c >= 0xd4 && c <= 0xd8 || c >= 0xc7 && c <= 0xc9 }

// cdtCursor walks a list or map value as wire.CDTReader does, token by
// token (same kinds, fields and faults; the tests compare the two), with
// the element parser above. The user-schema Avro writer uses it.
type cdtCursor struct {
	v     []byte
	off   int
	done  bool
	w     cdtWalk
	isMap [wire.MaxCDTDepth]bool
}

// Reset starts walking the value v.
func (c *cdtCursor) Reset(v []byte) {
	c.v, c.off, c.done, c.w.depth = v, 0, false, 0
}

func (c *cdtCursor) finish() error {
	c.done = true
	if c.off != len(c.v) {
		return &wire.CDTError{Offset: c.off, What: strconv.Itoa(len(c.v)-c.off) + " trailing bytes after the value"}
	}
	return nil
}

// Next reads the next token into t; after the whole value it returns
// wire.ErrCDTEnd.
func (c *cdtCursor) Next(t *wire.CDTToken) error {
	if c.done {
		return wire.ErrCDTEnd
	}
	w := &c.w
	if w.depth > 0 && w.left[w.depth-1] == 0 {
		w.depth--
		*t = wire.CDTToken{Kind: wire.CDTEnd}
		if w.depth == 0 {
			return c.finish()
		}
		return nil
	}
	key := false
	if w.depth > 0 {
		key = c.isMap[w.depth-1] && w.left[w.depth-1]%2 == 0
		w.left[w.depth-1]--
	}
	var e mpElem
	if fault := mpParse(c.v, c.off, &e); fault != cdtOK {
		return cdtFault(c.off, fault)
	}
	*t = wire.CDTToken{Key: key}
	switch e.kind {
	case mkNil:
		t.Kind = wire.CDTNil
	case mkBool:
		t.Kind, t.Bool = wire.CDTBool, e.x != 0
	case mkInt:
		t.Kind, t.Int = wire.CDTInt, int64(e.x)
	case mkUint:
		t.Kind, t.Uint = wire.CDTUint, e.x
	case mkFloat32:
		t.Kind, t.Float, t.Float32 = wire.CDTFloat, float64(math.Float32frombits(uint32(e.x))), true
	case mkFloat64:
		t.Kind, t.Float = wire.CDTFloat, math.Float64frombits(e.x)
	case mkBytes:
		p := c.v[c.off+e.hdr : c.off+e.hdr+e.n]
		switch {
		case len(p) == 0:
			t.Kind, t.Bytes = wire.CDTBytes, p
		case p[0] == wire.ParticleString:
			t.Kind, t.Bytes = wire.CDTString, p[1:]
		case p[0] == wire.ParticleBlob:
			t.Kind, t.Bytes = wire.CDTBytes, p[1:]
		default:
			t.Kind, t.Sub, t.Bytes = wire.CDTTyped, p[0], p[1:]
		}
	case mkExt:
		t.Kind, t.Sub, t.Bytes = wire.CDTExt, e.sub, c.v[c.off+e.hdr:c.off+e.hdr+e.n]
	case mkList, mkMap:
		nxt, n, flags, err := w.open(c.v, c.off, &e)
		if err != nil {
			return err
		}
		t.Kind, t.N, t.Flags = wire.CDTList, n, flags
		w.left[w.depth] = n
		if e.kind == mkMap {
			t.Kind = wire.CDTMap
			w.left[w.depth] = 2 * n
		}
		c.isMap[w.depth] = e.kind == mkMap
		w.depth++
		c.off = nxt
		return nil
	}
	c.off += e.size()
	if w.depth == 0 {
		return c.finish()
	}
	return nil
}
