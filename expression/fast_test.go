package expression

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/xdrhook/xdrhook/wire"
)

// TestFastMatchesVM: every program that runs on the comparison tree gives,
// on every record, what expr's VM gives (the same value, or the same error
// after the fallback), over bins of every type under the names compared.
func TestFastMatchesVM(t *testing.T) {
	filters := []string{
		`gen > 1 && set != "tmp"`,
		`bins.tier == "gold"`,
		`msg == "delete" || gen > 1`,
		`!(bins.age >= 30) or bins.score < 9.75`,
		`bins.age > 30.5 && namespace == "test" && !partial && !durable`,
		`bins.tier != nil && bins.tier <= "m"`,
		`userKey == "k1" || userKey == 42 || userKey == nil`,
		`lut > 1700000000000 and exp == 0 or digest == "00"`,
		`bins.vip == true && bins.age != 36`,
		`bins.age > 1`, // fails on nil and strings: the VM's error
		`bins.tier > 1`,
	}
	routes := []string{
		`bins.tier == "gold" ? ["search", "audit"] : ["search"]`,
		`gen > 2 ? (set == "customers" ? ["a"] : ["b"]) : []`,
		`bins.age < 40 ? "young" : "old"`,
	}
	values := []wire.BinSpec{
		{Type: wire.ParticleString, Value: []byte("gold")},
		{Type: wire.ParticleString, Value: []byte("zinc")},
		{Type: wire.ParticleInteger, Value: wire.IntValue(36)},
		{Type: wire.ParticleInteger, Value: wire.IntValue(-1 << 50)},
		{Type: wire.ParticleFloat, Value: wire.FloatValue(30.5)},
		{Type: wire.ParticleBool, Value: wire.BoolValue(true)},
		{Type: wire.ParticleBlob, Value: []byte{1}},
		{Type: wire.ParticleNull},
	}
	var recs []*wire.Message
	for i, v := range values {
		for _, name := range []string{"tier", "age", "score", "vip"} {
			r := typical()
			r.Generation = uint32(i)
			for j := range r.Bins {
				if r.Bins[j].Name == name {
					r.Bins[j].Type, r.Bins[j].Value = v.Type, v.Value
				}
			}
			if i%3 == 0 {
				r.KeyType, r.Key = wire.ParticleInteger, wire.IntValue(42)
			}
			if i%4 == 1 {
				r.KeyType, r.Key = 0, nil
			}
			recs = append(recs, record(t, r))
		}
	}
	recs = append(recs, record(t, &wire.Record{Kind: wire.KindDelete, Durable: true, Namespace: "test", NoLUT: true}))
	r := NewRunner()
	outcomes := map[string]int{}
	check := func(k Kind, src string) {
		p := mustCompile(t, k, src)
		if p.fast == nil {
			t.Fatalf("%s: no comparison tree", src)
		}
		for i, m := range recs {
			r.Reset(m, 1700000000)
			fast, err1 := r.runProgram(p)
			r.Reset(m, 1700000000)
			slow, err2 := r.run(p)
			switch {
			case err1 != nil:
				outcomes["error"]++
			default:
				outcomes[fmt.Sprint(fast)]++
			}
			if fmt.Sprint(err1) != fmt.Sprint(err2) || !reflect.DeepEqual(fast, slow) {
				t.Errorf("%s, record %d: tree %#v %v, VM %#v %v", src, i, fast, err1, slow, err2)
			}
		}
	}
	for _, src := range filters {
		check(Filter, src)
	}
	for _, src := range routes {
		check(Route, src)
	}
	if outcomes["error"] == 0 || outcomes["true"] == 0 || outcomes["false"] == 0 || outcomes["[]"] == 0 {
		t.Errorf("the records do not cover every outcome: %v", outcomes)
	}
	// Not a comparison tree: the VM alone.
	for _, src := range []string{`len(bins.tags) > 1`, `bins.first + "x" == "Adax"`, `any(keys(bins), {# == "x"})`} {
		if mustCompile(t, Filter, src).fast != nil {
			t.Errorf("%s: a comparison tree", src)
		}
	}
}
