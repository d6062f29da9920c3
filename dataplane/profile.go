package dataplane

import (
	"time"

	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/expression"
)

// Profile is how the records of one (namespace, set) are encoded and
// batched: the format, framing, bin-transforms and batching of the
// configuration after per-namespace and per-set overrides.
type Profile struct {
	ID int // index into Options.Profiles

	// NewFramer builds a framer for batch bodies (batching on).
	NewFramer func() encode.Framer
	// NewEncoder builds the encoder of single-message bodies (batching off).
	NewEncoder func() encode.Encoder
	// FrameOne keeps the framing with batching off: each body is a framer's
	// body of one record (es-bulk, splunk-hec: the framing is the
	// destination's protocol, not a container). NewEncoder is then unused.
	FrameOne bool

	// Ordering enables record-ordering (the engine's LUT cache) for the
	// records of this profile.
	Ordering bool

	Batching   bool
	MaxRecords int
	MaxBytes   int
	Interval   time.Duration

	// Logic is the profile's filter, route expression and transform
	// (nil: none), run before encoding (dataplane/expression.go).
	// RouteNames resolves the names a route expression returns;
	// RouteDefault is where a record goes when the route expression fails
	// under expression-errors: pass (the destination named "default", or
	// none: skipped).
	Logic        *expression.Logic
	RouteNames   map[string]*Destination
	RouteDefault []*Destination
	// Ext names the framing of batch bodies as a file extension (ndjson,
	// json, msgpack, avro): DestinationOptions.Key's ext.
	Ext string
}
