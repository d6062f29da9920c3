package h2client

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/h2client/h2ctest"
	"golang.org/x/net/http2/hpack"
)

func benchRequest(body []byte) *Request {
	return &Request{Header: []hpack.HeaderField{
		{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "http"},
		{Name: ":authority", Value: "127.0.0.1"}, {Name: ":path", Value: "/ingest"},
		{Name: "content-type", Value: "application/json"},
		{Name: "content-length", Value: "200", Sensitive: true},
		{Name: "idempotency-key", Value: "3-1234567890abcdef", Sensitive: true},
	}, Body: body}
}

// allocTestClient is a Client of one connection to an h2ctest server, for
// the allocation tests (skipped under the race detector, which allocates).
func allocTestClient(t *testing.T) *Client {
	t.Helper()
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	srv := h2ctest.ForTest(t)
	c := New(Options{Addr: srv.Addr, MaxConns: 1})
	t.Cleanup(c.Close)
	return c
}

// A request in steady state allocates nothing: one at a time, and 8 at once
// (streams sharing writes).
func TestDoAllocatesNothing(t *testing.T) {
	c := allocTestClient(t)
	req := benchRequest(make([]byte, 200))
	var resp Response
	do := func() {
		if err := c.Do(req, &resp, time.Now().Add(5*time.Second)); err != nil || resp.Status != 200 {
			t.Fatalf("status %d, %v", resp.Status, err)
		}
	}
	for i := 0; i < 100; i++ {
		do()
	}
	if a := testing.AllocsPerRun(2000, do); a != 0 {
		t.Fatalf("%v allocations per request", a)
	}

	// Concurrent: 8 goroutines, 500 requests each, counted over all.
	const g, n = 8, 500
	run := func() {
		var wg sync.WaitGroup
		for i := 0; i < g; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := benchRequest(make([]byte, 200))
				var resp Response
				for j := 0; j < n; j++ {
					if err := c.Do(req, &resp, time.Now().Add(5*time.Second)); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	run()
	// The goroutines and their bodies are the test's: about 8×3 per run.
	if a := testing.AllocsPerRun(5, run); a > 100 {
		t.Fatalf("%v allocations per %d requests", a, g*n)
	}
}

// BenchmarkH2Request: one small request at a time, and 64 in flight on
// one connection (RunParallel), over loopback h2c to h2ctest; writes/op
// is the client's write syscalls per request.
func BenchmarkH2Request(b *testing.B) {
	srv := h2ctest.ForTest(b)
	var writes atomic.Int64
	c := New(Options{Addr: srv.Addr, MaxConns: 1, Dial: func(ctx context.Context) (net.Conn, error) {
		nc, err := (&net.Dialer{}).DialContext(ctx, "tcp", srv.Addr)
		return writeCounter{nc, &writes}, err
	}})
	defer c.Close()
	b.Run("serial", func(b *testing.B) {
		req := benchRequest(make([]byte, 200))
		var resp Response
		b.ReportAllocs()
		w0 := writes.Load()
		for i := 0; i < b.N; i++ {
			if err := c.Do(req, &resp, time.Now().Add(5*time.Second)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(writes.Load()-w0)/float64(b.N), "writes/op")
	})
	b.Run("parallel64", func(b *testing.B) {
		b.SetParallelism((64 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
		b.ReportAllocs()
		w0 := writes.Load()
		b.RunParallel(func(pb *testing.PB) {
			req := benchRequest(make([]byte, 200))
			var resp Response
			for pb.Next() {
				if err := c.Do(req, &resp, time.Now().Add(5*time.Second)); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(writes.Load()-w0)/float64(b.N), "writes/op")
	})
}

// BenchmarkH2RequestTLS: 64 in flight on one h2 connection over TLS
// (ALPN h2) to h2ctest; cpu-µs/op is the process's CPU (client and server)
// per request.
func BenchmarkH2RequestTLS(b *testing.B) {
	for _, tlsOn := range []bool{false, true} {
		name := "h2c"
		var scfg, ccfg *tls.Config
		if tlsOn {
			name = "tls"
			cert, pool := testCert(b)
			scfg, ccfg = &tls.Config{Certificates: []tls.Certificate{cert}}, &tls.Config{RootCAs: pool}
		}
		srv, err := h2ctest.StartTLS(scfg)
		if err != nil {
			b.Fatal(err)
		}
		c := New(Options{Addr: srv.Addr, MaxConns: 1, TLS: ccfg})
		b.Run(name, func(b *testing.B) {
			b.SetParallelism((64 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.ReportAllocs()
			var r0, r1 syscall.Rusage
			syscall.Getrusage(0, &r0)
			b.RunParallel(func(pb *testing.PB) {
				req := benchRequest(make([]byte, 200))
				var resp Response
				for pb.Next() {
					if err := c.Do(req, &resp, time.Now().Add(5*time.Second)); err != nil {
						b.Error(err)
						return
					}
				}
			})
			syscall.Getrusage(0, &r1)
			cpu := r1.Utime.Nano() + r1.Stime.Nano() - r0.Utime.Nano() - r0.Stime.Nano()
			b.ReportMetric(float64(cpu)/1e3/float64(b.N), "cpu-µs/op")
		})
		c.Close()
		srv.Close()
	}
}

// testCert is a self-signed certificate for 127.0.0.1 and a pool with it.
func testCert(tb testing.TB) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

type writeCounter struct {
	net.Conn
	n *atomic.Int64
}

func (c writeCounter) Write(p []byte) (int, error) {
	c.n.Add(1)
	return c.Conn.Write(p)
}
