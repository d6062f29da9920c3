//go:build amd64 && !purego

#include "textflag.h"

// AVX2 kernels of the JSON encoder (simd_amd64.go says when they run).
// Every instruction is VEX-encoded: a legacy SSE instruction writing an
// XMM register between AVX2 ones cost ~250 ns a call on this project's
// machines (what segmentio/asm's kernels paid).

// Base64 of 24 bytes a block (W. Muła, D. Lemire, "Faster Base64 Encoding
// and Decoding Using AVX2 Instructions", 2018): VPERMD puts bytes 0-11 in
// the low lane and 12-23 in the high one, VPSHUFB and two multiplies cut
// each lane's 12 bytes into sixteen 6-bit indices, and a 16-entry table of
// offsets by range turns indices into the standard alphabet.

// VPERMD's dword indices: lane 0 takes dwords 0-2, lane 1 dwords 3-5.
DATA b64perm<>+0(SB)/8, $0x0000000100000000
DATA b64perm<>+8(SB)/8, $0x0000000000000002
DATA b64perm<>+16(SB)/8, $0x0000000400000003
DATA b64perm<>+24(SB)/8, $0x0000000000000005
GLOBL b64perm<>(SB), RODATA|NOPTR, $32

// VPSHUFB, per lane: bytes 1,0,2,1 4,3,5,4 7,6,8,7 10,9,11,10.
DATA b64shuf<>+0(SB)/8, $0x0405030401020001
DATA b64shuf<>+8(SB)/8, $0x0a0b090a07080607
DATA b64shuf<>+16(SB)/8, $0x0405030401020001
DATA b64shuf<>+24(SB)/8, $0x0a0b090a07080607
GLOBL b64shuf<>(SB), RODATA|NOPTR, $32

// The offset added to an index, by its range: 'a'-26, ten times '0'-52,
// '+'-62, '/'-63, 'A' (the slot of 0-25), per lane.
DATA b64lut<>+0(SB)/8, $0xfcfcfcfcfcfcfc47
DATA b64lut<>+8(SB)/8, $0x000041f0edfcfcfc
DATA b64lut<>+16(SB)/8, $0xfcfcfcfcfcfcfc47
DATA b64lut<>+24(SB)/8, $0x000041f0edfcfcfc
GLOBL b64lut<>(SB), RODATA|NOPTR, $32

DATA b64consts<>+0(SB)/4, $0x0fc0fc00 // the first and third index of 3 bytes
DATA b64consts<>+4(SB)/4, $0x04000040 // their multipliers (high halves kept)
DATA b64consts<>+8(SB)/4, $0x003f03f0 // the second and fourth
DATA b64consts<>+12(SB)/4, $0x01000010 // their multipliers (low halves kept)
DATA b64consts<>+16(SB)/1, $51
DATA b64consts<>+17(SB)/1, $26
DATA b64consts<>+18(SB)/1, $13
DATA b64consts<>+19(SB)/1, $0x20
DATA b64consts<>+20(SB)/1, $0x22 // '"'
DATA b64consts<>+21(SB)/1, $0x5c // '\\'
GLOBL b64consts<>(SB), RODATA|NOPTR, $24

// func base64AVX2(dst, src []byte) int
TEXT ·base64AVX2(SB), NOSPLIT, $0-56
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), CX
	XORQ AX, AX
	CMPQ CX, $32
	JB   b64done

	VMOVDQU      b64perm<>(SB), Y8
	VMOVDQU      b64shuf<>(SB), Y9
	VMOVDQU      b64lut<>(SB), Y6
	VPBROADCASTD b64consts<>+0(SB), Y10
	VPBROADCASTD b64consts<>+4(SB), Y11
	VPBROADCASTD b64consts<>+8(SB), Y12
	VPBROADCASTD b64consts<>+12(SB), Y13
	VPBROADCASTB b64consts<>+16(SB), Y14
	VPBROADCASTB b64consts<>+17(SB), Y15
	VPBROADCASTB b64consts<>+18(SB), Y7

b64loop:
	VMOVDQU   (SI)(AX*1), Y0
	VPERMD    Y0, Y8, Y0
	VPSHUFB   Y9, Y0, Y0
	VPAND     Y10, Y0, Y1
	VPMULHUW  Y11, Y1, Y1
	VPAND     Y12, Y0, Y2
	VPMULLW   Y13, Y2, Y2
	VPOR      Y1, Y2, Y0   // sixteen 6-bit indices a lane
	VPSUBUSB  Y14, Y0, Y1  // 52-63 -> 1-12, the rest 0
	VPCMPGTB  Y0, Y15, Y2  // 0-25
	VPAND     Y7, Y2, Y2
	VPOR      Y2, Y1, Y1   // 0-25 -> 13
	VPSHUFB   Y1, Y6, Y1
	VPADDB    Y1, Y0, Y0
	VMOVDQU   Y0, (DI)
	ADDQ      $32, DI
	ADDQ      $24, AX
	SUBQ      $24, CX
	CMPQ      CX, $32
	JAE       b64loop
	VZEROUPPER

b64done:
	MOVQ AX, ret+48(FP)
	RET

// func scanSafeAVX2(s []byte) int
TEXT ·scanSafeAVX2(SB), NOSPLIT, $0-32
	MOVQ s_base+0(FP), SI
	MOVQ s_len+8(FP), CX
	XORQ AX, AX
	CMPQ CX, $32
	JB   scandone

	VPBROADCASTB b64consts<>+19(SB), Y1
	VPBROADCASTB b64consts<>+20(SB), Y2
	VPBROADCASTB b64consts<>+21(SB), Y3

scanloop:
	VMOVDQU   (SI)(AX*1), Y0
	VPCMPGTB  Y0, Y1, Y4   // signed 0x20 > c: c < 0x20 or c >= 0x80
	VPCMPEQB  Y0, Y2, Y5
	VPCMPEQB  Y0, Y3, Y0
	VPOR      Y5, Y4, Y4
	VPOR      Y0, Y4, Y4
	VPMOVMSKB Y4, DX
	TESTL     DX, DX
	JNZ       scanfound
	ADDQ      $32, AX
	SUBQ      $32, CX
	CMPQ      CX, $32
	JAE       scanloop
	VZEROUPPER

scandone:
	MOVQ AX, ret+24(FP)
	RET

scanfound:
	BSFL       DX, DX
	ADDQ       DX, AX
	VZEROUPPER
	MOVQ       AX, ret+24(FP)
	RET
