package expression

import (
	"testing"

	"github.com/xdrhook/xdrhook/wire"
)

// The budgets of issue 16, per record: the programs of the README's
// examples against the typical record (ten bins).

const (
	benchMetaFilter = `gen > 1 && set != "tmp"`
	benchBinFilter  = `bins.tier == "gold"`
	benchRoute      = `bins.tier == "gold" ? ["search", "audit"] : ["search"]`
	benchConcat     = `bins.first + " " + bins.last`
)

func benchFilter(b *testing.B, src string) {
	p := mustCompile(b, Filter, src)
	m := record(b, typical())
	r := NewRunner()
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(m, 1)
		if ok, err := r.Filter(p); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkFilterMetadata(b *testing.B) { benchFilter(b, benchMetaFilter) }
func BenchmarkFilterBin(b *testing.B)      { benchFilter(b, benchBinFilter) }

func BenchmarkRouteLiteral(b *testing.B) {
	p := mustCompile(b, Route, benchRoute)
	m := record(b, typical())
	r := NewRunner()
	var names []string
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(m, 1)
		var err error
		if names, err = r.Route(p, names[:0]); len(names) != 2 || err != nil {
			b.Fatal(names, err)
		}
	}
}

func BenchmarkTransformConcat(b *testing.B) {
	t := NewTransform([]SetBin{{Name: "full_name", Program: mustCompile(b, Value, benchConcat)}}, nil)
	m := record(b, typical())
	r := NewRunner()
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(m, 1)
		if out, err := r.Transform(t, false); err != nil || len(out.Bins) != 11 {
			b.Fatal(err)
		}
	}
}

// TestBudgetAllocs holds the allocation budgets: 0 for the filters and the
// literal route; at most 1 for a computed bin of one concatenation, which
// takes none (concat.go).
func TestBudgetAllocs(t *testing.T) {
	m := record(t, typical())
	r := NewRunner()
	for _, src := range []string{benchMetaFilter, benchBinFilter, `bins.age > 30 && bins.score < 10.0 && namespace == "test"`, `digest != "" && lut > 0 && userKey == "k1"`} {
		p := mustCompile(t, Filter, src)
		if n := testing.AllocsPerRun(200, func() {
			r.Reset(m, 1)
			if ok, err := r.Filter(p); !ok || err != nil {
				t.Fatal(src, ok, err)
			}
		}); n != 0 {
			t.Errorf("filter %s: %v allocs per record, want 0", src, n)
		}
	}
	rp := mustCompile(t, Route, benchRoute)
	var names []string
	if n := testing.AllocsPerRun(200, func() {
		r.Reset(m, 1)
		names, _ = r.Route(rp, names[:0])
	}); n != 0 {
		t.Errorf("route: %v allocs per record, want 0", n)
	}
	tr := NewTransform([]SetBin{{Name: "full_name", Program: mustCompile(t, Value, benchConcat)}}, []string{"ssn"})
	var out *wire.Message
	if n := testing.AllocsPerRun(200, func() {
		r.Reset(m, 1)
		out, _ = r.Transform(tr, false)
	}); n != 0 {
		t.Errorf("transform: %v allocs per record, want 0 (the budget is 1)", n)
	}
	last := out.Bins[len(out.Bins)-1]
	if string(last.Name) != "full_name" || string(last.Value) != "Ada Lovelace" || last.Type != wire.ParticleString {
		t.Errorf("full_name = %q %q type %d", last.Name, last.Value, last.Type)
	}
	// now(): one time per record, read into the environment, no allocation.
	stamp := NewTransform([]SetBin{
		{Name: "a", Program: mustCompile(t, Value, `now()`)},
		{Name: "b", Program: mustCompile(t, Value, `now()`)},
	}, nil)
	var st *wire.Message
	if n := testing.AllocsPerRun(200, func() {
		r.Reset(m, 1)
		st, _ = r.Transform(stamp, false)
	}); n != 0 {
		t.Errorf("transform now(): %v allocs per record, want 0", n)
	}
	tick := int64(0)
	nowMs = func() int64 { tick++; return tick } // a clock that moves at every read
	defer func() { nowMs = defaultNow }()
	r.Reset(m, 1)
	st, _ = r.Transform(stamp, false)
	if a, b := st.Bins[len(st.Bins)-2], st.Bins[len(st.Bins)-1]; string(a.Value) != string(b.Value) || tick != 1 {
		t.Errorf("two now() of one record differ: %x %x", a.Value, b.Value)
	}
}
