package config

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/xdrhook/xdrhook/perf/harness"
)

// rawFieldAt reports whether a generic ESP path is a key of the raw types
// (the keys of routing, format, batching and bin-transforms at the top).
func rawFieldAt(path string) bool {
	t := rawType
	for _, seg := range strings.Split(path, ".") {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if seg == "*" {
			if t.Kind() != reflect.Map {
				return false
			}
			t = t.Elem()
			continue
		}
		if t.Kind() != reflect.Struct {
			return false
		}
		ft, ok := structFields(t)[seg]
		if !ok {
			return false
		}
		t = ft
	}
	return true
}

// The table says what the code does: an implemented or mapped key is a key
// of the config, a warned or refused one is not. A key implemented on
// another branch fails this test until its row is updated.
func TestESPTableMatchesKeys(t *testing.T) {
	for _, e := range ESPKeys {
		has := rawFieldAt(e.Path)
		switch e.Status {
		case ESPImplemented, ESPMapped:
			if !has {
				t.Errorf("%s is %s but no config key", e.Path, e.Status)
			}
		case ESPWarned, ESPRefused:
			if has {
				t.Errorf("%s is %s but a config key: update its row", e.Path, e.Status)
			}
		default:
			t.Errorf("%s: status %q", e.Path, e.Status)
		}
		if (e.Status == ESPWarned || e.Status == ESPRefused) && e.Note == "" {
			t.Errorf("%s is %s without a note saying why", e.Path, e.Status)
		}
	}
}

const docPath = "../docs/migrating-from-esp.md"

