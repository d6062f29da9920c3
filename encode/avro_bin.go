package encode

import (
	"encoding/binary"
	"math"
	"slices"
)

// Avro binary encoding primitives (Avro specification, "Binary Encoding"):
// int and long are zigzag varints, float and double little-endian IEEE-754,
// bytes and string a long length then the bytes, a union the branch index as
// a long then the value, an enum its index, a fixed its raw bytes, an array
// or map blocks of (count, items) ended by a zero count. Each appends to dst.

func appendAvroLong(dst []byte, v int64) []byte {
	u := uint64(v<<1) ^ uint64(v>>63)
	if u < 0x80 {
		return append(dst, byte(u))
	}
	return appendAvroVarint(dst, u)
}

func appendAvroVarint(dst []byte, u uint64) []byte {
	for u >= 0x80 {
		dst = append(dst, byte(u)|0x80)
		u >>= 7
	}
	return append(dst, byte(u))
}

// avroLongSize is the number of bytes appendAvroLong writes for v.
func avroLongSize(v int64) int {
	u := uint64(v<<1) ^ uint64(v>>63)
	n := 1
	for u >= 0x80 {
		u >>= 7
		n++
	}
	return n
}

func appendAvroBytes(dst, b []byte) []byte {
	dst = appendAvroLong(dst, int64(len(b)))
	return append(dst, b...)
}

func appendAvroString(dst []byte, s string) []byte {
	dst = appendAvroLong(dst, int64(len(s)))
	return append(dst, s...)
}

func appendAvroDouble(dst []byte, f float64) []byte {
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(f))
}

func appendAvroFloat(dst []byte, f float32) []byte {
	return binary.LittleEndian.AppendUint32(dst, math.Float32bits(f))
}

func appendAvroBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// appendAvroLongWide is appendAvroLong for longs that usually take several
// bytes (timestamps, ids): written in place after one capacity check,
// rather than with an append (and its check) per byte. appendAvroLong
// stays small, to be inlined where most longs take one byte.
func appendAvroLongWide(dst []byte, v int64) []byte {
	u := uint64(v<<1 ^ v>>63)
	n := len(dst)
	if cap(dst)-n < 10 {
		dst = slices.Grow(dst, 10)
	}
	d := dst[n : n+10]
	i := 0
	for ; u >= 0x80 && i < 9; i++ {
		d[i] = byte(u) | 0x80
		u >>= 7
	}
	d[i] = byte(u)
	return dst[:n+i+1]
}
