package dataplane

import (
	"bytes"
	"sync"
	"testing"

	"github.com/xdrhook/xdrhook/wire"
)

func replyCodes(b []byte) []byte {
	var rcs []byte
	for len(b) >= wire.ReplySize {
		rcs = append(rcs, b[13])
		b = b[wire.ReplySize:]
	}
	return rcs
}

func TestWindowInOrder(t *testing.T) {
	w := newWindow(4)
	a := w.open(1, 0, 10)
	b := w.open(2, 0, 10)
	c := w.open(0, wire.RCRetry, 10) // answered at once, but after a and b
	if out, n := w.appendReplies(nil, 0, &latencyCounts{}); n != 0 || len(out) != 0 {
		t.Fatal("replied before the head settled")
	}
	if w.settle(b, 0) { // one of two destinations
		t.Fatal("b completed after one of two destinations")
	}
	if w.settle(b, wire.RCParameter) != true {
		t.Fatal("second destination did not complete b")
	}
	if out, n := w.appendReplies(nil, 0, &latencyCounts{}); n != 0 || len(out) != 0 {
		t.Fatal("replied out of order")
	}
	if !w.settle(a, 0) {
		t.Fatal("a not completed")
	}
	out, n := w.appendReplies(nil, 0, &latencyCounts{})
	if n != 3 || !bytes.Equal(replyCodes(out), []byte{0, wire.RCParameter, wire.RCRetry}) {
		t.Fatalf("replies %v", replyCodes(out))
	}
	if w.settle(a, 0) || w.settle(c, 0) {
		t.Fatal("a settle after the reply counted")
	}
}

func TestWindowWorstOutcome(t *testing.T) {
	for _, c := range []struct {
		rcs  []byte
		want byte
	}{
		{[]byte{0, 0, 0}, 0},
		{[]byte{0, 4, 0}, 4},
		{[]byte{4, 11, 0}, 11},
		{[]byte{11, 4}, 11},
		{[]byte{9, 0}, 9},
	} {
		w := newWindow(2)
		seq := w.open(len(c.rcs), 0, 0)
		for _, rc := range c.rcs {
			w.settle(seq, rc)
		}
		out, _ := w.appendReplies(nil, 0, &latencyCounts{})
		if got := replyCodes(out); len(got) != 1 || got[0] != c.want {
			t.Errorf("%v → %v, want %d", c.rcs, got, c.want)
		}
	}
}

func TestWindowFullAndReuse(t *testing.T) {
	w := newWindow(3 * chunkSlots) // rounds up to 4 chunks, allocated as needed
	if w.chunks[1].Load() != nil {
		t.Fatal("a chunk allocated before use")
	}
	var seqs []uint64
	for i := 0; i < 4*chunkSlots; i++ {
		seqs = append(seqs, w.open(1, 0, 0))
	}
	if !w.full() {
		t.Fatal("not full")
	}
	w.settle(seqs[0], 0)
	if _, n := w.appendReplies(nil, 0, &latencyCounts{}); n != 1 || w.full() {
		t.Fatal("head did not advance")
	}
	for i := 1; i < 4; i++ {
		if w.chunks[i].Load() == nil {
			t.Fatalf("chunk %d not allocated", i)
		}
	}
	reused := w.open(1, 0, 0) // same slot as seqs[0], next epoch
	if reused&w.mask != seqs[0]&w.mask {
		t.Fatal("slot not reused")
	}
	if w.settle(seqs[0], 11) {
		t.Fatal("a late settle of the previous occupant completed the new one")
	}
}

func TestWindowExpire(t *testing.T) {
	w := newWindow(8)
	a := w.open(1, 0, 100)
	b := w.open(1, 0, 200)
	w.open(1, 0, 300)
	if n := w.expire(200, wire.RCRetry); n != 2 {
		t.Fatalf("expired %d, want 2", n)
	}
	if w.settle(a, 0) || w.settle(b, 0) {
		t.Fatal("settle after the deadline answer counted")
	}
	out, n := w.appendReplies(nil, 0, &latencyCounts{})
	if n != 2 || !bytes.Equal(replyCodes(out), []byte{11, 11}) {
		t.Fatalf("replies %v", replyCodes(out))
	}
	if w.oldest() != 300 {
		t.Fatalf("oldest %d", w.oldest())
	}
}

func TestWindowConcurrentSettle(t *testing.T) {
	const n = 1 << 12
	w := newWindow(n)
	seqs := make([]uint64, n)
	for i := range seqs {
		seqs[i] = w.open(3, 0, 0)
	}
	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for _, s := range seqs {
				w.settle(s, byte(g*4)) // 0, 4, 8
			}
		}(g)
	}
	go w.expire(-1, 11) // nothing is that old: must not touch anything
	wg.Wait()
	out, got := w.appendReplies(nil, 0, &latencyCounts{})
	if got != n {
		t.Fatalf("answered %d of %d", got, n)
	}
	for i, rc := range replyCodes(out) {
		if rc != 8 {
			t.Fatalf("reply %d = %d, want 8 (retry outranks)", i, rc)
		}
	}
}

func TestWindowAllocs(t *testing.T) {
	w := newWindow(64)
	buf := make([]byte, 0, 64*wire.ReplySize)
	if n := testing.AllocsPerRun(100, func() {
		s := w.open(2, 0, 0)
		w.settle(s, 0)
		w.settle(s, 0)
		buf, _ = w.appendReplies(buf[:0], 0, &latencyCounts{})
	}); n != 0 {
		t.Fatalf("%v allocs", n)
	}
}
