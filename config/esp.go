package config

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ESPStatus says what xdrhook does with a key of Aerospike Connect for
// ESP's aerospike-esp-outbound.yml.
type ESPStatus string

// ESP key statuses (docs/migrating-from-esp.md).
const (
	// ESPImplemented: the key works as in ESP.
	ESPImplemented ESPStatus = "implemented"
	// ESPMapped: accepted and turned into xdrhook's nearest setting (the
	// note says which).
	ESPMapped ESPStatus = "mapped"
	// ESPWarned: accepted with a warning; it has no effect in xdrhook.
	ESPWarned ESPStatus = "warned"
	// ESPRefused: a load error with the note as its message: xdrhook
	// cannot honour its meaning.
	ESPRefused ESPStatus = "refused"
)

// ESPKey is one row of the ESP key table. Path is generic: "*" stands for a
// destination, namespace or set name, and the keys of routing, format,
// batching and bin-transforms apply in namespaces and sets too.
type ESPKey struct {
	Path   string
	Status ESPStatus
	Note   string
	// Refuse, if set, refuses some values of an implemented or mapped key:
	// it returns the message for a refused value, "" for an accepted one.
	Refuse func(value string) string
}

const customCode = "custom code (a Java class) cannot run in xdrhook: express it with the expression sections, filter, transform and routing: {mode: expression} (docs/migrating-from-esp.md)"

