// Package baseline is the naive connector the perf suite measures xdrhook
// against (shared design notes: "compare, in the same run, against a naive
// connector"). It is what a competent engineer writes in an afternoon, and
// nothing more:
//
//   - one goroutine per XDR connection, reading frames with package wire's
//     decoder (the same decoder as xdrhook: the comparison is about the rest);
//   - each record turned into map[string]any and serialized with
//     encoding/json (json, flat-json), msgp.AppendIntf (message-pack) or
//     hamba/avro's generic encoder (avro, built-in schema);
//   - one net/http request per record, sent synchronously, over HTTP/1.1 or
//     h2c (net/http's unencrypted HTTP/2);
//   - the reply (0 on 2xx, 11 otherwise, 4 for an undecodable record)
//     written before the next frame is read, so replies are in order.
//
// It is honest: the output follows output-formats.md closely enough that the
// sink validates it in full, replies follow xdr-wire.md, and the HTTP client
// keeps its connections alive. It is simple: no batching, no pipelining
// toward the destination, no buffer reuse. Run it with `xdrhook bench
// baseline` (see Config), or from Go with Start.
package baseline

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/hamba/avro/v2"
	"github.com/tinylib/msgp/msgp"
	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/pool"
	"github.com/xdrhook/xdrhook/wire"
)

// Formats the baseline writes (format.mode of the connector's config).
const (
	FormatJSON     = "json"
	FormatFlatJSON = "flat-json"
	FormatMsgPack  = "message-pack"
	FormatAvro     = "avro"
)

// Config is one baseline connector.
type Config struct {
	Listen string // XDR listener HOST:PORT (port 0: any)
	Manage string // /healthz, /readyz and /metrics (Prometheus text) HOST:PORT; "" = none
	URL    string // destination URL; every record is POSTed there
	Format string // json (default), flat-json, message-pack, avro
	HTTP2  bool   // h2c with prior knowledge instead of HTTP/1.1
	// Timeout bounds one request (default 5 s); past it the record is
	// answered 11 and XDR retries.
	Timeout time.Duration
}

// Server is a running baseline connector.
type Server struct {
	cfg    Config
	ln     net.Listener
	mln    net.Listener
	msrv   *http.Server
	client *http.Client
	schema avro.Schema
	soe    [10]byte // avro single-object header

	set                           *metrics.Set
	delivered, retry, bad, frames *metrics.Counter

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// Start listens and serves until Close.
func Start(cfg Config) (*Server, error) {
	switch cfg.Format {
	case "":
		cfg.Format = FormatJSON
	case FormatJSON, FormatFlatJSON, FormatMsgPack, FormatAvro:
	default:
		return nil, fmt.Errorf("baseline: unknown format %q", cfg.Format)
	}
	if cfg.URL == "" {
		return nil, errors.New("baseline: no destination URL")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	// A keep-alive pool large enough for every XDR connection: the default
	// of 2 idle connections per host would reconnect for most requests, a
	// mistake, not a design.
	tr := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 90 * time.Second}
	if cfg.HTTP2 {
		tr.Protocols = new(http.Protocols)
		tr.Protocols.SetUnencryptedHTTP2(true)
	}
	s := &Server{
		cfg:    cfg,
		client: &http.Client{Transport: tr, Timeout: cfg.Timeout},
		conns:  map[net.Conn]struct{}{},
		set:    metrics.NewSet(),
	}
	s.delivered = s.set.NewCounter(`xdrhook_records_settled_total{outcome="delivered"}`)
	s.retry = s.set.NewCounter(`xdrhook_records_settled_total{outcome="retry"}`)
	s.bad = s.set.NewCounter(`xdrhook_records_settled_total{outcome="parse-error"}`)
	s.frames = s.set.NewCounter(`xdrhook_frames_received_total`)
	if cfg.Format == FormatAvro {
		a := encode.NewAvro(nil) // the built-in schema and its single-object header, nothing else
		s.schema = a.Schema()
		s.soe[0], s.soe[1] = 0xc3, 0x01
		fp := a.Fingerprint()
		for i := 0; i < 8; i++ {
			s.soe[2+i] = byte(fp >> (8 * i))
		}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, err
	}
	s.ln = ln
	if cfg.Manage != "" {
		mln, err := net.Listen("tcp", cfg.Manage)
		if err != nil {
			ln.Close()
			return nil, err
		}
		s.mln = mln
		mux := http.NewServeMux()
		ok := func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") }
		mux.HandleFunc("GET /healthz", ok)
		mux.HandleFunc("GET /readyz", ok)
		mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			s.set.WritePrometheus(w)
			metrics.WriteProcessMetrics(w)
		})
		s.msrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go s.msrv.Serve(mln)
	}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr is the XDR listener's address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// ManageAddr is the manage listener's address ("" without one).
