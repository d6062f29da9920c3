package config

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/wire"
)

func loadExample(t *testing.T) *Config {
	t.Helper()
	c, err := Load("testdata/example.yml", Options{
		LookupEnv: mapEnv(map[string]string{"SEARCH_TOKEN": "tok-3f9a"}),
		ReadFile:  exampleFiles().read,
	})
	if err != nil {
		t.Fatalf("example.yml: %v", err)
	}
	return c
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func statusSet(ranges ...[2]int) StatusSet {
	var s StatusSet
	for _, r := range ranges {
		s.Add(r[0], r[1])
	}
	return s
}

// TestExample: the example of config.md loads and resolves to exactly
// these values.
func TestExample(t *testing.T) {
	c := loadExample(t)
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %v", Errors(c.Warnings))
	}
	wantService := Service{
		Ports:   []int{8901},
		Address: "0.0.0.0",
		TLS: &ServerTLS{
			CertFile:     "/etc/xdrhook/server.pem",
			KeyFile:      "/etc/xdrhook/server.key",
			ClientCAFile: "/etc/xdrhook/xdr-ca.pem",
		},
		Manage:               Manage{Address: "127.0.0.1", Port: 8902},
		MaxConcurrentRecords: 32768,
		MaxFrameBytes:        16777216,
		ReplyDeadline:        8 * time.Second,
		ReplyHold:            0,
		MaxConnections:       1024,
		IOThreads:            0,
	}
	if !reflect.DeepEqual(c.Service, wantService) {
		t.Errorf("service:\n got %+v\nwant %+v", c.Service, wantService)
	}
	if got := c.Service.ListenAddrs(); !reflect.DeepEqual(got, []string{"0.0.0.0:8901"}) {
		t.Errorf("ListenAddrs %v", got)
	}
	if got := c.Service.Manage.Addr(); got != "127.0.0.1:8902" {
		t.Errorf("manage addr %v", got)
	}

	if !reflect.DeepEqual(c.DestinationNames, []string{"search"}) || len(c.Destinations) != 1 {
		t.Fatalf("destinations %v", c.DestinationNames)
	}
	d := c.Destinations["search"]
	want := &Destination{
		ID:                        0,
		Name:                      "search",
		URLs:                      []*url.URL{mustURL("http://127.0.0.1:9200/_bulk")},
		Protocol:                  HTTP11,
		MaxConnectionsPerEndpoint: 8,
		MaxInFlight:               64,
		HTTP2MaxConcurrentStreams: 100,
		ConnectTimeout:            time.Second,
		CallTimeout:               5 * time.Second,
		IdleConnectionTimeout:     10 * time.Second,
		HTTP2ReadIdleTimeout:      10 * time.Second,
		HTTP2PingTimeout:          5 * time.Second,
		Method:                    "POST",
		Path:                      &PathTemplate{},
		Headers:                   []Header{{Name: "Authorization", Value: "Bearer tok-3f9a", FromEnv: true}},
		Success:                   statusSet([2]int{200, 299}),
		Compression:               CompressionNone,
		CompressionThreshold:      1024,
		Retry:                     Retry{MaxAttempts: 3, InitialBackoff: 50 * time.Millisecond, MaxBackoff: time.Second},
		TLS:                       ClientTLS{},
		URLLabels:                 []string{"http://127.0.0.1:9200/_bulk"},
		rawURLs:                   []string{"http://127.0.0.1:9200/_bulk"},
	}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("destination:\n got %+v\nwant %+v", d, want)
	}
	if !d.PermanentFailure.Empty() || d.Success.String() != "200-299" {
		t.Errorf("status sets %v / %v", d.Success, d.PermanentFailure)
	}

	r := c.Routing
	if r.Mode != RouteStaticMulti || len(r.Destinations) != 1 || r.Destinations[0] != d || r.Bin != "" || r.Default != nil {
		t.Errorf("routing %+v", r)
	}
	wantFormat := Format{Mode: FormatJSON, Framing: FramingNDJSON, MetadataKey: "metadata", IndexTemplate: "{set}"}
	if f := *c.Format; f.Mode != wantFormat.Mode || f.Framing != wantFormat.Framing || f.MetadataKey != wantFormat.MetadataKey ||
		f.IndexTemplate != wantFormat.IndexTemplate || f.Schema != "" || f.SchemaFile != "" || f.OmitDeletes ||
		f.SplunkSource != "" || f.SplunkSourceType != "" || f.SplunkIndex != "" {
		t.Errorf("format %+v", f)
	}
	if b := *c.Batching; !b.Enabled || b.MaxRecords != 500 || b.MaxBytes != 1<<20 || b.Interval != 50*time.Millisecond {
		t.Errorf("batching %+v", b)
	}
	if bt := c.BinTransforms; bt.Include != nil || bt.Exclude != nil || !reflect.DeepEqual(bt.Map, map[string]string{"old-name": "new-name"}) || bt.Identity() {
		t.Errorf("bin-transforms %+v", bt)
	}
	if ro := *c.RecordOrdering; ro.Enable || ro.LUTCacheTTL != 30*time.Second {
		t.Errorf("record-ordering %+v", ro)
	}
	if c.Logging != (Logging{Level: "info", Format: "text"}) {
		t.Errorf("logging %+v", c.Logging)
	}

	ns := c.Namespaces["test"]
	if len(c.Namespaces) != 1 || ns == nil || ns.Routing != nil || ns.Format != nil || ns.RecordOrdering != nil || len(ns.Sets) != 1 {
		t.Fatalf("namespaces %+v", c.Namespaces)
	}
	orders := ns.Sets["orders"]
	if orders.Routing == nil || orders.Routing.Mode != RouteStatic || orders.Routing.Destinations[0] != d ||
		orders.Format != nil || orders.Batching != nil || orders.BinTransforms != nil {
		t.Errorf("namespaces.test.sets.orders %+v", orders)
	}

	ps := c.Profiles()
	if len(ps) != 2 {
		t.Fatalf("%d profiles", len(ps))
	}
	top, po := ps[0], ps[1]
	if top.ID != 0 || top.Namespace != "" || top.Routing != c.Routing || top.Format != c.Format || top.Batching != c.Batching ||
		top.BinTransforms != c.BinTransforms || top.RecordOrdering != c.RecordOrdering {
		t.Errorf("profile 0 %+v", top)
	}
	if po.ID != 1 || po.Namespace != "test" || po.Set != "orders" || po.Routing != orders.Routing ||
		po.Format != c.Format || po.Batching != c.Batching || po.BinTransforms != c.BinTransforms {
		t.Errorf("profile 1 %+v", po)
	}
	for _, tc := range []struct {
		ns, set string
		want    *Profile
	}{
		{"test", "orders", po},
		{"test", "other", top},
		{"test", "", top},
		{"bar", "orders", top},
		{"", "", top},
	} {
		if got := c.Profile([]byte(tc.ns), []byte(tc.set)); got != tc.want {
			t.Errorf("Profile(%q, %q) = %d, want %d", tc.ns, tc.set, got.ID, tc.want.ID)
		}
	}
	if got := c.Redact("Bearer tok-3f9a"); got != "<redacted: from Bearer ${SEARCH_TOKEN}>" {
		t.Errorf("Redact: %q", got)
	}
	if got := c.Redact("search"); got != "search" {
		t.Errorf("Redact: %q", got)
	}
	if list := c.DestinationList(); len(list) != 1 || list[0] != d {
		t.Errorf("DestinationList %v", list)
	}
	cfg, err := c.Service.TLS.build(exampleFiles().read)
	if err != nil || cfg.ClientCAs == nil || len(cfg.Certificates) != 1 {
		t.Errorf("server TLS: %v", err)
	}
}

