package encode

import (
	"encoding/binary"
	"hash/maphash"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/xdrhook/xdrhook/wire"
)

// Low-level JSON writers shared by the json and flat-json formats and their
// framings. They append to a caller's buffer and never allocate beyond the
// buffer's growth. Every identifier here starts with json so that the other
// encoders of this package can pick their own names freely.

// jsonSafe marks the bytes a JSON string can hold raw without a closer
// look: printable ASCII other than '"' and '\\'. Bytes >= 0x80 are false
// (they start a rune that must be checked).
var jsonSafe = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return
}()

const jsonHex = "0123456789abcdef"

// jsonAppendASCIIEscape appends the escape of an ASCII byte that jsonSafe
// rejects: \" \\ \b \f \n \r \t, or \u00XX for the other control bytes.
func jsonAppendASCIIEscape(dst []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', jsonHex[c>>4], jsonHex[c&0xf])
}

// jsonAppendRune appends r as it appears inside a JSON string written by
// this package. The form is canonical (one spelling per rune), so two
// strings are equal exactly when their escaped texts are: the duplicate-key
// check compares texts. U+2028 and U+2029 are escaped (JavaScript-safe
// output) and so is U+FFFD, so that the replacement of invalid UTF-8 and a
// real U+FFFD have the same spelling.
func jsonAppendRune(dst []byte, r rune) []byte {
	switch {
	case r < utf8.RuneSelf:
		if jsonSafe[r] {
			return append(dst, byte(r))
		}
		return jsonAppendASCIIEscape(dst, byte(r))
	case r == '\u2028':
		return append(dst, `\u2028`...)
	case r == '\u2029':
		return append(dst, `\u2029`...)
	case r == utf8.RuneError:
		return append(dst, `\ufffd`...)
	}
	return utf8.AppendRune(dst, r)
}

// jsonAppendString appends s as a quoted JSON string. Runs of bytes that
// need no escape (printable ASCII other than " and \, and valid UTF-8 other
// than U+2028, U+2029, U+FFFD) are copied as they are; invalid UTF-8
// becomes \ufffd, one per invalid byte, as encoding/json does.
//
// Nearly every string of a record is short printable ASCII, so the fast
// paths check and copy it a word at a time in one pass (see jsonSafe8),
// storing straight into dst: no separate scan, no call to memmove (a call
// makes the caller spill its registers: Go's calling convention keeps none
// across it). This function is the path of strings of up to 16 bytes (bin
// names, map keys, most values) when dst has room: it is kept small, with
// every other case handed to jsonAppendStringLong, so that it has no
// registers to spill itself.
func jsonAppendString(dst []byte, s []byte) []byte {
	n := len(dst)
	if len(s) > 16 || cap(dst)-n < 18 {
		return jsonAppendStringLong(dst, s)
	}
	d := dst[n : n+18]
	switch {
	case len(s) >= 8: // two overlapping words
		lo := binary.LittleEndian.Uint64(s)
		hi := binary.LittleEndian.Uint64(s[len(s)-8:])
		if !jsonSafe8(lo) || !jsonSafe8(hi) {
			return jsonAppendStringLong(dst, s)
		}
		binary.LittleEndian.PutUint64(d[1:], lo)
		binary.LittleEndian.PutUint64(d[len(s)-7:], hi)
	case len(s) >= 4: // two overlapping halves, checked as one word
		lo := binary.LittleEndian.Uint32(s)
		hi := binary.LittleEndian.Uint32(s[len(s)-4:])
		if !jsonSafe8(uint64(lo) | uint64(hi)<<32) {
			return jsonAppendStringLong(dst, s)
		}
		binary.LittleEndian.PutUint32(d[1:], lo)
		binary.LittleEndian.PutUint32(d[len(s)-3:], hi)
	case len(s) > 0:
		// s[0], s[len/2] and s[len-1] cover 1 to 3 bytes; the upper bytes
		// of the word are filled with spaces (safe).
		a, b, c := s[0], s[len(s)>>1], s[len(s)-1]
		if !jsonSafe8(uint64(a) | uint64(b)<<8 | uint64(c)<<16 | 0x2020202020<<24) {
			return jsonAppendStringLong(dst, s)
		}
		d[1], d[1+len(s)>>1], d[len(s)] = a, b, c
	}
	d[0] = '"'
	d[len(s)+1] = '"'
	return dst[:n+len(s)+2]
}

