package connector

import (
	"bytes"
	"net/url"
	"strings"

	"github.com/xdrhook/xdrhook/config"
	"github.com/xdrhook/xdrhook/dataplane"
	"github.com/xdrhook/xdrhook/encode"
	"github.com/xdrhook/xdrhook/wire"
)

// es-bulk options: config values to encode.ESBulk's.
var (
	esDocID = map[config.DocID]encode.ESDocID{
		config.DocIDDigest: encode.ESDocIDDigest, config.DocIDUserKey: encode.ESDocIDUserKey, config.DocIDBin: encode.ESDocIDBin,
	}
	esWriteOp = map[config.WriteOperation]encode.ESWriteOp{
		config.WriteAuto: encode.ESWriteAuto, config.WriteIndex: encode.ESWriteIndex,
		config.WriteCreate: encode.ESWriteCreate, config.WriteUpdate: encode.ESWriteUpdate,
	}
)

// esQueries gives, per destination ID, the query string of its requests:
// the pipeline and refresh of the es-bulk profiles that can route to it
// (config checks that they agree). Query parameters belong to the request,
// not to a body: putting them on the destination's URL keeps bodies and
// senders as they are.
func esQueries(cfg *config.Config) []string {
	q := make([]string, len(cfg.DestinationNames))
	for _, p := range cfg.Profiles() {
		if p.Format.Framing != config.FramingESBulk {
			continue
		}
		if s := p.Format.ESQuery(); s != "" {
			for _, d := range cfg.ESDestinations(p) {
				q[d.ID] = s
			}
		}
	}
	return q
}

// addQuery puts query on the requests of a destination: after its static
// path, after each per-record path, or else on each URL. It returns the
// per-record path function to use.
func addQuery(ho *dataplane.HTTPOptions, perRecord func(dst []byte, m *wire.Message) []byte, query string) func(dst []byte, m *wire.Message) []byte {
	switch {
	case perRecord != nil:
		return func(dst []byte, m *wire.Message) []byte {
			start := len(dst)
			dst = perRecord(dst, m)
			return appendQuery(dst, bytes.IndexByte(dst[start:], '?') >= 0, query)
		}
	case ho.Path != "":
		ho.Path = string(appendQuery([]byte(ho.Path), strings.Contains(ho.Path, "?"), query))
	default:
		for i, raw := range ho.URLs {
			u, err := url.Parse(raw)
			if err != nil {
				continue // the sender reports it
			}
			if u.Path == "" {
				u.Path = "/"
			}
			if u.RawQuery != "" {
				u.RawQuery += "&" + query
			} else {
				u.RawQuery = query
			}
			ho.URLs[i] = u.String()
		}
	}
	return perRecord
}

func appendQuery(dst []byte, hasQuery bool, query string) []byte {
	if hasQuery {
		dst = append(dst, '&')
	} else {
		dst = append(dst, '?')
	}
	return append(dst, query...)
}
