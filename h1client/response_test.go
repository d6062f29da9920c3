package h1client

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

// parsed is what the parser made of one response, and the bytes it left
// unread (the next response's).
type parsed struct {
	h    head
	resp Response
	rest string
	err  error
}

// parse runs the parser over raw as a connection's reader does: the head
// (1xx skipped), then the body, kept up to max if keep.
func parse(raw string, keep bool, max int) parsed {
	br := bufio.NewReaderSize(strings.NewReader(raw), readBuffer)
	r := respReader{br: br}
	var p parsed
	p.h, p.err = r.readHead()
	if p.err == nil {
		p.err = r.readBody(&p.h, &p.resp, keep, max)
	}
	rest, _ := io.ReadAll(br)
	p.rest = string(rest)
	return p
}

// The parser on each shape of response: the head's fields, the body kept,
// and exactly the bytes after the response left for the next one.
func TestResponseParser(t *testing.T) {
	const next = "HTTP/1.1 200 OK\r\n\r\n"
	long := strings.Repeat("x", 70000)
	for _, tc := range []struct {
		name string
		raw  string
		keep bool
		max  int
		// want
		status     int
		body       string
		length     int64
		chunked    bool
		untilClose bool
		close      bool
		distrust   bool
		gzip       bool
		retryAfter string
		tooLarge   bool
		rest       string
		err        string // substring of the error; "" none
		errIs      error
	}{
		{name: "content-length", raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" + next, keep: true,
			status: 200, body: "hello", length: 5, rest: next},
		{name: "content-length not kept", raw: "HTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\nhello" + next,
			status: 201, body: "", length: 5, rest: next},
		{name: "content-length zero", raw: "HTTP/1.1 200 OK\r\ncontent-length:0\r\n\r\n" + next, keep: true,
			status: 200, length: 0, rest: next},
		{name: "bare LF", raw: "HTTP/1.1 200 OK\nContent-Length: 2\n\nok" + next, keep: true,
			status: 200, body: "ok", length: 2, rest: next},
		{name: "no reason phrase", raw: "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok", keep: true,
			status: 200, body: "ok", length: 2},
		{name: "chunked", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n" + next, keep: true,
			status: 200, body: "hello world", length: -1, chunked: true, rest: next},
		{name: "chunked with extensions and trailers", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" +
			"A;name=value\r\n0123456789\r\n1 ; x=\"y\"\r\n!\r\n0;last\r\nX-Trailer: 1\r\nX-Other: two\r\n\r\n" + next, keep: true,
			status: 200, body: "0123456789!", length: -1, chunked: true, rest: next},
		{name: "chunked upper-case hex", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n1F\r\n" + strings.Repeat("a", 31) + "\r\n0\r\n\r\n", keep: true,
			status: 200, body: strings.Repeat("a", 31), length: -1, chunked: true},
		{name: "chunked bad size", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
			status: 200, length: -1, chunked: true, err: "a chunk size"},
		{name: "chunk without CRLF", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
			status: 200, length: -1, chunked: true, err: "not followed by CRLF"},
		{name: "chunked cut", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
			status: 200, length: -1, chunked: true, errIs: io.ErrUnexpectedEOF},
		{name: "body until close", raw: "HTTP/1.1 200 OK\r\nServer: x\r\n\r\nall of it\r\nHTTP/1.1 200 OK\r\n", keep: true,
			status: 200, body: "all of it\r\nHTTP/1.1 200 OK\r\n", length: -1, untilClose: true, close: true},
		{name: "unknown transfer-encoding: until close", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nabc", keep: true,
			status: 200, body: "abc", length: -1, untilClose: true, close: true},
		{name: "100 Continue skipped", raw: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" + next, keep: true,
			status: 200, body: "ok", length: 2, rest: next},
		{name: "101 refused", raw: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
			status: 101, length: 0, err: "switched protocols (101)"},
		{name: "204 no body", raw: "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n" + next, keep: true,
			status: 204, length: 0, rest: next},
		{name: "304 no body", raw: "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n" + next, keep: true,
			status: 304, length: 0, rest: next},
		{name: "HTTP/1.0 without keep-alive closes", raw: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok" + next, keep: true,
			status: 200, body: "ok", length: 2, close: true, rest: next},
		{name: "HTTP/1.0 with keep-alive", raw: "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok" + next, keep: true,
			status: 200, body: "ok", length: 2, rest: next},
		{name: "Connection: close", raw: "HTTP/1.1 503 Service Unavailable\r\nConnection: foo, CLOSE ,bar\r\nContent-Length: 4\r\n\r\nbusy",
			status: 503, length: 4, close: true},
		{name: "Transfer-Encoding and Content-Length", raw: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + next, keep: true,
			status: 200, body: "abc", length: 100, chunked: true, distrust: true, rest: next},
		{name: "chunked in HTTP/1.0 with keep-alive", raw: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + next, keep: true,
			status: 200, body: "abc", length: -1, chunked: true, distrust: true, rest: next},
		{name: "bare CR in a header line", raw: "HTTP/1.1 200 OK\r\nX: a\rContent-Length: 2\r\n\r\nok",
			status: 200, length: -1, errIs: errBareCR},
		{name: "junk after a chunk size", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2 junk\r\nok\r\n0\r\n\r\n", keep: true,
			status: 200, length: -1, chunked: true, err: "a chunk size"},
		{name: "white space before chunk extensions", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2 ;a=b\r\nok\r\n0\r\n\r\n" + next, keep: true,
			status: 200, body: "ok", length: -1, chunked: true, rest: next},
		{name: "two equal Content-Length", raw: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", keep: true,
			status: 200, body: "ok", length: 2},
		{name: "two different Content-Length", raw: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
			status: 200, length: 2, err: "two different Content-Length"},
		{name: "bad Content-Length", raw: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
			status: 200, length: -1, err: `Content-Length "-1"`},
		{name: "bad status line", raw: "HTTP/2.0 200 OK\r\n\r\n", length: -1, err: "not an HTTP/1.x status line"},
		{name: "status not three digits", raw: "HTTP/1.1 20 OK\r\n\r\n", length: -1, err: "not an HTTP/1.x status line"},
		{name: "status glued to reason", raw: "HTTP/1.1 200OK\r\n\r\n", length: -1, err: "not an HTTP/1.x status line"},
		{name: "status under 100", raw: "HTTP/1.1 099 x\r\n\r\n", status: 99, length: -1, err: "status 99"},
		{name: "empty input", raw: "", length: -1, errIs: io.EOF},
		{name: "head cut", raw: "HTTP/1.1 200 OK\r\nContent-Le", status: 200, length: -1, errIs: io.ErrUnexpectedEOF},
		{name: "head cut after a line", raw: "HTTP/1.1 200 OK\r\n", status: 200, length: -1, errIs: io.ErrUnexpectedEOF},
		{name: "body cut", raw: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", status: 200, length: 10, errIs: io.ErrUnexpectedEOF},
		{name: "folded header", raw: "HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\nContent-Length: 0\r\n\r\n", status: 200, length: -1, err: "folded header"},
		{name: "header name with space", raw: "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n", status: 200, length: -1, err: "header name with white space"},
		{name: "header without colon", raw: "HTTP/1.1 200 OK\r\nnocolon\r\n\r\n", status: 200, length: -1, err: "not a header line"},
		{name: "empty header name", raw: "HTTP/1.1 200 OK\r\n: v\r\n\r\n", status: 200, length: -1, err: "not a header line"},
		{name: "line over 64 KiB", raw: "HTTP/1.1 200 OK\r\nX-Long: " + long + "\r\nContent-Length: 0\r\n\r\n", status: 200, length: -1, errIs: errLongLine},
		{name: "status line over 64 KiB", raw: "HTTP/1.1 200 " + long + "\r\n\r\n", length: -1, errIs: errLongLine},
		{name: "1000 header lines", raw: "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-A: 1\r\n", 999) + "Content-Length: 2\r\n\r\nok" + next, keep: true,
			status: 200, body: "ok", length: 2, rest: next},
		{name: "1001 header lines", raw: "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-A: 1\r\n", 1000) + "Content-Length: 2\r\n\r\nok",
			status: 200, length: 2, errIs: errBigHead},
		{name: "trailers over 1000 lines", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + strings.Repeat("X-T: 1\r\n", 1001) + "\r\n",
			status: 200, length: -1, chunked: true, errIs: errBigHead},
		{name: "head over 1 MiB in informational responses", raw: strings.Repeat("HTTP/1.1 100 Continue\r\nX-Pad: "+strings.Repeat("p", 60000)+"\r\n\r\n", 20),
			status: 100, length: -1, errIs: errBigHead},
		{name: "Retry-After copied", raw: "HTTP/1.1 503 Service Unavailable\r\nRetry-After:  120 \r\nContent-Length: 0\r\n\r\n",
			status: 503, length: 0, retryAfter: "120"},
		{name: "Retry-After of 1xx not kept", raw: "HTTP/1.1 100 Continue\r\nRetry-After: 9\r\n\r\nHTTP/1.1 429 Too Many\r\nContent-Length: 0\r\n\r\n",
			status: 429, length: 0},
		{name: "Content-Encoding gzip", raw: "HTTP/1.1 200 OK\r\nContent-Encoding: GZIP\r\nContent-Length: 3\r\n\r\n\x1f\x8b\x08", keep: true,
			status: 200, body: "\x1f\x8b\x08", length: 3, gzip: true},
		{name: "Content-Encoding br", raw: "HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 0\r\n\r\n",
			status: 200, length: 0},
		{name: "MaxBody cut", raw: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789" + next, keep: true, max: 4,
			status: 200, body: "0123", length: 10, tooLarge: true, rest: next},
		{name: "MaxBody cut chunked", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n" + next, keep: true, max: 4,
			status: 200, body: "abcd", length: -1, chunked: true, tooLarge: true, rest: next},
		{name: "MaxBody exact", raw: "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n0123", keep: true, max: 4,
			status: 200, body: "0123", length: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			max := tc.max
			if max == 0 {
				max = 64 << 20
			}
			p := parse(tc.raw, tc.keep, max)
			switch {
			case tc.errIs != nil:
				if !errors.Is(p.err, tc.errIs) {
					t.Fatalf("error %v, want %v", p.err, tc.errIs)
				}
			case tc.err != "":
				if p.err == nil || !strings.Contains(p.err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", p.err, tc.err)
				}
			case p.err != nil:
				t.Fatalf("error %v", p.err)
			}
			h := p.h
			if h.status != tc.status || h.length != tc.length || h.chunked != tc.chunked || h.untilClose != tc.untilClose ||
				p.err == nil && (h.close != tc.close || h.distrust != tc.distrust || h.gzip != tc.gzip || string(h.retryAfter) != tc.retryAfter) {
				t.Fatalf("head %+v (retry-after %q), want status %d length %d chunked %v untilClose %v close %v gzip %v retry-after %q",
					h, h.retryAfter, tc.status, tc.length, tc.chunked, tc.untilClose, tc.close, tc.gzip, tc.retryAfter)
			}
			if p.err == nil && (h.retryAfter == nil) != (tc.retryAfter == "") {
				t.Fatalf("retry-after %q", h.retryAfter)
			}
			if p.err != nil {
				return
			}
			if string(p.resp.Body) != tc.body || p.resp.BodyTooLarge != tc.tooLarge {
				t.Fatalf("body %q (too large %v), want %q (%v)", p.resp.Body, p.resp.BodyTooLarge, tc.body, tc.tooLarge)
			}
			if p.rest != tc.rest {
				t.Fatalf("left %q, want %q", p.rest, tc.rest)
			}
		})
	}
}

