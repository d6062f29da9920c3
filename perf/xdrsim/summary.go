package xdrsim

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/xdrhook/xdrhook/pool"
	"github.com/xdrhook/xdrhook/wire"
)

// Summary is what a run did. At the end of a run,
// Generated == Settled + Abandoned + Unsettled.
type Summary struct {
	ElapsedSeconds float64 `json:"elapsedSeconds"`

	Generated  int64 `json:"generated"`  // distinct records made
	Sent       int64 `json:"sent"`       // frames written: first sends, retries and resends
	Bytes      int64 `json:"bytes"`      // frame bytes written
	Compressed int64 `json:"compressed"` // frames sent compressed (type 4), first sends and retries

	Settled   int64 `json:"settled"`   // answered 0 or 2: done
	Abandoned int64 `json:"abandoned"` // answered a code XDR does not retry
	Unsettled int64 `json:"unsettled"` // neither, when the run ended (still in flight or queued)
	InFlight  int64 `json:"inFlight"`  // written, not answered
	Queued    int64 `json:"queued"`    // waiting for a resend or a retry, or assigned to a target and not yet written
	Retries   int64 `json:"retries"`   // replies asking for a retry (8, 9, 11, 14, 18, 80)
	Resent    int64 `json:"resent"`    // records resent because their connection failed
	// Reassigned: records dealt to a target that went down before they
	// were written, handed to the targets that are up.
	Reassigned int64 `json:"reassigned"`

	Codes map[int]int64 `json:"codes"` // replies by result code

	Connections       int64 `json:"connections"` // open now
	Connects          int64 `json:"connects"`
	ConnectErrors     int64 `json:"connectErrors"`
	Drops             int64 `json:"drops"`          // connections closed by the peer or failed
	Timeouts          int64 `json:"timeouts"`       // connections dropped for no reply within ReplyTimeout
	ProtocolErrors    int64 `json:"protocolErrors"` // connections dropped for a malformed reply
	HealthChecks      int64 `json:"healthChecks"`
	HealthCheckErrors int64 `json:"healthCheckErrors"`

	// Targets has one entry per connector address (Config.Targets), in
	// order.
	Targets []TargetSummary `json:"targets"`

	SentPerSecond    float64 `json:"sentPerSecond"`
	SettledPerSecond float64 `json:"settledPerSecond"`
	Latency          Latency `json:"latency"` // request written to reply read

	Namespaces   []string      `json:"-"` // table of SettledID.NS
	SettledIDs   []SettledID   `json:"-"` // with Config.KeepSettled
	IDsTruncated bool          `json:"idsTruncated,omitempty"`
	Verify       *VerifyResult `json:"verify,omitempty"`
}

// TargetSummary is what a run did with one target (connector node).
// Settled, Abandoned and Retries count the replies read on its connections:
// the records it carried. Resent counts the records in flight on its
// connections when they failed, re-sent to whichever target was up.
type TargetSummary struct {
	Target     string `json:"target"`
	Up         bool   `json:"up"`    // in the rotation now (its last connect succeeded)
	Downs      int64  `json:"downs"` // times it was taken out of the rotation
	Sent       int64  `json:"sent"`
	Settled    int64  `json:"settled"`
	Abandoned  int64  `json:"abandoned"`
	Retries    int64  `json:"retries"`
	Resent     int64  `json:"resent"`
	Reassigned int64  `json:"reassigned"`
	InFlight   int64  `json:"inFlight"`
	Backlog    int64  `json:"backlog"` // dealt to it, not yet written

	Connections       int64 `json:"connections"`
	Connects          int64 `json:"connects"`
	ConnectErrors     int64 `json:"connectErrors"`
	Drops             int64 `json:"drops"`
	Timeouts          int64 `json:"timeouts"`
	ProtocolErrors    int64 `json:"protocolErrors"`
	HealthChecks      int64 `json:"healthChecks"`
	HealthCheckErrors int64 `json:"healthCheckErrors"`
}

// Target returns the summary of one target by address (nil if unknown).
func (sm *Summary) Target(addr string) *TargetSummary {
	for i := range sm.Targets {
		if sm.Targets[i].Target == addr {
			return &sm.Targets[i]
		}
	}
	return nil
}

