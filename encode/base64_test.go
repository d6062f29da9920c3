package encode

import (
	"encoding/base64"
	"math/rand/v2"
	"testing"
)

func TestAppendQuotedBase64Std(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for n := range 300 {
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
					t.Fatalf("%x (cap %d): %s, want %s", b, c, got, want)
				}
			}
		}
	}
}