// jsonAppendStringLong is jsonAppendString for every string: 8-byte words
// checked and stored while they are safe, the tail as one overlapping word,
// and from the first word that holds a byte needing a look, jsonEscapeFrom
// at its offset (the bytes before it are in place already).
func jsonAppendStringLong(dst []byte, s []byte) []byte {
	if cap(dst)-len(dst) < len(s)+2 {
		dst = slices.Grow(dst, len(s)+2)
	}
	n := len(dst)
	// d is the whole quoted string: its length is known and so is that of
	// every store below, which removes most bounds checks.
	d := dst[n : n+len(s)+2]
	d[0] = '"'
	if len(s) < 8 {
		return jsonEscapeFrom(dst[:n+1], s, 0)
	}
	i := 0
	for ; len(s)-i >= 8; i += 8 {
		x := binary.LittleEndian.Uint64(s[i:])
		if !jsonSafe8(x) {
			return jsonEscapeFrom(dst[:n+1+i], s, i)
		}
		binary.LittleEndian.PutUint64(d[1+i:], x)
	}
	if i < len(s) {
		x := binary.LittleEndian.Uint64(s[len(s)-8:])
		if !jsonSafe8(x) {
			return jsonEscapeFrom(dst[:n+1+i], s, i)
		}
		binary.LittleEndian.PutUint64(d[len(s)-7:], x)
	}
	d[len(s)+1] = '"'
	return dst[:n+len(s)+2]
}

// jsonEscapeFrom ends the string whose opening quote and first i bytes are
// written already: it appends the escape of s[i:] and the closing quote.
func jsonEscapeFrom(dst, s []byte, i int) []byte {
	dst = jsonEscapeTail(dst, s, i)
	return append(dst, '"')
}

// jsonSafe8 reports whether none of the 8 bytes of x needs a closer look:
// no byte >= 0x80, < 0x20, '"' or '\\'. A borrow between bytes can make it
// report false for a safe word, never true for an unsafe one (a byte below
// 0x20, or a zero byte of q or b, always ends with its high bit set).
func jsonSafe8(x uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q := x ^ (lo * '"')
	b := x ^ (lo * '\\')
	return (x|(x-lo*0x20)|(q-lo)|(b-lo))&hi == 0
}

// jsonScanSafe returns the index of the first byte at or after i that
// jsonSafe rejects, or len(s). Words of 8 bytes are checked at once; the
// tail of 4 to 7 bytes as one word made of two overlapping halves, the tail
// of 8 or more as the overlapping last word, so that short names rarely go
// byte by byte.
func jsonScanSafe(s []byte, i int) int {
	switch n := len(s) - i; {
	case n >= 8:
		for ; len(s)-i >= 8; i += 8 {
			if !jsonSafe8(binary.LittleEndian.Uint64(s[i:])) {
				return jsonScanBytes(s, i)
			}
		}
		if i == len(s) || jsonSafe8(binary.LittleEndian.Uint64(s[len(s)-8:])) {
			return len(s)
		}
	case n >= 4:
		x := uint64(binary.LittleEndian.Uint32(s[i:])) | uint64(binary.LittleEndian.Uint32(s[len(s)-4:]))<<32
		if jsonSafe8(x) {
			return len(s)
		}
	}
	return jsonScanBytes(s, i)
}

func jsonScanBytes(s []byte, i int) int {
	for ; i < len(s); i++ {
		if !jsonSafe[s[i]] {
			break
		}
	}
	return i
}

// jsonAppendEscaped appends the inside of the JSON string for s (no quotes).
// Most strings need no escape at all: one scan, one copy. The others go
// byte by byte from the first byte that needs a look.
func jsonAppendEscaped(dst []byte, s []byte) []byte {
	i := jsonScanSafe(s, 0)
	if i == len(s) {
		return append(dst, s...)
	}
	return jsonEscapeTail(append(dst, s[:i]...), s, i)
}