func (s *Server) ManageAddr() string {
	if s.mln == nil {
		return ""
	}
	return s.mln.Addr().String()
}

// Delivered is the number of records answered 0 after a 2xx.
func (s *Server) Delivered() uint64 { return s.delivered.Get() }

// Close stops listening and closes every connection (XDR resends what was
// in flight).
func (s *Server) Close() error {
	err := s.ln.Close()
	if s.msrv != nil {
		s.msrv.Close()
	}
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.client.CloseIdleConnections()
	return err
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

// serve is the whole connector for one XDR connection: read a frame,
// decode, encode, POST, reply; repeat.
func (s *Server) serve(c net.Conn) {
	r := bufio.NewReaderSize(c, 64<<10)
	var (
		hdr [wire.HeaderSize]byte
		m   wire.Message
		inf wire.Inflater
		out = pool.Get(0)
	)
	defer pool.Put(out)
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return // EOF (a health check, or XDR closing) or a dead connection
		}
		typ, n, err := wire.ParseHeader(hdr[:], wire.DefaultMaxBody)
		if err != nil || (typ != wire.TypeMsg && typ != wire.TypeCompressed) {
			return // not a stream we can trust or serve: close, XDR resends
		}
		frame := make([]byte, wire.HeaderSize+n)
		copy(frame, hdr[:])
		if _, err := io.ReadFull(r, frame[wire.HeaderSize:]); err != nil {
			return
		}
		s.frames.Inc()
		rc := byte(wire.RCParameter)
		if typ == wire.TypeCompressed {
			frame, err = inf.Inflate(frame, wire.DefaultMaxBody, out)
		}
		if err == nil {
			err = m.Decode(frame[wire.HeaderSize:])
		}
		if err == nil {
			rc = s.deliver(&m)
		} else {
			s.bad.Inc()
		}
		if _, err := c.Write(wire.AppendReply(nil, rc)); err != nil {
			return
		}
	}
}

