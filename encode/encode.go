// Package encode turns decoded change notifications (wire.Message views)
// into the messages and batch bodies the connector POSTs
// (shared spec: output-formats.md). Every encoder appends to a caller's
// buffer, walks values with wire.CDTReader and allocates nothing per record.
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
