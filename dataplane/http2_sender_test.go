package dataplane

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/xdrhook/xdrhook/auth"
	"github.com/xdrhook/xdrhook/h2client/h2ctest"
	"github.com/xdrhook/xdrhook/shape"
)

// One record per request over h2c allocates nothing in the sender, with an
// idempotency key (batching off) or a record count, default headers: with
// Do, and with Go (headers, h2call and its completion reused).
func TestHTTP2SenderAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	srv := h2ctest.ForTest(t)
	snd, err := newTestHTTP2(HTTPOptions{URLs: []string{"http://" + srv.Addr + "/ingest"}, MaxConnsPerEndpoint: 1,
		Headers: [][2]string{{"X-Tenant", "a"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()
	body := []byte(`{"key":"k","bins":{"a":1}}` + "\n")
	for _, r := range []*Request{
		{Body: body, ContentType: "application/json", Records: 1, IdempotencyKey: []byte("3-0123456789abcdef")},
		{Body: body, ContentType: "application/x-ndjson", Records: 7},
	} {
		do := func() {
			if st, _, err := snd.Do(r, time.Now().Add(5*time.Second)); err != nil || st != 200 {
				t.Fatalf("status %d, %v", st, err)
			}
		}
		for i := 0; i < 100; i++ {
			do()
		}
		if a := testing.AllocsPerRun(1000, do); a != 0 {
			t.Fatalf("%v allocations per request", a)
		}
		if a := goAllocs(t, snd, r); a != 0 {
			t.Fatalf("Go: %v allocations per request", a)
		}
	}
}

// The request as a Go server sees it: pseudo-headers, lower-case names, the
// destination's headers overridden by the request's, Idempotency-Key or
// Xdrhook-Records, gzip, no User-Agent when empty, a per-record path and
// query.
func TestHTTP2SenderHeaders(t *testing.T) {
	var mu sync.Mutex
	var got []*http.Request
	var bodies []string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := new(strings.Builder)
		buf := make([]byte, 4096)
		for {
			n, err := r.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		mu.Lock()
		got = append(got, r)
		bodies = append(bodies, b.String())
		mu.Unlock()
		w.Header().Set("Retry-After", "3")
		w.WriteHeader(503)
	})
	addr := serveH2C(t, h, &http2.Server{})
	snd, err := NewHTTP2Sender(testHTTPOptions(HTTPOptions{URLs: []string{"http://" + addr + "/base"}, Path: "bulk",
		Method: "PUT", Headers: [][2]string{{"X-Static", "s"}, {"X-Over", "static"}, {"Connection", "close"}}, UserAgent: "ua/1",
		Gzip: true, GzipThreshold: 100}))
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()
	dl := time.Now().Add(5 * time.Second)
	st, ra, err := snd.Do(&Request{Body: []byte("{}\n"), ContentType: "application/x-ndjson", Records: 2,
		Headers: []shape.Header{{Name: "X-Over", Value: []byte("request")}}}, dl)
	if err != nil || st != 503 || ra != 3*time.Second {
		t.Fatalf("status %d retry-after %v, %v", st, ra, err)
	}
	snd.Do(&Request{Body: []byte(strings.Repeat("x", 200)), IdempotencyKey: []byte("3-abc"), Path: []byte("?a=1"), Method: "POST"}, dl)
	snd.Do(&Request{Path: []byte("/set/key"), Method: "DELETE"}, dl)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 {
		t.Fatalf("%d requests", len(got))
	}
	r := got[0]
	if r.Method != "PUT" || r.URL.RequestURI() != "/base/bulk" || r.Host != addr || r.ProtoMajor != 2 ||
		r.Header.Get("Content-Type") != "application/x-ndjson" || r.ContentLength != 3 || r.Header.Get("User-Agent") != "ua/1" ||
		r.Header.Get("X-Static") != "s" || r.Header.Get("X-Over") != "request" || len(r.Header.Values("X-Over")) != 1 ||
		r.Header.Get("Xdrhook-Records") != "2" || r.Header.Get("Idempotency-Key") != "" || r.Header.Get("Content-Encoding") != "" ||
		bodies[0] != "{}\n" {
		t.Fatalf("first request: %s %s host %q headers %v body %q", r.Method, r.URL, r.Host, r.Header, bodies[0])
	}
	r = got[1]
	if r.Method != "POST" || r.URL.RequestURI() != "/base/bulk?a=1" || r.Header.Get("Idempotency-Key") != "3-abc" ||
		r.Header.Get("Xdrhook-Records") != "" || r.Header.Get("Content-Encoding") != "gzip" || len(bodies[1]) >= 200 {
		t.Fatalf("second request: %s %s %v %d bytes", r.Method, r.URL, r.Header, len(bodies[1]))
	}
	r = got[2]
	if r.Method != "DELETE" || r.URL.RequestURI() != "/base/set/key" || r.ContentLength != 0 || bodies[2] != "" {
		t.Fatalf("third request: %s %s %v", r.Method, r.URL, r.Header)
	}
}

// h2 over TLS to Go's net/http server (ALPN h2), and a TLS server that only
// speaks HTTP/1.1: a clear error, not a hang.
func TestHTTP2OverTLSToGoServer(t *testing.T) {
	rec := &h2Recorder{}
	srv := httptest.NewUnstartedServer(rec)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	snd, err := newTestHTTP2(HTTPOptions{URLs: []string{srv.URL + "/bulk"}, TLS: &tls.Config{RootCAs: roots}, MaxConnsPerEndpoint: 2})
	if err != nil {
		t.Fatal(err)
	}
	deliverOverHTTP2(t, snd, rec, 500)

	h1 := httptest.NewTLSServer(rec) // no EnableHTTP2: ALPN offers http/1.1 only
	defer h1.Close()
	roots = x509.NewCertPool()
	roots.AddCert(h1.Certificate())
	snd1, _ := newTestHTTP2(HTTPOptions{URLs: []string{h1.URL}, TLS: &tls.Config{RootCAs: roots}})
	defer snd1.Close()
	_, _, err = snd1.Do(&Request{Body: []byte("{}\n")}, time.Now().Add(2*time.Second))
	if err == nil || !strings.Contains(err.Error(), "did not negotiate HTTP/2") {
		t.Fatalf("HTTP/1.1-only TLS server: %v", err)
	}
}

func TestURLPath(t *testing.T) {
	for u, want := range map[string]string{
		"http://h:1": "/", "http://h:1/": "/", "https://h/a/b?q=1": "/a/b?q=1", "http://h?x": "/?x",
		"http://user:p%2F@h:1/x": "/x", "http://[::1]:8080/y": "/y",
	} {
		if got := urlPath(u); got != want {
			t.Errorf("%s: %q, want %q", u, got, want)
		}
	}
}

// A SigV4-signed request over h2c: the signature, its headers and the URL
// it signs (built per request) stay within the budget of 2 allocations per
// request (issue 17); the sender builds the URL in its arena, so 0.
func TestHTTP2SenderSigV4Allocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	srv := h2ctest.ForTest(t)
	a := auth.NewSigV4WithCredentials(auth.Spec{Type: auth.TypeAWSSigV4, Service: "lambda"}, "eu-west-1",
		credentials.NewStaticCredentialsProvider("AKID", "SECRET", "TOKEN"), auth.Options{})
	defer a.Close()
	if err := a.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	snd, err := newTestHTTP2(HTTPOptions{URLs: []string{"http://" + srv.Addr + "/ingest"}, MaxConnsPerEndpoint: 1, Auth: a})
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()
	body := bytes.Repeat([]byte("x"), 1024)
	for _, r := range []*Request{
		{Body: body, ContentType: "application/json", Records: 1},
		{Body: body, ContentType: "application/json", Records: 1, Path: []byte("/fn/k1")}, // a per-record path
	} {
		do := func() {
			if st, _, err := snd.Do(r, time.Now().Add(5*time.Second)); err != nil || st != 200 {
				t.Fatalf("status %d, %v", st, err)
			}
		}
		for i := 0; i < 100; i++ {
			do()
		}
		n := testing.AllocsPerRun(1000, do)
		t.Logf("path %q: %.2f allocations per signed request", r.Path, n)
		if n > 2 {
			t.Fatalf("path %q: %.2f allocations per signed request, budget 2", r.Path, n)
		}
		if n != 0 {
			t.Errorf("path %q: %.2f allocations per signed request, want 0", r.Path, n)
		}
	}
}
