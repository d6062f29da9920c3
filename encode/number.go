package encode

import (
	"encoding/binary"
	"math"
	"math/bits"
	"slices"
	"strconv"
)

// Numbers as JSON text: integers in decimal written in place, floats as
// JavaScript prints them, with a fast path for short decimals.

// appendJSONFloat appends f as a JSON number the way encoding/json and
// ECMAScript's Number.prototype.toString do: the shortest text that parses
// back to the same value (bits 32 for a float32 from a list or map), plain
// decimal for 1e-6 <= |f| < 1e21 (so 2.0 is written 2 and 1e6 is 1000000),
// exponent form otherwise (1e+21, 1e-7). -0.0 keeps its sign ("-0").
// Non-finite values are the strings "NaN", "Infinity" and "-Infinity".
func appendJSONFloat(dst []byte, f float64, bits int) []byte {
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
		return appendInt(dst, i)
	}
	if bits == 64 {
		if d, ok := appendShortDecimal(dst, f); ok {
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

// floatPow10 holds 10^0 to 10^shortMaxFrac as float64 (all exact).
var floatPow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// shortMaxFrac is the most fraction digits appendShortDecimal tries.
// Binary fractions such as 0.0009765625 (1/1024) need ten; the search
// (below) makes long ones cost a few divisions more than short ones, and
// strconv's shortest-digits search costs several times more than either.
const shortMaxFrac = len(floatPow10) - 1

// shortLinear is how many fraction digits appendShortDecimal tries one by
// one (prices and measures: 1 or 2) before it bisects the rest.
const shortLinear = 3

// appendShortDecimal is the fast path of appendJSONFloat (float64) for
// values with few fraction digits, such as 1234.56: strconv's
// shortest-digits search costs several times more. It looks for the
// smallest k (1 to shortMaxFrac) such that some integer m makes m/10^k
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
// The test is monotone in k (if m/10^k parses back, so does 10m/10^(k+1),
// which is then the one found at k+1), so after shortLinear tries one by
// one the smallest k is bisected among the k with |f|*10^k < 2^51.
//
// Integral values, values outside [1e-6, 2^51/10) and values needing more
// digits are left to the caller (ok false).
func appendShortDecimal(dst []byte, f float64) ([]byte, bool) {
	a := math.Abs(f)
	if !(a >= 1e-6 && a < 1<<51/10) {
		return dst, false
	}
	k := 1
	u, ok := shortTry(a, k)
	for !ok && k < shortLinear {
		k++
		u, ok = shortTry(a, k)
	}
	if !ok {
		lo, hi := k+1, shortMaxFrac
		for hi >= lo && a*floatPow10[hi] >= 1<<51 {
			hi--
		}
		if hi < lo {
			return dst, false
		}
		if u, ok = shortTry(a, hi); !ok {
			return dst, false
		}
		for lo < hi { // shortTry(a, hi) holds, and fails below lo
			mid := (lo + hi) / 2
			if v, ok := shortTry(a, mid); ok {
				hi, u = mid, v
			} else {
				lo = mid + 1
			}
		}
		k = hi
	}
	if f < 0 {
		dst = append(dst, '-')
	}
	ip := u / pow10[k]
	dst = appendUint(dst, ip)
	if cap(dst)-len(dst) < k+1 {
		dst = slices.Grow(dst, k+1)
	}
	n := len(dst)
	dst = dst[:n+1+k]
	dst[n] = '.'
	putDigits(dst[n+1:], u-ip*pow10[k])
	return dst, true
}

// shortTry reports whether round(a*10^k)/10^k parses back to a, and that
// integer, for a*10^k < 2^51 (else false).
func shortTry(a float64, k int) (uint64, bool) {
	p := floatPow10[k]
	x := a * p
	if x >= 1<<51 {
		return 0, false
	}
	// Round half up by truncation: x+0.5 is exact below 2^51, and the
	// conversion is one instruction where math.Round is a function.
	u := uint64(int64(x + 0.5))
	return u, float64(u)/p == a
}

// putDigits writes x < 10^len(d) to d as exactly len(d) digits, with
// leading zeros.
func putDigits(d []byte, x uint64) {
	for len(d) >= 2 {
		q := x / 100
		binary.LittleEndian.PutUint16(d[len(d)-2:], digitPairs[x-q*100])
		d = d[:len(d)-2]
		x = q
	}
	if len(d) == 1 {
		d[0] = byte('0' + x)
	}
}

// appendBool appends true or false.
func appendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, "true"...)
	}
	return append(dst, "false"...)
}

// digitPairs holds "00" to "99" as little-endian 16-bit words, so two
// digits are one load and one store.
var digitPairs = func() (t [100]uint16) {
	for i := range t {
		t[i] = uint16('0'+i/10) | uint16('0'+i%10)<<8
	}
	return
}()

// pow10 holds 10^0 to 10^19.
var pow10 = [...]uint64{
	1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
}

// digits10 is the number of decimal digits of u.
func digits10(u uint64) int {
	// bits.Len64*1233>>12 is log10 of the highest power of two in u, which
	// is the digit count minus 1 or minus 0: one compare settles it.
	n := (bits.Len64(u) * 1233) >> 12
	if u >= pow10[n] {
		n++
	}
	if n == 0 {
		return 1
	}
	return n
}

// appendInt appends v in decimal, like strconv.AppendInt(dst, v, 10)
// but writing the digits in place: strconv formats into a buffer of its own
// and copies it (a call to memmove), through two more calls. It inlines, so
// an int costs one call.
func appendInt(dst []byte, v int64) []byte {
	u := uint64(v)
	if v < 0 {
		u = -u
	}
	return appendDecimal(dst, u, v < 0)
}

// appendUint appends u in decimal.
func appendUint(dst []byte, u uint64) []byte { return appendDecimal(dst, u, false) }

// appendDecimal appends u in decimal, after a minus sign if neg.
func appendDecimal(dst []byte, u uint64, neg bool) []byte {
	if u < 100 && !neg { // gen, exp 0, small values: no digit count
		if u < 10 {
			return append(dst, byte('0'+u))
		}
		p := digitPairs[u]
		return append(dst, byte(p), byte(p>>8))
	}
	if cap(dst)-len(dst) < 21 {
		// Growing here, before calling back, keeps the call to growslice
		// (and the spills of registers it makes the function do) off the
		// common path.
		return appendDecimal(slices.Grow(dst, 21), u, neg)
	}
	// The digit count comes first, so that the digits go straight to their
	// place.
	n := digits10(u)
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
		put8Digits(d[len(d)-8:], uint32(u-q*1e8))
		d = d[:len(d)-8]
		u = q
	}
	x := uint32(u)
	for len(d) > 2 {
		q := x / 100
		binary.LittleEndian.PutUint16(d[len(d)-2:], digitPairs[x-q*100])
		d = d[:len(d)-2]
		x = q
	}
	if len(d) == 2 {
		binary.LittleEndian.PutUint16(d, digitPairs[x])
	} else {
		d[0] = byte('0' + x)
	}
	return dst
}

// put8Digits writes x < 10^8 as 8 digits (with leading zeros) to d[:8].
func put8Digits(d []byte, x uint32) {
	hi, lo := x/10000, x%10000
	binary.LittleEndian.PutUint16(d[0:], digitPairs[hi/100])
	binary.LittleEndian.PutUint16(d[2:], digitPairs[hi%100])
	binary.LittleEndian.PutUint16(d[4:], digitPairs[lo/100])
	binary.LittleEndian.PutUint16(d[6:], digitPairs[lo%100])
}
