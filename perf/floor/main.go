// Command floor measures what HTTP/1.1 keep-alive costs a client that does
// nothing else, one request in flight per connection: each of -conns
// goroutines writes a small POST on its own connection and reads the
// response, over and over. It prints requests/s and its own CPU-µs per
// request (user + system, getrusage) over the window: the floor under
// xdrhook's "one per request, HTTP/1.1 keep-alive" row on the same
// machine, which adds XDR, encoding and replies on top (DESIGN.md,
// "HTTP/1.1 keep-alive: syscalls per request").
//
//	xdrhook sink --listen 127.0.0.1:18080 --check count &
//	go run ./perf/floor -addr 127.0.0.1:18080 -conns 64
//
// -blocking makes each connection's write and read plain blocking system
// calls on a thread of their own (no netpoller, no EAGAIN read, no park):
// exactly the protocol's one write and one read per request.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18080", "the sink (xdrhook sink --check count)")
	conns := flag.Int("conns", 64, "connections, one request in flight on each")
	warmup := flag.Duration("warmup", 2*time.Second, "run this long before measuring")
	window := flag.Duration("measure", 5*time.Second, "the measurement window")
	blocking := flag.Bool("blocking", false, "blocking write and read system calls, a thread per connection")
	flag.Parse()

	body := `{"metadata":{"namespace":"test","set":"s1","digest":"AAAAAAAAAAAAAAAAAAAAAAAAAAA=","gen":1,"lut":1,"exp":0,"msg":"write"},"bins":{"a":1}}` + "\n"
	req := []byte("POST /ingest HTTP/1.1\r\nHost: floor\r\nContent-Type: application/x-ndjson\r\nXdrhook-Records: 1\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	var done atomic.Int64
	for range *conns {
		c, err := net.Dial("tcp", *addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "floor:", err)
			os.Exit(1)
		}
		if *blocking {
			go blockingLoop(c.(*net.TCPConn), req, &done)
		} else {
			go netpollLoop(c, req, &done)
		}
	}
	time.Sleep(*warmup)
	c0, n0, t0 := cpuTime(), done.Load(), time.Now()
	time.Sleep(*window)
	c1, n1, t1 := cpuTime(), done.Load(), time.Now()
	n := float64(n1 - n0)
	fmt.Printf("%.0f requests/s  %.2f CPU-µs per request\n", n/t1.Sub(t0).Seconds(), float64(c1-c0)/1e3/n)
}

// netpollLoop is the Go way: the runtime's netpoller parks the goroutine
// while the response is not there.
func netpollLoop(c net.Conn, req []byte, done *atomic.Int64) {
	r := bufio.NewReaderSize(c, 4096)
	for {
		if _, err := c.Write(req); err != nil {
			fail(err)
		}
		if err := readResponse(r); err != nil {
			fail(err)
		}
		done.Add(1)
	}
}

// blockingLoop writes and reads with blocking system calls. The sink's
// response to a small request (a status line and a few headers, no body)
// arrives in one segment: one read.
func blockingLoop(c *net.TCPConn, req []byte, done *atomic.Int64) {
	f, err := c.File() // a duplicate descriptor, in blocking mode
	if err != nil {
		fail(err)
	}
	fd := int(f.Fd())
	if err := syscall.SetNonblock(fd, false); err != nil {
		fail(err)
	}
	buf := make([]byte, 4096)
	for {
		if _, err := syscall.Write(fd, req); err != nil {
			fail(err)
		}
		if k, err := syscall.Read(fd, buf); err != nil || k == 0 || !bytes.HasPrefix(buf[:k], []byte("HTTP/1.1 2")) {
			fail(fmt.Errorf("response %q: %v", buf[:max(k, 0)], err))
		}
		done.Add(1)
	}
}

// readResponse reads one response: its head, then Content-Length bytes.
func readResponse(r *bufio.Reader) error {
	length := 0
	for first := true; ; first = false {
		l, err := r.ReadSlice('\n')
		if err != nil {
			return err
		}
		if first && !bytes.HasPrefix(l, []byte("HTTP/1.1 2")) {
			return fmt.Errorf("status %q", l)
		}
		if len(l) == 2 { // "\r\n": the end of the head
			break
		}
		if k := bytes.IndexByte(l, ':'); k > 0 && bytes.EqualFold(l[:k], []byte("Content-Length")) {
			length, _ = strconv.Atoi(string(bytes.TrimSpace(l[k+1:])))
		}
	}
	_, err := r.Discard(length)
	return err
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		fail(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "floor:", err)
	os.Exit(1)
}