// ESPKeys is every key of ESP's configuration and what xdrhook does with
// it: the source of docs/migrating-from-esp.md (TestMigratingDocTable),
// of unknown-key messages, and of `xdrhook check --explain`.
var ESPKeys = []ESPKey{
	{Path: "service.port", Status: ESPImplemented, Note: "an int or a list"},
	{Path: "service.address", Status: ESPImplemented, Note: "one address"},
	{Path: "service.protocol", Status: ESPMapped, Note: "TCP is what xdrhook speaks (XDR over TCP): accepted; HTTP (the XDR Proxy's HTTP input) is refused",
		Refuse: func(v string) string {
			if strings.EqualFold(v, "TCP") {
				return ""
			}
			return fmt.Sprintf("%q: xdrhook receives XDR over TCP only (protocol: TCP); the HTTP input of ESP is not served", v)
		}},
	{Path: "service.tls", Status: ESPImplemented, Note: "makes every XDR listener speak TLS"},
	{Path: "service.tls.port", Status: ESPMapped, Note: "taken as service.port when that is absent; both set is an error (one listener kind)"},
	{Path: "service.tls.key-store", Status: ESPImplemented, Note: "JKS or PKCS12; or cert-file and key-file (PEM)"},
	{Path: "service.tls.trust-store", Status: ESPImplemented, Note: "client certificates required and verified; or client-ca-file (PEM)"},
	{Path: "service.tls.allowed-peer-names", Status: ESPImplemented, Note: "the client certificate's CN, DNS or IP SAN must be one of them"},
	{Path: "service.tls.protocols", Status: ESPImplemented, Note: "TLSv1.2, TLSv1.3; older ones warned and not offered"},
	{Path: "service.tls.cipher-suites", Status: ESPImplemented, Note: "TLS 1.2 suites; TLS 1.3 suites warned (Go offers all three)"},
	{Path: "service.manage", Status: ESPImplemented, Note: "address and port; /manage/rest/v1/metrics and /manage/rest/v1/prometheus served"},
	{Path: "service.io-threads", Status: ESPImplemented, Note: "gnet event loops"},
	{Path: "service.worker-threads", Status: ESPWarned, Note: "no effect: encoding runs on the event loops (io-threads) and sending on goroutines"},
	{Path: "service.max-concurrent-records", Status: ESPImplemented},
	{Path: "service.cluster-name", Status: ESPImplemented, Note: "a constant label cluster on every metric"},
	{Path: "service.enable-tcp-xdr-ack-buffering", Status: ESPWarned, Note: "no effect: replies are always coalesced per flush"},
	{Path: "service.socket-receive-buffer-bytes", Status: ESPMapped, Note: "SO_RCVBUF of the XDR sockets (ESP reads that many bytes per attempt; xdrhook reads what the kernel holds, so the socket buffer is the knob); absent, the kernel sizes it"},

	{Path: "destinations.*.urls", Status: ESPImplemented},
	{Path: "destinations.*.protocol", Status: ESPImplemented, Note: "default HTTP_1_1, not ESP's HTTP_2: check notes a destination that omits it"},
	{Path: "destinations.*.compression", Status: ESPImplemented},
	{Path: "destinations.*.compression-threshold", Status: ESPImplemented, Note: "default 1024, not ESP's 0"},
	{Path: "destinations.*.max-connections-per-endpoint", Status: ESPImplemented, Note: "default 8, not ESP's 1"},
	{Path: "destinations.*.max-request-queued-per-endpoint", Status: ESPMapped, Note: "× the number of URLs: the bound on request bodies waiting for the destination (absent: service.max-concurrent-records, at least 1024; 64 MiB and half of reply-deadline of waiting in any case); past it new records are answered 11 at once"},
	{Path: "destinations.*.call-timeout", Status: ESPImplemented},
	{Path: "destinations.*.connect-timeout", Status: ESPImplemented},
	{Path: "destinations.*.connection-ttl", Status: ESPImplemented},
	{Path: "destinations.*.health-check", Status: ESPImplemented, Note: "call-timeout, interval-seconds, healthy-threshold (and xdrhook's unhealthy-threshold, path, method, expected-status)"},
	{Path: "destinations.*.http2-max-concurrent-streams", Status: ESPImplemented},
	{Path: "destinations.*.headers", Status: ESPImplemented, Note: "Name: value; ESP's static: {Name: value} is taken as the same; other mappings are errors (per-record headers are request.headers)"},
	{Path: "destinations.*.http-success-status-codes", Status: ESPImplemented, Note: "codes and ranges such as 200-299 (the default)"},
	{Path: "destinations.*.tls", Status: ESPImplemented},
	{Path: "destinations.*.tls.key-store", Status: ESPImplemented, Note: "JKS or PKCS12; or cert-file and key-file (PEM)"},
	{Path: "destinations.*.tls.trust-store", Status: ESPImplemented, Note: "JKS or PKCS12; or ca-file (PEM)"},
	{Path: "destinations.*.tls.protocols", Status: ESPImplemented, Note: "TLSv1.2, TLSv1.3; older ones warned and not offered"},
	{Path: "destinations.*.tls.cipher-suites", Status: ESPImplemented, Note: "TLS 1.2 suites; TLS 1.3 suites warned (Go offers all three)"},

	{Path: "routing.mode", Status: ESPImplemented, Note: "static, static-multi-destination, skip, namespace, set, bin; custom refused",
		Refuse: func(v string) string {
			if strings.EqualFold(v, "custom") {
				return "custom: " + customCode
			}
			return ""
		}},
	{Path: "routing.destination", Status: ESPImplemented},
	{Path: "routing.destinations", Status: ESPImplemented},
	{Path: "routing.bin", Status: ESPImplemented},
	{Path: "routing.class", Status: ESPRefused, Note: customCode},
	{Path: "routing.params", Status: ESPRefused, Note: customCode},
	{Path: "format.mode", Status: ESPImplemented, Note: "json, flat-json, message-pack, avro; xdr and custom refused",
		Refuse: func(v string) string {
			switch strings.ToLower(v) {
			case "xdr":
				return "xdr: the XDR Proxy's wire format is not public, so xdrhook cannot write it; use json, flat-json, message-pack or avro"
			case "custom":
				return "custom: " + customCode
			}
			return ""
		}},
	{Path: "format.metadata-key", Status: ESPImplemented},
	{Path: "format.schema", Status: ESPImplemented},
	{Path: "format.schema-file", Status: ESPImplemented},
	{Path: "format.stringify-map-keys", Status: ESPMapped, Note: "true (ESP's default) is what xdrhook always does: integer map keys become strings; false refused",
		Refuse: func(v string) string {
			if strings.EqualFold(v, "false") {
				return stringifyFalse
			}
			return ""
		}},
	{Path: "format.class", Status: ESPRefused, Note: customCode},
	{Path: "format.params", Status: ESPRefused, Note: customCode},
	{Path: "batching.enabled", Status: ESPImplemented},
	{Path: "batching.max-records", Status: ESPImplemented, Note: "default 500, not unbounded"},
	{Path: "batching.max-bytes", Status: ESPImplemented, Note: "default 1 MiB, not unbounded"},
	{Path: "batching.batch-interval", Status: ESPImplemented, Note: "default 50 ms, not 8 s"},
	{Path: "bin-transforms.include", Status: ESPImplemented, Note: "type: all, none or specified with bins"},
	{Path: "bin-transforms.exclude", Status: ESPImplemented, Note: "type: all, none or specified with bins; exclude wins over include"},
	{Path: "bin-transforms.map", Status: ESPImplemented},
	{Path: "bin-transforms.transforms", Status: ESPImplemented, Note: "uppercase and lowercase, in order, on bins map does not rename; other transforms refused"},
	{Path: "custom-transformer", Status: ESPRefused, Note: customCode},
	{Path: "message-transformer", Status: ESPRefused, Note: customCode},
	{Path: "namespaces.*.routing", Status: ESPImplemented},
	{Path: "namespaces.*.format", Status: ESPImplemented},
	{Path: "namespaces.*.bin-transforms", Status: ESPImplemented},
	{Path: "namespaces.*.record-ordering", Status: ESPImplemented},
	{Path: "namespaces.*.custom-transformer", Status: ESPRefused, Note: customCode},
	{Path: "namespaces.*.sets", Status: ESPImplemented, Note: "per set: routing, format, batching, bin-transforms"},
	{Path: "namespaces.*.sets.*.routing", Status: ESPImplemented},
	{Path: "namespaces.*.sets.*.format", Status: ESPImplemented},
	{Path: "namespaces.*.sets.*.bin-transforms", Status: ESPImplemented},
	{Path: "namespaces.*.sets.*.custom-transformer", Status: ESPRefused, Note: customCode},
	{Path: "record-ordering.enable", Status: ESPImplemented},
	{Path: "record-ordering.lut-cache-ttl-seconds", Status: ESPImplemented},
	{Path: "port-based-config", Status: ESPImplemented, Note: "per listener port: routing, format, batching, bin-transforms, record-ordering, namespaces"},
	{Path: "logging.file", Status: ESPWarned, Note: "no effect: xdrhook logs to stderr; redirect it (xdrhook run ... 2>>/var/log/xdrhook.log) or let systemd/journald or the container runtime collect it"},
	{Path: "logging.enable-console-logging", Status: ESPWarned, Note: "no effect: xdrhook logs to stderr, always"},
	{Path: "logging.max-history", Status: ESPWarned, Note: "no effect: xdrhook writes no log files to rotate (logrotate or journald keep history)"},
	{Path: "logging.levels", Status: ESPWarned, Note: "no effect: per-logger levels are Java's; logging.level sets xdrhook's one level"},
	{Path: "logging.ticker-interval", Status: ESPWarned, Note: "no effect: xdrhook logs no periodic ticker; /metrics has the figures"},
	{Path: "logging.format", Status: ESPMapped, Note: "simple is taken as text; json as json"},
}

