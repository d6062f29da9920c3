//go:build amd64 && !purego

package encode

import "golang.org/x/sys/cpu"

// haveAVX2 turns on the AVX2 kernels of simd_amd64.s (tests turn them off to
// check the portable code on the same machine).
var haveAVX2 = cpu.X86.HasAVX2

// base64AVX2 encodes src as standard base64 into dst, 24 bytes to 32 at a
// time, while at least 32 bytes of src are left (a block loads 32); it
// returns the bytes of src encoded, a multiple of 24. dst must have room
// for them: n/3*4 bytes.
//
//go:noescape
func base64AVX2(dst, src []byte) int

// scanSafeAVX2 returns the index of the first byte of s a JSON string
// cannot hold raw (below 0x20, '"', '\\') or must check (0x80 and up),
// looking at whole 32-byte blocks only; if they hold none, the length of
// those blocks (0 for s shorter than 32).
//
//go:noescape
func scanSafeAVX2(s []byte) int
