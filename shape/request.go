package shape

import "github.com/xdrhook/xdrhook/wire"

// Request is a destination's per-record request (config
// destinations.*.request): per change kind a method, a path and whether a
// body goes; a query and extra headers for every record.
type Request struct {
	Write, Delete Op
	// Query, if not nil, follows the path after a ?.
	Query *Template
	// Headers are sent after the destination's static headers.
	Headers []HeaderTemplate
	Missing Missing
}

// Op is how one kind of change is sent.
type Op struct {
	Method string    // always set (config fills the destination's method)
	Path   *Template // always set, maybe empty (the URL's own path)
	Body   bool      // false: no body (Content-Length 0)
}

// HeaderTemplate is one extra header whose value is a template.
type HeaderTemplate struct {
	Name  string
	Value *Template
}

// Header is one rendered header; Value points into a Rendered's buffer.
type Header struct {
	Name  string
	Value []byte
}

// Rendered is a rendered request. Reuse one: its buffers keep their
// capacity, so rendering allocates nothing in steady state.
type Rendered struct {
	Method string
	Body   bool
	// Target is the path and query, appended to the URL.
	Target  []byte
	Headers []Header
	vals    []byte
}

// Reset empties r, keeping its buffers.
func (r *Rendered) Reset() {
	r.Method, r.Body = "", false
	r.Target = r.Target[:0]
	for i := range r.Headers {
		r.Headers[i] = Header{}
	}
	r.Headers = r.Headers[:0]
	r.vals = r.vals[:0]
}

// Op returns the op for m's kind.
func (q *Request) Op(m *wire.Message) *Op {
	if m.Kind == wire.KindDelete {
		return &q.Delete
	}
	return &q.Write
}

// Render renders the request of m into out (reset first). On an Outcome
// other than OK out is to be discarded.
func (q *Request) Render(out *Rendered, m *wire.Message) Outcome {
	op := q.Op(m)
	out.Method, out.Body = op.Method, op.Body
	// Every field is overwritten (or emptied on failure) without Reset's
	// clearing: the old headers name q's strings and out's own buffer.
	out.Headers = out.Headers[:0]
	var o Outcome
	if out.Target, o = op.Path.Append(out.Target[:0], m, q.Missing); o != OK {
		return o
	}
	if q.Query != nil {
		out.Target = append(out.Target, '?')
		if out.Target, o = q.Query.Append(out.Target, m, q.Missing); o != OK {
			return o
		}
	}
	if len(q.Headers) == 0 {
		return OK
	}
	vals := out.vals[:0]
	c := cap(vals)
	hs := out.Headers
	for i := range q.Headers {
		h := &q.Headers[i]
		start := len(vals)
		if vals, o = h.Value.Append(vals, m, q.Missing); o != OK {
			out.vals = vals
			return o
		}
		hs = append(hs, Header{Name: h.Name, Value: vals[start:len(vals):len(vals)]})
	}
	if cap(vals) != c {
		// vals grew: the values before the last moved with it.
		start := 0
		for i := range hs {
			end := start + len(hs[i].Value)
			hs[i].Value = vals[start:end:end]
			start = end
		}
	}
	out.vals, out.Headers = vals, hs
	return OK
}
