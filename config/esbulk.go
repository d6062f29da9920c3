package config

import (
	"strings"
)

// The es-bulk options of the format section: doc-id, write-operation,
// versioning, pipeline, refresh (output-formats.md, es-bulk row).

var (
	writeOperations = []string{string(WriteAuto), string(WriteIndex), string(WriteCreate), string(WriteUpdate)}
	versionings     = []string{string(VersioningNone), string(VersioningLUT)}
	refreshes       = []string{"false", "true", "wait_for"}
)

// resolveESBulk reads the es-bulk options of format r into f. Set with
// another framing they are ignored, with a warning.
func (l *loader) resolveESBulk(r *rawFormat, p string, f *Format) {
	var set []string
	for _, o := range []struct {
		key string
		v   *string
	}{{"doc-id", r.DocID}, {"write-operation", r.WriteOperation}, {"versioning", r.Versioning}, {"pipeline", r.Pipeline}, {"refresh", r.Refresh}} {
		if o.v != nil && *o.v != "" {
			set = append(set, o.key)
		}
	}
	if len(set) > 0 && f.Framing != FramingESBulk && f.Framing != "" {
		l.warnf(p, "%s: framing es-bulk only; ignored for framing %s", strings.Join(set, ", "), f.Framing)
	}
	f.DocID = DocIDDigest
	switch id := l.strDef(&r.DocID, string(DocIDDigest)); {
	case strings.HasPrefix(id, "bin:"):
		f.DocID, f.DocIDBin = DocIDBin, id[len("bin:"):]
		switch {
		case f.DocIDBin == "":
			l.errorf(p+".doc-id", "bin: names no bin: write bin:NAME")
		case len(f.DocIDBin) > 15:
			l.errorf(p+".doc-id", "%s: an Aerospike bin name is at most 15 bytes", l.show(p+".doc-id", f.DocIDBin))
		}
	default:
		f.DocID = DocID(l.enum(&r.DocID, p+".doc-id", string(DocIDDigest), string(DocIDDigest), string(DocIDUserKey), "bin:NAME"))
	}
	f.WriteOperation = WriteOperation(l.enum(&r.WriteOperation, p+".write-operation", string(WriteAuto), writeOperations...))
	f.Versioning = Versioning(l.enum(&r.Versioning, p+".versioning", string(VersioningNone), versionings...))
	f.Pipeline = l.str(&r.Pipeline, "")
	if r.Refresh != nil && *r.Refresh != "" {
		f.Refresh = l.enum(&r.Refresh, p+".refresh", "", refreshes...)
	} else {
		r.Refresh = ptr("") // printed by check, as pipeline is
	}
	if f.Versioning == VersioningLUT && f.WriteOperation == WriteCreate && f.Framing == FramingESBulk {
		l.warnf(p+".versioning", "lut does not version create actions (Elasticsearch takes no external version on create): only deletes carry the version")
	}
}

// checkESQuery checks that the es-bulk profiles that can route to one
// destination agree on pipeline and refresh: those go on the
// destination's URL (connector), not on each body.
func (l *loader) checkESQuery(c *Config) {
	type seen struct {
		q string
		f *Format
	}
	by := map[*Destination]seen{}
	for _, p := range c.profiles {
		if p.Format.Framing != FramingESBulk {
			continue
		}
		q := p.Format.ESQuery()
		for _, d := range c.ESDestinations(p) {
			s, ok := by[d]
			switch {
			case !ok:
				by[d] = seen{q, p.Format}
			case s.q != q:
				l.errorf(p.Format.path, "pipeline and refresh (%q) differ from %s (%q), whose records can go to the same destination %q: they are query parameters of the destination's URL, so every es-bulk profile routed to it must agree", q, s.f.path, s.q, d.Name)
				return
			}
		}
	}
}

// ESDestinations lists the destinations the records of profile p can go
// to: the named ones of static routing; every destination for the
// namespace, set, bin and expression modes (a value may name any of them);
// none for skip.
func (c *Config) ESDestinations(p *Profile) []*Destination {
	switch p.Routing.Mode {
	case RouteStatic, RouteStaticMulti:
		return p.Routing.Destinations
	case RouteNamespace, RouteSet, RouteBin, RouteExpression:
		return c.DestinationList()
	}
	return nil
}
