package wire

// Result codes a connector answers with (xdr-wire.md §7).
const (
	RCOK             = 0  // delivered or intentionally skipped
	RCNotFound       = 2  // XDR treats as done
	RCParameter      = 4  // abandon: permanent failure or undecodable request
	RCTimeout        = 9  // XDR retries
	RCKeyBusy        = 14 // XDR retries
	RCDeviceOverload = 18 // XDR retries
	RCRetry          = 11 // "server not available": XDR retries
)

// ReplySize is the length of one reply: a frame header and an AS_MSG header
// with no fields or ops.
const ReplySize = HeaderSize + MsgHeaderSize

// AppendReply appends the 30-byte reply carrying result code rc. Many replies
// appended to one buffer go out in one write.
func AppendReply(dst []byte, rc byte) []byte {
	return append(dst,
		Version, TypeMsg, 0, 0, 0, 0, 0, MsgHeaderSize,
		MsgHeaderSize, 0, 0, 0, 0, rc,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
}

// Retried reports whether XDR re-ships a record answered with rc.
func Retried(rc byte) bool {
	switch rc {
	case 8, 9, 11, 14, 18, 80:
		return true
	}
	return false
}

// Done reports whether XDR considers a record answered with rc delivered.
func Done(rc byte) bool { return rc == RCOK || rc == RCNotFound }