// jsonEscapeTail appends the escape of s[i:], byte by byte from i (the
// bytes before i are written already).
func jsonEscapeTail(dst []byte, s []byte, i int) []byte {
	start := i
	for i < len(s) {
		c := s[i]
		if jsonSafe[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			dst = jsonAppendASCIIEscape(dst, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError || r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = jsonAppendRune(dst, r)
			start = i + size
		}
		i += size
	}
	return append(dst, s[start:]...)
}

// jsonReserve is the room Append makes sure dst has before a message:
// enough for a typical record. Less room left than that, it grows dst once
// by an estimate of the whole message (jsonGrow).
const jsonReserve = 1024

// jsonGrow readies dst for the message of m: one growth by an estimate of
// its size (twice its names and values, plus the members around them)
// rather than one per append as the buffer fills, and room for the fast
// paths, which write straight into dst when it has room. When dst has
// jsonReserve bytes of room, the usual case for a batch buffer, it costs one
// compare.
func jsonGrow(dst []byte, m *wire.Message) []byte {
	if cap(dst)-len(dst) >= jsonReserve {
		return dst
	}
	est := 256 + 2*(len(m.Namespace)+len(m.Set)+len(m.Key.Bytes))
	for i := range m.Bins {
		est += 64 + 2*(len(m.Bins[i].Name)+len(m.Bins[i].Value))
	}
	return slices.Grow(dst, est)
}

// jsonAppendStringStr is jsonAppendString for a Go string (configuration
// values); the conversion does not allocate.
func jsonAppendStringStr(dst []byte, s string) []byte {
	return jsonAppendString(dst, jsonStrBytes(s))
}

// jsonStrBytes views s as bytes without copying; the bytes must not be
// modified.
func jsonStrBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// jsonB64Pairs maps 12 bits to their two characters of standard base64, as
// a little-endian 16-bit word: three bytes (24 bits) are two lookups and
// one 32-bit store, instead of four lookups and four byte stores.
var jsonB64Pairs = func() (t [1 << 12]uint16) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range t {
		t[i] = uint16(alphabet[i>>6]) | uint16(alphabet[i&63])<<8
	}
	return
}()

// jsonB64x6 encodes the 6 bytes in the top 48 bits of x (big-endian) as 8
// characters, in memory order as a little-endian word.
func jsonB64x6(x uint64) uint64 {
	lo := uint64(jsonB64Pairs[x>>52]) | uint64(jsonB64Pairs[x>>40&0xfff])<<16
	hi := uint64(jsonB64Pairs[x>>28&0xfff]) | uint64(jsonB64Pairs[x>>16&0xfff])<<16
	return lo | hi<<32
}

// jsonAppendBase64 appends b as a quoted standard base64 string (padded),
// the text of base64.StdEncoding. The digest and the blobs of a record are
// short: encoding in place, 6 bytes per 64-bit load while 8 can be read,
// costs about a third of AppendEncode with its separate grow, call and
// byte-at-a-time loop.
func jsonAppendBase64(dst, b []byte) []byte {
	n := (len(b)+2)/3*4 + 2
	if cap(dst)-len(dst) < n {
		return jsonAppendBase64(slices.Grow(dst, n), b) // growslice off the common path
	}
	if len(b) == wire.DigestSize {
		return jsonAppendBase64Digest(dst, b)
	}
	start := len(dst)
	dst = dst[:start+n]
	dst[start] = '"'
	dst[start+n-1] = '"'
	d := dst[start+1 : start+n-1]
	for len(b) >= 8 && len(d) >= 8 {
		binary.LittleEndian.PutUint64(d, jsonB64x6(binary.BigEndian.Uint64(b)))
		b, d = b[6:], d[8:]
	}
	for len(b) >= 3 && len(d) >= 4 {
		x := uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])
		binary.LittleEndian.PutUint32(d, uint32(jsonB64Pairs[x>>12])|uint32(jsonB64Pairs[x&0xfff])<<16)
		b, d = b[3:], d[4:]
	}
	jsonB64Tail(d, b)
	return dst
}

// jsonB64Tail writes the last 1 or 2 bytes b (none: nothing) as 4 padded
// characters to d.
func jsonB64Tail(d, b []byte) {
	switch len(b) {
	case 1:
		p := jsonB64Pairs[uint32(b[0])<<4]
		binary.LittleEndian.PutUint32(d, uint32(p)|'='<<16|'='<<24)
	case 2:
		x := uint32(b[0])<<16 | uint32(b[1])<<8
		binary.LittleEndian.PutUint32(d, uint32(jsonB64Pairs[x>>12])|uint32(jsonB64Pairs[x&0xfff]&0xff)<<16|'='<<24)
	}
}

// jsonAppendBase64Digest is jsonAppendBase64 for the 20 bytes of a digest,
// in every message: straight-line code, three 6-byte words and a tail of 2,
// with constant offsets that need no bounds checks. dst has room for the
// 30 bytes.
func jsonAppendBase64Digest(dst, b []byte) []byte {
	start := len(dst)
	dst = dst[:start+30]
	d := dst[start : start+30]
	b = b[:20]
	d[0] = '"'
	binary.LittleEndian.PutUint64(d[1:], jsonB64x6(binary.BigEndian.Uint64(b[0:])))
	binary.LittleEndian.PutUint64(d[9:], jsonB64x6(binary.BigEndian.Uint64(b[6:])))
	binary.LittleEndian.PutUint64(d[17:], jsonB64x6(binary.BigEndian.Uint64(b[12:])))
	jsonB64Tail(d[25:29], b[18:20])
	d[29] = '"'
	return dst
}

