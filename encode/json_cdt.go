package encode

import (
	"encoding/binary"
	"math"

	"github.com/xdrhook/xdrhook/wire"
)

// The fast path of list and map values for the JSON formats.
//
// jsonWriter.appendCDT renders a list or map from wire.CDTReader tokens: a
// call and a token written and read back per element, a call per container
// level, one more token per container end: a large part of the time of a
// typical record. appendCDTFast renders the common values in one
// pass over the bytes instead, with the element parser of the binary
// encoders (mpParse: the rules of wire.CDTReader), and writes exactly the
// same text.
//
// It does not try to cover everything: on a fault of any kind, a map key
// that is not a string, bytes, ext or an integer (nil, bool, float, GeoJSON,
// list and map keys are spelled by appendName), or a name already present in
// the object (renaming counts in KeyStats), it gives up: it returns false,
// with dst at its original length and the key stacks as they were, and the
// caller renders the value with appendCDT, which reports the fault or
// handles the case. appendCDT stays the reference: the tests compare the two
// on every sample value, well formed or not.

// appendCDTFast renders the list or map value v as appendCDT does and fills
// top (Kind, Key, N, Flags) as appendCDT's first token. ok is false when it
// gave up (see above).
func (w *jsonWriter) appendCDTFast(dst, v []byte, top *wire.CDTToken) (_ []byte, ok bool) {
	var isMap bool
	var n, next int
	switch {
	case len(v) == 0:
		return dst, false
	case v[0]&0xe0 == 0x80: // fixmap, fixarray: the header of nearly every value
		isMap, n, next = v[0] < 0x90, int(v[0]&0x0f), 1
	default:
		var e mpElem
		if mpParse(v, 0, &e) != cdtOK || e.kind != mkList && e.kind != mkMap {
			return dst, false // a scalar where a container belongs, or a fault
		}
		isMap, n, next = e.kind == mkMap, e.n, e.hdr
	}
	start, nKeys, nTab := len(dst), len(w.keys.keys), len(w.keys.tab)
	d, next, ok := w.fastContainer(dst, v, next, isMap, n, 0, top)
	if !ok || next != len(v) { // trailing bytes: appendCDT reports them
		w.keys.keys, w.keys.tab = w.keys.keys[:nKeys], w.keys.tab[:nTab]
		return d[:start], false
	}
	return d, true
}

// fastContainer renders the list or map (isMap) of n elements (pairs)
// whose header ends at v[next], inside depth open containers, and returns
// the offset after it. It checks what cdtWalk.open checks (the count
// against the bytes left, the depth) and drops the order flags with the
// same skipOrderFlags.
// top, if not nil, receives the container's token.
func (w *jsonWriter) fastContainer(dst, v []byte, next int, isMap bool, n, depth int, top *wire.CDTToken) (_ []byte, _ int, ok bool) {
	count := n // elements to come: a map counts keys and values
	if isMap {
		count = 2 * n
	}
	if uint64(count) > uint64(len(v)-next) || depth == wire.MaxCDTDepth {
		return dst, next, false
	}
	var flags uint8
	if n > 0 && isExtByte(v[next]) {
		var fault uint8
		if next, flags, fault = skipOrderFlags(v, next, isMap); fault != cdtOK {
			return dst, next, false
		}
		n--
		count--
		if isMap {
			count--
		}
	}
	if top != nil {
		top.Kind, top.Key, top.N, top.Flags = wire.CDTList, false, n, flags
		if isMap {
			top.Kind = wire.CDTMap
		}
	}
	// One loop for both kinds, a map's keys at the even positions. The
	// commonest elements, a short string and an integer of up to 16 bits,
	// are written right here, without the call to fastElem or fastKey.
	var o keyObj
	if isMap {
		dst = append(dst, '{')
		o = w.keys.open()
	} else {
		dst = append(dst, '[')
	}
	for i := 0; i < count; i++ {
		isKey := isMap && i&1 == 0
		if i > 0 {
			if isMap && !isKey {
				dst = append(dst, ':')
			} else {
				dst = append(dst, ',')
			}
		}
		if next >= len(v) {
			return dst, next, false
		}
		ks := len(dst)
		c := v[next]
		switch l := int(c & 0x1f); {
		case c <= 0x7f && !isKey:
			dst = appendUint(dst, uint64(c))
			next++
		case c >= 0xa1 && c <= 0xbf && l < len(v)-next && v[next+1] == wire.ParticleString:
			dst = appendJSONString(dst, v[next+2:next+1+l])
			next += 1 + l
		case (c == 0xcd || c == 0xd1) && !isKey && len(v)-next >= 3: // uint16, int16
			x := int64(binary.BigEndian.Uint16(v[next+1:]))
			if c == 0xd1 {
				x = int64(int16(x))
			}
			dst = appendInt(dst, x)
			next += 3
		case isKey:
			if dst, next, ok = w.fastKey(dst, v, next); !ok {
				return dst, next, false
			}
		default:
			if dst, next, ok = w.fastElem(dst, v, next, depth+1); !ok {
				return dst, next, false
			}
		}
		if isKey && !w.keys.addNew(&o, dst, ks) {
			h, dup := w.keys.find(&o, dst, ks)
			if dup {
				return dst, next, false
			}
			w.keys.insert(&o, dst, ks, h)
		}
	}
	if isMap {
		w.keys.close(&o)
		return append(dst, '}'), next, true
	}
	return append(dst, ']'), next, true
}

