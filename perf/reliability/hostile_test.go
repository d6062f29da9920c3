package reliability

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/perf/xdrsim"
	"github.com/xdrhook/xdrhook/wire"
)

// Expected outcome of a hostile input.
const (
	want4     = "4"     // every hostile frame answered 4; the connection goes on (a good frame after it is answered 0)
	wantClose = "close" // the connection is closed, with no reply
	wantAny   = "any"   // fuzz corpus: replies 0 (a valid record) or 4, then closed after our EOF
)

type hostile struct {
	name   string
	data   []byte
	frames int // hostile frames in data (want4)
	want   string
	reps   int // times to send it, each on a fresh connection
}

// TestHostileFrames: hostile input on some connections — the checked-in
// fuzz corpus, frames over the size limit, zlib bombs (one inflating to the
// full 16 MiB limit, liars about their size), 10,000-deep nesting, element
// counts of 2^32 — while healthy emulator connections keep flowing. The
// process must not panic or balloon, the healthy stream must lose nothing,
// hostile records are answered 4 or their connection closed, and the
// metrics count them.
func TestHostileFrames(t *testing.T) {
	systemTier(t)
	e := startXDREnv(t, conf{}, func(c *xdrsim.Config) { c.Duration = 8 * time.Second })
	cases := append(craftedHostile(t), corpusHostile(t)...)

	work := make(chan hostile)
	var mu sync.Mutex
	tally := map[string]int{}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for h := range work {
				outcome := sendHostile(t, e.proc.XDRAddr, h)
				mu.Lock()
				tally[outcome]++
				mu.Unlock()
			}
		}()
	}
	sent := 0
	for _, h := range cases {
		for i := 0; i < max(1, h.reps); i++ {
			work <- h
			sent++
		}
	}
	close(work)
	wg.Wait()

	rss := e.proc.RSS()
	peak := e.proc.PeakRSS()
	if peak > 300<<20 {
		t.Errorf("peak RSS %.1f MiB with hostile input (bound 300 MiB)", mib(peak))
	}
	series := []string{
		`xdrhook_records_settled_total{outcome="parse-error"}`,
		`xdrhook_records_settled_total{destination="sink",outcome="encode-error"}`,
		"xdrhook_connections_protocol_errors_total",
		`xdrhook_replies_total{rc="4"}`,
		`xdrhook_frames_received_total{type="info"}`,
	}
	var counted []string
	for _, s := range series {
		v := metricOf(e.proc, s)
		counted = append(counted, fmt.Sprintf("%s %v", s, v))
	}
	if v := metricOf(e.proc, `xdrhook_records_settled_total{outcome="parse-error"}`); v < 10 {
		t.Errorf("parse errors counted: %v", v)
	}
	// deep map, deep list, 2^32 list, 2^32 map: 2 each, at least.
	if v := metricOf(e.proc, `xdrhook_records_settled_total{destination="sink",outcome="encode-error"}`); v < 8 {
		t.Errorf("encode errors counted: %v", v)
	}
	if v := metricOf(e.proc, "xdrhook_connections_protocol_errors_total"); v < 5 {
		t.Errorf("protocol errors counted: %v", v)
	}
	if strings.Contains(e.proc.Log(), "panic") {
		t.Errorf("the connector panicked:\n%s", tail(e.proc.Log(), 40))
	}
	warns := logLines(e.proc.Log(), "level=WARN") + logLines(e.proc.Log(), "level=ERROR")
	e.finish(t, fmt.Sprintf("%d hostile connections (%d kinds): outcomes %v; RSS after %.1f MiB, peak %.1f MiB; %s; warn/error log lines %d (rate-limited)",
		sent, len(cases), tally, mib(rss), mib(peak), strings.Join(counted, ", "), warns))
}

