package encode_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/xdrhook/xdrhook/encode"
	cc "github.com/xdrhook/xdrhook/encode/crosscheck"
	"github.com/xdrhook/xdrhook/wire"
)

// issue19Frame is the frame of issue 19: a write of one string bin "s" of
// 41 × "a", which the Avro encoder wrote without the union branch.
const issue19Frame = "020300000000008a1610011000000000000100000e100000000000050001000000050074657374000000150419160b536715a8e727f5d0a098cd4d9f8fd82cd2000000060175736572730000000502036b3431000000090e00000165e8b6f0000000002e02030001736161616161616161616161616161616161616161616161616161616161616161616161616161616161"

func TestIndependentAvroIssue19(t *testing.T) {
	frame, err := hex.DecodeString(issue19Frame)
	if err != nil {
		t.Fatal(err)
	}
	var m wire.Message
	if err := m.Decode(frame[wire.HeaderSize:]); err != nil {
		t.Fatal(err)
	}
	want := strings.Repeat("a", 41)
	a := encode.NewAvro(nil)
	single, err := a.Append(nil, &m, indepNow)
	if err != nil {
		t.Fatal(err)
	}
	v, err := cc.DecodeSingle(encode.ChangeNotificationSchema(), single)
	if err != nil {
		t.Fatalf("goavro cannot decode the single-object message: %v", err)
	}
	bins := v.(map[string]any)["bins"].([]any)
	if len(bins) != 1 {
		t.Fatalf("%d bins, want 1", len(bins))
	}
	bin := bins[0].(map[string]any)
	if bin["name"] != "s" || bin["type"] != int32(wire.ParticleString) {
		t.Fatalf("bin %v", bin)
	}
	if s, _ := bin["value"].(map[string]any)["string"].(string); s != want {
		t.Fatalf("s = %v, want 41 × a", bin["value"])
	}

	f := encode.NewAvroOCF(a)
	body := f.Begin(nil)
	for i := 0; i < 3; i++ {
		if body, err = f.Append(body, &m, indepNow); err != nil {
			t.Fatal(err)
		}
	}
	_, recs, err := cc.DecodeOCF(f.End(body))
	if err != nil || len(recs) != 3 {
		t.Fatalf("goavro OCF: %d records, %v", len(recs), err)
	}
	for _, r := range recs {
		b := r.(map[string]any)["bins"].([]any)[0].(map[string]any)
		if s, _ := b["value"].(map[string]any)["string"].(string); s != want {
			t.Fatalf("OCF: s = %v", b["value"])
		}
	}
}

// The single-object header carries CRC-64-AVRO of the Parsing Canonical
// Form as the specification defines it (written out here by hand, and
// computed by crosscheck from the .avsc), not goavro's, which keeps
// {"type":"long"} for the timestamp-millis lut.
func TestIndependentAvroFingerprint(t *testing.T) {
	const valueUnion = `["null","boolean","long","double","string","bytes",` +
		`{"name":"io.xdrhook.GeoJSON","type":"record","fields":[{"name":"json","type":"string"}]},` +
		`{"name":"io.xdrhook.Typed","type":"record","fields":[{"name":"type","type":"int"},{"name":"data","type":"bytes"}]},` +
		`{"name":"io.xdrhook.Ext","type":"record","fields":[{"name":"type","type":"int"},{"name":"data","type":"bytes"}]},` +
		`{"name":"io.xdrhook.UInt64","type":"fixed","size":9},` +
		`{"name":"io.xdrhook.List","type":"record","fields":[{"name":"ordered","type":"boolean"},{"name":"items","type":{"type":"array","items":` +
		`["null","boolean","long","double","string","bytes","io.xdrhook.GeoJSON","io.xdrhook.Typed","io.xdrhook.Ext","io.xdrhook.UInt64","io.xdrhook.List",` +
		`{"name":"io.xdrhook.Map","type":"record","fields":[{"name":"order","type":"int"},{"name":"entries","type":{"type":"array","items":` +
		`{"name":"io.xdrhook.Entry","type":"record","fields":[` +
		`{"name":"key","type":["null","boolean","long","double","string","bytes","io.xdrhook.GeoJSON","io.xdrhook.Typed","io.xdrhook.Ext","io.xdrhook.UInt64","io.xdrhook.List","io.xdrhook.Map"]},` +
		`{"name":"value","type":["null","boolean","long","double","string","bytes","io.xdrhook.GeoJSON","io.xdrhook.Typed","io.xdrhook.Ext","io.xdrhook.UInt64","io.xdrhook.List","io.xdrhook.Map"]}]}}}]}]}}]},` +
		`"io.xdrhook.Map"]`
	const canonical = `{"name":"io.xdrhook.ChangeNotification","type":"record","fields":[` +
		`{"name":"msg","type":{"name":"io.xdrhook.MessageKind","type":"enum","symbols":["write","delete"]}},` +
		`{"name":"namespace","type":"string"},{"name":"set","type":["null","string"]},` +
		`{"name":"userKey","type":["null","long","double","string","bytes"]},` +
		`{"name":"digest","type":{"name":"io.xdrhook.Digest","type":"fixed","size":20}},` +
		`{"name":"gen","type":"long"},{"name":"lut","type":"long"},{"name":"exp","type":"long"},` +
		`{"name":"durable","type":"boolean"},{"name":"partial","type":"boolean"},` +
		`{"name":"bins","type":{"type":"array","items":{"name":"io.xdrhook.Bin","type":"record","fields":[` +
		`{"name":"name","type":"string"},{"name":"type","type":"int"},{"name":"value","type":` + valueUnion + `}]}}}]}`
	got, err := cc.CanonicalForm(encode.ChangeNotificationSchema())
	if err != nil {
		t.Fatal(err)
	}
	if got != canonical {
		t.Fatalf("crosscheck's canonical form differs from the hand-written one:\n%s\n%s", got, canonical)
	}
	// The spec's own example values of CRC-64-AVRO.
	if fp := cc.CRC64Avro([]byte(`"int"`)); fp != 0x7275d51a3f395c8f {
		t.Fatalf(`CRC-64-AVRO("int") = %016x`, fp)
	}
	a := encode.NewAvro(nil)
	if a.CanonicalForm() != canonical {
		t.Errorf("the encoder's canonical form:\n%s\nwant\n%s", a.CanonicalForm(), canonical)
	}
	msg, err := a.Append(nil, message(t, richRecord()), indepNow)
	if err != nil {
		t.Fatal(err)
	}
	want := cc.CRC64Avro([]byte(canonical))
	if !bytes.Equal(msg[:2], []byte{0xc3, 0x01}) || binary.LittleEndian.Uint64(msg[2:10]) != want {
		t.Fatalf("single-object header % x, want c3 01 and fingerprint %016x", msg[:10], want)
	}
}

func TestIndependentAvroRoundTrip(t *testing.T) {
	checkSingle(t, richRecord())
	checkSingle(t, deleteRecord())
	checkBatch(t, []*cc.Record{richRecord(), deleteRecord(), richRecord()})
}
