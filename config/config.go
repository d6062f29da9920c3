package config

import (
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/xdrhook/xdrhook/expression"
	"github.com/xdrhook/xdrhook/shape"
	"github.com/xdrhook/xdrhook/wire"
)

// Defaults. Each is documented with its trade-off on the field it fills.
const (
	DefaultPort                      = 8901
	DefaultAddress                   = "0.0.0.0"
	DefaultManageAddress             = "127.0.0.1"
	DefaultManagePort                = 8902
	DefaultMaxConcurrentRecords      = 32768
	DefaultMaxFrameBytes             = 16 << 20
	DefaultReplyDeadline             = 8000 * time.Millisecond
	MaxReplyDeadline                 = 8000 * time.Millisecond
	DefaultMaxConnections            = 1024
	DefaultReplyHold                 = 0
	DefaultMaxConnectionsPerEndpoint = 8
	DefaultMaxInFlight               = 64
	DefaultHTTP2MaxConcurrentStreams = 100
	DefaultConnectTimeout            = 1000 * time.Millisecond
	DefaultCallTimeout               = 5000 * time.Millisecond
	DefaultIdleConnectionTimeout     = 10000 * time.Millisecond
	DefaultHTTP2ReadIdleTimeout      = 10000 * time.Millisecond
	DefaultHTTP2PingTimeout          = 5000 * time.Millisecond
	DefaultMethod                    = "POST"
	DefaultCompressionThreshold      = 1024
	DefaultRetryMaxAttempts          = 3
	DefaultRetryInitialBackoff       = 50 * time.Millisecond
	DefaultRetryMaxBackoff           = 1000 * time.Millisecond
	DefaultMetadataKey               = "metadata"
	DefaultIndexTemplate             = "{set}"
	DefaultBatchMaxRecords           = 500
	DefaultBatchMaxBytes             = 1 << 20
	DefaultBatchInterval             = 50 * time.Millisecond
	DefaultLUTCacheTTL               = 30 * time.Second
	// DefaultDestinationName is the destination that namespace, set and bin
	// routing fall back to when no destination is named like the value.
	DefaultDestinationName = "default"
)

// Config is a loaded, validated and resolved config file: every default
// filled in, every duration a time.Duration, every name a pointer. It is
// read-only after Load and safe for concurrent use.
type Config struct {
	// Source is the file name it was loaded from.
	Source string

	Service Service

	// Destinations by name; DestinationNames keeps the order of the file,
	// and Destination.ID is the index into it (for per-destination arrays).
	Destinations     map[string]*Destination
	DestinationNames []string

	// The top-level sections: what applies to a namespace or set that does
	// not override them. Profile(ns, set) gives the effective ones.
	Routing        *Routing
	Format         *Format
	Batching       *Batching
	BinTransforms  *BinTransforms
	RecordOrdering *RecordOrdering
	// Custom logic (config/expression.go): Filter and Transform nil when
	// absent; ExpressionErrors always set at the top level.
	Filter           *Filter
	Transform        *Transform
	ExpressionErrors *ExpressionErrors

	// Namespaces holds the overrides as written (nil sections inherit).
	Namespaces map[string]*NamespaceOverride
	// PortConfigs is port-based-config by port (nil when absent); see
	// ProfileFor.
	PortConfigs map[int]*PortConfig

	Logging Logging

	// Warnings are problems that do not stop the connector (a non-loopback
	// manage listener, an unroutable default, ...). `xdrhook check` prints
	// them and `xdrhook run` should log them at startup.
	Warnings []*Problem
	// Notes are differences from ESP worth knowing that are not problems
	// (a destination without protocol gets HTTP_1_1, not ESP's HTTP_2).
	Notes []*Problem

	profiles []*Profile // by ID; profiles[0] is the top-level one
	byNS     map[string]*nsProfiles
	ports    map[int]*portProfiles // port-based-config

	raw         *rawConfig
	order       map[string][]string
	secretPaths map[string]string
	secretVals  map[string]string
}

