package encode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/hamba/avro/v2/ocf"
	"github.com/hamba/avro/v2/soe"
	"github.com/xdrhook/xdrhook/wire"
)

// avroDecode decodes one datum with hamba/avro's generic reader (every
// union as {"branch": value}, so the branch is checked too) and checks that
// it takes all of b.
func avroDecode(t testing.TB, s avro.Schema, b []byte) any {
	t.Helper()
	r := avro.NewReader(bytes.NewReader(b), 64)
	v := r.ReadNext(s)
	if r.Error != nil {
		t.Fatalf("avro decode %x: %v", b, r.Error)
	}
	r.Peek()
	if !errors.Is(r.Error, io.EOF) {
		t.Fatalf("trailing bytes after the datum (%v)", r.Error)
	}
	return v
}

// avU is a union value in the model: {"branch": value}. avPrimU is one of
// a union of primitive types only (set, userKey).
type (
	avU     map[string]any
	avPrimU map[string]any
)

// avKeyed turns the model into the form of hamba's generic reader
// (avro.Reader.ReadNext): every union as {"branch": value}.
func avKeyed(v any) any {
	switch v := v.(type) {
	case avU:
		return avKeyed(map[string]any(v))
	case avPrimU:
		return avKeyed(map[string]any(v))
	case map[string]any:
		out := map[string]any{}
		for k, x := range v {
			out[k] = avKeyed(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = avKeyed(x)
		}
		return out
	}
	return v
}

// avPlain turns the model into the form of avro.Unmarshal into any (and of
// the container file decoder): a union of primitive types as its value
// alone, a union with named types as {"branch": value}.
func avPlain(v any) any {
	switch v := v.(type) {
	case avPrimU:
		for _, x := range v {
			return avPlain(x)
		}
	case avU:
		return avPlain(map[string]any(v))
	case map[string]any:
		out := map[string]any{}
		for k, x := range v {
			out[k] = avPlain(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = avPlain(x)
		}
		return out
	}
	return v
}

// avroSingle splits a single-object message, checking its header.
func avroSingle(t testing.TB, e *Avro, msg []byte) []byte {
	t.Helper()
	fp, datum, err := soe.ParseHeader(msg)
	if err != nil {
		t.Fatal(err)
	}
	if binary.LittleEndian.Uint64(fp) != e.Fingerprint() {
		t.Fatalf("fingerprint %x, want %016x", fp, e.Fingerprint())
	}
	return datum
}

// avroModel is the datum a record must decode to, in hamba's generic form
// (a union of null and one type as the value or nil; other unions as
// {"branch": value}), built from the model.
func avroModel(r *trec, tr *Transform) any {
	d := r.digest()
	out := map[string]any{
		"msg":       "write",
		"namespace": r.ns,
		"set":       nil,
		"userKey":   nil,
		"digest":    d,
		"gen":       int64(r.gen),
		"lut":       time.UnixMilli(r.lut()).UTC(),
		"exp":       r.expiry(),
		"durable":   r.durable,
		"partial":   r.partial || (r.kind == wire.KindWrite && len(r.bins) == 0),
		"bins":      []any{},
	}
	if r.kind == wire.KindDelete {
		out["msg"] = "delete"
	}
	if r.set != "" {
		out["set"] = avPrimU{"string": r.set}
	}
	switch r.keyType {
	case wire.ParticleInteger:
		out["userKey"] = avPrimU{"long": r.keyInt}
	case wire.ParticleFloat:
		out["userKey"] = avPrimU{"double": r.keyF}
	case wire.ParticleString:
		out["userKey"] = avPrimU{"string": r.keyRaw}
	case wire.ParticleBlob:
		out["userKey"] = avPrimU{"bytes": []byte(r.keyRaw)}
	}
	var bins []any
	for _, b := range r.bins {
		name, ok := tr.Bin([]byte(b.name))
		if !ok {
			continue
		}
		bins = append(bins, map[string]any{"name": string(name), "type": int(b.pt), "value": avroTopModel(b)})
	}
	if bins != nil {
		out["bins"] = bins
	}
	return out
}

func avroTopModel(b tbin) any {
	switch b.pt {
	case wire.ParticleNull:
		return nil
	case wire.ParticleInteger:
		return avU{"long": b.val.i}
	case wire.ParticleFloat:
		return avU{"double": b.val.f}
	case wire.ParticleString:
		return avU{"string": b.val.s}
	case wire.ParticleBool:
		return avU{"boolean": b.val.b}
	case wire.ParticleGeoJSON:
		if b.raw == "" {
			return avU{"io.xdrhook.GeoJSON": map[string]any{"json": b.geo}}
		}
	case wire.ParticleList, wire.ParticleMap:
		return avroCDTModel(b.val)
	}
	return avU{"bytes": []byte(b.raw)}
}

func avroCDTModel(v tv) any {
	switch v.k {
	case tvNil:
		return nil
	case tvBool:
		return avU{"boolean": v.b}
	case tvInt:
		return avU{"long": v.i}
	case tvUint:
		return avU{"io.xdrhook.UInt64": new(big.Rat).SetInt(new(big.Int).SetUint64(v.u))}
	case tvFloat, tvFloat32:
		return avU{"double": v.f}
	case tvStr:
		return avU{"string": v.s}
	case tvBlob, tvEmpty:
		return avU{"bytes": []byte(v.s)}
	case tvTyped:
		if v.sub == wire.ParticleGeoJSON {
			return avU{"io.xdrhook.GeoJSON": map[string]any{"json": v.s}}
		}
		return avU{"io.xdrhook.Typed": map[string]any{"type": int(v.sub), "data": []byte(v.s)}}
	case tvExt:
		return avU{"io.xdrhook.Ext": map[string]any{"type": int(int8(v.sub)), "data": []byte(v.s)}}
	case tvList:
		items := []any{}
		for _, it := range v.items {
			items = append(items, avroCDTModel(it))
		}
		return avU{"io.xdrhook.List": map[string]any{"ordered": v.flags&1 != 0, "items": items}}
	}
	entries := []any{}
	for i := 0; i < len(v.items); i += 2 {
		entries = append(entries, map[string]any{"key": avroCDTModel(v.items[i]), "value": avroCDTModel(v.items[i+1])})
	}
	return avU{"io.xdrhook.Map": map[string]any{"order": int(v.flags & 3), "entries": entries}}
}

func TestAvroSchema(t *testing.T) {
	e := NewAvro(nil)
	if e.ContentType() != "avro/binary" {
		t.Error("content type")
	}
	// The canonical form, as an independent implementation of the
	// specification's rules writes it (testdata, made with a Python script).
	want, err := os.ReadFile("testdata/avro/change_notification.canonical.json")
	if err != nil {
		t.Fatal(err)
	}
	if e.CanonicalForm() != strings.TrimSpace(string(want)) {
		t.Errorf("canonical form\n got %s\nwant %s", e.CanonicalForm(), want)
	}
	// The fingerprint is hamba's CRC-64-AVRO of that form: parsed back, the
	// canonical form has no logical types, and hamba's own canonical String
	// and fingerprint agree with ours.
	pcf, err := avro.ParseWithCache(e.CanonicalForm(), "", &avro.SchemaCache{})
	if err != nil {
		t.Fatal(err)
	}
	if pcf.String() != e.CanonicalForm() {
		t.Errorf("hamba's canonical form of the canonical form differs:\n%s", pcf.String())
	}
	fp, err := pcf.FingerprintUsing(avro.CRC64AvroLE)
	if err != nil {
		t.Fatal(err)
	}
	if binary.LittleEndian.Uint64(fp) != e.Fingerprint() {
		t.Errorf("fingerprint %016x, hamba %x", e.Fingerprint(), fp)
	}
	// The schema file is the one embedded, and parses as a record.
	file, _ := os.ReadFile("schema/change_notification.avsc")
	if string(file) != ChangeNotificationSchema() {
		t.Error("embedded schema differs from the file")
	}
	if rs, ok := e.Schema().(*avro.RecordSchema); !ok || rs.FullName() != "io.xdrhook.ChangeNotification" {
		t.Errorf("schema %T", e.Schema())
	}
}

func TestAvroGolden(t *testing.T) {
	e := NewAvro(nil)
	for _, name := range []string{"write-3bins-key10", "delete-key10"} {
		m := capturedMessage(t, name+".hex")
		got, err := e.Append([]byte("prefix"), m, testNow)
		if err != nil {
			t.Fatal(err)
		}
		want := readHexFile(t, "testdata/avro/"+name+".hex")
		if !bytes.Equal(got[6:], want) || string(got[:6]) != "prefix" {
			t.Errorf("%s:\n got %x\nwant %x", name, got[6:], want)
		}
	}
	// And the golden write decodes (hamba) to the documented record.
	m := capturedMessage(t, "write-3bins-key10.hex")
	got, _ := e.Append(nil, m, testNow)
	v := avroDecode(t, e.Schema(), avroSingle(t, e, got))
	r := trec{kind: wire.KindWrite, gen: 1, ns: "test", set: "myset", keyType: wire.ParticleInteger, keyInt: 10,
		lutMs: 1734388704784, bins: []tbin{binStr("name", "colton"), binInt("age", 27),
			binMap("mapTest", vMap(0, vStr("a"), vInt(1), vStr("b"), vInt(2)))}}
	model := avroModel(&r, nil).(map[string]any)
	var d [20]byte
	copy(d[:], m.Digest)
	model["digest"] = d
	if err := modelEqual("captured", v, avKeyed(model)); err != nil {
		t.Error(err)
	}
}

func TestAvroRecords(t *testing.T) {
	e := NewAvro(nil)
	var buf []byte
	for _, r := range testRecords() {
		t.Run(r.name, func(t *testing.T) {
			var err error
			buf, err = e.Append(buf[:0], r.message(t), testNow)
			if err != nil {
				t.Fatal(err)
			}
			v := avroDecode(t, e.Schema(), avroSingle(t, e, buf))
			if err := modelEqual("datum", v, avKeyed(avroModel(&r, nil))); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestAvroTransform(t *testing.T) {
	tr := NewTransform([]string{"name", "age", "tags", "prefs", "id"}, []string{"id"}, map[string]string{"prefs": "settings"})
	e := NewAvro(tr)
	r := testRecords()[0]
	got, err := e.Append(nil, r.message(t), testNow)
	if err != nil {
		t.Fatal(err)
	}
	v := avroDecode(t, e.Schema(), avroSingle(t, e, got))
	if err := modelEqual("datum", v, avKeyed(avroModel(&r, tr))); err != nil {
		t.Error(err)
	}
	if n := len(v.(map[string]any)["bins"].([]any)); n != 4 {
		t.Errorf("%d bins, want 4", n)
	}
}

func TestAvroMalformed(t *testing.T) {
	e := NewAvro(nil)
	for _, v := range [][]byte{{0x93, 0x01}, {0x81, 0xa2, 0x03}, {0x91, 0xc1}, {0x91, 0x01, 0x02}, {}} {
		r := &wire.Record{Kind: wire.KindWrite, Namespace: "ns", Bins: []wire.BinSpec{{Name: "m", Type: wire.ParticleMap, Value: v}}}
		m := decodeTestFrame(t, wire.AppendFrame(nil, r))
		got, err := e.Append([]byte("keep"), m, testNow)
		var ce *wire.CDTError
		if !errors.As(err, &ce) || string(got) != "keep" {
			t.Errorf("value %x: err %v, dst %q; want a *wire.CDTError and dst unchanged", v, err, got)
		}
	}
}

func TestAvroOCF(t *testing.T) {
	e := NewAvro(nil)
	f := NewAvroOCF(e)
	if f.ContentType() != "avro/binary" {
		t.Error("content type")
	}
	recs := testRecords()
	for _, n := range []int{len(recs), 1, 0} {
		body := f.Begin(nil)
		for i := range n {
			var err error
			if body, err = f.Append(body, recs[i].message(t), testNow); err != nil {
				t.Fatal(err)
			}
		}
		bad := decodeTestFrame(t, wire.AppendFrame(nil, &wire.Record{Kind: wire.KindWrite, Namespace: "ns",
			Bins: []wire.BinSpec{{Name: "l", Type: wire.ParticleList, Value: []byte{0x95}}}}))
		before := len(body)
		if body, err := f.Append(body, bad, testNow); err == nil || len(body) != before {
			t.Fatalf("bad record: err %v, body %d → %d bytes", err, before, len(body))
		}
		body = f.End(body)

		dec, err := ocf.NewDecoder(bytes.NewReader(body), ocf.WithDecoderSchemaCache(&avro.SchemaCache{}))
		if err != nil {
			t.Fatal(err)
		}
		if md := dec.Metadata(); string(md["avro.codec"]) != "null" || string(md["avro.schema"]) != e.SchemaText() {
			t.Errorf("metadata %q", md)
		}
		i := 0
		for dec.HasNext() {
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
			if i >= n {
				t.Fatalf("more than %d records", n)
			}
			if err := modelEqual(recs[i].name, v, avPlain(avroModel(&recs[i], nil))); err != nil {
				t.Error(err)
			}
			i++
		}
		if dec.Error() != nil || i != n {
			t.Errorf("batch of %d: decoded %d, error %v", n, i, dec.Error())
		}
	}
}

// TestAvroOCFBlockHeader checks the shift of the data when the block's
// count and size take several bytes.
func TestAvroOCFBlockHeader(t *testing.T) {
	e := NewAvro(nil)
	f := NewAvroOCF(e)
	m := typicalMessage(t)
	body := f.Begin(nil)
	const n = 300 // count: 2 bytes; size (~80 KB): 3 bytes
	for range n {
		body, _ = f.Append(body, m, testNow)
	}
	body = f.End(body)
	dec, err := ocf.NewDecoder(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r := testRecords()[0]
	want := avPlain(avroModel(&r, nil))
	i := 0
	for dec.HasNext() {
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if err := modelEqual("record", v, want); err != nil {
			t.Fatal(err)
		}
		i++
	}
	if i != n || dec.Error() != nil {
		t.Errorf("decoded %d of %d, %v", i, n, dec.Error())
	}
}

func TestAvroAllocs(t *testing.T) {
	buf := appendAllocsNone(t, NewAvro(nil))
	t.Logf("typical record: %d bytes of avro", len(buf))
}
