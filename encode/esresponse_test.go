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
		{"delete of a missing document is no failure", `{"errors":true,"items":[{"delete":{"status":404,"result":"not_found"}}]}`, 0, ""},
		{"create of an existing id is no failure", `{"errors":true,"items":[{"create":{"status":409,"error":{"type":"version_conflict_engine_exception"}}}]}`, 0, ""},
		{"unversioned 409 follows the codes", `{"errors":true,"items":[{"index":{"status":409,"error":{"type":"version_conflict_engine_exception"}}}]}`, 409, "1 of 1"},
		{"404 of an index action is", `{"errors":true,"items":[{"index":{"status":404,"error":{"type":"index_not_found_exception"}}}]}`, 404, "1 of 1"},
		{"escaped errors inside a reason", `{"took":1,"items":[{"index":{"status":201,"reason":"\"errors\":true"}}],"errors":false}`, 0, ""},
		{"unreadable", `{"errors":true,"items":[{"index":{"status":"x"}}]}`, 502, "cannot be read"},
	}
	for _, c := range cases {
		status, _, reason := f.CheckResponse([]byte(c.body))
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

// Item responses as the Elasticsearch documentation shows them (bulk API,
// "Bulk API response"; optimistic concurrency with external versions;
// indexing pressure rejections), per error type.
const (
	esDocVersionConflictCreate = `{"create":{"_index":"my-index-000001","_id":"5","status":409,"error":{"type":"version_conflict_engine_exception","reason":"[5]: version conflict, document already exists (current version [1])","index_uuid":"aAsFqTI0Tc2W0LCWgPNrOA","shard":"0","index":"my-index-000001"}}}`
	esDocVersionConflictIndex  = `{"index":{"_index":"my-index-000001","_id":"1","status":409,"error":{"type":"version_conflict_engine_exception","reason":"[1]: version conflict, current version [1734388731220] is higher than the one provided [1734388704784]","index_uuid":"aAsFqTI0Tc2W0LCWgPNrOA","shard":"0","index":"my-index-000001"}}}`
	esDocVersionConflictDelete = `{"delete":{"_index":"my-index-000001","_id":"1","_version":1734388731220,"status":409,"error":{"type":"version_conflict_engine_exception","reason":"[1]: version conflict, current version [1734388731220] is higher than the one provided [1734388704784]","index_uuid":"aAsFqTI0Tc2W0LCWgPNrOA","shard":"0","index":"my-index-000001"}}}`
	esDocUpdateConflict        = `{"update":{"_index":"my-index-000001","_id":"1","status":409,"error":{"type":"version_conflict_engine_exception","reason":"[1]: version conflict, required seqNo [5], primary term [1]. current document has seqNo [6] and primary term [1]","index_uuid":"aAsFqTI0Tc2W0LCWgPNrOA","shard":"0","index":"my-index-000001"}}}`
	esDocMapperParsing         = `{"index":{"_index":"my-index-000001","_id":"2","status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [age] of type [long] in document with id '2'. Preview of field's value: 'twenty'","caused_by":{"type":"illegal_argument_exception","reason":"For input string: \"twenty\""}}}}`
	esDocRejected              = `{"index":{"_index":"my-index-000001","_id":"3","status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=1048576, max_coordinating_and_primary_bytes=0]"}}}`
	esDocCreated               = `{"index":{"_index":"my-index-000001","_id":"4","_version":1,"result":"created","_shards":{"total":2,"successful":1,"failed":0},"_seq_no":0,"_primary_term":1,"status":201}}`
)

func esDocResponse(items ...string) []byte {
	return []byte(`{"took":486,"errors":true,"items":[` + strings.Join(items, ",") + `]}`)
}

func TestESBulkCheckResponseDocExamples(t *testing.T) {
	plain, versioned := &ESBulk{}, &ESBulk{VersionLUT: true}
	cases := []struct {
		name               string
		f                  *ESBulk
		items              []string
		status, superseded int
		reason             string
	}{
		{"create conflict: delivered, superseded", plain, []string{esDocCreated, esDocVersionConflictCreate}, 0, 1, ""},
		{"versioned index conflict: superseded", versioned, []string{esDocVersionConflictIndex, esDocCreated}, 0, 1, ""},
		{"versioned delete conflict: superseded", versioned, []string{esDocVersionConflictDelete}, 0, 1, ""},
		{"index conflict without versioning follows the codes", plain, []string{esDocVersionConflictIndex}, 409, 0, "version_conflict_engine_exception"},
		{"update conflict follows the codes even when versioned", versioned, []string{esDocUpdateConflict, esDocVersionConflictIndex}, 409, 1, "required seqNo"},
		{"mapping error", versioned, []string{esDocCreated, esDocMapperParsing}, 400, 0, "mapper_parsing_exception"},
		{"rejection is retried whole", versioned, []string{esDocMapperParsing, esDocRejected, esDocVersionConflictIndex}, 429, 1, "es_rejected_execution_exception"},
	}
	for _, c := range cases {
		status, sup, reason := c.f.CheckResponse(esDocResponse(c.items...))
		if status != c.status || sup != c.superseded || !strings.Contains(reason, c.reason) || (c.reason == "") != (reason == "") {
			t.Errorf("%s: got %d, %d superseded, %q; want %d, %d, a reason holding %q", c.name, status, sup, reason, c.status, c.superseded, c.reason)
		}
	}
}