// TestDefaults: every default, on the smallest config.
func TestDefaults(t *testing.T) {
	c := mustParse(t, minimal, nil)
	s := c.Service
	if !reflect.DeepEqual(s.Ports, []int{DefaultPort}) || s.Address != DefaultAddress || s.TLS != nil ||
		s.Manage != (Manage{DefaultManageAddress, DefaultManagePort}) ||
		s.MaxConcurrentRecords != DefaultMaxConcurrentRecords || s.MaxFrameBytes != DefaultMaxFrameBytes ||
		s.ReplyDeadline != DefaultReplyDeadline || s.MaxConnections != DefaultMaxConnections || s.IOThreads != 0 {
		t.Errorf("service defaults %+v", s)
	}
	if DefaultPort != 8901 || DefaultManagePort != 8902 || DefaultMaxConcurrentRecords != 32768 || DefaultMaxFrameBytes != 16777216 ||
		DefaultReplyDeadline != 8000*time.Millisecond || DefaultBatchMaxRecords != 500 || DefaultBatchMaxBytes != 1048576 ||
		DefaultBatchInterval != 50*time.Millisecond || DefaultManageAddress != "127.0.0.1" || DefaultLUTCacheTTL != 30*time.Second {
		t.Error("a default constant differs from config.md")
	}
	d := c.Destinations["d"]
	if d.Protocol != HTTP11 || d.MaxConnectionsPerEndpoint != DefaultMaxConnectionsPerEndpoint || d.MaxInFlight != DefaultMaxInFlight ||
		d.HTTP2MaxConcurrentStreams != DefaultHTTP2MaxConcurrentStreams || d.ConnectTimeout != DefaultConnectTimeout ||
		d.CallTimeout != DefaultCallTimeout || d.IdleConnectionTimeout != DefaultIdleConnectionTimeout ||
		d.HTTP2ReadIdleTimeout != DefaultHTTP2ReadIdleTimeout || d.HTTP2PingTimeout != DefaultHTTP2PingTimeout ||
		d.HTTP1Pipelining || d.Method != "POST" || d.Path.String() != "" || !d.Path.IsStatic() || len(d.Headers) != 0 ||
		d.Success.String() != "200-299" || !d.PermanentFailure.Empty() || d.Compression != CompressionNone ||
		d.CompressionThreshold != 1024 || d.Retry != (Retry{3, 50 * time.Millisecond, time.Second}) ||
		!d.TLS.IsZero() || d.AllowInsecure {
		t.Errorf("destination defaults %+v", d)
	}
	f := c.Format
	if f.Mode != FormatJSON || f.Framing != FramingNDJSON || f.MetadataKey != "metadata" || f.IndexTemplate != "{set}" ||
		f.Schema != "" || f.OmitDeletes {
		t.Errorf("format defaults %+v", f)
	}
	if b := c.Batching; b.Enabled || b.MaxRecords != 500 || b.MaxBytes != 1<<20 || b.Interval != 50*time.Millisecond {
		t.Errorf("batching defaults %+v", b)
	}
	if !c.BinTransforms.Identity() {
		t.Errorf("bin-transforms defaults %+v", c.BinTransforms)
	}
	if ro := c.RecordOrdering; ro.Enable || ro.LUTCacheTTL != 30*time.Second {
		t.Errorf("record-ordering defaults %+v", ro)
	}
	if c.Logging != (Logging{"info", "text"}) || c.Logging.SlogLevel().String() != "INFO" {
		t.Errorf("logging defaults %+v", c.Logging)
	}
	if len(c.Profiles()) != 1 || len(c.Namespaces) != 0 || len(c.Warnings) != 0 {
		t.Errorf("profiles %d, namespaces %d, warnings %v", len(c.Profiles()), len(c.Namespaces), c.Warnings)
	}

	// A key with no value takes its default.
	c = mustParse(t, minimal+"batching:\n  max-records:\nservice:\n  port:\n", nil)
	if c.Batching.MaxRecords != 500 || !c.Batching.Enabled || c.Service.Ports[0] != 8901 {
		t.Errorf("null keys: %+v %v", c.Batching, c.Service.Ports)
	}
}

func TestFramingDefaults(t *testing.T) {
	for mode, framing := range map[string]Framing{
		"json": FramingNDJSON, "flat-json": FramingNDJSON, "message-pack": FramingMsgPackArray, "avro": FramingAvroOCF,
		"JSON": FramingNDJSON, "Message-Pack": FramingMsgPackArray,
	} {
		c := mustParse(t, minimal+"format: {mode: "+mode+"}\n", nil)
		if c.Format.Framing != framing || !strings.EqualFold(string(c.Format.Mode), mode) {
			t.Errorf("mode %s: %s / %s", mode, c.Format.Mode, c.Format.Framing)
		}
	}
}

func TestPort(t *testing.T) {
	c := mustParse(t, minimal+"service: {port: 3000}\n", nil)
	if !reflect.DeepEqual(c.Service.Ports, []int{3000}) {
		t.Errorf("int: %v", c.Service.Ports)
	}
	c = mustParse(t, minimal+"service: {port: [3000, 3001]}\n", nil)
	if !reflect.DeepEqual(c.Service.Ports, []int{3000, 3001}) {
		t.Errorf("list: %v", c.Service.Ports)
	}
	c = mustParse(t, minimal+"service: {port: 0, manage: {port: 0}}\n", nil)
	if !reflect.DeepEqual(c.Service.Ports, []int{0}) || c.Service.Manage.Port != 0 {
		t.Errorf("0: %v", c.Service.Ports)
	}
	wantErrs(t, minimal+"service: {port: [3000, 3000]}\n", nil,
		`config.yml:5: service.port[1]: port 3000 is listed twice`)
	wantErrs(t, minimal+"service: {port: 70000}\n", nil,
		`config.yml:5: service.port: 70000 is not a port (0 to 65535)`)
	wantErrs(t, minimal+"service: {port: []}\n", nil,
		`config.yml:5: service.port: at least one port is needed`)
	wantErrs(t, minimal+"service:\n  port: [3000, x]\n", nil,
		`config.yml:6: service.port[1]: want an integer, got "x"`)
	wantErrs(t, minimal+"service:\n  port: {a: 1}\n", nil,
		`config.yml:6: service.port: want a port number or a list of them, got a mapping`)
	wantErrs(t, minimal+"service: {port: 8902}\n", nil,
		`config.yml:5: service.manage.port: 8902 is also an XDR port (service.port)`)
	mustParse(t, minimal+"service: {port: 8902, address: 10.0.0.1}\n", nil) // manage on 127.0.0.1
}

