package dataplane

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/wire"
)

// portRecorder is a PortRouter that notes the port of every record and
// sends records from the skipped port nowhere (answered 0, counted).
type portRecorder struct {
	StaticRouter
	mu    sync.Mutex
	ports map[int]int
	skip  int
}

func (r *portRecorder) RoutePort(port int, m *wire.Message) (*Profile, []*Destination) {
	r.mu.Lock()
	r.ports[port]++
	r.mu.Unlock()
	if port == r.skip {
		return r.Profile, nil
	}
	return r.Route(m)
}

// TestSessionsKnowTheirListenerPort: over plain TCP (gnet) and TLS, the
// engine routes each record with the port of the listener it came in on.
func TestSessionsKnowTheirListenerPort(t *testing.T) {
	for _, withTLS := range []bool{false, true} {
		t.Run("tls="+strconv.FormatBool(withTLS), func(t *testing.T) {
			c := newCapture(t)
			snd, _ := newTestHTTP1(HTTPOptions{URLs: []string{c.srv.URL}})
			d := newTestDestination(DestinationOptions{Name: "test", Sender: snd})
			p := &Profile{
				NewFramer: func() encode.Framer { return &encode.NDJSON{Enc: &encode.JSON{}} },
				Batching:  true, MaxRecords: 10, MaxBytes: 1 << 20, Interval: 10 * time.Millisecond,
			}
			addrs := []string{freeAddr(t), freeAddr(t)}
			port := func(a string) int { _, ps, _ := net.SplitHostPort(a); n, _ := strconv.Atoi(ps); return n }
			r := &portRecorder{StaticRouter: StaticRouter{Profile: p, Dests: []*Destination{d}}, ports: map[int]int{}, skip: port(addrs[1])}
			o := Options{Listen: addrs, Profiles: []*Profile{p}, Destinations: []*Destination{d}, Router: r,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Loops: 2}
			var dial func(a string) net.Conn
			if withTLS {
				cert, leaf := selfSigned(t, "xdrhook")
				roots := x509.NewCertPool()
				roots.AddCert(leaf)
				o.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
				dial = func(a string) net.Conn {
					conn, err := tls.Dial("tcp", a, &tls.Config{RootCAs: roots})
					if err != nil {
						t.Fatal(err)
					}
					return conn
				}
			} else {
				dial = func(a string) net.Conn {
					conn, err := net.Dial("tcp", a)
					if err != nil {
						t.Fatal(err)
					}
					return conn
				}
			}
			e, err := newTestEngine(o)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.Start(); err != nil {
				t.Fatal(err)
			}
			defer e.Stop(context.Background())
			for i, a := range addrs {
				conn := dial(a)
				defer conn.Close()
				x := &xdrConn{c: conn, r: bufio.NewReader(conn)}
				conn.Write(frames(3 + i))
				if rcs := x.replies(t, 3+i, 5*time.Second); !allRC(rcs, 0) {
					t.Fatalf("port %s: %v", a, rcs)
				}
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			if len(r.ports) != 2 || r.ports[port(addrs[0])] != 3 || r.ports[port(addrs[1])] != 4 {
				t.Fatalf("records by port %v, want 3 on %s and 4 on %s", r.ports, addrs[0], addrs[1])
			}
			e.fold()
			if got := len(c.lines()); got != 3 || e.m.skipped.Get() != 4 {
				t.Fatalf("delivered %d, skipped %d; want 3 and 4", got, e.m.skipped.Get())
			}
		})
	}
}