// Latency quantiles in milliseconds (bucket upper bounds, ~6% resolution).
type Latency struct {
	Count  uint64  `json:"count"`
	MeanMs float64 `json:"meanMs"`
	P50Ms  float64 `json:"p50Ms"`
	P90Ms  float64 `json:"p90Ms"`
	P99Ms  float64 `json:"p99Ms"`
	P999Ms float64 `json:"p999Ms"`
	MaxMs  float64 `json:"maxMs"`
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// Snapshot returns the counters of a running emulator.
func (s *Sim) Snapshot() Summary { return s.snapshot(false) }

// Latency adds the reply latencies recorded so far to h. The latencies of
// an interval are the difference of two snapshots (HistSnapshot.Sub).
func (s *Sim) Latency(h *HistSnapshot) {
	for _, w := range s.workers {
		w.hist.Snapshot(h)
	}
}

func (s *Sim) snapshot(final bool) Summary {
	c := &s.c
	el := time.Since(s.start).Seconds()
	sm := Summary{
		ElapsedSeconds:    el,
		Generated:         c.generated.Load(),
		Sent:              c.sent.Load(),
		Bytes:             c.bytes.Load(),
		Compressed:        c.compressed.Load(),
		Settled:           c.settled.Load(),
		Abandoned:         c.abandoned.Load(),
		Retries:           c.retries.Load(),
		Resent:            c.resent.Load(),
		Reassigned:        c.reassigned.Load(),
		Queued:            s.q.n.Load(),
		Codes:             map[int]int64{},
		Connections:       c.active.Load(),
		Connects:          c.connects.Load(),
		ConnectErrors:     c.connectErrors.Load(),
		Drops:             c.drops.Load(),
		Timeouts:          c.timeouts.Load(),
		ProtocolErrors:    c.proto.Load(),
		HealthChecks:      c.healthChecks.Load(),
		HealthCheckErrors: c.healthErrors.Load(),
		Namespaces:        s.ns,
		IDsTruncated:      c.idsTruncated.Load(),
	}
	for i := range s.codes {
		if v := s.codes[i].Load(); v != 0 {
			sm.Codes[i] = v
		}
	}
	for _, ep := range s.eps {
		e := &ep.c
		t := TargetSummary{
			Target: ep.addr, Up: ep.up.Load(), Downs: e.downs.Load(),
			Sent: e.sent.Load(), Settled: e.settled.Load(), Abandoned: e.abandoned.Load(),
			Retries: e.retries.Load(), Resent: e.resent.Load(), Reassigned: e.reassigned.Load(),
			Backlog:     ep.nBacklog.Load(),
			Connections: e.active.Load(), Connects: e.connects.Load(), ConnectErrors: e.connectErrors.Load(),
			Drops: e.drops.Load(), Timeouts: e.timeouts.Load(), ProtocolErrors: e.proto.Load(),
			HealthChecks: e.healthChecks.Load(), HealthCheckErrors: e.healthErrors.Load(),
		}
		for _, w := range ep.workers {
			w.mu.Lock()
			t.InFlight += int64(w.ring.n)
			w.mu.Unlock()
		}
		sm.InFlight += t.InFlight
		sm.Queued += t.Backlog
		sm.Targets = append(sm.Targets, t)
	}
	if final {
		sm.Unsettled = s.pending.Load()
		for _, w := range s.workers {
			sm.SettledIDs = append(sm.SettledIDs, w.ids...)
		}
	}
	if el > 0 {
		sm.SentPerSecond = float64(sm.Sent) / el
		sm.SettledPerSecond = float64(sm.Settled) / el
	}
	var h HistSnapshot
	for _, w := range s.workers {
		w.hist.Snapshot(&h)
	}
	sm.Latency = Latency{
		Count:  h.Count(),
		MeanMs: ms(h.Mean()),
		P50Ms:  ms(h.Quantile(0.50)),
		P90Ms:  ms(h.Quantile(0.90)),
		P99Ms:  ms(h.Quantile(0.99)),
		P999Ms: ms(h.Quantile(0.999)),
		MaxMs:  ms(h.Max()),
	}
	return sm
}

// String is the human summary.
func (sm *Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "xdrsim: %.1fs  generated %d  sent %d (%.1f MB, %d compressed)\n",
		sm.ElapsedSeconds, sm.Generated, sm.Sent, float64(sm.Bytes)/1e6, sm.Compressed)
	fmt.Fprintf(&b, "  settled %d  abandoned %d  unsettled %d  retries %d  resent %d\n",
		sm.Settled, sm.Abandoned, sm.Unsettled, sm.Retries, sm.Resent)
	fmt.Fprintf(&b, "  rate: sent %s/s  settled %s/s\n", human(sm.SentPerSecond), human(sm.SettledPerSecond))
	fmt.Fprintf(&b, "  reply latency: p50 %.3fms  p90 %.3fms  p99 %.3fms  p99.9 %.3fms  max %.3fms\n",
		sm.Latency.P50Ms, sm.Latency.P90Ms, sm.Latency.P99Ms, sm.Latency.P999Ms, sm.Latency.MaxMs)
	fmt.Fprintf(&b, "  codes %v\n", sm.Codes)
	fmt.Fprintf(&b, "  connections: connects %d  connect errors %d  drops %d  timeouts %d  protocol errors %d  health checks %d (%d failed)\n",
		sm.Connects, sm.ConnectErrors, sm.Drops, sm.Timeouts, sm.ProtocolErrors, sm.HealthChecks, sm.HealthCheckErrors)
	if len(sm.Targets) > 1 {
		if sm.Reassigned > 0 {
			fmt.Fprintf(&b, "  reassigned %d (dealt to a target that went down, sent to the others)\n", sm.Reassigned)
		}
		for _, t := range sm.Targets {
			state := "up"
			if !t.Up {
				state = "down"
			}
			fmt.Fprintf(&b, "  target %s (%s, down %d×): settled %d  abandoned %d  retries %d  sent %d  resent %d  connects %d  connect errors %d  drops %d  health checks %d (%d failed)\n",
				t.Target, state, t.Downs, t.Settled, t.Abandoned, t.Retries, t.Sent, t.Resent, t.Connects, t.ConnectErrors, t.Drops, t.HealthChecks, t.HealthCheckErrors)
		}
	}
	if v := sm.Verify; v != nil {
		fmt.Fprintf(&b, "  verify: checked %d  missing %d  duplicates %d  received %d", v.Checked, v.Missing, v.Duplicates, v.Received)
		if v.Truncated {
			b.WriteString("  (settled ids truncated: partial check)")
		}
		b.WriteByte('\n')
		for _, m := range v.MissingSample {
			fmt.Fprintf(&b, "    missing %s\n", m)
		}
	}
	return b.String()
}

