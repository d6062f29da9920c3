package sink

import (
	"net/http"
	"strings"
	"testing"
)

// At a _bulk or HEC path the sink takes only that framing, as Elasticsearch
// and Splunk do: a bare document is a 400, and so is a _bulk body without
// its final newline. Elsewhere any framing is taken.
func TestProtocolEndpoints(t *testing.T) {
	ns := "test"
	bulk := esBulk(ns, []int{1}, []int{2})
	cases := []struct {
		path, ctype, body string
		status            int
	}{
		{"/_bulk", "application/x-ndjson", bulk, 200},
		{"/logs/_bulk", "application/x-ndjson", bulk, 200},
		{"/insert/elasticsearch/_bulk", "application/x-ndjson", bulk, 200},
		{"/_bulk", "application/x-ndjson", flatWrite("metadata", ns, 1), 400},
		{"/_bulk", "application/json", flatWrite("metadata", ns, 1), 400},
		{"/_bulk", "application/x-ndjson", strings.TrimSuffix(bulk, "\n"), 400},
		{"/services/collector/event", "application/json", splunk(ns, 1), 200},
		{"/services/collector", "application/json", splunk(ns, 1, 2), 200},
		{"/services/collector/event", "application/json", flatWrite("metadata", ns, 1), 400},
		{"/services/collector/event", "application/x-ndjson", flatWrite("metadata", ns, 1) + "\n", 400},
		{"/ingest", "application/json", flatWrite("metadata", ns, 1), 200},
		{"/ingest", "application/x-ndjson", bulk, 200},
	}
	s := startSink(t, Config{})
	c := client(h1)
	for _, tc := range cases {
		r, err := post(t, c, s.URL()+tc.path, tc.ctype, []byte(tc.body))
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		if r.status != tc.status {
			t.Errorf("%s %s %.40q: status %d, want %d", tc.path, tc.ctype, tc.body, r.status, tc.status)
		}
	}
	if st := s.Stats(); st.ByStatus[http.StatusBadRequest] != 5 {
		t.Errorf("400s counted %d, want 5", st.ByStatus[http.StatusBadRequest])
	}
}