func TestStatusCodes(t *testing.T) {
	c := mustParse(t, `
destinations:
  d:
    urls: ["http://127.0.0.1/"]
    http-success-status-codes: [200-204, 206, "207 - 208", 304]
    permanent-failure-status-codes: ["400", 404-405, 413]
routing: {mode: static, destination: d}
`, nil)
	d := c.Destinations["d"]
	for code, want := range map[int]bool{199: false, 200: true, 204: true, 205: false, 206: true, 207: true, 208: true, 209: false, 304: true, 0: false, -1: false, 1000: false, 639: false} {
		if d.Success.Contains(code) != want {
			t.Errorf("success %d: %v", code, !want)
		}
	}
	if got := d.Success.String(); got != "200-204,206-208,304" {
		t.Errorf("success %s", got)
	}
	if got := d.PermanentFailure.String(); got != "400,404-405,413" {
		t.Errorf("permanent %s", got)
	}
	if n := testing.AllocsPerRun(100, func() { _ = d.Success.Contains(204) }); n != 0 {
		t.Errorf("Contains allocates %v", n)
	}
	c = mustParse(t, `
destinations:
  d: {urls: ["http://127.0.0.1/"], http-success-status-codes: 200-299}
routing: {mode: static, destination: d}
`, nil)
	if c.Destinations["d"].Success.String() != "200-299" {
		t.Errorf("single range: %v", c.Destinations["d"].Success)
	}
	base := "destinations:\n  d:\n    urls: [\"http://127.0.0.1/\"]\n"
	tail := "routing: {mode: static, destination: d}\n"
	wantErrs(t, base+"    http-success-status-codes: [299-200, 99, 600, x, 2x0-300]\n"+tail, nil,
		`config.yml:4: destinations.d.http-success-status-codes[0]: "299-200": a range goes from low to high`,
		`config.yml:4: destinations.d.http-success-status-codes[1]: "99": status codes are 100 to 599`,
		`config.yml:4: destinations.d.http-success-status-codes[2]: "600": status codes are 100 to 599`,
		`config.yml:4: destinations.d.http-success-status-codes[3]: "x": want a status code (404) or a range (200-299)`,
		`config.yml:4: destinations.d.http-success-status-codes[4]: "2x0-300": want a status code (404) or a range (200-299)`)
	wantErrs(t, base+"    http-success-status-codes: []\n"+tail, nil,
		`config.yml:4: destinations.d.http-success-status-codes: at least one status code must mean success`)
	wantErrs(t, base+"    permanent-failure-status-codes: [400-499, 201]\n"+tail, nil,
		`config.yml:4: destinations.d.permanent-failure-status-codes: 201 is also a success status`)
	wantErrs(t, base+"    http-success-status-codes: [[200]]\n"+tail, nil,
		`config.yml:4: destinations.d.http-success-status-codes[0]: want a status code or a range such as 200-299, got a list`)
}

func TestEnv(t *testing.T) {
	env := map[string]string{"TOKEN": "s3cr3t", "PORT": "7000", "HOST": "127.0.0.1", "ON": "true"}
	t.Run("values", func(t *testing.T) {
		c := mustParse(t, `
service:
  port: ${PORT}
  manage: {port: "1${PORT}"}
destinations:
  d:
    urls: ["http://${HOST}:9200/x"]
    headers:
      Authorization: Bearer ${TOKEN}
      X-Literal: "cost: $$5 and $${NOT_A_VAR} and $HOME"
    allow-insecure: ${ON}
routing: {mode: static, destination: d}
`, env)
		d := c.Destinations["d"]
		if c.Service.Ports[0] != 7000 || c.Service.Manage.Port != 17000 {
			t.Errorf("ports %v %d", c.Service.Ports, c.Service.Manage.Port)
		}
		if d.URLs[0].String() != "http://127.0.0.1:9200/x" || !d.AllowInsecure {
			t.Errorf("url %v, allow-insecure %v", d.URLs[0], d.AllowInsecure)
		}
		want := []Header{{"Authorization", "Bearer s3cr3t", true}, {"X-Literal", "cost: $$5 and ${NOT_A_VAR} and $HOME", false}}
		if !reflect.DeepEqual(d.Headers, want) {
			t.Errorf("headers %+v", d.Headers)
		}
	})
}

func TestEnvErrors(t *testing.T) {
	env := map[string]string{"EMPTY": "", "X": "x"}
	wantErrs(t, `
destinations:
  d:
    urls: ["http://127.0.0.1/"]
    headers: {Authorization: "Bearer ${SEARCH_TOKEN}"}
routing: {mode: static, destination: d}
`, env, `config.yml:5: destinations.d.headers.Authorization: environment variable SEARCH_TOKEN is not set`)
	wantErrs(t, minimal+"logging: {level: \"${EMPTY}\"}\n", env,
		`config.yml:5: logging.level: environment variable EMPTY is set but empty`)
	wantErrs(t, minimal+"logging: {level: \"${X\"}\n", env,
		`config.yml:5: logging.level: "${" without a closing "}" (write "$${" for a literal "${")`)
	wantErrs(t, minimal+"logging: {level: \"${1X}\"}\n", env,
		`config.yml:5: logging.level: "${1X}" is not an environment variable reference: a name is letters, digits and "_", not starting with a digit`)
	// Several missing variables: each is reported.
	wantErrs(t, `
destinations:
  d: {urls: ["http://${A}/", "http://${B}/"]}
routing: {mode: static, destination: d}
`, env,
		`config.yml:3: destinations.d.urls[0]: environment variable A is not set`,
		`config.yml:3: destinations.d.urls[1]: environment variable B is not set`)
	// Errors about a value from the environment name its template, not the value.
	wantErrs(t, minimal+"logging: {level: \"${X}\"}\n", env,
		`config.yml:5: logging.level: <redacted: from ${X}> is not one of debug, info, warn, error`)
	wantErrs(t, minimal+"batching: {max-records: \"${X}\"}\n", env,
		`config.yml:5: batching.max-records: want an integer, got <redacted: from ${X}>`)
	// Keys are not expanded.
	wantErrs(t, minimal+"logging: {\"${X}\": 1}\n", env,
		`config.yml:5: unknown key "${X}" in logging (known keys: level, format)`)
}

