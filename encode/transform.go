package encode

// Transform applies bin-transforms while encoding: include and exclude lists
// and renames. The zero value (or nil) keeps every bin under its own name.
type Transform struct {
	include map[string]struct{} // nil: every bin
	exclude map[string]struct{}
	rename  map[string][]byte
	cased   *nameCase // ESP's transforms (nametransform.go); nil: none
}

// NewTransform builds a Transform. include nil means all bins.
func NewTransform(include, exclude []string, rename map[string]string) *Transform {
	t := &Transform{}
	if len(rename) > 0 {
		t.rename = make(map[string][]byte, len(rename))
		for from, to := range rename {
			t.rename[from] = []byte(to)
		}
	}
	if include != nil {
		t.include = make(map[string]struct{}, len(include))
		for _, b := range include {
			t.include[b] = struct{}{}
		}
	}
	if len(exclude) > 0 {
		t.exclude = make(map[string]struct{}, len(exclude))
		for _, b := range exclude {
			t.exclude[b] = struct{}{}
		}
	}
	return t
}

// Bin reports whether a bin is kept and the name it is written under. The
// lookups convert name without allocating.
func (t *Transform) Bin(name []byte) (out []byte, keep bool) {
	if t == nil {
		return name, true
	}
	if t.include != nil {
		if _, ok := t.include[string(name)]; !ok {
			return nil, false
		}
	}
	if t.exclude != nil {
		if _, ok := t.exclude[string(name)]; ok {
			return nil, false
		}
	}
	if t.rename != nil {
		if n, ok := t.rename[string(name)]; ok {
			return n, true
		}
	}
	if t.cased != nil { // not on a renamed bin, as in ESP
		return t.cased.name(name), true
	}
	return name, true
}
