package encode

import (
	"strings"
	"testing"
)

func TestESBulkCheckResponse(t *testing.T) {
	var f ESBulk
	cases := []struct {
		name   string
		body   string
		status int
		reason string // a part of the reason
	}{
		{"all taken", `{"took":3,"errors":false,"items":[{"index":{"_id":"a","status":201}}]}`, 0, ""},
		{"empty body", ``, 0, ""},
		{"not json, no errors member", `ok`, 0, ""},
		{"spaced false", `{"took":3, "errors" : false}`, 0, ""},
		{"mapping error", `{"took":3,"errors":true,"items":[{"index":{"_id":"a","status":201}},{"index":{"_id":"b","status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [age]"}}}]}`,
			400, `1 of 2 bulk actions failed; status 400: {"type":"mapper_parsing_exception"`},
		{"rejected wins over a mapping error", `{"errors": true,"items":[{"index":{"status":400,"error":{"type":"x"}}},{"index":{"status":429,"error":{"type":"es_rejected_execution_exception"}}},{"index":{"status":503}}]}`,
			429, `3 of 3 bulk actions failed; status 429: {"type":"es_rejected_execution_exception"}`},
		{"server error", `{"errors":true,"items":[{"create":{"status":500,"error":"boom"}}]}`, 500, `status 500: "boom"`},
		{"delete of a missing document and a version conflict are not failures", `{"errors":true,"items":[{"delete":{"status":404,"result":"not_found"}},{"index":{"status":409,"error":{"type":"version_conflict_engine_exception"}}}]}`, 0, ""},
		{"404 of an index action is", `{"errors":true,"items":[{"index":{"status":404,"error":{"type":"index_not_found_exception"}}}]}`, 404, "1 of 1"},
		{"escaped errors inside a reason", `{"took":1,"items":[{"index":{"status":201,"reason":"\"errors\":true"}}],"errors":false}`, 0, ""},
		{"unreadable", `{"errors":true,"items":[{"index":{"status":"x"}}]}`, 502, "cannot be read"},
	}
	for _, c := range cases {
		status, reason := f.CheckResponse([]byte(c.body))
		if status != c.status || !strings.Contains(reason, c.reason) || (c.reason == "") != (reason == "") {
			t.Errorf("%s: got %d %q, want %d and a reason holding %q", c.name, status, reason, c.status, c.reason)
		}
	}
}

func TestESBulkCheckResponseAllocsNothingOnSuccess(t *testing.T) {
	var f ESBulk
	body := []byte(`{"took":30,"errors":false,"items":[{"index":{"_index":"users","_id":"0f","_version":1,"result":"created","status":201}}]}`)
	if n := testing.AllocsPerRun(100, func() { f.CheckResponse(body) }); n != 0 {
		t.Fatalf("%v allocations per check of a successful response", n)
	}
}
