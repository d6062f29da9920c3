package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/xdrhook/xdrhook/wire"
)

func TestDecodeCapturedFrames(t *testing.T) {
	w, _ := os.ReadFile("../../testdata/xdr-frames/write-3bins-key10.hex")
	d, _ := os.ReadFile("../../testdata/xdr-frames/delete-key10.hex")
	var out, errb bytes.Buffer
	in := "# captured\n" + string(w) + "\n" + string(d)
	if rc := dispatch([]string{"decode", "--now", "1700000000"}, strings.NewReader(in), &out, &errb); rc != 0 {
		t.Fatalf("rc %d: %s", rc, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("output:\n%s", out.String())
	}
	want := []string{
		`{"bins":[{"name":"name","type":3,"value":"colton"},{"name":"age","type":1,"value":27},{"name":"mapTest","type":19,"value":{"a":1,"b":2}}],"digest":"5fe3b7c0f4669a77c8456c1bf4f1f68c55ac1002","digestVerified":true,"exp":0,"frame":1,"generation":1,"info":[16,1,16,0],"kind":"write","lut":1734388704784,"lutSource":1,"lutTime":"2024-12-16T22:38:24.784Z","metadataOnly":false,"namespace":"test","partial":false,"set":"myset","ttl":4294967295,"type":3,"userKey":{"type":1,"value":10}}`,
		`{"digest":"5fe3b7c0f4669a77c8456c1bf4f1f68c55ac1002","digestVerified":true,"durable":false,"frame":2,"generation":2,"info":[16,3,0,0],"kind":"delete","lut":1734388731220,"lutSource":1,"lutTime":"2024-12-16T22:38:51.22Z","namespace":"test","set":"myset","type":3,"userKey":{"type":1,"value":10}}`,
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d:\n got %s\nwant %s", i, lines[i], want[i])
		}
	}
}

func TestDecodeRawCompressedAndErrors(t *testing.T) {
	w, _ := os.ReadFile("../../testdata/xdr-frames/write-3bins-key10.hex")
	plain, _ := hex.DecodeString(strings.TrimSpace(string(w)))
	stream := wire.AppendCompressed(nil, plain, 6)
	bad := append([]byte(nil), plain...)
	bad[len(bad)-1] = 0xc1 // not MessagePack in the map bin
	stream = append(stream, bad...)
	var out, errb bytes.Buffer
	rc := dispatch([]string{"decode", "--raw"}, bytes.NewReader(stream), &out, &errb)
	if rc != 1 {
		t.Fatalf("rc %d, want 1 for a frame with an error", rc)
	}
	dec := json.NewDecoder(&out)
	var first, second map[string]any
	if err := dec.Decode(&first); err != nil || first["compressedBytes"] == nil || first["kind"] != "write" {
		t.Fatalf("first: %v %v", first, err)
	}
	if err := dec.Decode(&second); err != nil {
		t.Fatal(err)
	}
	bins := second["bins"].([]any)
	if e, _ := bins[2].(map[string]any)["error"].(string); !strings.Contains(e, "0xc1") {
		t.Fatalf("second: %v", second)
	}

	// An oversized frame stops the stream with a clear error.
	out.Reset()
	errb.Reset()
	if rc := dispatch([]string{"decode", "--max-frame-bytes", "10"}, strings.NewReader(string(w)), &out, &errb); rc != 1 || !strings.Contains(errb.String(), "exceeds the limit") {
		t.Fatalf("rc %d: %s", rc, errb.String())
	}
}

func TestUnknownCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if rc := dispatch([]string{"nope"}, nil, &out, &errb); rc != 2 || !strings.Contains(errb.String(), `unknown command "nope"`) {
		t.Fatalf("rc %d: %s", rc, errb.String())
	}
}

func TestDecodeFormats(t *testing.T) {
	w, _ := os.ReadFile("../../testdata/xdr-frames/write-3bins-key10.hex")
	d, _ := os.ReadFile("../../testdata/xdr-frames/delete-key10.hex")
	in := string(w) + "\n" + string(d)
	golden := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	for _, c := range []struct {
		format string
		want   []string
	}{
		{"json", []string{
			`{"msg":"write","key":["test","myset","X+O3wPRmmnfIRWwb9PH2jFWsEAI=",10],"gen":1,"exp":0,"lut":1734388704784,"bins":[{"name":"name","type":"str","value":"colton"},{"name":"age","type":"int","value":27},{"name":"mapTest","type":"map","value":{"a":1,"b":2},"order":"unordered"}]}`,
			`{"msg":"delete","key":["test","myset","X+O3wPRmmnfIRWwb9PH2jFWsEAI=",10],"durable":false,"gen":2,"lut":1734388731220}`,
		}},
		{"flat-json", []string{
			`{"metadata":{"namespace":"test","set":"myset","userKey":10,"digest":"X+O3wPRmmnfIRWwb9PH2jFWsEAI=","msg":"write","gen":1,"lut":1734388704784,"exp":0},"name":"colton","age":27,"mapTest":{"a":1,"b":2}}`,
			`{"metadata":{"namespace":"test","set":"myset","userKey":10,"digest":"X+O3wPRmmnfIRWwb9PH2jFWsEAI=","msg":"delete","gen":2,"lut":1734388731220,"durable":false}}`,
		}},
		{"message-pack", []string{golden("../../encode/testdata/msgpack/write-3bins-key10.hex"), golden("../../encode/testdata/msgpack/delete-key10.hex")}},
	} {
		var out, errb bytes.Buffer
		if rc := dispatch([]string{"decode", "--format", c.format, "--now", "1700000000"}, strings.NewReader(in), &out, &errb); rc != 0 {
			t.Fatalf("%s: rc %d %s", c.format, rc, errb.String())
		}
		got := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(got) != 2 || got[0] != c.want[0] || got[1] != c.want[1] {
			t.Errorf("%s:\n got %q\nwant %q", c.format, got, c.want)
		}
	}
}