// jsonAppendFloat appends f as a JSON number the way encoding/json and
// ECMAScript's Number.prototype.toString do: the shortest text that parses
// back to the same value (bits 32 for a float32 from a list or map), plain
// decimal for 1e-6 <= |f| < 1e21 (so 2.0 is written 2 and 1e6 is 1000000),
// exponent form otherwise (1e+21, 1e-7). -0.0 keeps its sign ("-0").
// Non-finite values are the strings "NaN", "Infinity" and "-Infinity".
func jsonAppendFloat(dst []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Infinity"`...)
	}
	// Integral values whose neighbours are at most 1 apart (below 2^53, or
	// 2^24 for a float32) print as integers with the same digits as the
	// shortest-digits search, which costs much more.
	limit := int64(1) << 53
	if bits == 32 {
		limit = 1 << 24
	}
	if i := int64(f); float64(i) == f && i > -limit && i < limit && (i != 0 || !math.Signbit(f)) {
		return jsonAppendInt(dst, i)
	}
	if bits == 64 {
		if d, ok := jsonAppendShortDecimal(dst, f); ok {
			return d
		}
	}
	fmt := byte('f')
	if abs := math.Abs(f); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) ||
			bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			fmt = 'e'
		}
	}
	dst = strconv.AppendFloat(dst, f, fmt, -1, bits)
	if fmt == 'e' {
		// 1e-07 → 1e-7, as ECMAScript writes it.
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// jsonFloatPow10 holds 10^0 to 10^jsonShortMaxFrac as float64 (all exact).
var jsonFloatPow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8}

// jsonShortMaxFrac is the most fraction digits jsonAppendShortDecimal
// tries: values of a record (prices, measures, coordinates) rarely have
// more, and each try costs a division, wasted for the values it does not
// find.
const jsonShortMaxFrac = len(jsonFloatPow10) - 1

// jsonAppendShortDecimal is the fast path of jsonAppendFloat (float64) for
// values with few fraction digits, such as 1234.56: strconv's
// shortest-digits search costs several times more. It looks for the
// smallest k (1 to jsonShortMaxFrac) such that some integer m makes m/10^k
// parse back to |f|, and writes m/10^k in plain decimal. That is strconv's
// text, provided m/10^k is the only decimal with k fraction digits that
// parses back to |f|; and it is, and m is round(|f|*10^k), whenever
// |f|*10^k < 2^51:
//   - the values that parse to |f| lie within ulp/2 <= |f|*2^-53 of it, so
//     a k-digit one is within |f|*10^k*2^-53 < 1/4 of |f|*10^k in units of
//     10^-k, and the product as computed is off by less than another 1/4:
//     rounding it gives that decimal, and there is at most one;
//   - m < 2^51 and 10^k are exact float64s and IEEE division rounds
//     correctly, so float64(m)/10^k == |f| is exactly "m/10^k parses back
//     to |f|".
//
// Integral values, values outside [1e-6, 2^51/10) and values needing more
// digits are left to the caller (ok false).
func jsonAppendShortDecimal(dst []byte, f float64) ([]byte, bool) {
	a := math.Abs(f)
	if !(a >= 1e-6 && a < 1<<51/10) {
		return dst, false
	}
	for k := 1; k <= jsonShortMaxFrac; k++ {
		p := jsonFloatPow10[k]
		x := a * p
		if x >= 1<<51 {
			break
		}
		// Round half up by truncation: x+0.5 is exact below 2^51, and the
		// conversion is one instruction where math.Round is a function.
		u := uint64(int64(x + 0.5))
		if float64(u)/p != a {
			continue
		}
		if f < 0 {
			dst = append(dst, '-')
		}
		ip := u / jsonPow10[k]
		dst = jsonAppendUint(dst, ip)
		if cap(dst)-len(dst) < k+1 {
			dst = slices.Grow(dst, k+1)
		}
		n := len(dst)
		dst = dst[:n+1+k]
		dst[n] = '.'
		jsonPutDigits(dst[n+1:], u-ip*jsonPow10[k])
		return dst, true
	}
	return dst, false
}

// jsonPutDigits writes x < 10^len(d) to d as exactly len(d) digits, with
// leading zeros.
func jsonPutDigits(d []byte, x uint64) {
	for len(d) >= 2 {
		q := x / 100
		binary.LittleEndian.PutUint16(d[len(d)-2:], jsonDigitPairs[x-q*100])
		d = d[:len(d)-2]
		x = q
	}
	if len(d) == 1 {
		d[0] = byte('0' + x)
	}
}

