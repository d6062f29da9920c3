package config

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// resolve fills defaults (in raw too, for printing), validates every
// section, merges the overrides into profiles and returns the Config.
func (l *loader) resolve(raw *rawConfig) *Config {
	c := &Config{
		Source:       l.file,
		Destinations: map[string]*Destination{},
		Namespaces:   map[string]*NamespaceOverride{},
		raw:          raw,
		order:        l.order,
		secretPaths:  l.secretPaths,
		secretVals:   l.secretVals,
	}
	if raw.Service == nil {
		raw.Service = &rawService{}
	}
	l.resolveService(raw.Service, &c.Service)

	used := map[string]bool{}
	for _, name := range uniq(l.order["destinations"]) {
		rd := raw.Destinations[name]
		if rd == nil {
			continue
		}
		d := l.resolveDestination(name, rd, len(c.DestinationNames), c.Service.ReplyDeadline)
		c.Destinations[name] = d
		c.DestinationNames = append(c.DestinationNames, name)
	}

	if raw.Routing == nil {
		l.errorf("routing", "missing: every record needs a route; add a routing section with a mode (static, static-multi-destination, skip, namespace, set, bin, expression)")
	} else {
		c.Routing = l.resolveRouting(raw.Routing, "routing", c, used)
	}
	if raw.Format == nil {
		raw.Format = &rawFormat{}
	}
	c.Format = l.resolveFormat(raw.Format, "format")
	absent := raw.Batching == nil
	if absent {
		raw.Batching = &rawBatching{Enabled: ptr(false)}
	}
	c.Batching = l.resolveBatching(raw.Batching, "batching", c.Service.ReplyDeadline)
	c.Batching.absent = absent
	if raw.BinTransforms == nil {
		raw.BinTransforms = &rawBinTransforms{}
	}
	c.BinTransforms = l.resolveBinTransforms(raw.BinTransforms, "bin-transforms")
	if raw.RecordOrdering == nil {
		raw.RecordOrdering = &rawRecordOrdering{}
	}
	c.RecordOrdering = l.resolveRecordOrdering(raw.RecordOrdering, "record-ordering")
	if raw.Filter != nil {
		c.Filter = l.resolveFilter(raw.Filter, "filter")
	}
	if raw.Transform != nil {
		c.Transform = l.resolveTransform(raw.Transform, "transform")
	}
	c.ExpressionErrors = l.resolveExprErrors(&raw.ExprErrors, "expression-errors")
	if raw.Logging == nil {
		raw.Logging = &rawLogging{}
	}
	if f := raw.Logging.Format; f != nil && strings.EqualFold(*f, "simple") {
		raw.Logging.Format = ptr("text") // ESP's name of the plain format
	}
	c.Logging = Logging{
		Level:  l.enum(&raw.Logging.Level, "logging.level", "info", "debug", "info", "warn", "error"),
		Format: l.enum(&raw.Logging.Format, "logging.format", "text", "text", "json"),
	}

	c.Namespaces = l.resolveNamespaces(raw.Namespaces, "namespaces", c, used)
	l.resolvePorts(raw, c, used)
	if len(l.errs) > 0 {
		return nil
	}
	l.buildProfiles(c)
	buildPortProfiles(c)
	l.crossChecks(c, used)
	l.espNotes(c)

	return c
}

func (l *loader) resolveOverride(r *rawOverride, p string, c *Config, used map[string]bool) Override {
	var o Override
	if r == nil {
		return o
	}
	if r.Routing != nil {
		o.Routing = l.resolveRouting(r.Routing, p+".routing", c, used)
	}
	if r.Format != nil {
		o.Format = l.resolveFormat(r.Format, p+".format")
	}
	if r.Batching != nil {
		o.Batching = l.resolveBatching(r.Batching, p+".batching", c.Service.ReplyDeadline)
	}
	if r.BinTransforms != nil {
		o.BinTransforms = l.resolveBinTransforms(r.BinTransforms, p+".bin-transforms")
	}
	if r.Filter != nil {
		o.Filter = l.resolveFilter(r.Filter, p+".filter")
	}
	if r.Transform != nil {
		o.Transform = l.resolveTransform(r.Transform, p+".transform")
	}
	if r.ExprErrors != nil {
		o.ExpressionErrors = l.resolveExprErrors(&r.ExprErrors, p+".expression-errors")
	}
	return o
}

// buildProfiles merges overrides section by section: set, else namespace,
// else top level. A namespace or set that overrides nothing shares the
// profile above it.
func (l *loader) buildProfiles(c *Config) {
	top := &Profile{ID: 0, Routing: c.Routing, Format: c.Format, Batching: c.Batching,
		BinTransforms: c.BinTransforms, RecordOrdering: c.RecordOrdering,
		Filter: c.Filter, Transform: c.Transform, ExpressionErrors: c.ExpressionErrors}
	c.profiles = []*Profile{top}
	c.byNS = buildNSProfiles(c, c.Namespaces, top)
}

