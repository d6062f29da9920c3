package xdrsim

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/perf/sink"
	"github.com/xdrhook/xdrhook/wire"
)

// TestVerifyThroughSink: emulator → a bridge connector (decode, POST one
// flat-json message per record, answer 0 on 200 and 11 otherwise) → a sink
// that fails a third of the requests. Every record settled with 0 must be
// in the sink's ids, read back from GET /ids and from its store file.
func TestVerifyThroughSink(t *testing.T) {
	store := filepath.Join(t.TempDir(), "ids.ndjson")
	sk, err := sink.New(sink.Config{FailRate: 0.3, Seed: 3, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	if err := sk.Start(); err != nil {
		t.Fatal(err)
	}
	defer sk.Close()
	hc := &http.Client{Timeout: 2 * time.Second}
	c := newTestConnector(t, func(f *frameInfo) int {
		m := &f.msg
		extra := `"exp":0`
		if m.Kind == wire.KindDelete {
			extra = fmt.Sprintf(`"durable":%v`, m.Durable)
		}
		body := fmt.Sprintf(`{"metadata":{"namespace":%q,"digest":%q,"msg":%q,"gen":%d,"lut":%d,%s}}`,
			m.Namespace, base64.StdEncoding.EncodeToString(m.Digest), m.Kind, m.Generation, m.LUTUnixMs(), extra)
		resp, err := hc.Post(sk.URL()+"/in", "application/json", bytes.NewReader([]byte(body)))
		if err != nil {
			return wire.RCRetry
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return wire.RCRetry
		}
		return wire.RCOK
	})
	cfg := testConfig(c.addr(), 300)
	cfg.Conns = 2
	sm := run(t, cfg)
	checkExact(t, sm)
	if sm.Settled != 300 || sm.Retries == 0 {
		t.Errorf("settled %d retries %d", sm.Settled, sm.Retries)
	}
	ctx := context.Background()
	set, err := LoadIDs(ctx, sk.URL())
	if err != nil {
		t.Fatal(err)
	}
	v := Verify(&sm, set)
	if v.Missing != 0 || v.Checked != 300 {
		t.Errorf("verify via URL: %+v", v)
	}
	sk.Close() // flushes the store
	set, err = LoadIDs(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	if v := Verify(&sm, set); v.Missing != 0 || v.Checked != 300 {
		t.Errorf("verify via the store file: %+v", v)
	}
	if st := sk.Stats(); st.Faults["fail-rate"] == 0 || st.Records < 300 {
		t.Errorf("sink stats %+v", st)
	}
}
