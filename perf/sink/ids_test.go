package sink

import (
	"bytes"
	"fmt"
	"testing"
)

func TestIDSetBinaryRoundTrip(t *testing.T) {
	a := NewIDSet(0)
	for i := 0; i < 100; i++ {
		a.Add(ID{Namespace: fmt.Sprint("ns", i%3), Digest: dig(i), LUT: int64(i) - 1, Kind: Kind(i % 3)})
	}
	a.Add(ID{Namespace: "ns0", Digest: dig(0), LUT: -1})
	var buf bytes.Buffer
	if err := a.WriteBinary(&buf); err != nil {
		t.Fatal(err)
	}
	b, err := ReadIDs(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() != 100 || b.Count("ns0", dig(0), -1) != 2 || b.Duplicates() != 1 {
		t.Errorf("len %d count %d dups %d", b.Len(), b.Count("ns0", dig(0), -1), b.Duplicates())
	}
	if _, err := ReadIDs(bytes.NewReader(buf.Bytes()[:20])); err == nil {
		t.Error("truncated set accepted")
	}
	bounded := NewIDSet(10)
	for i := 0; i < 20; i++ {
		bounded.Add(ID{Digest: dig(i)})
	}
	if bounded.Len() != 10 || !bounded.Truncated() {
		t.Error("bound")
	}
}
