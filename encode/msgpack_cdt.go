package encode

import (
	"encoding/binary"
	"math"
	"slices"
	"strconv"

	"github.com/tinylib/msgp/msgp"
	"github.com/xdrhook/xdrhook/wire"
)

// appendMPCDT appends the flags and the value of a list or map bin of
// particle type pt, as plain MessagePack (message-pack format): scalars
// as they are on the wire, strings as str, blobs as bin, typed bytes as an
// ext of the particle type. w is scratch.
func appendMPCDT(dst []byte, w *cdtWalk, pt uint8, v []byte) ([]byte, error) {
	var e mpElem
	w.depth = 0
	off, left := 0, 0
	// The usual top container: a fixarray or fixmap without order flags.
	// Its header is copied and the walk starts inside it, as open and push
	// would have left it (same count check; anything else goes the long way).
	if len(v) >= 2 && v[0]&0xe0 == 0x80 && !isExtByte(v[1]) {
		n := int(v[0] & 0x0f)
		if v[0] < 0x90 {
			n *= 2
		}
		if n < len(v) {
			dst = append(dst, 0, v[0]) // flags: none without the ext
			w.depth, left, off = 1, n, 1
		}
	}
	for {
		if w.depth > 0 {
			// Fast path: runs of the commonest elements, fixed-size
			// scalars (copied as they are) and strings of up to 16 bytes,
			// in the innermost container, written in place (Append grew
			// dst) with word stores, no append and no call to memmove.
			for left > 0 && off < len(v) && cap(dst)-len(dst) >= 18 {
				c := v[off]
				l := len(dst)
				d := dst[l : l+18]
				if s := int(mpScalarSize[c]); s != 0 {
					if s > len(v)-off {
						break // the parser reports it
					}
					switch {
					case s == 1:
						d[0] = c
					case s >= 8:
						binary.LittleEndian.PutUint64(d, binary.LittleEndian.Uint64(v[off:]))
						d[s-1] = v[off+s-1]
					case s >= 4:
						binary.LittleEndian.PutUint32(d, binary.LittleEndian.Uint32(v[off:]))
						d[s-1] = v[off+s-1]
					default:
						d[0], d[1], d[s-1] = c, v[off+1], v[off+s-1]
					}
					dst = dst[:l+s]
					off += s
					left--
					continue
				}
				n := int(c & 0x1f) // the type byte and the payload
				if c < 0xa1 || c > 0xb1 || n >= len(v)-off {
					break
				}
				p := v[off+2 : off+1+n]
				if v[off+1] != wire.ParticleString {
					if v[off+1] != wire.ParticleBlob {
						break
					}
					// A blob becomes bin8: the string's copy, a byte on.
					d[0], d[1] = 0xc4, byte(n-1)
					switch m := len(p); {
					case m >= 8:
						lo := binary.LittleEndian.Uint64(p)
						hi := binary.LittleEndian.Uint64(p[m-8:])
						binary.LittleEndian.PutUint64(d[2:], lo)
						binary.LittleEndian.PutUint64(d[m-6:], hi)
					case m >= 4:
						lo := binary.LittleEndian.Uint32(p)
						hi := binary.LittleEndian.Uint32(p[m-4:])
						binary.LittleEndian.PutUint32(d[2:], lo)
						binary.LittleEndian.PutUint32(d[m-2:], hi)
					case m > 0:
						d[2], d[2+m>>1], d[1+m] = p[0], p[m>>1], p[m-1]
					}
					dst = dst[:l+1+n]
					off += 1 + n
					left--
					continue
				}
				d[0] = c - 1
				// copyShort(d[1:], p), by hand: a call here would make the
				// loop spill its registers.
				switch m := len(p); {
				case m >= 8:
					lo := binary.LittleEndian.Uint64(p)
					hi := binary.LittleEndian.Uint64(p[m-8:])
					binary.LittleEndian.PutUint64(d[1:], lo)
					binary.LittleEndian.PutUint64(d[m-7:], hi)
				case m >= 4:
					lo := binary.LittleEndian.Uint32(p)
					hi := binary.LittleEndian.Uint32(p[m-4:])
					binary.LittleEndian.PutUint32(d[1:], lo)
					binary.LittleEndian.PutUint32(d[m-3:], hi)
				case m > 0:
					d[1], d[1+m>>1], d[m] = p[0], p[m>>1], p[m-1]
				}
				dst = dst[:l+n]
				off += 1 + n
				left--
			}
			if left == 0 {
				goto next
			}
			left--
		}
		if fault := mpParse(v, off, &e); fault != cdtOK {
			return dst, cdtFault(off, fault)
		}
		switch e.kind {
		case mkList, mkMap:
			top := w.depth == 0
			nxt, n, flags, err := w.open(v, off, &e)
			if err != nil {
				return dst, err
			}
			if top {
				var f uint8
				if e.kind == mkList && pt == wire.ParticleList {
					f = flags & 0x01
				} else if e.kind == mkMap && pt == wire.ParticleMap {
					f = flags & 0x03
				}
				dst = append(dst, f)
			}
			if e.kind == mkList {
				dst = appendMPArrayHeader(dst, n)
			} else {
				dst = appendMPMapHeader(dst, n)
			}
			left = w.push(left, n, e.kind == mkMap)
			off = nxt
		case mkBytes:
			if w.depth == 0 {
				dst = append(dst, 0)
			}
			p := v[off+e.hdr : off+e.hdr+e.n]
			switch {
			case len(p) == 0:
				dst = append(dst, 0xc4, 0)
			case p[0] == wire.ParticleString:
				dst = appendMPStr(dst, p[1:])
			case p[0] == wire.ParticleBlob:
				dst = appendMPBin(dst, p[1:])
			default:
				dst = appendExt(dst, p[0], p[1:])
			}
			off += e.hdr + e.n
		default:
			if w.depth == 0 {
				dst = append(dst, 0)
			}
			sz := e.size()
			dst = append(dst, v[off:off+sz]...)
			off += sz
		}
	next:
		for w.depth > 0 && left == 0 {
			left = w.pop()
		}
		if w.depth == 0 {
			break
		}
	}
	if off != len(v) {
		return dst, &wire.CDTError{Offset: off, What: strconv.Itoa(len(v)-off) + " trailing bytes after the value"}
	}
	return dst, nil
}

