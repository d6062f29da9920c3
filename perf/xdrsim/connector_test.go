package xdrsim

import (
	"bytes"
	"encoding/hex"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/pool"
	"github.com/xdrhook/xdrhook/wire"
)

// Actions of the test connector besides a result code.
const (
	actSilence   = -1 // no reply to this request, nor to any later one on the connection
	actClose     = -2 // close the connection without replying
	actMalformed = -3 // answer with a malformed reply
)

// frameInfo is what the test connector saw of one request.
type frameInfo struct {
	conn, seq  int // connection number, request number on it (from 0)
	msg        wire.Message
	raw        []byte // the frame as received (compressed frames inflated)
	compressed bool
	digest     string
	lut        int64
}

// testConnector is a tiny connector built on wire: it accepts connections,
// splits and decodes frames and answers each with what decide says, in
// order, after an optional delay (so that the emulator's window fills).
type testConnector struct {
	t      *testing.T
	ln     net.Listener
	decide func(f *frameInfo) int
	delay  time.Duration

	mu        sync.Mutex
	frames    []*frameInfo
	replies   map[int]int // rc -> count
	maxOut    int         // most requests seen unanswered on one connection
	conns     int
	empty     int // connections closed without a byte (health checks)
	badFrames int
	wg        sync.WaitGroup
	closed    atomic.Bool
}

func newTestConnector(t *testing.T, decide func(f *frameInfo) int) *testConnector {
	t.Helper()
	return newTestConnectorAt(t, "127.0.0.1:0", decide)
}

func newTestConnectorAt(t *testing.T, addr string, decide func(f *frameInfo) int) *testConnector {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := &testConnector{t: t, ln: ln, decide: decide, replies: map[int]int{}}
	c.wg.Add(1)
	go c.accept()
	t.Cleanup(c.close)
	return c
}

func (c *testConnector) addr() string { return c.ln.Addr().String() }

func (c *testConnector) close() {
	if c.closed.Swap(true) {
		return
	}
	c.ln.Close()
	c.wg.Wait()
}

func (c *testConnector) accept() {
	defer c.wg.Done()
	var live []net.Conn
	defer func() {
		for _, cn := range live {
			cn.Close()
		}
	}()
	for {
		cn, err := c.ln.Accept()
		if err != nil {
			return
		}
		c.mu.Lock()
		id := c.conns
		c.conns++
		c.mu.Unlock()
		live = append(live, cn)
		c.wg.Add(1)
		go c.serve(cn, id)
	}
}

func (c *testConnector) serve(cn net.Conn, id int) {
	defer c.wg.Done()
	defer cn.Close()
	var received, replied atomic.Int64
	out := make(chan int, 1<<16)
	done := make(chan struct{})
	go func() { // the reply writer: in order, after c.delay, coalesced
		defer close(done)
		var buf []byte
		for rc := range out {
			if c.delay > 0 {
				time.Sleep(c.delay)
			}
			buf = buf[:0]
			n := 0
			for {
				buf = appendTestReply(buf, rc)
				n++
				select {
				case rc2, ok := <-out:
					if ok {
						rc = rc2
						continue
					}
				default:
				}
				break
			}
			replied.Add(int64(n)) // before the write: the emulator may send again as soon as it reads
			if _, err := cn.Write(buf); err != nil {
				return
			}
		}
	}()
	defer func() { close(out); <-done }()

	var inf wire.Inflater
	infl := pool.Get(0)
	defer pool.Put(infl)
	buf := make([]byte, 0, 1<<20)
	tmp := make([]byte, 64<<10)
	total, seq := 0, 0
	silent := false
	for {
		n, err := cn.Read(tmp)
		total += n
		buf = append(buf, tmp[:n]...)
		for {
			f, typ, ferr := wire.Split(buf, wire.DefaultMaxBody)
			if ferr != nil {
				c.t.Errorf("connector: %v", ferr)
				return
			}
			if f == nil {
				break
			}
			fi := &frameInfo{conn: id, seq: seq}
			seq++
			raw := f
			if typ == wire.TypeCompressed {
				fi.compressed = true
				inner, ierr := inf.Inflate(f, wire.DefaultMaxBody, infl)
				if ierr != nil {
					c.t.Errorf("connector: inflate: %v", ierr)
					return
				}
				raw = inner
			}
			fi.raw = append([]byte(nil), raw...)
			if derr := fi.msg.Decode(fi.raw[wire.HeaderSize:]); derr != nil {
				c.mu.Lock()
				c.badFrames++
				c.mu.Unlock()
				c.t.Errorf("connector: decode: %v", derr)
				return
			}
			fi.digest = hex.EncodeToString(fi.msg.Digest)
			fi.lut = fi.msg.LUTUnixMs()
			unanswered := received.Add(1) - replied.Load()
			act := c.decide(fi)
			if silent {
				act = actSilence
			}
			c.mu.Lock()
			c.frames = append(c.frames, fi)
			c.maxOut = max(c.maxOut, int(unanswered))
			if act >= 0 {
				c.replies[act]++
			}
			c.mu.Unlock()
			buf = buf[:copy(buf, buf[len(f):])]
			switch act {
			case actSilence:
				silent = true
			case actClose:
				return
			case actMalformed:
				out <- 0x100
			default:
				out <- act
			}
		}
		if err != nil {
			if total == 0 {
				c.mu.Lock()
				c.empty++
				c.mu.Unlock()
			}
			return
		}
	}
}

// appendTestReply appends a reply; rc 0x100 makes a malformed one (n_ops 1).
func appendTestReply(dst []byte, rc int) []byte {
	if rc == 0x100 {
		dst = wire.AppendReply(dst, 0)
		dst[len(dst)-1] = 1
		return dst
	}
	return wire.AppendReply(dst, byte(rc))
}

func (c *testConnector) snapshot() (frames []*frameInfo, replies map[int]int, maxOut, empty int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	replies = map[int]int{}
	for k, v := range c.replies {
		replies[k] = v
	}
	return append([]*frameInfo(nil), c.frames...), replies, c.maxOut, c.empty
}

func bytesReader(b []byte) io.Reader   { return bytes.NewReader(b) }
func stringsReader(s string) io.Reader { return strings.NewReader(s) }
