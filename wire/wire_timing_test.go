package wire

import (
	"testing"

	"github.com/xdrhook/xdrhook/pool"
)

func BenchmarkDecodeTypical(b *testing.B) {
	frame := AppendFrame(nil, typicalRecord())
	body := frame[HeaderSize:]
	var m Message
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if err := m.Decode(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSplitAndDecode(b *testing.B) {
	frame := AppendFrame(nil, typicalRecord())
	var m Message
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		f, _, err := Split(frame, DefaultMaxBody)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Decode(f[HeaderSize:]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCDTWalkMap20(b *testing.B) {
	v := AppendCDTMap(nil, 21)
	v = AppendCDTMapOrder(v, 1)
	for i := 0; i < 20; i++ {
		v = AppendCDTString(v, "key-"+string(rune('a'+i)))
		if i%2 == 0 {
			v = AppendCDTInt(v, int64(i)*1000)
		} else {
			v = AppendCDTString(v, "value")
		}
	}
	var r CDTReader
	b.ReportAllocs()
	b.SetBytes(int64(len(v)))
	for b.Loop() {
		if err := r.Validate(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInflate(b *testing.B) {
	frame := AppendFrame(nil, typicalRecord())
	z := AppendCompressed(nil, frame, 6)
	var inf Inflater
	out := pool.Get(len(frame))
	defer pool.Put(out)
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if _, err := inf.Inflate(z, DefaultMaxBody, out); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendReply(b *testing.B) {
	buf := make([]byte, 0, ReplySize*64)
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for i := 0; i < 64; i++ {
			buf = AppendReply(buf, RCOK)
		}
	}
}

func BenchmarkDigest(b *testing.B) {
	var d Digester
	key, set := []byte("user-000042"), []byte("users")
	b.ReportAllocs()
	for b.Loop() {
		d.Digest(set, ParticleString, key)
	}
}

func BenchmarkAppendFrame(b *testing.B) {
	r := typicalRecord()
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendFrame(buf[:0], r)
	}
}
