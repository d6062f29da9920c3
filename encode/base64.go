package encode

import (
	"encoding/binary"
	"slices"

	"github.com/xdrhook/xdrhook/wire"
)

// Standard base64 (padded) as a quoted JSON string: blobs, digests and
// MessagePack ext values in the JSON formats.

// b64Pairs maps 12 bits to their two characters of standard base64, as
// a little-endian 16-bit word: three bytes (24 bits) are two lookups and
// one 32-bit store, instead of four lookups and four byte stores.
var b64Pairs = func() (t [1 << 12]uint16) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range t {
		t[i] = uint16(alphabet[i>>6]) | uint16(alphabet[i&63])<<8
	}
	return
}()

// b64x6 encodes the 6 bytes in the top 48 bits of x (big-endian) as 8
// characters, in memory order as a little-endian word.
func b64x6(x uint64) uint64 {
	lo := uint64(b64Pairs[x>>52]) | uint64(b64Pairs[x>>40&0xfff])<<16
	hi := uint64(b64Pairs[x>>28&0xfff]) | uint64(b64Pairs[x>>16&0xfff])<<16
	return lo | hi<<32
}

// appendQuotedBase64 appends b as a quoted standard base64 string (padded),
// the text of base64.StdEncoding. The digest and the blobs of a record are
// short: encoding in place, 6 bytes per 64-bit load while 8 can be read,
// is cheaper than AppendEncode with its separate grow, call and
// byte-at-a-time loop.
func appendQuotedBase64(dst, b []byte) []byte {
	n := (len(b)+2)/3*4 + 2
	if cap(dst)-len(dst) < n {
		return appendQuotedBase64(slices.Grow(dst, n), b) // growslice off the common path
	}
	if len(b) == wire.DigestSize {
		return appendQuotedBase64Digest(dst, b)
	}
	start := len(dst)
	dst = dst[:start+n]
	dst[start] = '"'
	dst[start+n-1] = '"'
	d := dst[start+1 : start+n-1]
	if haveAVX2 && len(b) >= 32 {
		k := base64AVX2(d, b) // 24 bytes a block
		b, d = b[k:], d[k/3*4:]
	}
	// Two 6-byte words per round (the second load reaches 2 bytes past
	// them, so 14 must be left), then one: loop overhead per byte halved
	// on the long blobs of records.
	for len(b) >= 14 && len(d) >= 16 {
		x, y := binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[6:])
		binary.LittleEndian.PutUint64(d, b64x6(x))
		binary.LittleEndian.PutUint64(d[8:], b64x6(y))
		b, d = b[12:], d[16:]
	}
	if len(b) >= 8 && len(d) >= 8 {
		binary.LittleEndian.PutUint64(d, b64x6(binary.BigEndian.Uint64(b)))
		b, d = b[6:], d[8:]
	}
	for len(b) >= 3 && len(d) >= 4 {
		x := uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])
		binary.LittleEndian.PutUint32(d, uint32(b64Pairs[x>>12])|uint32(b64Pairs[x&0xfff])<<16)
		b, d = b[3:], d[4:]
	}
	b64Tail(d, b)
	return dst
}

// b64Tail writes the last 1 or 2 bytes b (none: nothing) as 4 padded
// characters to d.
func b64Tail(d, b []byte) {
	switch len(b) {
	case 1:
		p := b64Pairs[uint32(b[0])<<4]
		binary.LittleEndian.PutUint32(d, uint32(p)|'='<<16|'='<<24)
	case 2:
		x := uint32(b[0])<<16 | uint32(b[1])<<8
		binary.LittleEndian.PutUint32(d, uint32(b64Pairs[x>>12])|uint32(b64Pairs[x&0xfff]&0xff)<<16|'='<<24)
	}
}

// appendQuotedBase64Digest is appendQuotedBase64 for the 20 bytes of a digest,
// in every message: straight-line code, three 6-byte words and a tail of 2,
// with constant offsets that need no bounds checks. dst has room for the
// 30 bytes.
func appendQuotedBase64Digest(dst, b []byte) []byte {
	start := len(dst)
	dst = dst[:start+30]
	d := dst[start : start+30]
	b = b[:20]
	d[0] = '"'
	binary.LittleEndian.PutUint64(d[1:], b64x6(binary.BigEndian.Uint64(b[0:])))
	binary.LittleEndian.PutUint64(d[9:], b64x6(binary.BigEndian.Uint64(b[6:])))
	binary.LittleEndian.PutUint64(d[17:], b64x6(binary.BigEndian.Uint64(b[12:])))
	b64Tail(d[25:29], b[18:20])
	d[29] = '"'
	return dst
}
