package dataplane

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestWithClusterLabel(t *testing.T) {
	in := "# HELP a x\n# TYPE a counter\na 1\nb{x=\"1\"} 2\nc{} 3\nd_bucket{le=\"0.1\",vmrange=\"1\"} 4\n"
	var out bytes.Buffer
	withClusterLabel(&out, `east "1"`, func(w io.Writer) { io.WriteString(w, in) })
	want := "# HELP a x\n# TYPE a counter\n" +
		"a{cluster=\"east \\\"1\\\"\"} 1\n" +
		"b{cluster=\"east \\\"1\\\"\",x=\"1\"} 2\n" +
		"c{cluster=\"east \\\"1\\\"\"} 3\n" +
		"d_bucket{cluster=\"east \\\"1\\\"\",le=\"0.1\",vmrange=\"1\"} 4\n"
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
}

// service.cluster-name labels every series of /metrics, and the JSON of
// /manage/rest/v1/metrics carries the label on every entry.
func TestManageClusterLabel(t *testing.T) {
	c := newCapture(t)
	e := startEngine(t, Options{ClusterName: "east"}, c.srv.URL, true, DestinationOptions{})
	x := dialXDR(t, e.addr)
	x.c.Write(frames(2))
	x.replies(t, 2, 5*time.Second)
	srv := httptest.NewServer(e.ManageHandler())
	defer srv.Close()
	get := func(p string) string {
		r, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return string(b)
	}
	text := get("/metrics")
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		n++
		if !strings.Contains(line, `{cluster="east"`) {
			t.Fatalf("series without the cluster label: %s", line)
		}
	}
	if n < 20 || !strings.Contains(text, `xdrhook_records_settled_total{cluster="east",destination="test",outcome="delivered"} 2`) {
		t.Fatalf("%d series; delivered count missing:\n%s", n, text)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(get("/manage/rest/v1/metrics")), &m); err != nil {
		t.Fatal(err)
	}
	list, _ := m["xdrhook_records_in_flight"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["labels"].(map[string]any)["cluster"] != "east" {
		t.Fatalf("json xdrhook_records_in_flight: %v", m["xdrhook_records_in_flight"])
	}
}
