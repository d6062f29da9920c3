package dataplane

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/xdrhook/xdrhook/perf/harness"
)

// countingBackend is a loopback HTTP/1.1 and h2c server that notes when
// its first request came.
type countingBackend struct {
	addr   string
	served atomic.Int64
	first  atomic.Int64 // unix ns of the first request, 0 before
}

func newCountingBackend(t *testing.T) *countingBackend {
	t.Helper()
	b := &countingBackend{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.first.CompareAndSwap(0, time.Now().UnixNano())
		b.served.Add(1)
	})
	b.addr = serveH2C(t, h, &http2.Server{})
	return b
}

// TestConnectionTTLBehindHAProxy: HAProxy balances connections (mode tcp,
// as an L4 load balancer or a Kubernetes Service does) over two backends;
// a third is enabled through the runtime API while requests flow. With
// connection-ttl the third gets requests within one TTL; without it the
// long-lived connections never reach it.
func TestConnectionTTLBehindHAProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("system tier: runs haproxy; run by make test-system")
	}
	const ttl = 500 * time.Millisecond
	for _, proto := range []string{"HTTP_1_1", "HTTP_2"} {
		for _, withTTL := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/ttl=%v", proto, withTTL), func(t *testing.T) {
				bs := []*countingBackend{newCountingBackend(t), newCountingBackend(t), newCountingBackend(t)}
				hp := harness.NewHAProxy(t)
				hp.Start(t, "tcp", fmt.Sprintf("  balance roundrobin\n  server s1 %s\n  server s2 %s\n  server s3 %s disabled\n", bs[0].addr, bs[1].addr, bs[2].addr))
				o := HTTPOptions{URLs: []string{"http://" + hp.Addr + "/"}, MaxConnsPerEndpoint: 4}
				if withTTL {
					o.ConnTTL = ttl
				}
				var snd Sender
				var err error
				if proto == "HTTP_2" {
					snd, err = newTestHTTP2(o)
				} else {
					snd, err = newTestHTTP1(o)
				}
				if err != nil {
					t.Fatal(err)
				}
				defer snd.Close()
				var wg sync.WaitGroup
				var stop atomic.Bool
				var failed atomic.Int64
				for w := 0; w < 8; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for !stop.Load() {
							st, _, err := snd.Do(&Request{Body: []byte("{}\n"), Records: 1}, time.Now().Add(2*time.Second))
							if err != nil || st != 200 {
								failed.Add(1)
							}
							time.Sleep(time.Millisecond)
						}
					}()
				}
				time.Sleep(2 * ttl)
				// HTTP/2 without a TTL keeps to one connection while its
				// streams suffice (8 workers): one backend serves it.
				// Otherwise the connections reach both.
				one := proto == "HTTP_2" && !withTTL
				b0, b1 := bs[0].served.Load(), bs[1].served.Load()
				if !one && (b0 == 0 || b1 == 0) || one && (b0 == 0) == (b1 == 0) || bs[2].served.Load() != 0 {
					stop.Store(true)
					wg.Wait()
					t.Fatalf("before scaling: served %d, %d, %d", bs[0].served.Load(), bs[1].served.Load(), bs[2].served.Load())
				}
				if out := hp.Command(t, "enable server be/s3"); out != "" {
					t.Fatalf("enable server: %q", out)
				}
				enabled := time.Now()
				time.Sleep(2 * ttl)
				stop.Store(true)
				wg.Wait()
				served := []int64{bs[0].served.Load(), bs[1].served.Load(), bs[2].served.Load()}
				if failed.Load() != 0 {
					t.Fatalf("%d requests failed (served %v)", failed.Load(), served)
				}
				if !withTTL {
					if served[2] != 0 {
						t.Fatalf("without a TTL the new backend served %d (of %v): the test proves nothing", served[2], served)
					}
					return
				}
				first := bs[2].first.Load()
				if first == 0 {
					t.Fatalf("the new backend got nothing in %v (served %v)", 2*ttl, served)
				}
				// Within one TTL, plus a little for a request in flight when a
				// connection aged and for scheduling on a loaded machine.
				delay := time.Duration(first - enabled.UnixNano())
				if delay > ttl+150*time.Millisecond {
					t.Fatalf("the new backend's first request came %v after it was enabled; TTL %v", delay, ttl)
				}
				t.Logf("new backend's first request %v after enabling; served %v", delay.Round(time.Millisecond), served)
			})
		}
	}
}
