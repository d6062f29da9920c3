package config

import (
	"strings"

	"github.com/xdrhook/xdrhook/shape"
)

// resolveRequest resolves destinations.*.request (per-record request
// shaping) into a shape.Request, or nil when the section is absent. names
// holds the static headers' lower-case names.
func (l *loader) resolveRequest(p string, r *rawDestination, d *Destination, names map[string]int) *shape.Request {
	rq := r.Request
	if rq == nil {
		return nil
	}
	dp := p
	p += ".request"
	q := &shape.Request{}
	q.Missing, _ = shape.ParseMissing(l.enum(&rq.Missing, p+".missing", "fail", "fail", "digest", "skip"))
	q.Write = l.requestOp(rq.Write, p+".write", dp, d, "writes")
	q.Delete = l.requestOp(rq.Delete, p+".delete", dp, d, "deletes")
	if rq.Query != nil && *rq.Query != "" {
		t, err := shape.Parse(strings.TrimPrefix(*rq.Query, "?"), shape.PlaceQuery)
		if err != nil {
			l.errorf(p+".query", "%s: %v", l.show(p+".query", *rq.Query), err)
		}
		q.Query = t
	}
	for _, h := range rq.Headers.kvs {
		hp := p + ".headers." + h.k
		lower := strings.ToLower(h.k)
		switch {
		case !isToken(h.k):
			l.errorf(hp, "%q is not a valid header name", h.k)
			continue
		case reservedHeaders[lower] != "":
			l.errorf(hp, "%s", reservedHeaders[lower])
			continue
		}
		if _, dup := names[lower]; dup {
			l.errorf(hp, "the same header as %s (names are case-insensitive)", h.k)
			continue
		}
		names[lower] = -1
		t, err := shape.Parse(h.v, shape.PlaceHeader)
		if err != nil {
			l.errorf(hp, "%v", err)
			continue
		}
		q.Headers = append(q.Headers, shape.HeaderTemplate{Name: h.k, Value: t})
	}
	for i, u := range d.URLs {
		if u.RawQuery != "" {
			l.errorf(index(dp+".urls", i), "has a query string, so the request's path and query cannot be appended to it")
		}
	}
	return q
}

// requestOp resolves request.write or request.delete; what is absent is
// the destination's method and path, with a body.
func (l *loader) requestOp(r *rawRequestOp, p, dp string, d *Destination, what string) shape.Op {
	op := shape.Op{Method: d.Method, Body: true}
	path := d.Path.String()
	if r != nil {
		if r.Method != nil && strings.EqualFold(*r.Method, "GET") {
			l.errorf(p+".method", "GET is not allowed: a change is not a read (POST, PUT, PATCH or DELETE)")
		} else if r.Method != nil && *r.Method != "" {
			if m := l.enum(&r.Method, p+".method", "", "POST", "PUT", "PATCH", "DELETE"); m != "" {
				op.Method = m
				if _, set := l.lines[dp+".method"]; set {
					l.warnf(p+".method", "%s wins over %s.method (%s) for %s", m, dp, d.Method, what)
				}
			}
		}
		if r.Path != nil && *r.Path != "" {
			path = *r.Path
			if _, set := l.lines[dp+".path"]; set {
				l.warnf(p+".path", "%q wins over %s.path (%q) for %s", path, dp, d.Path.String(), what)
			}
		}
		op.Body = l.boolean(&r.Body, true)
	}
	t, err := shape.Parse(path, shape.PlacePath)
	if err != nil {
		l.errorf(p+".path", "%s: %v", l.show(p+".path", path), err)
		t, _ = shape.Parse("", shape.PlacePath)
	}
	op.Path = t
	return op
}

// checkRequestBatching refuses destinations.*.request where a profile
// that routes to the destination batches: a batch is one request for many
// records, so only the destination's path (with {namespace} and {set})
// applies to it.
func (l *loader) checkRequestBatching(c *Config) {
	done := map[*Destination]bool{}
	for _, pr := range c.profiles {
		if !pr.Batching.Enabled {
			continue
		}
		dests := pr.Routing.Destinations
		switch pr.Routing.Mode {
		case RouteNamespace, RouteSet, RouteBin, RouteExpression:
			dests = c.DestinationList() // a value may name any of them
		}
		for _, d := range dests {
			rd := c.raw.Destinations[d.Name]
			if d.Request == nil || done[d] || rd == nil || rd.Request == nil {
				continue
			}
			done[d] = true
			p := join("destinations", d.Name) + ".request"
			keys := []string{}
			if rd.Request.Write != nil {
				keys = append(keys, p+".write")
			}
			if rd.Request.Delete != nil {
				keys = append(keys, p+".delete")
			}
			if rd.Request.Query != nil {
				keys = append(keys, p+".query")
			}
			if rd.Request.Headers.set {
				keys = append(keys, p+".headers")
			}
			if len(keys) == 0 {
				keys = append(keys, p)
			}
			for _, k := range keys {
				l.errorf(k, "shapes each record's request, but records routed here are batched (%s.enabled: true): a batch is one request for many records, so only %s.path (with {namespace} and {set}) applies to it; turn batching off for them or remove this key",
					pr.Batching.path, join("destinations", d.Name))
			}
		}
	}
}
