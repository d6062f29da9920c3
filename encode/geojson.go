package encode

import (
	"unicode/utf8"
)

// Embedded JSON text (GeoJSON): validated and compacted in one pass.

// appendCompact appends the JSON text s if it is exactly one valid JSON value
// (RFC 8259: grammar, UTF-8, depth at most maxEmbedDepth, objects without
// duplicate names). The copy is compacted (no whitespace, so a line-based
// framing stays one line per message) and its strings are re-spelled
// canonically like every string this package writes. Otherwise it appends
// nothing and returns false.
func (k *keyTable) appendCompact(dst, s []byte) ([]byte, bool) {
	if isCompactPoint(s) {
		return append(dst, s...), true
	}
	start, keys, tab := len(dst), len(k.keys), len(k.tab)
	dst, i, ok := k.compactValue(dst, s, skipWS(s, 0), 0)
	if ok && skipWS(s, i) == len(s) {
		return dst, true
	}
	k.keys, k.tab = k.keys[:keys], k.tab[:tab]
	return dst[:start], false
}

// geoPointHead is how a compact GeoJSON point, the commonest embedded
// text, starts.
const geoPointHead = `{"type":"Point","coordinates":[`

// isCompactPoint reports whether s is `{"type":"Point","coordinates":[N,N]}`
// (or with three numbers) without whitespace: a text that compactValue
// would copy unchanged, found for a compare and a scan of the numbers
// instead of the general parser, which costs 30 instructions a byte.
func isCompactPoint(s []byte) bool {
	const h = len(geoPointHead)
	if len(s) < h+5 || string(s[:h]) != geoPointHead || s[len(s)-2] != ']' || s[len(s)-1] != '}' {
		return false
	}
	end := len(s) - 2
	i := h
	for n := 0; ; n++ {
		j, ok := scanNumber(s[:end], i)
		if !ok || n == 2 && j != end {
			return false
		}
		if j == end {
			return n >= 1
		}
		if s[j] != ',' {
			return false
		}
		i = j + 1
	}
}

// scanNumber returns the end of the JSON number at s[i:] (compactNumber's
// grammar) and whether there is one.
func scanNumber(s []byte, i int) (int, bool) {
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch j := skipDigits(s, i); {
	case j == i:
		return i, false
	case s[i] == '0':
		i++
	default:
		i = j
	}
	if i < len(s) && s[i] == '.' {
		j := skipDigits(s, i+1)
		if j == i+1 {
			return i, false
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := skipDigits(s, i)
		if j == i {
			return i, false
		}
		i = j
	}
	return i, true
}

func skipWS(s []byte, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t') {
		i++
	}
	return i
}

// compactValue copies the value at s[i:]. On failure the caller rolls back
// dst and the key stacks.
func (k *keyTable) compactValue(dst, s []byte, i, depth int) ([]byte, int, bool) {
	if i >= len(s) {
		return dst, i, false
	}
	switch c := s[i]; c {
	case '{':
		if depth == maxEmbedDepth {
			return dst, i, false
		}
		dst = append(dst, '{')
		i = skipWS(s, i+1)
		if i < len(s) && s[i] == '}' {
			return append(dst, '}'), i + 1, true
		}
		o := k.open()
		for {
			if i >= len(s) || s[i] != '"' {
				return dst, i, false
			}
			ks := len(dst)
			var ok bool
			if dst, i, ok = compactString(dst, s, i); !ok {
				return dst, i, false
			}
			h, dup := k.find(&o, dst, ks)
			if dup {
				return dst, i, false
			}
			k.insert(&o, dst, ks, h)
			i = skipWS(s, i)
			if i >= len(s) || s[i] != ':' {
				return dst, i, false
			}
			dst = append(dst, ':')
			if dst, i, ok = k.compactValue(dst, s, skipWS(s, i+1), depth+1); !ok {
				return dst, i, false
			}
			i = skipWS(s, i)
			if i < len(s) && s[i] == ',' {
				dst = append(dst, ',')
				i = skipWS(s, i+1)
				continue
			}
			if i < len(s) && s[i] == '}' {
				k.close(&o)
				return append(dst, '}'), i + 1, true
			}
			return dst, i, false
		}
	case '[':
		if depth == maxEmbedDepth {
			return dst, i, false
		}
		dst = append(dst, '[')
		i = skipWS(s, i+1)
		if i < len(s) && s[i] == ']' {
			return append(dst, ']'), i + 1, true
		}
		for {
			var ok bool
			if dst, i, ok = k.compactValue(dst, s, i, depth+1); !ok {
				return dst, i, false
			}
			i = skipWS(s, i)
			if i < len(s) && s[i] == ',' {
				dst = append(dst, ',')
				i = skipWS(s, i+1)
				continue
			}
			if i < len(s) && s[i] == ']' {
				return append(dst, ']'), i + 1, true
			}
			return dst, i, false
		}
	case '"':
		return compactString(dst, s, i)
	case 't':
		return compactLiteral(dst, s, i, "true")
	case 'f':
		return compactLiteral(dst, s, i, "false")
	case 'n':
		return compactLiteral(dst, s, i, "null")
	}
	return compactNumber(dst, s, i)
}

func compactLiteral(dst, s []byte, i int, lit string) ([]byte, int, bool) {
	if len(s)-i < len(lit) || string(s[i:i+len(lit)]) != lit {
		return dst, i, false
	}
	return append(dst, lit...), i + len(lit), true
}

// compactNumber copies a number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func compactNumber(dst, s []byte, i int) ([]byte, int, bool) {
	j, ok := scanNumber(s, i)
	if !ok {
		return dst, j, false
	}
	return append(dst, s[i:j]...), j, true
}

// skipDigits returns the end of the run of decimal digits at s[i:].
func skipDigits(s []byte, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// compactString copies the string at s[i] == '"', decoding its escapes
// and writing every rune in the canonical spelling of appendEscapedRune. Raw
// control bytes, invalid UTF-8 and bad escapes fail; a lone surrogate escape
// becomes U+FFFD (as encoding/json reads it).
func compactString(dst, s []byte, i int) ([]byte, int, bool) {
	dst = append(dst, '"')
	i++
	start := i
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if safeByte[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch {
			case c == '"':
				return append(dst, '"'), i + 1, true
			case c < 0x20:
				return dst, i, false
			}
			r, n := unescape(s[i:])
			if n == 0 {
				return dst, i, false
			}
			dst = appendEscapedRune(dst, r)
			i += n
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return dst, i, false
		case r == utf8.RuneError || r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = appendEscapedRune(dst, r)
			i += size
			start = i
			continue
		}
		i += size
	}
	return dst, i, false
}

// unescape decodes the escape at s[0] == '\\'. n is 0 for a bad escape.
func unescape(s []byte) (r rune, n int) {
	if len(s) < 2 {
		return 0, 0
	}
	switch s[1] {
	case '"', '\\', '/':
		return rune(s[1]), 2
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'u':
		r := hex4(s[2:])
		if r < 0 {
			return 0, 0
		}
		if r < 0xd800 || r > 0xdfff {
			return r, 6
		}
		if r <= 0xdbff && len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
			if lo := hex4(s[8:]); lo >= 0xdc00 && lo <= 0xdfff {
				return 0x10000 + (r-0xd800)<<10 + (lo - 0xdc00), 12
			}
		}
		return utf8.RuneError, 6
	}
	return 0, 0
}

func hex4(s []byte) rune {
	if len(s) < 4 {
		return -1
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}
