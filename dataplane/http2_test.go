package dataplane

import (
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/perf/harness"
)

// h2Recorder records what arrives and over which protocol.
type h2Recorder struct {
	mu      sync.Mutex
	lines   int
	gzipped int
	protos  map[string]int
}

func (r *h2Recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			w.WriteHeader(400)
			return
		}
		body = zr
	}
	b, _ := io.ReadAll(body)
	r.mu.Lock()
	if req.Header.Get("Content-Encoding") == "gzip" {
		r.gzipped++
	}
	r.lines += strings.Count(string(b), "\n")
	if r.protos == nil {
		r.protos = map[string]int{}
	}
	r.protos[req.Proto]++
	r.mu.Unlock()
}

func startWithSender(t *testing.T, snd Sender) *testEngine {
	t.Helper()
	d := newTestDestination(DestinationOptions{Name: "h2", Sender: snd, MaxInFlight: 8})
	p := &Profile{
		NewFramer: func() encode.Framer { return &encode.NDJSON{Enc: &encode.FlatJSON{}} },
		Batching:  true, MaxRecords: 50, MaxBytes: 1 << 20, Interval: 10 * time.Millisecond,
	}
	o := Options{
		Listen: []string{freeAddr(t)}, Profiles: []*Profile{p}, Destinations: []*Destination{d},
		Router: &StaticRouter{Profile: p, Dests: []*Destination{d}}, Loops: 2,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	e, err := newTestEngine(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop(context.Background()) })
	return &testEngine{Engine: e, addr: o.Listen[0], dest: d}
}

// Go's own h2c server (prior knowledge, no TLS) receives the stream.
func TestHTTP2CleartextToGoServer(t *testing.T) {
	rec := &h2Recorder{}
	addr := serveH2C(t, rec, &http2.Server{MaxConcurrentStreams: 4})
	snd, err := newTestHTTP2(HTTPOptions{URLs: []string{"http://" + addr + "/bulk"}, MaxConnsPerEndpoint: 2})
	if err != nil {
		t.Fatal(err)
	}
	deliverOverHTTP2(t, snd, rec, 1000)
}

// nginx from Debian, with TLS and http2, proxies the stream to a Go
// backend: h2 negotiated by ALPN against a server no one here wrote.
func TestHTTP2OverTLSThroughNginx(t *testing.T) {
	if testing.Short() {
		t.Skip("system tier: runs nginx; run by make test-system")
	}
	ng := harness.NewNginx(t)
	rec := &h2Recorder{}
	backend, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bsrv := &http.Server{Handler: rec}
	go bsrv.Serve(backend)
	defer bsrv.Close()

	dir := ng.Dir
	cert, leaf := selfSigned(t, "127.0.0.1")
	keyDER, _ := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600)
	os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	ng.Start(t, "ssl http2", fmt.Sprintf(`    ssl_certificate %[1]s/cert.pem;
    ssl_certificate_key %[1]s/key.pem;
    client_max_body_size 16m;
    location / { proxy_pass http://%[2]s; proxy_http_version 1.1; }`, dir, backend.Addr().String()))
	port := ng.Addr

	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	snd, err := newTestHTTP2(HTTPOptions{URLs: []string{"https://" + port + "/bulk"}, TLS: &tls.Config{RootCAs: roots}, MaxConnsPerEndpoint: 2})
	if err != nil {
		t.Fatal(err)
	}
	e := startWithSender(t, snd)
	x := dialXDR(t, e.addr)
	const n = 500
	x.c.Write(frames(n))
	if rcs := x.replies(t, n, 10*time.Second); !allRC(rcs, 0) {
		t.Fatalf("replies %v", rcs)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.lines != n {
		t.Fatalf("backend received %d lines", rec.lines)
	}
	// The hop we care about is xdrhook → nginx: check nginx spoke h2.
	if e.dest.m.requests[2].Get() == 0 {
		t.Fatal("no 2xx from nginx")
	}

	// Verification is on by default: an unknown CA fails (retry, not 0).
	bad, _ := newTestHTTP2(HTTPOptions{URLs: []string{"https://" + port + "/bulk"}})
	status, _, err := bad.Do(&Request{Body: []byte("{}\n"), ContentType: "application/x-ndjson"}, time.Now().Add(2*time.Second))
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted certificate: status %d err %v", status, err)
	}
}

// The same nginx-free check for HTTP/1.1 over TLS with a custom CA.
func TestHTTP1OverTLS(t *testing.T) {
	rec := &h2Recorder{}
	cert, leaf := selfSigned(t, "127.0.0.1")
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: rec}
	go srv.Serve(ln)
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	snd, _ := newTestHTTP1(HTTPOptions{URLs: []string{"https://" + ln.Addr().String()}, TLS: &tls.Config{RootCAs: roots}, Gzip: true, GzipThreshold: 10})
	e := startWithSender(t, snd)
	x := dialXDR(t, e.addr)
	x.c.Write(frames(100))
	if rcs := x.replies(t, 100, 10*time.Second); !allRC(rcs, 0) {
		t.Fatalf("replies %v", rcs)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.lines != 100 || rec.gzipped == 0 || rec.protos["HTTP/1.1"] == 0 {
		t.Fatalf("received %d lines, %d gzipped bodies, over %v", rec.lines, rec.gzipped, rec.protos)
	}
}

// deliverOverHTTP2 sends n records through an engine on snd and checks
// that every one is answered 0 and that rec got them all, over HTTP/2 only.
func deliverOverHTTP2(t *testing.T, snd Sender, rec *h2Recorder, n int) {
	t.Helper()
	e := startWithSender(t, snd)
	x := dialXDR(t, e.addr)
	x.c.Write(frames(n))
	if rcs := x.replies(t, n, 10*time.Second); !allRC(rcs, 0) {
		t.Fatalf("replies %v", rcs)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.lines != n || rec.protos["HTTP/2.0"] == 0 || len(rec.protos) != 1 {
		t.Fatalf("received %d lines over %v", rec.lines, rec.protos)
	}
}
