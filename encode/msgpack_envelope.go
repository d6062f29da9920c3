package encode

// The fixed part of a message-pack message, as msgp-generated tuples
// (MessagePack arrays in field order). The generated MarshalMsg methods in
// msgpack_envelope_gen.go write the array headers, the constant version and
// kind, the digest, generation, times and flags; the parts that vary in
// shape (strings held as []byte, the optional set and user key, the bins)
// are the small hand-written types of msgpack.go, which msgp calls through
// their MarshalMsg and Msgsize methods. Regenerate with `go generate ./encode`.

//go:generate go run github.com/tinylib/msgp -file msgpack_envelope.go -o msgpack_envelope_gen.go -io=false -tests=false -unexported

//msgp:tuple mpWrite mpWriteBody mpDelete mpDeleteBody mpKey
//msgp:unmarshal ignore mpWrite mpWriteBody mpDelete mpDeleteBody mpKey

// mpWrite is [1, 1, [key, gen, exp, lut, bins, partial]].
type mpWrite struct {
	Version uint8 // always 1
	Kind    uint8 // 1 = write
	Body    mpWriteBody
}

type mpWriteBody struct {
	Key     mpKey
	Gen     uint32
	Exp     int64 // Unix s, 0 = never
	LUT     int64 // Unix ms
	Bins    mpBins
	Partial bool
}

// mpDelete is [1, 2, [key, flags, gen, lut]].
type mpDelete struct {
	Version uint8 // always 1
	Kind    uint8 // 2 = delete
	Body    mpDeleteBody
}

type mpDeleteBody struct {
	Key   mpKey
	Flags uint8 // 0x01 = durable
	Gen   uint32
	LUT   int64 // Unix ms
}

// mpKey is [namespace, set|nil, digest (bin 20), userKey|nil].
type mpKey struct {
	Namespace mpStr
	Set       mpOptStr
	Digest    mpDigest
	UserKey   mpUserKey
}
