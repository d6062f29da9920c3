package encode

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"unicode/utf8"
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

// escapeRef is the plain byte-by-byte escape that escapeTail's fast paths
// must agree with: every rune decoded by utf8.DecodeRune.
func escapeRef(dst []byte, s []byte) []byte {
	start, i := 0, 0
	for i < len(s) {
		c := s[i]
		if safeByte[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(append(dst, s[start:i]...), appendASCIIEscape(nil, c)...)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError || r == '\u2028' || r == '\u2029' {
			dst = appendEscapedRune(append(dst, s[start:i]...), r)
			start = i + size
		}
		i += size
	}
	return append(dst, s[start:]...)
}

// TestEscapeTailUTF8: valid runes of every length, the escaped ones,
// overlong forms, surrogates, runes above U+10FFFF and truncated sequences,
// mixed with ASCII runs long enough for the word skip.
func TestEscapeTailUTF8(t *testing.T) {
	pieces := [][]byte{
		[]byte("a"), []byte("hello wor"), []byte("0123456789abcdef"), []byte(`"`), []byte(`\`), {0x1f}, {0x7f},
		[]byte("é"), []byte("ß"), []byte("\u07ff"), []byte("\u0800"), []byte("日"), []byte("\ud7ff"), []byte("\ue000"),
		[]byte("\uffff"), []byte("🚀"), []byte("\U00010000"), []byte("\U0010ffff"),
		[]byte("\u2028"), []byte("\u2029"), []byte("\ufffd"), []byte("\u2027"), []byte("\u202a"), []byte("\ufffc"),
		{0xc0, 0x80}, {0xc1, 0xbf}, {0xe0, 0x80, 0x80}, {0xe0, 0x9f, 0xbf}, {0xed, 0xa0, 0x80}, {0xed, 0xbf, 0xbf},
		{0xf0, 0x80, 0x80, 0x80}, {0xf0, 0x8f, 0xbf, 0xbf}, {0xf4, 0x90, 0x80, 0x80}, {0xf5, 0x80, 0x80, 0x80},
		{0xc3}, {0xe6, 0x97}, {0xf0, 0x9f, 0x9a}, {0x80}, {0xbf}, {0xff}, {0xfe},
		[]byte("—"), []byte("\u2000"), []byte("\u20ac"), []byte("\ufeff"), []byte("\uffbd"), []byte("\U000fffff"), []byte("\U00100000"),
		{0xe2, 0x80, 0xa7}, {0xe2, 0x80, 0xaa}, {0xef, 0xbf, 0xbc}, {0xef, 0xbf, 0xbe}, {0xef, 0xbe, 0xbd}, {0xe0, 0xa0, 0x80},
		{0xed, 0x9f, 0xbf}, {0xf1, 0x80, 0x80, 0x80}, {0xf3, 0xbf, 0xbf, 0xbf}, {0xf4, 0x8f, 0xbf, 0xbf}, {0xf0, 0x90, 0x80, 0x80},
		{0xf0, 0x9f, 0x9a, 0x41}, {0xf2, 0x41, 0x80, 0x80}, {0xf1, 0x80, 0xc0, 0x80},
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 50000 {
		var s []byte
		for range rng.IntN(8) {
			s = append(s, pieces[rng.IntN(len(pieces))]...)
		}
		for _, at := range []int{0, len(s) / 2} {
			want := string(escapeRef([]byte("x"), s[at:]))
			got := string(escapeTail(append([]byte("x"), s[:at]...), s, at))
			if want = "x" + string(s[:at]) + want[1:]; got != want {
				t.Fatalf("%q from %d: %q, want %q", s, at, got, want)
			}
		}
	}
	// Every rune between ASCII (every 7th in the short tier).
	step := rune(1)
	if testing.Short() {
		step = 7
	}
	for r := rune(0); r <= utf8.MaxRune; r += step {
		s := utf8.AppendRune([]byte("abcdefgh"), r)
		s = append(s, "ijklmnop"...)
		if got, want := string(escapeTail(nil, s, 0)), string(escapeRef(nil, s)); got != want {
			t.Fatalf("U+%04X: %q, want %q", r, got, want)
		}
	}
}

// scanSafeAVX2 against a byte loop: every byte value at every position of
// blocks of 32, 64 and 96 bytes and the lengths around them.
func TestScanSafeAVX2(t *testing.T) {
	if !haveAVX2 {
		t.Skip("no AVX2 here")
	}
	ref := func(s []byte) int {
		blocks := len(s) / 32 * 32
		for i, c := range s[:blocks] {
			if !safeByte[c] {
				return i
			}
		}
		return blocks
	}
	for _, n := range []int{0, 1, 31, 32, 33, 63, 64, 65, 96, 100} {
		s := make([]byte, n)
		for i := range s {
			s[i] = 'a' + byte(i%26)
		}
		if got, want := scanSafeAVX2(s), ref(s); got != want {
			t.Fatalf("n %d, all safe: %d, want %d", n, got, want)
		}
		for pos := range n {
			for c := 0; c < 256; c++ {
				old := s[pos]
				s[pos] = byte(c)
				if got, want := scanSafeAVX2(s), ref(s); got != want {
					t.Fatalf("n %d, byte %#x at %d: %d, want %d", n, c, pos, got, want)
				}
				s[pos] = old
			}
		}
	}
}

// Strings through the AVX2 scan and through the word code alone give the
// same bytes, and encoding/json reads them back: plain text of every length
// to 300, and text with a byte or rune that needs a look (quote, backslash,
// control, DEL, 2-, 3- and 4-byte runes, U+2028, an invalid byte) at every
// position, alone or followed by a long plain run, and two of them.
func TestAppendJSONStringAVX2(t *testing.T) {
	defer func(v bool) { haveAVX2 = v }(haveAVX2)
	plain := make([]byte, 400)
	for i := range plain {
		plain[i] = "Mountain View, CA 94043 ~!#"[i%27]
	}
	check := func(s []byte) {
		t.Helper()
		haveAVX2 = false
		want := string(appendJSONString([]byte("x"), s))
		wantEsc := string(appendEscaped([]byte("x"), s))
		haveAVX2 = true
		if got := string(appendJSONString([]byte("x"), s)); got != want {
			t.Fatalf("%q: %s, want %s", s, got, want)
		}
		if got := string(appendEscaped([]byte("x"), s)); got != wantEsc {
			t.Fatalf("%q (appendEscaped): %s, want %s", s, got, wantEsc)
		}
		var back string
		if err := json.Unmarshal([]byte(want[1:]), &back); err != nil || (utf8.Valid(s) && back != string(s)) {
			t.Fatalf("%q: encoding/json reads back %q, %v", s, back, err)
		}
	}
	for n := range 300 {
		check(plain[:n])
	}
	for _, n := range []int{33, 64, 100, 131} {
		for _, odd := range []string{`"`, `\`, "\x01", "\x7f", "é", "東", "🎉", "\u2028", "\xff"} {
			for at := 0; at+len(odd) <= n; at++ {
				s := append([]byte(nil), plain[:n]...)
				copy(s[at:], odd)
				check(s)
				check(append(s, plain[:200]...))
			}
		}
	}
	// Two: the second anywhere after the first, so that a run scanned in
	// blocks ends at it.
	for _, odd := range []string{`"`, "\x01", "é", "\xff"} {
		for _, p1 := range []int{0, 5, 40} {
			for p2 := p1 + len(odd); p2+len(odd) <= 300; p2++ {
				s := append([]byte(nil), plain[:300]...)
				copy(s[p1:], odd)
				copy(s[p2:], odd)
				check(s)
			}
		}
	}
}

// FuzzJSONStringAVX2: a string and a blob through the AVX2 kernels and
// through the word code alone give the same bytes; the string is read back
// by encoding/json (valid UTF-8), the blob by encoding/base64.
func FuzzJSONStringAVX2(f *testing.F) {
	f.Add([]byte(`plain text with "quotes" and \ back`), 3)
	f.Add([]byte("Zoë Ångström — 東京都 🎉 naïve café \u2028\x01"), 40)
	f.Fuzz(func(t *testing.T, s []byte, repeat int) {
		if repeat = repeat%64 + 1; repeat > 1 {
			s = bytes.Repeat(s, repeat)
		}
		defer func(v bool) { haveAVX2 = v }(haveAVX2)
		haveAVX2 = false
		want, wantB := appendJSONString(nil, s), appendQuotedBase64(nil, s)
		wantEsc := appendEscaped(nil, s)
		haveAVX2 = true
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("%q: %s, want %s", s, got, want)
		}
		if got := appendEscaped(nil, s); !bytes.Equal(got, wantEsc) {
			t.Fatalf("%q (appendEscaped): %s, want %s", s, got, wantEsc)
		}
		if got := appendQuotedBase64(nil, s); !bytes.Equal(got, wantB) {
			t.Fatalf("%x (base64): %s, want %s", s, got, wantB)
		}
		if b, err := base64.StdEncoding.DecodeString(string(wantB[1 : len(wantB)-1])); err != nil || !bytes.Equal(b, s) {
			t.Fatalf("%x: base64 reads back %x, %v", s, b, err)
		}
		var back string
		if err := json.Unmarshal(want, &back); err != nil || (utf8.Valid(s) && back != string(s)) {
			t.Fatalf("%q: encoding/json reads back %q, %v", s, back, err)
		}
	})
}
