package expression

import (
	"encoding/hex"
	"fmt"

	"github.com/expr-lang/expr/vm"
	"github.com/xdrhook/xdrhook/wire"
)

// Policy is expression-errors: what a record gets when one of its programs
// fails at run time (a bin of the wrong type for an operator, an index out
// of range, a malformed list...).
type Policy uint8

const (
	// Fail answers the record 4 (parameter error: XDR drops it).
	Fail Policy = iota
	// Skip answers it 0 without sending it.
	Skip
	// Pass lets it through as if the program had not been there: the
	// filter passes, the route is the default, the computed bins are not
	// set (remove still applies).
	Pass
)

func (p Policy) String() string { return [...]string{"fail", "skip", "pass"}[p] }

// SetBin is one computed bin of transform.set.
type SetBin struct {
	Name    string
	Program *Program
}

// Transform is a transform section: the computed bins in order, then the
// bins removed.
type Transform struct {
	Set    []SetBin
	Remove []string

	set, remove [][]byte
}

// NewTransform builds a Transform.
func NewTransform(set []SetBin, remove []string) *Transform {
	t := &Transform{Set: set, Remove: remove}
	for _, s := range set {
		t.set = append(t.set, []byte(s.Name))
	}
	for _, r := range remove {
		t.remove = append(t.remove, []byte(r))
	}
	return t
}

func (t *Transform) removes(name []byte) bool {
	for _, r := range t.remove {
		if string(r) == string(name) {
			return true
		}
	}
	return false
}

// Logic is the custom logic of a profile: each part nil when not
// configured.
type Logic struct {
	Filter    *Program
	Route     *Program
	Transform *Transform
	OnError   Policy
}

// progState is a Runner's state for one program: the boxes of its bins.
type progState struct {
	slots []slot
}

// Runner evaluates programs against one record at a time. It is not safe
// for concurrent use: keep one per event loop (or connection), never
// shared across goroutines.
type Runner struct {
	vm   vm.VM
	env  values
	bins map[string]any
	m    *wire.Message
	now  int64 // Unix s of receipt (exp)

	loaded field // Env fields set for the current record
	progs  []progState
	all    []slot // every bin's slot, for programs that read bins dynamically

	ns, set, digest *box[string]
	keyI, gen       *box[int]
	lut, exp, nowB  *box[int]
	keyF            *box[float64]
	keyS            *box[string]
	keyB            *box[[]byte]
	hex             [2 * wire.DigestSize]byte

	cat  []byte    // a root concatenation's value (runParts)
	val  []byte    // computed bins' values
	comp []compBin // computed bins of the current record
	out  []wire.Bin
	msg  wire.Message
}

type compBin struct {
	typ      uint8
	off, end int
	present  bool // false: nil, the bin is not set
	used     bool
}

// NewRunner returns a Runner.
func NewRunner() *Runner {
	r := &Runner{bins: make(map[string]any)}
	r.env.Bins = r.bins
	r.ns, r.set, r.digest, r.keyS = newBox[string](), newBox[string](), newBox[string](), newBox[string]()
	r.keyI, r.gen, r.lut, r.exp, r.nowB = newBox[int](), newBox[int](), newBox[int](), newBox[int](), newBox[int]()
	r.keyF, r.keyB = newBox[float64](), newBox[[]byte]()
	return r
}

// Reset starts a record: programs run after it see m, received at nowUnix
// (Unix s). m must stay unchanged until the next Reset.
func (r *Runner) Reset(m *wire.Message, nowUnix int64) {
	r.m, r.now, r.loaded = m, nowUnix, 0
}

var msgWrite, msgDelete any = "write", "delete"

// load sets the Env fields of want not yet set for this record.
func (r *Runner) load(want field) {
	want &^= r.loaded
	if want == 0 {
		return
	}
	r.loaded |= want
	m, e := r.m, &r.env
	if want&fMsg != 0 {
		e.Msg = msgWrite
		if m.Kind == wire.KindDelete {
			e.Msg = msgDelete
		}
	}
	if want&fNamespace != 0 {
		e.Namespace = r.ns.set(view(m.Namespace))
	}
	if want&fSet != 0 {
		e.Set = r.set.set(view(m.Set))
	}
	if want&fDigest != 0 {
		hex.Encode(r.hex[:], m.Digest)
		e.Digest = r.digest.set(view(r.hex[:2*len(m.Digest)]))
	}
	if want&fUserKey != 0 {
		k := &m.Key
		switch k.Type {
		case 0:
			e.UserKey = nil
		case wire.ParticleInteger:
			e.UserKey = r.keyI.set(int(k.Int))
		case wire.ParticleFloat:
			e.UserKey = r.keyF.set(k.Float)
		case wire.ParticleString:
			e.UserKey = r.keyS.set(view(k.Bytes))
		default:
			e.UserKey = r.keyB.set(k.Bytes)
		}
	}
	if want&fGen != 0 {
		e.Gen = r.gen.set(int(m.Generation))
	}
	if want&fLUT != 0 {
		e.LUT = r.lut.set(int(m.LUTUnixMs()))
	}
	if want&fExp != 0 {
		e.Exp = r.exp.set(int(m.Expiry(r.now)))
	}
	if want&fPartial != 0 {
		e.Partial = m.Partial
	}
	if want&fDurable != 0 {
		e.Durable = m.Durable
	}
	if want&fNow != 0 {
		e.Now = r.nowB.set(int(nowMs()))
	}
}