func TestUnknownKeys(t *testing.T) {
	wantErrs(t, "servce: {port: 1}\n"+minimal, nil,
		`config.yml:1: unknown key "servce" at the top level (did you mean "service"?)`)
	wantErrs(t, minimal+"service:\n  manage:\n    adress: 0.0.0.0\n", nil,
		`config.yml:7: unknown key "adress" in service.manage (did you mean "address"?)`)
	wantErrs(t, `
destinations:
  search:
    urls: ["http://127.0.0.1/"]
    max-inflight: 3
    retry: {max_attempts: 2}
    Compression: gzip
routing: {mode: static, destination: search}
`, nil,
		`config.yml:5: unknown key "max-inflight" in destinations.search (did you mean "max-in-flight"?)`,
		`config.yml:6: unknown key "max_attempts" in destinations.search.retry (did you mean "max-attempts"?)`,
		`config.yml:7: unknown key "Compression" in destinations.search (did you mean "compression"?)`)
	wantErrs(t, minimal+`
namespaces:
  test:
    sets:
      orders:
        format: {mode: json, framming: ndjson}
        record-ordering: {enable: true}
`, nil,
		`config.yml:10: unknown key "framming" in namespaces.test.sets.orders.format (did you mean "framing"?)`,
		`config.yml:11: unknown key "record-ordering" in namespaces.test.sets.orders (known keys: routing, format, batching, bin-transforms, filter, transform, expression-errors)`)
	// ESP keys xdrhook cannot honour (esp_test.go has the rest).
	wantErrs(t, minimal+"custom-transformer: {class: com.example.T}\n", nil,
		`config.yml:5: custom-transformer: an ESP key xdrhook does not honour: `+customCode)
	wantErrs(t, minimal+"service: {protocol: HTTP}\n", nil,
		`config.yml:5: service.protocol: "HTTP": xdrhook receives XDR over TCP only (protocol: TCP); the HTTP input of ESP is not served`)
	wantErrs(t, minimal+"zzz: 1\n", nil,
		`config.yml:5: unknown key "zzz" at the top level (known keys: service, destinations, routing, format, batching, bin-transforms, filter, transform, expression-errors, namespaces, record-ordering, logging, port-based-config)`)
}

func TestSyntaxAndStructure(t *testing.T) {
	wantErrs(t, "", nil, `config.yml: the file is empty: it needs at least a routing section (and destinations to route to)`)
	wantErrs(t, "# only a comment\n", nil, `config.yml: the file is empty: it needs at least a routing section (and destinations to route to)`)
	wantErrs(t, "- a\n- b\n", nil,
		`config.yml:1: want a mapping of service, destinations, routing, format, batching, bin-transforms, filter, transform, expression-errors, namespaces, record-ordering, logging, port-based-config at the top level, got a list`)
	wantErrs(t, minimal+"---\nservice: {}\n", nil, `config.yml:5: a second YAML document (after ---): the config is one document`)
	wantErrs(t, "service:\n  port: [1\n", nil, `config.yml:1: YAML syntax: did not find expected ',' or ']'`)
	wantErrs(t, minimal+"logging:\n  level: info\n  level: debug\n", nil,
		`config.yml:7: logging.level: key written twice (first at line 6)`)
	wantErrs(t, minimal+"destinations:\n  e: {urls: [\"http://127.0.0.1/\"]}\n", nil,
		`config.yml:5: destinations: key written twice (first at line 2)`)
	wantErrs(t, "destinations:\n  d: {urls: [\"http://127.0.0.1/\"]}\n  d: {urls: [\"http://127.0.0.1/\"]}\nrouting: {mode: skip}\n", nil,
		`config.yml:3: destinations: "d" is defined twice (first at line 2)`)
}

func TestTypeErrors(t *testing.T) {
	wantErrs(t, minimal+"service: 5\n", nil,
		`config.yml:5: service: want a mapping of port, address, tls, manage, max-concurrent-records, max-frame-bytes, reply-deadline, reply-hold, max-connections, io-threads, protocol, cluster-name, socket-receive-buffer-bytes, got "5"`)
	wantErrs(t, minimal+"service:\n  max-concurrent-records: lots\n  reply-deadline: 1.5\n", nil,
		`config.yml:6: service.max-concurrent-records: want an integer, got "lots"`,
		`config.yml:7: service.reply-deadline: want an integer, got "1.5"`)
	wantErrs(t, minimal+"batching: {enabled: yes}\nrecord-ordering: {enable: [true]}\n", nil,
		`config.yml:5: batching.enabled: want true or false, got "yes"`,
		`config.yml:6: record-ordering.enable: want true or false, got a list`)
	wantErrs(t, minimal+"format: {mode: [json]}\n", nil,
		`config.yml:5: format.mode: want a string, got a list`)
	wantErrs(t, "destinations: [a]\nrouting: {mode: skip}\n", nil,
		`config.yml:1: destinations: want a mapping of names, got a list`)
	wantErrs(t, minimal+"batching: {max-bytes: 99999999999999999999}\n", nil,
		`config.yml:5: batching.max-bytes: want an integer, got "99999999999999999999"`)
	wantErrs(t, minimal+"bin-transforms: {map: {a: [b]}}\n", nil,
		`config.yml:5: bin-transforms.map.a: want a string, got a list`)
}

func TestValueErrors(t *testing.T) {
	wantErrs(t, minimal+"service: {reply-deadline: 9000}\n", nil,
		`config.yml:5: service.reply-deadline: 9000 ms is too long: XDR resends a record it has had no reply for after about 10 s, so a later reply is useless and the record arrives twice; at most 8000`)
	wantErrs(t, minimal+"service: {reply-deadline: 0}\n", nil,
		`config.yml:5: service.reply-deadline: 0 is out of range (at least 1)`)
	wantErrs(t, minimal+"service: {reply-hold: 101}\n", nil,
		`config.yml:5: service.reply-hold: 101 is out of range (0 to 100)`)
	wantErrs(t, minimal+"service: {max-frame-bytes: 10, address: \"bad host\"}\n", nil,
		`config.yml:5: service.address: "bad host" is not an IP address or a host name (without a port)`,
		`config.yml:5: service.max-frame-bytes: 10 is out of range (at least 1024)`)
	wantErrs(t, minimal+"batching: {batch-interval: 8000}\n", nil,
		`config.yml:5: batching.batch-interval: 8000 ms is not below service.reply-deadline (8000 ms): batched records would be answered 11 (retry) before they are sent`)
	wantErrs(t, `
destinations:
  d:
    urls: ["http://u:p@127.0.0.1/", "ftp://x/", "nope", "http://127.0.0.1:99999/", "http://127.0.0.1/#f", "http://127.0.0.1/?q=1"]
    path: /{namespace}/{index}
    protocol: http_3
    method: GET
    connect-timeout: 6000
    retry: {initial-backoff: 100, max-backoff: 10}
    headers: {"Bad Name": x, content-length: "1", X-A: a, x-a: b}
    compression: zip
routing: {mode: static, destination: d}
`, nil,
		`config.yml:4: destinations.d.urls[0]: "http://u:p@127.0.0.1/": credentials in a URL end up in logs; put them in a header (Authorization: "Basic ${CREDENTIALS}")`,
		`config.yml:4: destinations.d.urls[1]: "ftp://x/": the scheme must be http or https`,
		`config.yml:4: destinations.d.urls[2]: "nope" is not a URL such as http://host:9200/_bulk`,
		`config.yml:4: destinations.d.urls[3]: "http://127.0.0.1:99999/": bad port`,
		`config.yml:4: destinations.d.urls[4]: "http://127.0.0.1/#f": a URL sent to a server has no #fragment`,
		`config.yml:5: destinations.d.path: "/{namespace}/{index}": unknown placeholder {index}: the placeholders are {namespace} and {set}`,
		`config.yml:6: destinations.d.protocol: "http_3" is not one of HTTP_1_1, HTTP_2 (did you mean "HTTP_2"?)`,
		`config.yml:7: destinations.d.method: "GET" is not one of POST, PUT, PATCH (did you mean "PUT"?)`,
		`config.yml:8: destinations.d.connect-timeout: 6000 ms is longer than call-timeout (5000 ms), which includes connecting`,
		`config.yml:9: destinations.d.retry.max-backoff: 10 ms is below initial-backoff (100 ms)`,
		`config.yml:10: destinations.d.headers.Bad Name: "Bad Name" is not a valid header name`,
		`config.yml:10: destinations.d.headers.content-length: Content-Length is set by the connector`,
		`config.yml:10: destinations.d.headers.x-a: the same header as X-A (names are case-insensitive)`,
		`config.yml:11: destinations.d.compression: "zip" is not one of none, gzip (did you mean "gzip"?)`)
	wantErrs(t, `
destinations:
  d: {urls: ["http://127.0.0.1/?q=1"], path: "/{set}"}
  e: {urls: []}
routing: {mode: static, destination: d}
`, nil,
		`config.yml:3: destinations.d.urls[0]: has a query string, so path cannot be appended to it`,
		`config.yml:4: destinations.e.urls: at least one URL is needed`)
}

