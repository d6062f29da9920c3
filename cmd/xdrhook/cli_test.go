package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestHelpAndBadFlags: on every command, -h and --help print the usage on
// stdout and exit 0; a flag it does not know prints the error and the usage
// on stderr and exits 2.
func TestHelpAndBadFlags(t *testing.T) {
	for _, cmd := range [][]string{
		{"check"}, {"run"}, {"demo"}, {"sim"}, {"sink"}, {"decode"},
		{"bench"}, {"bench", "suite"}, {"bench", "baseline"}, {"bench", "profiled-run"},
	} {
		name := strings.Join(cmd, " ")
		for _, h := range []string{"-h", "--help", "-help"} {
			var out, errb bytes.Buffer
			rc := dispatch(append(append([]string{}, cmd...), h), strings.NewReader(""), &out, &errb)
			if rc != 0 || !strings.Contains(out.String(), "Usage") || !strings.Contains(out.String(), "-") || errb.Len() != 0 {
				t.Errorf("%s %s: exit %d, stdout %q, stderr %q; want 0, the usage on stdout, nothing on stderr", name, h, rc, out.String(), errb.String())
			}
		}
		var out, errb bytes.Buffer
		rc := dispatch(append(append([]string{}, cmd...), "--no-such-flag"), strings.NewReader(""), &out, &errb)
		if rc != 2 || out.Len() != 0 || !strings.Contains(errb.String(), "no-such-flag") || !strings.Contains(errb.String(), "Usage") {
			t.Errorf("%s --no-such-flag: exit %d, stdout %q, stderr %q; want 2, the error and the usage on stderr", name, rc, out.String(), errb.String())
		}
	}
}