// pickProfile returns the profile of o over above: above itself when o
// overrides nothing, else a new profile (appended to c.profiles).
func pickProfile(c *Config, o Override, ro *RecordOrdering, above *Profile, ns, set string) *Profile {
	if o.empty() && ro == nil {
		return above
	}
	p := *above
	p.ID, p.Namespace, p.Set = len(c.profiles), ns, set
	if o.Routing != nil {
		p.Routing = o.Routing
	}
	if o.Format != nil {
		p.Format = o.Format
	}
	if o.Batching != nil {
		p.Batching = o.Batching
	}
	if o.BinTransforms != nil {
		p.BinTransforms = o.BinTransforms
	}
	if o.Filter != nil {
		p.Filter = o.Filter
	}
	if o.Transform != nil {
		p.Transform = o.Transform
	}
	if o.ExpressionErrors != nil {
		p.ExpressionErrors = o.ExpressionErrors
	}
	if ro != nil {
		p.RecordOrdering = ro
	}
	c.profiles = append(c.profiles, &p)
	return &p
}

// buildNSProfiles makes the profiles of namespaces over top (the file's
// top level, or a port's).
func buildNSProfiles(c *Config, namespaces map[string]*NamespaceOverride, top *Profile) map[string]*nsProfiles {
	byNS := map[string]*nsProfiles{}
	for _, ns := range sortedKeys(namespaces) {
		o := namespaces[ns]
		nsp := pickProfile(c, o.Override, o.RecordOrdering, top, ns, "")
		e := &nsProfiles{def: nsp}
		for _, set := range sortedKeys(o.Sets) {
			if sp := pickProfile(c, *o.Sets[set], nil, nsp, ns, set); sp != nsp {
				if e.sets == nil {
					e.sets = map[string]*Profile{}
				}
				e.sets[set] = sp
			}
		}
		if nsp != top || e.sets != nil {
			byNS[ns] = e
		}
	}
	return byNS
}

func (l *loader) crossChecks(c *Config, used map[string]bool) {
	dynamic := false
	for _, p := range c.profiles {
		switch p.Routing.Mode {
		case RouteNamespace, RouteSet, RouteBin, RouteExpression:
			dynamic = true
		}
	}
	if !dynamic {
		for _, name := range c.DestinationNames {
			if !used[name] {
				l.warnf(join("destinations", name), "not used by any routing")
			}
		}
	}
	l.checkFramingBatching(c)
	l.checkESQuery(c)
	l.checkRequestBatching(c)
	l.checkTransformSchema(c)
	l.checkPassRoute(c)
	l.checkS3(c)
	s := c.Service
	for _, port := range s.Ports {
		if port != 0 && port == s.Manage.Port && overlaps(s.Address, s.Manage.Address) {
			l.errorf("service.manage.port", "%d is also an XDR port (service.port)", port)
		}
	}
	if !isLoopback(s.Manage.Address) {
		l.warnf("service.manage.address", "%s is not a loopback address: /metrics and /healthz are reachable from the network (read-only; fine for a Prometheus on another host)", l.show("service.manage.address", s.Manage.Address))
	}
	for _, name := range c.DestinationNames {
		d := c.Destinations[name]
		if d.CallTimeout >= s.ReplyDeadline {
			l.warnf(join("destinations", name)+".call-timeout", "%d ms is not below service.reply-deadline (%d ms): a request still running at the deadline is answered 11 (retry) and may be delivered twice", d.CallTimeout.Milliseconds(), s.ReplyDeadline.Milliseconds())
		}
	}
}

// checkFramingBatching warns where a framing the user chose is not used:
// with batching off a body is one message alone, unless the framing is the
// destination's protocol (Framing.Protocol), which frames that one record.
func (l *loader) checkFramingBatching(c *Config) {
	seen := map[*Format]bool{}
	for _, p := range c.profiles {
		f := p.Format
		if p.Batching.Enabled || seen[f] || !f.framingSet || f.Framing.Protocol() {
			continue
		}
		seen[f] = true
		l.warnf(f.path+".framing", "%s is not used: batching is off (%s), so each body is one message alone (%s); enable batching to frame bodies as %s",
			f.Framing, batchingWhere(p.Batching), singleContentType[f.Mode], f.Framing)
	}
}

// batchingWhere names the batching section that turned batching off.
func batchingWhere(b *Batching) string {
	if b.absent {
		return "no batching section"
	}
	return b.path + ".enabled: false"
}

// singleContentType is the content type of a body holding one message
// alone, per format mode (output-formats.md).
var singleContentType = map[FormatMode]string{
	FormatJSON:        "application/json",
	FormatFlatJSON:    "application/json",
	FormatMessagePack: "application/x-msgpack",
	FormatAvro:        "avro/binary, single-object encoding",
}