// sendHostile writes h on a fresh connection and checks the outcome.
func sendHostile(t *testing.T, addr string, h hostile) string {
	c := dialRaw(t, addr)
	defer c.Close()
	errc := make(chan error, 1)
	payload := h.data
	if h.want == want4 {
		payload = append(append([]byte(nil), h.data...), goodFrames("test", 1)...)
	}
	go func() {
		c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		_, err := c.Write(payload)
		if h.want == wantAny {
			c.Conn.(interface{ CloseWrite() error }).CloseWrite()
		}
		errc <- err
	}()
	switch h.want {
	case want4:
		rcs, closed := c.replies(h.frames+1, 10*time.Second)
		<-errc
		if len(rcs) != h.frames+1 || countRC(rcs[:len(rcs)-min(1, len(rcs))], 4) != h.frames || rcs[len(rcs)-1] != 0 {
			t.Errorf("%s: want %d × 4 then 0, got %v (closed %v)", h.name, h.frames, rcs, closed)
			return "unexpected"
		}
		return "answered-4"
	case wantClose:
		rcs, closed := c.replies(1, 10*time.Second)
		<-errc
		if len(rcs) != 0 || !closed {
			t.Errorf("%s: want the connection closed without a reply, got %v (closed %v)", h.name, rcs, closed)
			return "unexpected"
		}
		return "closed"
	default:
		rcs, closed := c.replies(1<<20, 10*time.Second)
		<-errc
		for _, rc := range rcs {
			if rc != 0 && rc != 4 {
				t.Errorf("%s: reply %d", h.name, rc)
			}
		}
		if !closed {
			t.Errorf("%s: connection still open 10 s after our end of stream", h.name)
		}
		switch {
		case len(rcs) == 0:
			return "corpus-closed"
		case countRC(rcs, 4) > 0:
			return "corpus-answered-4"
		}
		return "corpus-answered-0"
	}
}

// craftedHostile builds the hand-made hostile inputs.
func craftedHostile(t *testing.T) []hostile {
	const limit = wire.DefaultMaxBody // max-frame-bytes default: 16 MiB
	now := time.Now().UnixMilli()
	frame := func(bins ...wire.BinSpec) []byte {
		return wire.AppendFrame(nil, rec("test", "hostile", now, bins...))
	}
	header := func(typ byte, body int) []byte { return wire.AppendHeader(nil, typ, body) }
	withOrig := func(f []byte, orig uint64) []byte {
		f = append([]byte(nil), f...)
		binary.BigEndian.PutUint64(f[wire.HeaderSize:], orig)
		return f
	}

	// A type-3 frame of the full 16 MiB: a valid header, then zeros (its
	// AS_MSG header is all zeros: undecodable). Compressed, ~16 KiB.
	full := make([]byte, wire.HeaderSize+limit)
	copy(full, header(wire.TypeMsg, limit))
	bomb := wire.AppendCompressed(nil, full, 9)
	zeros := wire.AppendCompressed(nil, make([]byte, wire.HeaderSize+limit), 9) // not even a header
	small := frame(strBin("a", "b"))
	liarBig := withOrig(wire.AppendCompressed(nil, small, 6), uint64(wire.HeaderSize+limit))
	liarSmall := withOrig(bomb, 1024)
	liarHuge := withOrig(bomb, 1<<40)

	deepMap := bytes.Repeat([]byte{0x81, 0x01}, 10000) // {1: {1: ... 1}}
	deepMap = append(deepMap, 0x01)
	deepList := append(bytes.Repeat([]byte{0x91}, 10000), 0x01) // [[[...1]]]
	list32 := []byte{0xdd, 0xff, 0xff, 0xff, 0xff, 0x01}        // claims 2^32-1 elements
	map32 := []byte{0xdf, 0xff, 0xff, 0xff, 0xff, 0x01, 0x01}

	// n_ops (or n_fields) claims 65535 entries the body does not hold.
	opsLie := frame(strBin("a", "b"))
	binary.BigEndian.PutUint16(opsLie[wire.HeaderSize+20:], 0xffff)
	fieldsLie := frame(strBin("a", "b"))
	binary.BigEndian.PutUint16(fieldsLie[wire.HeaderSize+18:], 0xffff)

	over := header(wire.TypeMsg, limit+1)
	overCompressed := header(wire.TypeCompressed, limit+1)
	huge := header(wire.TypeMsg, 1<<47)
	return []hostile{
		{name: "zlib bomb: 16 MiB frame of zeros", data: bomb, frames: 1, want: want4, reps: 8},
		{name: "zlib bomb: 16 MiB of zeros, no header", data: zeros, frames: 1, want: want4, reps: 4},
		{name: "zlib liar: claims 16 MiB, inflates to one small frame", data: liarBig, frames: 1, want: want4, reps: 2},
		{name: "zlib liar: claims 1 KiB, inflates to 16 MiB", data: liarSmall, frames: 1, want: want4, reps: 2},
		{name: "zlib liar: claims 1 TiB", data: liarHuge, frames: 1, want: want4, reps: 2},
		{name: "map nested 10,000 deep", data: frame(wire.BinSpec{Name: "m", Type: wire.ParticleMap, Value: deepMap}), frames: 1, want: want4, reps: 2},
		{name: "list nested 10,000 deep", data: frame(wire.BinSpec{Name: "l", Type: wire.ParticleList, Value: deepList}), frames: 1, want: want4, reps: 2},
		{name: "list claiming 2^32 elements", data: frame(wire.BinSpec{Name: "l", Type: wire.ParticleList, Value: list32}), frames: 1, want: want4, reps: 2},
		{name: "map claiming 2^32 elements", data: frame(wire.BinSpec{Name: "m", Type: wire.ParticleMap, Value: map32}), frames: 1, want: want4, reps: 2},
		{name: "n_ops 65535", data: opsLie, frames: 1, want: want4, reps: 2},
		{name: "n_fields 65535", data: fieldsLie, frames: 1, want: want4, reps: 2},
		{name: "frame over max-frame-bytes", data: over, want: wantClose, reps: 2},
		{name: "compressed frame over max-frame-bytes", data: overCompressed, want: wantClose, reps: 2},
		{name: "frame claiming 128 TiB", data: huge, want: wantClose, reps: 2},
		{name: "info frame", data: append(header(wire.TypeInfo, 9), "build\nnode"...), want: wantClose},
		{name: "security frame", data: append(header(wire.TypeSecurity, 4), 0, 0, 0, 0), want: wantClose},
		{name: "version 1", data: append([]byte{1, 3}, header(wire.TypeMsg, 0)[2:]...), want: wantClose},
		{name: "type 9", data: append([]byte{2, 9}, header(wire.TypeMsg, 0)[2:]...), want: wantClose},
	}
}

