package dataplane

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/shape"
	"github.com/xdrhook/xdrhook/wire"
	"golang.org/x/net/http2"
)

// shapedSeen is one request as a Go net/http server saw it.
type shapedSeen struct {
	method, path, query, version, ctype, clen string
	body                                      []byte
}

func testShape(t *testing.T) *shape.Request {
	p := func(s string, pl shape.Place) *shape.Template {
		tpl, err := shape.Parse(s, pl)
		if err != nil {
			t.Fatal(err)
		}
		return tpl
	}
	return &shape.Request{
		Write:   shape.Op{Method: "PUT", Path: p("/{set}/{user-key}", shape.PlacePath), Body: true},
		Delete:  shape.Op{Method: "DELETE", Path: p("/{set}/{user-key}", shape.PlacePath)},
		Query:   p("source=aerospike&ns={namespace}", shape.PlaceQuery),
		Headers: []shape.HeaderTemplate{{Name: "X-Record-Version", Value: p("{lut}-{gen}", shape.PlaceHeader)}},
	}
}

func TestRequestShapingEndToEnd(t *testing.T) {
	for _, proto := range []string{"HTTP/1.1", "HTTP/2.0"} {
		t.Run(proto, func(t *testing.T) {
			var mu sync.Mutex
			var seen []shapedSeen
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				seen = append(seen, shapedSeen{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("X-Record-Version"),
					r.Header.Get("Content-Type"), r.Header.Get("Content-Length"), b})
				mu.Unlock()
			})
			addr := serveH2C(t, h, &http2.Server{})
			ho := HTTPOptions{URLs: []string{"http://" + addr + "/api"}}
			var snd Sender
			var err error
			if proto == "HTTP/2.0" {
				snd, err = newTestHTTP2(ho)
			} else {
				snd, err = newTestHTTP1(ho)
			}
			if err != nil {
				t.Fatal(err)
			}
			d := newTestDestination(DestinationOptions{Name: "rest", Sender: snd, MaxInFlight: 1, Request: testShape(t)})
			p := &Profile{NewEncoder: func() encode.Encoder { return &encode.JSON{} }}
			o := Options{Listen: []string{freeAddr(t)}, Profiles: []*Profile{p}, Destinations: []*Destination{d},
				Router: &StaticRouter{Profile: p, Dests: []*Destination{d}}, Loops: 1,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
			e, err := newTestEngine(o)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.Start(); err != nil {
				t.Fatal(err)
			}
			defer e.Stop(context.Background())

			var dg wire.Digester
			mk := func(i int, kind wire.Kind, key string) []byte {
				r := record(i)
				r.Kind, r.Set = kind, "us ers"
				r.KeyType, r.Key = wire.ParticleString, []byte(key)
				if key == "" {
					r.KeyType, r.Key = 0, nil
				}
				if kind == wire.KindDelete {
					r.Bins, r.TTL = nil, 0
				}
				r.SetDigest(&dg)
				return wire.AppendFrame(nil, r)
			}
			x := dialXDR(t, o.Listen[0])
			x.c.Write(mk(1, wire.KindWrite, "u/1"))
			x.c.Write(mk(2, wire.KindDelete, "u/1"))
			x.c.Write(mk(3, wire.KindWrite, "")) // no user key: missing: fail
			rcs := x.replies(t, 3, 5*time.Second)
			if !bytes.Equal(rcs, []byte{0, 0, 4}) {
				t.Fatalf("replies %v", rcs)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(seen) != 2 {
				t.Fatalf("%d requests: %+v", len(seen), seen)
			}
			w, del := seen[0], seen[1]
			if w.method != "PUT" || w.path != "/api/us%20ers/u%2F1" || w.query != "source=aerospike&ns=test" ||
				w.version != "1734388704785-2" || w.ctype != "application/json" || !bytes.Contains(w.body, []byte(`"u/1"`)) {
				t.Errorf("write: %+v", w)
			}
			if del.method != "DELETE" || del.path != "/api/us%20ers/u%2F1" || del.query != "source=aerospike&ns=test" ||
				del.version != "1734388704786-3" || del.ctype != "" || len(del.body) != 0 || (proto == "HTTP/1.1" && del.clen != "0") {
				t.Errorf("delete: %+v", del)
			}
			var buf bytes.Buffer
			e.WritePrometheus(&buf)
			if !strings.Contains(buf.String(), `xdrhook_records_settled_total{destination="rest",outcome="missing-value"} 1`) {
				t.Errorf("missing-value not counted:\n%s", buf.String())
			}
		})
	}
}
