package encode

import (
	"encoding/binary"
	"slices"
	"unicode/utf8"
	"unsafe"
)

// JSON string escaping, shared by the json and flat-json formats and their
// framings: one canonical spelling per rune, word-at-a-time fast paths.

// safeByte marks the bytes a JSON string can hold raw without a closer
// look: printable ASCII other than '"' and '\\'. Bytes >= 0x80 are false
// (they start a rune that must be checked).
var safeByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return
}()

const hexDigits = "0123456789abcdef"

// appendASCIIEscape appends the escape of an ASCII byte that safeByte
// rejects: \" \\ \b \f \n \r \t, or \u00XX for the other control bytes.
func appendASCIIEscape(dst []byte, c byte) []byte {
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
	return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}

// appendEscapedRune appends r as it appears inside a JSON string written by
// this package. The form is canonical (one spelling per rune), so two
// strings are equal exactly when their escaped texts are: the duplicate-key
// check compares texts. U+2028 and U+2029 are escaped (JavaScript-safe
// output) and so is U+FFFD, so that the replacement of invalid UTF-8 and a
// real U+FFFD have the same spelling.
func appendEscapedRune(dst []byte, r rune) []byte {
	switch {
	case r < utf8.RuneSelf:
		if safeByte[r] {
			return append(dst, byte(r))
		}
		return appendASCIIEscape(dst, byte(r))
	case r == '\u2028':
		return append(dst, `\u2028`...)
	case r == '\u2029':
		return append(dst, `\u2029`...)
	case r == utf8.RuneError:
		return append(dst, `\ufffd`...)
	}
	return utf8.AppendRune(dst, r)
}

// appendJSONString appends s as a quoted JSON string. Runs of bytes that
// need no escape (printable ASCII other than " and \, and valid UTF-8 other
// than U+2028, U+2029, U+FFFD) are copied as they are; invalid UTF-8
// becomes \ufffd, one per invalid byte, as encoding/json does.
//
// Nearly every string of a record is short printable ASCII, so the fast
// paths check and copy it a word at a time in one pass (see safe8),
// storing straight into dst: no separate scan, no call to memmove (a call
// makes the caller spill its registers: Go's calling convention keeps none
// across it). This function is the path of strings of up to 16 bytes (bin
// names, map keys, most values) when dst has room: it is kept small, with
// every other case handed to appendJSONStringLong, so that it has no
// registers to spill itself.
func appendJSONString(dst []byte, s []byte) []byte {
	n := len(dst)
	if len(s) > 16 || cap(dst)-n < 18 {
		return appendJSONStringLong(dst, s)
	}
	d := dst[n : n+18]
	switch {
	case len(s) >= 8: // two overlapping words
		lo := binary.LittleEndian.Uint64(s)
		hi := binary.LittleEndian.Uint64(s[len(s)-8:])
		if !safe8(lo) || !safe8(hi) {
			return appendJSONStringLong(dst, s)
		}
		binary.LittleEndian.PutUint64(d[1:], lo)
		binary.LittleEndian.PutUint64(d[len(s)-7:], hi)
	case len(s) >= 4: // two overlapping halves, checked as one word
		lo := binary.LittleEndian.Uint32(s)
		hi := binary.LittleEndian.Uint32(s[len(s)-4:])
		if !safe8(uint64(lo) | uint64(hi)<<32) {
			return appendJSONStringLong(dst, s)
		}
		binary.LittleEndian.PutUint32(d[1:], lo)
		binary.LittleEndian.PutUint32(d[len(s)-3:], hi)
	case len(s) > 0:
		// s[0], s[len/2] and s[len-1] cover 1 to 3 bytes; the upper bytes
		// of the word are filled with spaces (safe).
		a, b, c := s[0], s[len(s)>>1], s[len(s)-1]
		if !safe8(uint64(a) | uint64(b)<<8 | uint64(c)<<16 | 0x2020202020<<24) {
			return appendJSONStringLong(dst, s)
		}
		d[1], d[1+len(s)>>1], d[len(s)] = a, b, c
	}
	d[0] = '"'
	d[len(s)+1] = '"'
	return dst[:n+len(s)+2]
}

// appendJSONStringLong is appendJSONString for every string: 8-byte words
// checked and stored while they are safe, the tail as one overlapping word,
// and from the first word that holds a byte needing a look, escapeFrom
// at its offset (the bytes before it are in place already).
func appendJSONStringLong(dst []byte, s []byte) []byte {
	if cap(dst)-len(dst) < len(s)+2 {
		dst = slices.Grow(dst, len(s)+2)
	}
	n := len(dst)
	// d is the whole quoted string: its length is known and so is that of
	// every store below, which removes most bounds checks.
	d := dst[n : n+len(s)+2]
	d[0] = '"'
	if len(s) < 8 {
		return escapeFrom(dst[:n+1], s, 0)
	}
	i := 0
	if haveAVX2 && len(s) >= 32 {
		i = scanSafeAVX2(s) // the safe prefix, in blocks of 32
		copy(d[1:], s[:i])
	}
	for ; len(s)-i >= 8; i += 8 {
		x := binary.LittleEndian.Uint64(s[i:])
		if !safe8(x) {
			return escapeFrom(dst[:n+1+i], s, i)
		}
		binary.LittleEndian.PutUint64(d[1+i:], x)
	}
	if i < len(s) {
		x := binary.LittleEndian.Uint64(s[len(s)-8:])
		if !safe8(x) {
			return escapeFrom(dst[:n+1+i], s, i)
		}
		binary.LittleEndian.PutUint64(d[len(s)-7:], x)
	}
	d[len(s)+1] = '"'
	return dst[:n+len(s)+2]
}

