package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
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
	"github.com/xdrhook/xdrhook/dataplane"
	"github.com/xdrhook/xdrhook/wire"
)

type sinkRecorder struct {
	mu     sync.Mutex
	paths  []string
	bodies []string
	ctypes []string
}

func (s *sinkRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.paths = append(s.paths, r.URL.Path)
	s.bodies = append(s.bodies, string(b))
	s.ctypes = append(s.ctypes, r.Header.Get("Content-Type"))
	s.mu.Unlock()
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, p, _ := net.SplitHostPort(l.Addr().String())
	return p
}

// TestServeRoutesBySet runs the daemon in-process from a YAML config with
// set routing and a per-set format override, and checks what each
// destination received.
func TestServeRoutesBySet(t *testing.T) {
	orders, dflt := &sinkRecorder{}, &sinkRecorder{}
	so, sd := httptest.NewServer(orders), httptest.NewServer(dflt)
	defer so.Close()
	defer sd.Close()
	xdrPort, managePort := freePort(t), freePort(t)
	yml := `
service:
  port: ` + xdrPort + `
  address: 127.0.0.1
  manage: {port: ` + managePort + `}
destinations:
  orders: {urls: ["` + so.URL + `/ingest"]}
  default: {urls: ["` + sd.URL + `"], headers: {X-Token: "${XDRHOOK_TEST_TOKEN}"}}
routing:
  mode: set
format:
  mode: json
batching:
  max-records: 10
  batch-interval: 20
namespaces:
  test:
    sets:
      orders:
        format: {mode: flat-json}
`
	dir := t.TempDir()
	p := filepath.Join(dir, "xdrhook.yml")
	os.WriteFile(p, []byte(yml), 0o600)
	t.Setenv("XDRHOOK_TEST_TOKEN", "s3cret")
	cfg, err := config.Load(p, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan *dataplane.Engine, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), started) }()
	select {
	case <-started:
	case err := <-done:
		t.Fatal(err)
	}

	c, err := net.Dial("tcp", "127.0.0.1:"+xdrPort)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var d wire.Digester
	var stream []byte
	for i, set := range []string{"orders", "users", "orders", ""} {
		r := &wire.Record{Kind: wire.KindWrite, Generation: 1, TTL: wire.TTLNever, Namespace: "test", Set: set,
			KeyType: wire.ParticleInteger, Key: wire.IntKey(int64(i)), LUT: wire.MakeLUT(1, 1734388704784),
			Bins: []wire.BinSpec{{Name: "n", Type: wire.ParticleInteger, Value: wire.IntValue(int64(i))}}}
		r.SetDigest(&d)
		stream = wire.AppendFrame(stream, r)
	}
	c.Write(stream)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	rd := bufio.NewReader(c)
	for i := 0; i < 4; i++ {
		var rep [wire.ReplySize]byte
		if _, err := io.ReadFull(rd, rep[:]); err != nil || rep[13] != 0 {
			t.Fatalf("reply %d: %x %v", i, rep, err)
		}
	}
	orders.mu.Lock()
	gotOrders := strings.Join(orders.bodies, "")
	if len(orders.paths) == 0 || orders.paths[0] != "/ingest" || orders.ctypes[0] != "application/x-ndjson" {
		t.Errorf("orders: paths %v types %v", orders.paths, orders.ctypes)
	}
	orders.mu.Unlock()
	// flat-json for the orders set: two records, bins at the top level.
	lines := strings.Split(strings.TrimSpace(gotOrders), "\n")
	if len(lines) != 2 {
		t.Fatalf("orders received %q", gotOrders)
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["metadata"] == nil || m["n"] == nil {
			t.Fatalf("orders message %s", l)
		}
	}
	// "users" has no destination of its name: it goes to default, as does
	// the record without a set; json format there.
	dflt.mu.Lock()
	gotDefault := strings.Join(dflt.bodies, "")
	dflt.mu.Unlock()
	if n := strings.Count(gotDefault, `"msg":"write"`); n != 2 || !strings.Contains(gotDefault, `"bins":[{"name":"n","type":"int"`) {
		t.Fatalf("default received %q", gotDefault)
	}

	// Manage port: metrics name both destinations; the token never shows.
	resp, err := http.Get("http://127.0.0.1:" + managePort + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `destination="orders"`) || strings.Contains(string(body), "s3cret") {
		t.Fatalf("metrics: %s", body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