// jsonAppendBool appends true or false.
func jsonAppendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, "true"...)
	}
	return append(dst, "false"...)
}

// ---------------------------------------------------------------------------
// Duplicate keys.
//
// JSON output never holds two equal names in one object. Since every name is
// written in the canonical spelling of jsonAppendRune, equal names have equal
// bytes, so the check compares the written texts. Each open object keeps its
// names as spans of dst on the stack w.keys; small objects are searched
// linearly with a cheap fingerprint, objects of more than jsonLinearKeys
// names switch to an open-addressing table on the stack w.tab. Both stacks
// are per encoder and keep their capacity, so the check allocates nothing in
// steady state.

const (
	jsonLinearKeys = 16
	// jsonMaxRenames bounds the renames of one name (see uniq): a hostile
	// map of many equal keys costs linear, not quadratic, time.
	jsonMaxRenames = 8
	// jsonMaxDepth bounds the nesting of a GeoJSON text we embed.
	jsonMaxDepth = 64
	// jsonKeepScratch: key stacks larger than this are dropped after a
	// record so that one huge map does not pin memory for ever.
	jsonKeepScratch = 1 << 16
)

type jsonKey struct {
	h          uint64 // fingerprint (linear mode) or maphash (table mode)
	start, end int    // the name in dst, quotes included
}

// jsonObj is one open object under duplicate checking.
type jsonObj struct {
	base int    // its first name in w.keys
	tab  int    // its first slot in w.tab (table mode)
	size int    // number of slots; 0 = linear mode
	seen uint64 // linear mode: one bit per name, from its fingerprint
}

// jsonKeys is the duplicate-key checker of one encoder.
type jsonKeys struct {
	keys    []jsonKey
	tab     []int32 // index in keys + 1; 0 = empty
	seed    maphash.Seed
	seeded  bool
	renamed uint64 // names renamed to stay unique
	dropped uint64 // members dropped after jsonMaxRenames renames
}

func (k *jsonKeys) reset() {
	if cap(k.keys) > jsonKeepScratch {
		k.keys = nil
	}
	if cap(k.tab) > jsonKeepScratch {
		k.tab = nil
	}
	k.keys, k.tab = k.keys[:0], k.tab[:0]
}

func (k *jsonKeys) open() jsonObj { return jsonObj{base: len(k.keys), tab: len(k.tab)} }

// close pops an object; every object opened after it must be closed.
func (k *jsonKeys) close(o *jsonObj) {
	k.keys = k.keys[:o.base]
	k.tab = k.tab[:o.tab]
}

// jsonFingerprint sums up a name (quotes included) by its length and its
// first and last characters: cheap, and different for most names of one
// object.
func jsonFingerprint(name []byte) uint64 {
	n := len(name)
	if n < 3 { // "" or a bare key text such as 1 or []
		return uint64(n) | uint64(name[0])<<32 | uint64(name[n-1])<<40
	}
	return uint64(n) | uint64(name[1])<<32 | uint64(name[n-2])<<40
}

// jsonSeenBit is the bit of a fingerprint in jsonObj.seen.
func jsonSeenBit(fp uint64) uint64 { return 1 << ((fp * 0x9e3779b97f4a7c15) >> 58) }

func (k *jsonKeys) hash(name []byte) uint64 {
	if !k.seeded {
		k.seed, k.seeded = maphash.MakeSeed(), true
	}
	return maphash.Bytes(k.seed, name)
}

// find reports whether the name dst[start:] is already in o. It returns the
// hash to insert it with.
func (k *jsonKeys) find(o *jsonObj, dst []byte, start int) (uint64, bool) {
	name := dst[start:]
	if o.size == 0 {
		h := jsonFingerprint(name)
		if o.seen&jsonSeenBit(h) == 0 {
			return h, false // no name of o has this bit: a new name
		}
		for _, e := range k.keys[o.base:] {
			if e.h == h && string(dst[e.start:e.end]) == string(name) {
				return h, true
			}
		}
		return h, false
	}
	h := k.hash(name)
	mask := uint64(o.size - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		j := k.tab[o.tab+int(i)]
		if j == 0 {
			return h, false
		}
		e := &k.keys[j-1]
		if e.h == h && string(dst[e.start:e.end]) == string(name) {
			return h, true
		}
	}
}