// Fast paths of msgp's appenders for the short strings and small headers
// of records (msgp's own take a function call and a capacity check each).
// Append grows dst once up front (msgp.Require, by the Msgsize of the
// whole message, which keep estimates), so these find the room they
// check for and write in place with index stores.

func appendMPStr(dst, s []byte) []byte {
	n := len(dst)
	if len(s) <= 16 && cap(dst)-n >= 17 {
		d := dst[n : n+17]
		d[0] = 0xa0 | byte(len(s))
		copyShort(d[1:], s)
		return dst[:n+1+len(s)]
	}
	if len(s) < 32 {
		dst = append(dst, 0xa0|byte(len(s)))
		return append(dst, s...)
	}
	return msgp.AppendStringFromBytes(dst, s)
}

func appendMPBin(dst, b []byte) []byte {
	if len(b) <= math.MaxUint8 {
		dst = append(dst, 0xc4, byte(len(b)))
		return append(dst, b...)
	}
	return msgp.AppendBytes(dst, b)
}

// appendMPInt is msgp.AppendInt64 (the same smallest signed form) written
// in place.
func appendMPInt(dst []byte, i int64) []byte {
	if i >= -32 && i <= math.MaxInt8 {
		return append(dst, byte(i)) // fixint
	}
	n := len(dst)
	if cap(dst)-n < 9 {
		dst = slices.Grow(dst, 9)
	}
	d := dst[n : n+9]
	switch {
	case i >= math.MinInt8 && i < 0:
		d[0], d[1] = 0xd0, byte(i)
		return dst[:n+2]
	case i >= math.MinInt16 && i <= math.MaxInt16:
		d[0] = 0xd1
		binary.BigEndian.PutUint16(d[1:], uint16(i))
		return dst[:n+3]
	case i >= math.MinInt32 && i <= math.MaxInt32:
		d[0] = 0xd2
		binary.BigEndian.PutUint32(d[1:], uint32(i))
		return dst[:n+5]
	}
	d[0] = 0xd3
	binary.BigEndian.PutUint64(d[1:], uint64(i))
	return dst[:n+9]
}

func appendMPArrayHeader(dst []byte, n int) []byte {
	if n < 16 {
		return append(dst, 0x90|byte(n))
	}
	return msgp.AppendArrayHeader(dst, uint32(n))
}

func appendMPMapHeader(dst []byte, n int) []byte {
	if n < 16 {
		return append(dst, 0x80|byte(n))
	}
	return msgp.AppendMapHeader(dst, uint32(n))
}
