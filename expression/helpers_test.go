package expression

import (
	"testing"

	"github.com/xdrhook/xdrhook/wire"
)

// record decodes r as the dataplane would see it.
func record(tb testing.TB, r *wire.Record) *wire.Message {
	tb.Helper()
	m := new(wire.Message)
	if err := m.Decode(wire.AppendMessage(nil, r)); err != nil {
		tb.Fatal(err)
	}
	return m
}

func str(s string) []byte { return []byte(s) }

// typical is a write of a customer record: a few scalar bins, a list and a
// map, in set "customers", generation 3.
func typical() *wire.Record {
	list := wire.AppendCDTList(nil, 2)
	list = wire.AppendCDTString(list, "a")
	list = wire.AppendCDTInt(list, 7)
	mp := wire.AppendCDTMap(nil, 2)
	mp = wire.AppendCDTString(mp, "city")
	mp = wire.AppendCDTString(mp, "Oslo")
	mp = wire.AppendCDTString(mp, "zip")
	mp = wire.AppendCDTInt(mp, 150)
	r := &wire.Record{
		Kind: wire.KindWrite, Generation: 3, TTL: 100,
		Namespace: "test", Set: "customers",
		KeyType: wire.ParticleString, Key: str("k1"),
		LUT: wire.MakeLUT(1, 1700000000123),
		Bins: []wire.BinSpec{
			{Name: "first", Type: wire.ParticleString, Value: str("Ada")},
			{Name: "last", Type: wire.ParticleString, Value: str("Lovelace")},
			{Name: "tier", Type: wire.ParticleString, Value: str("gold")},
			{Name: "age", Type: wire.ParticleInteger, Value: wire.IntValue(36)},
			{Name: "score", Type: wire.ParticleFloat, Value: wire.FloatValue(9.5)},
			{Name: "vip", Type: wire.ParticleBool, Value: wire.BoolValue(true)},
			{Name: "ssn", Type: wire.ParticleString, Value: str("123-45-6789")},
			{Name: "tags", Type: wire.ParticleList, Value: list},
			{Name: "addr", Type: wire.ParticleMap, Value: mp},
			{Name: "raw", Type: wire.ParticleBlob, Value: []byte{1, 2, 3}},
		},
	}
	for i := range r.Digest {
		r.Digest[i] = byte(i)
	}
	return r
}

func mustCompile(tb testing.TB, k Kind, src string) *Program {
	tb.Helper()
	p, err := Compile(k, src)
	if err != nil {
		tb.Fatalf("%s %q: %v", k, src, err)
	}
	return p
}
