package connector

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/dataplane"
	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/wire"
)

const oneDest = `destinations:
  a: {urls: ["http://127.0.0.1:1/a"]}
routing: {mode: static, destination: a}
`

// profileOf builds the profiles of a config whose format and batching
// sections are given, and returns the top-level one.
func profileOf(t *testing.T, sections string) *dataplane.Profile {
	t.Helper()
	_, o := buildOptions(t, oneDest+sections)
	return o.Profiles[0]
}

func typeName(v any) string { return strings.TrimPrefix(fmt.Sprintf("%T", v), "*encode.") }

// TestProfileFactories: every format × framing gives the encoder and the
// framer output-formats.md names; es-bulk and splunk-hec keep their framing
// with batching off (FrameOne), the container framings do not.
func TestProfileFactories(t *testing.T) {
	cases := []struct {
		format   string
		batching bool
		encoder  string
		framer   string
		frameOne bool
	}{
		{"{mode: json}", true, "JSON", "NDJSON", false},
		{"{mode: json, framing: json-array}", true, "JSON", "JSONArray", false},
		{"{mode: json, framing: json-array}", false, "JSON", "JSONArray", false},
		{"{mode: flat-json}", true, "FlatJSON", "NDJSON", false},
		{"{mode: flat-json, framing: json-array}", true, "FlatJSON", "JSONArray", false},
		{"{mode: json, framing: es-bulk}", true, "JSON", "ESBulk", true},
		{"{mode: flat-json, framing: es-bulk}", false, "FlatJSON", "ESBulk", true},
		{"{mode: json, framing: splunk-hec}", false, "JSON", "SplunkHEC", true},
		{"{mode: json}", false, "JSON", "NDJSON", false},
		{"{mode: message-pack}", true, "MsgPack", "MsgPackArray", false},
		{"{mode: avro}", true, "Avro", "AvroOCF", false},
		{"{mode: avro}", false, "Avro", "AvroOCF", false},
	}
	for _, c := range cases {
		name := fmt.Sprintf("%s/batching=%t", c.format, c.batching)
		t.Run(name, func(t *testing.T) {
			batching := "batching: {enabled: false}\n"
			if c.batching {
				batching = "batching: {enabled: true, max-records: 7, max-bytes: 9999, batch-interval: 30}\n"
			}
			p := profileOf(t, "format: "+c.format+"\n"+batching)
			if p.NewEncoder == nil || p.NewFramer == nil {
				t.Fatalf("factories missing: %+v", p)
			}
			if got := typeName(p.NewEncoder()); got != c.encoder {
				t.Errorf("encoder %s, want %s", got, c.encoder)
			}
			if got := typeName(p.NewFramer()); got != c.framer {
				t.Errorf("framer %s, want %s", got, c.framer)
			}
			if p.FrameOne != c.frameOne {
				t.Errorf("FrameOne %t, want %t", p.FrameOne, c.frameOne)
			}
			if p.NewEncoder() == p.NewEncoder() {
				t.Error("encoders are shared: each batcher needs its own")
			}
			want := dataplane.Profile{}
			if c.batching {
				want = dataplane.Profile{Batching: true, MaxRecords: 7, MaxBytes: 9999, Interval: 30 * time.Millisecond}
			}
			if p.Batching != want.Batching || p.MaxRecords != want.MaxRecords || p.MaxBytes != want.MaxBytes || p.Interval != want.Interval {
				t.Errorf("batching %t %d %d %v, want %t %d %d %v", p.Batching, p.MaxRecords, p.MaxBytes, p.Interval,
					want.Batching, want.MaxRecords, want.MaxBytes, want.Interval)
			}
		})
	}
}

// TestProfileFramerSettings: the format section's settings reach the framers.
func TestProfileFramerSettings(t *testing.T) {
	p := profileOf(t, "format: {mode: json, framing: es-bulk, index-template: \"idx-{namespace}\", metadata-key: meta, omit-deletes: true}\n")
	es := p.NewFramer().(*encode.ESBulk)
	if es.Index != "idx-{namespace}" || !es.OmitDeletes || es.Doc.MetadataKey != "meta" {
		t.Errorf("%+v", es)
	}
	p = profileOf(t, "format: {mode: flat-json, metadata-key: meta}\n")
	if fj := p.NewEncoder().(*encode.FlatJSON); fj.MetadataKey != "meta" {
		t.Errorf("%+v", fj)
	}
}

