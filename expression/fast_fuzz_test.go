package expression

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/xdrhook/xdrhook/wire"
)

// FuzzFastMatchesVM: on random records (a frame body, decoded), the
// comparison trees of TestFastMatchesVM's programs give what expr's VM
// gives. make fuzz runs it (FUZZ_PKGS).
func FuzzFastMatchesVM(f *testing.F) {
	f.Add(wire.AppendMessage(nil, typical()))
	f.Add(wire.AppendMessage(nil, &wire.Record{Kind: wire.KindDelete, Namespace: "n", NoLUT: true}))
	var progs []*Program
	for _, c := range []struct {
		k   Kind
		src string
	}{
		{Filter, `gen > 1 && set != "tmp"`},
		{Filter, `bins.tier == "gold" || bins.age >= 30 and !partial`},
		{Filter, `bins.tier < bins.first || bins.age == 36.0 || userKey != nil && userKey > 3`},
		{Filter, `bins.score <= 9.5 or bins.vip == true and lut > 0 and exp >= 0 or digest == ""`},
		{Route, `bins.tier == "gold" ? ["search", "audit"] : msg == "delete" ? [] : "search"`},
	} {
		p := mustCompile(f, c.k, c.src)
		if p.fast == nil {
			f.Fatalf("%s: no comparison tree", c.src)
		}
		progs = append(progs, p)
	}
	r := NewRunner()
	f.Fuzz(func(t *testing.T, body []byte) {
		var m wire.Message
		if m.Decode(body) != nil {
			return
		}
		for _, p := range progs {
			r.Reset(&m, 1700000000)
			fast, err1 := r.runProgram(p)
			r.Reset(&m, 1700000000)
			slow, err2 := r.run(p)
			if fmt.Sprint(err1) != fmt.Sprint(err2) || !reflect.DeepEqual(fast, slow) {
				t.Fatalf("%s: tree %#v %v, VM %#v %v", p.Source, fast, err1, slow, err2)
			}
		}
	})
}
