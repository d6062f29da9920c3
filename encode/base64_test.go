package encode

import (
	"encoding/base64"
	"math/rand/v2"
	"testing"
)

// Every length to 300 (the AVX2 kernel's blocks of 24 and its 32-byte
// loads) and some longer, against encoding/base64: with AVX2 where the CPU
// has it, and with the word code alone.
func TestAppendQuotedBase64Std(t *testing.T) {
	defer func(v bool) { haveAVX2 = v }(haveAVX2)
	for _, simd := range []bool{false, haveAVX2} {
		haveAVX2 = simd
		testAppendQuotedBase64Std(t)
	}
}

func testAppendQuotedBase64Std(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	lengths := make([]int, 0, 500)
	for n := range 300 {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 4095, 4096, 4097, 65536, 65537, 65538)
	for _, n := range lengths {
		for range 10 {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			want := `ab"` + base64.StdEncoding.EncodeToString(b) + `"`
			for _, c := range []int{2, 2 + len(want)/2, 2 + len(want), 4096} {
				dst := make([]byte, 2, c)
				copy(dst, "ab")
				if got := string(appendQuotedBase64(dst, b)); got != want {
					t.Fatalf("avx2 %v, %x (cap %d): %s, want %s", haveAVX2, b, c, got, want)
				}
			}
		}
	}
}
