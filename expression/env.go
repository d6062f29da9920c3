package expression

import (
	"reflect"
	"unsafe"
)

// Env declares what an expression can read, with the types the checker
// holds it to. It is never filled: at run time a values struct with the same
// fields in the same order (checked by a test) stands in for it, each field
// an interface holding exactly the declared type. expr reads a struct
// field through reflection, and reading an interface field hands back the
// interface as it is, where reading a string or an int field would box a
// copy (an allocation per field per record).
type Env struct {
	// Msg is "write" or "delete".
	Msg       string `expr:"msg"`
	Namespace string `expr:"namespace"`
	// Set is "" when the record has none.
	Set string `expr:"set"`
	// Digest is the record digest in lower-case hex (40 characters).
	Digest string `expr:"digest"`
	// UserKey is the stored key: int, float, string, bytes, or nil.
	UserKey any `expr:"userKey"`
	Gen     int `expr:"gen"`
	// LUT is the last-update time in Unix milliseconds (0 if absent).
	LUT int `expr:"lut"`
	// Exp is the expiry in Unix seconds, 0 = never (and on deletes).
	Exp     int  `expr:"exp"`
	Partial bool `expr:"partial"`
	Durable bool `expr:"durable"`
	// Now is now() (Unix ms): compile rewrites the call into this field,
	// read once per record, so every program of a record sees the same
	// time and none allocates for it.
	Now int `expr:"$now"`
	// Bins maps the record's bins to Go values: int, float64, string,
	// []byte (blobs, and the particle types without a Go value: HLL,
	// language blobs, vectors), bool, list ([]any), map (map[string]any, or
	// map[any]any when a key is not a string), GeoJSON (its JSON parsed);
	// a bin the record lacks, or deleted in a partial update, is nil.
	Bins map[string]any `expr:"bins"`

	// The bins a program names (bins.x, bins["x"]) are read from these
	// fields instead of from Bins: compile rewrites the i-th name into
	// $bin<i>. Reading a map value through reflection copies it out (an
	// allocation); reading an interface field does not.
	B00 any `expr:"$bin0"`
	B01 any `expr:"$bin1"`
	B02 any `expr:"$bin2"`
	B03 any `expr:"$bin3"`
	B04 any `expr:"$bin4"`
	B05 any `expr:"$bin5"`
	B06 any `expr:"$bin6"`
	B07 any `expr:"$bin7"`
	B08 any `expr:"$bin8"`
	B09 any `expr:"$bin9"`
	B10 any `expr:"$bin10"`
	B11 any `expr:"$bin11"`
	B12 any `expr:"$bin12"`
	B13 any `expr:"$bin13"`
	B14 any `expr:"$bin14"`
	B15 any `expr:"$bin15"`
	B16 any `expr:"$bin16"`
	B17 any `expr:"$bin17"`
	B18 any `expr:"$bin18"`
	B19 any `expr:"$bin19"`
	B20 any `expr:"$bin20"`
	B21 any `expr:"$bin21"`
	B22 any `expr:"$bin22"`
	B23 any `expr:"$bin23"`
	B24 any `expr:"$bin24"`
	B25 any `expr:"$bin25"`
	B26 any `expr:"$bin26"`
	B27 any `expr:"$bin27"`
	B28 any `expr:"$bin28"`
	B29 any `expr:"$bin29"`
	B30 any `expr:"$bin30"`
	B31 any `expr:"$bin31"`
}

// values is Env at run time: field i holds the value of Env's field i.
type values struct {
	Msg       any
	Namespace any
	Set       any
	Digest    any
	UserKey   any
	Gen       any
	LUT       any
	Exp       any
	Partial   any
	Durable   any
	Now       any
	Bins      map[string]any
	B00       any
	B01       any
	B02       any
	B03       any
	B04       any
	B05       any
	B06       any
	B07       any
	B08       any
	B09       any
	B10       any
	B11       any
	B12       any
	B13       any
	B14       any
	B15       any
	B16       any
	B17       any
	B18       any
	B19       any
	B20       any
	B21       any
	B22       any
	B23       any
	B24       any
	B25       any
	B26       any
	B27       any
	B28       any
	B29       any
	B30       any
	B31       any
}

// field is one bit per Env field, for the fields a program reads.
type field uint16

const (
	fMsg field = 1 << iota
	fNamespace
	fSet
	fDigest
	fUserKey
	fGen
	fLUT
	fExp
	fPartial
	fDurable
	fNow
	fBins
)

// maxNamed is the number of $bin fields: the bins a program can read
// without a map lookup. Names past it are read from Bins.
const maxNamed = 32

func (f field) index() int {
	i := 0
	for f > 1 {
		f >>= 1
		i++
	}
	return i
}

// named returns the field of the j-th named bin.
func (v *values) named(j int) *any {
	return &(*[maxNamed]any)(unsafe.Pointer(&v.B00))[j]
}

// fieldOf maps the names of Env (its expr tags) to their bits.
var fieldOf = func() map[string]field {
	m := map[string]field{}
	t := reflect.TypeOf(Env{})
	for i := 0; i == 0 || t.Field(i-1).Tag.Get("expr") != "bins"; i++ { // through Bins
		m[t.Field(i).Tag.Get("expr")] = field(1) << i
	}
	return m
}()

// Names lists the names of the environment, for messages and docs.
func Names() []string {
	t := reflect.TypeOf(Env{})
	out := make([]string, t.NumField())
	out = out[:0]
	for i := 0; i < t.NumField(); i++ {
		if tag := t.Field(i).Tag.Get("expr"); tag[0] != '$' {
			out = append(out, tag)
		}
	}
	return append(out, "now()")
}

// box is a value of type T behind an interface that is updated in place:
// set stores a new value without boxing it again, so a record's metadata and
// scalar bins reach expr with no allocation. The interface's data word
// points at v (as Go's own boxing of a non-pointer value does), so a value
// read from it is the last one set: a Runner sets each box once per record,
// before running programs, and nothing keeps the interface past the record.
type box[T any] struct {
	v T
	i any
}

// eface is the layout of an empty interface: type word, data word.
type eface struct {
	typ, data unsafe.Pointer
}

func newBox[T any]() *box[T] {
	b := &box[T]{}
	var zero T
	b.i = zero // the type word of T; the data word is replaced below
	(*eface)(unsafe.Pointer(&b.i)).data = unsafe.Pointer(&b.v)
	return b
}

// set stores v and returns the interface holding it.
func (b *box[T]) set(v T) any {
	b.v = v
	return b.i
}

// view returns a string sharing p's bytes: valid while p is, and p must not
// change while the string is in use (a record's frame, during evaluation).
func view(p []byte) string {
	if len(p) == 0 {
		return ""
	}
	return unsafe.String(&p[0], len(p))
}