// Pipelined responses one after another on one reader: each parse starts
// where the last ended, and Retry-After does not leak into the next.
func TestResponseParserSequence(t *testing.T) {
	raw := "HTTP/1.1 503 Busy\r\nRetry-After: 3\r\nContent-Length: 1\r\n\r\nb" +
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n" +
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 3\r\n\r\nyes"
	r := respReader{br: bufio.NewReaderSize(strings.NewReader(raw), readBuffer)}
	want := []struct {
		status int
		ra     string
		body   string
	}{{503, "3", "b"}, {200, "", "ok"}, {202, "", "yes"}}
	var resp Response
	for i, w := range want {
		h, err := r.readHead()
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		resp.Body = resp.Body[:0]
		if err := r.readBody(&h, &resp, true, 1<<20); err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		if h.status != w.status || string(h.retryAfter) != w.ra || string(resp.Body) != w.body {
			t.Fatalf("response %d: %d %q %q, want %d %q %q", i, h.status, h.retryAfter, resp.Body, w.status, w.ra, w.body)
		}
	}
	if _, err := r.readHead(); err != io.EOF {
		t.Fatalf("after the last: %v, want EOF", err)
	}
}

func TestParseUint(t *testing.T) {
	for _, tc := range []struct {
		in   string
		base int64
		n    int64
		ok   bool
	}{
		{"0", 10, 0, true}, {"1234", 10, 1234, true}, {"ff", 16, 255, true}, {"FF", 16, 255, true},
		{"", 10, 0, false}, {"12a", 10, 0, false}, {"+1", 10, 0, false}, {"g", 16, 0, false},
		{"1125899906842624", 10, 1 << 50, true}, {"1125899906842625", 10, 0, false},
		{"99999999999999999999999", 10, 0, false}, {"4000000000000", 16, 1 << 50, true}, {"4000000000001", 16, 0, false},
	} {
		n, ok := parseUint([]byte(tc.in), tc.base)
		if n != tc.n || ok != tc.ok {
			t.Errorf("parseUint(%q, %d) = %d, %v; want %d, %v", tc.in, tc.base, n, ok, tc.n, tc.ok)
		}
	}
}
