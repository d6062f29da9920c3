// Package sink is an HTTP destination for tests and load runs: it accepts
// every body xdrhook sends (output-formats.md: json, flat-json, MessagePack,
// Avro; single messages and every batch framing), validates each message
// with decoders independent of xdrhook's encoders, counts records and bytes,
// keeps the ids it received (namespace, digest, LUT) for `sim --verify`,
// and injects faults on request: failing statuses, latency, outages and
// connections closed mid-request.
//
// It serves HTTP/1.1 and h2c (HTTP/2 with prior knowledge) on one port, or
// HTTP/1.1 and h2 over TLS with a self-signed certificate made at start.
package sink

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"github.com/xdrhook/xdrhook/encode"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/linkedin/goavro/v2"
)

// Config is a sink. Zero values take the documented defaults.
type Config struct {
	Listen string // address to listen on; default 127.0.0.1:0
	TLS    bool   // serve HTTPS (h2 and HTTP/1.1) with a self-signed certificate
	// CertOut, with TLS: write the certificate there (PEM), for a client's
	// ca-file.
	CertOut string

	MetadataKey string // flat-json metadata object; default "metadata"
	// AvroSchema is the schema JSON used to validate Avro single-object
	// messages. Empty: AvroSchemaFile, else the built-in schema file
	// (encode/schema/change_notification.avsc) when found; without any,
	// single-object messages are counted as unvalidated.
	AvroSchema     string
	AvroSchemaFile string
	// Check is "full" (default: decode and validate every message, keep ids)
	// or "count" (frame and count records only: for load runs). Counting
	// without faults, TLS or a store is served by the lean server
	// (lean.go: fasthttp and a Framer-based h2c), else by net/http.
	Check string

	MaxBody int64 // bound on a request body; default 256 MiB
	MaxIDs  int   // distinct ids kept; default 10,000,000
	NoIDs   bool  // keep no ids

	// Faults. Decisions use a random source seeded with Seed.
	Seed        uint64
	FailRate    float64       // fraction of requests answered FailStatus
	FailStatus  int           // default 503
	FailFirst   int           // the first FailFirst requests are answered FailStatus
	RetryAfter  string        // Retry-After header on failed responses ("" = none)
	Latency     time.Duration // added to every request
	LatencyRand bool          // a random latency up to Latency instead of a fixed one
	HangupRate  float64       // fraction of requests whose connection is closed mid-request
	DownAfter   time.Duration // go down (refuse connections) this long after Start...
	DownFor     time.Duration // ...for this long; then listen again on the same address

	Store    string    // append received ids (NDJSON lines) to this file
	StoreRaw bool      // also store each message ("raw": text, or base64 for binary)
	StoreW   io.Writer // or to this writer

	Progress io.Writer // a line per second (nil = none)
}

// Stats are the sink's counters (GET /stats).
type Stats struct {
	UptimeSeconds   float64                 `json:"uptimeSeconds"`
	Requests        int64                   `json:"requests"`     // data requests (POST/PUT)
	Accepted        int64                   `json:"accepted"`     // answered 2xx
	Records         int64                   `json:"records"`      // messages in accepted requests
	Bytes           int64                   `json:"bytes"`        // body bytes of accepted requests (decompressed)
	Invalid         int64                   `json:"invalid"`      // requests answered 400
	Unvalidated     int64                   `json:"unvalidated"`  // avro single-object messages accepted without a schema
	NoID            int64                   `json:"noId"`         // valid messages without an id (avro user schema, es-bulk delete by user key)
	DistinctIDs     int64                   `json:"distinctIds"`  // distinct ids kept
	Duplicates      int64                   `json:"duplicates"`   // messages whose id was already received
	IDsTruncated    bool                    `json:"idsTruncated"` // MaxIDs reached
	ByFormat        map[string]*FormatStats `json:"byFormat"`     // accepted requests by framing
	ByMode          map[string]int64        `json:"byMode"`       // records by message format (json, flat-json, message-pack, avro)
	ByStatus        map[int]int64           `json:"byStatus"`     // responses to data requests by status
	Faults          map[string]int64        `json:"faults"`       // faults injected by kind
	ByProto         map[string]int64        `json:"byProto"`      // data requests by protocol (HTTP/1.1, HTTP/2.0)
	LastInvalid     string                  `json:"lastInvalid,omitempty"`
	AvroSchemaKnown bool                    `json:"avroSchemaKnown"`
}

