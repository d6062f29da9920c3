package encode

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

func TestSafe8(t *testing.T) {
	safe := func(c byte) bool { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' }
	fillers := []byte{'a', ' ', '~', '!', '#', '[', ']', 0x7f, 0x1f, 0x00, '"', '\\', 0x80, 0xff, 0x21, 0x5d}
	for _, fill := range fillers {
		for pos := 0; pos < 8; pos++ {
			for c := 0; c < 256; c++ {
				var w [8]byte
				for i := range w {
					w[i] = fill
				}
				w[pos] = byte(c)
				all := true
				for _, b := range w {
					all = all && safe(b)
				}
				got := safe8(binary.LittleEndian.Uint64(w[:]))
				if got && !all {
					t.Fatalf("%q: safe8 says safe", w)
				}
				if all && !got && fill >= 0x21 {
					// Borrows only come from bytes below the thresholds.
					t.Errorf("%q: safe8 says unsafe", w)
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 200000; i++ {
		b := make([]byte, rng.IntN(40))
		for j := range b {
			b[j] = byte(0x20 + rng.IntN(0x60))
			if rng.IntN(30) == 0 {
				b[j] = byte(rng.IntN(256))
			}
		}
		want := 0
		for want < len(b) && safe(b[want]) {
			want++
		}
		if got := scanSafe(b, 0); got != want {
			t.Fatalf("%q: scan %d, want %d", b, got, want)
		}
	}
}

// TestAppendJSONStringEscape: the word-at-a-time paths write what the
// byte-by-byte escape loop writes, whatever the room in dst, and a string
// that lies in dst itself (appendName quotes a key's text in place).
func TestAppendJSONStringEscape(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	odd := []byte("abcXYZ 09~\"\\\x00\x1f\x7f\x80\xff\xe2\x80\xa8\xef\xbf\xbd\xc3\xa9")
	for range 200000 {
		s := make([]byte, rng.IntN(40))
		for i := range s {
			s[i] = byte('a' + rng.IntN(26))
			if rng.IntN(8) == 0 {
				s[i] = odd[rng.IntN(len(odd))]
			}
		}
		want := string(append(escapeTail([]byte(`pre"`), s, 0), '"'))
		for _, c := range []int{0, 3, 4 + len(s), 6 + len(s), 22 + len(s), 100} {
			dst := make([]byte, 3, 3+c)
			copy(dst, "pre")
			if got := string(appendJSONString(dst, s)); got != want {
				t.Fatalf("%q (room %d): %q, want %q", s, c, got, want)
			}
		}
		buf := append(make([]byte, 0, 200), s...)
		if got := string(appendJSONString(buf, buf[:len(s)])[len(s):]); got != want[3:] {
			t.Fatalf("%q in dst: %q, want %q", s, got, want[3:])
		}
	}
}
