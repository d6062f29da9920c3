package sink

import (
	"bytes"
	"encoding/binary"

	"github.com/tinylib/msgp/msgp"
)

// countBody is the lean server's counting: it tells the framing from the
// content type (as detect does, without decoding a message) and counts the
// records by their framing alone — ndjson and splunk-hec lines, es-bulk
// action lines, json-array elements (a scan of the top level: strings and
// nesting skipped), the MessagePack array header, the Avro OCF block
// counts. Nothing is validated and nothing is allocated (AllocsPerRun test):
// a body is counted at memory speed, so the sink is not what a throughput
// row measures.
func countBody(contentType, body []byte) (format string, records int, err error) {
	switch mediaType(contentType) {
	case mtNDJSON:
		if isESActionLine(firstLine(bytes.TrimLeft(body, " \t\r\n"))) {
			return FormatESBulk, countESBulk(body), nil
		}
		return FormatNDJSON, countLines(body), nil
	case mtJSON:
		b := bytes.TrimLeft(body, " \t\r\n")
		if len(b) > 0 && b[0] == '[' {
			n, err := countJSONTop(b, true)
			return FormatJSONArray, n, err
		}
		n, err := countJSONTop(b, false)
		if n > 1 || bytes.HasPrefix(b, []byte(`{"time":`)) {
			return FormatSplunkHEC, n, err // splunk-hec: {"time":…,"event":…} objects joined by newlines
		}
		return FormatJSON, n, err
	case mtMsgpack:
		n, rest, err := msgp.ReadArrayHeaderBytes(body)
		if err != nil {
			return FormatMsgpack, 0, bad("msgpack: %v", err)
		}
		if t := msgp.NextType(rest); n > 0 && (t == msgp.IntType || t == msgp.UintType) {
			return FormatMsgpack, 1, nil // [version, kind, body]: one message
		}
		return FormatMsgpackArray, int(n), nil
	case mtAvro:
		if bytes.HasPrefix(body, []byte("Obj\x01")) {
			n, err := countOCFBytes(body)
			return FormatAvroOCF, n, err
		}
		if len(body) < 10 || body[0] != 0xc3 || body[1] != 0x01 {
			return FormatAvro, 0, bad("avro: no single-object header")
		}
		return FormatAvro, 1, nil
	}
	// Another content type: sniff as the validating mode does (not a path
	// xdrhook takes; it allocates).
	format = detect(string(contentType), body)
	p := &parsed{format: format}
	err = (&parser{}).count(p, body)
	return format, p.records, err
}

const (
	mtOther = iota
	mtNDJSON
	mtJSON
	mtMsgpack
	mtAvro
)

// mediaType classifies a Content-Type value (parameters ignored, case
// insensitive) without allocating.
func mediaType(ct []byte) int {
	if i := bytes.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = bytes.TrimSpace(ct)
	for _, m := range []struct {
		s string
		t int
	}{
		{"application/json", mtJSON},
		{"application/x-ndjson", mtNDJSON}, {"application/ndjson", mtNDJSON},
		{"application/jsonl", mtNDJSON}, {"application/x-jsonlines", mtNDJSON},
		{"application/x-msgpack", mtMsgpack}, {"application/msgpack", mtMsgpack}, {"application/vnd.msgpack", mtMsgpack},
		{"avro/binary", mtAvro}, {"application/avro", mtAvro},
		{"application/vnd.apache.avro+binary", mtAvro}, {"application/avro-binary", mtAvro},
	} {
		if len(ct) == len(m.s) && bytes.EqualFold(ct, []byte(m.s)) {
			return m.t
		}
	}
	return mtOther
}

// isESActionLine: a line opening with one of the four _bulk action keys
// (the framing's first line; the validating mode decodes it).
func isESActionLine(line []byte) bool {
	b := bytes.TrimLeft(line, " \t")
	if len(b) == 0 || b[0] != '{' {
		return false
	}
	b = bytes.TrimLeft(b[1:], " \t")
	for _, k := range []string{`"index"`, `"create"`, `"delete"`, `"update"`} {
		if bytes.HasPrefix(b, []byte(k)) {
			return true
		}
	}
	return false
}

