package config

import (
	"os"
	"strings"
	"testing"
)

func TestFormatESBulkOptions(t *testing.T) {
	c := mustParse(t, minimal+`format: {mode: flat-json, framing: es-bulk, doc-id: user-key, write-operation: CREATE, versioning: none, pipeline: "xdr ingest", refresh: false}`+"\n", nil)
	f := c.Format
	if f.DocID != DocIDUserKey || f.WriteOperation != WriteCreate || f.Versioning != VersioningNone || f.Pipeline != "xdr ingest" || f.Refresh != "false" {
		t.Errorf("%+v", f)
	}
	if q := f.ESQuery(); q != "pipeline=xdr+ingest&refresh=false" {
		t.Errorf("query %q", q)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %v", Errors(c.Warnings))
	}
	c = mustParse(t, minimal+`format: {mode: flat-json, framing: es-bulk, doc-id: "bin:id", versioning: lut}`+"\n", nil)
	if f := c.Format; f.DocID != DocIDBin || f.DocIDBin != "id" || f.WriteOperation != WriteAuto || f.Versioning != VersioningLUT || f.ESQuery() != "" {
		t.Errorf("%+v", f)
	}
	// Defaults.
	c = mustParse(t, minimal+"format: {mode: flat-json, framing: es-bulk}\n", nil)
	if f := c.Format; f.DocID != DocIDDigest || f.WriteOperation != WriteAuto || f.Versioning != VersioningNone || f.Pipeline != "" || f.Refresh != "" {
		t.Errorf("defaults: %+v", f)
	}
}

func TestFormatESBulkErrors(t *testing.T) {
	wantErrs(t, minimal+"format: {mode: flat-json, framing: es-bulk, write-operation: upsert}\n", nil,
		`config.yml:5: format.write-operation: "upsert" is not one of auto, index, create, update`)
	wantErrs(t, minimal+"format: {mode: flat-json, framing: es-bulk, versioning: lutt}\n", nil,
		`config.yml:5: format.versioning: "lutt" is not one of none, lut (did you mean "lut"?)`)
	wantErrs(t, minimal+"format: {mode: flat-json, framing: es-bulk, doc-id: userkey}\n", nil,
		`config.yml:5: format.doc-id: "userkey" is not one of digest, user-key, bin:NAME (did you mean "user-key"?)`)
	wantErrs(t, minimal+"format: {mode: flat-json, framing: es-bulk, doc-id: \"bin:\"}\n", nil,
		`config.yml:5: format.doc-id: bin: names no bin: write bin:NAME`)
	wantErrs(t, minimal+"format: {mode: flat-json, framing: es-bulk, refresh: wait-for}\n", nil,
		`config.yml:5: format.refresh: "wait-for" is not one of false, true, wait_for (did you mean "wait_for"?)`)
}

func TestFormatESBulkOnlyWarning(t *testing.T) {
	c := mustParse(t, minimal+"format: {mode: flat-json, framing: ndjson, write-operation: index, pipeline: p}\nbatching: {enabled: true}\n", nil)
	if len(c.Warnings) != 1 || c.Warnings[0].Error() != "config.yml:5: format: write-operation, pipeline: framing es-bulk only; ignored for framing ndjson" {
		t.Errorf("warnings: %v", Errors(c.Warnings))
	}
	c = mustParse(t, minimal+"format: {mode: flat-json, framing: es-bulk, write-operation: create, versioning: lut}\n", nil)
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0].Error(), "does not version create actions") {
		t.Errorf("warnings: %v", Errors(c.Warnings))
	}
}

// Profiles routed to one destination must agree on pipeline and refresh.
func TestFormatESBulkQueryDisagreement(t *testing.T) {
	const base = `
destinations:
  es: {urls: ["http://127.0.0.1:9200/_bulk"]}
  other: {urls: ["http://127.0.0.1:9201/_bulk"]}
routing: {mode: static, destination: es}
format: {mode: flat-json, framing: es-bulk, pipeline: a}
batching: {enabled: true}
namespaces:
  ns1:
`
	wantErrContains(t, base+"    format: {mode: flat-json, framing: es-bulk, pipeline: b}\n", nil,
		`pipeline and refresh ("pipeline=b") differ from format ("pipeline=a"), whose records can go to the same destination "es"`)
	// Another destination: fine.
	mustParse(t, base+"    routing: {mode: static, destination: other}\n    format: {mode: flat-json, framing: es-bulk, pipeline: b}\n", nil)
	// Another framing to the same destination is not counted.
	mustParse(t, base+"    format: {mode: flat-json, framing: ndjson}\n", nil)
}

// README's "Elasticsearch mirror" example loads.
func TestREADMEElasticsearchMirror(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "### Elasticsearch mirror")
	if i < 0 {
		t.Fatal("README has no Elasticsearch mirror section")
	}
	s = s[i:]
	j := strings.Index(s, "```yaml\n")
	if j < 0 {
		t.Fatal("no yaml block")
	}
	s = s[j+len("```yaml\n"):]
	yml := s[:strings.Index(s, "```")]
	c, err := Parse("README.md", []byte(yml), Options{LookupEnv: mapEnv(map[string]string{"ES_API_KEY": "k"})})
	if err != nil {
		t.Fatal(err)
	}
	f := c.Format
	if f.Framing != FramingESBulk || f.WriteOperation != WriteAuto || f.Versioning != VersioningLUT || f.DocID != DocIDUserKey {
		t.Errorf("%+v", f)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %v", Errors(c.Warnings))
	}
}