type nsProfiles struct {
	def  *Profile
	sets map[string]*Profile
}

// Profile is the effective configuration of a (namespace, set): the
// set's override, else the namespace's, else the top level, section by
// section. Profiles are built once at load; the pointers are shared (two
// profiles with the same *Format use the same format object), so a
// dataplane may key encoders by *Format and batchers by (Profile.ID,
// Destination.ID).
type Profile struct {
	// ID is dense: 0 is the top-level profile, then one per namespace and
	// per set that overrides something, in sorted order.
	ID int
	// Namespace and Set say where the profile was defined: both empty for
	// the top level, Set empty for a namespace-wide profile.
	Namespace, Set string
	// Port is the listener port of port-based-config the profile belongs
	// to; 0 for the file's top level and namespaces.
	Port int

	Routing        *Routing
	Format         *Format
	Batching       *Batching
	BinTransforms  *BinTransforms
	RecordOrdering *RecordOrdering
	// Custom logic: nil Filter and Transform when there is none.
	// Profile.Logic gathers them for the dataplane.
	Filter           *Filter
	Transform        *Transform
	ExpressionErrors *ExpressionErrors
}

// Profile returns the effective profile of a record. It allocates nothing
// (map lookups with string(b) keys do not copy), so the dataplane can call
// it per record with slices of the frame. It never returns nil.
func (c *Config) Profile(ns, set []byte) *Profile {
	return lookupProfile(c.byNS, c.profiles[0], ns, set)
}

// Profiles returns every profile, indexed by ID.
func (c *Config) Profiles() []*Profile { return c.profiles }

// DestinationList returns the destinations in the order of the file
// (index = Destination.ID).
func (c *Config) DestinationList() []*Destination {
	out := make([]*Destination, len(c.DestinationNames))
	for i, n := range c.DestinationNames {
		out[i] = c.Destinations[n]
	}
	return out
}

// Redact returns s, or a placeholder naming its ${VAR} template if s is a
// value that came from the environment. Use it when logging config values
// (URLs, headers).
func (c *Config) Redact(s string) string {
	if tpl, ok := c.secretVals[s]; ok {
		return redacted(tpl)
	}
	return s
}

// Service is the XDR listener and the process-wide bounds.
type Service struct {
	// Ports the XDR listener binds (service.port: an int or a list). Default
	// [8901]. 0 asks the OS for a free port (tests).
	Ports []int
	// Address to bind. Default 0.0.0.0: XDR runs on other hosts.
	Address string
	// TLS, if not nil, makes the XDR listener speak TLS.
	TLS *ServerTLS
	// Manage is the metrics and health listener.
	Manage Manage
	// MaxConcurrentRecords bounds the records accepted but not yet answered,
	// all connections together. Default 32768 (as ESP). At the bound the
	// connector stops reading (XDR backs off); higher lets more records wait
	// on a slow destination at the cost of memory (each holds its encoded
	// form until settled).
	MaxConcurrentRecords int
	// MaxFrameBytes bounds a frame body (bytes after the 8-byte header),
	// inflated or not. Default 16 MiB. A frame over it closes the connection
	// (XDR resends), so keep it above the namespace's largest record
	// (write-block-size, at most 8 MiB); lower bounds memory per connection.
	MaxFrameBytes int
	// ReplyDeadline: a record not settled by then is answered 11 (retry).
	// Default 8000 ms, the maximum: XDR resends a record it has had no reply
	// for after about 10 s, so a later reply is useless and the record comes
	// twice. Lower answers sooner under a dead destination (XDR retries
	// sooner) but gives retries less time.
	ReplyDeadline time.Duration
	// ReplyHold (service.reply-hold, an xdrhook key) is the longest the
	// reply of a settled record waits for others of its connection to
	// share its write, while that connection has 32 or more records in
	// flight (one record per request under a deep XDR pipeline): fewer
	// writes for us and fewer wake-ups for XDR, each reply at most this
	// much (plus a 5 ms tick) later. Default 0: each batch of replies goes
	// out at once. Worth 1 on a CPU-bound node with few, deep connections;
	// where a connection's XDR window is what limits the rate, the wait
	// costs rate (DESIGN.md, "Replies held for company").
	ReplyHold time.Duration
	// MaxConnections bounds XDR connections accepted at once, all ports
	// together (service.max-connections, an xdrhook key). Default 1024. A
	// connection over it is closed at accept (XDR reconnects later). Each
	// connection holds input and output buffers, so this bounds memory; XDR
	// opens a few connections per source node, so raise it only for very
	// large source clusters.
	MaxConnections int
	// SocketRecvBuffer (service.socket-receive-buffer-bytes, ESP's key)
	// sets SO_RCVBUF of the XDR sockets; 0, the default, leaves the
	// kernel's size (which grows with the traffic: tcp_rmem).
	SocketRecvBuffer int
	// ClusterName (service.cluster-name, as ESP's) is the value of a
	// constant label cluster on every metric; "" adds none.
	ClusterName string
	// IOThreads is the number of event loops (service.io-threads, as ESP's).
	// Default 0: one per CPU the Go runtime may use (its default GOMAXPROCS,
	// which follows a container's CPU limit). Fewer leaves CPU to encoding
	// and sending; more than the CPUs only adds switching.
	IOThreads int
}

