package connector

import (
	"sync/atomic"
	"time"

	"github.com/xdrhook/xdrhook/config"
	"github.com/xdrhook/xdrhook/wire"
)

// framingExt is {ext} of an s3 object per framing (dataplane.Profile.Ext).
var framingExt = map[config.Framing]string{
	config.FramingNDJSON:       "ndjson",
	config.FramingJSONArray:    "json",
	config.FramingMsgPackArray: "msgpack",
	config.FramingAvroOCF:      "avro",
}

// s3Objects names the objects of one s3 destination: the endpoint URLs
// (the bucket in the host name unless path-style) and each batch's path,
// "/bucket/key" (path-style) or "/key".
type s3Objects struct {
	cfg    *config.S3
	prefix string // "/bucket" (path-style) or ""
	gz     bool   // objects are gzipped: {ext} gets ".gz"
	start  int64  // process start, Unix ms: {seq}'s first half
	seq    atomic.Uint64
}

func newS3Objects(cd *config.Destination) *s3Objects {
	o := &s3Objects{cfg: cd.S3, gz: cd.Compression == config.CompressionGzip, start: time.Now().UnixMilli()}
	if cd.S3.PathStyle {
		o.prefix = "/" + cd.S3.Bucket
	}
	return o
}

// urls returns the destination's URLs as requests go to them.
func (o *s3Objects) urls(cd *config.Destination) []string {
	out := make([]string, len(cd.URLs))
	for i, u := range cd.URLs {
		v := *u
		if !o.cfg.PathStyle {
			v.Host = o.cfg.Bucket + "." + v.Host
		}
		out[i] = v.String()
	}
	return out
}

// key appends the path of a batch's object (dataplane.DestinationOptions.
// Key): one counter increment and appends into the batch's reused path
// buffer; no allocation once that buffer has grown.
func (o *s3Objects) key(dst []byte, m *wire.Message, ext string) []byte {
	dst = append(dst, o.prefix...)
	dst = append(dst, '/')
	v := config.KeyVars{Node: o.cfg.Node, Start: o.start, Seq: o.seq.Add(1), Ext: ext}
	if !m.HasLUT {
		v.Now = time.Now().UnixMilli()
	}
	if o.gz {
		return o.appendGz(dst, m, &v)
	}
	return o.cfg.Key.Append(dst, m, &v)
}

// appendGz renders with ext+".gz" without building that string per batch.
func (o *s3Objects) appendGz(dst []byte, m *wire.Message, v *config.KeyVars) []byte {
	switch v.Ext {
	case "ndjson":
		v.Ext = "ndjson.gz"
	case "json":
		v.Ext = "json.gz"
	case "msgpack":
		v.Ext = "msgpack.gz"
	case "avro":
		v.Ext = "avro.gz"
	default:
		v.Ext += ".gz"
	}
	return o.cfg.Key.Append(dst, m, v)
}