// deliver encodes one record, POSTs it and returns the reply code.
func (s *Server) deliver(m *wire.Message) byte {
	body, ctype, err := s.encode(m)
	if err != nil {
		s.bad.Inc()
		return wire.RCParameter
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, s.cfg.URL, bytes.NewReader(body))
	if err != nil {
		s.bad.Inc()
		return wire.RCParameter
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Idempotency-Key", hex.EncodeToString(m.Digest)+"-"+strconv.FormatInt(m.LUTUnixMs(), 10)+"-"+strconv.FormatUint(uint64(m.Generation), 10))
	resp, err := s.client.Do(req)
	if err != nil {
		s.retry.Inc()
		return wire.RCRetry
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		s.retry.Inc()
		return wire.RCRetry
	}
	s.delivered.Inc()
	return wire.RCOK
}

func (s *Server) encode(m *wire.Message) ([]byte, string, error) {
	now := time.Now().Unix()
	switch s.cfg.Format {
	case FormatFlatJSON:
		doc, err := flatDoc(m, now)
		if err != nil {
			return nil, "", err
		}
		b, err := json.Marshal(doc)
		return b, "application/json", err
	case FormatMsgPack:
		doc, err := msgpackDoc(m, now)
		if err != nil {
			return nil, "", err
		}
		b, err := msgp.AppendIntf(nil, doc)
		return b, "application/x-msgpack", err
	case FormatAvro:
		doc, err := avroDoc(m, now)
		if err != nil {
			return nil, "", err
		}
		datum, err := avro.Marshal(s.schema, doc)
		if err != nil {
			return nil, "", err
		}
		return append(s.soe[:len(s.soe):len(s.soe)], datum...), "avro/binary", nil
	default:
		doc, err := jsonDoc(m, now)
		if err != nil {
			return nil, "", err
		}
		b, err := json.Marshal(doc)
		return b, "application/json", err
	}
}

// ---- json and flat-json: maps for encoding/json ----

var typeNames = map[uint8]string{
	wire.ParticleNull: "null", wire.ParticleInteger: "int", wire.ParticleFloat: "float",
	wire.ParticleString: "str", wire.ParticleBlob: "blob", wire.ParticleJava: "java-blob",
	wire.ParticleCSharp: "csharp-blob", wire.ParticlePython: "python-blob", wire.ParticleRuby: "ruby-blob",
	wire.ParticlePHP: "php-blob", wire.ParticleErlang: "erlang-blob", wire.ParticleVector: "vector",
	wire.ParticleBool: "bool", wire.ParticleHLL: "hll", wire.ParticleMap: "map",
	wire.ParticleList: "list", wire.ParticleGeoJSON: "geojson",
}

func userKey(k *wire.UserKey) any {
	switch k.Type {
	case 0:
		return nil
	case wire.ParticleInteger:
		return k.Int
	case wire.ParticleFloat:
		return jsonFloat(k.Float)
	case wire.ParticleString:
		return string(k.Bytes)
	default:
		return k.Bytes // encoding/json: base64
	}
}

func jsonFloat(f float64) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return f
}

func nullable(b []byte, ok bool) any {
	if !ok {
		return nil
	}
	return string(b)
}

func jsonDoc(m *wire.Message, now int64) (map[string]any, error) {
	doc := map[string]any{
		"msg": m.Kind.String(),
		"key": []any{string(m.Namespace), nullable(m.Set, m.HasSet), base64.StdEncoding.EncodeToString(m.Digest), userKey(&m.Key)},
		"gen": m.Generation,
		"lut": m.LUTUnixMs(),
	}
	if m.Kind == wire.KindDelete {
		doc["durable"] = m.Durable
		return doc, nil
	}
	doc["exp"] = m.Expiry(now)
	bins := make([]any, 0, len(m.Bins))
	for i := range m.Bins {
		b := &m.Bins[i]
		v, err := jsonValue(b)
		if err != nil {
			return nil, err
		}
		name, ok := typeNames[b.Type]
		if !ok {
			name = "type-" + strconv.Itoa(int(b.Type))
		}
		if b.Deleted() {
			name = "null"
		}
		bin := map[string]any{"name": string(b.Name), "type": name, "value": v}
		switch b.Type {
		case wire.ParticleList:
			bin["ordered"] = listFlags(b.Value)&1 != 0
		case wire.ParticleMap:
			bin["order"] = map[uint8]string{0: "unordered", 1: "key", 3: "key-value"}[mapFlags(b.Value)]
		}
		bins = append(bins, bin)
	}
	doc["bins"] = bins
	if m.Partial {
		doc["partial"] = true
	}
	return doc, nil
}