// loadBins sets bins[name] for each bin p reads: its value, or nil when the
// record lacks it.
func (r *Runner) loadBins(p *Program) error {
	if p.allBins {
		if err := r.loadAll(); err != nil {
			return err
		}
	}
	if len(p.bins) == 0 {
		return nil
	}
	for len(r.progs) <= p.id {
		r.progs = append(r.progs, progState{})
	}
	st := &r.progs[p.id]
	if st.slots == nil {
		st.slots = make([]slot, len(p.bins))
	}
	for j, name := range p.bins {
		var v any
		for i := range r.m.Bins {
			b := &r.m.Bins[i]
			if string(b.Name) == name {
				var err error
				if v, err = st.slots[j].binValue(b); err != nil {
					return err
				}
				break
			}
		}
		if j < maxNamed {
			*r.env.named(j) = v
		} else {
			r.bins[name] = v
		}
	}
	return nil
}

// loadAll sets bins to every bin of the record, for a program that reads
// bins other than by name.
func (r *Runner) loadAll() error {
	{
		clear(r.bins)
		for len(r.all) < len(r.m.Bins) {
			r.all = append(r.all, slot{})
		}
		for i := range r.m.Bins {
			b := &r.m.Bins[i]
			v, err := r.all[i].binValue(b)
			if err != nil {
				return err
			}
			r.bins[string(b.Name)] = v
		}
		return nil
	}
}

// prepare sets what p reads of the current record.
func (r *Runner) prepare(p *Program) error {
	r.load(p.fields)
	if p.fields&fBins != 0 {
		return r.loadBins(p)
	}
	return nil
}

// runProgram runs p on its comparison tree when it has one and the tree
// answers, else on expr's VM.
func (r *Runner) runProgram(p *Program) (any, error) {
	if p.fast == nil {
		return r.run(p)
	}
	if err := r.prepare(p); err != nil {
		return nil, err
	}
	if out, ok := r.runFast(p); ok {
		return out, nil
	}
	return r.vm.Run(p.prog, &r.env)
}

// run runs p against the current record.
func (r *Runner) run(p *Program) (any, error) {
	if err := r.prepare(p); err != nil {
		return nil, err
	}
	return r.vm.Run(p.prog, &r.env)
}

// Filter runs a filter program: false means skip the record.
func (r *Runner) Filter(p *Program) (bool, error) {
	out, err := r.runProgram(p)
	if err != nil {
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("filter returned %T, not a bool", out)
	}
	return b, nil
}

// Route runs a route program and appends the destination names it returns
// to dst. The names are valid until the next Reset.
func (r *Runner) Route(p *Program, dst []string) ([]string, error) {
	out, err := r.runProgram(p)
	if err != nil {
		return dst, err
	}
	switch v := out.(type) {
	case string:
		return append(dst, v), nil
	case []any:
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return dst, fmt.Errorf("route returned a list holding %T, not only destination names", e)
			}
			dst = append(dst, s)
		}
		return dst, nil
	case []string:
		return append(dst, v...), nil
	case nil:
		return dst, nil
	}
	return dst, fmt.Errorf("route returned %T, not destination names", out)
}

// Transform applies t to the current record: the computed bins are set
// (replacing a bin of the same name in place, else added after the
// record's bins, in order; nil leaves the bin out), then the removed bins
// are dropped. It returns a message valid until the next Transform or
// Reset. Deletes carry no bins: they are returned as they are. With skip
// set (expression-errors: pass after a failure), only remove applies.
func (r *Runner) Transform(t *Transform, skipSet bool) (*wire.Message, error) {
	m := r.m
	if m.Kind == wire.KindDelete {
		return m, nil
	}
	r.val = r.val[:0]
	r.comp = r.comp[:0]
	if !skipSet {
		for _, s := range t.Set {
			var out any
			var err error
			if s.Program.parts != nil {
				out, err = r.runParts(s.Program)
			} else {
				out, err = r.run(s.Program)
			}
			if err != nil {
				return m, fmt.Errorf("bin %q: %w", s.Name, err)
			}
			c := compBin{off: len(r.val)}
			if out == concatDone {
				c.typ, r.val, c.present = wire.ParticleString, append(r.val, r.cat...), true
			} else if c.typ, r.val, c.present, err = appendParticle(r.val, out); err != nil {
				return m, fmt.Errorf("bin %q: %w", s.Name, err)
			}
			c.end = len(r.val)
			r.comp = append(r.comp, c)
		}
	}
	r.out = r.out[:0]
	for i := range m.Bins {
		b := &m.Bins[i]
		if j := r.computed(t, b.Name); j >= 0 {
			c := &r.comp[j]
			if c.present && !c.used && !t.removes(b.Name) {
				r.out = append(r.out, wire.Bin{Name: t.set[j], Type: c.typ, Value: r.val[c.off:c.end]})
			}
			c.used = true
			continue
		}
		if !t.removes(b.Name) {
			r.out = append(r.out, *b)
		}
	}
	for j := range r.comp {
		c := &r.comp[j]
		if c.present && !c.used && !t.removes(t.set[j]) {
			r.out = append(r.out, wire.Bin{Name: t.set[j], Type: c.typ, Value: r.val[c.off:c.end]})
		}
	}
	r.msg = *m
	r.msg.Bins = r.out
	r.msg.MetadataOnly = m.MetadataOnly && len(r.out) == 0
	return &r.msg, nil
}

// computed returns the index of the computed bin named name, or -1.
func (r *Runner) computed(t *Transform, name []byte) int {
	for j := range r.comp {
		if string(t.set[j]) == string(name) {
			return j
		}
	}
	return -1
}