// ---- service

func (l *loader) resolveService(r *rawService, s *Service) {
	const p = "service"
	l.mapTLSPort(r)
	if l.espValue(p+".protocol", r.Protocol) && r.Protocol != nil {
		r.Protocol = ptr("TCP")
	}
	if r.SocketReceiveBufferBytes != nil {
		s.SocketRecvBuffer = l.intIn(&r.SocketReceiveBufferBytes, p+".socket-receive-buffer-bytes", 0, 1024, 1<<30)
	}
	if r.ClusterName != nil {
		s.ClusterName = *r.ClusterName
		if strings.ContainsAny(s.ClusterName, "\r\n\x00") || s.ClusterName == "" {
			l.errorf(p+".cluster-name", "%s cannot be a metric label value (empty, or CR, LF or NUL in it)", l.show(p+".cluster-name", s.ClusterName))
		}
	}
	if !r.Port.set {
		r.Port = portList{ports: []int{DefaultPort}, set: true}
	}
	if len(r.Port.ports) == 0 {
		l.errorf(p+".port", "at least one port is needed")
	}
	seen := map[int]bool{}
	for i, port := range r.Port.ports {
		pp := p + ".port"
		if r.Port.isList {
			pp = index(pp, i)
		}
		switch {
		case port < 0 || port > 65535:
			l.errorf(pp, "%d is not a port (0 to 65535)", port)
		case port != 0 && seen[port]:
			l.errorf(pp, "port %d is listed twice", port)
		}
		seen[port] = true
	}
	s.Ports = append([]int(nil), r.Port.ports...)
	s.Address = l.strDef(&r.Address, DefaultAddress)
	l.checkHost(p+".address", s.Address)
	if r.TLS != nil {
		s.TLS = l.resolveServerTLS(r.TLS, p+".tls")
	}
	if r.Manage == nil {
		r.Manage = &rawManage{}
	}
	s.Manage.Address = l.strDef(&r.Manage.Address, DefaultManageAddress)
	l.checkHost(p+".manage.address", s.Manage.Address)
	s.Manage.Port = l.intIn(&r.Manage.Port, p+".manage.port", DefaultManagePort, 0, 65535)
	s.MaxConcurrentRecords = l.intIn(&r.MaxConcurrentRecords, p+".max-concurrent-records", DefaultMaxConcurrentRecords, 1, 1<<24)
	s.MaxFrameBytes = l.intIn(&r.MaxFrameBytes, p+".max-frame-bytes", DefaultMaxFrameBytes, 1024, 1<<30)
	rd := l.intIn(&r.ReplyDeadline, p+".reply-deadline", int(DefaultReplyDeadline/time.Millisecond), 1, 1<<31)
	if rd > int(MaxReplyDeadline/time.Millisecond) {
		l.errorf(p+".reply-deadline", "%d ms is too long: XDR resends a record it has had no reply for after about 10 s, so a later reply is useless and the record arrives twice; at most %d", rd, MaxReplyDeadline.Milliseconds())
		rd = int(MaxReplyDeadline / time.Millisecond)
	}
	s.ReplyDeadline = time.Duration(rd) * time.Millisecond
	s.ReplyHold = time.Duration(l.intIn(&r.ReplyHold, p+".reply-hold", int(DefaultReplyHold/time.Millisecond), 0, 100)) * time.Millisecond
	s.MaxConnections = l.intIn(&r.MaxConnections, p+".max-connections", DefaultMaxConnections, 1, 1<<20)
	s.IOThreads = l.intIn(&r.IOThreads, p+".io-threads", 0, 0, 4096)
}

// ---- destinations