func flatDoc(m *wire.Message, now int64) (map[string]any, error) {
	meta := map[string]any{
		"namespace": string(m.Namespace),
		"digest":    base64.StdEncoding.EncodeToString(m.Digest),
		"msg":       m.Kind.String(),
		"gen":       m.Generation,
		"lut":       m.LUTUnixMs(),
	}
	if m.HasSet {
		meta["set"] = string(m.Set)
	}
	if m.Key.Type != 0 {
		meta["userKey"] = userKey(&m.Key)
	}
	doc := map[string]any{}
	if m.Kind == wire.KindDelete {
		meta["durable"] = m.Durable
	} else {
		meta["exp"] = m.Expiry(now)
		if m.Partial {
			meta["partial"] = true
		}
		for i := range m.Bins {
			b := &m.Bins[i]
			if string(b.Name) == "metadata" {
				continue // would overwrite the metadata object: dropped
			}
			v, err := jsonValue(b)
			if err != nil {
				return nil, err
			}
			doc[string(b.Name)] = v
		}
	}
	doc["metadata"] = meta
	return doc, nil
}

// jsonValue is a top-level bin value as encoding/json should render it.
func jsonValue(b *wire.Bin) (any, error) {
	if b.Deleted() {
		return nil, nil
	}
	switch b.Type {
	case wire.ParticleInteger:
		v, _ := wire.Int(b.Value)
		return v, nil
	case wire.ParticleFloat:
		v, _ := wire.Float(b.Value)
		return jsonFloat(v), nil
	case wire.ParticleString:
		return string(b.Value), nil
	case wire.ParticleBool:
		v, _ := wire.Bool(b.Value)
		return v, nil
	case wire.ParticleGeoJSON:
		return geoJSON(b.Value), nil
	case wire.ParticleList, wire.ParticleMap:
		return cdtTree(b.Value, jsonLeaf, jsonKey)
	default:
		return b.Value, nil // blobs and typed bytes: base64
	}
}

func geoJSON(v []byte) any {
	t, err := wire.GeoJSONText(v)
	if err != nil {
		return v
	}
	if json.Valid(t) {
		return json.RawMessage(t)
	}
	return string(t)
}

func jsonLeaf(t *wire.CDTToken) any {
	switch t.Kind {
	case wire.CDTBool:
		return t.Bool
	case wire.CDTInt:
		return t.Int
	case wire.CDTUint:
		return t.Uint
	case wire.CDTFloat:
		return jsonFloat(t.Float)
	case wire.CDTString:
		return string(t.Bytes)
	case wire.CDTTyped:
		if t.Sub == wire.ParticleGeoJSON && json.Valid(t.Bytes) {
			return json.RawMessage(bytes.Clone(t.Bytes))
		}
		return bytes.Clone(t.Bytes)
	case wire.CDTBytes, wire.CDTExt:
		return bytes.Clone(t.Bytes)
	}
	return nil
}

// jsonKey renders a map key as an object key.
func jsonKey(k any) string {
	switch v := k.(type) {
	case string:
		return v
	case []byte:
		return base64.StdEncoding.EncodeToString(v)
	case json.RawMessage:
		return string(v)
	case nil:
		return "null"
	}
	b, _ := json.Marshal(k)
	return string(b)
}

// cdtTree builds a list value as []any and a map value as map[string]any.
func cdtTree(v []byte, leaf func(*wire.CDTToken) any, key func(any) string) (any, error) {
	var r wire.CDTReader
	var t wire.CDTToken
	r.Reset(v)
	var build func() (any, error)
	build = func() (any, error) {
		if err := r.Next(&t); err != nil {
			return nil, err
		}
		switch t.Kind {
		case wire.CDTList:
			n := t.N
			out := make([]any, 0, n)
			for i := 0; i < n; i++ {
				e, err := build()
				if err != nil {
					return nil, err
				}
				out = append(out, e)
			}
			return out, r.Next(&t) // End
		case wire.CDTMap:
			n := t.N
			out := make(map[string]any, n)
			for i := 0; i < n; i++ {
				k, err := build()
				if err != nil {
					return nil, err
				}
				e, err := build()
				if err != nil {
					return nil, err
				}
				out[key(k)] = e
			}
			return out, r.Next(&t)
		}
		return leaf(&t), nil
	}
	return build()
}

// listFlags / mapFlags read the order flags of a top-level list or map.
func listFlags(v []byte) uint8 { return containerFlags(v) }
func mapFlags(v []byte) uint8  { return containerFlags(v) }

