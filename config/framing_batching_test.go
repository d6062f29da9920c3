package config

import (
	"strings"
	"testing"
)

// A framing that batching settings leave unused is a warning that says why
// and what each body is instead; es-bulk and splunk-hec are the
// destination's protocol and keep their framing, so they get none.
func TestFramingIgnoredWithoutBatching(t *testing.T) {
	const head = `
destinations:
  d: {urls: ["http://127.0.0.1:9200/"]}
routing: {mode: static, destination: d}
`
	for _, tc := range []struct{ yml, warning string }{
		{"format: {mode: json, framing: json-array}\n",
			`config.yml:5: format.framing: json-array is not used: batching is off (no batching section), so each body is one message alone (application/json); enable batching to frame bodies as json-array`},
		{"format: {mode: avro, framing: avro-ocf}\nbatching: {enabled: false}\n",
			`config.yml:5: format.framing: avro-ocf is not used: batching is off (batching.enabled: false), so each body is one message alone (avro/binary, single-object encoding); enable batching to frame bodies as avro-ocf`},
		{"format: {mode: message-pack, framing: msgpack-array}\n",
			`config.yml:5: format.framing: msgpack-array is not used: batching is off (no batching section), so each body is one message alone (application/x-msgpack); enable batching to frame bodies as msgpack-array`},
		{"format: {mode: flat-json, framing: es-bulk}\n", ""},
		{"format: {mode: flat-json, framing: splunk-hec}\n", ""},
		{"format: {mode: json, framing: json-array}\nbatching: {}\n", ""},
		{"format: {mode: json}\n", ""}, // the default framing, not chosen
	} {
		c := mustParse(t, head+tc.yml, nil)
		switch {
		case tc.warning == "" && len(c.Warnings) != 0:
			t.Errorf("%s: warnings %v", tc.yml, Errors(c.Warnings))
		case tc.warning != "" && (len(c.Warnings) != 1 || c.Warnings[0].Error() != tc.warning):
			t.Errorf("%s: warnings %v\nwant %s", tc.yml, Errors(c.Warnings), tc.warning)
		}
	}
	// A set's batching override turns batching off for that set only.
	c := mustParse(t, head+"format: {framing: json-array}\nbatching: {}\nnamespaces:\n  test:\n    sets:\n      s:\n        batching: {enabled: false}\n", nil)
	if len(c.Warnings) != 1 || c.Warnings[0].Error() != `config.yml:5: format.framing: json-array is not used: batching is off (namespaces.test.sets.s.batching.enabled: false), so each body is one message alone (application/json); enable batching to frame bodies as json-array` {
		t.Errorf("warnings %v", Errors(c.Warnings))
	}
}

func TestFramingProtocol(t *testing.T) {
	for f, want := range map[Framing]bool{FramingESBulk: true, FramingSplunkHEC: true, FramingNDJSON: false, FramingJSONArray: false, FramingMsgPackArray: false, FramingAvroOCF: false} {
		if f.Protocol() != want {
			t.Errorf("%s.Protocol() = %v", f, !want)
		}
	}
}

// check's summary of a profile says what batching does to the framing and
// which es-bulk actions go out.
func TestDescribeProfileFraming(t *testing.T) {
	const head = `
destinations:
  d: {urls: ["http://127.0.0.1:9200/"]}
routing: {mode: static, destination: d}
`
	for yml, want := range map[string]string{
		"format: {mode: flat-json, framing: es-bulk, versioning: lut, doc-id: \"bin:uid\"}\n": "; format flat-json, framing es-bulk (write-operation auto, versioning lut, doc-id bin:uid); batching off: one record per es-bulk body",
		"format: {mode: flat-json, framing: splunk-hec}\nbatching: {}\n":                      "; format flat-json, framing splunk-hec; batching 500 records / 1048576 bytes / 50 ms",
		"format: {mode: json, framing: json-array}\n":                                         "; format json, framing json-array; batching off: one message per body, unframed",
	} {
		c := mustParse(t, head+yml, nil)
		if got := c.describeProfile(c.Profiles()[0]); !strings.Contains(got, want) {
			t.Errorf("%s: %q\nwant it to contain %q", yml, got, want)
		}
	}
}