// espTable indexes ESPKeys by generic path.
var espTable = func() map[string]*ESPKey {
	m := map[string]*ESPKey{}
	for i := range ESPKeys {
		m[ESPKeys[i].Path] = &ESPKeys[i]
	}
	return m
}()

// espGeneric turns a key path into the table's form: names of
// destinations, namespaces, sets and port-based-config ports become "*".
func espGeneric(path string) string {
	seg := strings.Split(path, ".")
	if len(seg) > 1 && seg[0] == "port-based-config" {
		if len(seg) == 2 {
			return "port-based-config.*"
		}
		return "port-based-config.*." + espGeneric(strings.Join(seg[2:], "."))
	}
	if len(seg) > 1 && (seg[0] == "destinations" || seg[0] == "namespaces") {
		seg[1] = "*"
	}
	if len(seg) > 3 && seg[0] == "namespaces" && seg[2] == "sets" {
		seg[3] = "*"
	}
	return strings.Join(seg, ".")
}

// espLookup finds the row of a key path; the keys of an overridable
// section are found under their top-level path.
func espLookup(path string) *ESPKey {
	g := espGeneric(path)
	if e := espTable[g]; e != nil {
		return e
	}
	// A port's block holds the top-level sections and namespaces.
	if rest, ok := strings.CutPrefix(g, "port-based-config.*."); ok {
		return espLookup(rest)
	}
	for _, prefix := range []string{"namespaces.*.sets.*.", "namespaces.*."} {
		if rest, ok := strings.CutPrefix(g, prefix); ok {
			for _, s := range []string{"routing.", "format.", "batching.", "bin-transforms."} {
				if strings.HasPrefix(rest, s) {
					return espTable[rest]
				}
			}
		}
	}
	return nil
}