func containerFlags(v []byte) uint8 {
	var r wire.CDTReader
	var t wire.CDTToken
	r.Reset(v)
	if r.Next(&t) != nil {
		return 0
	}
	return t.Flags
}

// ---- message-pack: []any for msgp.AppendIntf ----

func msgpackDoc(m *wire.Message, now int64) (any, error) {
	var uk any
	switch m.Key.Type {
	case 0:
	case wire.ParticleInteger:
		uk = m.Key.Int
	case wire.ParticleFloat:
		uk = m.Key.Float
	case wire.ParticleString:
		uk = string(m.Key.Bytes)
	default:
		uk = m.Key.Bytes
	}
	key := []any{string(m.Namespace), nullable(m.Set, m.HasSet), m.Digest, uk}
	if m.Kind == wire.KindDelete {
		flags := 0
		if m.Durable {
			flags = 1
		}
		return []any{1, 2, []any{key, flags, int64(m.Generation), m.LUTUnixMs()}}, nil
	}
	bins := make([]any, 0, len(m.Bins))
	for i := range m.Bins {
		b := &m.Bins[i]
		var v any
		flags := 0
		switch {
		case b.Deleted():
		case b.Type == wire.ParticleInteger:
			v, _ = wire.Int(b.Value)
		case b.Type == wire.ParticleFloat:
			v, _ = wire.Float(b.Value)
		case b.Type == wire.ParticleString:
			v = string(b.Value)
		case b.Type == wire.ParticleBool:
			v, _ = wire.Bool(b.Value)
		case b.Type == wire.ParticleGeoJSON:
			t, err := wire.GeoJSONText(b.Value)
			if err != nil {
				v = b.Value
			} else {
				v = string(t)
			}
		case b.Type == wire.ParticleList || b.Type == wire.ParticleMap:
			tree, err := cdtTree(b.Value, msgpackLeaf, jsonKey)
			if err != nil {
				return nil, err
			}
			v = tree
			flags = int(containerFlags(b.Value))
		default:
			v = b.Value
		}
		bins = append(bins, []any{string(b.Name), int(b.Type), flags, v})
	}
	return []any{1, 1, []any{key, int64(m.Generation), m.Expiry(now), m.LUTUnixMs(), bins, m.Partial}}, nil
}

func msgpackLeaf(t *wire.CDTToken) any {
	switch t.Kind {
	case wire.CDTBool:
		return t.Bool
	case wire.CDTInt:
		return t.Int
	case wire.CDTUint:
		return t.Uint
	case wire.CDTFloat:
		return t.Float
	case wire.CDTString:
		return string(t.Bytes)
	case wire.CDTBytes, wire.CDTTyped, wire.CDTExt:
		return bytes.Clone(t.Bytes)
	}
	return nil
}

// ---- avro: map[string]any for hamba/avro's generic encoder ----

// Union values are given as {"branch name": value}, as hamba/avro takes
// them for map[string]any data.
func union(branch string, v any) map[string]any { return map[string]any{branch: v} }

func avroDoc(m *wire.Message, now int64) (map[string]any, error) {
	var set, uk any
	if m.HasSet {
		set = union("string", string(m.Set))
	}
	switch m.Key.Type {
	case 0:
	case wire.ParticleInteger:
		uk = union("long", m.Key.Int)
	case wire.ParticleFloat:
		uk = union("double", m.Key.Float)
	case wire.ParticleString:
		uk = union("string", string(m.Key.Bytes))
	default:
		uk = union("bytes", m.Key.Bytes)
	}
	var digest [wire.DigestSize]byte
	copy(digest[:], m.Digest)
	doc := map[string]any{
		"msg": m.Kind.String(), "namespace": string(m.Namespace), "set": set, "userKey": uk,
		"digest": digest, "gen": int64(m.Generation), "lut": m.LUTUnixMs(),
		"exp": int64(0), "durable": m.Durable, "partial": m.Partial,
	}
	bins := make([]any, 0, len(m.Bins))
	if m.Kind == wire.KindWrite {
		doc["exp"] = m.Expiry(now)
		for i := range m.Bins {
			b := &m.Bins[i]
			v, err := avroValue(b)
			if err != nil {
				return nil, err
			}
			bins = append(bins, map[string]any{"name": string(b.Name), "type": int(b.Type), "value": v})
		}
	}
	doc["bins"] = bins
	return doc, nil
}