// FormatStats counts one framing.
type FormatStats struct {
	Requests int64 `json:"requests"`
	Records  int64 `json:"records"`
	Bytes    int64 `json:"bytes"`
}

// Sink is a running HTTP sink.
type Sink struct {
	cfg    Config
	ps     *parser
	srv    *http.Server
	lean   *lean // the counting mode's server, when it fits (leanFits)
	tlsCfg *tls.Config
	ids    *IDSet
	start  time.Time

	lnMu   sync.Mutex
	ln     net.Listener
	addr   string
	down   bool
	conns  map[net.Conn]struct{}
	closed bool
	serve  sync.WaitGroup
	bg     sync.WaitGroup
	stop   chan struct{}

	reqs atomic.Int64
	rngM sync.Mutex
	rng  *rand.Rand

	mu    sync.Mutex
	st    Stats
	store *bufio.Writer
	sf    *os.File
}

type ctxKey struct{}

// New checks cfg; Start serves.
func New(cfg Config) (*Sink, error) {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.MetadataKey == "" {
		cfg.MetadataKey = "metadata"
	}
	if cfg.FailStatus == 0 {
		cfg.FailStatus = http.StatusServiceUnavailable
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 256 << 20
	}
	if cfg.MaxIDs <= 0 {
		cfg.MaxIDs = 10_000_000
	}
	switch cfg.Check {
	case "":
		cfg.Check = "full"
	case "full", "count":
	default:
		return nil, fmt.Errorf("sink: check %q: want full or count", cfg.Check)
	}
	for _, r := range []float64{cfg.FailRate, cfg.HangupRate} {
		if r < 0 || r > 1 {
			return nil, errors.New("sink: a rate must be within 0..1")
		}
	}
	s := &Sink{
		cfg:   cfg,
		ids:   NewIDSet(cfg.MaxIDs),
		conns: map[net.Conn]struct{}{},
		stop:  make(chan struct{}),
		rng:   rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		ps:    &parser{metaKey: cfg.MetadataKey, countAll: cfg.Check == "count", keepRaw: cfg.StoreRaw},
	}
	s.st = Stats{ByFormat: map[string]*FormatStats{}, ByMode: map[string]int64{}, ByStatus: map[int]int64{},
		Faults: map[string]int64{}, ByProto: map[string]int64{}}
	if err := s.loadSchema(); err != nil {
		return nil, err
	}
	s.st.AvroSchemaKnown = s.ps.codec != nil
	if cfg.TLS {
		cert, err := selfSigned(cfg.Listen)
		if err != nil {
			return nil, err
		}
		s.tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
		if cfg.CertOut != "" {
			pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})
			if err := os.WriteFile(cfg.CertOut, pemCert, 0o644); err != nil {
				return nil, fmt.Errorf("sink: certificate: %w", err)
			}
		}
	}
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetHTTP2(true)
	p.SetUnencryptedHTTP2(!cfg.TLS)
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(s.handle),
		Protocols:         &p,
		TLSConfig:         s.tlsCfg,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       120 * time.Second,
		HTTP2:             &http.HTTP2Config{MaxConcurrentStreams: 1000},
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, ctxKey{}, c)
		},
		ConnState: s.connState,
	}
	s.srv.ErrorLog = quietLog()
	if leanFits(cfg) {
		s.lean = newLean(s)
	}
	return s, nil
}

// loadSchema finds the Avro schema for single-object messages.
func (s *Sink) loadSchema() error {
	text := s.cfg.AvroSchema
	if text == "" && s.cfg.AvroSchemaFile != "" {
		b, err := os.ReadFile(s.cfg.AvroSchemaFile)
		if err != nil {
			return fmt.Errorf("sink: avro schema: %w", err)
		}
		text = string(b)
	}
	if text == "" {
		// The schema text the connector embeds: only the text is shared;
		// decoding is goavro's, independent of encode/ (and of the
		// hamba/avro it parses schemas with).
		text = encode.ChangeNotificationSchema()
	}
	codec, err := goavro.NewCodec(text)
	if err != nil {
		return fmt.Errorf("sink: avro schema: %w", err)
	}
	// The fingerprints a sender may announce: over hamba's canonical form
	// (what hamba-based producers send) and the specification's.
	sch, err := avro.ParseWithCache(text, "", &avro.SchemaCache{})
	if err != nil {
		return fmt.Errorf("sink: avro schema: %w", err)
	}
	s.ps.codec = codec
	s.ps.fps = avroFingerprints(sch.String())
	return nil
}

