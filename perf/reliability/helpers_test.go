package reliability

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/xdrhook/xdrhook/perf/harness"
	"github.com/xdrhook/xdrhook/perf/harness/prom"
	"github.com/xdrhook/xdrhook/perf/sink"
	"github.com/xdrhook/xdrhook/perf/xdrsim"
	"github.com/xdrhook/xdrhook/wire"
)

// systemTier starts every process-level scenario: they belong to the
// system tier (make test-system, make reliability), so the short tier
// (go test -short, make test) skips them, and so do -race builds.
func systemTier(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("system tier: run by make test-system (or make reliability)")
	}
	skipUnderRace(t)
}

// skipUnderRace skips a process-level scenario in -race builds: the
// connector under test is a separate binary built without it, and the
// emulator and sink under the race detector only slow the scenario down.
func skipUnderRace(t *testing.T) {
	t.Helper()
	if raceEnabled {
		t.Skip("process-level scenario: runs without -race (make test-system)")
	}
}

// soakFlag is TestSoak's length: go test ./perf/reliability -soak 10m
// (make reliability SOAK=10m).
var soakFlag = flag.Duration("soak", 20*time.Second, "TestSoak: how long the soak runs (make reliability SOAK=10m)")

// TestMain raises the open-file limit (512 XDR connections, the connector
// inherits it) and prints every scenario's figures as one table.
func TestMain(m *testing.M) {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	code := m.Run()
	printTable(os.Stdout)
	os.Exit(code)
}

// ---- figures ----

// figures are what a scenario prints.
type figures struct {
	Name       string
	Sent       int64         // distinct records the emulator made
	Frames     int64         // frames written (first sends, retries, resends)
	Delivered  int64         // settled ids found at the destination
	Duplicates int64         // settled ids received more than once
	ExtraDeliv int64         // deliveries that repeated an id (destination side)
	Retries    int64         // replies asking for a retry
	Resent     int64         // records resent after a connection drop
	MaxRSS     int64         // peak RSS of the connector process(es), bytes
	Recovery   time.Duration // < 0: not applicable
	Extra      string
}

var table struct {
	mu   sync.Mutex
	rows []figures
}

func (f *figures) line() string {
	rec := "-"
	if f.Recovery >= 0 {
		rec = f.Recovery.Round(time.Millisecond).String()
	}
	s := fmt.Sprintf("sent %d  frames %d  delivered %d  duplicates %d ids (%d extra deliveries)  retries %d  resent %d  max RSS %.1f MiB  recovery %s",
		f.Sent, f.Frames, f.Delivered, f.Duplicates, f.ExtraDeliv, f.Retries, f.Resent, mib(f.MaxRSS), rec)
	if f.Extra != "" {
		s += "  | " + f.Extra
	}
	return s
}

func report(t *testing.T, f figures) {
	t.Helper()
	if f.Name == "" {
		f.Name = t.Name()
	}
	t.Logf("FIGURES %s: %s", f.Name, f.line())
	table.mu.Lock()
	table.rows = append(table.rows, f)
	table.mu.Unlock()
}

