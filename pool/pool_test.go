package pool

import (
	"sync"
	"testing"
)

func TestClasses(t *testing.T) {
	for _, c := range []struct{ n, class, capacity int }{
		{0, 0, 256}, {1, 0, 256}, {256, 0, 256}, {257, 1, 512}, {4096, 4, 4096},
		{4097, 5, 8192}, {MaxPooled, numClasses - 1, MaxPooled}, {MaxPooled + 1, -1, MaxPooled + 1},
	} {
		if got := classOf(c.n); got != c.class {
			t.Errorf("classOf(%d) = %d, want %d", c.n, got, c.class)
		}
		b := Get(c.n)
		if len(b.B) != 0 || cap(b.B) != c.capacity || int(b.class) != c.class {
			t.Errorf("Get(%d): len %d cap %d class %d, want cap %d class %d", c.n, len(b.B), cap(b.B), b.class, c.capacity, c.class)
		}
		Put(b)
	}
}

func TestOversizedIsDropped(t *testing.T) {
	b := Get(MaxPooled + 1)
	Put(b)
	if b.B != nil {
		t.Fatal("an oversized buffer was kept")
	}
	// A pooled buffer grown past every class by append is dropped too.
	g := Get(10)
	g.B = append(g.B, make([]byte, MaxPooled+10)...)
	Put(g)
	if g.B != nil {
		t.Fatal("a buffer grown past the largest class was kept")
	}
}

func TestGrowKeepsContentAndIdentity(t *testing.T) {
	b := Get(10)
	b.B = append(b.B, "hello"...)
	b.Grow(1000)
	if string(b.B) != "hello" || cap(b.B) < 1005 || b.class != 2 {
		t.Fatalf("after Grow: %q cap %d class %d", b.B, cap(b.B), b.class)
	}
	Put(b)
}

func TestRegrownBufferMovesClass(t *testing.T) {
	b := Get(100)
	b.B = append(b.B, make([]byte, 3000)...) // grows by append to some capacity
	Put(b)
	if c := cap(b.B); c&(c-1) != 0 {
		t.Fatalf("buffer kept with capacity %d, not a class size", c)
	}
}

func TestDoubleReleasePanics(t *testing.T) {
	if !Invariants {
		t.Skip("ownership checks are compiled in only with -race or -tags invariants")
	}
	b := Get(10)
	Put(b)
	defer func() {
		if recover() == nil {
			t.Fatal("a second Put did not panic")
		}
	}()
	Put(b)
}

func TestReleasedBufferIsPoisoned(t *testing.T) {
	if !Invariants {
		t.Skip("ownership checks are compiled in only with -race or -tags invariants")
	}
	b := Get(10)
	b.B = append(b.B, "live data"...)
	kept := b.B // a use after release, as a bug would keep it
	Put(b)
	for i, c := range kept {
		if c != PoisonByte {
			t.Fatalf("byte %d after release is %#x, want the poison %#x", i, c, PoisonByte)
		}
	}
}

func TestSteadyStateAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	Put(Get(1000))
	if n := testing.AllocsPerRun(100, func() {
		b := Get(1000)
		b.B = append(b.B, 1, 2, 3)
		Put(b)
	}); n != 0 {
		t.Fatalf("%v allocs per Get/Put", n)
	}
}

func TestConcurrentUse(t *testing.T) {
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				b := Get((i*g)%70000 + 1)
				b.B = append(b.B, byte(g))
				if b.B[0] != byte(g) || len(b.B) != 1 {
					t.Error("buffer shared between owners")
					return
				}
				Put(b)
			}
		}(g)
	}
	wg.Wait()
}

func BenchmarkGetPut(b *testing.B) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			buf := Get(64 << 10)
			buf.B = append(buf.B, 1)
			Put(buf)
		}
	})
}