// ListenAddrs returns host:port for every XDR port.
func (s *Service) ListenAddrs() []string {
	out := make([]string, len(s.Ports))
	for i, p := range s.Ports {
		out[i] = net.JoinHostPort(s.Address, strconv.Itoa(p))
	}
	return out
}

// Manage is service.manage: /healthz, /readyz, /metrics.
type Manage struct {
	// Address default 127.0.0.1: metrics stay on the host unless you say
	// otherwise. Another address loads with a warning (the endpoints are
	// read-only, and Prometheus on another host needs it).
	Address string
	// Port default 8902. 0 asks the OS for a free port (tests).
	Port int
}

// Addr returns host:port.
func (m Manage) Addr() string { return net.JoinHostPort(m.Address, strconv.Itoa(m.Port)) }

// ServerTLS is service.tls: the XDR listener's certificate (PEM files or
// a Java key store).
type ServerTLS struct {
	CertFile, KeyFile string
	// ClientCAFile, if set, requires and verifies client certificates.
	ClientCAFile string
	// KeyStore replaces CertFile and KeyFile; TrustStore replaces
	// ClientCAFile (and likewise requires client certificates).
	KeyStore, TrustStore *KeyStore
	// AllowedPeerNames, if set, are the names a client certificate must
	// carry one of (common name, DNS or IP SAN): XDR's nodes.
	AllowedPeerNames []string
	// Protocols and CipherSuites as in ClientTLS.
	Protocols, CipherSuites []string
}

// Protocol is destinations.*.protocol.
type Protocol string

const (
	// HTTP11 is HTTP/1.1 (fasthttp), the default: the fastest path and what
	// every server speaks. ESP's default is HTTP_2; set it explicitly to keep
	// ESP's behaviour.
	HTTP11 Protocol = "HTTP_1_1"
	// HTTP2 is h2 over https (ALPN) and h2c with prior knowledge over http://
	// (the server must accept HTTP/2 without an upgrade).
	HTTP2 Protocol = "HTTP_2"
)

// Compression is destinations.*.compression.
type Compression string

const (
	CompressionNone Compression = "none"
	CompressionGzip Compression = "gzip"
)