// docs/migrating-from-esp.md holds ESPKeysMarkdown between its markers
// (xdrhook check --esp-keys prints it; XDRHOOK_UPDATE_DOCS=1 rewrites it).
func TestMigratingDocTable(t *testing.T) {
	b, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- esp-keys: generated from config.ESPKeys, do not edit -->\n", "<!-- end esp-keys -->"
	doc := string(b)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the markers %q ... %q", docPath, begin, end)
	}
	want := ESPKeysMarkdown()
	if got := doc[i+len(begin) : j]; got != want {
		if os.Getenv("XDRHOOK_UPDATE_DOCS") == "1" {
			if err := os.WriteFile(docPath, []byte(doc[:i+len(begin)]+want+doc[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Fatalf("%s's key table is not ESPKeys: run XDRHOOK_UPDATE_DOCS=1 go test ./config -run TestMigratingDocTable", docPath)
	}
}

// Warned keys load with a warning saying what to do instead; refused
// values are errors saying why.
func TestESPWarnedAndRefused(t *testing.T) {
	c, err := parse(t, minimal+`service:
  worker-threads: 4
  enable-tcp-xdr-ack-buffering: true
  socket-receive-buffer-bytes: 65536
  protocol: tcp
  cluster-name: east
logging:
  file: /var/log/aerospike-esp-outbound/aerospike-esp-outbound.log
  enable-console-logging: true
  levels: {root: info}
  ticker-interval: 10
  format: simple
`, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range c.Warnings {
		got = append(got, w.Error())
	}
	want := []string{
		"config.yml:6: service.worker-threads: an ESP key with no effect: encoding runs on the event loops (io-threads) and sending on goroutines",
		"config.yml:7: service.enable-tcp-xdr-ack-buffering: an ESP key with no effect: replies are always coalesced per flush",
		"config.yml:12: logging.file: an ESP key with no effect: xdrhook logs to stderr; redirect it (xdrhook run ... 2>>/var/log/xdrhook.log) or let systemd/journald or the container runtime collect it",
		"config.yml:13: logging.enable-console-logging: an ESP key with no effect: xdrhook logs to stderr, always",
		"config.yml:14: logging.levels: an ESP key with no effect: per-logger levels are Java's; logging.level sets xdrhook's one level",
		"config.yml:15: logging.ticker-interval: an ESP key with no effect: xdrhook logs no periodic ticker; /metrics has the figures",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if c.Logging.Format != "text" || c.Service.ClusterName != "east" || c.Service.SocketRecvBuffer != 65536 {
		t.Fatalf("logging.format %q, cluster-name %q, socket-receive-buffer-bytes %d", c.Logging.Format, c.Service.ClusterName, c.Service.SocketRecvBuffer)
	}
	wantErrs(t, minimal+"format: {mode: xdr}\n", nil,
		`config.yml:5: format.mode: xdr: the XDR Proxy's wire format is not public, so xdrhook cannot write it; use json, flat-json, message-pack or avro`)
	wantErrs(t, minimal+"namespaces: {test: {format: {mode: custom, class: com.example.F}}}\n", nil,
		`config.yml:5: namespaces.test.format.class: an ESP key xdrhook does not honour: `+customCode)
	wantErrs(t, minimal+"namespaces: {test: {sets: {s: {format: {mode: Custom}}}}}\n", nil,
		`config.yml:5: namespaces.test.sets.s.format.mode: custom: `+customCode)
	wantErrs(t, minimal+"port-based-config: {\"8901\": {routing: {mode: custom, class: com.example.R}}}\n", nil,
		`config.yml:5: port-based-config.8901.routing.class: an ESP key xdrhook does not honour: `+customCode)
	wantErrs(t, minimal+"port-based-config: {\"8901\": {namespaces: {test: {custom-transformer: {class: com.example.T}}}}}\n", nil,
		`config.yml:5: port-based-config.8901.namespaces.test.custom-transformer: an ESP key xdrhook does not honour: `+customCode)
	wantErrs(t, minimal+"service: {cluster-name: \"a\\nb\"}\n", nil,
		`config.yml:5: service.cluster-name: "a\nb" cannot be a metric label value (empty, or CR, LF or NUL in it)`)
}

func TestExplainESP(t *testing.T) {
	uses, err := ExplainESP([]byte(`service:
  port: 8901
  worker-threads: 4
destinations:
  esp:
    urls: [http://127.0.0.1:8080]
    http1-pipelining: false
    max-request-queued-per-endpoint: 100
routing: {mode: custom, class: com.example.R}
format: {mode: json}
wibble: 1
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range uses {
		got = append(got, fmt.Sprintf("%d %s %s", u.Line, u.Path, u.Status))
	}
	want := "2 service.port implemented|3 service.worker-threads warned|6 destinations.esp.urls implemented|" +
		"8 destinations.esp.max-request-queued-per-endpoint mapped|9 routing.mode refused|9 routing.class refused|" +
		"10 format.mode implemented|11 wibble refused"
	if strings.Join(got, "|") != want {
		t.Fatalf("explain:\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}
}

// max-request-queued-per-endpoint becomes the destination's queue bound:
// per endpoint × URLs; absent, the dataplane's default.
func TestESPMaxQueuedMapped(t *testing.T) {
	c, err := parse(t, `
destinations:
  d:
    urls: [http://127.0.0.1:9200/, http://127.0.0.1:9201/, http://127.0.0.1:9202/]
    max-request-queued-per-endpoint: 100
  e: {urls: [http://127.0.0.1:9300/]}
routing: {mode: static-multi-destination, destinations: [d, e]}
`, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Destinations["d"].MaxQueued != 300 || c.Destinations["e"].MaxQueued != 0 || len(c.Warnings) != 0 {
		t.Fatalf("MaxQueued %d and %d, warnings %v", c.Destinations["d"].MaxQueued, c.Destinations["e"].MaxQueued, c.Warnings)
	}
	wantErrs(t, "destinations: {d: {urls: [http://127.0.0.1:9200/], max-request-queued-per-endpoint: 0}}\nrouting: {mode: static, destination: d}\n", nil,
		`config.yml:1: destinations.d.max-request-queued-per-endpoint: 0 is out of range (1 to 1048576)`)
}

// check's output of an ESP config with Java stores, TLS options, a mapped
// TLS port and ESP-only keys loads again to the same service and
// destinations (the no-effect keys are gone from it, so its warnings too).
func TestESPConfigPrintsAndReloads(t *testing.T) {
	pki := harness.NewPKI(t)
	pki.GoJKS(t, "key.jks", "xdrhook", pki.Issue(t, "xdrhook", true), "")
	pki.GoTrustJKS(t, "trust.jks")
	yml := `service:
  tls:
    port: 9443
    key-store: {store-file: key.jks, store-password-file: password, store-type: jks}
    trust-store: {store-file: trust.jks, store-password-file: password}
    allowed-peer-names: [xdr-1]
    protocols: [TLSv1.3]
  protocol: TCP
  cluster-name: east
  worker-threads: 4
destinations:
  d:
    urls: [https://127.0.0.1:9200/]
    max-request-queued-per-endpoint: 10
    tls:
      trust-store: {store-file: trust.jks, store-password-file: password}
      cipher-suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]
routing: {mode: static, destination: d}
logging: {format: simple, file: /var/log/x.log}
`
	c1, err := parseIn(t, pki.Dir, yml)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := c1.WriteYAML(&out); err != nil {
		t.Fatal(err)
	}
	c2, err := parseIn(t, pki.Dir, out.String())
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !reflect.DeepEqual(c1.Service, c2.Service) || !reflect.DeepEqual(*c1.Destinations["d"], *c2.Destinations["d"]) || c1.Logging != c2.Logging {
		t.Fatalf("reloaded differently:\n%+v\n%+v\n%s", c1.Service, c2.Service, out.String())
	}
	if c1.Service.Ports[0] != 9443 || c1.Service.TLS.KeyStore.Type != StoreJKS || len(c1.Warnings) != 2 || strings.Contains(fmt.Sprint(c2.Warnings), "ESP key") {
		t.Fatalf("ports %v, store type %q, warnings %v then %v", c1.Service.Ports, c1.Service.TLS.KeyStore.Type, c1.Warnings, c2.Warnings)
	}
}

// A config with only keys ESP has, however plain, is noted for each
// destination without protocol; a key only xdrhook has (here
// http1-pipelining, logging.level) shows it was written for xdrhook, and protocol set silences it.
func TestESPDefaultProtocolNote(t *testing.T) {
	plain := `service:
  port: 8901
  manage: {address: 127.0.0.1, port: 8902}
destinations:
  a: {urls: [http://127.0.0.1:8080/]}
  b:
    urls: [http://127.0.0.1:8081/]
    protocol: HTTP_1_1
  c: {urls: [http://127.0.0.1:8082/, http://127.0.0.1:8083/]}
routing: {mode: static-multi-destination, destinations: [a, b, c]}
format: {mode: flat-json, metadata-key: metadata}
namespaces:
  test:
    sets:
      s: {routing: {mode: static, destination: a}, bin-transforms: {map: {x: y}}}
`
	notes := func(yml string) string {
		t.Helper()
		c, err := parse(t, yml, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, n := range c.Notes {
			got = append(got, n.Error())
		}
		if len(c.Warnings) != 0 {
			t.Fatalf("warnings %v", c.Warnings)
		}
		return strings.Join(got, "\n")
	}
	const msg = ".protocol: not set: xdrhook sends HTTP/1.1 (HTTP_1_1), where ESP defaults to HTTP/2; write protocol: HTTP_2 to keep ESP's behaviour (DESIGN.md: Default protocol)"
	want := "config.yml:5: destinations.a" + msg + "\nconfig.yml:9: destinations.c" + msg
	if got := notes(plain); got != want {
		t.Fatalf("notes:\n%s\nwant:\n%s", got, want)
	}
	// Without a top-level format, ESP would write its XDR Proxy format.
	noFormat := strings.Replace(plain, "format: {mode: flat-json, metadata-key: metadata}\n", "", 1)
	if got := notes(noFormat); got != want+"\nconfig.yml: format: "+espFormatNote {
		t.Fatalf("notes without format:\n%s", got)
	}
	for _, xdrhookOnly := range []string{
		strings.Replace(plain, "a: {urls: [http://127.0.0.1:8080/]}", "a: {urls: [http://127.0.0.1:8080/], http1-pipelining: false}", 1),
		plain + "logging: {level: debug}\n",
	} {
		if got := notes(xdrhookOnly); got != "" {
			t.Fatalf("xdrhook config noted:\n%s", got)
		}
	}
	for path, want := range map[string]bool{
		"destinations.a": true, "destinations.a.health-check.interval-seconds": true,
		"namespaces.n.sets.s.bin-transforms.map.x": true, "namespaces.n.sets": true, "service.manage.port": true,
		"destinations.a.tls.key-store.store-file": true, "port-based-config.8901.routing.mode": true,
		"destinations.a.urls[1]": true, "format.framing": false, "destinations.a.auth": false, "logging.level": false,
		"destinations.a.tls.ca-file": false, "wibble": false,
	} {
		if espCompatible(path) != want {
			t.Errorf("espCompatible(%q) = %v", path, !want)
		}
	}
}

// Every key ESP's documentation documents has a row (itself, or a row with
// no rows under it that holds it: health-check's keys): the list in
// testdata cites the pages.
func TestESPDocumentedKeys(t *testing.T) {
	b, err := os.ReadFile("testdata/esp-documented-keys.txt")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, line := range strings.Split(string(b), "\n") {
		key := strings.TrimSpace(line)
		if key == "" || strings.HasPrefix(key, "#") {
			continue
		}
		n++
		covered := false
		for q := key; q != "" && !covered; q = parent(q) {
			e := espTable[q]
			covered = e != nil && (q == key || !espHasSubrows(q))
		}
		if !covered {
			t.Errorf("esp-documented-keys.txt:%d: %s has no row in ESPKeys", i+1, key)
		}
	}
	if n < 50 {
		t.Fatalf("%d keys read: the list is truncated", n)
	}
}

// The ESP keys added from its pages: headers in ESP's static: {...} are the
// destination's headers; stringify-map-keys: true is accepted and false
// refused; bin-transforms.transforms: uppercase and lowercase taken, the
// rest refused pointing to map.
func TestESPHeadersStringifyTransforms(t *testing.T) {
	c, err := parse(t, `destinations:
  d:
    urls: [http://127.0.0.1:8080/]
    headers:
      X-Plain: a
      static:
        X-Tenant: east
        Authorization: Bearer t
    http-success-status-codes: [200, 202]
routing: {mode: static, destination: d}
format: {mode: json, stringify-map-keys: true}
bin-transforms:
  include: {type: specified, bins: [a, b]}
  exclude: {type: specified, bins: [b]}
`, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(c.Destinations["d"].Headers); got != "[{X-Plain a false} {X-Tenant east false} {Authorization Bearer t false}]" {
		t.Fatalf("headers %s", got)
	}
	// A value from the environment is a secret there too.
	c, err = parse(t, "destinations: {d: {urls: [http://127.0.0.1:8080/], headers: {static: {Authorization: \"Bearer ${TOK}\"}}}}\nrouting: {mode: static, destination: d}\n", map[string]string{"TOK": "sekrit"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if h := c.Destinations["d"].Headers; len(h) != 1 || h[0].Value != "Bearer sekrit" || !h[0].FromEnv {
		t.Fatalf("headers %+v", h)
	}
	if err := c.WriteYAML(&out); err != nil || strings.Contains(out.String(), "sekrit") {
		t.Fatalf("%v\n%s", err, out.String())
	}
	wantErrs(t, minimal+"format: {mode: avro, stringify-map-keys: false}\n", nil,
		"config.yml:5: format.stringify-map-keys: "+stringifyFalse)
	c, err = parse(t, minimal+"namespaces: {users: {sets: {premium: {bin-transforms: {map: {a: b}, transforms: [uppercase, Lowercase]}}}}}\n", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bt := c.Profile([]byte("users"), []byte("premium")).BinTransforms; fmt.Sprint(bt.NameTransforms) != "[uppercase lowercase]" || bt.Identity() {
		t.Fatalf("name transforms %v", bt.NameTransforms)
	}
	wantErrs(t, minimal+"bin-transforms: {transforms: [uppercase, titlecase]}\n", nil,
		`config.yml:5: bin-transforms.transforms[1]: "titlecase": xdrhook implements the name transforms uppercase and lowercase; rename bins otherwise with bin-transforms.map (old: new), or with transform.set and transform.remove expressions`)
	wantErrs(t, minimal+"bin-transforms: {transforms: [{regex: {pattern: a, replacement: b}}]}\n", nil,
		`config.yml:5: bin-transforms.transforms[0]: want a string, got a mapping: xdrhook implements the name transforms uppercase and lowercase; rename bins otherwise with bin-transforms.map (old: new), or with transform.set and transform.remove expressions`)
	wantErrs(t, "destinations: {d: {urls: [http://127.0.0.1:8080/], headers: {dynamic: {X-A: b}}}}\nrouting: {mode: static, destination: d}\n", nil,
		"config.yml:1: destinations.d.headers.dynamic: want a string, got a mapping: headers are Name: value (ESP's static: {Name: value} is taken too); headers computed per record are request.headers")
	// static elsewhere is a name like any other.
	wantErrs(t, minimal+"bin-transforms: {map: {static: {a: b}}}\n", nil,
		"config.yml:5: bin-transforms.map.static: want a string, got a mapping")
}
