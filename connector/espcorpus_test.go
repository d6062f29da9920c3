package connector

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/config"
	"github.com/xdrhook/xdrhook/perf/harness"
	"github.com/xdrhook/xdrhook/wire"
)

// espCorpus reads testdata/esp-configs/NAME and ties it to this test (as
// the README there says): the sink's URL for the example's, free ports for
// 8901 and 8902, loopback for 0.0.0.0. It returns the text and the XDR port.
func espCorpus(t *testing.T, name, sinkURL string) (string, string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "esp-configs", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, u := range []string{"http://connector.example.com:8080", "https://connector.aerospike.com:8443",
		"http://xdr-proxy-aerospike-xdr-proxy.aerospike-test.svc.cluster.local:8901"} {
		s = strings.ReplaceAll(s, u, sinkURL)
	}
	port := freeTCPPort(t)
	s = strings.ReplaceAll(s, "port: 8901", "port: "+port)
	s = strings.ReplaceAll(s, "port: 8902", "port: "+freeTCPPort(t))
	return strings.ReplaceAll(s, "address: 0.0.0.0", "address: 127.0.0.1"), port
}

// posts records the bodies POSTed to a sink (health checks are GETs).
type posts struct {
	mu     sync.Mutex
	bodies []string
}

func (p *posts) handler(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	if r.Method == http.MethodPost {
		p.mu.Lock()
		p.bodies = append(p.bodies, string(b))
		p.mu.Unlock()
	}
}

func (p *posts) got() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.bodies...)
}

// h2cSink is a Go server speaking HTTP/2 without TLS (prior knowledge), as
// the examples' protocol: HTTP_2 over http:// asks.
func h2cSink(t *testing.T, p *posts) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(p.handler))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// runCorpus loads a corpus file (in dir), runs it and delivers one record
// from an XDR connection; it returns the bodies the sink got.
func runCorpus(t *testing.T, dir, yml, port string, p *posts) []string {
	t.Helper()
	startYAML(t, dir, yml)
	c, err := net.Dial("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if rc, err := sendRecord(t, c, "k1"); err != nil || rc != 0 {
		t.Fatalf("rc %d, %v", rc, err)
	}
	return p.got()
}

const corpusBody = `"bins":[{"name":"name","type":"str","value":"user k1"}]`

// The clear-text and integration-test configs load unchanged (warned:
// enable-console-logging, and a health-check call-timeout longer than its
// interval; noted: they write no format, so ESP would send its XDR Proxy
// format where xdrhook sends json) and deliver over h2c.
func TestESPCorpusClearText(t *testing.T) {
	for _, name := range []string{"clear-text.yml", "integration-test.yml"} {
		t.Run(name, func(t *testing.T) {
			var p posts
			srv := h2cSink(t, &p)
			dir := t.TempDir()
			yml, port := espCorpus(t, name, srv.URL)
			cfg, err := config.Parse(dir+"/aerospike-esp-outbound.yml", []byte(yml), config.Options{})
			if err != nil {
				t.Fatal(err)
			}
			d := cfg.Destinations["dc1"]
			w := fmt.Sprint(cfg.Warnings)
			if len(cfg.Warnings) != 2 || !strings.Contains(w, "logging.enable-console-logging: an ESP key with no effect") ||
				!strings.Contains(w, "destinations.dc1.health-check.call-timeout: 5100 ms is not below interval-seconds (5 s)") ||
				len(cfg.Notes) != 1 || cfg.Notes[0].Path != "format" || d.Protocol != config.HTTP2 || d.MaxConnectionsPerEndpoint != 20 || d.CallTimeout.Milliseconds() != 5100 {
				t.Fatalf("warnings %v notes %v destination %+v", cfg.Warnings, cfg.Notes, d)
			}
			if b := runCorpus(t, dir, yml, port, &p); len(b) != 1 || !strings.Contains(b[0], corpusBody) {
				t.Fatalf("sink got %q", b)
			}
		})
	}
}