func (l *loader) resolveDestination(name string, r *rawDestination, id int, deadline time.Duration) *Destination {
	p := join("destinations", name)
	d := &Destination{ID: id, Name: name}
	l.s3Defaults(r)
	if len(r.URLs.items) == 0 {
		l.errorf(p+".urls", "at least one URL is needed")
		if !r.URLs.set {
			r.URLs = stringList{set: true}
		}
	}
	seen := map[string]bool{}
	hasHTTPS, plainRemote := false, false
	for i, s := range r.URLs.items {
		up := index(p+".urls", i)
		u, err := url.Parse(s)
		switch {
		case err != nil || u.Host == "" || u.Opaque != "":
			l.errorf(up, "%s is not a URL such as http://host:9200/_bulk", l.show(up, s))
			continue
		case u.Scheme != "http" && u.Scheme != "https":
			l.errorf(up, "%s: the scheme must be http or https", l.show(up, s))
			continue
		case u.User != nil:
			l.errorf(up, "%s: credentials in a URL end up in logs; put them in a header (Authorization: \"Basic ${CREDENTIALS}\")", l.show(up, s))
			continue
		case u.Fragment != "":
			l.errorf(up, "%s: a URL sent to a server has no #fragment", l.show(up, s))
			continue
		case seen[s]:
			l.errorf(up, "%s is listed twice", l.show(up, s))
			continue
		}
		if port := u.Port(); port != "" {
			if n, ok := atoi(port); !ok || n < 1 || n > 65535 {
				l.errorf(up, "%s: bad port", l.show(up, s))
				continue
			}
		}
		seen[s] = true
		if u.Scheme == "https" {
			hasHTTPS = true
		} else if !isLoopback(u.Hostname()) {
			plainRemote = true
		}
		d.URLs = append(d.URLs, u)
		d.rawURLs = append(d.rawURLs, s)
	}
	d.Protocol = Protocol(l.enum(&r.Protocol, p+".protocol", string(HTTP11), string(HTTP11), string(HTTP2)))
	d.MaxConnectionsPerEndpoint = l.intIn(&r.MaxConnectionsPerEndpoint, p+".max-connections-per-endpoint", DefaultMaxConnectionsPerEndpoint, 1, 4096)
	d.MaxInFlight = l.intIn(&r.MaxInFlight, p+".max-in-flight", DefaultMaxInFlight, 1, 1<<16)
	d.HTTP2MaxConcurrentStreams = l.intIn(&r.HTTP2MaxConcurrentStreams, p+".http2-max-concurrent-streams", DefaultHTTP2MaxConcurrentStreams, 1, 1<<16)
	d.ConnectTimeout = l.ms(&r.ConnectTimeout, p+".connect-timeout", DefaultConnectTimeout, 1)
	d.CallTimeout = l.ms(&r.CallTimeout, p+".call-timeout", DefaultCallTimeout, 1)
	if d.ConnectTimeout > d.CallTimeout {
		l.errorf(p+".connect-timeout", "%d ms is longer than call-timeout (%d ms), which includes connecting", d.ConnectTimeout.Milliseconds(), d.CallTimeout.Milliseconds())
	}
	d.IdleConnectionTimeout = l.ms(&r.IdleConnectionTimeout, p+".idle-connection-timeout", DefaultIdleConnectionTimeout, 1)
	d.HTTP2ReadIdleTimeout = l.ms(&r.HTTP2ReadIdleTimeout, p+".http2-read-idle-timeout", DefaultHTTP2ReadIdleTimeout, 1)
	d.HTTP2PingTimeout = l.ms(&r.HTTP2PingTimeout, p+".http2-ping-timeout", DefaultHTTP2PingTimeout, 1)
	d.HTTP1Pipelining = l.boolean(&r.HTTP1Pipelining, false)
	if d.HTTP1Pipelining && d.Protocol == HTTP2 {
		l.errorf(p+".http1-pipelining", "only for protocol HTTP_1_1 (HTTP/2 multiplexes streams)")
	}
	d.Method = l.enum(&r.Method, p+".method", DefaultMethod, "POST", "PUT", "PATCH")

	path := l.str(&r.Path, "")
	if t, err := parsePathTemplate(path); err != nil {
		l.errorf(p+".path", "%s: %v", l.show(p+".path", path), err)
		d.Path = &PathTemplate{}
	} else {
		d.Path = t
		if path != "" {
			for i, u := range d.URLs {
				if u.RawQuery != "" {
					l.errorf(index(p+".urls", i), "has a query string, so path cannot be appended to it")
				}
			}
		}
	}

	names := map[string]int{}
	secretHeader := false
	for _, h := range r.Headers.kvs {
		hp := p + ".headers." + h.k
		lower := strings.ToLower(h.k)
		switch {
		case !isToken(h.k):
			l.errorf(hp, "%q is not a valid header name", h.k)
		case strings.ContainsAny(h.v, "\r\n\x00"):
			l.errorf(hp, "a header value cannot contain CR, LF or NUL")
		case reservedHeaders[lower] != "":
			l.errorf(hp, "%s", reservedHeaders[lower])
		}
		if first, dup := names[lower]; dup {
			l.errorf(hp, "the same header as %s (names are case-insensitive)", r.Headers.kvs[first].k)
		}
		names[lower] = len(d.Headers)
		_, fromEnv := l.secretPaths[hp]
		if !fromEnv { // ESP's headers.static (esp.go)
			_, fromEnv = l.secretPaths[p+".headers.static."+h.k]
		}
		secretHeader = secretHeader || fromEnv
		d.Headers = append(d.Headers, Header{Name: h.k, Value: h.v, FromEnv: fromEnv})
	}
	d.Request = l.resolveRequest(p, r, d, names)

	if !r.SuccessStatusCodes.set {
		r.SuccessStatusCodes = statusList{set: true, items: []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: "200-299"}}}
	}
	d.Success = l.statusSet(r.SuccessStatusCodes, p+".http-success-status-codes")
	if len(r.SuccessStatusCodes.items) == 0 {
		l.errorf(p+".http-success-status-codes", "at least one status code must mean success")
	}
	if !r.PermanentFailureCodes.set {
		r.PermanentFailureCodes = statusList{set: true}
	}
	d.PermanentFailure = l.statusSet(r.PermanentFailureCodes, p+".permanent-failure-status-codes")
	for code := 100; code < 600; code++ {
		if d.Success.Contains(code) && d.PermanentFailure.Contains(code) {
			l.errorf(p+".permanent-failure-status-codes", "%d is also a success status", code)
			break
		}
	}

	d.Compression = Compression(l.enum(&r.Compression, p+".compression", string(CompressionNone), string(CompressionNone), string(CompressionGzip)))
	d.CompressionThreshold = l.intIn(&r.CompressionThreshold, p+".compression-threshold", DefaultCompressionThreshold, 0, 1<<30)

	if r.Retry == nil {
		r.Retry = &rawRetry{}
	}
	rp := p + ".retry"
	d.Retry.MaxAttempts = l.intIn(&r.Retry.MaxAttempts, rp+".max-attempts", DefaultRetryMaxAttempts, 1, 1000)
	d.Retry.InitialBackoff = l.ms(&r.Retry.InitialBackoff, rp+".initial-backoff", DefaultRetryInitialBackoff, 0)
	d.Retry.MaxBackoff = l.ms(&r.Retry.MaxBackoff, rp+".max-backoff", DefaultRetryMaxBackoff, 0)
	if d.Retry.MaxBackoff < d.Retry.InitialBackoff {
		l.errorf(rp+".max-backoff", "%d ms is below initial-backoff (%d ms)", d.Retry.MaxBackoff.Milliseconds(), d.Retry.InitialBackoff.Milliseconds())
	}
	if d.Retry.InitialBackoff >= deadline {
		l.errorf(rp+".initial-backoff", "%d ms leaves no time for a retry before service.reply-deadline (%d ms)", d.Retry.InitialBackoff.Milliseconds(), deadline.Milliseconds())
	}

	d.AllowInsecure = l.boolean(&r.AllowInsecure, false)
	d.ConnectionTTL = l.resolveConnectionTTL(&r.ConnectionTTL, p)
	d.MaxQueued = l.espMaxQueued(r, p, len(d.URLs))
	d.URLLabels = l.urlLabels(d)
	if r.HealthCheck != nil {
		d.HealthCheck = l.resolveHealthCheck(r.HealthCheck, p)
	}
	if r.TLS != nil {
		l.resolveClientTLS(r.TLS, d, p, hasHTTPS)
	}
	d.Auth = l.resolveAuth(r.Auth, p+".auth", d, plainRemote, d.AllowInsecure)
	if secretHeader && plainRemote {
		if d.AllowInsecure {
			l.warnf(p+".headers", "headers from the environment (credentials) go over plain http to a host that is not loopback (allow-insecure: true)")
		} else {
			l.errorf(p+".headers", "headers from the environment (credentials) would go over plain http to a host that is not loopback; use https, or set %s.allow-insecure: true to accept that", p)
		}
	}
	l.resolveS3(p, r, d)
	return d
}