// insert adds the name dst[start:] (hash h from find) to o.
func (k *jsonKeys) insert(o *jsonObj, dst []byte, start int, h uint64) {
	k.keys = append(k.keys, jsonKey{h: h, start: start, end: len(dst)})
	n := len(k.keys) - o.base
	switch {
	case o.size == 0 && n <= jsonLinearKeys:
		o.seen |= jsonSeenBit(h)
		return
	case o.size == 0:
		// Switch to table mode: rehash the names with maphash.
		for i := o.base; i < len(k.keys); i++ {
			e := &k.keys[i]
			e.h = k.hash(dst[e.start:e.end])
		}
		k.grow(o, 4*jsonLinearKeys)
	case 2*n > o.size:
		k.grow(o, 2*o.size)
	default:
		k.place(o, len(k.keys)-1)
	}
}

// grow gives o a table of size slots and places all its names. o's table is
// at the top of the stack: every object opened after o is closed.
func (k *jsonKeys) grow(o *jsonObj, size int) {
	need := o.tab + size
	if cap(k.tab) < need {
		t := make([]int32, need, 2*need)
		copy(t, k.tab[:o.tab])
		k.tab = t
	} else {
		k.tab = k.tab[:need]
		clear(k.tab[o.tab:])
	}
	o.size = size
	for i := o.base; i < len(k.keys); i++ {
		k.place(o, i)
	}
}

func (k *jsonKeys) place(o *jsonObj, i int) {
	mask := uint64(o.size - 1)
	for s := k.keys[i].h & mask; ; s = (s + 1) & mask {
		if k.tab[o.tab+int(s)] == 0 {
			k.tab[o.tab+int(s)] = int32(i + 1)
			return
		}
	}
}

// addNew is the common case of uniq and of find then insert, in one call
// instead of three: in linear mode, with room in keys, a name whose
// fingerprint bit no name of o has is new, and is recorded. It reports
// false, having done nothing, in every other case.
func (k *jsonKeys) addNew(o *jsonObj, dst []byte, start int) bool {
	n := len(k.keys)
	if o.size != 0 || n-o.base >= jsonLinearKeys || n == cap(k.keys) {
		return false
	}
	h := jsonFingerprint(dst[start:])
	bit := jsonSeenBit(h)
	if o.seen&bit != 0 {
		return false
	}
	o.seen |= bit
	k.keys = k.keys[:n+1]
	k.keys[n] = jsonKey{h: h, start: start, end: len(dst)}
	return true
}

// uniq makes the name just written at dst[start:] unique in o and records
// it. A name already present gets a '_' put in front of it (after its
// opening quote), again until it is unique, at most jsonMaxRenames times;
// after that the member is dropped: uniq returns dst[:start] and false, and
// the caller skips the value.
func (k *jsonKeys) uniq(o *jsonObj, dst []byte, start int) ([]byte, bool) {
	if k.addNew(o, dst, start) {
		return dst, true
	}
	for try := 0; ; try++ {
		h, dup := k.find(o, dst, start)
		if !dup {
			k.insert(o, dst, start, h)
			return dst, true
		}
		if try == jsonMaxRenames {
			k.dropped++
			return dst[:start], false
		}
		if try == 0 {
			k.renamed++
		}
		at := start // a bare name (see jsonWriter.appendName) …
		if dst[start] == '"' {
			at++ // … or after the opening quote
		}
		dst = append(dst, 0)
		copy(dst[at+1:], dst[at:len(dst)-1])
		dst[at] = '_'
	}
}

// ---------------------------------------------------------------------------
// Embedded JSON text (GeoJSON).

// appendCompact appends the JSON text s if it is exactly one valid JSON value
// (RFC 8259: grammar, UTF-8, depth at most jsonMaxDepth, objects without
// duplicate names). The copy is compacted (no whitespace, so a line-based
// framing stays one line per message) and its strings are re-spelled
// canonically like every string this package writes. Otherwise it appends
// nothing and returns false.
func (k *jsonKeys) appendCompact(dst, s []byte) ([]byte, bool) {
	start, keys, tab := len(dst), len(k.keys), len(k.tab)
	dst, i, ok := k.compactValue(dst, s, jsonSkipWS(s, 0), 0)
	if ok && jsonSkipWS(s, i) == len(s) {
		return dst, true
	}
	k.keys, k.tab = k.keys[:keys], k.tab[:tab]
	return dst[:start], false
}

func jsonSkipWS(s []byte, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t') {
		i++
	}
	return i
}