// prebuild generates n records once; they are then sent cycling.
func (s *Sim) prebuild(n int) {
	b := newBuilder(s.gen)
	all := make([]byte, 0, n*(s.cfg.Workload.Size+64))
	offs := make([]int, 0, n+1)
	s.fids = make([]SettledID, n)
	nowMs := time.Now().UnixMilli()
	for i := 0; i < n; i++ {
		it := item{seq: uint64(i)}
		offs = append(offs, len(all))
		all = b.appendItem(all, &it, nowMs)
		s.fids[i] = SettledID{Digest: it.digest, LUT: it.lutMs}
	}
	offs = append(offs, len(all))
	s.frames = make([][]byte, n)
	for i := range s.frames {
		s.frames[i] = all[offs[i]:offs[i+1]:offs[i+1]]
	}
}

// loadFrames takes replayed frames and finds the id of each.
func (s *Sim) loadFrames(frames [][]byte) error {
	s.frames = frames
	s.fids = make([]SettledID, len(frames))
	s.ns = nil
	nsIdx := map[string]uint16{}
	var m wire.Message
	var inf wire.Inflater
	out := pool.Get(0)
	defer pool.Put(out)
	for i, f := range frames {
		s.fids[i].NS = noNS
		typ, n, err := wire.ParseHeader(f, wire.DefaultMaxBody)
		if err != nil || n != len(f)-wire.HeaderSize {
			return fmt.Errorf("xdrsim: frame %d: not one whole frame", i+1)
		}
		if typ == wire.TypeCompressed {
			if f, err = inf.Inflate(f, wire.DefaultMaxBody, out); err != nil {
				continue // sent as is: the connector should answer 4
			}
		} else if typ != wire.TypeMsg {
			continue
		}
		if m.Decode(f[wire.HeaderSize:]) != nil {
			continue
		}
		k, ok := nsIdx[string(m.Namespace)]
		if !ok {
			if len(s.ns) >= noNS {
				continue
			}
			k = uint16(len(s.ns))
			nsIdx[string(m.Namespace)] = k
			s.ns = append(s.ns, string(m.Namespace))
		}
		s.fids[i] = SettledID{NS: k, LUT: m.LUTUnixMs()}
		copy(s.fids[i].Digest[:], m.Digest)
	}
	return nil
}

// LoadFrames reads frames to replay: one hex frame per line (blank lines and
// lines starting with # skipped; spaces inside a line ignored), or with raw
// a byte stream of frames.
func LoadFrames(r io.Reader, raw bool) ([][]byte, error) {
	var data []byte
	if raw {
		b, err := io.ReadAll(r)
		if err != nil {
			return nil, err
		}
		data = b
	} else {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 2*(wire.DefaultMaxBody+wire.HeaderSize)+16)
		line := 0
		for sc.Scan() {
			line++
			t := strings.Join(strings.Fields(sc.Text()), "")
			if t == "" || strings.HasPrefix(t, "#") {
				continue
			}
			b, err := hex.DecodeString(t)
			if err != nil {
				return nil, fmt.Errorf("line %d: not hex: %v", line, err)
			}
			data = append(data, b...)
		}
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	var frames [][]byte
	for len(data) > 0 {
		f, _, err := wire.Split(data, wire.DefaultMaxBody)
		if err != nil {
			return nil, fmt.Errorf("frame %d: %v", len(frames)+1, err)
		}
		if f == nil {
			return nil, fmt.Errorf("frame %d: truncated", len(frames)+1)
		}
		frames = append(frames, bytes.Clone(f))
		data = data[len(f):]
	}
	if len(frames) == 0 {
		return nil, errors.New("no frames")
	}
	return frames, nil
}