// countLines counts the lines that are not blank.
func countLines(body []byte) int {
	n := 0
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		if len(bytes.TrimSpace(line)) > 0 {
			n++
		}
	}
	return n
}

// countESBulk counts the actions of a _bulk body: every action but delete
// is followed by a document line.
func countESBulk(body []byte) int {
	n, expectDoc := 0, false
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if expectDoc {
			expectDoc = false
			continue
		}
		n++
		expectDoc = !bytes.HasPrefix(bytes.TrimLeft(line, " {"), []byte(`"delete"`))
	}
	return n
}

// countJSONTop counts the values at the top level of b: the elements of
// the array b is (array), or the values b concatenates (one message,
// splunk-hec's newline-joined events). Strings are skipped with their
// escapes; the count is an error when the nesting does not balance or data
// follows the array.
func countJSONTop(b []byte, array bool) (int, error) {
	base := 0 // the depth whose values are counted
	if array {
		base = 1
	}
	n, depth, inValue, ended := 0, 0, false, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if ended && c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return 0, bad("json-array: data after the array")
		}
		switch c {
		case '"':
			j := i + 1 // to the next quote not escaped: one after an even run of backslashes
			for {
				k := bytes.IndexByte(b[j:], '"')
				if k < 0 {
					return 0, bad("json: unterminated string")
				}
				j += k
				bs := 0
				for bs < j-i-1 && b[j-1-bs] == '\\' {
					bs++
				}
				if bs%2 == 0 {
					break
				}
				j++
			}
			if depth == base && !inValue {
				n, inValue = n+1, true
			}
			i = j
		case '{', '[':
			if depth == base && !inValue {
				n, inValue = n+1, true
			}
			depth++
		case '}', ']':
			if depth--; depth < 0 {
				return 0, bad("json: unbalanced %q", c)
			}
			switch {
			case array && depth == 0:
				ended = true
			case !array && depth == 0:
				inValue = false // the next value is another message
			}
		case ',':
			if depth == base {
				inValue = false
			}
		case ' ', '\t', '\r', '\n', ':':
		default: // a number, true, false, null
			if depth == base && !inValue {
				n, inValue = n+1, true
			}
		}
	}
	if depth != 0 || (array && !ended) {
		return 0, bad("json: unbalanced nesting")
	}
	return n, nil
}

// countOCFBytes walks an object container file's blocks and sums their
// counts, on the bytes (countOCF's reader allocates).
func countOCFBytes(b []byte) (int, error) {
	b = b[4:]
	varint := func() (int64, bool) {
		v, k := binary.Varint(b)
		if k <= 0 {
			return 0, false
		}
		b = b[k:]
		return v, true
	}
	skip := func(n int64) bool {
		if n < 0 || n > int64(len(b)) {
			return false
		}
		b = b[n:]
		return true
	}
	errOCF := func(what string) (int, error) { return 0, bad("avro-ocf: %s", what) }
	for { // metadata map blocks
		n, ok := varint()
		if !ok {
			return errOCF("bad metadata")
		}
		if n == 0 {
			break
		}
		if n < 0 {
			n = -n
			if _, ok := varint(); !ok {
				return errOCF("bad metadata")
			}
		}
		for i := int64(0); i < 2*n; i++ {
			l, ok := varint()
			if !ok || !skip(l) {
				return errOCF("bad metadata")
			}
		}
	}
	if !skip(16) {
		return errOCF("no sync marker")
	}
	total := 0
	for len(b) > 0 {
		n, ok := varint()
		if !ok || n < 0 {
			return errOCF("bad block count")
		}
		size, ok := varint()
		if !ok || size < 0 || !skip(size) || !skip(16) {
			return errOCF("truncated block")
		}
		total += int(n)
	}
	return total, nil
}