func TestRoutingModes(t *testing.T) {
	dests := `
destinations:
  search: {urls: ["http://127.0.0.1:9200/"]}
  archive: {urls: ["http://127.0.0.1:9300/"]}
`
	t.Run("static", func(t *testing.T) {
		c := mustParse(t, dests+"routing: {mode: static, destination: archive}\n", nil)
		if r := c.Routing; r.Mode != RouteStatic || len(r.Destinations) != 1 || r.Destinations[0].Name != "archive" || r.Destinations[0].ID != 1 {
			t.Errorf("%+v", r)
		}
		if len(c.Warnings) != 1 || c.Warnings[0].Error() != `config.yml:3: destinations.search: not used by any routing` {
			t.Errorf("warnings %v", Errors(c.Warnings))
		}
		wantErrs(t, dests+"routing: {mode: static}\n", nil,
			`config.yml:5: routing.destination: missing: static routing sends every record to one destination`)
		wantErrs(t, dests+"routing: {mode: static, destination: serch}\n", nil,
			`config.yml:5: routing.destination: "serch" is not a defined destination (did you mean "search"?)`)
		wantErrs(t, dests+"routing: {mode: static, destination: zzzzzz}\n", nil,
			`config.yml:5: routing.destination: "zzzzzz" is not a defined destination (defined: search, archive)`)
		wantErrs(t, dests+"routing: {mode: static, destinations: [search]}\n", nil,
			`config.yml:5: routing.destinations: not used by routing mode static (static takes one `+"`destination`"+`; static-multi-destination takes `+"`destinations`"+`)`,
			`config.yml:5: routing.destination: missing: static routing sends every record to one destination`)
		wantErrs(t, "routing: {mode: static, destination: search}\n", nil,
			`config.yml:1: routing.destination: "search" is not a defined destination (none is defined: add a destinations section)`)
	})
	t.Run("static-multi-destination", func(t *testing.T) {
		c := mustParse(t, dests+"routing: {mode: static-multi-destination, destinations: [search, archive]}\n", nil)
		if r := c.Routing; r.Mode != RouteStaticMulti || len(r.Destinations) != 2 || r.Destinations[0].Name != "search" || r.Destinations[1].Name != "archive" {
			t.Errorf("%+v", r)
		}
		c = mustParse(t, dests+"routing: {mode: static-multi-destination, destinations: search}\n", nil) // ESP: a single name
		if r := c.Routing; len(r.Destinations) != 1 || r.Destinations[0].Name != "search" {
			t.Errorf("%+v", r)
		}
		wantErrs(t, dests+"routing: {mode: static-multi-destination, destinations: [search, search, nope]}\n", nil,
			`config.yml:5: routing.destinations[1]: "search" is listed twice`,
			`config.yml:5: routing.destinations[2]: "nope" is not a defined destination (defined: search, archive)`)
		wantErrs(t, dests+"routing: {mode: static-multi-destination, destination: search}\n", nil,
			`config.yml:5: routing.destination: not used by routing mode static-multi-destination (static-multi-destination takes a list: `+"`destinations`"+`)`,
			`config.yml:5: routing.destinations: missing: static-multi-destination sends every record to each destination of the list`)
	})
	t.Run("skip", func(t *testing.T) {
		c := mustParse(t, "routing: {mode: skip}\n", nil)
		if c.Routing.Mode != RouteSkip || len(c.Destinations) != 0 {
			t.Errorf("%+v", c.Routing)
		}
		wantErrs(t, dests+"routing: {mode: skip, bin: x}\n", nil, `config.yml:5: routing.bin: not used by routing mode skip`)
	})
	for _, mode := range []RoutingMode{RouteNamespace, RouteSet} {
		t.Run(string(mode), func(t *testing.T) {
			c := mustParse(t, dests+"routing: {mode: "+string(mode)+"}\n", nil)
			r := c.Routing
			if r.Mode != mode || r.Default != nil || r.Lookup([]byte("search")).Name != "search" || r.Lookup([]byte("x")) != nil {
				t.Errorf("%+v", r)
			}
			if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0].Error(), `no destination is named "default"`) {
				t.Errorf("warnings %v", Errors(c.Warnings))
			}
			c = mustParse(t, dests+"  default: {urls: [\"http://127.0.0.1:1/\"]}\nrouting: {mode: "+string(mode)+"}\n", nil)
			if r := c.Routing; r.Default == nil || r.Default.Name != "default" || r.Lookup([]byte("x")) != r.Default || r.Lookup(nil) != r.Default || len(c.Warnings) != 0 {
				t.Errorf("%+v %v", r, c.Warnings)
			}
			wantErrs(t, "routing: {mode: "+string(mode)+"}\n", nil,
				`config.yml:1: routing.mode: `+string(mode)+` routing picks a destination by name, but none is defined: add a destinations section`)
			wantErrs(t, dests+"routing: {mode: "+string(mode)+", destination: search}\n", nil,
				`config.yml:5: routing.destination: not used by routing mode `+string(mode))
		})
	}
	t.Run("bin", func(t *testing.T) {
		c := mustParse(t, dests+"routing: {mode: bin, bin: target}\n", nil)
		if r := c.Routing; r.Mode != RouteBin || r.Bin != "target" || r.Lookup([]byte("archive")).Name != "archive" {
			t.Errorf("%+v", r)
		}
		wantErrs(t, dests+"routing: {mode: bin}\n", nil,
			`config.yml:5: routing.bin: missing: bin routing needs the name of the bin whose value names the destination`)
		wantErrs(t, dests+"routing: {mode: bin, bin: a-very-long-bin-name}\n", nil,
			`config.yml:5: routing.bin: "a-very-long-bin-name": an Aerospike bin name is at most 15 bytes`)
	})
	t.Run("mode", func(t *testing.T) {
		wantErrs(t, dests, nil,
			`config.yml: routing: missing: every record needs a route; add a routing section with a mode (static, static-multi-destination, skip, namespace, set, bin, expression)`)
		wantErrs(t, dests+"routing: {destination: search}\n", nil,
			`config.yml:5: routing.mode: missing: one of static, static-multi-destination, skip, namespace, set, bin, expression`)
		wantErrs(t, dests+"routing: {mode: custom, class: x.Y}\n", nil,
			`config.yml:5: routing.class: an ESP key xdrhook does not honour: `+customCode)
		wantErrs(t, dests+"routing: {mode: statc, destination: search}\n", nil,
			`config.yml:5: routing.mode: "statc" is not one of static, static-multi-destination, skip, namespace, set, bin, expression (did you mean "static"?)`)
	})
}