// corpusHostile reads the checked-in fuzz corpus: FuzzFrames and
// FuzzInflate inputs are sent as connection streams, FuzzCDT values as the
// value of a map bin and of a list bin.
func corpusHostile(t *testing.T) []hostile {
	root := filepath.Join("..", "..", "fuzz", "testdata", "fuzz")
	var out []hostile
	now := time.Now().UnixMilli()
	for _, target := range []string{"FuzzFrames", "FuzzInflate", "FuzzCDT"} {
		files, _ := filepath.Glob(filepath.Join(root, target, "*"))
		for _, f := range files {
			data, ok := corpusBytes(t, f)
			if !ok {
				continue
			}
			name := target + "/" + filepath.Base(f)
			if target != "FuzzCDT" {
				out = append(out, hostile{name: name, data: data, want: wantAny})
				continue
			}
			for _, pt := range []uint8{wire.ParticleMap, wire.ParticleList} {
				fr := wire.AppendFrame(nil, rec("test", fmt.Sprintf("cdt-%d-%s", pt, filepath.Base(f)), now, wire.BinSpec{Name: "c", Type: pt, Value: data}))
				out = append(out, hostile{name: name, data: fr, want: wantAny})
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("no fuzz corpus under %s", root)
	}
	return out
}

// corpusBytes reads the first []byte argument of a "go test fuzz v1" file.
func corpusBytes(t *testing.T, path string) ([]byte, bool) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, "[]byte(") || !strings.HasSuffix(l, ")") {
			continue
		}
		s, err := strconv.Unquote(l[len("[]byte(") : len(l)-1])
		if err != nil {
			t.Errorf("%s: %v", path, err)
			return nil, false
		}
		return []byte(s), true
	}
	return nil, false
}
