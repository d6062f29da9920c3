package config

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/wire"
)

const s3Base = `
destinations:
  archive:
    type: s3
    urls: [http://127.0.0.1:8333]
    bucket: aerospike-archive
    node: n1
    auth: {type: aws-sigv4, service: s3, region: us-east-1}
routing: {mode: static, destination: archive}
batching: {max-bytes: 16777216, batch-interval: 2000}
`

func TestS3Defaults(t *testing.T) {
	c := mustParse(t, s3Base, nil)
	d := c.Destinations["archive"]
	if d.Type != TypeS3 || d.S3 == nil {
		t.Fatalf("type %q, S3 %v", d.Type, d.S3)
	}
	s := d.S3
	if s.Bucket != "aerospike-archive" || s.Node != "n1" || !s.PathStyle || s.Key.String() != DefaultKeyTemplate {
		t.Errorf("%+v key %q", s, s.Key)
	}
	if d.Method != "PUT" || d.CompressionThreshold != 0 {
		t.Errorf("method %s, compression-threshold %d", d.Method, d.CompressionThreshold)
	}
	if !s.Key.SplitsBySet() {
		t.Error("the default key has {namespace} and {set}")
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %v", Errors(c.Warnings))
	}
	// An http destination's type stays unset and prints as before.
	c = mustParse(t, minimal, nil)
	if d := c.Destinations["d"]; d.Type != "" || d.S3 != nil {
		t.Errorf("http destination: type %q, S3 %v", d.Type, d.S3)
	}
	var b strings.Builder
	if err := c.WriteYAML(&b); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"type: http", "type: s3", "bucket:", "key-template:", "path-style:", "node:"} {
		if strings.Contains(b.String(), k) {
			t.Errorf("check prints %s for an http destination:\n%s", k, b.String())
		}
	}
}

func TestS3NodeDefaultsToHostname(t *testing.T) {
	h, err := os.Hostname()
	if err != nil {
		t.Skip(err)
	}
	c := mustParse(t, strings.Replace(s3Base, "    node: n1\n", "", 1), nil)
	if got := c.Destinations["archive"].S3.Node; got != h {
		t.Errorf("node %q, want the host name %q", got, h)
	}
	// `check` prints what runs.
	var b strings.Builder
	if err := c.WriteYAML(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "node: "+h) || !strings.Contains(b.String(), "key-template: '"+DefaultKeyTemplate+"'") || !strings.Contains(b.String(), "path-style: true") {
		t.Errorf("check output:\n%s", b.String())
	}
}

// Path-style is the default off AWS, virtual-hosted on it.
func TestS3PathStyleDefault(t *testing.T) {
	yml := strings.Replace(s3Base, "http://127.0.0.1:8333", "https://s3.eu-west-1.amazonaws.com", 1)
	c := mustParse(t, yml, nil)
	if c.Destinations["archive"].S3.PathStyle {
		t.Error("AWS endpoint: want virtual-hosted")
	}
	c = mustParse(t, strings.Replace(yml, "node: n1", "node: n1\n    path-style: true", 1), nil)
	if !c.Destinations["archive"].S3.PathStyle {
		t.Error("path-style: true not taken")
	}
	wantErrs(t, strings.Replace(s3Base, "node: n1", "node: n1\n    path-style: false", 1), nil,
		"config.yml:8: destinations.archive.path-style: false puts the bucket in the host name, but 127.0.0.1 is an IP address (urls[0]): use path-style: true")
}