// Destination is one HTTP destination.
type Destination struct {
	// ID is the index in Config.DestinationNames.
	ID   int
	Name string
	// URLs, at least one; several are spread across. http or https only.
	URLs []*url.URL
	// Protocol default HTTP_1_1.
	Protocol Protocol
	// MaxConnectionsPerEndpoint default 8 (ESP's default is 1). For
	// HTTP/1.1 it caps the requests in flight per URL (unless
	// HTTP1Pipelining); HTTP/2 adds connections up to it when the open ones
	// have no free stream (with ConnectionTTL, requests go round robin over
	// all of them). More costs sockets and server memory.
	MaxConnectionsPerEndpoint int
	// MaxInFlight is the window: requests outstanding to this destination,
	// all URLs together. Default 64. It bounds memory (MaxInFlight × batch
	// size) and the load on the destination; too low caps throughput at
	// MaxInFlight × batch / latency.
	MaxInFlight int
	// HTTP2MaxConcurrentStreams caps streams per HTTP/2 connection (the
	// server's own limit still applies). Default 100.
	HTTP2MaxConcurrentStreams int
	// ConnectTimeout default 1000 ms; CallTimeout (the whole request,
	// connecting included) default 5000 ms. A CallTimeout at or above the
	// reply deadline means a slow success arrives after XDR was told to
	// retry (harmless, at-least-once, but wasted): a warning.
	ConnectTimeout, CallTimeout time.Duration
	// IdleConnectionTimeout closes a connection idle that long (an xdrhook
	// key). Default 10 s. Keep it below the server's keep-alive timeout, or
	// the server closes first and a request may race the close.
	IdleConnectionTimeout time.Duration
	// HTTP2ReadIdleTimeout: with no frame received for that long, an HTTP/2
	// connection is pinged; HTTP2PingTimeout later without an answer it is
	// closed. Defaults 10 s and 5 s: without them a dead connection eats
	// requests for minutes.
	HTTP2ReadIdleTimeout, HTTP2PingTimeout time.Duration
	// HTTP1Pipelining sends requests on an HTTP/1.1 connection without
	// waiting for responses. Default false: only for servers known to
	// pipeline well; it never retries on the same connection.
	HTTP1Pipelining bool
	// Method default POST (POST, PUT or PATCH).
	Method string
	// Path is appended to each URL, with {namespace} and {set} expanded per
	// record. Default empty.
	Path *PathTemplate
	// Headers in the order of the file; values with ${VAR} are expanded.
	Headers []Header
	// Request, if not nil, shapes each record's request (destinations.*.
	// request; batching off only): method, path and body per change kind,
	// a query and extra headers, all templates rendered per record. Its
	// method and path win over Method and Path.
	Request *shape.Request
	// Success statuses, default 200-299. PermanentFailure statuses drop the
	// record (reply 4, counted) instead of retrying; default none: every
	// other status is retried until the reply deadline and answered 11, so
	// nothing is lost, but a record a destination always rejects comes back
	// from XDR for ever. The sets do not overlap.
	Success, PermanentFailure StatusSet
	// Compression default none. CompressionThreshold: bodies of at least
	// that many bytes are gzipped; default 1024 (smaller ones gain little
	// and cost CPU).
	Compression          Compression
	CompressionThreshold int
	Retry                Retry
	// TLS applies to https URLs.
	TLS ClientTLS
	// Type is TypeS3, or "" for http (the default); S3 names the objects
	// of an s3 destination.
	Type DestinationType
	S3   *S3
	// AllowInsecure accepts, for this destination, what is otherwise refused:
	// tls.insecure-skip-verify, and headers from the environment (tokens)
	// sent over plain http to a host other than loopback.
	AllowInsecure bool
	// ConnectionTTL (connection-ttl, ms; -1, the default, is never → 0):
	// a connection older than that takes no new request; it is closed once
	// its in-flight requests are done and a new one is dialled. Behind a
	// load balancer this spreads load onto backends added since.
	ConnectionTTL time.Duration
	// MaxQueued bounds the request bodies waiting for this destination
	// (ESP's max-request-queued-per-endpoint × the URLs); past it new
	// records are answered 11 at once. 0, when the key is absent, leaves
	// the dataplane's bound (max-concurrent-records bodies, at least 1024;
	// 64 MiB and half the reply deadline of waiting either way).
	MaxQueued int
	// HealthCheck, if not nil (the section is present), checks each URL
	// actively; see HealthCheck.
	HealthCheck *HealthCheck
	// URLLabels are the URLs as metrics (xdrhook_endpoint_up) and logs
	// show them: from the environment, "<redacted: from TEMPLATE>";
	// otherwise without the query.
	URLLabels []string
	// Auth authenticates every request (destinations.*.auth); nil: none.
	Auth *Auth

	rawURLs []string
}

