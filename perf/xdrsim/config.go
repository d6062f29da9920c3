// Package xdrsim emulates Aerospike XDR toward a connector: it opens
// connections, pipelines write and delete requests with a bounded window per
// connection, reads the 30-byte replies in order, retries what XDR retries,
// abandons what XDR abandons, and resends everything in flight on a
// connection that drops or stops answering. Given several targets (the
// nodes of a connector DC) it spreads records over them as XDR does:
// round-robin per record over the nodes that pass their health checks,
// skipping a node that refuses connections until it answers again, and
// re-sending what was in flight on a failed node to the others (see
// endpoint.go); the Summary counts per target. Records come from a seeded,
// deterministic workload generator, from frames built once up front
// (Prebuilt), or from frames replayed from a file.
//
// Use it from Go with Run (or Start, then Wait), or from the command line
// with `xdrhook sim`.
package xdrsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"
)

// Size targets of the workload generator, in frame bytes.
const (
	SizeSmall   = 150
	SizeTypical = 1024
	SizeLarge   = 64 << 10

	// MaxSize bounds a generated frame (XDR records are at most 8 MiB).
	MaxSize = 8 << 20
)

// Workload describes the generated records. The zero value generates typical
// (~1 KiB) full writes of 100,000 keys in namespace "test", sets s1..s3, every
// key stored, no deletes, no compression.
type Workload struct {
	Seed      uint64
	Size      int      // target frame size in bytes (SizeSmall, SizeTypical, SizeLarge or any); 0 = SizeTypical
	Keys      int      // key space: the same keys are updated again with rising generation and LUT; 0 = 100,000
	Namespace string   // "" = "test"
	Sets      []string // nil = s1, s2, s3

	NoSetRatio float64 // fraction of keys without a set
	NoKeyRatio float64 // fraction of keys whose user key is not shipped (the digest still is)

	DeleteRatio  float64 // fraction of records that are deletes
	DurableRatio float64 // fraction of deletes that are durable
	PartialRatio float64 // fraction of records that are partial writes (some bins, some deleted)
	MetaRatio    float64 // fraction of records that are metadata-only writes (no bins)

	Compress      float64 // fraction of frames sent compressed (type 4)
	CompressLevel int     // zlib level; 0 = 1 (fastest)

	Source uint8 // LUT source id (bits 47..40 of the LUT); 0 = 1
}

// DefaultWorkload is the mix the command line uses by default: every kind of
// record, a few keys without set or stored key.
func DefaultWorkload() Workload {
	return Workload{
		Seed:         1,
		Size:         SizeTypical,
		Keys:         100000,
		Namespace:    "test",
		Sets:         []string{"s1", "s2", "s3"},
		NoSetRatio:   0.1,
		NoKeyRatio:   0.1,
		DeleteRatio:  0.05,
		DurableRatio: 0.5,
		PartialRatio: 0.1,
		MetaRatio:    0.02,
	}
}

