// Package connector builds the connector a configuration describes: a
// loaded *config.Config in, a *dataplane.Engine ready to Start out. It holds
// the wiring between the two — a sender and a destination per configured
// destination (with the in-flight window the connections can carry), the
// encoder and framer factories of every profile, and the router that
// applies the routing modes and the per-namespace and per-set overrides.
// config resolves every default; this package passes each value on.
package connector

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	"github.com/xdrhook/xdrhook/config"
	"github.com/xdrhook/xdrhook/dataplane"
	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/wire"
)

// New turns a loaded configuration into a dataplane engine: one sender per
// destination, one dataplane profile per configuration profile, and a
// router that applies the routing modes. o carries what a configuration
// does not (Logger; the knobs without a config key; Loops, unless
// service.io-threads sets it); New sets everything the configuration says.
// version goes into the User-Agent header
// ("xdrhook/VERSION").
func New(cfg *config.Config, o dataplane.Options, version string) (*dataplane.Engine, error) {
	o, err := options(cfg, o, version)
	if err != nil {
		return nil, err
	}
	return dataplane.New(o)
}

// options fills o from cfg: what New hands to dataplane.New.
func options(cfg *config.Config, o dataplane.Options, version string) (dataplane.Options, error) {
	dests := make([]*dataplane.Destination, len(cfg.DestinationNames))
	queries := esQueries(cfg)
	for i, cd := range cfg.DestinationList() {
		d, err := buildDestination(cd, "xdrhook/"+version, queries[cd.ID], o.Logger)
		if err != nil {
			return o, fmt.Errorf("destination %q: %w", cd.Name, err)
		}
		dests[i] = d
	}
	r := &router{cfg: cfg}
	var ttl time.Duration
	for _, cp := range cfg.Profiles() {
		p, err := buildProfile(cp)
		if err != nil {
			return o, err
		}
		withLogic(p, cp, cfg, dests)
		if ro := cp.RecordOrdering; ro != nil && ro.Enable {
			p.Ordering = true
			ttl = max(ttl, ro.LUTCacheTTL)
		}
		o.Profiles = append(o.Profiles, p)
		r.static = append(r.static, staticDests(cp.Routing, dests))
	}
	for _, d := range dests {
		r.one = append(r.one, []*dataplane.Destination{d})
	}
	r.profiles = o.Profiles
	o.Destinations = dests
	o.Router = r
	o.LUTCacheTTL = ttl
	s := &cfg.Service
	o.Listen = s.ListenAddrs()
	o.MaxConcurrentRecords = s.MaxConcurrentRecords
	o.MaxFrameBytes = s.MaxFrameBytes
	o.ReplyDeadline = s.ReplyDeadline
	o.ReplyHold = s.ReplyHold
	o.MaxConnections = s.MaxConnections
	if s.IOThreads > 0 {
		o.Loops = s.IOThreads // else the caller's (0: the engine's default)
	}
	o.ClusterName = s.ClusterName
	o.SocketRecvBuffer = s.SocketRecvBuffer
	if s.TLS != nil {
		tc, err := s.TLS.Build()
		if err != nil {
			return o, fmt.Errorf("service.tls: %w", err)
		}
		o.TLS = tc
	}
	return o, nil
}

func staticDests(r *config.Routing, dests []*dataplane.Destination) []*dataplane.Destination {
	if r.Mode != config.RouteStatic && r.Mode != config.RouteStaticMulti {
		return nil
	}
	out := make([]*dataplane.Destination, len(r.Destinations))
	for i, d := range r.Destinations {
		out[i] = dests[d.ID]
	}
	return out
}