// Header is one configured request header.
type Header struct {
	Name, Value string
	// FromEnv is set when Value came from ${VAR}: never log it.
	FromEnv bool
}

// Retry is destinations.*.retry. Every attempt happens inside the reply
// deadline: when it passes, the record is answered 11 and XDR retries.
type Retry struct {
	// MaxAttempts counts the first try. Default 3.
	MaxAttempts int
	// InitialBackoff default 50 ms, doubled per attempt up to MaxBackoff
	// (default 1000 ms).
	InitialBackoff, MaxBackoff time.Duration
}

// ClientTLS is destinations.*.tls (PEM files).
type ClientTLS struct {
	// CAFile replaces the system roots when set.
	CAFile string
	// CertFile and KeyFile: a client certificate (both or neither).
	CertFile, KeyFile string
	// ServerName overrides the name verified (default: the URL's host).
	ServerName string
	// InsecureSkipVerify needs AllowInsecure.
	InsecureSkipVerify bool
	// TrustStore (ESP's tls.trust-store) replaces CAFile; KeyStore (tls.
	// key-store) replaces CertFile and KeyFile. Java stores, read at load.
	TrustStore, KeyStore *KeyStore
	// Protocols (TLSv1.2, TLSv1.3) bound the versions offered; CipherSuites
	// (IANA/JSSE names) the TLS 1.2 suites. Empty: Go's defaults.
	Protocols, CipherSuites []string
}

// IsZero reports whether nothing is set.
func (t ClientTLS) IsZero() bool {
	return t.CAFile == "" && t.CertFile == "" && t.KeyFile == "" && t.ServerName == "" && !t.InsecureSkipVerify &&
		t.TrustStore == nil && t.KeyStore == nil && len(t.Protocols) == 0 && len(t.CipherSuites) == 0
}

// RoutingMode is routing.mode.
type RoutingMode string

const (
	RouteStatic      RoutingMode = "static"
	RouteStaticMulti RoutingMode = "static-multi-destination"
	RouteSkip        RoutingMode = "skip"
	RouteNamespace   RoutingMode = "namespace"
	RouteSet         RoutingMode = "set"
	RouteBin         RoutingMode = "bin"
	// RouteExpression sends a record to the destinations its expression
	// names (config/expression.go).
	RouteExpression RoutingMode = "expression"
)

// Routing is a resolved routing section.
type Routing struct {
	Mode RoutingMode
	// Destinations: static (one), static-multi-destination (several). Nil
	// for the other modes.
	Destinations []*Destination
	// Bin names the bin whose string value names the destination (bin mode).
	Bin string
	// Default is the destination named "default", for namespace, set and
	// bin modes; nil if none is defined: then a record whose value names no
	// destination is skipped (answered 0 and counted as skipped-no-route),
	// as ESP skips a record without a route.
	Default *Destination
	// Expression returns the destination names (expression mode).
	Expression *expression.Program

	byName map[string]*Destination
	path   string
	raw    *rawRouting
}

// Lookup returns the destination for a record in namespace, set or bin
// mode: the one named like value (the namespace, the set, or the bin's
// string value), else Default, else nil (skip). It allocates nothing. In bin
// mode, a record without the bin or whose bin is not a string, and every
// delete (deletes carry no bins), go to Default.
func (r *Routing) Lookup(value []byte) *Destination {
	if d := r.byName[string(value)]; d != nil {
		return d
	}
	return r.Default
}