// espUnknown handles a key that is not a field: an ESP key warned or
// refused by the table. It reports whether the table knew the key.
func (l *loader) espUnknown(k *yaml.Node, path string) bool {
	p := join(path, k.Value)
	e := espLookup(p)
	if e == nil {
		return false
	}
	switch e.Status {
	case ESPWarned:
		l.warns = append(l.warns, &Problem{File: l.file, Line: k.Line, Path: p, Msg: "an ESP key with " + e.Note})
	default:
		l.problem(k.Line, p, "an ESP key xdrhook does not honour: "+e.Note)
	}
	return true
}

// espValue refuses the values the table refuses (routing.mode: custom,
// format.mode: xdr, service.protocol: HTTP). It reports whether v passed.
func (l *loader) espValue(path string, v *string) bool {
	if v == nil {
		return true
	}
	if e := espLookup(path); e != nil && e.Refuse != nil {
		if msg := e.Refuse(*v); msg != "" {
			l.errorf(path, "%s", msg)
			return false
		}
	}
	return true
}

// ESPUse is one key of a config file as ESP's table sees it.
type ESPUse struct {
	Line   int
	Path   string
	Status ESPStatus
	Note   string
}

// ExplainESP lists the ESP keys of a config file, and the keys neither ESP
// nor xdrhook knows, in file order, with what xdrhook does with each,
// whether or not the config loads: `xdrhook check --explain`.
func ExplainESP(data []byte) ([]ESPUse, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	var out []ESPUse
	var visit func(n *yaml.Node, path string, t reflect.Type)
	visit = func(n *yaml.Node, path string, t reflect.Type) {
		n = deref(n)
		if n == nil || n.Kind != yaml.MappingNode {
			return
		}
		for t != nil && t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if isMerge(k) {
				continue
			}
			p := join(path, k.Value)
			var ft reflect.Type
			isMap := t != nil && t.Kind() == reflect.Map
			if t != nil && t.Kind() == reflect.Struct {
				ft = structFields(t)[k.Value]
			} else if isMap {
				ft = t.Elem()
			}
			if e := espLookup(p); e != nil && !isMap {
				u := ESPUse{Line: k.Line, Path: p, Status: e.Status, Note: e.Note}
				if e.Refuse != nil && v.Kind == yaml.ScalarNode {
					if msg := e.Refuse(v.Value); msg != "" {
						u.Status, u.Note = ESPRefused, msg
					}
				}
				out = append(out, u)
			} else if ft == nil && !isMap && t != orderedMapType {
				out = append(out, ESPUse{Line: k.Line, Path: p, Status: ESPRefused, Note: "unknown key"})
			}
			if ft != nil {
				visit(v, p, ft)
			}
		}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	visit(root, "", rawType)
	return out, nil
}

// ESPKeysMarkdown is the table of docs/migrating-from-esp.md.
func ESPKeysMarkdown() string {
	var b bytes.Buffer
	b.WriteString("| ESP key | xdrhook | note |\n| --- | --- | --- |\n")
	for _, e := range ESPKeys {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", e.Path, e.Status, strings.ReplaceAll(e.Note, "|", `\|`))
	}
	return b.String()
}

// espNotes says where an ESP config behaves differently without being
// wrong: a destination that omits protocol gets HTTP_1_1, where ESP's gets
// HTTP_2, and a config without format gets json, where ESP's gets its XDR
// Proxy format (DESIGN.md, "Default protocol"). The note is for every config ESP
// could have read, that is one with no key but ESP's: a plain ESP config
// (urls, routing, format) has nothing else to tell it by. A key only
// xdrhook has (framing, auth, request, tls.ca-file, ...) shows the config
// was written for xdrhook, whose default it then is.
func (l *loader) espNotes(c *Config) {
	for p := range l.lines {
		if !espCompatible(p) {
			return
		}
	}
	for _, name := range c.DestinationNames {
		p := join("destinations", name)
		if _, set := l.lines[p+".protocol"]; set {
			continue
		}
		c.Notes = append(c.Notes, &Problem{File: l.file, Line: l.line(p), Path: p + ".protocol",
			Msg: "not set: xdrhook sends HTTP/1.1 (HTTP_1_1), where ESP defaults to HTTP/2; write protocol: HTTP_2 to keep ESP's behaviour (DESIGN.md: Default protocol)"})
	}
	if _, set := l.lines["format"]; !set {
		c.Notes = append(c.Notes, &Problem{File: l.file, Path: "format",
			Msg: espFormatNote})
	}
}