// Start listens and serves.
func (s *Sink) Start() error {
	if s.cfg.Store != "" {
		f, err := os.OpenFile(s.cfg.Store, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("sink: store: %w", err)
		}
		s.sf = f
		s.store = bufio.NewWriterSize(f, 1<<20)
	} else if s.cfg.StoreW != nil {
		s.store = bufio.NewWriterSize(s.cfg.StoreW, 1<<16)
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("sink: %w", err)
	}
	s.start = time.Now()
	s.lnMu.Lock()
	s.addr = ln.Addr().String()
	if s.lean != nil {
		s.ln = ln
		s.lean.start(ln)
	} else {
		s.serveOn(ln)
	}
	s.lnMu.Unlock()
	if s.cfg.DownAfter > 0 && s.cfg.DownFor > 0 {
		s.bg.Add(1)
		go s.outage()
	}
	s.bg.Add(1)
	go s.ticker()
	return nil
}

// serveOn serves ln (s.lnMu held).
func (s *Sink) serveOn(ln net.Listener) {
	s.ln = ln
	s.serve.Add(1)
	go func() {
		defer s.serve.Done()
		if s.tlsCfg != nil {
			s.srv.ServeTLS(ln, "", "")
		} else {
			s.srv.Serve(ln)
		}
	}()
}

// outage closes the listener and every connection at DownAfter, and
// listens again on the same address DownFor later.
func (s *Sink) outage() {
	defer s.bg.Done()
	if !s.sleep(s.cfg.DownAfter) {
		return
	}
	s.lnMu.Lock()
	if s.closed {
		s.lnMu.Unlock()
		return
	}
	s.down = true
	s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.lnMu.Unlock()
	s.fault("down")
	s.sleep(s.cfg.DownFor)
	for {
		s.lnMu.Lock()
		if s.closed {
			s.lnMu.Unlock()
			return
		}
		ln, err := net.Listen("tcp", s.addr)
		if err == nil {
			s.down = false
			s.serveOn(ln)
			s.lnMu.Unlock()
			return
		}
		s.lnMu.Unlock()
		if !s.sleep(20 * time.Millisecond) {
			return
		}
	}
}

func (s *Sink) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.stop:
		return false
	}
}

func (s *Sink) connState(c net.Conn, st http.ConnState) {
	s.lnMu.Lock()
	defer s.lnMu.Unlock()
	switch st {
	case http.StateNew:
		if s.down || s.closed {
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
	case http.StateClosed, http.StateHijacked:
		delete(s.conns, c)
	}
}

// Addr is the address the sink listens on (host:port).
func (s *Sink) Addr() string { return s.addr }

// URL is the sink's base URL (http:// or https://).
func (s *Sink) URL() string {
	if s.cfg.TLS {
		return "https://" + s.addr
	}
	return "http://" + s.addr
}

// IDs is the set of ids received.
func (s *Sink) IDs() *IDSet { return s.ids }

// Stats returns a copy of the counters.
func (s *Sink) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	st.UptimeSeconds = time.Since(s.start).Seconds()
	st.ByFormat = make(map[string]*FormatStats, len(s.st.ByFormat))
	for k, v := range s.st.ByFormat {
		c := *v
		st.ByFormat[k] = &c
	}
	st.ByMode = copyMap(s.st.ByMode)
	st.ByStatus = copyMap(s.st.ByStatus)
	st.Faults = copyMap(s.st.Faults)
	st.ByProto = copyMap(s.st.ByProto)
	if s.lean != nil {
		s.lean.stats(&st)
	}
	st.DistinctIDs = int64(s.ids.Len())
	st.Duplicates = s.ids.Duplicates()
	st.IDsTruncated = s.ids.Truncated()
	return st
}