func TestFormat(t *testing.T) {
	c := mustParse(t, minimal+`format: {mode: flat-json, framing: es-bulk, metadata-key: meta, index-template: "idx-{namespace}-{set}", omit-deletes: true}`+"\n", nil)
	if f := c.Format; f.Mode != FormatFlatJSON || f.Framing != FramingESBulk || f.MetadataKey != "meta" || f.IndexTemplate != "idx-{namespace}-{set}" || !f.OmitDeletes {
		t.Errorf("%+v", f)
	}
	c = mustParse(t, minimal+`format: {mode: json, framing: splunk-hec, splunk-source: s, splunk-sourcetype: t, splunk-index: i}`+"\n", nil)
	if f := c.Format; f.Framing != FramingSplunkHEC || f.SplunkSource != "s" || f.SplunkSourceType != "t" || f.SplunkIndex != "i" {
		t.Errorf("%+v", f)
	}
	wantErrs(t, minimal+"format: {mode: message-pack, framing: ndjson}\n", nil,
		`config.yml:5: format.framing: ndjson does not frame format message-pack: use msgpack-array`)
	wantErrs(t, minimal+"format: {mode: json, framing: avro-ocf}\n", nil,
		`config.yml:5: format.framing: avro-ocf does not frame format json: use ndjson or json-array or es-bulk or splunk-hec`)
	wantErrs(t, minimal+"format: {framing: xml}\n", nil,
		`config.yml:5: format.framing: "xml" is not one of ndjson, json-array, es-bulk, splunk-hec, msgpack-array, avro-ocf`)
	wantErrs(t, minimal+"format: {index-template: \"{index}\"}\n", nil,
		`config.yml:5: format.index-template: unknown placeholder {index}: the placeholders are {set} and {namespace}`)

	// Avro schemas: inline, from a file (relative to the config file), errors.
	schema := `{"type":"record","name":"R","fields":[{"name":"a","type":"long"}]}`
	c = mustParse(t, minimal+"format: {mode: avro, schema: '"+schema+"'}\n", nil)
	if c.Format.Schema != schema || c.Format.Framing != FramingAvroOCF {
		t.Errorf("%+v", c.Format)
	}
	fsys := files{"conf/r.avsc": []byte(schema), "conf/bad.avsc": []byte("{")}
	c, err := Parse("conf/config.yml", []byte(minimal+"format: {mode: avro, schema-file: r.avsc}\n"), Options{ReadFile: fsys.read})
	if err != nil || c.Format.Schema != schema || c.Format.SchemaFile != "conf/r.avsc" {
		t.Fatalf("%v %+v", err, c)
	}
	_, err = Parse("conf/config.yml", []byte(minimal+"format: {mode: avro, schema-file: bad.avsc}\n"), Options{ReadFile: fsys.read})
	if err == nil || err.Error() != `conf/config.yml:5: format.schema-file: conf/bad.avsc is not a JSON Avro schema` {
		t.Errorf("%v", err)
	}
	_, err = Parse("conf/config.yml", []byte(minimal+"format: {mode: avro, schema-file: none.avsc}\n"), Options{ReadFile: fsys.read})
	if err == nil || err.Error() != `conf/config.yml:5: format.schema-file: open conf/none.avsc: file does not exist` {
		t.Errorf("%v", err)
	}
	c, err = Parse("conf/config.yml", []byte(minimal+"format: {mode: avro, schema-file: none.avsc}\n"), Options{ReadFile: fsys.read, SkipFiles: true})
	if err != nil || c.Format.Schema != "" || c.Format.SchemaFile != "conf/none.avsc" {
		t.Errorf("SkipFiles: %v", err)
	}
	wantErrs(t, minimal+"format: {mode: avro, schema: '{}', schema-file: x.avsc}\n", nil,
		`config.yml:5: format.schema: set schema or schema-file, not both`)
	c = mustParse(t, minimal+"format: {mode: json, schema: '{}'}\n", nil)
	if len(c.Warnings) != 1 || c.Warnings[0].Error() != `config.yml:5: format: schema and schema-file apply to mode avro only; ignored for json` {
		t.Errorf("warnings %v", Errors(c.Warnings))
	}
}

func TestBatching(t *testing.T) {
	if c := mustParse(t, minimal, nil); c.Batching.Enabled {
		t.Error("absent batching is on")
	}
	if c := mustParse(t, minimal+"batching: {max-records: 10}\n", nil); !c.Batching.Enabled || c.Batching.MaxRecords != 10 || c.Batching.MaxBytes != 1<<20 {
		t.Errorf("present batching: %+v", c.Batching)
	}
	if c := mustParse(t, minimal+"batching: {enabled: false, max-records: 10}\n", nil); c.Batching.Enabled {
		t.Error("enabled: false is on")
	}
	wantErrs(t, minimal+"batching: {max-records: 0, max-bytes: 0, batch-interval: 0}\n", nil,
		`config.yml:5: batching.max-records: 0 is out of range (1 to 1048576)`,
		`config.yml:5: batching.max-bytes: 0 is out of range (at least 1)`,
		`config.yml:5: batching.batch-interval: 0 is out of range (at least 1)`)
}

func TestBinTransforms(t *testing.T) {
	c := mustParse(t, minimal+`
bin-transforms:
  include: {type: specified, bins: [a, b, secret]}
  exclude: {type: specified, bins: secret}
  map: {a: alpha, b: beta}
`, nil)
	bt := c.BinTransforms
	if !reflect.DeepEqual(bt.Include, []string{"a", "b", "secret"}) || !reflect.DeepEqual(bt.Exclude, []string{"secret"}) ||
		!reflect.DeepEqual(bt.Map, map[string]string{"a": "alpha", "b": "beta"}) || bt.Identity() {
		t.Errorf("%+v", bt)
	}
	wantErrs(t, minimal+`
bin-transforms:
  include: {type: all, bins: [a]}
  exclude: {type: specified}
  map: {a: x, b: x, c: ""}
`, nil,
		`config.yml:7: bin-transforms.include.bins: bins go with type: specified (type all keeps every bin)`,
		`config.yml:8: bin-transforms.exclude.bins: type specified needs the list of bins to drop`,
		`config.yml:9: bin-transforms.map.b: "a" and "b" would both be renamed "x" (duplicate keys in the output)`,
		`config.yml:9: bin-transforms.map.c: the new name is empty`)
	wantErrs(t, minimal+"bin-transforms: {include: {type: some}, exclude: {type: specified, bins: [a-bin-name-too-long]}}\n", nil,
		`config.yml:5: bin-transforms.include.type: "some" is not one of all, specified`,
		`config.yml:5: bin-transforms.exclude.bins[0]: "a-bin-name-too-long": an Aerospike bin name is at most 15 bytes`)
}

