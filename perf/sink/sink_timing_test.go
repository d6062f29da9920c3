package sink

import (
	"strings"
	"testing"

	"github.com/tinylib/msgp/msgp"
)

// Validation cost per record of a 500-record batch, full and count modes.
func benchParse(b *testing.B, format string, body []byte, countOnly bool) {
	ps := &parser{metaKey: "metadata", countAll: countOnly}
	b.SetBytes(int64(len(body)) / 500)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += 500 {
		p, err := ps.parse(format, body)
		if err != nil || p.records != 500 {
			b.Fatal(err, p.records)
		}
	}
}

func ndjsonBody() []byte {
	var sb strings.Builder
	for i := 0; i < 500; i++ {
		sb.WriteString(jsonWrite("test", i))
		sb.WriteByte('\n')
	}
	return []byte(sb.String())
}

func msgpackBody() []byte {
	b := msgp.AppendArrayHeader(nil, 500)
	for i := 0; i < 500; i++ {
		b = mpWrite(b, "test", i)
	}
	return b
}

func BenchmarkParseNDJSONFull(b *testing.B)   { benchParse(b, FormatNDJSON, ndjsonBody(), false) }
func BenchmarkParseNDJSONCount(b *testing.B)  { benchParse(b, FormatNDJSON, ndjsonBody(), true) }
func BenchmarkParseMsgpackFull(b *testing.B)  { benchParse(b, FormatMsgpackArray, msgpackBody(), false) }
func BenchmarkParseMsgpackCount(b *testing.B) { benchParse(b, FormatMsgpackArray, msgpackBody(), true) }

// The lean server's counting per record of a 500-record batch.
func benchCount(b *testing.B, ct string, body []byte) {
	b.SetBytes(int64(len(body)) / 500)
	b.ReportAllocs()
	for i := 0; i < b.N; i += 500 {
		if _, n, err := countBody([]byte(ct), body); err != nil || n != 500 {
			b.Fatal(err, n)
		}
	}
}

func jsonArrayBody() []byte {
	var sb strings.Builder
	sb.WriteByte('[')
	for i := 0; i < 500; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(jsonWrite("test", i))
	}
	sb.WriteByte(']')
	return []byte(sb.String())
}

func BenchmarkCountBodyNDJSON(b *testing.B) {
	benchCount(b, "application/x-ndjson", ndjsonBody())
}
func BenchmarkCountBodyJSONArray(b *testing.B) {
	benchCount(b, "application/json", jsonArrayBody())
}
func BenchmarkCountBodyMsgpack(b *testing.B) {
	benchCount(b, "application/x-msgpack", msgpackBody())
}
