package encode

import (
	"encoding/binary"
	"math"
	"strconv"

	"github.com/xdrhook/xdrhook/wire"
)

// The one-pass CDT scanner of the encoders. A list or map bin is
// MessagePack already. The binary encoders (appendMPCDT, appendAvroCDT) and
// the JSON fast path (appendCDTFast) do not walk it token by token with
// wire.CDTReader (a token struct per element costs more than copying the
// bytes through): they transcode it in one pass with the element parser
// below. This file is encode's one copy of the rules of xdr-wire.md §6,
// which wire.CDTReader also applies: order-flag ext elements in first
// position dropped (and the value paired with one in a map), nesting at
// most wire.MaxCDTDepth, counts checked against the bytes left, no trailing
// bytes; faults are *wire.CDTError. (The type prefixes of strings and bytes
// are each transcoder's to write.) It is a second copy of wire's rules for
// speed: cdt_scan_test.go and json_cdt_test.go hold each transcoder to a
// reference built on wire.CDTReader, on the same values, malformed ones
// included (DESIGN.md, encode).

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

// Faults of the scanner (cdtFault makes them a *wire.CDTError).
const (
	cdtOK = iota
	cdtShort
	cdtC1
	cdtFlagsPair // order flags in a map paired with a container
)

// mpParse parses the element at v[off:] into e. (Through a pointer, field
// by field: returning the struct made the caller's wide loads of it miss
// store forwarding.)
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
	switch fault {
	case cdtC1:
		return &wire.CDTError{Offset: off, What: "byte 0xc1 is never used in MessagePack"}
	case cdtFlagsPair:
		return &wire.CDTError{Offset: off, What: "order flags paired with a container"}
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
		var fault uint8
		if next, flags, fault = skipOrderFlags(v, next, e.kind == mkMap); fault != cdtOK {
			return next, n, 0, cdtFault(next, fault)
		}
		n--
	}
	return next, n, flags, nil
}

// skipOrderFlags skips the order flags of a list or map whose first
// element, at v[next], is an ext (isExtByte): the ext, and in a map the
// value paired with it, which must not be a container. It returns the
// offset after them and the flags (the ext's type); on a fault, the offset
// of the fault. Aerospike writes c7 00 <flags> (and nil in a map): that
// spelling is read without the general parser.
func skipOrderFlags(v []byte, next int, isMap bool) (_ int, flags uint8, fault uint8) {
	if v[next] == 0xc7 && len(v)-next >= 3 && v[next+1] == 0 {
		flags = v[next+2]
		next += 3
	} else {
		var x mpElem
		if fault := mpParse(v, next, &x); fault != cdtOK {
			return next, 0, fault
		}
		flags = x.sub
		next += x.size()
	}
	if isMap {
		if next < len(v) && v[next] == 0xc0 {
			return next + 1, flags, cdtOK
		}
		var x mpElem
		if fault := mpParse(v, next, &x); fault != cdtOK {
			return next, 0, fault
		}
		if x.kind == mkList || x.kind == mkMap {
			return next + x.hdr, 0, cdtFlagsPair
		}
		next += x.size()
	}
	return next, flags, cdtOK
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