func TestRecordOrderingAndLogging(t *testing.T) {
	c := mustParse(t, minimal+"record-ordering: {enable: true, lut-cache-ttl-seconds: 5}\nlogging: {level: DEBUG, format: json}\n", nil)
	if ro := c.RecordOrdering; !ro.Enable || ro.LUTCacheTTL != 5*time.Second {
		t.Errorf("%+v", ro)
	}
	if c.Logging != (Logging{"debug", "json"}) || c.Logging.SlogLevel().String() != "DEBUG" {
		t.Errorf("%+v", c.Logging)
	}
	wantErrs(t, minimal+"record-ordering: {lut-cache-ttl-seconds: 0}\nlogging: {level: warning, format: xml}\n", nil,
		`config.yml:5: record-ordering.lut-cache-ttl-seconds: 0 is out of range (1 to 86400)`,
		`config.yml:6: logging.level: "warning" is not one of debug, info, warn, error (did you mean "warn"?)`,
		`config.yml:6: logging.format: "xml" is not one of text, json`)
}

const overrides = `
destinations:
  search: {urls: ["http://127.0.0.1:9200/"]}
  archive: {urls: ["http://127.0.0.1:9300/"]}
routing: {mode: static, destination: search}
format: {mode: flat-json, metadata-key: meta}
batching: {max-records: 100}
bin-transforms: {exclude: {type: specified, bins: [secret]}}
namespaces:
  test:
    format: {mode: message-pack}
    record-ordering: {enable: true}
    sets:
      orders:
        routing: {mode: static, destination: archive}
        batching: {enabled: false}
      users:
        format: {metadata-key: m2}
      same: {}
  prod:
    sets:
      events: {bin-transforms: {include: {type: specified, bins: [a]}}}
  quiet:
`

func TestOverrides(t *testing.T) {
	c := mustParse(t, overrides, nil)
	get := func(ns, set string) *Profile { return c.Profile([]byte(ns), []byte(set)) }
	top := get("other", "x")
	if top.ID != 0 || top.Routing.Destinations[0].Name != "search" || top.Format.Mode != FormatFlatJSON || top.Format.MetadataKey != "meta" ||
		top.Batching.MaxRecords != 100 || !reflect.DeepEqual(top.BinTransforms.Exclude, []string{"secret"}) || top.RecordOrdering.Enable {
		t.Errorf("top %+v", top)
	}
	// namespace test: its format and record-ordering, the rest from the top.
	nt := get("test", "x")
	if nt.ID == 0 || nt.Namespace != "test" || nt.Set != "" || nt.Format.Mode != FormatMessagePack || nt.Format.Framing != FramingMsgPackArray ||
		nt.Routing != top.Routing || nt.Batching != top.Batching || nt.BinTransforms != top.BinTransforms || !nt.RecordOrdering.Enable {
		t.Errorf("test %+v", nt)
	}
	// A section replaces the one above whole: metadata-key is the default,
	// not the top level's "meta".
	if nt.Format.MetadataKey != "metadata" {
		t.Errorf("test format metadata-key %q", nt.Format.MetadataKey)
	}
	// test/orders: its routing and batching, the namespace's format and
	// record-ordering, the top's bin-transforms.
	to := get("test", "orders")
	if to.Set != "orders" || to.Routing.Destinations[0].Name != "archive" || to.Batching.Enabled || to.Format != nt.Format ||
		to.RecordOrdering != nt.RecordOrdering || to.BinTransforms != top.BinTransforms {
		t.Errorf("test/orders %+v", to)
	}
	// test/users: a format section of its own (mode json by default).
	tu := get("test", "users")
	if tu.Format.Mode != FormatJSON || tu.Format.MetadataKey != "m2" || tu.Routing != top.Routing {
		t.Errorf("test/users %+v", tu.Format)
	}
	// A set that overrides nothing shares the namespace's profile.
	if get("test", "same") != nt {
		t.Error("test/same has a profile of its own")
	}
	// prod has no namespace-level override: its other sets use the top.
	if get("prod", "x") != top || get("prod", "events") == top || !reflect.DeepEqual(get("prod", "events").BinTransforms.Include, []string{"a"}) {
		t.Errorf("prod")
	}
	if get("quiet", "x") != top {
		t.Error("quiet")
	}
	// IDs are dense and match the index.
	for i, p := range c.Profiles() {
		if p.ID != i {
			t.Errorf("profile %d has ID %d", i, p.ID)
		}
	}
	if n := len(c.Profiles()); n != 5 { // top, prod/events, test, test/orders, test/users
		t.Errorf("%d profiles", n)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings %v", Errors(c.Warnings))
	}
	wantErrs(t, overrides+"    sets: {x: {routing: {mode: static, destination: nope}}}\n", nil,
		`config.yml:24: namespaces.quiet.sets.x.routing.destination: "nope" is not a defined destination (defined: search, archive)`)
}

func TestProfileNoAlloc(t *testing.T) {
	c := mustParse(t, overrides, nil)
	ns, set, other := []byte("test"), []byte("orders"), []byte("nope")
	var sink *Profile
	if n := testing.AllocsPerRun(1000, func() {
		sink = c.Profile(ns, set)
		sink = c.Profile(ns, other)
		sink = c.Profile(other, set)
	}); n != 0 {
		t.Errorf("Profile allocates %v per run", n)
	}
	_ = sink
	r := mustParse(t, `
destinations:
  a: {urls: ["http://127.0.0.1/"]}
  default: {urls: ["http://127.0.0.1:1/"]}
routing: {mode: set}
`, nil).Routing
	var d *Destination
	if n := testing.AllocsPerRun(1000, func() { d = r.Lookup(set); d = r.Lookup([]byte("a")) }); n != 0 {
		t.Errorf("Lookup allocates %v per run", n)
	}
	_ = d
}

