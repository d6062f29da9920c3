package encode

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
)

// nameCase is ESP's bin-transforms.transforms: case changes applied in
// order to the name of a bin that map does not rename. A name's result is
// computed once and kept in a copy-on-write map that readers load with
// one atomic read: after the first record with a name, renaming it costs
// a map lookup and allocates nothing.
type nameCase struct {
	steps []func([]byte) []byte
	seen  atomic.Pointer[map[string][]byte]
	mu    sync.Mutex // serialises writers of seen
}

// maxCasedNames bounds the names kept: past it (hostile or ever-changing
// bin names) a name is cased anew on each use, an allocation, not memory
// without bound.
const maxCasedNames = 4096

// NameTransforms lists the transforms SetNameTransforms accepts.
var NameTransforms = []string{"uppercase", "lowercase"}

// SetNameTransforms makes t apply ESP's name transforms ("uppercase",
// "lowercase") in order to bins that map does not rename. Call it before t
// is used.
func (t *Transform) SetNameTransforms(names []string) error {
	c := &nameCase{}
	for _, n := range names {
		switch n {
		case "uppercase":
			c.steps = append(c.steps, bytes.ToUpper)
		case "lowercase":
			c.steps = append(c.steps, bytes.ToLower)
		default:
			return fmt.Errorf("bin name transform %q: want one of %q", n, NameTransforms)
		}
	}
	if len(c.steps) > 0 {
		c.seen.Store(&map[string][]byte{})
		t.cased = c
	}
	return nil
}

func (c *nameCase) name(name []byte) []byte {
	if out, ok := (*c.seen.Load())[string(name)]; ok {
		return out
	}
	out := append([]byte(nil), name...)
	for _, f := range c.steps {
		out = f(out)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.seen.Load()
	if len(old) < maxCasedNames {
		m := make(map[string][]byte, len(old)+1)
		for k, v := range old {
			m[k] = v
		}
		m[string(name)] = out
		c.seen.Store(&m)
	}
	return out
}
