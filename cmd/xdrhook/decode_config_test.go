package main

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xdrhook/xdrhook/wire"
)

// TestDecodeConfigDryRun: decode --config prints, per captured frame, the
// profile, the filter's result, the destinations and the message as the
// connector would send it (transform and bin-transforms applied), or why
// it is not sent.
func TestDecodeConfigDryRun(t *testing.T) {
	w, _ := os.ReadFile("../../testdata/xdr-frames/write-3bins-key10.hex")
	d, _ := os.ReadFile("../../testdata/xdr-frames/delete-key10.hex")
	cfg := filepath.Join(t.TempDir(), "c.yml")
	os.WriteFile(cfg, []byte(`
destinations:
  search: {urls: ["http://127.0.0.1:9200/"]}
  audit: {urls: ["http://127.0.0.1:9300/"]}
routing:
  mode: expression
  expression: '(bins.age ?? 0) > 20 ? ["search", "audit", "search"] : ["search"]'
filter: 'msg == "write"'
transform:
  set:
    greeting: '"hi " + bins.name'
  remove: [mapTest]
namespaces:
  other:
    routing: {mode: expression, expression: 'bins.x.y'}
    format: {mode: message-pack}
    expression-errors: skip
`), 0o644)
	other := wire.AppendFrame(nil, &wire.Record{Kind: wire.KindWrite, Generation: 3, Namespace: "other", NoLUT: true,
		Bins: []wire.BinSpec{{Name: "x", Type: wire.ParticleString, Value: []byte("s")}}})
	in := string(w) + "\n" + string(d) + "\n" + hex.EncodeToString(other)
	var out, errb bytes.Buffer
	if rc := dispatch([]string{"decode", "--config", cfg, "--now", "1700000000"}, strings.NewReader(in), &out, &errb); rc != 0 {
		t.Fatalf("rc %d: %s\n%s", rc, errb.String(), out.String())
	}
	want := []string{
		`{"frame":1,"profile":0,"where":"top level","filter":true,"rc":-1,"destinations":["search","audit"],"message":{"msg":"write","key":["test","myset","X+O3wPRmmnfIRWwb9PH2jFWsEAI=",10],"gen":1,"exp":0,"lut":1734388704784,"bins":[{"name":"name","type":"str","value":"colton"},{"name":"age","type":"int","value":27},{"name":"greeting","type":"str","value":"hi colton"}]}}`,
		`{"frame":2,"profile":0,"where":"top level","filter":false,"rc":0,"skipped":"filter","destinations":[]}`,
		`{"frame":3,"profile":1,"where":"namespace other","filter":true,"error":"routing: invalid operation: int(string) (1:8)\n | bins.x.y\n | .......^ (expression-errors: skip)","rc":0,"skipped":"expression error","destinations":[]}`,
	}
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(got) != len(want) {
		t.Fatalf("output:\n%s", out.String())
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d:\n got %s\nwant %s", i+1, got[i], want[i])
		}
	}
	// A config that does not load: its errors, exit 1.
	os.WriteFile(cfg, []byte("routing: {mode: static, destination: x}\nfilter: 'gen >'\n"), 0o644)
	errb.Reset()
	if rc := dispatch([]string{"decode", "--config", cfg}, strings.NewReader(in), &out, &errb); rc != 1 || !strings.Contains(errb.String(), "c.yml:2:14: filter: unexpected token EOF") {
		t.Fatalf("rc %d: %s", rc, errb.String())
	}
}
