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