// The TLS config loads with the JKS stores it names (generated here at its
// paths: by keystore-go, and in the system tier by keytool) and delivers
// over h2 to a sink that requires the client certificate.
func TestESPCorpusTLS(t *testing.T) {
	for _, maker := range []string{"keystore-go", "keytool"} {
		t.Run(maker, func(t *testing.T) {
			pki := harness.NewPKI(t)
			certs := filepath.Join(pki.Dir, "secrets", "tls-certs")
			if err := os.MkdirAll(certs, 0o755); err != nil {
				t.Fatal(err)
			}
			const keyStore, trustStore = "secrets/tls-certs/svc.cluster.local.keystore.jks", "secrets/tls-certs/svc.cluster.local.truststore.jks"
			client := pki.Issue(t, "svc.cluster.local", false)
			if maker == "keytool" {
				if testing.Short() {
					t.Skip("system tier (keytool): run by make test-system")
				}
				pki.KeytoolKeyStore(t, keyStore, "JKS", client)
				pki.KeytoolTrustStore(t, trustStore, "JKS")
			} else {
				pki.GoJKS(t, keyStore, "svc", client, "")
				pki.GoTrustJKS(t, trustStore)
			}
			if err := os.Rename(filepath.Join(pki.Dir, "password"), filepath.Join(certs, "storepass")); err != nil {
				t.Fatal(err)
			}
			var p posts
			srv := httptest.NewUnstartedServer(http.HandlerFunc(p.handler))
			srv.EnableHTTP2 = true
			srv.TLS = newMTLSConfig(t, pki)
			srv.StartTLS()
			defer srv.Close()
			yml, port := espCorpus(t, "tls.yml", srv.URL)
			cfg, err := config.Parse(pki.Dir+"/aerospike-esp-outbound.yml", []byte(yml), config.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if ks := cfg.Destinations["dc1"].TLS.KeyStore; ks == nil || ks.File != pki.Dir+"/"+keyStore {
				t.Fatalf("key store %+v", ks)
			}
			if b := runCorpus(t, pki.Dir, yml, port, &p); len(b) != 1 || !strings.Contains(b[0], corpusBody) {
				t.Fatalf("sink got %q", b)
			}
		})
	}
}

// The custom-code config fails to load with the refusal of custom code.
func TestESPCorpusCustomCode(t *testing.T) {
	dir := t.TempDir()
	yml, _ := espCorpus(t, "custom-code-plugin.yml", "https://127.0.0.1:1")
	_, err := config.Parse(dir+"/aerospike-esp-outbound.yml", []byte(yml), config.Options{})
	var errs config.Errors
	if !errors.As(err, &errs) || len(errs) != 1 {
		t.Fatalf("want 1 problem, got %v", err)
	}
	const msg = "an ESP key xdrhook does not honour: custom code (a Java class) cannot run in xdrhook: express it with the expression sections, filter, transform and routing: {mode: expression} (docs/migrating-from-esp.md)"
	if errs[0].Path != "namespaces.test.custom-transformer" || errs[0].Line != 24 || errs[0].Msg != msg {
		t.Fatalf("problem: %v", err)
	}
}

// espDocsURLs are the URLs we wrote into the docs-page examples (README):
// espDocsCorpus points them at the test's sink.
var espDocsURLs = []string{"http://xdr-proxy1.example.com:8080", "http://xdr-proxy2.example.com:8080",
	"http://all-data.example.com:8080", "http://users-sets.example.com:8080", "http://connector.example.com:8080"}

func espDocsCorpus(t *testing.T, name, sinkURL string) (string, string) {
	t.Helper()
	yml, port := espCorpus(t, name, sinkURL)
	for _, u := range espDocsURLs {
		yml = strings.ReplaceAll(yml, u, sinkURL)
	}
	return yml, port
}

// The examples of Aerospike's ESP docs pages (completed where the page
// elides, as the README says): static-multi-destination delivers the
// record to both destinations, skip answers 0 and sends nothing, the
// batching example resolves to the page's batching per level, each with
// the default-protocol note for its destinations (and the format note
// where it writes none) and no warning.
func TestESPCorpusDocsPages(t *testing.T) {
	t.Run("routing-static-multi", func(t *testing.T) {
		var p posts
		srv := httptest.NewServer(http.HandlerFunc(p.handler))
		defer srv.Close()
		dir := t.TempDir()
		yml, port := espDocsCorpus(t, "docs-routing-static-multi.yml", srv.URL)
		cfg, err := config.Parse(dir+"/aerospike-esp-outbound.yml", []byte(yml), config.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(cfg.Warnings) != 0 || len(cfg.Notes) != 3 || cfg.Notes[0].Path != "destinations.xdr-proxy1.protocol" || cfg.Notes[1].Path != "destinations.xdr-proxy2.protocol" || cfg.Notes[2].Path != "format" {
			t.Fatalf("warnings %v notes %v", cfg.Warnings, cfg.Notes)
		}
		b := runCorpus(t, dir, yml, port, &p)
		if len(b) != 2 || !strings.Contains(b[0], corpusBody) || b[0] != b[1] {
			t.Fatalf("sink got %q", b)
		}
	})
	t.Run("routing-skip", func(t *testing.T) {
		var p posts
		dir := t.TempDir()
		yml, port := espDocsCorpus(t, "docs-routing-skip.yml", "http://127.0.0.1:1")
		cfg, err := config.Parse(dir+"/aerospike-esp-outbound.yml", []byte(yml), config.Options{})
		if err != nil || len(cfg.Warnings) != 0 || len(cfg.Notes) != 1 || cfg.Notes[0].Path != "format" {
			t.Fatalf("%v; warnings %v notes %v", err, cfg.Warnings, cfg.Notes)
		}
		if b := runCorpus(t, dir, yml, port, &p); len(b) != 0 {
			t.Fatalf("sink got %q", b)
		}
	})
	t.Run("batching", func(t *testing.T) {
		yml, _ := espDocsCorpus(t, "docs-batching.yml", "http://127.0.0.1:1")
		cfg, err := config.Parse(t.TempDir()+"/aerospike-esp-outbound.yml", []byte(yml), config.Options{})
		if err != nil {
			t.Fatal(err)
		}
		top, players, retired := cfg.Profile([]byte("test"), []byte("users")).Batching, cfg.Profile([]byte("players"), nil).Batching, cfg.Profile([]byte("players"), []byte("retired")).Batching
		// The page writes no format: the second note says ESP's default
		// (its XDR Proxy format) is not xdrhook's.
		if len(cfg.Warnings) != 0 || len(cfg.Notes) != 2 || cfg.Notes[1].Path != "format" ||
			!top.Enabled || top.Interval.Milliseconds() != 5000 || top.MaxBytes != 2000000 || top.MaxRecords != 25 ||
			!players.Enabled || players.Interval.Milliseconds() != 2000 || retired.Enabled {
			t.Fatalf("warnings %v notes %v batching %+v %+v %+v", cfg.Warnings, cfg.Notes, top, players, retired)
		}
	})
}

// The docs-page example that cannot load fails with one precise problem:
// custom routing, with the custom-code refusal.
func TestESPCorpusDocsPagesRefused(t *testing.T) {
	yml, _ := espDocsCorpus(t, "docs-routing-custom.yml", "http://127.0.0.1:1")
	_, err := config.Parse("aerospike-esp-outbound.yml", []byte(yml), config.Options{})
	var errs config.Errors
	const want = "aerospike-esp-outbound.yml:13: routing.class: an ESP key xdrhook does not honour: custom code (a Java class) cannot run in xdrhook: express it with the expression sections, filter, transform and routing: {mode: expression} (docs/migrating-from-esp.md)"
	if !errors.As(err, &errs) || len(errs) != 1 || errs[0].Error() != want {
		t.Fatalf("want\n%s\ngot %v", want, err)
	}
}

// sendRecordIn sends one write of namespace ns and set set with bins
// name and Score, and returns its reply code.
func sendRecordIn(t *testing.T, c net.Conn, ns, set, key string) (byte, error) {
	t.Helper()
	r := &wire.Record{Kind: wire.KindWrite, Generation: 1, Namespace: ns, Set: set, TTL: wire.TTLNever,
		KeyType: wire.ParticleString, Key: []byte(key), LUT: wire.MakeLUT(1, 1734388704784),
		Bins: []wire.BinSpec{{Name: "name", Type: wire.ParticleString, Value: []byte("user " + key)},
			{Name: "Score", Type: wire.ParticleString, Value: []byte("high")}}}
	var dg wire.Digester
	r.SetDigest(&dg)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(wire.AppendFrame(nil, r)); err != nil {
		return 0, err
	}
	buf := make([]byte, wire.ReplySize)
	if _, err := io.ReadFull(c, buf); err != nil {
		return 0, err
	}
	return buf[13], nil
}

// The namespaces page's example: namespace users, set premium goes to
// users-sets with its bin names upper-cased (its transforms: [uppercase]);
// the rest of users and other namespaces go to all-data unchanged.
func TestESPCorpusDocsNamespaces(t *testing.T) {
	var all, sets posts
	allSrv, setsSrv := httptest.NewServer(http.HandlerFunc(all.handler)), httptest.NewServer(http.HandlerFunc(sets.handler))
	defer allSrv.Close()
	defer setsSrv.Close()
	yml, port := espCorpus(t, "docs-namespaces.yml", "")
	yml = strings.ReplaceAll(yml, "http://all-data.example.com:8080", allSrv.URL)
	yml = strings.ReplaceAll(yml, "http://users-sets.example.com:8080", setsSrv.URL)
	dir := t.TempDir()
	cfg, err := config.Parse(dir+"/aerospike-esp-outbound.yml", []byte(yml), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Two destinations without protocol, and no top-level format.
	if len(cfg.Warnings) != 0 || len(cfg.Notes) != 3 {
		t.Fatalf("warnings %v notes %v", cfg.Warnings, cfg.Notes)
	}
	startYAML(t, dir, yml)
	c, err := net.Dial("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, r := range [][2]string{{"users", "premium"}, {"users", "basic"}, {"places", "cities"}} {
		if rc, err := sendRecordIn(t, c, r[0], r[1], "k"); err != nil || rc != 0 {
			t.Fatalf("%v: rc %d, %v", r, rc, err)
		}
	}
	const upper = `"bins":[{"name":"NAME","type":"str","value":"user k"},{"name":"SCORE","type":"str","value":"high"}]`
	const plain = `"bins":[{"name":"name","type":"str","value":"user k"},{"name":"Score","type":"str","value":"high"}]`
	s, a := sets.got(), all.got()
	if len(s) != 1 || !strings.Contains(s[0], upper) || !strings.Contains(s[0], `"key":["users","premium",`) ||
		len(a) != 2 || !strings.Contains(a[0], plain) || !strings.Contains(a[0], `"key":["users","basic",`) ||
		!strings.Contains(a[1], plain) || !strings.Contains(a[1], `"key":["places","cities",`) {
		t.Fatalf("users-sets got %q\nall-data got %q", s, a)
	}
}