// Route returns the destination of m in namespace, set or bin mode (Lookup
// on the namespace, the set or the bin's string value), nil when nothing
// is named and there is no default, and nil in the other modes. It
// allocates nothing: the dataplane's router calls it per record.
func (r *Routing) Route(m *wire.Message) *Destination {
	switch r.Mode {
	case RouteNamespace:
		return r.Lookup(m.Namespace)
	case RouteSet:
		return r.Lookup(m.Set)
	case RouteBin:
		// A delete has no bins: it goes to the default.
		for i := range m.Bins {
			b := &m.Bins[i]
			if b.Type == wire.ParticleString && string(b.Name) == r.Bin {
				return r.Lookup(b.Value)
			}
		}
		return r.Default
	}
	return nil
}

// FormatMode is format.mode.
type FormatMode string

const (
	FormatJSON        FormatMode = "json"
	FormatFlatJSON    FormatMode = "flat-json"
	FormatMessagePack FormatMode = "message-pack"
	FormatAvro        FormatMode = "avro"
)

// Framing is format.framing (output-formats.md).
type Framing string

const (
	FramingNDJSON       Framing = "ndjson"
	FramingJSONArray    Framing = "json-array"
	FramingESBulk       Framing = "es-bulk"
	FramingSplunkHEC    Framing = "splunk-hec"
	FramingMsgPackArray Framing = "msgpack-array"
	FramingAvroOCF      Framing = "avro-ocf"
)

// Protocol reports whether the framing is the destination's protocol rather
// than a container of messages: es-bulk (an Elasticsearch _bulk body) and
// splunk-hec (HEC events). Their bodies keep the framing with one record
// when batching is off; the other framings then send the message alone.
func (f Framing) Protocol() bool { return f == FramingESBulk || f == FramingSplunkHEC }

// Format is a resolved format section.
type Format struct {
	// Mode default json.
	Mode FormatMode
	// Framing joins the messages of a batch. Default: ndjson for json and
	// flat-json, msgpack-array for message-pack, avro-ocf for avro. json and
	// flat-json also take json-array, es-bulk and splunk-hec (whose
	// documents are always flat-json, whatever the mode); message-pack and
	// avro take only their own.
	Framing Framing
	// MetadataKey names the metadata object of flat-json documents (also in
	// es-bulk and splunk-hec). Default "metadata".
	MetadataKey string
	// Schema is the Avro user schema text (format.schema, or the content of
	// format.schema-file read at load); empty means the built-in schema.
	Schema string
	// SchemaFile is where Schema was read from, if anywhere.
	SchemaFile string
	// IndexTemplate names the es-bulk index: {set} (the set, else the
	// namespace) and {namespace}. Default "{set}".
	IndexTemplate string
	// OmitDeletes leaves deletes out of es-bulk bodies (answered 0, counted
	// as skipped) for stores that reject delete actions. Default false.
	OmitDeletes bool
	// DocID is the es-bulk _id: digest (default), user-key or bin (then
	// DocIDBin names the bin). A record without it gets the hex digest.
	DocID    DocID
	DocIDBin string
	// WriteOperation is the es-bulk action of writes. Default auto.
	WriteOperation WriteOperation
	// Versioning lut makes es-bulk index and delete actions carry the LUT
	// as an external_gte version. Default none.
	Versioning Versioning
	// Pipeline and Refresh are the ?pipeline= and ?refresh= query
	// parameters of es-bulk requests; "" leaves them out. Every es-bulk
	// profile that can route to a destination must agree on them (a load
	// error otherwise): they go on that destination's URL (ESQuery).
	Pipeline, Refresh string
	// Splunk HEC event fields, written when set (splunk-hec framing).
	SplunkSource, SplunkSourceType, SplunkIndex string

	path       string
	raw        *rawFormat
	framingSet bool // framing written in the file, not the default
}

// DocID is format.doc-id: where an es-bulk _id comes from.
type DocID string

// DocID values; "bin:NAME" resolves to DocIDBin and Format.DocIDBin.
const (
	DocIDDigest  DocID = "digest"
	DocIDUserKey DocID = "user-key"
	DocIDBin     DocID = "bin"
)

// WriteOperation is format.write-operation.
type WriteOperation string

// WriteOperation values.
const (
	WriteAuto   WriteOperation = "auto"
	WriteIndex  WriteOperation = "index"
	WriteCreate WriteOperation = "create"
	WriteUpdate WriteOperation = "update"
)

