package encode

import (
	"sync"
	"testing"
)

// ESP's name transforms: applied in order to bins map does not rename,
// after include/exclude; allocation-free once a name was seen; safe for
// the event loops that share a Transform.
func TestNameTransforms(t *testing.T) {
	tr := NewTransform(nil, []string{"gone"}, map[string]string{"keep_me": "Kept"})
	if err := tr.SetNameTransforms([]string{"lowercase", "uppercase"}); err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{"name": "NAME", "MiXed_1": "MIXED_1", "keep_me": "Kept", "gone": "", "é": "É"} {
		out, keep := tr.Bin([]byte(in))
		if string(out) != want || keep != (want != "") {
			t.Errorf("%q → %q %v, want %q", in, out, keep, want)
		}
	}
	low := NewTransform(nil, nil, nil)
	if err := low.SetNameTransforms([]string{"lowercase"}); err != nil {
		t.Fatal(err)
	}
	if out, _ := low.Bin([]byte("ABC")); string(out) != "abc" {
		t.Fatalf("lowercase: %q", out)
	}
	if err := low.SetNameTransforms([]string{"regex"}); err == nil {
		t.Fatal("regex accepted")
	}
	name := []byte("score")
	tr.Bin(name)
	if a := testing.AllocsPerRun(1000, func() { tr.Bin(name) }); a != 0 {
		t.Fatalf("%v allocs per name once seen", a)
	}
	// Many loops at once, new names and seen ones (run with -race).
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				n := []byte{'b', byte('a' + i%26), byte('a' + i/26)}
				if out, _ := tr.Bin(n); string(out) != string([]byte{'B', byte('A' + i%26), byte('A' + i/26)}) {
					t.Errorf("%q → %q", n, out)
				}
			}
		}()
	}
	wg.Wait()
	// Past the bound, names are still cased, just not kept.
	c := tr.cased
	for i := 0; len(*c.seen.Load()) < maxCasedNames; i++ {
		c.name([]byte{byte(i), byte(i >> 8), 'x'})
	}
	if out, _ := tr.Bin([]byte("zz_new")); string(out) != "ZZ_NEW" || len(*c.seen.Load()) != maxCasedNames {
		t.Fatalf("past the bound: %q, %d kept", out, len(*c.seen.Load()))
	}
}
