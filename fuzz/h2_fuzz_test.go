package fuzz

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/xdrhook/xdrhook/h2client"
)

// h2Frame is one server frame in a seed.
func h2Frame(t http2.FrameType, f http2.Flags, id uint32, p []byte) []byte {
	n := len(p)
	b := []byte{byte(n >> 16), byte(n >> 8), byte(n), byte(t), byte(f), byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id)}
	return append(b, p...)
}

// FuzzH2Responses feeds arbitrary server bytes, after a valid SETTINGS
// frame and cut at the points cuts gives, to h2client's reader with three
// requests in flight (streams 1, 3 and 5), sent with Do (a goroutine
// waiting for each) and again with Go (completions run by the reader).
// Whatever the bytes, nothing panics, and every request ends exactly
// once — a response with a three-digit status, or an error — once the
// server's side closes: none hangs.
func FuzzH2Responses(f *testing.F) {
	ok := func(id uint32) []byte {
		return h2Frame(http2.FrameHeaders, http2.FlagHeadersEndStream|http2.FlagHeadersEndHeaders, id, []byte{0x88})
	}
	var all []byte
	for _, id := range []uint32{1, 3, 5} {
		all = append(all, ok(id)...)
	}
	f.Add(all, []byte{3, 9, 1})
	var enc bytes.Buffer
	e := hpack.NewEncoder(&enc)
	e.WriteField(hpack.HeaderField{Name: ":status", Value: "503"})
	e.WriteField(hpack.HeaderField{Name: "retry-after", Value: "2"})
	block := enc.Bytes()
	var mixed []byte
	mixed = append(mixed, h2Frame(http2.FrameHeaders, 0, 1, block[:2])...)
	mixed = append(mixed, h2Frame(http2.FrameContinuation, http2.FlagContinuationEndHeaders, 1, block[2:])...)
	mixed = append(mixed, h2Frame(http2.FrameData, http2.FlagDataPadded|http2.FlagDataEndStream, 1, []byte{2, 'h', 'i', 0, 0})...)
	mixed = append(mixed, h2Frame(http2.FrameRSTStream, 0, 3, []byte{0, 0, 0, 7})...)
	mixed = append(mixed, h2Frame(http2.FrameWindowUpdate, 0, 0, []byte{0, 1, 0, 0})...)
	mixed = append(mixed, h2Frame(http2.FramePing, 0, 0, make([]byte, 8))...)
	mixed = append(mixed, h2Frame(http2.FrameGoAway, 0, 0, []byte{0, 0, 0, 3, 0, 0, 0, 0})...)
	f.Add(mixed, []byte{1, 17, 40})
	f.Add(h2Frame(http2.FrameSettings, 0, 0, []byte{0, 4, 0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0, 0, 1}), []byte{})
	f.Add([]byte{0, 0, 0, 1, 4, 0, 0, 0, 1}, []byte{5})
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		if len(data) > 1<<16 {
			return
		}
		fuzzH2Responses(t, data, cuts, false)
		fuzzH2Responses(t, data, cuts, true)
	})
}

// fuzzH2Responses is one run of FuzzH2Responses: the requests sent with
// Go when async, else with Do.
func fuzzH2Responses(t *testing.T, data, cuts []byte, async bool) {
	cl, srv := net.Pipe()
	defer srv.Close()
	var once sync.Once
	c := h2client.New(h2client.Options{Addr: "fuzz", MaxConns: 1, ConnectTimeout: time.Second,
		Dial: func(context.Context) (net.Conn, error) {
			var nc net.Conn
			once.Do(func() { nc = cl })
			if nc == nil {
				return nil, errors.New("one connection only")
			}
			return nc, nil
		}})
	defer c.Close()
	// The server's reader: the preface, then frames; three HEADERS
	// mean three requests in flight.
	inFlight := make(chan struct{})
	go func() {
		pre := make([]byte, len(http2.ClientPreface))
		if _, err := io.ReadFull(srv, pre); err != nil {
			return
		}
		fr := http2.NewFramer(nil, srv)
		n := 0
		for {
			fh, err := fr.ReadFrame()
			if err != nil {
				io.Copy(io.Discard, srv)
				return
			}
			if fh.Header().Type == http2.FrameHeaders {
				if n++; n == 3 {
					close(inFlight)
				}
			}
		}
	}()
	type res struct {
		status int
		err    error
	}
	results := make(chan res, 3)
	var ends [3]atomic.Int32 // completions per request of Go
	for i := 0; i < 3; i++ {
		req := &h2client.Request{Header: []hpack.HeaderField{
			{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "http"},
			{Name: ":authority", Value: "fuzz"}, {Name: ":path", Value: "/"},
		}, Body: []byte("{}"), KeepBody: true}
		resp := new(h2client.Response)
		if !async {
			go func() {
				err := c.Do(req, resp, time.Now().Add(5*time.Second))
				results <- res{resp.Status, err}
			}()
			continue
		}
		done := func(err error) {
			if ends[i].Add(1) == 1 {
				results <- res{resp.Status, err}
			}
		}
		if err := c.Go(req, resp, time.Now().Add(5*time.Second), done); err != nil {
			ends[i].Add(1)
			results <- res{0, err}
		}
	}
	select {
	case <-inFlight:
	case <-time.After(5 * time.Second):
		t.Fatal("requests not sent")
	}
	srv.SetWriteDeadline(time.Now().Add(5 * time.Second))
	srv.Write(h2Frame(http2.FrameSettings, 0, 0, nil))
	rest := data
	for _, cut := range cuts {
		if len(rest) == 0 {
			break
		}
		n := int(cut) % (len(rest) + 1)
		if _, err := srv.Write(rest[:n]); err != nil {
			rest = nil
			break
		}
		rest = rest[n:]
	}
	srv.Write(rest)
	srv.Close()
	for i := 0; i < 3; i++ {
		select {
		case r := <-results:
			if r.err == nil && (r.status < 100 || r.status > 999) {
				t.Fatalf("status %d without an error", r.status)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a request hung")
		}
	}
	c.Close()
	for i := range ends {
		if n := ends[i].Load(); async && n != 1 {
			t.Fatalf("request %d of Go ended %d times", i, n)
		}
	}
}