// Versioning is format.versioning.
type Versioning string

// Versioning values.
const (
	VersioningNone Versioning = "none"
	VersioningLUT  Versioning = "lut"
)

// ESQuery is the query string (without '?') of es-bulk requests under
// this format: pipeline and refresh, when set; "" for other framings.
func (f *Format) ESQuery() string {
	if f.Framing != FramingESBulk {
		return ""
	}
	q := url.Values{}
	if f.Pipeline != "" {
		q.Set("pipeline", f.Pipeline)
	}
	if f.Refresh != "" {
		q.Set("refresh", f.Refresh)
	}
	return q.Encode()
}

// Batching is a resolved batching section.
type Batching struct {
	// Enabled: false (the default when the section is absent) sends one
	// record per request; a batching section without `enabled` turns it on,
	// as in ESP.
	Enabled bool
	// A batch is sent at MaxRecords records (default 500), at MaxBytes
	// encoded bytes (default 1 MiB; checked before adding a record, so a
	// single larger record still goes alone), or Interval after its first
	// record (default 50 ms), whichever comes first. Larger batches cost
	// latency and memory (MaxInFlight × MaxBytes per destination) and gain
	// throughput; Interval must stay well below the reply deadline.
	MaxRecords int
	MaxBytes   int
	Interval   time.Duration

	path   string
	raw    *rawBatching
	absent bool // no batching section: off by default
}

// BinTransforms is a resolved bin-transforms section, in the shape of
// encode.NewTransform(Include, Exclude, Map).
type BinTransforms struct {
	// Include lists the bins kept; nil means all (include.type: all).
	Include []string
	// Exclude lists bins dropped (exclude.type: specified); nil for none.
	Exclude []string
	// Map renames bins: old name → new name.
	Map map[string]string

	// NameTransforms are ESP's transforms (uppercase, lowercase), applied
	// in order to the names of bins Map does not rename.
	NameTransforms []string

	path string
	raw  *rawBinTransforms
}

// Identity reports whether the transforms keep every bin under its name.
func (b *BinTransforms) Identity() bool {
	return b.Include == nil && len(b.Exclude) == 0 && len(b.Map) == 0 && len(b.NameTransforms) == 0
}

// RecordOrdering is record-ordering: drop a record older (by LUT) than one
// already sent for the same digest.
type RecordOrdering struct {
	// Enable default false. On, it costs a cache entry per recent digest
	// (memory) and a lookup per record.
	Enable bool
	// LUTCacheTTL keeps a digest's last LUT that long (lut-cache-ttl-seconds,
	// in seconds). Default 30 s.
	LUTCacheTTL time.Duration

	path string
	raw  *rawRecordOrdering
}

// NamespaceOverride is namespaces.NAME: sections that replace the top-level
// ones for the namespace (a nil section inherits), and per-set overrides.
type NamespaceOverride struct {
	Override
	// RecordOrdering may be overridden per namespace (as in ESP), not per
	// set.
	RecordOrdering *RecordOrdering
	Sets           map[string]*Override
}

// Override is what a namespace or a set may replace. A section replaces the
// one it overrides whole (as ESP does): keys it does not write take their
// defaults, not the values of the section above.
type Override struct {
	Routing          *Routing
	Format           *Format
	Batching         *Batching
	BinTransforms    *BinTransforms
	Filter           *Filter
	Transform        *Transform
	ExpressionErrors *ExpressionErrors
}

// empty reports whether the override replaces nothing.
func (o Override) empty() bool {
	return o.Routing == nil && o.Format == nil && o.Batching == nil && o.BinTransforms == nil &&
		o.Filter == nil && o.Transform == nil && o.ExpressionErrors == nil
}

// Logging is the logging section.
type Logging struct {
	// Level debug | info | warn | error; default info.
	Level string
	// Format text | json; default text. Logs go to stderr.
	Format string
}

// SlogLevel returns Level as a slog.Level.
func (l Logging) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}