// reservedHeaders are set by the connector itself.
var reservedHeaders = map[string]string{
	"content-length":    "Content-Length is set by the connector",
	"transfer-encoding": "Transfer-Encoding is set by the connector",
	"connection":        "Connection is managed by the connector",
	"content-encoding":  "Content-Encoding is set by compression",
	"idempotency-key":   "Idempotency-Key is set per message by the connector",
	"xdrhook-records":   "Xdrhook-Records is set per batch by the connector",
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func (l *loader) statusSet(s statusList, p string) StatusSet {
	var set StatusSet
	for i, it := range s.items {
		ip := index(p, i)
		lo, hi, err := parseStatus(it.Value)
		if err != nil {
			l.errorf(ip, "%s: %v", l.show(ip, it.Value), err)
			continue
		}
		set.Add(lo, hi)
	}
	return set
}

// ---- routing

var routingModes = []string{string(RouteStatic), string(RouteStaticMulti), string(RouteSkip), string(RouteNamespace), string(RouteSet), string(RouteBin), string(RouteExpression)}

func (l *loader) resolveRouting(r *rawRouting, p string, c *Config, used map[string]bool) *Routing {
	rt := &Routing{path: p, raw: r}
	if r.Mode == nil || *r.Mode == "" {
		l.errorf(p+".mode", "missing: one of %s", strings.Join(routingModes, ", "))
		return rt
	}
	if !l.espValue(p+".mode", r.Mode) {
		return rt
	}
	rt.Mode = RoutingMode(l.enum(&r.Mode, p+".mode", "", routingModes...))
	only := func(keys ...string) {
		has := map[string]bool{"destination": r.Destination != nil, "destinations": r.Destinations.set, "bin": r.Bin != nil, "expression": r.Expression != nil}
		for _, k := range []string{"destination", "destinations", "bin", "expression"} {
			if !has[k] {
				continue
			}
			allowed := false
			for _, a := range keys {
				allowed = allowed || a == k
			}
			if allowed {
				continue
			}
			hint := ""
			switch {
			case k == "destinations" && rt.Mode == RouteStatic:
				hint = " (static takes one `destination`; static-multi-destination takes `destinations`)"
			case k == "destination" && rt.Mode == RouteStaticMulti:
				hint = " (static-multi-destination takes a list: `destinations`)"
			}
			l.errorf(join(p, k), "not used by routing mode %s%s", rt.Mode, hint)
		}
	}
	ref := func(path, name string) *Destination {
		if d := c.Destinations[name]; d != nil {
			used[name] = true
			return d
		}
		msg := fmt.Sprintf("%s is not a defined destination", l.show(path, name))
		switch {
		case len(c.DestinationNames) == 0:
			msg += " (none is defined: add a destinations section)"
		case suggest(name, c.DestinationNames) != "":
			msg += fmt.Sprintf(" (did you mean %q?)", suggest(name, c.DestinationNames))
		default:
			msg += " (defined: " + strings.Join(c.DestinationNames, ", ") + ")"
		}
		l.errorf(path, "%s", msg)
		return nil
	}
	switch rt.Mode {
	case RouteStatic:
		only("destination")
		if r.Destination == nil || *r.Destination == "" {
			l.errorf(p+".destination", "missing: static routing sends every record to one destination")
			break
		}
		if d := ref(p+".destination", *r.Destination); d != nil {
			rt.Destinations = []*Destination{d}
		}
	case RouteStaticMulti:
		only("destinations")
		if len(r.Destinations.items) == 0 {
			l.errorf(p+".destinations", "missing: static-multi-destination sends every record to each destination of the list")
			break
		}
		seen := map[string]bool{}
		for i, name := range r.Destinations.items {
			ip := index(p+".destinations", i)
			if seen[name] {
				l.errorf(ip, "%s is listed twice", l.show(ip, name))
				continue
			}
			seen[name] = true
			if d := ref(ip, name); d != nil {
				rt.Destinations = append(rt.Destinations, d)
			}
		}
	case RouteSkip:
		only()
	case RouteExpression:
		only("expression")
		l.resolveRouteExpression(r, p, rt, c, used)
	case RouteNamespace, RouteSet, RouteBin:
		if rt.Mode == RouteBin {
			only("bin")
			rt.Bin = l.str(&r.Bin, "")
			switch {
			case rt.Bin == "":
				l.errorf(p+".bin", "missing: bin routing needs the name of the bin whose value names the destination")
			case len(rt.Bin) > 15:
				l.errorf(p+".bin", "%s: an Aerospike bin name is at most 15 bytes", l.show(p+".bin", rt.Bin))
			}
		} else {
			only()
		}
		if len(c.DestinationNames) == 0 {
			l.errorf(p+".mode", "%s routing picks a destination by name, but none is defined: add a destinations section", rt.Mode)
			break
		}
		rt.byName = c.Destinations
		rt.Default = c.Destinations[DefaultDestinationName]
		what := map[RoutingMode]string{RouteNamespace: "namespace", RouteSet: "set", RouteBin: "bin value"}[rt.Mode]
		if rt.Default == nil {
			l.warnf(p+".mode", "no destination is named %q: records whose %s names no destination are skipped (answered 0, counted)", DefaultDestinationName, what)
		} else {
			used[DefaultDestinationName] = true
		}
	}
	return rt
}

// ---- format

var formatModes = []string{string(FormatJSON), string(FormatFlatJSON), string(FormatMessagePack), string(FormatAvro)}

// framingsFor lists the framings a mode accepts, the default first.
var framingsFor = map[FormatMode][]string{
	FormatJSON:        {string(FramingNDJSON), string(FramingJSONArray), string(FramingESBulk), string(FramingSplunkHEC)},
	FormatFlatJSON:    {string(FramingNDJSON), string(FramingJSONArray), string(FramingESBulk), string(FramingSplunkHEC)},
	FormatMessagePack: {string(FramingMsgPackArray)},
	FormatAvro:        {string(FramingAvroOCF)},
}

var allFramings = []string{string(FramingNDJSON), string(FramingJSONArray), string(FramingESBulk), string(FramingSplunkHEC), string(FramingMsgPackArray), string(FramingAvroOCF)}

func (l *loader) resolveFormat(r *rawFormat, p string) *Format {
	f := &Format{path: p, raw: r}
	if !l.espValue(p+".mode", r.Mode) {
		r.Mode = ptr(string(FormatJSON)) // reported; one error is enough
	}
	f.Mode = FormatMode(l.enum(&r.Mode, p+".mode", string(FormatJSON), formatModes...))
	f.framingSet = r.Framing != nil
	if ok := framingsFor[f.Mode]; ok != nil {
		f.Framing = Framing(l.enum(&r.Framing, p+".framing", ok[0], allFramings...))
		if f.Framing != "" && !contains(ok, string(f.Framing)) {
			l.errorf(p+".framing", "%s does not frame format %s: use %s", f.Framing, f.Mode, strings.Join(ok, " or "))
		}
	}
	f.MetadataKey = l.strDef(&r.MetadataKey, DefaultMetadataKey)
	l.espStringifyMapKeys(r, p)
	f.IndexTemplate = l.strDef(&r.IndexTemplate, DefaultIndexTemplate)
	if err := checkPlaceholders(f.IndexTemplate); err != nil {
		l.errorf(p+".index-template", "%v", err)
	}
	f.OmitDeletes = l.boolean(&r.OmitDeletes, false)
	l.resolveESBulk(r, p, f)
	f.SplunkSource = l.str(&r.SplunkSource, "")
	f.SplunkSourceType = l.str(&r.SplunkSourceType, "")
	f.SplunkIndex = l.str(&r.SplunkIndex, "")

	schema := l.str(&r.Schema, "")
	f.SchemaFile = l.fileName(&r.SchemaFile)
	switch {
	case schema != "" && f.SchemaFile != "":
		l.errorf(p+".schema", "set schema or schema-file, not both")
	case (schema != "" || f.SchemaFile != "") && f.Mode != FormatAvro && f.Mode != "":
		l.warnf(p, "schema and schema-file apply to mode avro only; ignored for %s", f.Mode)
	case schema != "":
		if !json.Valid([]byte(schema)) {
			l.errorf(p+".schema", "not a JSON Avro schema")
		}
		f.Schema = schema
	case f.SchemaFile != "" && !l.opt.SkipFiles:
		b, err := l.opt.ReadFile(f.SchemaFile)
		switch {
		case err != nil:
			l.errorf(p+".schema-file", "%v", err)
		case !json.Valid(b):
			l.errorf(p+".schema-file", "%s is not a JSON Avro schema", f.SchemaFile)
		default:
			f.Schema = string(b)
		}
	}
	return f
}

// checkPlaceholders checks an index template: {set} and {namespace}.
func checkPlaceholders(s string) error {
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			return nil
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return fmt.Errorf("%q has no closing }", s[i:])
		}
		if name := s[i+1 : i+j]; name != "set" && name != "namespace" {
			return fmt.Errorf("unknown placeholder {%s}: the placeholders are {set} and {namespace}", name)
		}
		s = s[i+j+1:]
	}
}