// Config is one emulator run. Zero values take the documented defaults.
type Config struct {
	Target string // HOST:PORT of the connector (one node)
	// Targets are the nodes of a connector cluster, as an XDR DC lists them
	// with node-address-port: each gets Conns connections; new records go
	// round-robin over the ones that answer their health checks, and what
	// was in flight on a node that fails is re-sent to the others (see
	// endpoint). Target, when also set, comes first.
	Targets []string

	Conns        int           // connections to each target; default 4
	Window       int           // requests in flight per connection; default 64
	ReplyTimeout time.Duration // no reply for this long: drop the connection, resend; default 10 s
	// HealthInterval: every so often open a connection to each target and
	// close it without sending a byte, as XDR does. A target that refuses is
	// skipped until a connect succeeds again (a health check, or one of its
	// connections reconnecting). 0 = no health checks (reconnects still
	// take a target out and put it back).
	HealthInterval time.Duration

	RetryBackoff        time.Duration // first delay before re-shipping a record answered "retry"; default 100 ms
	MaxRetryBackoff     time.Duration // the delay doubles up to this; default 1 s
	ReconnectBackoff    time.Duration // first delay after a failed connect; default 50 ms
	MaxReconnectBackoff time.Duration // default 1 s
	DialTimeout         time.Duration // default 2 s

	Rate     float64       // new records per second over all connections; 0 = as fast as possible
	Count    int64         // new records in all; 0 = until Duration (or ctx), or once per frame when replaying
	Duration time.Duration // stop making new records after this; 0 = no limit
	// DrainTimeout: once no new records are made, wait at most this long for
	// the outstanding ones to settle; the rest count as Unsettled. Default 30 s.
	DrainTimeout time.Duration

	Workload Workload
	// Frames, when set, are sent instead of generated records (replay), in
	// order and cycling. Each is a complete frame (type 3 or 4).
	Frames [][]byte
	// Prebuilt > 0 builds that many records up front and sends them cycling:
	// the fastest send path (a copy per record), for load tests.
	Prebuilt int

	// KeepSettled > 0 keeps the id (namespace, digest, LUT) of up to that
	// many records settled with code 0, for Verify.
	KeepSettled int

	Progress         io.Writer     // live progress lines (nil = none)
	ProgressInterval time.Duration // default 1 s

	MaxBatchBytes int // bytes of frames per write; default 1 MiB

	// Dial opens a connection; default a net.Dialer with DialTimeout.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (c *Config) normalize() error {
	targets := make([]string, 0, len(c.Targets)+1)
	if c.Target != "" {
		targets = append(targets, c.Target)
	}
	for _, t := range c.Targets {
		if t == "" {
			return errors.New("xdrsim: an empty target")
		}
		if t == c.Target {
			continue
		}
		if slices.Contains(targets, t) {
			return fmt.Errorf("xdrsim: target %s listed twice", t)
		}
		targets = append(targets, t)
	}
	if len(targets) == 0 {
		if c.Dial == nil {
			return errors.New("xdrsim: no target")
		}
		targets = append(targets, "") // the Dial function knows where
	}
	c.Targets = targets
	def := func(p *time.Duration, d time.Duration) {
		if *p <= 0 {
			*p = d
		}
	}
	if c.Conns <= 0 {
		c.Conns = 4
	}
	if c.Window <= 0 {
		c.Window = 64
	}
	def(&c.ReplyTimeout, 10*time.Second)
	def(&c.RetryBackoff, 100*time.Millisecond)
	def(&c.MaxRetryBackoff, time.Second)
	if c.MaxRetryBackoff < c.RetryBackoff {
		c.MaxRetryBackoff = c.RetryBackoff
	}
	def(&c.ReconnectBackoff, 50*time.Millisecond)
	def(&c.MaxReconnectBackoff, time.Second)
	def(&c.DialTimeout, 2*time.Second)
	def(&c.DrainTimeout, 30*time.Second)
	def(&c.ProgressInterval, time.Second)
	if c.MaxBatchBytes <= 0 {
		c.MaxBatchBytes = 1 << 20
	}
	if c.Rate < 0 {
		return errors.New("xdrsim: negative rate")
	}
	if len(c.Frames) > 0 && c.Prebuilt > 0 {
		return errors.New("xdrsim: Frames and Prebuilt are exclusive")
	}
	if len(c.Frames) > 0 && c.Count == 0 && c.Duration == 0 {
		c.Count = int64(len(c.Frames))
	}
	w := &c.Workload
	if w.Size <= 0 {
		w.Size = SizeTypical
	}
	if w.Size > MaxSize {
		return errors.New("xdrsim: record size over 8 MiB")
	}
	if w.Keys <= 0 {
		w.Keys = 100000
	}
	if w.Keys > 1<<31 {
		return errors.New("xdrsim: key space over 2^31")
	}
	if w.Namespace == "" {
		w.Namespace = "test"
	}
	if len(w.Namespace) > 31 {
		return errors.New("xdrsim: namespace longer than 31 bytes")
	}
	if w.Sets == nil {
		w.Sets = []string{"s1", "s2", "s3"}
	}
	for _, s := range w.Sets {
		if s == "" || len(s) > 63 {
			return errors.New("xdrsim: a set name must be 1..63 bytes")
		}
	}
	if len(w.Sets) == 0 {
		w.NoSetRatio = 1
	}
	if w.CompressLevel == 0 {
		w.CompressLevel = 1
	}
	if w.Source == 0 {
		w.Source = 1
	}
	for _, r := range []float64{w.NoSetRatio, w.NoKeyRatio, w.DeleteRatio, w.DurableRatio, w.PartialRatio, w.MetaRatio, w.Compress} {
		if r < 0 || r > 1 {
			return errors.New("xdrsim: a ratio must be within 0..1")
		}
	}
	if w.DeleteRatio+w.PartialRatio+w.MetaRatio > 1 {
		return errors.New("xdrsim: delete + partial + meta ratios exceed 1")
	}
	return nil
}

// TargetList is a flag.Value for Config.Targets: the flag may be repeated,
// and each value is one HOST:PORT or a comma-separated list of them.
type TargetList []string

func (l *TargetList) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(*l, ",")
}

// Set adds the targets of one flag value.
func (l *TargetList) Set(v string) error {
	n := 0
	for _, t := range strings.Split(v, ",") {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(t); err != nil {
			return fmt.Errorf("target %q: want HOST:PORT", t)
		}
		if slices.Contains(*l, t) {
			return fmt.Errorf("target %s listed twice", t)
		}
		*l = append(*l, t)
		n++
	}
	if n == 0 {
		return errors.New("empty target")
	}
	return nil
}
