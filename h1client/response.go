package h1client

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Limits on what a server may send before we call it broken and close the
// connection (the requests in flight are then retried by the caller).
const (
	maxHeadLines = 1000    // header (or trailer) lines of one response
	maxHeadBytes = 1 << 20 // bytes of one response's head, informational ones included
)

var (
	errLongLine = errors.New("h1client: a response line longer than 64 KiB")
	errBareCR   = errors.New("h1client: a bare CR in a response line")
	errBigHead  = fmt.Errorf("h1client: a response head over %d lines or %d bytes", maxHeadLines, maxHeadBytes)
)

// head is what a response's head says about it.
type head struct {
	status     int
	length     int64 // Content-Length; -1: none
	chunked    bool
	untilClose bool // the body ends when the connection does
	close      bool // the connection closes after this response
	// distrust: framed two ways (RFC 9112 6.1, 6.3); the connection
	// closes after this response, and what was sent behind it may have
	// been processed.
	distrust   bool
	gzip       bool
	retryAfter []byte // aliases respReader.ra
}

// respReader parses responses from br. It keeps the one value of a head
// we return (Retry-After) in ra; everything else is looked at in the
// reader's buffer and dropped.
type respReader struct {
	br    *bufio.Reader
	ra    []byte
	bytes int // head bytes read for the current response
}

// readHead reads a final response's head, skipping informational (1xx)
// ones.
func (r *respReader) readHead() (head, error) {
	r.bytes = 0
	for informational := false; ; informational = true {
		h, err := r.readOneHead()
		if err != nil {
			if err == io.EOF && informational {
				err = io.ErrUnexpectedEOF // a response had begun
			}
			return h, err
		}
		switch {
		case h.status == 101:
			return h, errors.New("h1client: the server switched protocols (101) on a request that did not ask for it")
		case h.status >= 200:
			return h, nil
		}
	}
}