// ---- batching, bin-transforms, record-ordering

func (l *loader) resolveBatching(r *rawBatching, p string, deadline time.Duration) *Batching {
	b := &Batching{path: p, raw: r}
	b.Enabled = l.boolean(&r.Enabled, true)
	b.MaxRecords = l.intIn(&r.MaxRecords, p+".max-records", DefaultBatchMaxRecords, 1, 1<<20)
	b.MaxBytes = l.intIn(&r.MaxBytes, p+".max-bytes", DefaultBatchMaxBytes, 1, 1<<30)
	b.Interval = l.ms(&r.BatchInterval, p+".batch-interval", DefaultBatchInterval, 1)
	if b.Interval >= deadline {
		l.errorf(p+".batch-interval", "%d ms is not below service.reply-deadline (%d ms): batched records would be answered 11 (retry) before they are sent", b.Interval.Milliseconds(), deadline.Milliseconds())
	}
	return b
}

func (l *loader) resolveBinTransforms(r *rawBinTransforms, p string) *BinTransforms {
	bt := &BinTransforms{path: p, raw: r}
	if r.Include == nil {
		r.Include = &rawBinSelect{}
	}
	if r.Exclude == nil {
		r.Exclude = &rawBinSelect{}
	}
	bins := func(s *rawBinSelect, sp string) []string {
		out := []string{}
		for i, b := range s.Bins.items {
			ip := index(sp+".bins", i)
			switch {
			case b == "":
				l.errorf(ip, "empty bin name")
			case len(b) > 15:
				l.errorf(ip, "%s: an Aerospike bin name is at most 15 bytes", l.show(ip, b))
			}
			out = append(out, b)
		}
		return out
	}
	ip := p + ".include"
	switch l.enum(&r.Include.Type, ip+".type", "all", "all", "specified") {
	case "all":
		if r.Include.Bins.set {
			l.errorf(ip+".bins", "bins go with type: specified (type all keeps every bin)")
		}
	case "specified":
		bt.Include = bins(r.Include, ip)
		if len(bt.Include) == 0 {
			l.errorf(ip+".bins", "type specified needs the list of bins to keep")
		}
	}
	ep := p + ".exclude"
	switch l.enum(&r.Exclude.Type, ep+".type", "none", "none", "specified") {
	case "none":
		if r.Exclude.Bins.set {
			l.errorf(ep+".bins", "bins go with type: specified (type none drops nothing)")
		}
	case "specified":
		bt.Exclude = bins(r.Exclude, ep)
		if len(bt.Exclude) == 0 {
			l.errorf(ep+".bins", "type specified needs the list of bins to drop")
		}
	}
	targets := map[string]string{}
	for _, e := range r.Map.kvs {
		mp := p + ".map." + e.k
		switch {
		case len(e.k) > 15:
			l.errorf(mp, "%q: an Aerospike bin name is at most 15 bytes, so this rename never applies", e.k)
		case e.v == "":
			l.errorf(mp, "the new name is empty")
		case targets[e.v] != "":
			l.errorf(mp, "%q and %q would both be renamed %q (duplicate keys in the output)", targets[e.v], e.k, e.v)
		}
		targets[e.v] = e.k
		if bt.Map == nil {
			bt.Map = map[string]string{}
		}
		bt.Map[e.k] = e.v
	}
	bt.NameTransforms = l.espNameTransforms(r, p)
	return bt
}

