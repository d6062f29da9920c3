package config

import (
	"fmt"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// The raw* types mirror the YAML file key for key (ESP key names). Every
// leaf is a pointer or a nil-able slice so that "absent" differs from a zero
// value. resolve fills the absent leaves with their defaults in place, so the
// filled tree is also what `xdrhook check` prints: a complete config that
// loads again to the same result.

type rawConfig struct {
	Service        *rawService                `yaml:"service,omitempty"`
	Destinations   map[string]*rawDestination `yaml:"destinations,omitempty"`
	Routing        *rawRouting                `yaml:"routing,omitempty"`
	Format         *rawFormat                 `yaml:"format,omitempty"`
	Batching       *rawBatching               `yaml:"batching,omitempty"`
	BinTransforms  *rawBinTransforms          `yaml:"bin-transforms,omitempty"`
	Filter         *exprText                  `yaml:"filter,omitempty"`
	Transform      *rawTransform              `yaml:"transform,omitempty"`
	ExprErrors     *string                    `yaml:"expression-errors,omitempty"`
	Namespaces     map[string]*rawNamespace   `yaml:"namespaces,omitempty"`
	RecordOrdering *rawRecordOrdering         `yaml:"record-ordering,omitempty"`
	Logging        *rawLogging                `yaml:"logging,omitempty"`

	// port-based-config: the sections per listener port (ports.go).
	PortBasedConfig map[string]*rawPortConfig `yaml:"port-based-config,omitempty"`
}

type rawService struct {
	Port                 portList      `yaml:"port,omitempty"`
	Address              *string       `yaml:"address,omitempty"`
	TLS                  *rawServerTLS `yaml:"tls,omitempty"`
	Manage               *rawManage    `yaml:"manage,omitempty"`
	MaxConcurrentRecords *int          `yaml:"max-concurrent-records,omitempty"`
	MaxFrameBytes        *int          `yaml:"max-frame-bytes,omitempty"`
	ReplyDeadline        *int          `yaml:"reply-deadline,omitempty"`
	ReplyHold            *int          `yaml:"reply-hold,omitempty"`
	MaxConnections       *int          `yaml:"max-connections,omitempty"`
	IOThreads            *int          `yaml:"io-threads,omitempty"`
	// ESP keys: protocol TCP (mapped), cluster-name (a metric label).
	Protocol    *string `yaml:"protocol,omitempty"`
	ClusterName *string `yaml:"cluster-name,omitempty"`
	// ESP: SO_RCVBUF of the XDR sockets.
	SocketReceiveBufferBytes *int `yaml:"socket-receive-buffer-bytes,omitempty"`
}

type rawServerTLS struct {
	Port             *int       `yaml:"port,omitempty"`
	CertFile         *string    `yaml:"cert-file,omitempty"`
	KeyFile          *string    `yaml:"key-file,omitempty"`
	ClientCAFile     *string    `yaml:"client-ca-file,omitempty"`
	KeyStore         *rawStore  `yaml:"key-store,omitempty"`
	TrustStore       *rawStore  `yaml:"trust-store,omitempty"`
	AllowedPeerNames stringList `yaml:"allowed-peer-names,omitempty"`
	Protocols        stringList `yaml:"protocols,omitempty"`
	CipherSuites     stringList `yaml:"cipher-suites,omitempty"`
}

// rawStore is ESP's Java key store: tls.key-store and tls.trust-store.
type rawStore struct {
	StoreFile         *string `yaml:"store-file,omitempty"`
	StorePasswordFile *string `yaml:"store-password-file,omitempty"`
	StorePassword     *string `yaml:"store-password,omitempty"`
	KeyPasswordFile   *string `yaml:"key-password-file,omitempty"`
	StoreType         *string `yaml:"store-type,omitempty"`
}

type rawManage struct {
	Address *string `yaml:"address,omitempty"`
	Port    *int    `yaml:"port,omitempty"`
}

type rawDestination struct {
	URLs                      stringList    `yaml:"urls,omitempty"`
	Protocol                  *string       `yaml:"protocol,omitempty"`
	MaxConnectionsPerEndpoint *int          `yaml:"max-connections-per-endpoint,omitempty"`
	MaxInFlight               *int          `yaml:"max-in-flight,omitempty"`
	HTTP2MaxConcurrentStreams *int          `yaml:"http2-max-concurrent-streams,omitempty"`
	ConnectTimeout            *int          `yaml:"connect-timeout,omitempty"`
	CallTimeout               *int          `yaml:"call-timeout,omitempty"`
	IdleConnectionTimeout     *int          `yaml:"idle-connection-timeout,omitempty"`
	HTTP2ReadIdleTimeout      *int          `yaml:"http2-read-idle-timeout,omitempty"`
	HTTP2PingTimeout          *int          `yaml:"http2-ping-timeout,omitempty"`
	HTTP1Pipelining           *bool         `yaml:"http1-pipelining,omitempty"`
	Method                    *string       `yaml:"method,omitempty"`
	Path                      *string       `yaml:"path,omitempty"`
	Headers                   orderedMap    `yaml:"headers,omitempty"`
	Request                   *rawRequest   `yaml:"request,omitempty"`
	SuccessStatusCodes        statusList    `yaml:"http-success-status-codes,omitempty"`
	PermanentFailureCodes     statusList    `yaml:"permanent-failure-status-codes,omitempty"`
	Compression               *string       `yaml:"compression,omitempty"`
	CompressionThreshold      *int          `yaml:"compression-threshold,omitempty"`
	Retry                     *rawRetry     `yaml:"retry,omitempty"`
	TLS                       *rawClientTLS `yaml:"tls,omitempty"`
	AllowInsecure             *bool         `yaml:"allow-insecure,omitempty"`

	// ESP keys of the connection pool (connttl.go, healthcheck.go).
	ConnectionTTL *int            `yaml:"connection-ttl,omitempty"`
	HealthCheck   *rawHealthCheck `yaml:"health-check,omitempty"`

	// ESP's request queue bound (esp.go).
	MaxRequestQueuedPerEndpoint *int     `yaml:"max-request-queued-per-endpoint,omitempty"`
	Auth                        *rawAuth `yaml:"auth,omitempty"`
	rawS3                       `yaml:",inline"`
}

// rawRequest is destinations.*.request: per-record request shaping.
type rawRequest struct {
	Write   *rawRequestOp `yaml:"write,omitempty"`
	Delete  *rawRequestOp `yaml:"delete,omitempty"`
	Query   *string       `yaml:"query,omitempty"`
	Headers orderedMap    `yaml:"headers,omitempty"`
	Missing *string       `yaml:"missing,omitempty"`
}

type rawRequestOp struct {
	Method *string `yaml:"method,omitempty"`
	Path   *string `yaml:"path,omitempty"`
	Body   *bool   `yaml:"body,omitempty"`
}

type rawRetry struct {
	MaxAttempts    *int `yaml:"max-attempts,omitempty"`
	InitialBackoff *int `yaml:"initial-backoff,omitempty"`
	MaxBackoff     *int `yaml:"max-backoff,omitempty"`
}

type rawClientTLS struct {
	CAFile             *string    `yaml:"ca-file,omitempty"`
	CertFile           *string    `yaml:"cert-file,omitempty"`
	KeyFile            *string    `yaml:"key-file,omitempty"`
	ServerName         *string    `yaml:"server-name,omitempty"`
	InsecureSkipVerify *bool      `yaml:"insecure-skip-verify,omitempty"`
	KeyStore           *rawStore  `yaml:"key-store,omitempty"`
	TrustStore         *rawStore  `yaml:"trust-store,omitempty"`
	Protocols          stringList `yaml:"protocols,omitempty"`
	CipherSuites       stringList `yaml:"cipher-suites,omitempty"`
}

type rawRouting struct {
	Mode         *string    `yaml:"mode,omitempty"`
	Destination  *string    `yaml:"destination,omitempty"`
	Destinations stringList `yaml:"destinations,omitempty"`
	Bin          *string    `yaml:"bin,omitempty"`
	Expression   *exprText  `yaml:"expression,omitempty"`
}

type rawFormat struct {
	Mode             *string `yaml:"mode,omitempty"`
	MetadataKey      *string `yaml:"metadata-key,omitempty"`
	Framing          *string `yaml:"framing,omitempty"`
	Schema           *string `yaml:"schema,omitempty"`
	SchemaFile       *string `yaml:"schema-file,omitempty"`
	IndexTemplate    *string `yaml:"index-template,omitempty"`
	OmitDeletes      *bool   `yaml:"omit-deletes,omitempty"`
	DocID            *string `yaml:"doc-id,omitempty"`
	WriteOperation   *string `yaml:"write-operation,omitempty"`
	Versioning       *string `yaml:"versioning,omitempty"`
	Pipeline         *string `yaml:"pipeline,omitempty"`
	Refresh          *string `yaml:"refresh,omitempty"`
	SplunkSource     *string `yaml:"splunk-source,omitempty"`
	SplunkSourceType *string `yaml:"splunk-sourcetype,omitempty"`
	SplunkIndex      *string `yaml:"splunk-index,omitempty"`
	// ESP's: only true, what xdrhook always does (esp.go).
	StringifyMapKeys *bool `yaml:"stringify-map-keys,omitempty"`
}

type rawBatching struct {
	Enabled       *bool `yaml:"enabled,omitempty"`
	MaxRecords    *int  `yaml:"max-records,omitempty"`
	MaxBytes      *int  `yaml:"max-bytes,omitempty"`
	BatchInterval *int  `yaml:"batch-interval,omitempty"`
}

type rawBinTransforms struct {
	Include *rawBinSelect `yaml:"include,omitempty"`
	Exclude *rawBinSelect `yaml:"exclude,omitempty"`
	Map     orderedMap    `yaml:"map,omitempty"`
	// ESP's name transforms (esp.go): uppercase, lowercase.
	Transforms stringList `yaml:"transforms,omitempty"`
}

type rawBinSelect struct {
	Type *string    `yaml:"type,omitempty"`
	Bins stringList `yaml:"bins,omitempty"`
}

// rawOverride is what a set may override.
type rawOverride struct {
	Routing       *rawRouting       `yaml:"routing,omitempty"`
	Format        *rawFormat        `yaml:"format,omitempty"`
	Batching      *rawBatching      `yaml:"batching,omitempty"`
	BinTransforms *rawBinTransforms `yaml:"bin-transforms,omitempty"`
	Filter        *exprText         `yaml:"filter,omitempty"`
	Transform     *rawTransform     `yaml:"transform,omitempty"`
	ExprErrors    *string           `yaml:"expression-errors,omitempty"`
}

// rawNamespace is what a namespace may override: the set sections, plus
// record-ordering (as in ESP), plus per-set overrides.
type rawNamespace struct {
	rawOverride    `yaml:",inline"`
	RecordOrdering *rawRecordOrdering      `yaml:"record-ordering,omitempty"`
	Sets           map[string]*rawOverride `yaml:"sets,omitempty"`
}

type rawRecordOrdering struct {
	Enable             *bool `yaml:"enable,omitempty"`
	LUTCacheTTLSeconds *int  `yaml:"lut-cache-ttl-seconds,omitempty"`
}

type rawLogging struct {
	Level  *string `yaml:"level,omitempty"`
	Format *string `yaml:"format,omitempty"`
}

// portList is service.port: an int or a list of ints. It prints in the form
// it was written in.
type portList struct {
	ports  []int
	isList bool
	set    bool
}

func (p *portList) UnmarshalYAML(n *yaml.Node) error {
	p.set = true
	if n.Kind == yaml.SequenceNode {
		p.isList = true
		p.ports = make([]int, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := strconv.ParseInt(c.Value, 0, 64)
			if err != nil {
				return fmt.Errorf("line %d: port %q is not an integer", c.Line, c.Value)
			}
			p.ports = append(p.ports, int(v))
		}
		return nil
	}
	v, err := strconv.ParseInt(n.Value, 0, 64)
	if err != nil {
		return fmt.Errorf("line %d: port %q is not an integer", n.Line, n.Value)
	}
	p.ports = []int{int(v)}
	return nil
}

func (p portList) MarshalYAML() (any, error) {
	if !p.isList && len(p.ports) == 1 {
		return p.ports[0], nil
	}
	if p.ports == nil {
		return []int{}, nil
	}
	return p.ports, nil
}

func (p portList) IsZero() bool { return !p.set }

// stringList is a string or a list of strings (ESP accepts
// `destinations: name` as well as a list).
type stringList struct {
	items []string
	set   bool
}

func (s *stringList) UnmarshalYAML(n *yaml.Node) error {
	s.set = true
	if n.Kind == yaml.SequenceNode {
		s.items = make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			s.items = append(s.items, c.Value)
		}
		return nil
	}
	s.items = []string{n.Value}
	return nil
}

