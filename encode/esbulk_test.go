package encode

import (
	"strings"
	"testing"

	"github.com/xdrhook/xdrhook/wire"
)

// Exact bytes of every es-bulk action line and option (output-formats.md,
// es-bulk row).

const esDigestHex = "5fe3b7c0f4669a77c8456c1bf4f1f68c55ac1002"

type esCount struct{ n int }

func (c *esCount) Inc() { c.n++ }

// esMessages are a full write, a partial write, a metadata-only write and
// a delete of the same record (user key 10, LUT 1734388704784).
func esMessages(t testing.TB) (full, partial, meta, del *wire.Message) {
	r := jtRecord(wire.BinSpec{Name: "s", Type: wire.ParticleString, Value: []byte("v")})
	full = jtMessage(t, r)
	r.Partial = true
	partial = jtMessage(t, r)
	r = jtRecord()
	meta = jtMessage(t, r)
	r.Kind = wire.KindDelete
	del = jtMessage(t, r)
	return
}

// esDoc is the flat-json document of m.
func esDoc(t testing.TB, m *wire.Message) string {
	b, err := new(FlatJSON).Append(nil, m, jtNow)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestESBulkActions(t *testing.T) {
	full, partial, meta, del := esMessages(t)
	const id = `"_index":"myset","_id":"` + esDigestHex + `"`
	const ver = `,"version":1734388704784,"version_type":"external_gte"`
	index := func(v string) string { return `{"index":{` + id + v + "}}\n" }
	create := `{"create":{` + id + "}}\n"
	update := `{"update":{` + id + "}}\n"
	upsert := func(m *wire.Message) string { return `{"doc":` + esDoc(t, m) + `,"doc_as_upsert":true}` + "\n" }
	doc := func(m *wire.Message) string { return esDoc(t, m) + "\n" }
	deleteLine := func(v string) string { return `{"delete":{` + id + v + "}}\n" }
	for _, tc := range []struct {
		name        string
		f           ESBulk
		m           *wire.Message
		want        string
		unversioned int
	}{
		{"auto full", ESBulk{}, full, index("") + doc(full), 0},
		{"auto partial", ESBulk{}, partial, update + upsert(partial), 0},
		{"auto metadata-only", ESBulk{}, meta, update + upsert(meta), 0},
		{"auto delete", ESBulk{}, del, deleteLine(""), 0},
		{"index partial", ESBulk{WriteOp: ESWriteIndex}, partial, index("") + doc(partial), 0},
		{"create full", ESBulk{WriteOp: ESWriteCreate}, full, create + doc(full), 0},
		{"create partial", ESBulk{WriteOp: ESWriteCreate}, partial, create + doc(partial), 0},
		{"update full", ESBulk{WriteOp: ESWriteUpdate}, full, update + upsert(full), 0},
		{"lut auto full", ESBulk{VersionLUT: true}, full, index(ver) + doc(full), 0},
		{"lut auto partial: unversioned", ESBulk{VersionLUT: true}, partial, update + upsert(partial), 1},
		{"lut delete", ESBulk{VersionLUT: true}, del, deleteLine(ver), 0},
		{"lut index", ESBulk{VersionLUT: true, WriteOp: ESWriteIndex}, partial, index(ver) + doc(partial), 0},
		{"lut create: unversioned", ESBulk{VersionLUT: true, WriteOp: ESWriteCreate}, full, create + doc(full), 0},
		{"lut update", ESBulk{VersionLUT: true, WriteOp: ESWriteUpdate}, full, update + upsert(full), 1},
		{"omit-deletes", ESBulk{OmitDeletes: true, VersionLUT: true}, del, "", 0},
	} {
		var unv, fb esCount
		f := tc.f
		f.UnversionedUpdates, f.DocIDFallbacks = &unv, &fb
		got := string(jtBody(t, &f, tc.m))
		if got != tc.want {
			t.Errorf("%s:\ngot  %s\nwant %s", tc.name, got, tc.want)
		}
		if got != "" {
			jtLines(t, []byte(got), true)
		}
		if unv.n != tc.unversioned || fb.n != 0 {
			t.Errorf("%s: %d unversioned, %d fallbacks", tc.name, unv.n, fb.n)
		}
	}
	// No LUT: versioning has nothing to go by.
	r := jtRecord()
	r.NoLUT = true
	if got := string(jtBody(t, &ESBulk{VersionLUT: true, WriteOp: ESWriteIndex}, jtMessage(t, r))); !strings.HasPrefix(got, index("")) {
		t.Errorf("no LUT: %s", got)
	}
}

func TestESBulkDocID(t *testing.T) {
	rec := func(keyType uint8, key []byte, bins ...wire.BinSpec) *wire.Message {
		r := jtRecord(bins...)
		r.KeyType, r.Key = keyType, key
		return jtMessage(t, r)
	}
	str := func(s string) wire.BinSpec {
		return wire.BinSpec{Name: "id", Type: wire.ParticleString, Value: []byte(s)}
	}
	for _, tc := range []struct {
		name     string
		f        ESBulk
		m        *wire.Message
		id       string
		fallback int
	}{
		{"digest", ESBulk{}, rec(wire.ParticleString, []byte("k")), esDigestHex, 0},
		{"user-key string", ESBulk{DocID: ESDocIDUserKey}, rec(wire.ParticleString, []byte("user-1")), "user-1", 0},
		{"user-key string escaped", ESBulk{DocID: ESDocIDUserKey}, rec(wire.ParticleString, []byte("a\"b\\c\n")), `a\"b\\c\n`, 0},
		{"user-key int", ESBulk{DocID: ESDocIDUserKey}, rec(wire.ParticleInteger, wire.IntKey(-42)), "-42", 0},
		{"user-key bytes", ESBulk{DocID: ESDocIDUserKey}, rec(wire.ParticleBlob, []byte{0x00, 0xab, 0xff}), "00abff", 0},
		{"user-key missing", ESBulk{DocID: ESDocIDUserKey}, rec(0, nil), esDigestHex, 1},
		{"user-key float", ESBulk{DocID: ESDocIDUserKey}, rec(wire.ParticleFloat, wire.FloatKey(1.5)), esDigestHex, 1},
		{"bin string", ESBulk{DocID: ESDocIDBin, DocIDBin: "id"}, rec(0, nil, str("doc-7")), "doc-7", 0},
		{"bin int", ESBulk{DocID: ESDocIDBin, DocIDBin: "id"}, rec(0, nil, wire.BinSpec{Name: "id", Type: wire.ParticleInteger, Value: wire.IntValue(1234567890123)}), "1234567890123", 0},
		{"bin missing", ESBulk{DocID: ESDocIDBin, DocIDBin: "id"}, rec(0, nil, wire.BinSpec{Name: "other", Type: wire.ParticleInteger, Value: wire.IntValue(1)}), esDigestHex, 1},
		{"bin float", ESBulk{DocID: ESDocIDBin, DocIDBin: "id"}, rec(0, nil, wire.BinSpec{Name: "id", Type: wire.ParticleFloat, Value: wire.FloatValue(2.5)}), esDigestHex, 1},
		{"bin empty string", ESBulk{DocID: ESDocIDBin, DocIDBin: "id"}, rec(0, nil, str("")), esDigestHex, 1},
	} {
		var fb esCount
		f := tc.f
		f.DocIDFallbacks, f.WriteOp = &fb, ESWriteIndex
		got := string(jtBody(t, &f, tc.m))
		want := `{"index":{"_index":"myset","_id":"` + tc.id + `"}}` + "\n"
		if !strings.HasPrefix(got, want) {
			t.Errorf("%s:\ngot  %s\nwant %s", tc.name, got, want)
		}
		jtLines(t, []byte(got), true)
		if fb.n != tc.fallback {
			t.Errorf("%s: %d fallbacks, want %d", tc.name, fb.n, tc.fallback)
		}
	}
	// A delete carries no bins: with doc-id bin it gets the digest.
	r := jtRecord()
	r.Kind = wire.KindDelete
	var fb esCount
	got := string(jtBody(t, &ESBulk{DocID: ESDocIDBin, DocIDBin: "id", DocIDFallbacks: &fb}, jtMessage(t, r)))
	if want := `{"delete":{"_index":"myset","_id":"` + esDigestHex + `"}}` + "\n"; got != want || fb.n != 1 {
		t.Errorf("delete by bin: %s (%d fallbacks)", got, fb.n)
	}
}

// TestESBulkAllocs: the framer with every option allocates nothing per
// record.
func TestESBulkAllocs(t *testing.T) {
	full, partial, meta, del := esMessages(t)
	var c esCount
	for _, f := range []*ESBulk{
		{},
		{VersionLUT: true, DocID: ESDocIDUserKey, UnversionedUpdates: &c, DocIDFallbacks: &c},
		{WriteOp: ESWriteCreate, DocID: ESDocIDBin, DocIDBin: "s", Index: "xdr-{namespace}-{set}"},
		{WriteOp: ESWriteUpdate, VersionLUT: true, DocID: ESDocIDBin, DocIDBin: "nope", DocIDFallbacks: &c},
	} {
		buf := make([]byte, 0, 1<<16)
		n := testing.AllocsPerRun(100, func() {
			b := f.Begin(buf[:0])
			for _, m := range []*wire.Message{full, partial, meta, del} {
				b, _ = f.Append(b, m, jtNow)
			}
			f.End(b)
		})
		if n != 0 {
			t.Errorf("%+v: %v allocations", *f, n)
		}
	}
}

// BenchmarkESBulk: one body of 500 typical records, per record; plain is
// today's index of every write, lut is write-operation auto with
// versioning lut on partial writes (update, unversioned) and full ones
// (index, versioned) alternately.
func BenchmarkESBulk(b *testing.B) {
	r := jtTypicalRecord()
	full := jtDecode(b, wire.AppendFrame(nil, r))
	r.Partial = true
	partial := jtDecode(b, wire.AppendFrame(nil, r))
	var c esCount
	for _, tc := range []struct {
		name string
		f    *ESBulk
	}{
		{"plain", &ESBulk{WriteOp: ESWriteIndex}},
		{"auto-lut", &ESBulk{VersionLUT: true, UnversionedUpdates: &c, DocIDFallbacks: &c}},
		{"auto-lut-userkey", &ESBulk{VersionLUT: true, DocID: ESDocIDUserKey, UnversionedUpdates: &c, DocIDFallbacks: &c}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			const n = 500
			buf := make([]byte, 0, 1<<20)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += n {
				buf = tc.f.Begin(buf[:0])
				for j := 0; j < n; j++ {
					m := full
					if j&1 == 1 {
						m = partial
					}
					buf, _ = tc.f.Append(buf, m, jtNow)
				}
				buf = tc.f.End(buf)
			}
		})
	}
}