// line is the next line without its CRLF (or bare LF); it aliases the
// buffer until the next read.
func (r *respReader) line() ([]byte, error) {
	b, err := r.br.ReadSlice('\n')
	if err != nil {
		switch {
		case err == bufio.ErrBufferFull:
			return nil, errLongLine
		case err == io.EOF && len(b) > 0:
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	r.bytes += len(b)
	if r.bytes > maxHeadBytes {
		return nil, errBigHead
	}
	b = b[:len(b)-1]
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	if bytes.IndexByte(b, '\r') >= 0 {
		// A bare CR: a server or proxy that reads it as a line's end
		// would frame this response otherwise (RFC 9112 2.2).
		return nil, errBareCR
	}
	return b, nil
}

func (r *respReader) readOneHead() (h head, err error) {
	h.length = -1
	b, err := r.line()
	if err != nil {
		return h, err
	}
	// HTTP/1.x SP 3DIGIT [SP reason]
	if len(b) < 12 || string(b[:7]) != "HTTP/1." || (b[7] != '0' && b[7] != '1') || b[8] != ' ' ||
		!digit(b[9]) || !digit(b[10]) || !digit(b[11]) || len(b) > 12 && b[12] != ' ' {
		return h, fmt.Errorf("h1client: not an HTTP/1.x status line: %q", trim(b))
	}
	h.status = int(b[9]-'0')*100 + int(b[10]-'0')*10 + int(b[11]-'0')
	if h.status < 100 {
		return h, fmt.Errorf("h1client: status %d", h.status)
	}
	http10 := b[7] == '0'
	keepAlive, te := false, false
	for n := 0; ; n++ {
		if n > maxHeadLines {
			return h, errBigHead
		}
		b, err := r.line()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return h, err
		}
		if len(b) == 0 {
			break
		}
		if b[0] == ' ' || b[0] == '\t' {
			return h, errors.New("h1client: a folded header line (obsolete, RFC 9112 5.2)")
		}
		i := 0
		for i < len(b) && b[i] != ':' {
			if b[i] == ' ' || b[i] == '\t' {
				return h, fmt.Errorf("h1client: a header name with white space: %q", trim(b))
			}
			i++
		}
		if i == 0 || i == len(b) {
			return h, fmt.Errorf("h1client: not a header line: %q", trim(b))
		}
		name, v := b[:i], ows(b[i+1:])
		switch {
		case eqFold(name, "content-length"):
			n, ok := parseUint(v, 10)
			if !ok {
				return h, fmt.Errorf("h1client: Content-Length %q", trim(v))
			}
			if h.length >= 0 && h.length != n {
				return h, errors.New("h1client: two different Content-Length fields")
			}
			h.length = n
		case eqFold(name, "transfer-encoding"):
			te = true
			last := v
			for j := len(v) - 1; j >= 0; j-- {
				if v[j] == ',' {
					last = ows(v[j+1:])
					break
				}
			}
			h.chunked = eqFold(last, "chunked")
		case eqFold(name, "connection"):
			for len(v) > 0 {
				j := 0
				for j < len(v) && v[j] != ',' {
					j++
				}
				switch tok := ows(v[:j]); {
				case eqFold(tok, "close"):
					h.close = true
				case eqFold(tok, "keep-alive"):
					keepAlive = true
				}
				if j == len(v) {
					break
				}
				v = v[j+1:]
			}
		case eqFold(name, "retry-after"):
			r.ra = append(r.ra[:0], v...)
			h.retryAfter = r.ra
		case eqFold(name, "content-encoding"):
			h.gzip = eqFold(v, "gzip")
		}
	}
	if http10 && !keepAlive {
		h.close = true
	}
	switch {
	case h.status < 200 || h.status == 204 || h.status == 304:
		h.length, h.chunked = 0, false
	case te && !h.chunked:
		h.untilClose, h.close = true, true
	case te && (h.length >= 0 || http10):
		// Both, or chunked in HTTP/1.0: Transfer-Encoding wins, and the
		// connection is not to be trusted further (RFC 9112 6.1, 6.3).
		h.distrust = true
	case !te && h.length < 0:
		h.untilClose, h.close = true, true
	}
	return h, nil
}

// readBody reads the body h announces, keeping up to max bytes of it in
// resp.Body if keep.
func (r *respReader) readBody(h *head, resp *Response, keep bool, max int) error {
	switch {
	case h.chunked:
		for n := 0; ; n++ {
			b, err := r.line()
			if err != nil {
				return bodyErr(err)
			}
			j := 0
			for j < len(b) && b[j] != ';' && b[j] != ' ' && b[j] != '\t' {
				j++
			}
			size, ok := parseUint(b[:j], 16)
			if rest := ows(b[j:]); len(rest) > 0 && rest[0] != ';' {
				ok = false // only white space before the extensions
			}
			if !ok {
				return fmt.Errorf("h1client: a chunk size %q", trim(b))
			}
			if size == 0 {
				return r.trailers()
			}
			if err := r.data(size, resp, keep, max); err != nil {
				return err
			}
			if b, err := r.line(); err != nil || len(b) != 0 {
				if err != nil {
					return bodyErr(err)
				}
				return errors.New("h1client: a chunk not followed by CRLF")
			}
			r.bytes = 0 // chunk lines are counted per chunk, not per body
		}
	case h.untilClose:
		err := r.data(1<<62, resp, keep, max)
		if err == io.ErrUnexpectedEOF {
			return nil // the close is the body's end
		}
		return err
	case h.length > 0:
		return r.data(h.length, resp, keep, max)
	}
	return nil
}

// trailers skips a chunked body's trailer section.
func (r *respReader) trailers() error {
	r.bytes = 0
	for n := 0; ; n++ {
		if n > maxHeadLines {
			return errBigHead
		}
		b, err := r.line()
		if err != nil {
			return bodyErr(err)
		}
		if len(b) == 0 {
			return nil
		}
	}
}

// data reads n bytes of body, appending to resp.Body while keep and under
// max.
func (r *respReader) data(n int64, resp *Response, keep bool, max int) error {
	for n > 0 {
		if r.br.Buffered() == 0 {
			if _, err := r.br.Peek(1); err != nil {
				return bodyErr(err)
			}
		}
		m := r.br.Buffered()
		if int64(m) > n {
			m = int(n)
		}
		b, _ := r.br.Peek(m)
		if keep {
			room := max - len(resp.Body)
			if room < len(b) {
				b = b[:room]
				resp.BodyTooLarge = true
			}
			resp.Body = append(resp.Body, b...)
		}
		r.br.Discard(m)
		n -= int64(m)
	}
	return nil
}

func bodyErr(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func digit(c byte) bool { return c >= '0' && c <= '9' }

// parseUint parses a non-empty number in base 10 or 16, at most 2^50.
func parseUint(b []byte, base int64) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		var d int64
		switch {
		case c >= '0' && c <= '9':
			d = int64(c - '0')
		case base == 16 && c >= 'a' && c <= 'f':
			d = int64(c-'a') + 10
		case base == 16 && c >= 'A' && c <= 'F':
			d = int64(c-'A') + 10
		default:
			return 0, false
		}
		n = n*base + d
		if n > 1<<50 {
			return 0, false
		}
	}
	return n, true
}

// ows trims optional white space (SP, HTAB) around b.
func ows(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// eqFold reports whether b is s, ASCII case-insensitively; s is lower case.
func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// trim bounds what an error quotes of a server's line.
func trim(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}