func copyMap[K comparable](m map[K]int64) map[K]int64 {
	c := make(map[K]int64, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// Close stops serving, closes every connection and flushes the store.
func (s *Sink) Close() error {
	s.lnMu.Lock()
	if s.closed {
		s.lnMu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stop)
	s.lnMu.Unlock()
	var err error
	if s.lean != nil {
		err = s.lean.close()
	} else {
		err = s.srv.Close()
	}
	s.serve.Wait()
	s.bg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.store != nil {
		if ferr := s.store.Flush(); err == nil {
			err = ferr
		}
	}
	if s.sf != nil {
		if cerr := s.sf.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

func (s *Sink) fault(kind string) {
	s.mu.Lock()
	s.st.Faults[kind]++
	s.mu.Unlock()
}

func (s *Sink) chance(p float64) bool {
	if p <= 0 {
		return false
	}
	s.rngM.Lock()
	defer s.rngM.Unlock()
	return s.rng.Float64() < p
}

func (s *Sink) latency() time.Duration {
	d := s.cfg.Latency
	if s.cfg.LatencyRand {
		s.rngM.Lock()
		d = time.Duration(s.rng.Int64N(int64(d) + 1))
		s.rngM.Unlock()
	}
	return d
}

func (s *Sink) handle(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		switch r.URL.Path {
		case "/stats":
			w.Header().Set("Content-Type", "application/json")
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			enc.Encode(s.Stats())
			return
		case "/ids":
			s.serveIDs(w, r)
			return
		case "/healthz":
			io.WriteString(w, "ok\n")
			return
		}
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		w.Header().Set("Allow", "POST, PUT, GET")
		http.Error(w, "POST or PUT data; GET /stats or /ids", http.StatusMethodNotAllowed)
		return
	}
	n := s.reqs.Add(1)
	s.mu.Lock()
	s.st.Requests++
	s.st.ByProto[r.Proto]++
	s.mu.Unlock()

	if s.cfg.Latency > 0 {
		if d := s.latency(); d > 0 {
			s.fault("latency")
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
	}
	if s.chance(s.cfg.HangupRate) {
		s.fault("hangup")
		if c, ok := r.Context().Value(ctxKey{}).(net.Conn); ok {
			c.Close()
		}
		panic(http.ErrAbortHandler) // HTTP/2: reset the stream too
	}
	body, err := s.readBody(w, r)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, errTooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		s.reject(w, status, err.Error())
		return
	}
	if n <= int64(s.cfg.FailFirst) {
		s.fail(w, "fail-first")
		return
	}
	if s.chance(s.cfg.FailRate) {
		s.fail(w, "fail-rate")
		return
	}
	format := detect(r.Header.Get("Content-Type"), body)
	if why := checkProtocol(r.URL.Path, format, body); why != "" {
		s.reject(w, http.StatusBadRequest, why)
		return
	}
	p, err := s.ps.parse(format, body)
	if err == nil {
		err = checkHeaders(r, format, p, s.ps.countAll)
	}
	if err != nil {
		s.reject(w, http.StatusBadRequest, err.Error())
		return
	}
	s.accept(p, len(body))
	switch format {
	case FormatESBulk:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"took":0,"errors":false,"items":[]}`)
	case FormatSplunkHEC:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"text":"Success","code":0}`)
	default:
		w.WriteHeader(http.StatusOK)
	}
}

var errTooLarge = errors.New("body over the size limit")

func (s *Sink) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	var rd io.Reader = http.MaxBytesReader(w, r.Body, s.cfg.MaxBody)
	switch strings.ToLower(r.Header.Get("Content-Encoding")) {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(rd)
		if err != nil {
			return nil, fmt.Errorf("gzip: %v", err)
		}
		defer zr.Close()
		rd = io.LimitReader(zr, s.cfg.MaxBody+1)
	default:
		return nil, fmt.Errorf("content encoding %q", r.Header.Get("Content-Encoding"))
	}
	b, err := io.ReadAll(rd)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errTooLarge
		}
		return nil, err
	}
	if int64(len(b)) > s.cfg.MaxBody {
		return nil, errTooLarge
	}
	return b, nil
}

