// Package shape renders per-record HTTP requests (config
// destinations.*.request, batching off): a Template is parsed once at load
// and appends its text for one record into a reused buffer, allocating
// nothing in steady state.
package shape

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/xdrhook/xdrhook/wire"
)

// Place is where a template's text goes; it decides the escaping.
type Place uint8

const (
	// PlacePath: a URL path; values are escaped as path segments.
	PlacePath Place = iota
	// PlaceQuery: a URL query string; values are escaped as query values.
	PlaceQuery
	// PlaceHeader: a header value; values go as they are, but one holding
	// CR, LF or NUL fails the record (Render gives BadHeader).
	PlaceHeader
)

// Missing is what a record without a placeholder's value (no stored user
// key, no such string or integer bin) gets.
type Missing uint8

const (
	// MissingFail fails the record: answered 4, counted.
	MissingFail Missing = iota
	// MissingDigest puts the record's hex digest in place of the value.
	MissingDigest
	// MissingSkip leaves the record out: answered 0, counted.
	MissingSkip
)

// ParseMissing reads a missing policy by its config name.
func ParseMissing(s string) (Missing, bool) {
	switch s {
	case "fail":
		return MissingFail, true
	case "digest":
		return MissingDigest, true
	case "skip":
		return MissingSkip, true
	}
	return 0, false
}

// Outcome is the result of rendering one record.
type Outcome uint8

const (
	OK Outcome = iota
	// Failed: a value was missing and the policy is fail.
	Failed
	// Skipped: a value was missing and the policy is skip.
	Skipped
	// BadHeader: a header value would hold CR, LF or NUL.
	BadHeader
)

const (
	argLit byte = iota
	argNamespace
	argSet
	argDigest
	argDigestB64
	argUserKey
	argGen
	argLUT
	argBin
)

var argNames = map[string]byte{
	"namespace":     argNamespace,
	"set":           argSet,
	"digest":        argDigest,
	"digest-b64url": argDigestB64,
	"user-key":      argUserKey,
	"gen":           argGen,
	"lut":           argLUT,
}

// Placeholders lists the placeholders for messages and docs.
const Placeholders = "{namespace} {set} {digest} {digest-b64url} {user-key} {gen} {lut} {bin:NAME}"

// Template is a parsed template: literal text and placeholders.
type Template struct {
	text  string
	place Place
	parts []part
}

// part is a literal and the placeholder that follows it: arg argLit for
// none (a template's trailing literal).
type part struct {
	lit  string
	word uint64 // lit as a little-endian word, zero-padded, if len(lit) <= 8
	room int    // the spare capacity Append wants before the part
	arg  byte
	bin  string // argBin: the bin name
}

func newPart(lit string, arg byte, bin string) part {
	p := part{lit: lit, arg: arg, bin: bin}
	var w [8]byte
	copy(w[:], lit)
	p.word = binary.LittleEndian.Uint64(w[:])
	// The word is stored whole, then a decimal (putInt) in place.
	p.room = max(len(lit), 8) + putRoom
	return p
}

// Parse parses s for place. The literal text is checked for its place: a
// path starts with / and holds no space, ?, # or control character; a
// query holds no space, # or control character; a header value no CR, LF
// or NUL.
func Parse(s string, place Place) (*Template, error) {
	t := &Template{text: s, place: place}
	switch place {
	case PlacePath:
		if s != "" && s[0] != '/' {
			return nil, fmt.Errorf("a path starts with /")
		}
		if strings.ContainsAny(s, "?# \t\r\n\x00") {
			return nil, fmt.Errorf("a path may not contain spaces, ? or # (the query has its own key)")
		}
	case PlaceQuery:
		if strings.ContainsAny(s, "# \t\r\n\x00") {
			return nil, fmt.Errorf("a query may not contain spaces or #")
		}
	case PlaceHeader:
		if strings.ContainsAny(s, "\r\n\x00") {
			return nil, fmt.Errorf("a header value cannot contain CR, LF or NUL")
		}
	}
	lit := ""
	for s != "" {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			lit += s
			break
		}
		lit += s[:i]
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("%q has no closing }", s[i:])
		}
		name := s[i+1 : i+j]
		if a, ok := argNames[name]; ok {
			t.parts = append(t.parts, newPart(lit, a, ""))
		} else if bin, ok := strings.CutPrefix(name, "bin:"); ok && bin != "" {
			t.parts = append(t.parts, newPart(lit, argBin, bin))
		} else {
			return nil, fmt.Errorf("unknown placeholder {%s}: the placeholders are %s", name, Placeholders)
		}
		lit = ""
		s = s[i+j+1:]
	}
	if lit != "" {
		t.parts = append(t.parts, newPart(lit, argLit, ""))
	}
	return t, nil
}

