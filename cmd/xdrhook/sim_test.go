package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/xdrhook/xdrhook/pool"
	"github.com/xdrhook/xdrhook/wire"
)

// startReplier is a minimal connector: it answers 0 to every frame, after
// checking that it decodes. It returns its address and a frame counter.
func startReplier(t *testing.T) (string, func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	n := 0
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				var in, out []byte
				var m wire.Message
				var inf wire.Inflater
				buf := pool.Get(0)
				defer pool.Put(buf)
				tmp := make([]byte, 64<<10)
				for {
					k, err := c.Read(tmp)
					if err != nil {
						return
					}
					in = append(in, tmp[:k]...)
					out = out[:0]
					for {
						f, typ, err := wire.Split(in, wire.DefaultMaxBody)
						if err != nil {
							t.Error(err)
							return
						}
						if f == nil {
							break
						}
						g := f
						if typ == wire.TypeCompressed {
							if g, err = inf.Inflate(f, wire.DefaultMaxBody, buf); err != nil {
								t.Error(err)
								return
							}
						}
						rc := byte(0)
						if m.Decode(g[wire.HeaderSize:]) != nil {
							rc = 4
						}
						in = in[len(f):]
						out = wire.AppendReply(out, rc)
						mu.Lock()
						n++
						mu.Unlock()
					}
					in = append([]byte(nil), in...)
					if _, err := c.Write(out); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), func() int { mu.Lock(); defer mu.Unlock(); return n }
}

type simSummary struct {
	Generated, Settled, Abandoned, Unsettled, Compressed int64
	Codes                                                map[string]int64
	Verify                                               *struct{ Checked, Missing int64 }
}

func runSimCmd(t *testing.T, args ...string) (int, simSummary, string) {
	t.Helper()
	var out, errb bytes.Buffer
	rc := dispatch(append([]string{"sim"}, args...), nil, &out, &errb)
	var sm simSummary
	if out.Len() > 0 {
		if err := json.Unmarshal(out.Bytes(), &sm); err != nil {
			t.Fatalf("summary: %v\n%s", err, out.String())
		}
	}
	return rc, sm, errb.String()
}

func TestSimCommand(t *testing.T) {
	addr, frames := startReplier(t)
	rc, sm, errs := runSimCmd(t, "--target", addr, "--count", "300", "--size", "small", "--conns", "2",
		"--compress", "0.2", "--health-interval", "0", "--json", "--quiet")
	if rc != 0 || sm.Settled != 300 || sm.Generated != 300 || sm.Codes["0"] != 300 || sm.Compressed == 0 {
		t.Fatalf("rc %d summary %+v\n%s", rc, sm, errs)
	}
	if frames() != 300 {
		t.Errorf("connector got %d frames", frames())
	}
	// The human summary goes to stderr.
	rc, _, errs = runSimCmd(t, "--target", addr, "--count", "10", "--quiet", "--size", "2000")
	if rc != 0 || !strings.Contains(errs, "settled 10") {
		t.Errorf("rc %d:\n%s", rc, errs)
	}
}

func TestSimCommandReplay(t *testing.T) {
	addr, frames := startReplier(t)
	rc, sm, errs := runSimCmd(t, "--target", addr, "--replay", "../../testdata/xdr-frames/write-3bins-key10.hex", "--json", "--quiet")
	if rc != 0 || sm.Settled != 1 || frames() != 1 {
		t.Fatalf("rc %d summary %+v frames %d\n%s", rc, sm, frames(), errs)
	}
}

func TestSimCommandVerifyMissing(t *testing.T) {
	addr, _ := startReplier(t)
	empty := filepath.Join(t.TempDir(), "ids.ndjson")
	os.WriteFile(empty, nil, 0o644)
	rc, sm, errs := runSimCmd(t, "--target", addr, "--count", "50", "--verify", empty, "--json", "--quiet")
	if rc != 1 || sm.Verify == nil || sm.Verify.Missing != 50 || sm.Verify.Checked != 50 {
		t.Fatalf("rc %d summary %+v\n%s", rc, sm, errs)
	}
}

func TestSimCommandBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--target", "x:1", "--size", "huge"},
		{"--target", "x:1", "--delete-ratio", "2"},
		{"--target", "x:1", "--replay", "/nonexistent"},
		{"--target", "x:1", "extra"},
	} {
		if rc, _, _ := runSimCmd(t, args...); rc != 2 {
			t.Errorf("%v: rc %d, want 2", args, rc)
		}
	}
}
