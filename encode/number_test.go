package encode

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// appendInt and appendJSONFloat replace strconv for speed; these tests
// hold them to strconv's text on random and edge-case inputs.

// jtRefFloat is appendJSONFloat as it was, on strconv alone: the reference
// of the fast paths.
func jtRefFloat(dst []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Infinity"`...)
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
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

func TestAppendIntStrconv(t *testing.T) {
	vals := []int64{0, 1, 9, 10, 99, 100, 999, 1000, 1e8 - 1, 1e8, 1e8 + 1, 1e16 - 1, 1e16, math.MaxInt64, math.MinInt64, -1, -9, -10, -99, -100}
	for p := int64(1); p <= 1e18; p *= 10 {
		vals = append(vals, p, p-1, p+1, -p, 1-p)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		vals = append(vals, int64(rng.Uint64()), int64(rng.Uint64()>>rng.IntN(64)))
	}
	for _, v := range vals {
		for _, c := range []int{1, 3, 64} { // with and without room
			dst := make([]byte, 1, c)
			if got, want := appendInt(dst, v), strconv.AppendInt(dst[:1:1], v, 10); string(got) != string(want) {
				t.Fatalf("int %d: %s, want %s", v, got, want)
			}
			u := uint64(v)
			if got, want := appendUint(dst, u), strconv.AppendUint(dst[:1:1], u, 10); string(got) != string(want) {
				t.Fatalf("uint %d: %s, want %s", u, got, want)
			}
		}
	}
	if got := string(appendUint(nil, math.MaxUint64)); got != "18446744073709551615" {
		t.Fatalf("MaxUint64: %s", got)
	}
}

func TestAppendJSONFloatStrconv(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	check := func(f float64) {
		t.Helper()
		if got, want := appendJSONFloat([]byte("x"), f, 64), jtRefFloat([]byte("x"), f, 64); string(got) != string(want) {
			t.Fatalf("%v (%#x): %s, want %s", f, math.Float64bits(f), got, want)
		}
		f32 := float64(float32(f))
		if got, want := appendJSONFloat(nil, f32, 32), jtRefFloat(nil, f32, 32); string(got) != string(want) {
			t.Fatalf("float32 %v: %s, want %s", f32, got, want)
		}
	}
	for _, f := range []float64{1234.56, 0.1, 0.3, 1e-6, 1e-7, 2.5e-6, 0.000123, 98.25, 1<<51/10 - 0.5, 1 << 51 / 10, 225179981368524.7, 4503599627370495.5, 1e15 + 0.5, 123456789.125} {
		check(f)
		check(-f)
		check(math.Nextafter(f, 0))
		check(math.Nextafter(f, math.Inf(1)))
	}
	n := 400000
	if testing.Short() {
		n = 40000
	}
	for range n {
		// Decimals of few digits (the fast path), their neighbours (not),
		// random bits and random magnitudes.
		k := rng.IntN(len(floatPow10) + 2)
		m := rng.Int64N(1 << uint(1+rng.IntN(53)))
		f := float64(m) / math.Pow(10, float64(k))
		check(f)
		check(math.Nextafter(f, 0))
		check(math.Nextafter(f, math.Inf(1)))
		check(math.Float64frombits(rng.Uint64()))
		check(rng.Float64() * math.Pow(10, float64(rng.IntN(40)-20)))
		// Binary fractions (m/2^e: up to e fraction digits), as sensors
		// and the perf suite's records have them.
		check(float64(rng.Int64N(1<<uint(1+rng.IntN(40)))) / float64(uint64(1)<<uint(rng.IntN(30))))
	}
}