// TestProfileBinTransforms: the bin-transforms of a profile apply to every
// encoder and framer it makes.
func TestProfileBinTransforms(t *testing.T) {
	m := message(t, write("test", "s", str("keep", "k"), str("secret", "x")))
	for _, format := range []string{"json", "flat-json", "message-pack", "avro"} {
		p := profileOf(t, "format: {mode: "+format+"}\nbin-transforms: {exclude: {type: specified, bins: [secret]}, map: {keep: kept}}\n")
		out, err := p.NewEncoder().Append(nil, m, 0)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(out, []byte("secret")) || !bytes.Contains(out, []byte("kept")) {
			t.Errorf("%s: bin-transforms not applied: %q", format, out)
		}
		f := p.NewFramer()
		body := f.End(append(f.Begin(nil), mustAppend(t, f, m)...))
		if bytes.Contains(body, []byte("secret")) || !bytes.Contains(body, []byte("kept")) {
			t.Errorf("%s framer: bin-transforms not applied: %q", format, body)
		}
	}
}

func mustAppend(t *testing.T, f encode.Framer, m *wire.Message) []byte {
	t.Helper()
	out, err := f.Append(nil, m, 0)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

const userSchema = `{"type": "record", "name": "Row", "fields": [
  {"name": "name", "type": ["null", "string"], "default": null},
  {"name": "n", "type": ["null", "long"], "default": null}]}`

// TestProfileAvroSchema: a user schema is compiled once, at build time; an
// encoder and a framer made from it write datums of that schema; a schema
// that cannot be written is New's error, not a nil encoder later.
func TestProfileAvroSchema(t *testing.T) {
	p := profileOf(t, "format: {mode: avro, schema: '"+userSchema+"'}\n")
	want, err := encode.NewAvroWithSchema([]byte(userSchema), nil)
	if err != nil {
		t.Fatal(err)
	}
	enc := p.NewEncoder().(*encode.Avro)
	if enc.Fingerprint() != want.Fingerprint() || enc.Fingerprint() == encode.NewAvro(nil).Fingerprint() {
		t.Errorf("encoder fingerprint %x, want the user schema's %x", enc.Fingerprint(), want.Fingerprint())
	}
	m := message(t, write("test", "s", str("name", "bob"), integer("n", 3)))
	got, err := enc.Append(nil, m, 0)
	if err != nil {
		t.Fatal(err)
	}
	exp, _ := want.Append(nil, m, 0)
	if !bytes.Equal(got, exp) {
		t.Errorf("datum %x, want %x", got, exp)
	}
	if ocf := p.NewFramer().(*encode.AvroOCF); !bytes.Contains(ocf.Begin(nil), []byte(`"name":"Row"`)) {
		t.Errorf("container header without the user schema: %q", ocf.Begin(nil))
	}

	cfg := parseConfig(t, oneDest+`format: {mode: avro, schema: '{"type": "string"}'}`+"\n")
	if _, err := New(cfg, dataplane.Options{}, "test"); err == nil || !strings.Contains(err.Error(), "avro schema") {
		t.Errorf("a schema that is not a record: err %v", err)
	}
}

// TestInFlightWindow: the window is max-in-flight, capped at the requests
// the connections can carry at once.
func TestInFlightWindow(t *testing.T) {
	cases := []struct {
		dest string
		want int
	}{
		{`{urls: ["http://h1/", "http://h2/"], max-connections-per-endpoint: 8}`, 16},
		{`{urls: ["http://h1/"], max-connections-per-endpoint: 100, max-in-flight: 64}`, 64},
		{`{urls: ["http://h1/"], max-connections-per-endpoint: 2, http1-pipelining: true}`, 64},
		{`{urls: ["http://h1/"], protocol: HTTP_2, max-connections-per-endpoint: 1}`, 64},
		{`{urls: ["http://h1/"], protocol: HTTP_2, max-connections-per-endpoint: 2, http2-max-concurrent-streams: 10}`, 20},
	}
	for _, c := range cases {
		_, o := buildOptions(t, "destinations:\n  a: "+c.dest+"\nrouting: {mode: static, destination: a}\n")
		if got := o.Destinations[0].Options().MaxInFlight; got != c.want {
			t.Errorf("%s: window %d, want %d", c.dest, got, c.want)
		}
	}
}
