// Package encode turns decoded change notifications (wire.Message views)
// into the messages and batch bodies the connector POSTs
// (shared spec: output-formats.md). Every encoder appends to a caller's
// buffer and allocates nothing per record.
//
// List and map values are MessagePack on the wire. The binary encoders
// (message-pack, avro) transcode them in one pass with the package's own
// element scanner (cdt_scan.go); the JSON formats render the common values
// with that scanner too and fall back to wire.CDTReader tokens for the rest
// (faults, renamed keys, unusual key types), as the user-schema Avro writer
// does for every value. Both walks apply the rules of xdr-wire.md §6, and a
// malformed value fails with a *wire.CDTError either way.
package encode

import "github.com/xdrhook/xdrhook/wire"

// Encoder appends one message for m. nowUnix is the time of receipt in Unix
// seconds (exp = nowUnix + record_ttl). Encoders are not safe for concurrent
// use: keep one per event loop or per batch.
type Encoder interface {
	Append(dst []byte, m *wire.Message, nowUnix int64) ([]byte, error)
	// ContentType is the content type of a body holding one message alone.
	ContentType() string
}

// Framer joins messages into one HTTP body (format.framing). One Framer
// builds one body at a time: Begin, then Append per message, then End.
type Framer interface {
	Begin(dst []byte) []byte
	Append(dst []byte, m *wire.Message, nowUnix int64) ([]byte, error)
	End(dst []byte) []byte
	ContentType() string
}

// Omitter is a Framer that leaves some records out of its bodies on purpose
// (es-bulk's omit-deletes). The dataplane asks before encoding: such a
// record is answered 0 and counted as skipped, and no body carries it.
type Omitter interface {
	Omits(m *wire.Message) bool
}