// buildDestination makes the sender and the destination of one configured
// destination.
// query, if not empty, goes on every request's URL (es-bulk pipeline and
// refresh: esQueries).
func buildDestination(cd *config.Destination, userAgent, query string, log *slog.Logger) (*dataplane.Destination, error) {
	ho := dataplane.HTTPOptions{
		Method:              cd.Method,
		Gzip:                cd.Compression == config.CompressionGzip,
		GzipThreshold:       cd.CompressionThreshold,
		MaxConnsPerEndpoint: cd.MaxConnectionsPerEndpoint,
		ConnectTimeout:      cd.ConnectTimeout,
		Pipeline:            cd.HTTP1Pipelining,
		UserAgent:           userAgent,
		IdleConnTimeout:     cd.IdleConnectionTimeout,
		ConnTTL:             cd.ConnectionTTL,
		H2ReadIdleTimeout:   cd.HTTP2ReadIdleTimeout,
		H2PingTimeout:       cd.HTTP2PingTimeout,
		H2MaxStreams:        cd.HTTP2MaxConcurrentStreams,
	}
	var perRecordPath func(dst []byte, m *wire.Message) []byte
	if cd.Path != nil {
		if cd.Path.IsStatic() {
			ho.Path = cd.Path.String()
		} else {
			perRecordPath = cd.Path.Append
		}
	}
	https := false
	for _, u := range cd.URLs {
		ho.URLs = append(ho.URLs, u.String())
		https = https || u.Scheme == "https"
	}
	if query != "" {
		perRecordPath = addQuery(&ho, perRecordPath, query)
	}
	var s3 *s3Objects
	if cd.Type == config.TypeS3 {
		s3 = newS3Objects(cd)
		ho.URLs = s3.urls(cd)
	}
	for _, h := range cd.Headers {
		ho.Headers = append(ho.Headers, [2]string{h.Name, h.Value})
	}
	if https {
		tc, err := cd.TLS.Build()
		if err != nil {
			return nil, err
		}
		if tc == nil {
			tc = &tls.Config{}
		}
		ho.TLS = tc
	}
	a, authErrs, err := buildAuth(cd, log)
	if err != nil {
		return nil, err
	}
	ho.Auth = a
	var snd dataplane.Sender
	if cd.Protocol == config.HTTP2 {
		snd, err = dataplane.NewHTTP2Sender(ho)
	} else {
		snd, err = dataplane.NewHTTP1Sender(ho)
	}
	if err != nil {
		if a != nil {
			a.Close()
		}
		return nil, err
	}
	do := dataplane.DestinationOptions{
		Name:        cd.Name,
		MaxInFlight: inFlightWindow(cd),
		MaxQueued:   cd.MaxQueued,
		CallTimeout: cd.CallTimeout,
		Retry: dataplane.RetryPolicy{
			MaxAttempts: cd.Retry.MaxAttempts, InitialBackoff: cd.Retry.InitialBackoff, MaxBackoff: cd.Retry.MaxBackoff,
		},
		Success: &cd.Success,
		Sender:  snd,
		Path:    perRecordPath,
		Request: cd.Request,

		EndpointLabels:    cd.URLLabels,
		AuthRefreshErrors: authErrs,
	}
	if !cd.PermanentFailure.Empty() {
		do.Permanent = &cd.PermanentFailure
	}
	if h := cd.HealthCheck; h != nil {
		do.HealthCheck = &dataplane.HealthCheckOptions{
			Interval: h.Interval, Timeout: h.CallTimeout,
			HealthyThreshold: h.HealthyThreshold, UnhealthyThreshold: h.UnhealthyThreshold,
			Method: h.Method, Path: h.Path, Expected: &h.Expected,
		}
	}
	if s3 != nil {
		do.Key, do.KeySplits = s3.key, cd.S3.Key.SplitsBySet()
	}
	return dataplane.NewDestination(do), nil
}

// inFlightWindow is the number of requests a destination has outstanding
// at once: max-in-flight, capped at what its connections carry. More
// workers would only queue for a connection (and fasthttp allocates for
// every such wait). HTTP/2 carries max-concurrent-streams per connection;
// pipelined HTTP/1.1 any number; plain HTTP/1.1 one request per connection.
func inFlightWindow(cd *config.Destination) int {
	conns := cd.MaxConnectionsPerEndpoint * len(cd.URLs)
	switch {
	case cd.Protocol == config.HTTP2:
		return min(cd.MaxInFlight, conns*cd.HTTP2MaxConcurrentStreams)
	case cd.HTTP1Pipelining:
		return cd.MaxInFlight
	default:
		return min(cd.MaxInFlight, conns)
	}
}

