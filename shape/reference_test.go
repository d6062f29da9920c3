package shape

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/xdrhook/xdrhook/wire"
)

// refAppend is the plain implementation of Template.Append (the one before
// the fast paths): the optimized one must render the same bytes and
// outcome for every record.
func refAppend(t *Template, dst []byte, m *wire.Message, missing Missing) ([]byte, Outcome) {
	esc := func(dst, v []byte) []byte {
		if t.place == PlaceHeader {
			return append(dst, v...)
		}
		for _, c := range v {
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
				dst = append(dst, c)
			} else {
				dst = append(dst, '%', "0123456789ABCDEF"[c>>4], "0123456789ABCDEF"[c&15])
			}
		}
		return dst
	}
	for _, p := range t.parts {
		dst = append(dst, p.lit...)
		start := len(dst)
		ok := true
		switch p.arg {
		case argLit:
			continue
		case argNamespace:
			dst = esc(dst, m.Namespace)
		case argSet:
			dst = esc(dst, m.Set)
		case argDigest:
			dst = hex.AppendEncode(dst, m.Digest)
		case argDigestB64:
			dst = base64.RawURLEncoding.AppendEncode(dst, m.Digest)
		case argGen:
			dst = strconv.AppendUint(dst, uint64(m.Generation), 10)
		case argLUT:
			dst = strconv.AppendInt(dst, m.LUTUnixMs(), 10)
		case argUserKey:
			switch m.Key.Type {
			case 0:
				ok = false
			case wire.ParticleString:
				dst = esc(dst, m.Key.Bytes)
			case wire.ParticleInteger:
				dst = strconv.AppendInt(dst, m.Key.Int, 10)
			default:
				dst = hex.AppendEncode(dst, m.Key.Bytes)
			}
		case argBin:
			var b *wire.Bin
			for i := range m.Bins {
				if string(m.Bins[i].Name) == p.bin {
					b = &m.Bins[i]
					break
				}
			}
			switch {
			case b == nil:
				ok = false
			case b.Type == wire.ParticleString:
				dst = esc(dst, b.Value)
			case b.Type == wire.ParticleInteger:
				v, vok := wire.Int(b.Value)
				if vok {
					dst = strconv.AppendInt(dst, v, 10)
				}
				ok = vok
			default:
				ok = false
			}
		}
		if !ok {
			switch missing {
			case MissingDigest:
				dst = hex.AppendEncode(dst, m.Digest)
				continue
			case MissingSkip:
				return dst, Skipped
			default:
				return dst, Failed
			}
		}
		if t.place == PlaceHeader {
			for _, c := range dst[start:] {
				if c == '\r' || c == '\n' || c == 0 {
					return dst, BadHeader
				}
			}
		}
	}
	return dst, OK
}

func randomBytes(r *rand.Rand) []byte {
	n := r.IntN(40)
	if r.IntN(4) == 0 {
		n = 0
	}
	v := make([]byte, n)
	for i := range v {
		switch r.IntN(4) {
		case 0:
			v[i] = byte(r.IntN(256))
		case 1:
			v[i] = "\r\n\x00%/ "[r.IntN(6)]
		default:
			v[i] = "abcXYZ019-._~"[r.IntN(13)]
		}
	}
	return v
}

func randomInt(r *rand.Rand) int64 {
	switch r.IntN(6) {
	case 0:
		return []int64{0, 1, -1, 9, 10, 99, 100, -100, math.MaxInt64, math.MinInt64, math.MinInt64 + 1}[r.IntN(11)]
	case 1:
		return int64(r.Uint64())
	case 2:
		return int64(r.Uint64() >> r.IntN(64))
	case 3:
		return -int64(r.Uint64() >> r.IntN(64))
	default:
		p := int64(1)
		for range r.IntN(19) {
			p *= 10
		}
		return p + int64(r.IntN(3)) - 1
	}
}

