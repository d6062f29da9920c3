package sink

import (
	"bytes"
	"strings"
)

// The endpoint's protocol. Elasticsearch's _bulk API and Splunk's HTTP
// Event Collector take only their own framing, whatever the content type:
// a bare document is refused with 400, as those servers do. The sink
// enforces that by path, so a test that sends to /_bulk or
// /services/collector/event fails where the real server would.

// protocolOf returns the framing an endpoint path requires, or "" for a
// path that takes any body.
func protocolOf(path string) string {
	switch {
	case strings.HasSuffix(path, "/_bulk"):
		return FormatESBulk
	case path == "/services/collector" || strings.HasPrefix(path, "/services/collector/event"):
		return FormatSplunkHEC
	}
	return ""
}

// checkProtocol returns why body (detected as format) is refused by the
// endpoint at path, in the words of the server it stands for, or "".
func checkProtocol(path, format string, body []byte) string {
	switch protocolOf(path) {
	case FormatESBulk:
		if format != FormatESBulk {
			return "Malformed action/metadata line [1]: not an es-bulk body (" + format + ")"
		}
		if !bytes.HasSuffix(body, []byte("\n")) {
			return "The bulk request must be terminated by a newline [\\n]"
		}
	case FormatSplunkHEC:
		if format != FormatSplunkHEC {
			return "Event field is required: not a splunk-hec body (" + format + ")"
		}
	}
	return ""
}