// espFormatNote: ESP's default format is its XDR Proxy wire format, which
// xdrhook does not speak (format.mode: xdr is refused); a config without a
// top-level format gets json where no namespace or set names one.
const espFormatNote = "not set: xdrhook writes json where no namespace or set names a format, where ESP writes its XDR Proxy wire format (not public, not spoken here); write the format the destination expects, e.g. format: {mode: json} (DESIGN.md: Default protocol)"

// espCompatible reports whether a key path of a config file could be in an
// ESP config: it is a key of ESP's table, inside one (health-check's keys,
// a store's; not tls.ca-file: tls has rows for ESP's keys), or a section
// holding some (destinations.NAME, namespaces).
func espCompatible(path string) bool {
	for strings.HasSuffix(path, "]") {
		path = parent(path)
	}
	for q := path; q != ""; q = parent(q) {
		// Inside a row with rows of its own (tls), only those count.
		if e := espLookup(q); e != nil && (q == path || !espHasSubrows(e.Path)) {
			return true
		}
	}
	g := espGeneric(path)
	within := []string{g}
	for _, prefix := range []string{"namespaces.*.sets.*.", "namespaces.*."} {
		if rest, ok := strings.CutPrefix(g, prefix); ok {
			within = append(within, rest)
			break
		}
	}
	for _, e := range ESPKeys {
		for _, w := range within {
			if strings.HasPrefix(e.Path, w+".") {
				return true
			}
		}
	}
	return false
}

// espHasSubrows reports whether the table has rows under path.
func espHasSubrows(path string) bool {
	for _, e := range ESPKeys {
		if strings.HasPrefix(e.Path, path+".") {
			return true
		}
	}
	return false
}

// espTransformsHint completes the error for an entry of
// bin-transforms.transforms that is not a name (ESP's regex transform).
func espTransformsHint(path string) string {
	if strings.HasSuffix(path, "bin-transforms.transforms") {
		return ": " + noNameTransform
	}
	return ""
}

// espStaticHeaders reports whether p is destinations.NAME.headers.static:
// ESP nests a destination's fixed headers there; xdrhook takes them as if
// written under headers.
func espStaticHeaders(p string) bool {
	return espGeneric(p) == "destinations.*.headers.static"
}

// espHeadersHint completes the error for a mapping among a destination's
// headers: what ESP's shape and xdrhook's are.
func espHeadersHint(p string) string {
	if g := espGeneric(parent(p)); g != "destinations.*.headers" {
		return ""
	}
	return ": headers are Name: value (ESP's static: {Name: value} is taken too); headers computed per record are request.headers"
}

// espStringifyMapKeys accepts ESP's format.stringify-map-keys: true (its
// default) is what every xdrhook encoder does with an integer map key (an
// Avro map key, a JSON object name: its decimal text); false asks for
// something else, which xdrhook does not write.
func (l *loader) espStringifyMapKeys(r *rawFormat, p string) {
	if r.StringifyMapKeys != nil && !*r.StringifyMapKeys {
		l.errorf(p+".stringify-map-keys", "%s", stringifyFalse)
	}
}

const stringifyFalse = "false: xdrhook always writes integer map keys as strings (Avro map keys and JSON object names are strings); remove the key or set it to true"

// espNameTransforms checks ESP's bin-transforms.transforms: the case
// changes are implemented (encode/nametransform.go); anything else is
// refused pointing to what renames bins in xdrhook.
func (l *loader) espNameTransforms(r *rawBinTransforms, p string) []string {
	var out []string
	for i, v := range r.Transforms.items {
		switch n := strings.ToLower(v); n {
		case "uppercase", "lowercase":
			out = append(out, n)
		default:
			l.errorf(index(p+".transforms", i), "%s: %s", l.show(index(p+".transforms", i), v), noNameTransform)
		}
	}
	return out
}

const noNameTransform = "xdrhook implements the name transforms uppercase and lowercase; rename bins otherwise with bin-transforms.map (old: new), or with transform.set and transform.remove expressions"

// espMaxQueued maps max-request-queued-per-endpoint onto the destination's
// queue bound: xdrhook queues per destination, so per endpoint × URLs.
func (l *loader) espMaxQueued(r *rawDestination, p string, urls int) int {
	if r.MaxRequestQueuedPerEndpoint == nil {
		return 0
	}
	n := l.intIn(&r.MaxRequestQueuedPerEndpoint, p+".max-request-queued-per-endpoint", 0, 1, 1<<20)
	return min(n*max(urls, 1), 1<<20)
}