func TestS3Errors(t *testing.T) {
	with := func(extra string) string { return strings.Replace(s3Base, "    node: n1\n", "    node: n1\n"+extra, 1) }
	wantErrs(t, with("    key-template: \"{namespace}/{yyyy}/{first_lut}-{node}-{seq}.{ext}\"\n"), nil,
		`config.yml:8: destinations.archive.key-template: unknown placeholder {first_lut}: the placeholders are {namespace} {set} {yyyy} {mm} {dd} {hh} {first-lut} {node} {seq} {ext} (did you mean {first-lut}?)`)
	wantErrs(t, with("    key-template: \"{namespace}/{first-lut}.{ext}\"\n"), nil,
		`config.yml:8: destinations.archive.key-template: "{namespace}/{first-lut}.{ext}" must contain {node} and {seq}: without them two batches (from two nodes, or one node before and after a restart) can get the same key, and the later object replaces the earlier`)
	wantErrs(t, with("    key-template: \"/{node}-{seq}\"\n"), nil,
		`config.yml:8: destinations.archive.key-template: "/{node}-{seq}" starts with /: a key is relative to the bucket`)
	wantErrs(t, with("    key-template: \"a//{node}-{seq}\"\n"), nil,
		`config.yml:8: destinations.archive.key-template: "a//{node}-{seq}" has an empty path segment (//, or a / at the end)`)
	wantErrs(t, with("    key-template: \"a/../{node}-{seq}\"\n"), nil,
		`config.yml:8: destinations.archive.key-template: "a/../{node}-{seq}" has a ".." segment, which HTTP clients and servers may resolve away`)
	wantErrs(t, with("    key-template: \"{node-{seq}\"\n"), nil,
		`config.yml:8: destinations.archive.key-template: unknown placeholder {node-{seq}: the placeholders are {namespace} {set} {yyyy} {mm} {dd} {hh} {first-lut} {node} {seq} {ext} (did you mean {node}?)`)
	wantErrs(t, with("    key-template: \""+strings.Repeat("x", 900)+"/{set}-{node}-{seq}\"\n"), nil,
		`config.yml:8: destinations.archive.key-template: "`+strings.Repeat("x", 900)+`/{set}-{node}-{seq}" can render keys of up to 1139 bytes (longest namespace and set, each byte escaped): S3 takes at most 1024`)
	wantErrs(t, strings.Replace(s3Base, "aerospike-archive", "Aerospike_Archive", 1), nil,
		`config.yml:6: destinations.archive.bucket: "Aerospike_Archive": a bucket name has lower-case letters, digits, '-' and '.' only`)
	wantErrs(t, strings.Replace(s3Base, "    bucket: aerospike-archive\n", "", 1), nil,
		`config.yml:3: destinations.archive.bucket: missing: type s3 needs the bucket the objects go to`)
	wantErrs(t, with("    method: POST\n"), nil,
		`config.yml:8: destinations.archive.method: POST: an S3 object is written with PUT`)
	wantErrs(t, with("    path: /x\n"), nil,
		`config.yml:8: destinations.archive.path: does not apply to type s3: key-template names each object`)
	wantErrs(t, with("    compression: gzip\n    compression-threshold: 1024\n"), nil,
		`config.yml:9: destinations.archive.compression-threshold: 1024: an s3 destination gzips every object or none ({ext} ends in .gz when it does): leave it out or set 0`)
	wantErrs(t, strings.Replace(s3Base, "type: s3", "type: s4", 1), nil,
		`config.yml:4: destinations.archive.type: "s4" is not one of http, s3 (did you mean "s3"?)`)
	wantErrs(t, strings.Replace(s3Base, "type: s3", "type: http", 1), nil,
		`config.yml:6: destinations.archive.bucket: applies to type: s3 only (this destination is type http)`,
		`config.yml:7: destinations.archive.node: applies to type: s3 only (this destination is type http)`)
}

// Every profile that can reach an s3 destination batches, into a framing
// that holds records.
func TestS3Auth(t *testing.T) {
	c := mustParse(t, strings.Replace(s3Base, "    auth: {type: aws-sigv4, service: s3, region: us-east-1}\n", "", 1), nil)
	if len(c.Warnings) != 1 || c.Warnings[0].Error() != "config.yml:3: destinations.archive: type s3 without auth: requests are not signed, and only a bucket open to anonymous writes takes them; add auth: {type: aws-sigv4, service: s3}" {
		t.Errorf("warnings: %v", Errors(c.Warnings))
	}
	wantErrs(t, strings.Replace(s3Base, "service: s3,", "service: execute-api,", 1), nil,
		`config.yml:8: destinations.archive.auth.service: "execute-api": an s3 destination signs for service s3`)
	wantErrContains(t, strings.Replace(s3Base, "{type: aws-sigv4, service: s3, region: us-east-1}", "{type: bearer-file, file: /tmp/t}", 1), nil,
		`destinations.archive.auth.type: bearer-file: S3 takes AWS Signature V4: auth: {type: aws-sigv4, service: s3}`)
}