func printTable(w io.Writer) {
	table.mu.Lock()
	defer table.mu.Unlock()
	if len(table.rows) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tsent\tframes\tdelivered\tdup ids\textra deliv\tretries\tresent\tmax RSS MiB\trecovery\t")
	for _, f := range table.rows {
		rec := "-"
		if f.Recovery >= 0 {
			rec = f.Recovery.Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.1f\t%s\t\n", f.Name, f.Sent, f.Frames, f.Delivered,
			f.Duplicates, f.ExtraDeliv, f.Retries, f.Resent, mib(f.MaxRSS), rec)
	}
	tw.Flush()
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// ---- connector configuration ----

// conf is a connector configuration with one destination named "sink".
type conf struct {
	URL           string   // destination URL
	ReplyDeadline int      // ms; 0: the default (8000)
	CallTimeout   int      // ms; 0: the default
	Retry         string   // flow map; "": {max-attempts: 3, initial-backoff: 50, max-backoff: 500}
	Batching      string   // flow map; "": {max-records: 500, batch-interval: 20}; "off": none
	Format        string   // flow map; "": {mode: flat-json}
	Dest          []string // extra lines of the destination ("key: value")
	Service       []string // extra lines of service
	Manage        string   // flow map for service.manage; "": {port: {{MANAGE_PORT}}}
	Top           string   // extra top-level YAML
	LogLevel      string   // "": info
}

func (c conf) yaml() string {
	var b strings.Builder
	b.WriteString("service:\n  port: {{XDR_PORT}}\n  address: 127.0.0.1\n")
	if c.Manage == "" {
		c.Manage = "{port: {{MANAGE_PORT}}}"
	}
	fmt.Fprintf(&b, "  manage: %s\n", c.Manage)
	if c.ReplyDeadline > 0 {
		fmt.Fprintf(&b, "  reply-deadline: %d\n", c.ReplyDeadline)
	}
	for _, l := range c.Service {
		b.WriteString("  " + l + "\n")
	}
	b.WriteString("destinations:\n  sink:\n")
	fmt.Fprintf(&b, "    urls: [%q]\n", c.URL)
	if c.CallTimeout > 0 {
		fmt.Fprintf(&b, "    call-timeout: %d\n", c.CallTimeout)
		fmt.Fprintf(&b, "    connect-timeout: %d\n", min(1000, c.CallTimeout))
	}
	if c.Retry == "" {
		c.Retry = "{max-attempts: 3, initial-backoff: 50, max-backoff: 500}"
	}
	fmt.Fprintf(&b, "    retry: %s\n", c.Retry)
	for _, l := range c.Dest {
		b.WriteString("    " + l + "\n")
	}
	b.WriteString("routing: {mode: static, destination: sink}\n")
	if c.Format == "" {
		c.Format = "{mode: flat-json}"
	}
	fmt.Fprintf(&b, "format: %s\n", c.Format)
	switch c.Batching {
	case "":
		b.WriteString("batching: {max-records: 500, batch-interval: 20}\n")
	case "off":
	default:
		fmt.Fprintf(&b, "batching: %s\n", c.Batching)
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	fmt.Fprintf(&b, "logging: {level: %s}\n", c.LogLevel)
	b.WriteString(c.Top)
	return b.String()
}

// ---- sink, emulator ----

func startSink(t *testing.T, cfg sink.Config) *sink.Sink {
	t.Helper()
	if cfg.Seed == 0 {
		cfg.Seed = 7
	}
	return harness.StartSink(t, cfg)
}

// simConfig is the emulator of most scenarios: 8 connections, a modest
// rate, small records of every kind, quick retries, every settled id kept.
func simConfig(target string) xdrsim.Config {
	w := xdrsim.DefaultWorkload()
	w.Size = 400
	w.Compress = 0.05
	return xdrsim.Config{
		Target: target, Conns: 8, Window: 64, Rate: 5000,
		RetryBackoff: 50 * time.Millisecond, MaxRetryBackoff: 500 * time.Millisecond,
		ReconnectBackoff: 20 * time.Millisecond, MaxReconnectBackoff: 200 * time.Millisecond,
		DrainTimeout: 30 * time.Second, KeepSettled: 20_000_000, Workload: w,
	}
}

func startSim(t *testing.T, cfg xdrsim.Config) *xdrsim.Sim {
	t.Helper()
	s, err := xdrsim.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop(); s.Wait() })
	return s
}

// verify checks that every record the emulator saw settled with 0 reached
// the destination, that the healthy stream lost or abandoned nothing, and
// fills the common figures.
func verify(t *testing.T, sm *xdrsim.Summary, ids *sink.IDSet) figures {
	t.Helper()
	return verifyIDs(t, sm, ids, false)
}