func (l *loader) resolveRecordOrdering(r *rawRecordOrdering, p string) *RecordOrdering {
	ro := &RecordOrdering{path: p, raw: r}
	ro.Enable = l.boolean(&r.Enable, false)
	ttl := l.intIn(&r.LUTCacheTTLSeconds, p+".lut-cache-ttl-seconds", int(DefaultLUTCacheTTL/time.Second), 1, 86400)
	ro.LUTCacheTTL = time.Duration(ttl) * time.Second
	return ro
}

// ---- leaf helpers: each fills the raw leaf with its default when absent,
// so the raw tree prints complete.

func ptr[T any](v T) *T { return &v }

func (l *loader) str(p **string, def string) string {
	if *p == nil {
		*p = ptr(def)
	}
	return **p
}

// strDef is str where an empty string also means the default.
func (l *loader) strDef(p **string, def string) string {
	if *p == nil || **p == "" {
		*p = ptr(def)
	}
	return **p
}

func (l *loader) boolean(p **bool, def bool) bool {
	if *p == nil {
		*p = ptr(def)
	}
	return **p
}

func (l *loader) intIn(p **int, path string, def, lo, hi int) int {
	if *p == nil {
		*p = ptr(def)
	}
	v := **p
	if v < lo || v > hi {
		if hi >= 1<<30 {
			l.errorf(path, "%d is out of range (at least %d)", v, lo)
		} else {
			l.errorf(path, "%d is out of range (%d to %d)", v, lo, hi)
		}
		return def // the error is said; checks that depend on it see the default
	}
	return v
}

