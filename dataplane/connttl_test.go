package dataplane

import (
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
)

// connCounter is a loopback server that counts connections opened and
// closed and requests served; each request takes 10 ms, so that some are
// in flight when a connection ages.
type connCounter struct {
	opened, closed, served atomic.Int64
	url                    string
}

func newConnCounter(t *testing.T, h2 bool) *connCounter {
	t.Helper()
	c := &connCounter{}
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(10 * time.Millisecond)
		c.served.Add(1)
	})
	if h2 {
		h = h2c.NewHandler(h, &http2.Server{})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ConnState: func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			c.opened.Add(1)
		case http.StateClosed, http.StateHijacked:
			c.closed.Add(1)
		}
	}}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	c.url = "http://" + ln.Addr().String() + "/"
	return c
}

// TestConnectionTTL: with connection-ttl, a sender keeps replacing its
// connections (one per endpoint here) while requests run, loses none of
// them, and closes the aged connections; without it, one connection
// serves everything.
func TestConnectionTTL(t *testing.T) {
	for _, mode := range []string{"http1", "pipelined", "h2c"} {
		for _, ttl := range []time.Duration{0, 100 * time.Millisecond} {
			t.Run(mode+"/"+ttl.String(), func(t *testing.T) {
				srv := newConnCounter(t, mode == "h2c")
				o := HTTPOptions{URLs: []string{srv.url}, MaxConnsPerEndpoint: 1, ConnTTL: ttl, Pipeline: mode == "pipelined",
					IdleConnTimeout: 150 * time.Millisecond}
				var snd Sender
				var err error
				if mode == "h2c" {
					snd, err = newTestHTTP2(o)
				} else {
					snd, err = newTestHTTP1(o)
				}
				if err != nil {
					t.Fatal(err)
				}
				defer snd.Close()
				const workers = 4
				var wg sync.WaitGroup
				var sent, failed atomic.Int64
				stop := time.Now().Add(700 * time.Millisecond)
				for w := 0; w < workers; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for time.Now().Before(stop) {
							r := &Request{Body: []byte("{}\n"), Records: 1}
							st, _, err := snd.Do(r, time.Now().Add(2*time.Second))
							sent.Add(1)
							if err != nil || st != 200 {
								failed.Add(1)
								t.Errorf("request: status %d, %v", st, err)
							}
						}
					}()
				}
				wg.Wait()
				if failed.Load() != 0 || srv.served.Load() != sent.Load() {
					t.Fatalf("sent %d, served %d, failed %d", sent.Load(), srv.served.Load(), failed.Load())
				}
				opened := srv.opened.Load()
				if ttl == 0 {
					if opened != 1 {
						t.Fatalf("%d connections opened without a TTL, want 1", opened)
					}
					return
				}
				// 700 ms / 100 ms: about 7 generations; at least 4 on a
				// loaded machine, never one per request.
				if opened < 4 || opened >= sent.Load()/2 {
					t.Fatalf("%d connections opened for %d requests in 700 ms with a 100 ms TTL", opened, sent.Load())
				}
				// The aged ones are closed (pipelined: when idle, 150 ms).
				deadline := time.Now().Add(3 * time.Second)
				for srv.closed.Load() < opened-1 && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
				if c := srv.closed.Load(); c < opened-1 {
					t.Fatalf("%d of %d connections closed", c, opened)
				}
				t.Logf("%d requests over %d connections", sent.Load(), opened)
			})
		}
	}
}