// checkHeaders compares the batch and idempotency headers with the body.
func checkHeaders(r *http.Request, format string, p *parsed, countOnly bool) error {
	if h := r.Header.Get("Xdrhook-Records"); h != "" {
		if n, err := strconv.Atoi(h); err != nil || n != p.records {
			return bad("Xdrhook-Records %q, the body holds %d records", h, p.records)
		}
	}
	h := r.Header.Get("Idempotency-Key")
	if h == "" || countOnly || len(p.ids) != 1 {
		return nil
	}
	switch format {
	case FormatJSON, FormatMsgpack, FormatAvro:
	default:
		return nil
	}
	id := p.ids[0]
	want := fmt.Sprintf("%x-%d-", id.Digest, id.LUT)
	if !strings.HasPrefix(h, want) {
		return bad("Idempotency-Key %q does not match the message (%s<gen>)", h, want)
	}
	return nil
}

func (s *Sink) fail(w http.ResponseWriter, kind string) {
	s.fault(kind)
	if s.cfg.RetryAfter != "" {
		w.Header().Set("Retry-After", s.cfg.RetryAfter)
	}
	s.status(s.cfg.FailStatus)
	http.Error(w, "injected failure ("+kind+")", s.cfg.FailStatus)
}

func (s *Sink) reject(w http.ResponseWriter, status int, why string) {
	s.mu.Lock()
	s.st.Invalid++
	s.st.ByStatus[status]++
	s.st.LastInvalid = why
	s.mu.Unlock()
	http.Error(w, why, status)
}

func (s *Sink) status(code int) {
	s.mu.Lock()
	s.st.ByStatus[code]++
	s.mu.Unlock()
}

// accept counts an accepted body and keeps (and stores) its ids.
func (s *Sink) accept(p *parsed, n int) {
	if !s.cfg.NoIDs && len(p.ids) > 0 {
		s.ids.Add(p.ids...)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.st
	st.Accepted++
	st.ByStatus[http.StatusOK]++
	st.Records += int64(p.records)
	st.Bytes += int64(n)
	st.Unvalidated += int64(p.unvalidated)
	st.NoID += int64(p.noID)
	fs := st.ByFormat[p.format]
	if fs == nil {
		fs = &FormatStats{}
		st.ByFormat[p.format] = fs
	}
	fs.Requests++
	fs.Records += int64(p.records)
	fs.Bytes += int64(n)
	for k, v := range p.modes {
		st.ByMode[k] += int64(v)
	}
	if s.store != nil {
		s.storeLocked(p)
	}
}

type storeLine struct {
	idLine
	Raw    json.RawMessage `json:"raw,omitempty"`
	RawB64 string          `json:"rawBase64,omitempty"`
}

func (s *Sink) storeLocked(p *parsed) {
	for i := range p.ids {
		l := storeLine{idLine: p.ids[i].line(0)}
		if i < len(p.raws) {
			if json.Valid(p.raws[i]) {
				l.Raw = p.raws[i]
			} else {
				l.RawB64 = base64.StdEncoding.EncodeToString(p.raws[i])
			}
		}
		b, err := json.Marshal(l)
		if err != nil {
			continue
		}
		s.store.Write(b)
		s.store.WriteByte('\n')
	}
}

func (s *Sink) serveIDs(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Query().Get("format") {
	case "ndjson", "text":
		w.Header().Set("Content-Type", "application/x-ndjson")
		s.ids.WriteNDJSON(w)
	default:
		w.Header().Set("Content-Type", "application/octet-stream")
		s.ids.WriteBinary(w)
	}
}

// ticker flushes the store and prints progress once a second.
func (s *Sink) ticker() {
	defer s.bg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var prev Stats
	prevAt := time.Now()
	for {
		select {
		case <-t.C:
		case <-s.stop:
			return
		}
		s.mu.Lock()
		if s.store != nil {
			s.store.Flush()
		}
		s.mu.Unlock()
		if s.cfg.Progress == nil {
			continue
		}
		cur := s.Stats()
		now := time.Now()
		dt := now.Sub(prevAt).Seconds()
		fmt.Fprintf(s.cfg.Progress, "sink %6.1fs  req %.0f/s  records %.0f/s  %.1f MB/s  invalid %d  dup %d  statuses %s  faults %s\n",
			cur.UptimeSeconds, float64(cur.Requests-prev.Requests)/dt, float64(cur.Records-prev.Records)/dt,
			float64(cur.Bytes-prev.Bytes)/dt/1e6, cur.Invalid, cur.Duplicates, fmtMap(cur.ByStatus), fmtMap(cur.Faults))
		prev, prevAt = cur, now
	}
}

func fmtMap[K comparable](m map[K]int64) string {
	if len(m) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(m))
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%v:%d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}