func TestPathTemplate(t *testing.T) {
	c := mustParse(t, `
destinations:
  d: {urls: ["http://127.0.0.1:9200"], path: "/{namespace}/_doc/{set}"}
routing: {mode: static, destination: d}
`, nil)
	p := c.Destinations["d"].Path
	if p.IsStatic() || !p.UsesSet() || p.String() != "/{namespace}/_doc/{set}" {
		t.Errorf("%+v", p)
	}
	buf := make([]byte, 0, 64)
	if got := string(p.Append(buf, &wire.Message{Namespace: []byte("test"), Set: []byte("a b/ü")})); got != "/test/_doc/a%20b%2F%C3%BC" {
		t.Errorf("Append: %s", got)
	}
	m := &wire.Message{Namespace: []byte("ns"), Set: []byte("set")}
	if n := testing.AllocsPerRun(100, func() { buf = p.Append(buf[:0], m) }); n != 0 {
		t.Errorf("Append allocates %v", n)
	}
	for _, bad := range []string{"x/{set}", "/{set", "/a?b", "/{foo}", "/{user-key}"} {
		if _, err := parsePathTemplate(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestSecurity(t *testing.T) {
	base := "routing: {mode: static, destination: d}\ndestinations:\n  d:\n"
	wantErrs(t, base+"    urls: [\"https://es.example.com/\"]\n    tls: {insecure-skip-verify: true}\n", nil,
		`config.yml:5: destinations.d.tls.insecure-skip-verify: true turns off certificate checks (anyone on the path can read and change the records); set destinations.d.allow-insecure: true to accept that`)
	c := mustParse(t, base+"    urls: [\"https://es.example.com/\"]\n    tls: {insecure-skip-verify: true}\n    allow-insecure: true\n", nil)
	if !c.Destinations["d"].TLS.InsecureSkipVerify || len(c.Warnings) != 1 ||
		c.Warnings[0].Error() != `config.yml:5: destinations.d.tls.insecure-skip-verify: certificate checks are off (allow-insecure: true)` {
		t.Errorf("warnings %v", Errors(c.Warnings))
	}
	env := map[string]string{"T": "tok"}
	wantErrs(t, base+"    urls: [\"http://es.example.com/\"]\n    headers: {Authorization: \"Bearer ${T}\"}\n", env,
		`config.yml:5: destinations.d.headers: headers from the environment (credentials) would go over plain http to a host that is not loopback; use https, or set destinations.d.allow-insecure: true to accept that`)
	mustParse(t, base+"    urls: [\"https://es.example.com/\"]\n    headers: {Authorization: \"Bearer ${T}\"}\n", env)
	mustParse(t, base+"    urls: [\"http://localhost:9200/\"]\n    headers: {Authorization: \"Bearer ${T}\"}\n", env)
	mustParse(t, base+"    urls: [\"http://es.example.com/\"]\n    headers: {Authorization: \"Bearer literal\"}\n", env)
	wantErrs(t, base+"    urls: [\"http://es.example.com/\"]\n    tls: {server-name: es}\n", nil,
		`config.yml:5: destinations.d.tls: is set but no URL is https`)
	wantErrs(t, base+"    urls: [\"https://es.example.com/\"]\n    tls: {cert-file: c.pem}\n", nil,
		`config.yml:5: destinations.d.tls: a client certificate needs both cert-file and key-file`)
	_, err := parse(t, base+"    urls: [\"https://es.example.com/\"]\n    tls: {ca-file: ca.pem}\n", nil, files{"ca.pem": []byte("junk")})
	if err == nil || err.Error() != `config.yml:5: destinations.d.tls: cannot load: ca.pem: no PEM certificate in it` {
		t.Errorf("%v", err)
	}
	pki := testPKI()
	c, err = parse(t, base+"    urls: [\"https://es.example.com/\"]\n    tls: {ca-file: ca.pem, cert-file: c.pem, key-file: k.pem, server-name: es}\n", nil,
		files{"ca.pem": pki.ca, "c.pem": pki.cert, "k.pem": pki.key})
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err := c.Destinations["d"].TLS.build(files{"ca.pem": pki.ca, "c.pem": pki.cert, "k.pem": pki.key}.read); err != nil ||
		cfg.RootCAs == nil || len(cfg.Certificates) != 1 || cfg.ServerName != "es" {
		t.Errorf("client TLS %v", err)
	}

	c = mustParse(t, minimal+"service: {manage: {address: 0.0.0.0}}\n", nil)
	if len(c.Warnings) != 1 || !strings.HasPrefix(c.Warnings[0].Error(), `config.yml:5: service.manage.address: "0.0.0.0" is not a loopback address`) {
		t.Errorf("warnings %v", Errors(c.Warnings))
	}
	wantErrs(t, minimal+"service: {tls: {cert-file: a.pem}}\n", nil,
		`config.yml:5: service.tls: the XDR listener needs both cert-file and key-file (PEM), or a key-store`)
	wantErrs(t, minimal+"service: {tls: {cert-file: a.pem, key-file: a.key}}\n", nil,
		`config.yml:5: service.tls: cannot load the certificate: open a.pem: file does not exist`)
}

func TestCallTimeoutWarning(t *testing.T) {
	c := mustParse(t, `
service: {reply-deadline: 3000}
destinations:
  d: {urls: ["http://127.0.0.1/"], call-timeout: 3000}
routing: {mode: static, destination: d}
`, nil)
	if len(c.Warnings) != 1 || c.Warnings[0].Error() != `config.yml:4: destinations.d.call-timeout: 3000 ms is not below service.reply-deadline (3000 ms): a request still running at the deadline is answered 11 (retry) and may be delivered twice` {
		t.Errorf("warnings %v", Errors(c.Warnings))
	}
}

func TestAnchorsAndMerge(t *testing.T) {
	c := mustParse(t, `
destinations:
  a: &base
    urls: ["http://127.0.0.1:1/"]
    max-in-flight: 7
    retry: {max-attempts: 5}
  b:
    <<: *base
    urls: ["http://127.0.0.1:2/"]
routing: {mode: static-multi-destination, destinations: [a, b]}
`, nil)
	b := c.Destinations["b"]
	if b.MaxInFlight != 7 || b.Retry.MaxAttempts != 5 || b.URLs[0].Port() != "2" {
		t.Errorf("%+v", b)
	}
	wantErrs(t, `
destinations:
  a: &base
    urls: ["http://127.0.0.1:1/"]
  b:
    <<: {max-inflight: 2}
    urls: ["http://127.0.0.1:2/"]
routing: {mode: static, destination: a}
`, nil, `config.yml:6: unknown key "max-inflight" in destinations.b (did you mean "max-in-flight"?)`)
}

// TestEnvAndUnknownKeys: a missing variable does not hide an unknown key,
// and its scalar is not type-checked.
func TestEnvAndUnknownKeys(t *testing.T) {
	wantErrs(t, minimal+"batching:\n  max-records: ${N}\n  max-recods: 3\n", nil,
		`config.yml:6: batching.max-records: environment variable N is not set`,
		`config.yml:7: unknown key "max-recods" in batching (did you mean "max-records"?)`)
}

// reply-hold is in milliseconds; 0 turns holding off.
func TestReplyHold(t *testing.T) {
	for _, c := range []struct {
		yaml string
		want time.Duration
	}{{"", 0}, {"service: {reply-hold: 0}\n", 0}, {"service: {reply-hold: 1}\n", time.Millisecond}, {"service: {reply-hold: 5}\n", 5 * time.Millisecond}} {
		cfg, err := Parse("config.yml", []byte(minimal+c.yaml), Options{})
		if err != nil {
			t.Fatalf("%q: %v", c.yaml, err)
		}
		if cfg.Service.ReplyHold != c.want {
			t.Errorf("%q: reply-hold %v, want %v", c.yaml, cfg.Service.ReplyHold, c.want)
		}
	}
}
