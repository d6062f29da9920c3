package netdial

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A dial still going at the request's deadline ends with ErrDeadline; one
// that fails on its own keeps its error.
func TestDialDeadline(t *testing.T) {
	hang := func(ctx context.Context) (net.Conn, error) { <-ctx.Done(); return nil, ctx.Err() }
	start := time.Now()
	if _, err := Dial("x:1", nil, "", hang, time.Minute, time.Now().Add(50*time.Millisecond)); err != ErrDeadline {
		t.Fatalf("err %v, want ErrDeadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
	// connect-timeout first, the request's deadline still ahead: the
	// dial's own error.
	if _, err := Dial("x:1", nil, "", hang, 50*time.Millisecond, time.Now().Add(time.Minute)); err == nil || err == ErrDeadline {
		t.Fatalf("err %v, want the dial's own", err)
	}
	refused := errors.New("refused")
	if _, err := Dial("x:1", nil, "", func(context.Context) (net.Conn, error) { return nil, refused }, time.Second, time.Now().Add(time.Minute)); err != refused {
		t.Fatalf("err %v", err)
	}
}

// With a TLS config the connection is a *tls.Conn that offered alpn and
// verified the server against the name taken from addr (with neither
// ServerName nor InsecureSkipVerify, crypto/tls refuses to start).
func TestDialTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.TLS = &tls.Config{NextProtos: []string{"http/1.1"}}
	srv.StartTLS()
	defer srv.Close()
	addr := srv.Listener.Addr().String() // 127.0.0.1:port: the test certificate's IP SAN
	cfg := &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
	nc, err := Dial(addr, cfg, "http/1.1", nil, time.Second, time.Now().Add(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	tc, ok := nc.(*tls.Conn)
	if !ok || tc.ConnectionState().NegotiatedProtocol != "http/1.1" {
		t.Fatalf("%T %+v", nc, ok)
	}
	if cfg.NextProtos != nil || cfg.ServerName != "" {
		t.Fatal("the caller's config was changed")
	}
	if _, err := Dial(addr, &tls.Config{}, "http/1.1", nil, time.Second, time.Now().Add(5*time.Second)); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("an unknown authority: %v", err)
	}
}