// verifyIDs is verify; with partial, the emulator may have kept only the
// first KeepSettled ids (a long soak), and only those are checked.
func verifyIDs(t *testing.T, sm *xdrsim.Summary, ids *sink.IDSet, partial bool) figures {
	t.Helper()
	v := xdrsim.Verify(sm, ids)
	sm.Verify = &v
	f := figures{
		Sent: sm.Generated, Frames: sm.Sent, Delivered: v.Checked - v.Missing, Duplicates: v.Duplicates,
		ExtraDeliv: ids.Duplicates(), Retries: sm.Retries, Resent: sm.Resent, Recovery: -1,
	}
	switch {
	case v.Missing != 0:
		note := ""
		if ids.Truncated() {
			note = " (the destination's id set is truncated: raise its MaxIDs or check fewer ids)"
		}
		t.Errorf("LOST RECORDS%s: %d settled with 0 never reached the destination: %v\n%s", note, v.Missing, v.MissingSample, sm)
	case v.Truncated && !partial:
		t.Errorf("partial check: ids truncated\n%s", sm)
	case sm.Unsettled != 0:
		t.Errorf("%d records still unsettled at the end of the run\n%s", sm.Unsettled, sm)
	case sm.Abandoned != 0:
		t.Errorf("%d records abandoned (answered a code XDR does not retry)\n%s", sm.Abandoned, sm)
	case sm.Generated == 0 || (v.Checked != sm.Settled && !partial):
		t.Errorf("checked %d of %d settled (generated %d)\n%s", v.Checked, sm.Settled, sm.Generated, sm)
	}
	return f
}