// String returns the template as written.
func (t *Template) String() string { return t.text }

// PerRecord reports whether the template holds a placeholder of the record's
// values beyond {namespace} and {set}.
func (t *Template) PerRecord() bool {
	for _, p := range t.parts {
		if p.arg != argLit && p.arg != argNamespace && p.arg != argSet {
			return true
		}
	}
	return false
}

// Append appends the template rendered for m to dst. A value that is
// missing is handled per missing; on an Outcome other than OK, dst holds
// a partial rendering the caller discards. It allocates only if dst must
// grow. It may write past the rendering, in dst's spare capacity.
//
// The common parts are written in place: a part's literal (one word
// stored whole when it fits in one), then a gen or LUT in decimal
// (putUint), or a namespace, set or string key that needs no escaping
// (or header check) and fits (putAsIs). The other placeholders, and the
// values that need escaping, go to appendValue.
func (t *Template) Append(dst []byte, m *wire.Message, missing Missing) ([]byte, Outcome) {
	for i := range t.parts {
		p := &t.parts[i]
		if cap(dst)-len(dst) < p.room {
			dst = slices.Grow(dst, p.room)
		}
		n := len(dst)
		if len(p.lit) <= 8 {
			if len(p.lit) > 0 {
				binary.LittleEndian.PutUint64(dst[n:cap(dst)], p.word)
			}
		} else {
			copy(dst[n:cap(dst)], p.lit)
		}
		n += len(p.lit)
		k := 0
		switch p.arg {
		case argLit:
		case argGen:
			k = putUint(dst[n:cap(dst)], uint64(m.Generation))
		case argLUT:
			k = putInt(dst[n:cap(dst)], m.LUTUnixMs())
		case argNamespace:
			k = t.putAsIs(dst[n:cap(dst)], m.Namespace)
		case argSet:
			k = t.putAsIs(dst[n:cap(dst)], m.Set)
		case argUserKey:
			k = -1
			if m.Key.Type == wire.ParticleString {
				k = t.putAsIs(dst[n:cap(dst)], m.Key.Bytes)
			}
		default:
			k = -1
		}
		if k >= 0 {
			dst = dst[:n+k]
			continue
		}
		var o Outcome
		if dst, o = t.appendValue(dst[:n], p, m, missing); o != OK {
			return dst, o
		}
	}
	return dst, OK
}

// putAsIs copies v to the start of d and returns its length, if v fits and
// its rendering for the place is v as it is (no byte to escape in a path
// or a query, no CR, LF or NUL in a header); else it returns -1.
func (t *Template) putAsIs(d, v []byte) int {
	if len(v) > len(d) {
		return -1
	}
	if t.place == PlaceHeader {
		if badHeaderValue(v) {
			return -1
		}
	} else if !allUnreserved(v) {
		return -1
	}
	return copy(d, v)
}

// appendValue appends the value of p's placeholder, escaped, growing dst
// as needed.
func (t *Template) appendValue(dst []byte, p *part, m *wire.Message, missing Missing) ([]byte, Outcome) {
	var v []byte
	switch p.arg {
	case argNamespace:
		v = m.Namespace
	case argSet:
		v = m.Set
	case argDigest:
		return hex.AppendEncode(dst, m.Digest), OK
	case argDigestB64:
		return base64.RawURLEncoding.AppendEncode(dst, m.Digest), OK
	case argGen:
		return appendUint(dst, uint64(m.Generation)), OK
	case argLUT:
		return appendInt(dst, m.LUTUnixMs()), OK
	case argUserKey:
		switch m.Key.Type {
		case wire.ParticleString:
			v = m.Key.Bytes
		case wire.ParticleInteger:
			return appendInt(dst, m.Key.Int), OK
		case 0:
			return appendMissing(dst, m, missing)
		default:
			return hex.AppendEncode(dst, m.Key.Bytes), OK
		}
	case argBin:
		b := findBin(m, p.bin)
		if b == nil {
			return appendMissing(dst, m, missing)
		}
		switch b.Type {
		case wire.ParticleString:
			v = b.Value
		case wire.ParticleInteger:
			n, ok := wire.Int(b.Value)
			if !ok {
				return appendMissing(dst, m, missing)
			}
			return appendInt(dst, n), OK
		default:
			return appendMissing(dst, m, missing)
		}
	}
	// Decimals, hex and base64 need neither escaping nor the header
	// check: only the byte strings do.
	if t.place == PlaceHeader {
		if badHeaderValue(v) {
			return dst, BadHeader
		}
		return append(dst, v...), OK
	}
	return escape(dst, v), OK
}

