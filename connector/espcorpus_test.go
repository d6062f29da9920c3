package connector

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/xdrhook/xdrhook/config"
	"github.com/xdrhook/xdrhook/perf/harness"
)

// espCorpus reads testdata/esp-configs/NAME and ties it to this test: the
// sink's URL for esp-sink.example, free ports, dir for the store directory,
// the listener on loopback.
func espCorpus(t *testing.T, name, sinkURL, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "esp-configs", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, u := range []string{"http://esp-sink.example:8080", "https://esp-sink.example:8443"} {
		s = strings.ReplaceAll(s, u, sinkURL)
	}
	s = strings.ReplaceAll(s, "8901", freePort(t))
	s = strings.ReplaceAll(s, "8902", freePort(t))
	s = strings.ReplaceAll(s, "/etc/aerospike-esp-outbound/", dir+"/")
	return strings.Replace(s, "\nservice:\n", "\nservice:\n  address: 127.0.0.1\n", 1)
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

func listenPort(t *testing.T, cfg *config.Config) string {
	t.Helper()
	return strconv.Itoa(cfg.Service.Ports[0])
}

// The clear-text ESP config loads (its no-effect keys warned) and delivers
// a record to a plain HTTP sink.
func TestESPCorpusClearText(t *testing.T) {
	var p posts
	srv := httptest.NewServer(http.HandlerFunc(p.handler))
	defer srv.Close()
	dir := t.TempDir()
	yml := espCorpus(t, "clear-text.yml", srv.URL, dir)
	cfg, err := config.Parse(dir+"/aerospike-esp-outbound.yml", []byte(yml), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Warnings) != 6 || len(cfg.Notes) != 1 || cfg.Service.ClusterName != "esp-east" {
		t.Fatalf("warnings %v notes %v cluster %q", cfg.Warnings, cfg.Notes, cfg.Service.ClusterName)
	}
	startYAML(t, dir, yml)
	c, err := net.Dial("tcp", "127.0.0.1:"+listenPort(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if rc, err := sendRecord(t, c, "k1"); err != nil || rc != 0 {
		t.Fatalf("rc %d, %v", rc, err)
	}
	if b := p.got(); len(b) != 1 || !strings.Contains(b[0], `"bins":[{"name":"name","type":"str","value":"user k1"}]`) {
		t.Fatalf("sink got %q", b)
	}
}

// The TLS ESP config: JKS stores for the listener, a PKCS#12 key store and
// a JKS trust store for the destination, an mTLS sink over HTTP/2, an XDR
// node named in allowed-peer-names.
func TestESPCorpusTLS(t *testing.T) {
	pki := harness.NewPKI(t)
	pki.GoJKS(t, "connector.jks", "connector", pki.Issue(t, "connector", true), "")
	pki.GoTrustJKS(t, "truststore.jks")
	pki.GoPKCS12(t, "client.p12", pki.Issue(t, "esp-client", false))
	if err := os.Rename(filepath.Join(pki.Dir, "password"), filepath.Join(pki.Dir, "store-password")); err != nil {
		t.Fatal(err)
	}
	var p posts
	srv := httptest.NewUnstartedServer(http.HandlerFunc(p.handler))
	srv.EnableHTTP2 = true
	srv.TLS = newMTLSConfig(t, pki)
	srv.StartTLS()
	defer srv.Close()
	yml := espCorpus(t, "tls.yml", srv.URL, pki.Dir)
	cfg, err := config.Parse(pki.Dir+"/aerospike-esp-outbound.yml", []byte(yml), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Service.TLS == nil || cfg.Service.TLS.KeyStore == nil || cfg.Destinations["esp-sink"].TLS.KeyStore.Type != config.StorePKCS12 {
		t.Fatalf("stores not loaded: %+v", cfg.Service.TLS)
	}
	startYAML(t, pki.Dir, yml)
	c, err := xdrTLS(listenPort(t, cfg), pki, pki.Issue(t, "xdr-node-1", false))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if rc, err := sendRecord(t, c, "k1"); err != nil || rc != 0 {
		t.Fatalf("rc %d, %v", rc, err)
	}
	if b := p.got(); len(b) != 1 || !strings.Contains(b[0], `"name":"user k1"`) {
		t.Fatalf("sink got %q", b)
	}
}

// The custom-code ESP config fails to load with the refusal of custom code
// (lines one below the file's: the test inserts the loopback address).
func TestESPCorpusCustomCode(t *testing.T) {
	dir := t.TempDir()
	yml := espCorpus(t, "custom-code.yml", "http://127.0.0.1:1", dir)
	_, err := config.Parse(dir+"/aerospike-esp-outbound.yml", []byte(yml), config.Options{})
	var errs config.Errors
	if !errors.As(err, &errs) || len(errs) != 2 {
		t.Fatalf("want 2 problems, got %v", err)
	}
	const msg = "an ESP key xdrhook does not honour: custom code (a Java class) cannot run in xdrhook: express it with the expression sections, filter, transform and routing: {mode: expression} (docs/migrating-from-esp.md)"
	if errs[0].Path != "routing.class" || errs[0].Line != 15 || errs[0].Msg != msg ||
		errs[1].Path != "custom-transformer" || errs[1].Line != 17 || errs[1].Msg != msg {
		t.Fatalf("problems:\n%v", err)
	}
}
