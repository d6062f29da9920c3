package dataplane

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"

	"github.com/xdrhook/xdrhook/pool"
	"github.com/xdrhook/xdrhook/wire"
)

// TLS listeners run each connection on goroutines (gnet does not speak
// TLS): a reader that parses frames and a flusher that writes replies when
// destinations settle records. A full window stops the reader, which is
// real TCP backpressure toward XDR.
type tlsListener struct {
	ln    net.Listener
	conns sync.WaitGroup
	mu    sync.Mutex
	open  map[net.Conn]struct{}
}

func (e *Engine) startTLS() error {
	for _, addr := range e.opts.Listen {
		ln, err := e.listenTCP(addr)
		if err == nil {
			ln = tls.NewListener(ln, e.opts.TLS)
		}
		if err != nil {
			for _, l := range e.tlsLns {
				l.close()
			}
			return err
		}
		l := &tlsListener{ln: ln, open: make(map[net.Conn]struct{})}
		e.tlsLns = append(e.tlsLns, l)
	}
	for range e.numLoops {
		e.tlsLoops = append(e.tlsLoops, e.newLoop())
	}
	for _, l := range e.tlsLns {
		go e.acceptTLS(l)
	}
	return nil
}

func (l *tlsListener) close() {
	l.ln.Close()
	l.mu.Lock()
	for c := range l.open {
		c.Close()
	}
	l.mu.Unlock()
	l.conns.Wait()
}

// Addr returns the address of the i-th listener.
func (e *Engine) tlsAddr(i int) net.Addr { return e.tlsLns[i].ln.Addr() }

func (e *Engine) acceptTLS(l *tlsListener) {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		if e.m.connActive.Get() >= uint64(e.opts.MaxConnections) {
			e.m.connRefused.Inc()
			e.logSlow(c.RemoteAddr().String(), "max-connections reached")
			c.Close()
			continue
		}
		l.mu.Lock()
		l.open[c] = struct{}{}
		l.mu.Unlock()
		l.conns.Add(1)
		go func() {
			defer l.conns.Done()
			e.serveTLSConn(c.(*tls.Conn))
			l.mu.Lock()
			delete(l.open, c)
			l.mu.Unlock()
		}()
	}
}

func (e *Engine) serveTLSConn(c *tls.Conn) {
	defer c.Close()
	if err := c.Handshake(); err != nil {
		// Health checks connect and close without a byte: not an error.
		if !errors.Is(err, io.EOF) {
			e.m.tlsHandshakeErrors.Inc()
			e.logFrameError(c.RemoteAddr().String(), err)
		} else {
			e.m.connHealthChecks.Inc()
		}
		return
	}
	s := e.newSession(e.tlsLoop())
	s.port = localPort(c.LocalAddr())
	wakeCh := make(chan struct{}, 1)
	resume := make(chan struct{}, 1)
	done := make(chan struct{})
	s.wake = func() {
		select {
		case wakeCh <- struct{}{}:
		default:
		}
	}
	e.connOpened()
	// The owner is whoever holds mu; consume, flush and close also take the
	// loop state's lock (shared with other TLS connections), but a write
	// to a slow peer holds only mu.
	var mu sync.Mutex
	lmu := &s.lp.mu
	defer func() {
		mu.Lock()
		lmu.Lock()
		s.close()
		lmu.Unlock()
		mu.Unlock()
	}()

	writeErr := false
	flush := func() {
		lmu.Lock()
		out := s.flush() // valid until the next flush: under mu
		lmu.Unlock()
		if len(out) > 0 && !writeErr {
			if _, err := c.Write(out); err != nil {
				writeErr = true
				c.Close()
			}
		}
	}
	go func() {
		for {
			select {
			case <-done:
				return
			case <-wakeCh:
				mu.Lock()
				flush()
				mu.Unlock()
				select {
				case resume <- struct{}{}:
				default:
				}
			}
		}
	}()
	defer close(done)

	buf := pool.Get(64 << 10)
	defer func() { pool.Put(buf) }()
	start := 0 // unconsumed bytes are buf.B[start:]
	for {
		mu.Lock()
		lmu.Lock()
		res := frameDone
		for {
			frame, typ, err := wire.Split(buf.B[start:], e.opts.MaxFrameBytes)
			if err != nil {
				e.m.connProtocolErrors.Inc()
				e.logFrameError(c.RemoteAddr().String(), err)
				res = frameClose
				break
			}
			if frame == nil {
				break
			}
			if res = s.consume(frame, typ); res != frameDone {
				break
			}
			start += len(frame)
		}
		lmu.Unlock()
		flush()
		mu.Unlock()
		switch res {
		case frameClose:
			return
		case frameStall:
			select {
			case <-resume:
			case <-e.stopping:
				return
			}
			continue
		}
		// Keep the unconsumed tail at the front and make room for a frame.
		n := copy(buf.B, buf.B[start:])
		buf.B, start = buf.B[:n], 0
		if cap(buf.B)-n < 16<<10 {
			buf.Grow(cap(buf.B))
		}
		k, err := c.Read(buf.B[n:cap(buf.B)])
		buf.B = buf.B[:n+k]
		if err != nil {
			return
		}
	}
}