func TestS3NeedsBatching(t *testing.T) {
	wantErrs(t, strings.Replace(s3Base, "batching: {max-bytes: 16777216, batch-interval: 2000}\n", "", 1), nil,
		`config.yml:4: destinations.archive.type: destination archive is type s3, which stores one object per batch: batching must be on (no batching section); see destinations.archive.type`)
	wantErrs(t, s3Base+`namespaces:
  test:
    batching: {enabled: false}
`, nil,
		`config.yml:13: namespaces.test.batching.enabled: destination archive is type s3, which stores one object per batch: batching must be on (namespaces.test.batching.enabled: false); see destinations.archive.type`)
	wantErrs(t, s3Base+"format: {mode: flat-json, framing: es-bulk}\n", nil,
		`config.yml:11: format.framing: es-bulk cannot be an object of s3 destination archive: use ndjson, json-array, msgpack-array, avro-ocf`)
	// A profile routed elsewhere needs neither.
	mustParse(t, strings.Replace(s3Base, "routing:", `  http: {urls: ["http://127.0.0.1:9200/"]}
routing:`, 1)+`namespaces:
  test:
    routing: {mode: static, destination: http}
    batching: {enabled: false}
`, nil)
	// Reached by set routing: the same rule.
	wantErrContains(t, `
destinations:
  default: {type: s3, urls: [http://127.0.0.1:8333], bucket: b-1, node: n}
routing: {mode: set}
`, nil, "destination default is type s3, which stores one object per batch: batching must be on")
	// A short interval loads, with a warning.
	c := mustParse(t, strings.Replace(s3Base, "batch-interval: 2000", "batch-interval: 50", 1), nil)
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0].Error(), "config.yml:10: batching.batch-interval: 50 ms makes many small objects in s3 destination archive") {
		t.Errorf("warnings: %v", Errors(c.Warnings))
	}
}

func TestS3KeyAppend(t *testing.T) {
	c := mustParse(t, s3Base, nil)
	k := c.Destinations["archive"].S3.Key
	lut := time.Date(2026, 3, 4, 5, 6, 7, 890e6, time.UTC).UnixMilli()
	m := &wire.Message{Namespace: []byte("test"), Set: []byte("a b/c=d"), HasLUT: true, LUT: uint64(lut - wire.CitrusleafEpochMs)}
	v := &KeyVars{Node: "host-1.eu", Start: 1796620800123, Seq: 42, Ext: "ndjson"}
	got := string(k.Append([]byte("/aerospike-archive/"), m, v))
	want := "/aerospike-archive/test/a%20b%2Fc%3Dd/2026/03/04/05/" + "1772600767890-host-1.eu-1796620800123-00000042.ndjson"
	if got != want {
		t.Errorf("key\n got %s\nwant %s", got, want)
	}
	// No set: "-", not an empty segment. Literal text is escaped, '/' kept.
	k2, err := parseKeyTemplate("year=({yyyy})/{set}/{node} {seq}.{ext}")
	if err != nil {
		t.Fatal(err)
	}
	m.Set = nil
	v.Seq = 123456789
	if got := string(k2.Append(nil, m, v)); got != "year%3D%282026%29/-/host-1.eu%201796620800123-123456789.ndjson" {
		t.Errorf("key %s", got)
	}
	// No LUT: the time the batch opened (KeyVars.Now) stands in.
	k3, _ := parseKeyTemplate("{yyyy}-{mm}-{dd}T{hh}/{first-lut}-{node}-{seq}")
	m.HasLUT = false
	v.Now = time.Date(2027, 12, 31, 23, 59, 0, 0, time.UTC).UnixMilli()
	if got := string(k3.Append(nil, m, v)); got != "2027-12-31T23/1830297540000-host-1.eu-1796620800123-123456789" {
		t.Errorf("key %s", got)
	}
	m.HasLUT = true
	// One batch, one key: no allocation once the buffer has grown.
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(1000, func() { buf = k.Append(buf[:0], m, v) }); n != 0 {
		t.Errorf("Append allocates %v times per key", n)
	}
}