// compactValue copies the value at s[i:]. On failure the caller rolls back
// dst and the key stacks.
func (k *jsonKeys) compactValue(dst, s []byte, i, depth int) ([]byte, int, bool) {
	if i >= len(s) {
		return dst, i, false
	}
	switch c := s[i]; c {
	case '{':
		if depth == jsonMaxDepth {
			return dst, i, false
		}
		dst = append(dst, '{')
		i = jsonSkipWS(s, i+1)
		if i < len(s) && s[i] == '}' {
			return append(dst, '}'), i + 1, true
		}
		o := k.open()
		for {
			if i >= len(s) || s[i] != '"' {
				return dst, i, false
			}
			ks := len(dst)
			var ok bool
			if dst, i, ok = jsonCompactString(dst, s, i); !ok {
				return dst, i, false
			}
			h, dup := k.find(&o, dst, ks)
			if dup {
				return dst, i, false
			}
			k.insert(&o, dst, ks, h)
			i = jsonSkipWS(s, i)
			if i >= len(s) || s[i] != ':' {
				return dst, i, false
			}
			dst = append(dst, ':')
			if dst, i, ok = k.compactValue(dst, s, jsonSkipWS(s, i+1), depth+1); !ok {
				return dst, i, false
			}
			i = jsonSkipWS(s, i)
			if i < len(s) && s[i] == ',' {
				dst = append(dst, ',')
				i = jsonSkipWS(s, i+1)
				continue
			}
			if i < len(s) && s[i] == '}' {
				k.close(&o)
				return append(dst, '}'), i + 1, true
			}
			return dst, i, false
		}
	case '[':
		if depth == jsonMaxDepth {
			return dst, i, false
		}
		dst = append(dst, '[')
		i = jsonSkipWS(s, i+1)
		if i < len(s) && s[i] == ']' {
			return append(dst, ']'), i + 1, true
		}
		for {
			var ok bool
			if dst, i, ok = k.compactValue(dst, s, i, depth+1); !ok {
				return dst, i, false
			}
			i = jsonSkipWS(s, i)
			if i < len(s) && s[i] == ',' {
				dst = append(dst, ',')
				i = jsonSkipWS(s, i+1)
				continue
			}
			if i < len(s) && s[i] == ']' {
				return append(dst, ']'), i + 1, true
			}
			return dst, i, false
		}
	case '"':
		return jsonCompactString(dst, s, i)
	case 't':
		return jsonCompactLiteral(dst, s, i, "true")
	case 'f':
		return jsonCompactLiteral(dst, s, i, "false")
	case 'n':
		return jsonCompactLiteral(dst, s, i, "null")
	}
	return jsonCompactNumber(dst, s, i)
}

func jsonCompactLiteral(dst, s []byte, i int, lit string) ([]byte, int, bool) {
	if len(s)-i < len(lit) || string(s[i:i+len(lit)]) != lit {
		return dst, i, false
	}
	return append(dst, lit...), i + len(lit), true
}

// jsonCompactNumber copies a number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func jsonCompactNumber(dst, s []byte, i int) ([]byte, int, bool) {
	start := i
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch j := jsonDigits(s, i); {
	case j == i:
		return dst, i, false
	case s[i] == '0':
		i++
	default:
		i = j
	}
	if i < len(s) && s[i] == '.' {
		j := jsonDigits(s, i+1)
		if j == i+1 {
			return dst, i, false
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := jsonDigits(s, i)
		if j == i {
			return dst, i, false
		}
		i = j
	}
	return append(dst, s[start:i]...), i, true
}

// jsonDigits returns the end of the run of decimal digits at s[i:].
func jsonDigits(s []byte, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// jsonCompactString copies the string at s[i] == '"', decoding its escapes
// and writing every rune in the canonical spelling of jsonAppendRune. Raw
// control bytes, invalid UTF-8 and bad escapes fail; a lone surrogate escape
// becomes U+FFFD (as encoding/json reads it).
func jsonCompactString(dst, s []byte, i int) ([]byte, int, bool) {
	dst = append(dst, '"')
	i++
	start := i
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch {
			case c == '"':
				return append(dst, '"'), i + 1, true
			case c < 0x20:
				return dst, i, false
			}
			r, n := jsonUnescape(s[i:])
			if n == 0 {
				return dst, i, false
			}
			dst = jsonAppendRune(dst, r)
			i += n
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return dst, i, false
		case r == utf8.RuneError || r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = jsonAppendRune(dst, r)
			i += size
			start = i
			continue
		}
		i += size
	}
	return dst, i, false
}

