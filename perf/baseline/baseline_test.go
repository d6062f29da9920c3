package baseline

import (
	"context"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/perf/sink"
	"github.com/xdrhook/xdrhook/perf/xdrsim"
)

// TestThroughSink drives the baseline with the emulator, in every format
// and over both protocols, into a sink that validates every message in full
// and fails some requests: every record the emulator saw settled must be in
// the sink, so the replies were right and in order.
func TestThroughSink(t *testing.T) {
	for _, format := range []string{FormatJSON, FormatFlatJSON, FormatMsgPack, FormatAvro} {
		for _, h2 := range []bool{false, true} {
			name := format + "/h1"
			if h2 {
				name = format + "/h2c"
			}
			t.Run(name, func(t *testing.T) {
				sk, err := sink.New(sink.Config{FailRate: 0.1, Seed: 7, AvroSchema: encode.ChangeNotificationSchema()})
				if err != nil {
					t.Fatal(err)
				}
				if err := sk.Start(); err != nil {
					t.Fatal(err)
				}
				defer sk.Close()
				srv, err := Start(Config{Listen: "127.0.0.1:0", URL: sk.URL() + "/in", Format: format, HTTP2: h2})
				if err != nil {
					t.Fatal(err)
				}
				defer srv.Close()
				w := xdrsim.DefaultWorkload()
				w.Compress = 0.2
				sm, err := xdrsim.Run(context.Background(), xdrsim.Config{
					Target: srv.Addr(), Conns: 3, Window: 16, Count: 400, KeepSettled: 1000,
					RetryBackoff: 5 * time.Millisecond, MaxRetryBackoff: 20 * time.Millisecond,
					DrainTimeout: 20 * time.Second, Workload: w,
				})
				if err != nil {
					t.Fatal(err)
				}
				if sm.Settled != 400 || sm.Unsettled != 0 || sm.Abandoned != 0 || sm.ProtocolErrors != 0 {
					t.Fatalf("summary: %s", sm.String())
				}
				if sm.Retries == 0 {
					t.Errorf("no retries: the sink's failures were not answered 11")
				}
				st := sk.Stats()
				if st.Unvalidated != 0 || st.ByMode[format] < 400 {
					t.Errorf("sink: %d unvalidated, by mode %v", st.Unvalidated, st.ByMode)
				}
				if st.Invalid != 0 {
					t.Fatalf("sink rejected %d bodies: %s", st.Invalid, st.LastInvalid)
				}
				want := "HTTP/1.1"
				if h2 {
					want = "HTTP/2.0"
				}
				if st.ByProto[want] == 0 {
					t.Errorf("no %s requests: %v", want, st.ByProto)
				}
				v := xdrsim.Verify(&sm, sk.IDs())
				if !v.OK() || v.Checked != 400 {
					t.Errorf("verify: %+v", v)
				}
				if got := srv.Delivered(); got < 400 {
					t.Errorf("delivered counter %d", got)
				}
			})
		}
	}
}

func TestBadFormat(t *testing.T) {
	if _, err := Start(Config{Listen: "127.0.0.1:0", URL: "http://127.0.0.1:1/", Format: "xml"}); err == nil {
		t.Fatal("no error for an unknown format")
	}
}
