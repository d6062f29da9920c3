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
	ends    []int
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
	r.ends = r.ends[:0]
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
	out.Reset()
	op := q.Op(m)
	out.Method, out.Body = op.Method, op.Body
	var o Outcome
	if out.Target, o = op.Path.Append(out.Target, m, q.Missing); o != OK {
		return o
	}
	if q.Query != nil {
		out.Target = append(out.Target, '?')
		if out.Target, o = q.Query.Append(out.Target, m, q.Missing); o != OK {
			return o
		}
	}
	for i := range q.Headers {
		if out.vals, o = q.Headers[i].Value.Append(out.vals, m, q.Missing); o != OK {
			return o
		}
		out.ends = append(out.ends, len(out.vals))
	}
	// The values are sliced once vals has stopped growing.
	start := 0
	for i, end := range out.ends {
		out.Headers = append(out.Headers, Header{Name: q.Headers[i].Name, Value: out.vals[start:end:end]})
		start = end
	}
	return OK
}