// fastElem renders the element at v[off:] (inside depth open containers)
// as appendValue does and returns the offset after it.
func (w *jsonWriter) fastElem(dst, v []byte, off, depth int) (_ []byte, next int, ok bool) {
	if off >= len(v) {
		return dst, off, false
	}
	// The commonest elements first, without the general parser: a small
	// non-negative integer and a short string.
	c := v[off]
	if c <= 0x7f {
		return appendUint(dst, uint64(c)), off + 1, true
	}
	if n := int(c & 0x1f); c >= 0xa1 && c <= 0xbf && n < len(v)-off && v[off+1] == wire.ParticleString {
		return appendJSONString(dst, v[off+2:off+1+n]), off + 1 + n, true
	}
	// Then the other one-byte scalars and doubles, as mpParse would read
	// them (a call and a switch fewer).
	switch {
	case c >= 0xe0: // negative fixint
		return appendInt(dst, int64(int8(c))), off + 1, true
	case c == 0xc0:
		return append(dst, "null"...), off + 1, true
	case c == 0xc2 || c == 0xc3:
		return appendBool(dst, c == 0xc3), off + 1, true
	case c == 0xcb && len(v)-off >= 9:
		return appendJSONFloat(dst, math.Float64frombits(binary.BigEndian.Uint64(v[off+1:])), 64), off + 9, true
	}
	var e mpElem
	if mpParse(v, off, &e) != cdtOK {
		return dst, off, false
	}
	switch e.kind {
	case mkNil:
		dst = append(dst, "null"...)
	case mkBool:
		dst = appendBool(dst, e.x != 0)
	case mkInt:
		dst = appendInt(dst, int64(e.x))
	case mkUint:
		dst = appendUint(dst, e.x)
	case mkFloat32:
		dst = appendJSONFloat(dst, float64(math.Float32frombits(uint32(e.x))), 32)
	case mkFloat64:
		dst = appendJSONFloat(dst, math.Float64frombits(e.x), 64)
	case mkBytes:
		dst = w.fastPayload(dst, v[off+e.hdr:off+e.hdr+e.n])
	case mkExt:
		dst = appendQuotedBase64(dst, v[off+e.hdr:off+e.hdr+e.n])
	case mkList, mkMap:
		return w.fastContainer(dst, v, off+e.hdr, e.kind == mkMap, e.n, depth, nil)
	}
	return dst, off + e.size(), true
}

// fastPayload renders the payload of a str or bin element: typed bytes
// with their particle type first (wire.CDTReader's CDTString, CDTBytes,
// CDTTyped), or empty bytes.
func (w *jsonWriter) fastPayload(dst, p []byte) []byte {
	switch {
	case len(p) == 0:
		return append(dst, '"', '"') // empty bytes: base64 of nothing
	case p[0] == wire.ParticleString:
		return appendJSONString(dst, p[1:])
	case p[0] == wire.ParticleGeoJSON:
		return w.appendGeoJSON(dst, p[1:])
	}
	return appendQuotedBase64(dst, p[1:])
}

// fastKey renders the map key at v[off:] as an object name, as appendName
// does for a string, bytes, typed bytes other than GeoJSON, an ext or an
// integer; other keys give up.
func (w *jsonWriter) fastKey(dst, v []byte, off int) (_ []byte, next int, ok bool) {
	if off >= len(v) {
		return dst, off, false
	}
	c := v[off]
	if n := int(c & 0x1f); c >= 0xa1 && c <= 0xbf && n < len(v)-off && v[off+1] == wire.ParticleString {
		return appendJSONString(dst, v[off+2:off+1+n]), off + 1 + n, true
	}
	var e mpElem
	if mpParse(v, off, &e) != cdtOK {
		return dst, off, false
	}
	switch e.kind {
	case mkInt:
		dst = append(dst, '"')
		dst = appendInt(dst, int64(e.x))
		dst = append(dst, '"')
	case mkUint:
		dst = append(dst, '"')
		dst = appendUint(dst, e.x)
		dst = append(dst, '"')
	case mkBytes:
		p := v[off+e.hdr : off+e.hdr+e.n]
		if len(p) > 0 && p[0] == wire.ParticleGeoJSON {
			return dst, off, false
		}
		dst = w.fastPayload(dst, p)
	case mkExt:
		dst = appendQuotedBase64(dst, v[off+e.hdr:off+e.hdr+e.n])
	default:
		return dst, off, false
	}
	return dst, off + e.size(), true
}