// jsonUnescape decodes the escape at s[0] == '\\'. n is 0 for a bad escape.
func jsonUnescape(s []byte) (r rune, n int) {
	if len(s) < 2 {
		return 0, 0
	}
	switch s[1] {
	case '"', '\\', '/':
		return rune(s[1]), 2
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'u':
		r := jsonHex4(s[2:])
		if r < 0 {
			return 0, 0
		}
		if r < 0xd800 || r > 0xdfff {
			return r, 6
		}
		if r <= 0xdbff && len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
			if lo := jsonHex4(s[8:]); lo >= 0xdc00 && lo <= 0xdfff {
				return 0x10000 + (r-0xd800)<<10 + (lo - 0xdc00), 12
			}
		}
		return utf8.RuneError, 6
	}
	return 0, 0
}

func jsonHex4(s []byte) rune {
	if len(s) < 4 {
		return -1
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// ---------------------------------------------------------------------------
// Numbers.

// jsonDigitPairs holds "00" to "99" as little-endian 16-bit words, so two
// digits are one load and one store.
var jsonDigitPairs = func() (t [100]uint16) {
	for i := range t {
		t[i] = uint16('0'+i/10) | uint16('0'+i%10)<<8
	}
	return
}()

// jsonPow10 holds 10^0 to 10^19.
var jsonPow10 = [...]uint64{
	1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
}

// jsonDigits10 is the number of decimal digits of u.
func jsonDigits10(u uint64) int {
	// bits.Len64*1233>>12 is log10 of the highest power of two in u, which
	// is the digit count minus 1 or minus 0: one compare settles it.
	n := (bits.Len64(u) * 1233) >> 12
	if u >= jsonPow10[n] {
		n++
	}
	if n == 0 {
		return 1
	}
	return n
}

// jsonAppendInt appends v in decimal, like strconv.AppendInt(dst, v, 10)
// but writing the digits in place: strconv formats into a buffer of its own
// and copies it (a call to memmove), through two more calls. It inlines, so
// an int costs one call.
func jsonAppendInt(dst []byte, v int64) []byte {
	u := uint64(v)
	if v < 0 {
		u = -u
	}
	return jsonAppendDecimal(dst, u, v < 0)
}

// jsonAppendUint appends u in decimal.
func jsonAppendUint(dst []byte, u uint64) []byte { return jsonAppendDecimal(dst, u, false) }

// jsonAppendDecimal appends u in decimal, after a minus sign if neg.
func jsonAppendDecimal(dst []byte, u uint64, neg bool) []byte {
	if u < 100 && !neg { // gen, exp 0, small values: no digit count
		if u < 10 {
			return append(dst, byte('0'+u))
		}
		p := jsonDigitPairs[u]
		return append(dst, byte(p), byte(p>>8))
	}
	if cap(dst)-len(dst) < 21 {
		// Growing here, before calling back, keeps the call to growslice
		// (and the spills of registers it makes the function do) off the
		// common path.
		return jsonAppendDecimal(slices.Grow(dst, 21), u, neg)
	}
	// The digit count comes first, so that the digits go straight to their
	// place.
	n := jsonDigits10(u)
	sign := 0
	if neg {
		sign = 1
	}
	i := len(dst) + sign + n
	dst = dst[:i]
	if neg {
		dst[i-n-1] = '-'
	}
	d := dst[i-n : i] // bounds the stores below
	// Blocks of 8 digits (timestamps, ids) go as a tree of divisions (four
	// pairs from two levels of independent 32-bit divisions), not as a
	// chain of divisions by 100, each waiting for the one before.
	for u >= 1e8 {
		q := u / 1e8
		jsonPut8(d[len(d)-8:], uint32(u-q*1e8))
		d = d[:len(d)-8]
		u = q
	}
	x := uint32(u)
	for len(d) > 2 {
		q := x / 100
		binary.LittleEndian.PutUint16(d[len(d)-2:], jsonDigitPairs[x-q*100])
		d = d[:len(d)-2]
		x = q
	}
	if len(d) == 2 {
		binary.LittleEndian.PutUint16(d, jsonDigitPairs[x])
	} else {
		d[0] = byte('0' + x)
	}
	return dst
}

// jsonPut8 writes x < 10^8 as 8 digits (with leading zeros) to d[:8].
func jsonPut8(d []byte, x uint32) {
	hi, lo := x/10000, x%10000
	binary.LittleEndian.PutUint16(d[0:], jsonDigitPairs[hi/100])
	binary.LittleEndian.PutUint16(d[2:], jsonDigitPairs[hi%100])
	binary.LittleEndian.PutUint16(d[4:], jsonDigitPairs[lo/100])
	binary.LittleEndian.PutUint16(d[6:], jsonDigitPairs[lo%100])
}
