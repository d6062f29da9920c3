package sink

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
)

// Kind is the kind of a message: write or delete.
type Kind uint8

const (
	KindUnknown Kind = 0
	KindWrite   Kind = 1
	KindDelete  Kind = 2
)

func (k Kind) String() string {
	switch k {
	case KindWrite:
		return "write"
	case KindDelete:
		return "delete"
	}
	return ""
}

func kindOf(s string) Kind {
	switch s {
	case "write":
		return KindWrite
	case "delete":
		return KindDelete
	}
	return KindUnknown
}

// LUTUnknown is the LUT of an id whose message does not carry it (an
// es-bulk delete action has only the index and the hex digest). Such an id
// has namespace "" and matches any namespace and LUT of its digest.
const LUTUnknown = -1

// ID identifies one delivered message: namespace, digest and LUT (Unix ms).
type ID struct {
	Namespace string
	Digest    [20]byte
	LUT       int64
	Kind      Kind
}

func (id ID) String() string {
	return fmt.Sprintf("%s/%x/%d", id.Namespace, id.Digest, id.LUT)
}

type idKey struct {
	ns     uint32
	digest [20]byte
	lut    int64
}

type idVal struct {
	count   uint32
	kind    Kind
	checked bool
}

// IDSet is the set of ids a sink received, with how many times each came.
// It holds at most Max distinct ids (then Truncated). Safe for concurrent use.
type IDSet struct {
	mu        sync.Mutex
	nsIdx     map[string]uint32
	ns        []string
	m         map[idKey]idVal
	max       int
	truncated bool
	adds      int64
	dups      int64
}

// NewIDSet returns an empty set bounded to max distinct ids (0 = no bound).
func NewIDSet(max int) *IDSet {
	return &IDSet{nsIdx: map[string]uint32{}, m: map[idKey]idVal{}, max: max}
}

func (s *IDSet) nsIndex(ns string) uint32 {
	i, ok := s.nsIdx[ns]
	if !ok {
		i = uint32(len(s.ns))
		s.nsIdx[ns] = i
		s.ns = append(s.ns, ns)
	}
	return i
}

// Add counts one more delivery of each id.
func (s *IDSet) Add(ids ...ID) {
	s.mu.Lock()
	for i := range ids {
		s.addLocked(&ids[i], 1)
	}
	s.mu.Unlock()
}

func (s *IDSet) addLocked(id *ID, n uint32) {
	k := idKey{ns: s.nsIndex(id.Namespace), digest: id.Digest, lut: id.LUT}
	s.adds += int64(n)
	v, ok := s.m[k]
	if ok {
		s.dups += int64(n)
	} else {
		if s.max > 0 && len(s.m) >= s.max {
			s.truncated = true
			return
		}
		s.dups += int64(n) - 1
	}
	v.count += n
	if id.Kind != KindUnknown {
		v.kind = id.Kind
	}
	s.m[k] = v
}

// Len is the number of distinct ids.
func (s *IDSet) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// Duplicates is how many deliveries repeated an id already there.
func (s *IDSet) Duplicates() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dups
}

// Truncated reports whether ids were dropped for the bound.
func (s *IDSet) Truncated() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.truncated
}

// Count returns how many times the id was delivered: its exact entry, or
// else a digest-only entry (namespace "", LUTUnknown).
func (s *IDSet) Count(ns string, digest [20]byte, lut int64) uint32 {
	c, _ := s.check(ns, digest, lut, false)
	return c
}

// Check is Count that also marks the entry: first is true the first time
// an entry is checked, so a caller can count each duplicated id once.
func (s *IDSet) Check(ns string, digest [20]byte, lut int64) (count uint32, first bool) {
	return s.check(ns, digest, lut, true)
}

func (s *IDSet) check(ns string, digest [20]byte, lut int64, mark bool) (uint32, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	try := func(k idKey) (uint32, bool, bool) {
		v, ok := s.m[k]
		if !ok {
			return 0, false, false
		}
		first := !v.checked
		if mark && first {
			v.checked = true
			s.m[k] = v
		}
		return v.count, first, true
	}
	if i, ok := s.nsIdx[ns]; ok {
		if c, f, ok := try(idKey{i, digest, lut}); ok {
			return c, f
		}
	}
	if i, ok := s.nsIdx[""]; ok {
		if c, f, ok := try(idKey{i, digest, LUTUnknown}); ok {
			return c, f
		}
	}
	return 0, false
}

// Each calls fn for every id, in a stable order.
func (s *IDSet) Each(fn func(id ID, count uint32)) {
	s.mu.Lock()
	keys := make([]idKey, 0, len(s.m))
	for k := range s.m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.ns != b.ns {
			return a.ns < b.ns
		}
		if c := bytes.Compare(a.digest[:], b.digest[:]); c != 0 {
			return c < 0
		}
		return a.lut < b.lut
	})
	type ent struct {
		id ID
		c  uint32
	}
	ents := make([]ent, len(keys))
	for i, k := range keys {
		v := s.m[k]
		ents[i] = ent{ID{Namespace: s.ns[k.ns], Digest: k.digest, LUT: k.lut, Kind: v.kind}, v.count}
	}
	s.mu.Unlock()
	for _, e := range ents {
		fn(e.id, e.c)
	}
}

