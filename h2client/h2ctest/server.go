// Package h2ctest is a minimal h2c (prior knowledge) server for tests and
// benchmarks of package h2client: it answers every request ":status 200"
// with no body once the request's stream ends, writes the answers to what
// it has read in one write, and allocates nothing per request, so that an
// allocation count over a loopback round trip is the client's alone.
package h2ctest

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/net/http2"
)

// Server is a running responder.
type Server struct {
	Addr     string
	Requests atomic.Int64
	ln       net.Listener
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
}

// Start listens on a loopback port (h2c).
func Start() (*Server, error) { return StartTLS(nil) }

// ForTest starts an h2c server for tb, closed at its cleanup.
func ForTest(tb testing.TB) *Server {
	tb.Helper()
	s, err := Start()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// StartTLS listens on a loopback port with TLS (ALPN h2) when cfg is set,
// else h2c.
func StartTLS(cfg *tls.Config) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if cfg != nil {
		cfg = cfg.Clone()
		cfg.NextProtos = []string{"h2"}
		ln = tls.NewListener(ln, cfg)
	}
	s := &Server{Addr: ln.Addr().String(), ln: ln, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[c] = struct{}{}
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(c)
				c.Close()
			}()
		}
	}()
	return s, nil
}

// Close stops the server and its connections.
func (s *Server) Close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) serve(c net.Conn) {
	br := bufio.NewReaderSize(c, 64<<10)
	pre := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(br, pre); err != nil || string(pre) != http2.ClientPreface {
		return
	}
	var out []byte
	// SETTINGS: 1000 streams, a 1 GiB stream window; the connection
	// window opened as far.
	out = appendFrame(out, http2.FrameSettings, 0, 0, []byte{0, 3, 0, 0, 0x03, 0xe8, 0, 4, 0x40, 0, 0, 0})
	out = appendFrame(out, http2.FrameWindowUpdate, 0, 0, []byte{0x3f, 0xff, 0, 0})
	if _, err := c.Write(out); err != nil {
		return
	}
	out = out[:0]
	var hdr [9]byte
	buf := make([]byte, 1<<24)
	unacked := 0
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return
		}
		n := int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2])
		typ, flags := http2.FrameType(hdr[3]), http2.Flags(hdr[4])
		id := binary.BigEndian.Uint32(hdr[5:]) & (1<<31 - 1)
		p := buf[:n]
		if _, err := io.ReadFull(br, p); err != nil {
			return
		}
		switch typ {
		case http2.FrameSettings:
			if !flags.Has(http2.FlagSettingsAck) {
				out = appendFrame(out, http2.FrameSettings, http2.FlagSettingsAck, 0, nil)
			}
		case http2.FramePing:
			if !flags.Has(http2.FlagPingAck) {
				out = appendFrame(out, http2.FramePing, http2.FlagPingAck, 0, p)
			}
		case http2.FrameHeaders, http2.FrameData:
			if typ == http2.FrameData {
				unacked += n
			}
			if flags.Has(http2.FlagDataEndStream) { // same bit for HEADERS
				s.Requests.Add(1)
				// :status 200 is static table entry 8.
				out = appendFrame(out, http2.FrameHeaders, http2.FlagHeadersEndStream|http2.FlagHeadersEndHeaders, id, []byte{0x88})
			}
		case http2.FrameGoAway:
			return
		}
		if unacked >= 1<<20 {
			var wu [4]byte
			binary.BigEndian.PutUint32(wu[:], uint32(unacked))
			out = appendFrame(out, http2.FrameWindowUpdate, 0, 0, wu[:])
			unacked = 0
		}
		if br.Buffered() == 0 && len(out) > 0 {
			if _, err := c.Write(out); err != nil {
				return
			}
			out = out[:0]
		}
	}
}

func appendFrame(b []byte, t http2.FrameType, f http2.Flags, id uint32, p []byte) []byte {
	n := len(p)
	b = append(b, byte(n>>16), byte(n>>8), byte(n), byte(t), byte(f))
	b = binary.BigEndian.AppendUint32(b, id)
	return append(b, p...)
}
