package connector

import (
	"testing"

	"github.com/xdrhook/xdrhook/dataplane"
	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/wire"
)

// The es-bulk options of the format section reach the framer.
func TestProfileESBulkOptions(t *testing.T) {
	p := profileOf(t, "format: {mode: flat-json, framing: es-bulk, doc-id: \"bin:id\", write-operation: update, versioning: lut}\n")
	es := p.NewFramer().(*encode.ESBulk)
	if es.DocID != encode.ESDocIDBin || es.DocIDBin != "id" || es.WriteOp != encode.ESWriteUpdate || !es.VersionLUT {
		t.Errorf("%+v", es)
	}
	p = profileOf(t, "format: {mode: flat-json, framing: es-bulk, doc-id: user-key, write-operation: create}\n")
	es = p.NewFramer().(*encode.ESBulk)
	if es.DocID != encode.ESDocIDUserKey || es.WriteOp != encode.ESWriteCreate || es.VersionLUT {
		t.Errorf("%+v", es)
	}
	p = profileOf(t, "format: {mode: flat-json, framing: es-bulk}\n")
	es = p.NewFramer().(*encode.ESBulk)
	if es.DocID != encode.ESDocIDDigest || es.WriteOp != encode.ESWriteAuto || es.VersionLUT {
		t.Errorf("%+v", es)
	}
}

// pipeline and refresh go on the URL of the destinations the es-bulk
// profiles route to: after a static path, a per-record path, or the URL.
func TestESBulkQueryOnDestination(t *testing.T) {
	const format = "format: {mode: flat-json, framing: es-bulk, pipeline: \"p 1\", refresh: wait_for}\nbatching: {enabled: true}\n"
	for _, tc := range []struct {
		dest                 string
		url, path, perRecord string
	}{
		{`{urls: ["http://127.0.0.1:1/_bulk"]}`, "http://127.0.0.1:1/_bulk?pipeline=p+1&refresh=wait_for", "", ""},
		{`{urls: ["http://127.0.0.1:1"]}`, "http://127.0.0.1:1/?pipeline=p+1&refresh=wait_for", "", ""},
		{`{urls: ["http://127.0.0.1:1/_bulk?timeout=1m"]}`, "http://127.0.0.1:1/_bulk?timeout=1m&pipeline=p+1&refresh=wait_for", "", ""},
		{`{urls: ["http://127.0.0.1:1"], path: /_bulk}`, "http://127.0.0.1:1", "/_bulk?pipeline=p+1&refresh=wait_for", ""},
		{`{urls: ["http://127.0.0.1:1"], path: "/{namespace}/_bulk"}`, "http://127.0.0.1:1", "", "/test/_bulk?pipeline=p+1&refresh=wait_for"},
	} {
		_, o := buildOptions(t, "destinations:\n  a: "+tc.dest+"\nrouting: {mode: static, destination: a}\n"+format)
		do := o.Destinations[0].Options()
		ho := do.Sender.(interface{ HTTPOptions() dataplane.HTTPOptions }).HTTPOptions()
		if ho.URLs[0] != tc.url || ho.Path != tc.path {
			t.Errorf("%s: url %s path %q", tc.dest, ho.URLs[0], ho.Path)
		}
		var got string
		if do.Path != nil {
			got = string(do.Path(nil, &wire.Message{Namespace: []byte("test"), Set: []byte("s")}))
		}
		if got != tc.perRecord {
			t.Errorf("%s: per-record path %q, want %q", tc.dest, got, tc.perRecord)
		}
	}
	// No pipeline or refresh: the URL as configured.
	_, o := buildOptions(t, oneDest+"format: {mode: flat-json, framing: es-bulk}\n")
	if ho := o.Destinations[0].Options().Sender.(interface{ HTTPOptions() dataplane.HTTPOptions }).HTTPOptions(); ho.URLs[0] != "http://127.0.0.1:1/a" {
		t.Errorf("url %s", ho.URLs[0])
	}
}
