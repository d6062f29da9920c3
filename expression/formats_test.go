package expression

import (
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/wire"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

// goldenSet computes one bin of each kind from the metadata, so that it
// applies to any record; removing the record's first bin shows remove.
var goldenSet = []struct{ name, src string }{
	{"where", `namespace + "/" + set`},
	{"g2", `gen * 2`},
	{"half", `gen / 2`},
	{"odd", `gen % 2 == 1`},
	{"pair", `[namespace, gen]`},
	{"meta", `{"gen": gen, "lut": lut}`},
}

// native is the record of m as XDR would send it with the computed bins
// of goldenSet already in it (and its first bin removed): built with
// wire's frame encoder from values computed here, not by the package.
func native(t *testing.T, m *wire.Message, removed string) *wire.Message {
	r := &wire.Record{
		Kind: m.Kind, Durable: m.Durable, Partial: m.Partial,
		Generation: m.Generation, TTL: m.TTL, Namespace: string(m.Namespace), Set: string(m.Set),
		KeyType: m.Key.Type, Key: m.Key.Bytes, NoLUT: !m.HasLUT, LUT: m.LUT,
	}
	copy(r.Digest[:], m.Digest)
	for _, b := range m.Bins {
		if string(b.Name) != removed {
			r.Bins = append(r.Bins, wire.BinSpec{Name: string(b.Name), Type: b.Type, Value: b.Value, HasLUT: b.HasLUT, LUT: b.LUT})
		}
	}
	if m.Kind == wire.KindWrite {
		g := int64(m.Generation)
		pair := wire.AppendCDTString(wire.AppendCDTList(nil, 2), string(m.Namespace))
		pair = wire.AppendCDTInt(pair, g)
		meta := wire.AppendCDTMap(nil, 2)
		meta = wire.AppendCDTInt(wire.AppendCDTString(meta, "gen"), g)
		meta = wire.AppendCDTInt(wire.AppendCDTString(meta, "lut"), m.LUTUnixMs())
		r.Bins = append(r.Bins,
			wire.BinSpec{Name: "where", Type: wire.ParticleString, Value: []byte(string(m.Namespace) + "/" + string(m.Set))},
			wire.BinSpec{Name: "g2", Type: wire.ParticleInteger, Value: wire.IntValue(2 * g)},
			wire.BinSpec{Name: "half", Type: wire.ParticleFloat, Value: wire.FloatValue(float64(g) / 2)},
			wire.BinSpec{Name: "odd", Type: wire.ParticleBool, Value: wire.BoolValue(g%2 == 1)},
			wire.BinSpec{Name: "pair", Type: wire.ParticleList, Value: pair},
			wire.BinSpec{Name: "meta", Type: wire.ParticleMap, Value: meta},
		)
	}
	out := new(wire.Message)
	if err := out.Decode(wire.AppendMessage(nil, r)); err != nil {
		t.Fatal(err)
	}
	return out
}

const goldenUserSchema = `{"type":"record","name":"r","fields":[
 {"name":"msg","type":"string"},{"name":"gen","type":"long"},
 {"name":"where","type":["null","string"],"default":null},
 {"name":"g2","type":["null","long"],"default":null},
 {"name":"half","type":["null","double"],"default":null},
 {"name":"odd","type":["null","boolean"],"default":null},
 {"name":"pair","type":["null",{"type":"array","items":["string","long"]}],"default":null},
 {"name":"meta","type":["null",{"type":"map","values":"long"}],"default":null}]}`

// TestComputedBinsEveryFormat runs a transform over the captured frames
// and a record with every particle type, and encodes the result in every
// format: the bytes must be those of the same record sent by XDR with the
// computed bins in it (one encoder path), and are pinned in
// testdata/golden.
func TestComputedBinsEveryFormat(t *testing.T) {
	frames := map[string][]byte{}
	files, _ := filepath.Glob("../testdata/xdr-frames/*.hex")
	shared, _ := filepath.Glob("/work/shared/testdata/xdr-frames/*.hex")
	for _, f := range append(files, shared...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fr, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		frames[strings.TrimSuffix(filepath.Base(f), ".hex")] = fr[wire.HeaderSize:]
	}
	if len(files) == 0 {
		t.Fatal("no captured frames")
	}
	every := typical()
	every.Bins = append(every.Bins,
		wire.BinSpec{Name: "geo", Type: wire.ParticleGeoJSON, Value: wire.GeoJSONValue(`{"type":"Point","coordinates":[1.5,2]}`, 7)},
		wire.BinSpec{Name: "hll", Type: wire.ParticleHLL, Value: []byte{9, 9}},
		wire.BinSpec{Name: "java", Type: wire.ParticleJava, Value: []byte{0xac, 0xed}},
		wire.BinSpec{Name: "gone", Type: wire.ParticleNull},
	)
	every.Partial = true
	frames["every-particle-type"] = wire.AppendMessage(nil, every)
	meta := typical()
	meta.Bins = nil
	frames["metadata-only"] = wire.AppendMessage(nil, meta)

	var set []SetBin
	for _, s := range goldenSet {
		set = append(set, SetBin{Name: s.name, Program: mustCompile(t, Value, s.src)})
	}
	userSch, err := encode.CompileAvroSchema([]byte(goldenUserSchema))
	if err != nil {
		t.Fatal(err)
	}
	encoders := []struct {
		name string
		enc  encode.Encoder
	}{
		{"json", &encode.JSON{}},
		{"flat-json", &encode.FlatJSON{}},
		{"message-pack", &encode.MsgPack{}},
		{"avro", encode.NewAvro(nil)},
		{"avro-user-schema", userSch.NewEncoder(nil)},
	}
	r := NewRunner()
	for name, body := range frames {
		m := new(wire.Message)
		if err := m.Decode(body); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		removed := ""
		if len(m.Bins) > 0 {
			removed = string(m.Bins[0].Name)
		}
		var rm []string
		if removed != "" {
			rm = []string{removed}
		}
		r.Reset(m, 1700000000)
		got, err := r.Transform(NewTransform(set, rm), false)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := native(t, m, removed)
		var golden bytes.Buffer
		for _, e := range encoders {
			g, err := e.enc.Append(nil, got, 1700000000)
			if err != nil {
				t.Fatalf("%s %s: %v", name, e.name, err)
			}
			w, err := e.enc.Append(nil, want, 1700000000)
			if err != nil {
				t.Fatalf("%s %s (native): %v", name, e.name, err)
			}
			if !bytes.Equal(g, w) {
				t.Errorf("%s %s:\n got %q\nwant %q", name, e.name, g, w)
			}
			if e.enc.ContentType() == encode.ContentTypeJSON {
				fmt.Fprintf(&golden, "%s: %s\n", e.name, g)
			} else {
				fmt.Fprintf(&golden, "%s: %x\n", e.name, g)
			}
		}
		path := filepath.Join("testdata", "golden", name+".txt")
		if *update {
			os.MkdirAll(filepath.Dir(path), 0o755)
			if err := os.WriteFile(path, golden.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		pinned, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if !bytes.Equal(pinned, golden.Bytes()) {
			t.Errorf("%s: output differs from %s:\n%s", name, path, golden.Bytes())
		}
	}
}
