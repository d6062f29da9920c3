package encode

import (
	"testing"

	"github.com/tinylib/msgp/msgp"
)

// BenchmarkMsgPack encodes the typical record (10 bins, ~300 bytes of
// frame). SetBytes is the size of the message written.
func BenchmarkMsgPack(b *testing.B) {
	var e MsgPack
	m := typicalMessage(b)
	buf, _ := e.Append(nil, m, testNow)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = e.Append(buf[:0], m, testNow)
	}
}

// BenchmarkMsgPackDelete encodes a delete (the envelope alone).
func BenchmarkMsgPackDelete(b *testing.B) {
	var e MsgPack
	recs := testRecords()
	m := recs[8].message(b)
	buf, _ := e.Append(nil, m, testNow)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = e.Append(buf[:0], m, testNow)
	}
}

// BenchmarkMsgPackArray is the per-record cost inside a batch of 500.
func BenchmarkMsgPackArray(b *testing.B) {
	f := NewMsgPackArray(nil)
	m := typicalMessage(b)
	one, _ := f.Enc.Append(nil, m, testNow)
	buf := make([]byte, 0, 600*len(one))
	b.SetBytes(int64(len(one)))
	b.ReportAllocs()
	n := 0
	buf = f.Begin(buf)
	for b.Loop() {
		buf, _ = f.Append(buf, m, testNow)
		if n++; n == 500 {
			buf = f.Begin(f.End(buf)[:0])
			n = 0
		}
	}
}

// BenchmarkMsgPackAppendIntf is, for comparison, msgp's dynamic encoder on
// the same message as Go values (a []any tree built once).
func BenchmarkMsgPackAppendIntf(b *testing.B) {
	r := testRecords()[0]
	v := mpIntfModel(mpModel(&r, nil))
	buf, err := msgp.AppendIntf(nil, v)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = msgp.AppendIntf(buf[:0], v)
	}
}

// mpIntfModel turns the test model into values msgp.AppendIntf takes (maps
// with string keys).
func mpIntfModel(v any) any {
	switch v := v.(type) {
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = mpIntfModel(x)
		}
		return out
	case mpPairs:
		out := map[string]any{}
		for i := 0; i < len(v); i += 2 {
			out[v[i].(string)] = mpIntfModel(v[i+1])
		}
		return out
	}
	return v
}

// BenchmarkMsgPackCopyFloor calibrates the machine: it only copies the
// message-pack bytes of the typical record in pieces of 7 bytes (one byte,
// then six), about the number of appends an encoder makes for it. On a
// shared VM this floor is most of BenchmarkMsgPack.
func BenchmarkMsgPackCopyFloor(b *testing.B) {
	var e MsgPack
	out, _ := e.Append(nil, typicalMessage(b), testNow)
	var pieces [][]byte
	for i := 0; i < len(out); i += 7 {
		pieces = append(pieces, out[i:min(i+7, len(out))])
	}
	buf := make([]byte, 0, 4096)
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for _, p := range pieces {
			buf = append(buf, p[0])
			buf = append(buf, p[1:]...)
		}
	}
}
