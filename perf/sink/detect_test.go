package sink

import "testing"

// Each format detected by its content type and body.
func TestDetect(t *testing.T) {
	for _, bc := range formatCases(t) {
		if got := detect(bc.ctype, bc.body); got != bc.format && bc.hdr == nil {
			t.Errorf("%s: detected %s, want %s", bc.name, got, bc.format)
		}
		// Without a content type, by sniffing alone (gzip bodies aside).
		if bc.name == "ndjson gzip" {
			continue
		}
		if got := detect("", bc.body); got != bc.format {
			t.Errorf("%s: sniffed %s, want %s", bc.name, got, bc.format)
		}
	}
}
