package encode

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// ResponseChecker is a Framer whose destination can refuse records inside
// a successful response. Elasticsearch and OpenSearch answer a _bulk
// request 200 even when some of its actions failed, saying so per item;
// counting such a body as delivered would lose those records.
//
// CheckResponse looks at the body of a 2xx response to a body this framer
// built. It returns status 0 when every record was taken; otherwise the
// HTTP status that stands for the whole body, and why. superseded counts
// the records taken because the destination already held them or a newer
// version (an Elasticsearch 409 on a create or a versioned action). It
// must not depend on the framer's state: the framer may be building
// another body meanwhile (its configuration does not change).
type ResponseChecker interface {
	CheckResponse(body []byte) (status, superseded int, reason string)
}

// CheckResponse reads an Elasticsearch/OpenSearch _bulk response. A body
// without "errors":true took every action (found by a scan, no parse: the
// common case costs nothing). Otherwise the items are parsed and the
// failed ones decide the status:
//   - a 404 of a delete (the document was gone already) is no failure;
//   - a 409 of a create (the _id exists) or, with VersionLUT, of an index
//     or a delete (version_conflict_engine_exception: the index holds this
//     version or a newer one) is no failure either: the record counts as
//     superseded. Any other 409 (an update's conflict, say) is a 4xx
//     like the others;
//   - any 429 or 5xx item makes the body 429 or that 5xx: retried whole
//     (re-sending the actions that did succeed is harmless, as every _id
//     is the record's digest);
//   - else the first 4xx item's status (a mapping error, say): the
//     destination's permanent-failure-status-codes decide, as for a 4xx
//     of the whole request.
//
// A body that says "errors":true but cannot be read is answered 502 (retry).
func (f *ESBulk) CheckResponse(body []byte) (status, superseded int, reason string) {
	if !esErrorsTrue(body) {
		return 0, 0, ""
	}
	var r struct {
		Items []map[string]struct {
			Status int             `json:"status"`
			Error  json.RawMessage `json:"error"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return 502, 0, "bulk response says errors:true and cannot be read: " + err.Error()
	}
	failed := 0
	var first json.RawMessage
	for _, it := range r.Items {
		for action, res := range it {
			s := res.Status
			if s < 300 || s == 404 && action == "delete" {
				continue
			}
			if s == 409 && (action == "create" || f.VersionLUT && (action == "index" || action == "delete")) {
				superseded++
				continue
			}
			failed++
			retry := s == 429 || s >= 500
			if status == 0 || retry && !(status == 429 || status >= 500) {
				status, first = s, res.Error
			}
		}
	}
	if failed == 0 {
		return 0, superseded, ""
	}
	reason = strconv.Itoa(failed) + " of " + strconv.Itoa(len(r.Items)) + " bulk actions failed; status " + strconv.Itoa(status)
	if len(first) > 0 {
		e := first
		if len(e) > 300 {
			e = e[:300]
		}
		reason += ": " + string(e)
	}
	return status, superseded, reason
}

// esErrorsTrue reports whether the top-level "errors" member of a bulk
// response is true. Inside an item's error reason a quote is escaped, so
// the first `"errors"` in the body is the member.
func esErrorsTrue(body []byte) bool {
	i := bytes.Index(body, []byte(`"errors"`))
	if i < 0 {
		return false
	}
	rest := bytes.TrimLeft(body[i+len(`"errors"`):], " \t\r\n")
	if len(rest) == 0 || rest[0] != ':' {
		return false
	}
	return bytes.HasPrefix(bytes.TrimLeft(rest[1:], " \t\r\n"), []byte("true"))
}
