package dataplane

import (
	"errors"
	"strconv"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/xdrhook/xdrhook/shape"
	"github.com/xdrhook/xdrhook/wire"
)

// engineMetrics are the counters of config.md's manage section. Each engine
// has its own set, so several engines (tests, the demo) do not mix. The
// counters a record touches are counted per event loop (loopCounters) and
// added to these when scraped (Engine.fold), so that loops share no
// counter's cache line per record.
type engineMetrics struct {
	set *metrics.Set

	connActive, connAccepted, connClosed, connHealthChecks  *metrics.Counter
	connProtocolErrors, connSlowReaders, tlsHandshakeErrors *metrics.Counter
	connRefused                                             *metrics.Counter

	frames, compressedFrames, infoFrames *metrics.Counter
	writes, partialWrites, metaWrites    *metrics.Counter
	deletes, durableDeletes              *metrics.Counter
	bytesIn                              *metrics.Counter

	parseErrors, skipped, skippedStale, overload, windowFull *metrics.Counter
	abandonedOnClose, deadline                               *metrics.Counter
	repliedByRC                                              [256]*metrics.Counter
	replyLatency                                             replyLatency
}

func newEngineMetrics() *engineMetrics {
	s := metrics.NewSet()
	m := &engineMetrics{set: s}
	m.connActive = s.NewCounter("xdrhook_connections_active")
	m.connAccepted = s.NewCounter("xdrhook_connections_accepted_total")
	m.connClosed = s.NewCounter("xdrhook_connections_closed_total")
	m.connHealthChecks = s.NewCounter("xdrhook_connections_health_checks_total")
	m.connProtocolErrors = s.NewCounter("xdrhook_connections_protocol_errors_total")
	m.connSlowReaders = s.NewCounter("xdrhook_connections_slow_reader_closed_total")
	m.connRefused = s.NewCounter("xdrhook_connections_refused_total")
	m.tlsHandshakeErrors = s.NewCounter("xdrhook_connections_tls_handshake_errors_total")
	m.frames = s.NewCounter(`xdrhook_frames_received_total{type="msg"}`)
	m.compressedFrames = s.NewCounter(`xdrhook_frames_received_total{type="compressed"}`)
	m.infoFrames = s.NewCounter(`xdrhook_frames_received_total{type="info"}`)
	m.writes = s.NewCounter(`xdrhook_records_received_total{kind="write"}`)
	m.partialWrites = s.NewCounter(`xdrhook_records_received_total{kind="partial-write"}`)
	m.metaWrites = s.NewCounter(`xdrhook_records_received_total{kind="metadata-write"}`)
	m.deletes = s.NewCounter(`xdrhook_records_received_total{kind="delete"}`)
	m.durableDeletes = s.NewCounter(`xdrhook_records_received_total{kind="durable-delete"}`)
	m.bytesIn = s.NewCounter("xdrhook_bytes_received_total")
	m.parseErrors = s.NewCounter(`xdrhook_records_settled_total{outcome="parse-error"}`)
	m.skipped = s.NewCounter(`xdrhook_records_settled_total{outcome="skipped"}`)
	m.skippedStale = s.NewCounter(`xdrhook_records_settled_total{outcome="skipped-stale"}`)
	m.overload = s.NewCounter(`xdrhook_records_settled_total{outcome="overload-retry"}`)
	m.windowFull = s.NewCounter("xdrhook_window_full_total")
	m.abandonedOnClose = s.NewCounter("xdrhook_records_unanswered_on_close_total")
	m.deadline = s.NewCounter(`xdrhook_records_settled_total{outcome="deadline-retry"}`)
	for _, rc := range []int{0, 2, 4, 9, 11} {
		m.repliedByRC[rc] = s.NewCounter(`xdrhook_replies_total{rc="` + strconv.Itoa(rc) + `"}`)
	}
	other := s.NewCounter(`xdrhook_replies_total{rc="other"}`)
	for i := range m.repliedByRC {
		if m.repliedByRC[i] == nil {
			m.repliedByRC[i] = other
		}
	}
	return m
}

func (m *engineMetrics) deadlineAnswered(n int) { m.deadline.Add(n) }

// destMetrics are one destination's counters.
type destMetrics struct {
	requests         [6]*metrics.Counter // by status class 1xx..5xx; [0]: transport error
	timeouts         *metrics.Counter
	retries          *metrics.Counter
	refused          *metrics.Counter // records answered 11 because the destination was backed up
	refusedUnhealthy *metrics.Counter // records answered 11 because no endpoint passed its health checks
	deadline         *metrics.Counter // bodies given up at the reply deadline
	bytesOut         *metrics.Counter
	delivered        *metrics.Counter
	retryReplied     *metrics.Counter
	droppedPermanent *metrics.Counter
	encodeErrors     *metrics.Counter // records answered 4 because they could not be encoded (e.g. a CDT nested too deep)
	skipped          *metrics.Counter // records the framing leaves out (es-bulk omit-deletes), answered 0
	refusals         *metrics.Counter // 2xx responses whose body said records were refused (Elasticsearch bulk errors)
	missingFailed    *metrics.Counter // records answered 4: a request template's value missing (request.missing: fail)
	missingSkipped   *metrics.Counter // records answered 0: a request template's value missing (request.missing: skip)
	badHeader        *metrics.Counter // records answered 4: a request header value would hold CR, LF or NUL
	superseded       *metrics.Counter // records delivered as already held (Elasticsearch 409 of a create or a versioned action)
	esDocIDFallback  *metrics.Counter // es-bulk records given the digest as _id for want of their doc-id
	esUnversioned    *metrics.Counter // es-bulk update actions sent unversioned under versioning: lut
	latency          *metrics.PrometheusHistogram
	inFlight         *metrics.Gauge
}

