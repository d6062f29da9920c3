package connector

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/dataplane"
	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/wire"
)

// bodySink records what each request carried.
type bodySink struct {
	mu   sync.Mutex
	reqs []string // "content-type body"
	srv  *httptest.Server
}

func newBodySink(t *testing.T) *bodySink {
	s := &bodySink{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, r.Header.Get("Content-Type")+" "+string(b))
		s.mu.Unlock()
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *bodySink) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.reqs
	s.reqs = nil
	return out
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// sendOne sends one record on a fresh connection to port and wants 0.
func sendOne(t *testing.T, port int, r *wire.Record) {
	t.Helper()
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var d wire.Digester
	r.Generation, r.TTL, r.KeyType, r.Key = 1, wire.TTLNever, wire.ParticleInteger, wire.IntKey(7)
	r.LUT = wire.MakeLUT(1, 1734388704784)
	r.SetDigest(&d)
	c.Write(wire.AppendFrame(nil, r))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, wire.ReplySize)
	if _, err := io.ReadFull(bufio.NewReader(c), buf); err != nil {
		t.Fatal(err)
	}
	if buf[13] != 0 {
		t.Fatalf("rc %d", buf[13])
	}
}

// TestPortBasedConfigEndToEnd: one xdrhook on two ports; records on the
// first go to destination a as JSON (the top level), records on the second
// to b as MessagePack (its port-based-config block), except namespace
// "logs" there, whose override (on top of the port's block) says flat-json.
func TestPortBasedConfigEndToEnd(t *testing.T) {
	a, b := newBodySink(t), newBodySink(t)
	p1, p2 := freePort(t), freePort(t)
	cfg := parseConfig(t, fmt.Sprintf(`
service: {port: [%d, %d], address: 127.0.0.1, manage: {port: 0}}
destinations:
  a: {urls: ["%s/a"]}
  b: {urls: ["%s/b"]}
routing: {mode: static, destination: a}
format: {mode: json}
port-based-config:
  %d:
    routing: {mode: static, destination: b}
    format: {mode: message-pack}
    namespaces:
      logs: {format: {mode: flat-json}}
`, p1, p2, a.srv.URL, b.srv.URL, p2))
	e, err := New(cfg, dataplane.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	defer e.Stop(context.Background())

	sendOne(t, p1, write("test", "s", str("x", "1")))
	if got, want := a.take(), []string{`application/json {"msg":"write","key":["test","s","hb7Bk3SMilx06bHhsLS+pWVy144=",7],"gen":1,"exp":0,"lut":1734388704784,"bins":[{"name":"x","type":"str","value":"1"}]}`}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("port %d → a: %q, want %q", p1, got, want)
	}
	sendOne(t, p2, write("test", "s", str("x", "1")))
	mp, err := (&encode.MsgPack{}).Append(nil, message(t, write("test", "s", str("x", "1"))), time.Now().Unix())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := b.take(), []string{"application/x-msgpack " + string(mp)}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("port %d → b: %q, want %q", p2, got, want)
	}
	sendOne(t, p2, write("logs", "s", str("x", "1")))
	if got, want := b.take(), []string{`application/json {"metadata":{"namespace":"logs","set":"s","userKey":7,"digest":"hb7Bk3SMilx06bHhsLS+pWVy144=","msg":"write","gen":1,"lut":1734388704784,"exp":0},"x":"1"}`}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("port %d, namespace logs → b: %q, want %q", p2, got, want)
	}
	if rest := a.take(); len(rest) != 0 {
		t.Errorf("a got records from port %d: %q", p2, rest)
	}
}

func TestRoutePortAllocs(t *testing.T) {
	_, o := buildOptions(t, `
service: {port: [3000, 3001]}
destinations:
  a: {urls: ["http://127.0.0.1:9/"]}
  b: {urls: ["http://127.0.0.1:9/"]}
routing: {mode: static, destination: a}
port-based-config:
  3001:
    routing: {mode: set}
    namespaces: {test: {sets: {s: {format: {mode: flat-json}}}}}
`)
	pr := o.Router.(dataplane.PortRouter)
	m := message(t, write("test", "s"))
	if _, d := pr.RoutePort(3001, m); names(d) != "" {
		t.Fatalf("port 3001 set s: %s, want no destination (no default)", names(d))
	}
	m2 := message(t, write("test", "b"))
	if _, d := pr.RoutePort(3001, m2); names(d) != "b" {
		t.Fatalf("port 3001 set b: %s", names(d))
	}
	if _, d := pr.RoutePort(3000, m2); names(d) != "a" {
		t.Fatalf("port 3000: %s", names(d))
	}
	if n := testing.AllocsPerRun(200, func() {
		pr.RoutePort(3001, m)
		pr.RoutePort(3001, m2)
		pr.RoutePort(3000, m2)
	}); n != 0 {
		t.Errorf("%.1f allocs per run, want 0", n)
	}
}