// The binary id format served at GET /ids (a compact one):
//
//	"XIDS" 0x01, flags byte (bit 0: truncated),
//	uvarint number of namespaces, each: uvarint length, bytes
//	uvarint number of ids, each: uvarint namespace index, 20-byte digest,
//	  varint LUT (Unix ms, -1 unknown), kind byte (0, 1 write, 2 delete),
//	  uvarint count
var idsMagic = []byte("XIDS\x01")

// WriteBinary writes the set in the binary id format.
func (s *IDSet) WriteBinary(w io.Writer) error {
	s.mu.Lock()
	b := append([]byte(nil), idsMagic...)
	var flags byte
	if s.truncated {
		flags = 1
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(len(s.ns)))
	for _, ns := range s.ns {
		b = binary.AppendUvarint(b, uint64(len(ns)))
		b = append(b, ns...)
	}
	b = binary.AppendUvarint(b, uint64(len(s.m)))
	for k, v := range s.m {
		b = binary.AppendUvarint(b, uint64(k.ns))
		b = append(b, k.digest[:]...)
		b = binary.AppendVarint(b, k.lut)
		b = append(b, byte(v.kind))
		b = binary.AppendUvarint(b, uint64(v.count))
	}
	s.mu.Unlock()
	_, err := w.Write(b)
	return err
}

// idLine is one line of the NDJSON id formats: the sink's store file (one
// line per message received, no count) and GET /ids?format=ndjson.
type idLine struct {
	NS     string `json:"ns"`
	Digest string `json:"digest"`
	LUT    int64  `json:"lut"`
	Msg    string `json:"msg,omitempty"`
	Count  uint32 `json:"count,omitempty"`
}

func (id *ID) line(count uint32) idLine {
	return idLine{NS: id.Namespace, Digest: hex.EncodeToString(id.Digest[:]), LUT: id.LUT, Msg: id.Kind.String(), Count: count}
}

// WriteNDJSON writes the set as NDJSON lines with counts.
func (s *IDSet) WriteNDJSON(w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	var err error
	s.Each(func(id ID, c uint32) {
		if err == nil {
			err = enc.Encode(id.line(c))
		}
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

// ReadIDs reads a set in the binary id format, or NDJSON id lines (a store
// file or GET /ids?format=ndjson).
func ReadIDs(r io.Reader) (*IDSet, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	head, _ := br.Peek(len(idsMagic))
	if bytes.Equal(head, idsMagic) {
		return readBinary(br)
	}
	s := NewIDSet(0)
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		t := bytes.TrimSpace(sc.Bytes())
		if len(t) == 0 {
			continue
		}
		var l idLine
		if err := json.Unmarshal(t, &l); err != nil {
			return nil, fmt.Errorf("ids line %d: %v", line, err)
		}
		d, err := hex.DecodeString(l.Digest)
		if err != nil || len(d) != 20 {
			return nil, fmt.Errorf("ids line %d: digest is not 40 hex digits", line)
		}
		id := ID{Namespace: l.NS, LUT: l.LUT, Kind: kindOf(l.Msg)}
		copy(id.Digest[:], d)
		s.addLocked(&id, max(l.Count, 1))
	}
	return s, sc.Err()
}

func readBinary(br *bufio.Reader) (*IDSet, error) {
	bad := func(what string) (*IDSet, error) { return nil, errors.New("ids: bad binary set: " + what) }
	br.Discard(len(idsMagic))
	flags, err := br.ReadByte()
	if err != nil {
		return bad("no flags")
	}
	s := NewIDSet(0)
	s.truncated = flags&1 != 0
	nns, err := binary.ReadUvarint(br)
	if err != nil || nns > 1<<20 {
		return bad("namespace count")
	}
	for i := uint64(0); i < nns; i++ {
		n, err := binary.ReadUvarint(br)
		if err != nil || n > 1<<10 {
			return bad("namespace length")
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(br, b); err != nil {
			return bad("namespace")
		}
		s.nsIndex(string(b))
	}
	n, err := binary.ReadUvarint(br)
	if err != nil {
		return bad("id count")
	}
	for i := uint64(0); i < n; i++ {
		var k idKey
		ns, err := binary.ReadUvarint(br)
		if err != nil || ns >= uint64(len(s.ns)) {
			return bad("namespace index")
		}
		k.ns = uint32(ns)
		if _, err := io.ReadFull(br, k.digest[:]); err != nil {
			return bad("digest")
		}
		if k.lut, err = binary.ReadVarint(br); err != nil {
			return bad("lut")
		}
		kind, err := br.ReadByte()
		if err != nil {
			return bad("kind")
		}
		c, err := binary.ReadUvarint(br)
		if err != nil || c > 1<<32-1 {
			return bad("count")
		}
		s.m[k] = idVal{count: uint32(c), kind: Kind(kind)}
		s.adds += int64(c)
		s.dups += int64(c) - 1
	}
	return s, nil
}