func (s stringList) MarshalYAML() (any, error) {
	if s.items == nil {
		return []string{}, nil
	}
	return s.items, nil
}

func (s stringList) IsZero() bool { return !s.set }

// statusList is a list of status codes (ints) and ranges ("200-299"); a
// single item may stand alone. Items keep their text; resolve parses them.
type statusList struct {
	items []*yaml.Node
	set   bool
}

func (s *statusList) UnmarshalYAML(n *yaml.Node) error {
	s.set = true
	if n.Kind == yaml.SequenceNode {
		s.items = make([]*yaml.Node, 0, len(n.Content))
		for _, c := range n.Content {
			s.items = append(s.items, &yaml.Node{Kind: yaml.ScalarNode, Tag: c.ShortTag(), Value: c.Value})
		}
		return nil
	}
	s.items = []*yaml.Node{{Kind: yaml.ScalarNode, Tag: n.ShortTag(), Value: n.Value}}
	return nil
}

func (s statusList) MarshalYAML() (any, error) {
	seq := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle, Tag: "!!seq"}
	for _, it := range s.items {
		c := *it
		if c.Tag != "!!int" {
			c.Tag = "!!str"
			c.Style = yaml.DoubleQuotedStyle
		}
		seq.Content = append(seq.Content, &c)
	}
	return seq, nil
}

func (s statusList) IsZero() bool { return !s.set }

// orderedMap is a mapping of strings kept in declaration order (headers,
// bin-transforms.map).
type orderedMap struct {
	kvs []kv
	set bool
}

type kv struct{ k, v string }

func (m *orderedMap) UnmarshalYAML(n *yaml.Node) error {
	m.set = true
	m.kvs = make([]kv, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		if k.Value == "static" && v != nil && v.Kind == yaml.MappingNode {
			// ESP's headers: {static: {Name: value}} (esp.go).
			for j := 0; j+1 < len(v.Content); j += 2 {
				m.kvs = append(m.kvs, kv{v.Content[j].Value, v.Content[j+1].Value})
			}
			continue
		}
		m.kvs = append(m.kvs, kv{k.Value, n.Content[i+1].Value})
	}
	return nil
}

func (m orderedMap) MarshalYAML() (any, error) {
	mp := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for _, e := range m.kvs {
		k := &yaml.Node{}
		k.SetString(e.k)
		v := &yaml.Node{}
		v.SetString(e.v)
		mp.Content = append(mp.Content, k, v)
	}
	return mp, nil
}

func (m orderedMap) IsZero() bool { return !m.set }