func newDestMetrics(s *metrics.Set, d *Destination) *destMetrics {
	l := `destination="` + d.opts.Name + `"`
	m := &destMetrics{}
	m.requests[0] = s.NewCounter(`xdrhook_requests_total{` + l + `,status="error"}`)
	for c := 1; c <= 5; c++ {
		m.requests[c] = s.NewCounter(`xdrhook_requests_total{` + l + `,status="` + strconv.Itoa(c) + `xx"}`)
	}
	m.timeouts = s.NewCounter(`xdrhook_request_timeouts_total{` + l + `}`)
	m.retries = s.NewCounter(`xdrhook_request_retries_total{` + l + `}`)
	m.refused = s.NewCounter(`xdrhook_records_refused_backpressure_total{` + l + `}`)
	m.deadline = s.NewCounter(`xdrhook_batches_deadline_total{` + l + `}`)
	m.refusedUnhealthy = s.NewCounter(`xdrhook_records_refused_unhealthy_total{` + l + `}`)
	m.refusals = s.NewCounter(`xdrhook_responses_refusing_records_total{` + l + `}`)
	m.bytesOut = s.NewCounter(`xdrhook_bytes_sent_total{` + l + `}`)
	m.superseded = s.NewCounter(`xdrhook_records_superseded_total{` + l + `}`)
	m.esDocIDFallback = s.NewCounter(`xdrhook_es_doc_id_fallback_total{` + l + `}`)
	m.esUnversioned = s.NewCounter(`xdrhook_es_unversioned_updates_total{` + l + `}`)
	m.delivered = s.NewCounter(`xdrhook_records_settled_total{` + l + `,outcome="delivered"}`)
	m.retryReplied = s.NewCounter(`xdrhook_records_settled_total{` + l + `,outcome="retry"}`)
	m.droppedPermanent = s.NewCounter(`xdrhook_records_settled_total{` + l + `,outcome="dropped-permanent"}`)
	m.encodeErrors = s.NewCounter(`xdrhook_records_settled_total{` + l + `,outcome="encode-error"}`)
	m.skipped = s.NewCounter(`xdrhook_records_settled_total{` + l + `,outcome="skipped"}`)
	m.missingFailed = s.NewCounter(`xdrhook_records_settled_total{` + l + `,outcome="missing-value"}`)
	m.missingSkipped = s.NewCounter(`xdrhook_records_settled_total{` + l + `,outcome="missing-value-skipped"}`)
	m.badHeader = s.NewCounter(`xdrhook_records_settled_total{` + l + `,outcome="bad-header-value"}`)
	m.latency = s.NewPrometheusHistogram(`xdrhook_request_duration_seconds{` + l + `}`)
	m.inFlight = s.NewGauge(`xdrhook_requests_queued{`+l+`}`, func() float64 { return float64(d.queued.Load()) })
	// A counter kept by the connector's auth callback, read when scraped
	// (the Authorizer exists before this set); 0 without auth.
	authErrs := d.opts.AuthRefreshErrors
	s.NewGauge(`xdrhook_auth_refresh_errors_total{`+l+`}`, func() float64 {
		if authErrs == nil {
			return 0
		}
		return float64(authErrs.Load())
	})
	return m
}

func (m *destMetrics) request(status int, err error, took time.Duration, bytes int) {
	m.latency.Update(took.Seconds())
	m.bytesOut.Add(bytes)
	if err != nil {
		m.requests[0].Inc()
		if errors.Is(err, ErrTimeout) {
			m.timeouts.Inc()
		}
		return
	}
	if c := status / 100; c >= 1 && c <= 5 {
		m.requests[c].Inc()
	}
}

func (m *destMetrics) settled(rc byte, n int) {
	switch {
	case wire.Done(rc):
		m.delivered.Add(n)
	case wire.Retried(rc):
		m.retryReplied.Add(n)
	default:
		m.droppedPermanent.Add(n)
	}
}

// unshaped counts a record whose request could not be rendered and returns
// the code to answer it with.
func (m *destMetrics) unshaped(o shape.Outcome) byte {
	switch o {
	case shape.Skipped:
		m.missingSkipped.Inc()
		return wire.RCOK
	case shape.BadHeader:
		m.badHeader.Inc()
	default:
		m.missingFailed.Inc()
	}
	return wire.RCParameter
}