const avroNS = "io.xdrhook."

func avroValue(b *wire.Bin) (any, error) {
	if b.Deleted() {
		return nil, nil
	}
	switch b.Type {
	case wire.ParticleInteger:
		v, _ := wire.Int(b.Value)
		return union("long", v), nil
	case wire.ParticleFloat:
		v, _ := wire.Float(b.Value)
		return union("double", v), nil
	case wire.ParticleString:
		return union("string", string(b.Value)), nil
	case wire.ParticleBool:
		v, _ := wire.Bool(b.Value)
		return union("boolean", v), nil
	case wire.ParticleGeoJSON:
		t, err := wire.GeoJSONText(b.Value)
		if err != nil {
			return union("bytes", b.Value), nil
		}
		return union(avroNS+"GeoJSON", map[string]any{"json": string(t)}), nil
	case wire.ParticleList, wire.ParticleMap:
		var r wire.CDTReader
		var t wire.CDTToken
		r.Reset(b.Value)
		return avroCDT(&r, &t)
	default:
		return union("bytes", b.Value), nil
	}
}

func avroCDT(r *wire.CDTReader, t *wire.CDTToken) (any, error) {
	if err := r.Next(t); err != nil {
		return nil, err
	}
	switch t.Kind {
	case wire.CDTNil:
		return nil, nil
	case wire.CDTBool:
		return union("boolean", t.Bool), nil
	case wire.CDTInt:
		return union("long", t.Int), nil
	case wire.CDTUint:
		var d [9]byte
		for i := 0; i < 8; i++ {
			d[8-i] = byte(t.Uint >> (8 * i))
		}
		return union(avroNS+"UInt64", d), nil
	case wire.CDTFloat:
		return union("double", t.Float), nil
	case wire.CDTString:
		return union("string", string(t.Bytes)), nil
	case wire.CDTBytes:
		return union("bytes", bytes.Clone(t.Bytes)), nil
	case wire.CDTTyped:
		if t.Sub == wire.ParticleGeoJSON {
			return union(avroNS+"GeoJSON", map[string]any{"json": string(t.Bytes)}), nil
		}
		return union(avroNS+"Typed", map[string]any{"type": int(t.Sub), "data": bytes.Clone(t.Bytes)}), nil
	case wire.CDTExt:
		return union(avroNS+"Ext", map[string]any{"type": int(int8(t.Sub)), "data": bytes.Clone(t.Bytes)}), nil
	case wire.CDTList:
		n, flags := t.N, t.Flags
		items := make([]any, 0, n)
		for i := 0; i < n; i++ {
			e, err := avroCDT(r, t)
			if err != nil {
				return nil, err
			}
			items = append(items, e)
		}
		if err := r.Next(t); err != nil {
			return nil, err
		}
		return union(avroNS+"List", map[string]any{"ordered": flags&1 != 0, "items": items}), nil
	case wire.CDTMap:
		n, flags := t.N, t.Flags
		entries := make([]any, 0, n)
		for i := 0; i < n; i++ {
			k, err := avroCDT(r, t)
			if err != nil {
				return nil, err
			}
			v, err := avroCDT(r, t)
			if err != nil {
				return nil, err
			}
			entries = append(entries, map[string]any{"key": k, "value": v})
		}
		if err := r.Next(t); err != nil {
			return nil, err
		}
		return union(avroNS+"Map", map[string]any{"order": int(flags), "entries": entries}), nil
	}
	return nil, fmt.Errorf("baseline: unexpected %v token", t.Kind)
}