// escapeFrom ends the string whose opening quote and first i bytes are
// written already: it appends the escape of s[i:] and the closing quote.
func escapeFrom(dst, s []byte, i int) []byte {
	dst = escapeTail(dst, s, i)
	return append(dst, '"')
}

// safe8 reports whether none of the 8 bytes of x needs a closer look:
// no byte >= 0x80, < 0x20, '"' or '\\'. A borrow between bytes can make it
// report false for a safe word, never true for an unsafe one (a byte below
// 0x20, or a zero byte of q or b, always ends with its high bit set).
func safe8(x uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q := x ^ (lo * '"')
	b := x ^ (lo * '\\')
	return (x|(x-lo*0x20)|(q-lo)|(b-lo))&hi == 0
}

// scanSafe returns the index of the first byte at or after i that
// safeByte rejects, or len(s). Words of 8 bytes are checked at once; the
// tail of 4 to 7 bytes as one word made of two overlapping halves, the tail
// of 8 or more as the overlapping last word, so that short names rarely go
// byte by byte.
func scanSafe(s []byte, i int) int {
	switch n := len(s) - i; {
	case n >= 8:
		if haveAVX2 && n >= 32 {
			i += scanSafeAVX2(s[i:])
		}
		for ; len(s)-i >= 8; i += 8 {
			if !safe8(binary.LittleEndian.Uint64(s[i:])) {
				return scanSafeBytes(s, i)
			}
		}
		if i == len(s) || safe8(binary.LittleEndian.Uint64(s[len(s)-8:])) {
			return len(s)
		}
	case n >= 4:
		x := uint64(binary.LittleEndian.Uint32(s[i:])) | uint64(binary.LittleEndian.Uint32(s[len(s)-4:]))<<32
		if safe8(x) {
			return len(s)
		}
	}
	return scanSafeBytes(s, i)
}

func scanSafeBytes(s []byte, i int) int {
	for ; i < len(s); i++ {
		if !safeByte[s[i]] {
			break
		}
	}
	return i
}

// appendEscaped appends the inside of the JSON string for s (no quotes).
// Most strings need no escape at all: one scan, one copy. The others go
// byte by byte from the first byte that needs a look.
func appendEscaped(dst []byte, s []byte) []byte {
	i := scanSafe(s, 0)
	if i == len(s) {
		return append(dst, s...)
	}
	return escapeTail(append(dst, s[:i]...), s, i)
}

// escapeTail appends the escape of s[i:], byte by byte from i (the bytes
// before i are written already). Valid runes are written as they are
// without decoding them (plain3 for the 3-byte forms); the runes escaped
// (U+2028, U+2029, U+FFFD) and invalid bytes go through utf8.DecodeRune.
func escapeTail(dst []byte, s []byte, i int) []byte {
	start := i
	for i < len(s) {
		c := s[i]
		if safeByte[c] {
			// A run of safe bytes, once per run: if its first word is
			// safe, the run may be long, and the rest of it goes by
			// blocks of 32.
			if haveAVX2 && len(s)-i >= 64 && safe8(binary.LittleEndian.Uint64(s[i:])) {
				i += 8 + scanSafeAVX2(s[i+8:]) // the first byte not known safe
			} else {
				i++
			}
			for i < len(s) && safeByte[s[i]] {
				i++
			}
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			dst = appendASCIIEscape(dst, c)
			i++
			start = i
			continue
		}
		if c < 0xE0 {
			if c >= 0xC2 && i+1 < len(s) && s[i+1]&0xC0 == 0x80 {
				i += 2
				continue
			}
		} else if c < 0xF0 && i+2 < len(s) {
			b1, b2 := s[i+1], s[i+2]
			if b1&0xC0 == 0x80 && b2&0xC0 == 0x80 && plain3(c, b1, b2) {
				i += 3
				continue
			}
		} else if c <= 0xF4 && i+3 < len(s) {
			b1, b2, b3 := s[i+1], s[i+2], s[i+3]
			if b1&0xC0 == 0x80 && b2&0xC0 == 0x80 && b3&0xC0 == 0x80 && (c != 0xF0 || b1 >= 0x90) && (c != 0xF4 || b1 < 0x90) {
				i += 4 // U+10000..U+10FFFF: emoji and the like
				continue
			}
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError || r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = appendEscapedRune(dst, r)
			start = i + size
		}
		i += size
	}
	return append(dst, s[start:]...)
}

// plain3 reports whether the 3-byte form c b1 b2 (continuation bytes
// checked) is a valid rune written as it is: not overlong (E0 below A0),
// not a surrogate (ED above 9F), not U+2028 or U+2029 (E2 80 A8, A9), not
// U+FFFD (EF BF BD).
func plain3(c, b1, b2 byte) bool {
	switch c {
	case 0xE0:
		return b1 >= 0xA0
	case 0xED:
		return b1 < 0xA0
	case 0xE2:
		return b1 != 0x80 || b2 != 0xA8 && b2 != 0xA9
	case 0xEF:
		return b1 != 0xBF || b2 != 0xBD
	}
	return true
}

// appendJSONStringStr is appendJSONString for a Go string (configuration
// values); the conversion does not allocate.
func appendJSONStringStr(dst []byte, s string) []byte {
	return appendJSONString(dst, strBytes(s))
}

// strBytes views s as bytes without copying; the bytes must not be
// modified.
func strBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
