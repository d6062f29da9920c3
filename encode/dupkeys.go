package encode

import (
	"hash/maphash"
)

// Duplicate keys.
//
// JSON output never holds two equal names in one object. Since every name is
// written in the canonical spelling of appendEscapedRune, equal names have equal
// bytes, so the check compares the written texts. Each open object keeps its
// names as spans of dst on the stack w.keys; small objects are searched
// linearly with a cheap fingerprint, objects of more than linearKeys
// names switch to an open-addressing table on the stack w.tab. Both stacks
// are per encoder and keep their capacity, so the check allocates nothing in
// steady state.

const (
	linearKeys = 16
	// maxRenames bounds the renames of one name (see uniq): a hostile
	// map of many equal keys costs linear, not quadratic, time.
	maxRenames = 8
	// maxEmbedDepth bounds the nesting of a GeoJSON text we embed.
	maxEmbedDepth = 64
	// keepKeyScratch: key stacks larger than this are dropped after a
	// record so that one huge map does not pin memory for ever.
	keepKeyScratch = 1 << 16
)

type keySpan struct {
	h          uint64 // fingerprint (linear mode) or maphash (table mode)
	start, end int    // the name in dst, quotes included
}

// keyObj is one open object under duplicate checking.
type keyObj struct {
	base int    // its first name in w.keys
	tab  int    // its first slot in w.tab (table mode)
	size int    // number of slots; 0 = linear mode
	seen uint64 // linear mode: one bit per name, from its fingerprint
}

// keyTable is the duplicate-key checker of one encoder.
type keyTable struct {
	keys    []keySpan
	tab     []int32 // index in keys + 1; 0 = empty
	seed    maphash.Seed
	seeded  bool
	renamed uint64 // names renamed to stay unique
	dropped uint64 // members dropped after maxRenames renames
}

func (k *keyTable) reset() {
	if cap(k.keys) > keepKeyScratch {
		k.keys = nil
	}
	if cap(k.tab) > keepKeyScratch {
		k.tab = nil
	}
	k.keys, k.tab = k.keys[:0], k.tab[:0]
}

func (k *keyTable) open() keyObj { return keyObj{base: len(k.keys), tab: len(k.tab)} }

// close pops an object; every object opened after it must be closed.
func (k *keyTable) close(o *keyObj) {
	k.keys = k.keys[:o.base]
	k.tab = k.tab[:o.tab]
}

// nameFingerprint sums up a name (quotes included) by its length and its
// first and last characters: cheap, and different for most names of one
// object.
func nameFingerprint(name []byte) uint64 {
	n := len(name)
	if n < 3 { // "" or a bare key text such as 1 or []
		return uint64(n) | uint64(name[0])<<32 | uint64(name[n-1])<<40
	}
	return uint64(n) | uint64(name[1])<<32 | uint64(name[n-2])<<40
}

// seenBit is the bit of a fingerprint in keyObj.seen.
func seenBit(fp uint64) uint64 { return 1 << ((fp * 0x9e3779b97f4a7c15) >> 58) }

func (k *keyTable) hash(name []byte) uint64 {
	if !k.seeded {
		k.seed, k.seeded = maphash.MakeSeed(), true
	}
	return maphash.Bytes(k.seed, name)
}

// find reports whether the name dst[start:] is already in o. It returns the
// hash to insert it with.
func (k *keyTable) find(o *keyObj, dst []byte, start int) (uint64, bool) {
	name := dst[start:]
	if o.size == 0 {
		h := nameFingerprint(name)
		if o.seen&seenBit(h) == 0 {
			return h, false // no name of o has this bit: a new name
		}
		for _, e := range k.keys[o.base:] {
			if e.h == h && string(dst[e.start:e.end]) == string(name) {
				return h, true
			}
		}
		return h, false
	}
	h := k.hash(name)
	mask := uint64(o.size - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		j := k.tab[o.tab+int(i)]
		if j == 0 {
			return h, false
		}
		e := &k.keys[j-1]
		if e.h == h && string(dst[e.start:e.end]) == string(name) {
			return h, true
		}
	}
}

// insert adds the name dst[start:] (hash h from find) to o.
func (k *keyTable) insert(o *keyObj, dst []byte, start int, h uint64) {
	k.keys = append(k.keys, keySpan{h: h, start: start, end: len(dst)})
	n := len(k.keys) - o.base
	switch {
	case o.size == 0 && n <= linearKeys:
		o.seen |= seenBit(h)
		return
	case o.size == 0:
		// Switch to table mode: rehash the names with maphash.
		for i := o.base; i < len(k.keys); i++ {
			e := &k.keys[i]
			e.h = k.hash(dst[e.start:e.end])
		}
		k.grow(o, 4*linearKeys)
	case 2*n > o.size:
		k.grow(o, 2*o.size)
	default:
		k.place(o, len(k.keys)-1)
	}
}

// grow gives o a table of size slots and places all its names. o's table is
// at the top of the stack: every object opened after o is closed.
func (k *keyTable) grow(o *keyObj, size int) {
	need := o.tab + size
	if cap(k.tab) < need {
		t := make([]int32, need, 2*need)
		copy(t, k.tab[:o.tab])
		k.tab = t
	} else {
		k.tab = k.tab[:need]
		clear(k.tab[o.tab:])
	}
	o.size = size
	for i := o.base; i < len(k.keys); i++ {
		k.place(o, i)
	}
}

func (k *keyTable) place(o *keyObj, i int) {
	mask := uint64(o.size - 1)
	for s := k.keys[i].h & mask; ; s = (s + 1) & mask {
		if k.tab[o.tab+int(s)] == 0 {
			k.tab[o.tab+int(s)] = int32(i + 1)
			return
		}
	}
}

// addNew is the common case of uniq and of find then insert, in one call
// instead of three: in linear mode, with room in keys, a name whose
// fingerprint bit no name of o has is new, and is recorded. It reports
// false, having done nothing, in every other case.
func (k *keyTable) addNew(o *keyObj, dst []byte, start int) bool {
	n := len(k.keys)
	if o.size != 0 || n-o.base >= linearKeys || n == cap(k.keys) {
		return false
	}
	h := nameFingerprint(dst[start:])
	bit := seenBit(h)
	if o.seen&bit != 0 {
		return false
	}
	o.seen |= bit
	k.keys = k.keys[:n+1]
	k.keys[n] = keySpan{h: h, start: start, end: len(dst)}
	return true
}

// uniq makes the name just written at dst[start:] unique in o and records
// it. A name already present gets a '_' put in front of it (after its
// opening quote), again until it is unique, at most maxRenames times;
// after that the member is dropped: uniq returns dst[:start] and false, and
// the caller skips the value.
func (k *keyTable) uniq(o *keyObj, dst []byte, start int) ([]byte, bool) {
	if k.addNew(o, dst, start) {
		return dst, true
	}
	for try := 0; ; try++ {
		h, dup := k.find(o, dst, start)
		if !dup {
			k.insert(o, dst, start, h)
			return dst, true
		}
		if try == maxRenames {
			k.dropped++
			return dst[:start], false
		}
		if try == 0 {
			k.renamed++
		}
		at := start // a bare name (see jsonWriter.appendName) …
		if dst[start] == '"' {
			at++ // … or after the opening quote
		}
		dst = append(dst, 0)
		copy(dst[at+1:], dst[at:len(dst)-1])
		dst[at] = '_'
	}
}
