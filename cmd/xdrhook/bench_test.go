package main

import (
	"bytes"
	"strings"
	"testing"
)

// The scenarios themselves run in perf/suite's tests (processes); here the
// command's dispatch and flag errors.
func TestBenchUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if rc := dispatch([]string{"bench", "help"}, nil, &out, &errb); rc != 0 {
		t.Fatalf("bench help: %d", rc)
	}
	for _, want := range []string{"xdrhook bench suite", "xdrhook bench baseline", "profiled-run", "-connector", "-window", "-framing", "-write-operation", "-versioning"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	dispatch([]string{"help"}, nil, &out, &errb)
	if !strings.Contains(out.String(), "bench") {
		t.Error("bench is not listed in xdrhook help")
	}
}

func TestBenchBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--format", "xml", "--connector", "xdrhook"},
		{"bench", "--connector", "nobody"},
		{"bench", "--size", "huge"},
		{"bench", "--framing", "xml", "--connector", "xdrhook"},
		{"bench", "--framing", "es-bulk", "--format", "json", "--connector", "xdrhook"}, // es-bulk embeds flat-json
		{"bench", "--framing", "es-bulk", "--write-operation", "upsert", "--connector", "xdrhook"},
		{"bench", "--write-operation", "index", "--connector", "xdrhook"}, // without es-bulk
		{"bench", "--framing", "es-bulk", "--connector", "baseline"},
		{"bench", "extra"},
		{"bench", "--no-such-flag"},
		{"bench", "baseline"},                 // --url is required
		{"bench", "baseline", "--format", ""}, // still no url
		{"bench", "profiled-run"},             // --config is required
		{"bench", "suite", "--no-such-flag"},
		{"bench", "suite", "extra"},
	} {
		var out, errb bytes.Buffer
		if rc := dispatch(args, nil, &out, &errb); rc != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr: %s)", args, rc, errb.String())
		}
	}
}