// appendMissing appends what missing puts for a value m lacks.
func appendMissing(dst []byte, m *wire.Message, missing Missing) ([]byte, Outcome) {
	switch missing {
	case MissingDigest:
		return hex.AppendEncode(dst, m.Digest), OK
	case MissingSkip:
		return dst, Skipped
	}
	return dst, Failed
}

func findBin(m *wire.Message, name string) *wire.Bin {
	for i := range m.Bins {
		if string(m.Bins[i].Name) == name {
			return &m.Bins[i]
		}
	}
	return nil
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// hasZero reports whether a byte of x is 0 (exact as a whole, though the
// bit it sets may be wrong for the bytes above the first 0).
func hasZero(x uint64) bool { return (x-ones)&^x&highs != 0 }

// badHeaderValue reports whether v holds CR, LF or NUL; 8 bytes at a time.
func badHeaderValue(v []byte) bool {
	for len(v) >= 8 {
		x := binary.LittleEndian.Uint64(v)
		if hasZero(x) || hasZero(x^('\r'*ones)) || hasZero(x^('\n'*ones)) {
			return true
		}
		v = v[8:]
	}
	for _, c := range v {
		if c == '\r' || c == '\n' || c == 0 {
			return true
		}
	}
	return false
}

// allUnreserved reports whether every byte of v is unreserved (so escape
// would copy v as it is): 8 table lookups ANDed per word, the last word
// overlapping the one before.
func allUnreserved(v []byte) bool {
	n := len(v)
	switch {
	case n >= 8:
		for i := 0; i < n-8; i += 8 {
			if !unreserved8(v[i:]) {
				return false
			}
		}
		return unreserved8(v[n-8:])
	case n >= 4:
		w, z := v[:4], v[n-4:n]
		return unreserved[w[0]]&unreserved[w[1]]&unreserved[w[2]]&unreserved[w[3]]&
			unreserved[z[0]]&unreserved[z[1]]&unreserved[z[2]]&unreserved[z[3]] != 0
	case n >= 1:
		return unreserved[v[0]]&unreserved[v[n/2]]&unreserved[v[n-1]] != 0
	}
	return true
}

func unreserved8(v []byte) bool {
	w := v[:8]
	return unreserved[w[0]]&unreserved[w[1]]&unreserved[w[2]]&unreserved[w[3]]&
		unreserved[w[4]]&unreserved[w[5]]&unreserved[w[6]]&unreserved[w[7]] != 0
}

// escape appends v escaped for a path or a query: only RFC 3986
// unreserved characters stay, every other byte is %XX (so a value is one
// path segment, or one query value, whatever it holds). A header value
// goes as it is (Append checks it for CR, LF and NUL instead).
func escape(dst, v []byte) []byte {
	if allUnreserved(v) {
		return append(dst, v...)
	}
	for {
		// The unreserved run, 8 bytes at a time while they all are.
		i := 0
		for ; len(v)-i >= 8; i += 8 {
			w := v[i : i+8 : i+8]
			if unreserved[w[0]]&unreserved[w[1]]&unreserved[w[2]]&unreserved[w[3]]&
				unreserved[w[4]]&unreserved[w[5]]&unreserved[w[6]]&unreserved[w[7]] == 0 {
				break
			}
		}
		for i < len(v) && unreserved[v[i]] != 0 {
			i++
		}
		dst = append(dst, v[:i]...)
		if i == len(v) {
			return dst
		}
		c := v[i]
		dst = append(dst, '%', hexDigits[c>>4], hexDigits[c&15])
		v = v[i+1:]
	}
}

const hexDigits = "0123456789ABCDEF"

// unreserved is 1 for RFC 3986's unreserved characters, 0 for the others
// (bytes, to AND a run of them).
var unreserved = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			t[c] = 1
		}
	}
	return t
}()
