package dataplane

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/wire"
)

func TestGracefulStopAnswersEverything(t *testing.T) {
	c := newCapture(t)
	c.delay.Store(int64(300 * time.Millisecond))
	e := startEngine(t, Options{}, c.srv.URL, true, DestinationOptions{MaxInFlight: 2})
	const n = 200
	stopAnswersAll(t, e, n)
	if got := len(c.lines()); got != n {
		t.Fatalf("%d of %d delivered", got, n)
	}
	// The listener is gone.
	if conn, err := net.DialTimeout("tcp", e.addr, time.Second); err == nil {
		conn.Close()
		t.Fatal("still accepting after Stop")
	}
}

// stopAnswersAll sends n records on one connection, stops e under load once
// it has them all, and checks that every one is answered 0 before the
// connection closes and that Stop returns no error.
func stopAnswersAll(t *testing.T, e *testEngine, n int) {
	t.Helper()
	x := dialXDR(t, e.addr)
	x.c.Write(frames(n))
	waitFrames(t, e, uint64(n))
	stopped := stopInBackground(e)
	if rcs := x.replies(t, n, 5*time.Second); !allRC(rcs, 0) {
		t.Fatalf("replies during shutdown: %v", rcs)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}

func TestDrainingAnswersRetry(t *testing.T) {
	c := newCapture(t)
	e := startEngine(t, Options{}, c.srv.URL, true, DestinationOptions{})
	x := dialXDR(t, e.addr)
	e.draining.Store(true)
	x.c.Write(frames(5))
	if rcs := x.replies(t, 5, 5*time.Second); !allRC(rcs, wire.RCRetry) {
		t.Fatalf("draining: %v", rcs)
	}
	e.draining.Store(false)
}

// selfSigned makes a CA-less certificate for 127.0.0.1, usable as its own root.
func selfSigned(t *testing.T, cn string) (tls.Certificate, *x509.Certificate) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, leaf
}

func TestTLSListenerWithClientCertificates(t *testing.T) {
	srvCert, srvLeaf := selfSigned(t, "xdrhook")
	cliCert, cliLeaf := selfSigned(t, "xdr-source")
	strangerCert, _ := selfSigned(t, "stranger")
	clientCAs := x509.NewCertPool()
	clientCAs.AddCert(cliLeaf)
	roots := x509.NewCertPool()
	roots.AddCert(srvLeaf)

	c := newCapture(t)
	snd, _ := newTestHTTP1(HTTPOptions{URLs: []string{c.srv.URL}})
	d := newTestDestination(DestinationOptions{Name: "test", Sender: snd})
	p := &Profile{
		NewFramer: func() encode.Framer { return &encode.NDJSON{Enc: &encode.JSON{}} },
		Batching:  true, MaxRecords: 10, MaxBytes: 1 << 20, Interval: 10 * time.Millisecond,
	}
	addr := freeAddr(t)
	e, err := newTestEngine(Options{
		Listen: []string{addr},
		TLS: &tls.Config{Certificates: []tls.Certificate{srvCert}, ClientAuth: tls.RequireAndVerifyClientCert,
			ClientCAs: clientCAs, MinVersion: tls.VersionTLS12},
		Profiles: []*Profile{p}, Destinations: []*Destination{d},
		Router: &StaticRouter{Profile: p, Dests: []*Destination{d}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	defer e.Stop(context.Background())

	// A health check: connect and close without a byte.
	hc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	hc.Close()

	// A client with a certificate the listener does not trust is refused.
	bad, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{strangerCert}})
	if err == nil {
		bad.Write(frames(1))
		bad.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err = bad.Read(make([]byte, 1)); err == nil {
			t.Fatal("an untrusted client certificate was served")
		}
		bad.Close()
	}

	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cliCert}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	x := &xdrConn{c: conn, r: bufio.NewReader(conn)}
	const n = 50
	conn.Write(frames(n))
	if rcs := x.replies(t, n, 5*time.Second); !allRC(rcs, 0) {
		t.Fatalf("replies %v", rcs)
	}
	if got := len(c.lines()); got != n {
		t.Fatalf("%d delivered", got)
	}
	for deadline := time.Now().Add(3 * time.Second); e.m.tlsHandshakeErrors.Get() < 1 || e.m.connHealthChecks.Get() < 1; {
		if time.Now().After(deadline) {
			t.Fatalf("refused clients counted %d, health checks %d", e.m.tlsHandshakeErrors.Get(), e.m.connHealthChecks.Get())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestStopIdleIsPrompt stops idle engines: with nothing in flight, Stop
// waits only for gnet's loops to exit, not for gnet's own Stop, which polls
// for the end every 500 ms (a restart, and every test's engine, paid it).
// The fastest of three stops must come well under that poll.
func TestStopIdleIsPrompt(t *testing.T) {
	c := newCapture(t)
	best := time.Hour
	for range 3 {
		e := startEngine(t, Options{}, c.srv.URL, true, DestinationOptions{})
		x := dialXDR(t, e.addr) // an open connection, closed by the stop
		start := time.Now()
		if err := e.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		best = min(best, time.Since(start))
		x.c.Close()
	}
	if best >= 250*time.Millisecond {
		t.Fatalf("the fastest of 3 idle stops took %v", best)
	}
}