// ms reads integer milliseconds.
func (l *loader) ms(p **int, path string, def time.Duration, lo int) time.Duration {
	v := l.intIn(p, path, int(def/time.Millisecond), lo, 1<<31)
	return time.Duration(v) * time.Millisecond
}

// enum matches case-insensitively and stores the canonical spelling; an
// absent or empty value takes def.
func (l *loader) enum(p **string, path, def string, allowed ...string) string {
	if *p == nil || **p == "" {
		*p = ptr(def)
		return def
	}
	v := **p
	for _, a := range allowed {
		if strings.EqualFold(v, a) {
			*p = ptr(a)
			return a
		}
	}
	msg := fmt.Sprintf("%s is not one of %s", l.show(path, v), strings.Join(allowed, ", "))
	if s := suggest(v, allowed); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	l.errorf(path, "%s", msg)
	return ""
}

// file reads a file name, relative to the config file's directory, and
// stores the resolved name.
func (l *loader) fileName(p **string) string {
	if *p == nil || **p == "" {
		*p = ptr("")
		return ""
	}
	name := **p
	if !filepath.IsAbs(name) && l.dir != "" && l.dir != "." {
		name = filepath.Join(l.dir, name)
		*p = ptr(name)
	}
	return name
}

func (l *loader) checkHost(path, h string) {
	if net.ParseIP(h) != nil {
		return
	}
	ok := h != "" && len(h) <= 253
	for i := 0; ok && i < len(h); i++ {
		c := h[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.'
	}
	if !ok || h[0] == '-' || h[0] == '.' {
		l.errorf(path, "%s is not an IP address or a host name (without a port)", l.show(path, h))
	}
}

func isLoopback(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return ip != nil && ip.IsLoopback()
}

func isWildcard(h string) bool {
	ip := net.ParseIP(h)
	return h == "" || ip != nil && ip.IsUnspecified()
}

func overlaps(a, b string) bool { return a == b || isWildcard(a) || isWildcard(b) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func uniq(list []string) []string {
	seen := map[string]bool{}
	out := list[:0:0]
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func atoi(s string) (int, bool) {
	n := 0
	if s == "" || len(s) > 9 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}
