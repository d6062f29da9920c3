package shape

import (
	"encoding/binary"
	"math/bits"
)

// appendInt appends v in decimal, as strconv.AppendInt(dst, v, 10) does.
func appendInt(dst []byte, v int64) []byte {
	if v < 0 {
		// -v as a uint64 is right for math.MinInt64 too.
		return appendUint(append(dst, '-'), -uint64(v))
	}
	return appendUint(dst, uint64(v))
}

// appendUint appends u in decimal, as strconv.AppendUint(dst, u, 10) does:
// 8 digits at a time (digits8), each stored whole, and nothing written
// past the digits.
func appendUint(dst []byte, u uint64) []byte {
	if u < 10 {
		return append(dst, byte('0'+u))
	}
	n := decimalLen(u)
	l := len(dst)
	if cap(dst)-l < n {
		dst = append(dst, make([]byte, n)...)
	}
	dst = dst[:l+n]
	b := dst[l:]
	switch {
	case n < 8:
		// The digits are the top n bytes of the 8.
		x := digits8(uint32(u)) >> (64 - 8*uint(n))
		for i := range b {
			b[i] = byte(x)
			x >>= 8
		}
	case n <= 16:
		// k leading digits, then 8; the leading store's last 8-k bytes
		// are overwritten by the second.
		hi := u / 1e8
		lo := uint32(u - hi*1e8)
		k := n - 8
		binary.LittleEndian.PutUint64(b, digits8(uint32(hi))>>(64-8*uint(k)))
		binary.LittleEndian.PutUint64(b[k:], digits8(lo))
	default:
		hi := u / 1e16
		mid := u - hi*1e16
		m := mid / 1e8
		lo := uint32(mid - m*1e8)
		k := n - 16
		binary.LittleEndian.PutUint64(b, digits8(uint32(hi))>>(64-8*uint(k)))
		binary.LittleEndian.PutUint64(b[k:], digits8(uint32(m)))
		binary.LittleEndian.PutUint64(b[k+8:], digits8(lo))
	}
	return dst
}

// digits8 returns the 8 decimal digits of v < 1e8, zero-padded, as ASCII
// in memory order (little endian: the first digit in the low byte).
// The halves, quarters and digits are split in parallel in the lanes of
// one uint64 (multiplications by reciprocals exact for these ranges).
func digits8(v uint32) uint64 {
	// Two 4-digit lanes of 32 bits: the high half first.
	x := uint64(v/10000) | uint64(v%10000)<<32
	// Each into two 2-digit lanes of 16 bits: x/100 is x*5243>>19 for x < 43699.
	y := (x * 5243 >> 19) & 0x0000007F0000007F
	x = y | (x-100*y)<<16
	// Each into two digit bytes: x/10 is x*103>>10 for x < 179.
	y = (x * 103 >> 10) & 0x000F000F000F000F
	x = y | (x-10*y)<<8
	return x + '0'*0x0101010101010101
}

// decimalLen is the number of decimal digits of u.
func decimalLen(u uint64) int {
	t := bits.Len64(u) * 1233 >> 12 // about log10(2) * bits
	if u < pow10[t] {
		return t
	}
	return t + 1
}

var pow10 = [20]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

// putRoom is the length putInt and putUint want: they store whole words
// of digits, so they may write past the digits (up to 8 bytes), in d.
const putRoom = 24

// putInt writes v in decimal at the start of d (len(d) >= putRoom) and
// returns its length.
func putInt(d []byte, v int64) int {
	if v < 0 {
		d[0] = '-'
		return 1 + putUint(d[1:], -uint64(v))
	}
	return putUint(d, uint64(v))
}

// putUint writes u in decimal at the start of d (len(d) >= putRoom - 1)
// and returns its length, as appendUint but with no call and no check of
// capacity: the words of digits are stored whole.
func putUint(d []byte, u uint64) int {
	d = d[:putRoom-1]
	if u < 1e8 {
		if u < 10 {
			d[0] = byte('0' + u)
			return 1
		}
		n := decimalLen(u)
		binary.LittleEndian.PutUint64(d, digits8(uint32(u))>>(64-8*uint(n)))
		return n
	}
	n := decimalLen(u)
	if n <= 16 {
		hi := u / 1e8
		k := n - 8
		binary.LittleEndian.PutUint64(d, digits8(uint32(hi))>>(64-8*uint(k)))
		binary.LittleEndian.PutUint64(d[k:], digits8(uint32(u-hi*1e8)))
		return n
	}
	hi := u / 1e16
	mid := u - hi*1e16
	q := mid / 1e8
	k := n - 16
	binary.LittleEndian.PutUint64(d, digits8(uint32(hi))>>(64-8*uint(k)))
	binary.LittleEndian.PutUint64(d[k:], digits8(uint32(q)))
	binary.LittleEndian.PutUint64(d[k+8:], digits8(uint32(mid-q*1e8)))
	return n
}