func randomMessage(r *rand.Rand) *wire.Message {
	m := testMessage()
	m.Namespace, m.Set = randomBytes(r), randomBytes(r)
	m.Generation = uint32(randomInt(r))
	m.HasLUT, m.LUT = r.IntN(5) != 0, r.Uint64()>>r.IntN(64)
	switch r.IntN(5) {
	case 0:
		m.Key = wire.UserKey{}
	case 1:
		v := randomInt(r)
		m.Key = wire.UserKey{Type: wire.ParticleInteger, Int: v, Bytes: intBytes(v)}
	case 2:
		m.Key = wire.UserKey{Type: wire.ParticleBlob, Bytes: randomBytes(r)}
	default:
		m.Key = wire.UserKey{Type: wire.ParticleString, Bytes: randomBytes(r)}
	}
	m.Bins[0].Value = randomBytes(r)
	iv := intBytes(randomInt(r))
	m.Bins[1].Value = iv[r.IntN(9):]
	if r.IntN(8) == 0 {
		m.Bins[1].Type = wire.ParticleFloat
	}
	return m
}

func TestAppendMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var tpls []*Template
	for _, s := range []string{
		"/{namespace}/{set}/{user-key}/{digest}/{digest-b64url}/{bin:name}/{bin:age}/{bin:nope}/{bin:f}.json",
		"/{set}/{user-key}", "/{namespace}/{set}", "",
	} {
		tpl, err := Parse(s, PlacePath)
		if err != nil {
			t.Fatal(err)
		}
		tpls = append(tpls, tpl)
	}
	for _, s := range []string{
		"g={gen}&l={lut}&k={user-key}&b={bin:name}&n={bin:age}&ns={namespace}&s={set}",
		"{lut}-{gen}", "{user-key};{set};{namespace}", "{bin:name}/{bin:age}", "{digest}-{digest-b64url}", "{gen}{lut}{gen}",
	} {
		for _, pl := range []Place{PlaceQuery, PlaceHeader} {
			tpl, err := Parse(s, pl)
			if err != nil {
				t.Fatal(err)
			}
			tpls = append(tpls, tpl)
		}
	}
	n := 20000
	if testing.Short() {
		n = 3000
	}
	var got []byte
	for range n {
		m := randomMessage(r)
		miss := Missing(r.IntN(3))
		for _, tpl := range tpls {
			prefix := randomBytes(r)
			want, wo := refAppend(tpl, append([]byte(nil), prefix...), m, miss)
			var o Outcome
			got, o = tpl.Append(append(got[:0], prefix...), m, miss)
			if o != wo || (o == OK && string(got) != string(want)) {
				t.Fatalf("%q (%d) on %+v: got %q %d, want %q %d", tpl.text, tpl.place, m, got, o, want, wo)
			}
		}
	}
}

func TestDecimal(t *testing.T) {
	check := func(v int64) {
		t.Helper()
		if got, want := string(appendInt([]byte("x"), v)), "x"+strconv.FormatInt(v, 10); got != want {
			t.Fatalf("appendInt(%d): %q, want %q", v, got, want)
		}
		u := uint64(v)
		if got, want := string(appendUint([]byte("x"), u)), "x"+strconv.FormatUint(u, 10); got != want {
			t.Fatalf("appendUint(%d): %q, want %q", u, got, want)
		}
	}
	for _, v := range []int64{0, 1, -1, math.MaxInt64, math.MinInt64, math.MinInt64 + 1, math.MaxInt64 - 1} {
		check(v)
	}
	// Every power of ten and its neighbours, of both signs.
	for p := uint64(1); ; p *= 10 {
		for _, d := range []uint64{0, 1, 2} {
			check(int64(p - d))
			check(-int64(p - d))
			check(int64(p + d))
			check(-int64(p + d))
		}
		if p > math.MaxUint64/10 {
			break
		}
	}
	for v := int64(-100000); v <= 100000; v++ {
		check(v)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 1000000 {
		check(randomInt(r))
	}
	// Powers of ten past int64 as uint64.
	for _, u := range []uint64{math.MaxUint64, math.MaxUint64 - 1, 1e19, 1e19 - 1, 1e19 + 1} {
		if got, want := string(appendUint(nil, u)), strconv.FormatUint(u, 10); got != want {
			t.Fatalf("appendUint(%d): %q", u, got)
		}
	}
}

func TestDigits8Exhaustive(t *testing.T) {
	if testing.Short() {
		t.Skip("1e8 values")
	}
	var b [8]byte
	for v := uint32(0); v < 1e8; v++ {
		binary.LittleEndian.PutUint64(b[:], digits8(v))
		x := v
		for i := 7; i >= 0; i-- {
			if b[i] != byte('0'+x%10) {
				t.Fatalf("digits8(%d) = %q", v, b)
			}
			x /= 10
		}
	}
}