// recovery polls the emulator from `from` until its retry/resend queue is
// empty and records settle again (or nothing is left in flight); it
// returns how long that took after from.
func recovery(sim *xdrsim.Sim, from time.Time, timeout time.Duration) time.Duration {
	if d := time.Until(from); d > 0 {
		time.Sleep(d)
	}
	base := sim.Snapshot().Settled
	for time.Since(from) < timeout {
		s := sim.Snapshot()
		if s.Queued == 0 && (s.Settled > base || s.InFlight == 0) {
			return time.Since(from)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return timeout
}

// ---- process watching ----

type sample struct {
	At         time.Duration
	RSS        int64
	Goroutines float64
	Settled    int64
}

// watcher samples the connector's RSS (and, if asked, its go_goroutines)
// and keeps the peak across restarts.
type watcher struct {
	cur        atomic.Pointer[harness.Proc]
	sim        atomic.Pointer[xdrsim.Sim]
	goroutines bool
	every      time.Duration
	start      time.Time

	mu      sync.Mutex
	peak    int64
	samples []sample
	stop    chan struct{}
	done    chan struct{}
}

func watch(p *harness.Proc, every time.Duration, goroutines bool) *watcher {
	w := &watcher{every: every, goroutines: goroutines, start: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	w.cur.Store(p)
	go w.run()
	return w
}

func (w *watcher) run() {
	defer close(w.done)
	t := time.NewTicker(w.every)
	defer t.Stop()
	for {
		w.sampleNow()
		select {
		case <-t.C:
		case <-w.stop:
			w.sampleNow()
			return
		}
	}
}

func (w *watcher) sampleNow() {
	p := w.cur.Load()
	if p == nil {
		return
	}
	select {
	case <-p.Done():
		return
	default:
	}
	s := sample{At: time.Since(w.start), RSS: p.RSS()}
	if w.goroutines {
		s.Goroutines = metricOf(p, "go_goroutines")
	}
	if sim := w.sim.Load(); sim != nil {
		s.Settled = sim.Snapshot().Settled
	}
	w.fold(p)
	w.mu.Lock()
	w.samples = append(w.samples, s)
	w.peak = max(w.peak, s.RSS)
	w.mu.Unlock()
}

// fold takes in the process's own peak (VmHWM) while it still runs.
func (w *watcher) fold(p *harness.Proc) {
	if hwm := p.PeakRSS(); hwm > 0 {
		w.mu.Lock()
		w.peak = max(w.peak, hwm)
		w.mu.Unlock()
	}
}

// swap folds the old process's peak in and watches the new one.
func (w *watcher) swap(p *harness.Proc) {
	if old := w.cur.Load(); old != nil {
		w.fold(old)
	}
	w.cur.Store(p)
}

// Peak folds the current process in and returns the peak RSS so far.
func (w *watcher) Peak() int64 {
	if p := w.cur.Load(); p != nil {
		w.fold(p)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.peak
}

// Stop ends sampling and returns the peak RSS.
func (w *watcher) Stop() int64 {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
	return w.Peak()
}

func (w *watcher) Samples() []sample {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]sample(nil), w.samples...)
}

// metricOf reads one series of the connector's /metrics (name with every
// label), or -1 when it is absent.
func metricOf(p *harness.Proc, series string) float64 {
	return prom.Series(p.MetricsURL(), series)
}

// metric reads one series, failing the test when it is absent.
func metric(t *testing.T, p *harness.Proc, series string) float64 {
	t.Helper()
	v := metricOf(p, series)
	if v < 0 {
		t.Errorf("metric %s absent", series)
	}
	return v
}

// ---- raw XDR clients ----

var digester struct {
	mu sync.Mutex
	d  wire.Digester
}

// rec is a full write of namespace ns, set "rel", string key k, with bins.
func rec(ns, key string, lutMs int64, bins ...wire.BinSpec) *wire.Record {
	r := &wire.Record{
		Kind: wire.KindWrite, Generation: 1, TTL: wire.TTLNever, Namespace: ns, Set: "rel",
		KeyType: wire.ParticleString, Key: []byte(key), LUT: wire.MakeLUT(1, lutMs), Bins: bins,
	}
	digester.mu.Lock()
	r.SetDigest(&digester.d)
	digester.mu.Unlock()
	return r
}

func strBin(name, v string) wire.BinSpec {
	return wire.BinSpec{Name: name, Type: wire.ParticleString, Value: []byte(v)}
}

func intBin(name string, v int64) wire.BinSpec {
	return wire.BinSpec{Name: name, Type: wire.ParticleInteger, Value: wire.IntValue(v)}
}

var goodSeq atomic.Int64

// goodFrames are n valid writes in namespace ns, each a record never sent
// before (its own key).
func goodFrames(ns string, n int) []byte {
	var b []byte
	now := time.Now().UnixMilli()
	for i := 0; i < n; i++ {
		k := goodSeq.Add(1)
		b = wire.AppendFrame(b, rec(ns, "good-"+strconv.FormatInt(k, 10), now, strBin("s", "v"), intBin("i", k)))
	}
	return b
}

type rawConn struct {
	net.Conn
	buf []byte
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{Conn: c}
}

// replies reads until n replies came, the connection closed or timeout
// passed; it returns the result codes and whether the connector closed.
func (r *rawConn) replies(n int, timeout time.Duration) (rcs []byte, closed bool) {
	deadline := time.Now().Add(timeout)
	tmp := make([]byte, 64<<10)
	for len(rcs) < n && time.Now().Before(deadline) {
		r.SetReadDeadline(deadline)
		k, err := r.Read(tmp)
		r.buf = append(r.buf, tmp[:k]...)
		for len(r.buf) >= wire.ReplySize {
			rcs = append(rcs, r.buf[13])
			r.buf = r.buf[wire.ReplySize:]
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				break
			}
			return rcs, true
		}
	}
	return rcs, false
}

func countRC(rcs []byte, rc byte) int { return bytes.Count(rcs, []byte{rc}) }

// ---- a TCP proxy that can go down, reset its connections and flap ----

type proxy struct {
	target string
	addr   string

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
	down   bool
	closed bool
	wg     sync.WaitGroup
	resets atomic.Int64
	wrap   func(net.Conn) net.Conn // e.g. tls.Server
}

func newProxy(t *testing.T, target string, wrap func(net.Conn) net.Conn) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{target: target, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}, wrap: wrap}
	p.serve(ln)
	t.Cleanup(p.close)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.ln = ln
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.down || p.closed {
				p.mu.Unlock()
				c.Close()
				continue
			}
			p.conns[c] = struct{}{}
			p.mu.Unlock()
			p.wg.Add(1)
			go p.pipe(c)
		}
	}()
}