// buildProfile maps a configuration profile's format, framing, batching and
// bin-transforms to encoder and framer factories.
func buildProfile(cp *config.Profile) (*dataplane.Profile, error) {
	f, bt := cp.Format, cp.BinTransforms
	var tr *encode.Transform
	if bt != nil && !bt.Identity() {
		tr = encode.NewTransform(bt.Include, bt.Exclude, bt.Map)
		if err := tr.SetNameTransforms(bt.NameTransforms); err != nil {
			return nil, err
		}
	}
	p := &dataplane.Profile{ID: cp.ID}
	if b := cp.Batching; b != nil && b.Enabled {
		p.Batching, p.MaxRecords, p.MaxBytes, p.Interval = true, b.MaxRecords, b.MaxBytes, b.Interval
	}
	p.Ext = framingExt[f.Framing]
	flat := func() encode.FlatJSON { return encode.FlatJSON{MetadataKey: f.MetadataKey, Transform: tr} }
	switch f.Mode {
	case config.FormatJSON, config.FormatFlatJSON:
		single := func() encode.Encoder {
			if f.Mode == config.FormatJSON {
				return &encode.JSON{Transform: tr}
			}
			fj := flat()
			return &fj
		}
		p.NewEncoder = single
		p.FrameOne = f.Framing.Protocol()
		switch f.Framing {
		case config.FramingJSONArray:
			p.NewFramer = func() encode.Framer { return &encode.JSONArray{Enc: single()} }
		case config.FramingESBulk:
			p.NewFramer = func() encode.Framer {
				return &encode.ESBulk{Index: f.IndexTemplate, OmitDeletes: f.OmitDeletes, Doc: flat(),
					DocID: esDocID[f.DocID], DocIDBin: f.DocIDBin, WriteOp: esWriteOp[f.WriteOperation],
					VersionLUT: f.Versioning == config.VersioningLUT}
			}
		case config.FramingSplunkHEC:
			p.NewFramer = func() encode.Framer {
				return &encode.SplunkHEC{Source: f.SplunkSource, SourceType: f.SplunkSourceType, Index: f.SplunkIndex, Doc: flat()}
			}
		default:
			p.NewFramer = func() encode.Framer { return &encode.NDJSON{Enc: single()} }
		}
	case config.FormatMessagePack:
		p.NewEncoder = func() encode.Encoder { return &encode.MsgPack{Transform: tr} }
		p.NewFramer = func() encode.Framer { return encode.NewMsgPackArray(tr) }
	case config.FormatAvro:
		// The schema is parsed and compiled once; every encoder and framer
		// shares it (each has its own scratch).
		sch := encode.BuiltinAvroSchema()
		if f.Schema != "" {
			var err error
			if sch, err = encode.CompileAvroSchema([]byte(f.Schema)); err != nil {
				return nil, fmt.Errorf("profile %d: %w", cp.ID, err)
			}
		}
		p.NewEncoder = func() encode.Encoder { return sch.NewEncoder(tr) }
		p.NewFramer = func() encode.Framer { return encode.NewAvroOCF(sch.NewEncoder(tr)) }
	default:
		return nil, fmt.Errorf("profile %d: format %q", cp.ID, f.Mode)
	}
	return p, nil
}

// router applies the routing of each record's profile: the configuration's
// profile of the record's namespace and set, and its routing mode. It does
// not allocate: destination lists are built once.
type router struct {
	cfg      *config.Config
	profiles []*dataplane.Profile       // by config profile ID
	static   [][]*dataplane.Destination // per profile, static modes
	one      [][]*dataplane.Destination // per destination ID, a list of one
}

// routeProfile applies the routing of cp, the record's profile (Route,
// RoutePort). A record that routes nowhere (skip, or no destination named
// and no default) gets no destinations: answered 0, counted skipped.
func (r *router) routeProfile(cp *config.Profile, m *wire.Message) (*dataplane.Profile, []*dataplane.Destination) {
	p := r.profiles[cp.ID]
	switch cp.Routing.Mode {
	case config.RouteStatic, config.RouteStaticMulti:
		return p, r.static[cp.ID]
	case config.RouteSkip:
		return p, nil
	}
	d := cp.Routing.Route(m)
	if d == nil {
		return p, nil
	}
	return p, r.one[d.ID]
}