func (p *proxy) pipe(c net.Conn) {
	defer p.wg.Done()
	var in net.Conn = c
	if p.wrap != nil {
		in = p.wrap(c)
	}
	up, err := net.DialTimeout("tcp", p.target, 2*time.Second)
	if err == nil {
		p.mu.Lock()
		p.conns[up] = struct{}{}
		p.mu.Unlock()
		done := make(chan struct{}, 2)
		go func() { io.Copy(up, in); up.Close(); in.Close(); done <- struct{}{} }()
		go func() { io.Copy(in, up); up.Close(); in.Close(); done <- struct{}{} }()
		<-done
		<-done
	}
	in.Close()
	p.mu.Lock()
	delete(p.conns, c)
	if up != nil {
		delete(p.conns, up)
	}
	p.mu.Unlock()
}

func (p *proxy) URL() string { return "http://" + p.addr }

// abortAll closes every connection with a reset (SO_LINGER 0).
func (p *proxy) abortAllLocked() {
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.Close()
	}
}

// Reset drops every connection now (RST), mid-request or not.
func (p *proxy) Reset() {
	p.mu.Lock()
	p.abortAllLocked()
	p.mu.Unlock()
	p.resets.Add(1)
}

// Down closes the listener (connections refused) and every connection.
func (p *proxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down || p.closed {
		return
	}
	p.down = true
	p.ln.Close()
	p.abortAllLocked()
}

// Up listens again on the same address.
func (p *proxy) Up() {
	for i := 0; i < 200; i++ {
		p.mu.Lock()
		if !p.down || p.closed {
			p.mu.Unlock()
			return
		}
		ln, err := net.Listen("tcp", p.addr)
		if err == nil {
			p.down = false
			p.serve(ln)
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	panic("proxy: cannot listen again on " + p.addr)
}

func (p *proxy) close() {
	p.mu.Lock()
	p.closed = true
	if p.ln != nil {
		p.ln.Close()
	}
	p.abortAllLocked()
	p.mu.Unlock()
	p.wg.Wait()
}

// ---- small things ----

// waitFor polls cond every 10 ms until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(timeout); ; {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// logLines counts the lines of s that contain sub.
func logLines(s, sub string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			n++
		}
	}
	return n
}

// median of xs (0 when empty).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ---- an HTTP front for the sink: storms on demand, headers seen ----

// front forwards requests to a sink, or answers them itself with a status
// while a storm is on; it records the Authorization headers it saw.
type front struct {
	srv   *httptest.Server
	rp    *httputil.ReverseProxy
	storm atomic.Int32 // status to answer; 0: forward
	retry string       // Retry-After during a storm
	n     atomic.Int64 // requests answered by the storm

	mu    sync.Mutex
	auths map[string]int
}

func newFront(t *testing.T, target string, retryAfter string) *front {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	f := &front{rp: httputil.NewSingleHostReverseProxy(u), retry: retryAfter, auths: map[string]int{}}
	f.rp.Transport = &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}
	f.rp.ErrorLog = log.New(io.Discard, "", 0)
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *front) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.auths[r.Header.Get("Authorization")]++
	f.mu.Unlock()
	if st := int(f.storm.Load()); st != 0 && r.Method != http.MethodGet {
		io.Copy(io.Discard, r.Body)
		if f.retry != "" {
			w.Header().Set("Retry-After", f.retry)
		}
		f.n.Add(1)
		http.Error(w, "storm", st)
		return
	}
	f.rp.ServeHTTP(w, r)
}

func (f *front) URL() string { return f.srv.URL }

func (f *front) authorizations() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.auths)
}
