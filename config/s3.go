package config

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/xdrhook/xdrhook/wire"
)

// DestinationType is destinations.*.type.
type DestinationType string

const (
	// TypeHTTP is the default: records go as HTTP request bodies. A
	// Destination of type http has Type "" (the zero value).
	TypeHTTP DestinationType = "http"
	// TypeS3 archives each batch as one object of S3-compatible storage
	// (a PUT, signed by auth type aws-sigv4).
	TypeS3 DestinationType = "s3"
)

// DefaultKeyTemplate is destinations.*.key-template's default: a folder
// per namespace, set and hour of the batch's first record, and a name
// unique per node and batch.
const DefaultKeyTemplate = "{namespace}/{set}/{yyyy}/{mm}/{dd}/{hh}/{first-lut}-{node}-{seq}.{ext}"

// S3 is the object naming of a type: s3 destination.
type S3 struct {
	// Bucket the objects go to (required).
	Bucket string
	// Key names each batch's object.
	Key *KeyTemplate
	// PathStyle addresses the bucket in the path (URL/bucket/key) instead
	// of the host name (bucket.host/key). Default: virtual-hosted for
	// *.amazonaws.com endpoints (AWS's way), path-style for every other
	// endpoint (MinIO, SeaweedFS, Ceph: no wildcard DNS needed).
	PathStyle bool
	// Node is {node}: default the host name.
	Node string
}

// s3Placeholders are the placeholders of a key template.
var s3Placeholders = []string{"namespace", "set", "yyyy", "mm", "dd", "hh", "first-lut", "node", "seq", "ext"}

type keyPart struct {
	lit string // escaped literal text, when ph is ""
	ph  string
}

// KeyTemplate is destinations.*.key-template: an object key rendered once
// per batch from its first record. Literal text and values are escaped for
// the request path (RFC 3986 unreserved bytes kept, '/' kept in literal
// text, every other byte %XX), which is also the SigV4 canonical URI.
type KeyTemplate struct {
	text  string
	parts []keyPart
}

// KeyVars are a key's values that do not come from the record.
type KeyVars struct {
	Node string
	// Start is the process start (Unix ms): the first half of {seq}, so
	// that a restarted process does not reuse a key.
	Start int64
	// Seq is the batch counter: the second half of {seq}.
	Seq uint64
	// Ext is {ext} (ndjson, json, msgpack, avro; .gz appended when gzipped).
	Ext string
	// Now (Unix ms) stands for the LUT of a record that has none, in
	// {first-lut} and the date.
	Now int64
}

// maxKeyBytes is S3's bound on an object key (UTF-8 bytes).
const maxKeyBytes = 1024

func parseKeyTemplate(s string) (*KeyTemplate, error) {
	t := &KeyTemplate{text: s}
	if s == "" {
		return nil, fmt.Errorf("is empty")
	}
	if s[0] == '/' {
		return nil, fmt.Errorf("%q starts with /: a key is relative to the bucket", s)
	}
	rest := s
	for rest != "" {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			i = len(rest)
		}
		if i > 0 {
			lit := rest[:i]
			if j := strings.IndexByte(lit, '}'); j >= 0 {
				return nil, fmt.Errorf("%q has a } without {", s)
			}
			for k := 0; k < len(lit); k++ {
				if c := lit[k]; c < 0x20 || c == 0x7f {
					return nil, fmt.Errorf("%q has a control character (byte %d)", s, c)
				}
			}
			t.parts = append(t.parts, keyPart{lit: string(appendKeyEscaped(nil, []byte(lit), true))})
		}
		if i == len(rest) {
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("%q has no closing }", rest[i:])
		}
		name := rest[i+1 : i+j]
		if !contains(s3Placeholders, name) {
			msg := fmt.Sprintf("unknown placeholder {%s}: the placeholders are {%s}", name, strings.Join(s3Placeholders, "} {"))
			if sg := suggest(name, s3Placeholders); sg != "" {
				msg += fmt.Sprintf(" (did you mean {%s}?)", sg)
			}
			return nil, fmt.Errorf("%s", msg)
		}
		t.parts = append(t.parts, keyPart{ph: name})
		rest = rest[i+j+1:]
	}
	for _, seg := range strings.Split(s, "/") {
		switch seg {
		case "":
			return nil, fmt.Errorf("%q has an empty path segment (//, or a / at the end)", s)
		case ".", "..":
			return nil, fmt.Errorf("%q has a %q segment, which HTTP clients and servers may resolve away", s, seg)
		}
	}
	if !t.Uses("seq") || !t.Uses("node") {
		return nil, fmt.Errorf("%q must contain {node} and {seq}: without them two batches (from two nodes, or one node before and after a restart) can get the same key, and the later object replaces the earlier", s)
	}
	return t, nil
}

// String returns the template as written.
func (t *KeyTemplate) String() string { return t.text }

// Uses reports whether the template has placeholder {name}.
func (t *KeyTemplate) Uses(name string) bool {
	for _, p := range t.parts {
		if p.ph == name {
			return true
		}
	}
	return false
}

// SplitsBySet reports whether records of different namespaces or sets get
// different keys, so cannot share an object.
func (t *KeyTemplate) SplitsBySet() bool { return t.Uses("namespace") || t.Uses("set") }

// maxLen bounds the length of a rendered key with node name node.
func (t *KeyTemplate) maxLen(node string) int {
	n := 0
	for _, p := range t.parts {
		switch p.ph {
		case "":
			n += len(p.lit)
		case "namespace":
			n += 31 * 3 // Aerospike: ≤ 31 bytes, each possibly escaped
		case "set":
			n += 63 * 3
		case "node":
			n += len(node) * 3
		case "yyyy":
			n += 4
		case "mm", "dd", "hh":
			n += 2
		case "first-lut":
			n += 13
		case "seq":
			n += 20 + 1 + 20
		case "ext":
			n += len("msgpack.gz")
		}
	}
	return n
}

// Append appends the key of a batch whose first record is m to dst. The
// date is the record's LUT in UTC (v.Now if it has none). A record without
// a set renders {set} as "-" (no empty path segment). It
// allocates only if dst must grow: once per batch buffer, which the
// dataplane reuses.
func (t *KeyTemplate) Append(dst []byte, m *wire.Message, v *KeyVars) []byte {
	lut := v.Now
	if m.HasLUT {
		lut = m.LUTUnixMs()
	}
	var y, mo, d, h int
	if t.usesDate() {
		tm := time.UnixMilli(lut).UTC()
		var month time.Month
		y, month, d = tm.Date()
		mo, h = int(month), tm.Hour()
	}
	for _, p := range t.parts {
		switch p.ph {
		case "":
			dst = append(dst, p.lit...)
		case "namespace":
			dst = appendKeyEscaped(dst, m.Namespace, false)
		case "set":
			if len(m.Set) == 0 {
				dst = append(dst, '-')
			} else {
				dst = appendKeyEscaped(dst, m.Set, false)
			}
		case "yyyy":
			dst = appendPadded(dst, uint64(y), 4)
		case "mm":
			dst = appendPadded(dst, uint64(mo), 2)
		case "dd":
			dst = appendPadded(dst, uint64(d), 2)
		case "hh":
			dst = appendPadded(dst, uint64(h), 2)
		case "first-lut":
			dst = strconv.AppendInt(dst, lut, 10)
		case "node":
			dst = appendKeyEscapedString(dst, v.Node)
		case "seq":
			dst = strconv.AppendInt(dst, v.Start, 10)
			dst = append(dst, '-')
			dst = appendPadded(dst, v.Seq, 8)
		case "ext":
			dst = append(dst, v.Ext...)
		}
	}
	return dst
}

func (t *KeyTemplate) usesDate() bool {
	return t.Uses("yyyy") || t.Uses("mm") || t.Uses("dd") || t.Uses("hh")
}

// appendPadded appends v in decimal with leading zeros to width digits.
func appendPadded(dst []byte, v uint64, width int) []byte {
	var b [20]byte
	i := len(b)
	for v >= 10 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	i--
	b[i] = byte('0' + v)
	for n := len(b) - i; n < width; n++ {
		dst = append(dst, '0')
	}
	return append(dst, b[i:]...)
}

const upperHex = "0123456789ABCDEF"

func keepInKey(c byte, slash bool) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~' || slash && c == '/'
}

// appendKeyEscaped appends s escaped for a path: RFC 3986 unreserved
// bytes (and '/' if slash) as they are, every other byte as %XX (upper
// case hex), as SigV4's canonical URI writes them.
func appendKeyEscaped(dst, s []byte, slash bool) []byte {
	for _, c := range s {
		if keepInKey(c, slash) {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return dst
}

func appendKeyEscapedString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; keepInKey(c, false) {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return dst
}

// rawS3 holds the keys of type: s3 (inline in rawDestination).
type rawS3 struct {
	Type        *string `yaml:"type,omitempty"`
	Bucket      *string `yaml:"bucket,omitempty"`
	KeyTemplate *string `yaml:"key-template,omitempty"`
	PathStyle   *bool   `yaml:"path-style,omitempty"`
	Node        *string `yaml:"node,omitempty"`
}

// s3Defaults fills, before the destination's HTTP keys are read, the
// defaults that differ for type s3: method PUT, and a compression
// threshold of 0 (an object is gzipped whole or not at all, and its {ext}
// says which).
func (l *loader) s3Defaults(r *rawDestination) {
	if r.Type == nil || !strings.EqualFold(*r.Type, string(TypeS3)) {
		return
	}
	if r.Method == nil {
		r.Method = ptr("PUT")
	}
	if r.CompressionThreshold == nil {
		r.CompressionThreshold = ptr(0)
	}
}

// resolveS3 reads destinations.*.type and the s3 keys, after the HTTP keys.
func (l *loader) resolveS3(p string, r *rawDestination, d *Destination) {
	// An absent type is not filled in: `check` prints http destinations as before.
	if r.Type != nil {
		switch l.enum(&r.Type, p+".type", string(TypeHTTP), string(TypeHTTP), string(TypeS3)) {
		case string(TypeS3):
			d.Type = TypeS3
		case "":
			return // said
		}
	}
	if d.Type != TypeS3 {
		for key, set := range map[string]bool{"bucket": r.Bucket != nil, "key-template": r.KeyTemplate != nil, "path-style": r.PathStyle != nil, "node": r.Node != nil} {
			if set {
				l.errorf(p+"."+key, "applies to type: s3 only (this destination is type http)")
			}
		}
		return
	}
	s := &S3{}
	d.S3 = s
	s.Bucket = l.str(&r.Bucket, "")
	if s.Bucket == "" {
		l.errorf(p+".bucket", "missing: type s3 needs the bucket the objects go to")
	} else if err := checkBucket(s.Bucket); err != nil {
		l.errorf(p+".bucket", "%s: %v", l.show(p+".bucket", s.Bucket), err)
	}
	s.Node = l.str(&r.Node, "")
	if s.Node == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			l.errorf(p+".node", "the host name cannot be read (%v): set node to a name unique to this connector", err)
		}
		s.Node = h
		r.Node = ptr(h)
	}
	kt := l.str(&r.KeyTemplate, DefaultKeyTemplate)
	if t, err := parseKeyTemplate(kt); err != nil {
		l.errorf(p+".key-template", "%v", err)
	} else if n := t.maxLen(s.Node); n > maxKeyBytes {
		l.errorf(p+".key-template", "%q can render keys of up to %d bytes (longest namespace and set, each byte escaped): S3 takes at most %d", kt, n, maxKeyBytes)
	} else {
		s.Key = t
	}
	aws := false
	for i, u := range d.URLs {
		if u.RawQuery != "" {
			l.errorf(index(p+".urls", i), "has a query string: an S3 endpoint is scheme://host[:port][/prefix]")
		}
		h := strings.ToLower(u.Hostname())
		aws = aws || h == "amazonaws.com" || strings.HasSuffix(h, ".amazonaws.com")
	}
	s.PathStyle = l.boolean(&r.PathStyle, !aws)
	if !s.PathStyle {
		for i, u := range d.URLs {
			if net.ParseIP(strings.Trim(u.Hostname(), "[]")) != nil {
				l.errorf(p+".path-style", "false puts the bucket in the host name, but %s is an IP address (urls[%d]): use path-style: true", u.Hostname(), i)
			}
		}
		if strings.Contains(s.Bucket, ".") {
			l.warnf(p+".path-style", "false with a bucket name that has dots: the host name %s.<endpoint> does not match a wildcard TLS certificate; consider path-style: true", s.Bucket)
		}
	}
	if d.Method != "PUT" {
		l.errorf(p+".method", "%s: an S3 object is written with PUT", d.Method)
	}
	if d.Path != nil && d.Path.String() != "" {
		l.errorf(p+".path", "does not apply to type s3: key-template names each object")
	}
	if r.Request != nil {
		l.errorf(p+".request", "does not apply to type s3: an object holds a batch, not one record")
	}
	switch a := d.Auth; {
	case a == nil:
		l.warnf(p, "type s3 without auth: requests are not signed, and only a bucket open to anonymous writes takes them; add auth: {type: aws-sigv4, service: s3}")
	case a.Type != AuthAWSSigV4:
		l.errorf(p+".auth.type", "%s: S3 takes AWS Signature V4: auth: {type: aws-sigv4, service: s3}", a.Type)
	case a.Service != "s3":
		l.errorf(p+".auth.service", "%s: an s3 destination signs for service s3", l.show(p+".auth.service", a.Service))
	}
	if d.Compression == CompressionGzip && d.CompressionThreshold != 0 {
		l.errorf(p+".compression-threshold", "%d: an s3 destination gzips every object or none ({ext} ends in .gz when it does): leave it out or set 0", d.CompressionThreshold)
	}
}

// checkBucket applies S3's bucket naming rules.
func checkBucket(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("a bucket name has 3 to 63 characters")
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return fmt.Errorf("a bucket name has lower-case letters, digits, '-' and '.' only")
		}
	}
	if first, last := b[0], b[len(b)-1]; first == '-' || first == '.' || last == '-' || last == '.' {
		return fmt.Errorf("a bucket name begins and ends with a letter or a digit")
	}
	if strings.Contains(b, "..") {
		return fmt.Errorf("a bucket name has no two adjacent dots")
	}
	if net.ParseIP(b) != nil {
		return fmt.Errorf("a bucket name is not an IP address")
	}
	return nil
}

// s3Framings are the framings an object can hold: a container of records,
// not a protocol (es-bulk, splunk-hec).
var s3Framings = []string{string(FramingNDJSON), string(FramingJSONArray), string(FramingMsgPackArray), string(FramingAvroOCF)}

// checkS3 checks every profile that can route to an s3 destination: an
// object holds a batch, so batching must be on, and the framing must be a
// container of records.
func (l *loader) checkS3(c *Config) {
	seenF, seenB := map[*Format]bool{}, map[*Batching]bool{}
	for _, p := range c.profiles {
		d := firstS3(p.Routing)
		if d == nil {
			continue
		}
		dp := join("destinations", d.Name)
		if b := p.Batching; !b.Enabled && !seenB[b] {
			seenB[b] = true
			l.errorf(batchingKey(b, dp), "destination %s is type s3, which stores one object per batch: batching must be on (%s); see %s.type", d.Name, batchingWhere(b), dp)
		} else if b.Enabled && b.Interval < time.Second && !seenB[b] {
			seenB[b] = true
			l.warnf(b.path+".batch-interval", "%d ms makes many small objects in s3 destination %s (S3 charges per PUT): archives usually batch for 1000 to 5000 ms and up to max-bytes of several MiB", b.Interval.Milliseconds(), d.Name)
		}
		if f := p.Format; !contains(s3Framings, string(f.Framing)) && !seenF[f] {
			seenF[f] = true
			l.errorf(f.path+".framing", "%s cannot be an object of s3 destination %s: use %s", f.Framing, d.Name, strings.Join(s3Framings, ", "))
		}
	}
}

// batchingKey is where to report that batching is off: its enabled key,
// or the s3 destination's type when the section is absent.
func batchingKey(b *Batching, dp string) string {
	if b.absent {
		return dp + ".type"
	}
	return b.path + ".enabled"
}

// firstS3 returns an s3 destination that routing r can send to, or nil.
func firstS3(r *Routing) *Destination {
	if r == nil {
		return nil
	}
	for _, d := range r.Destinations {
		if d.Type == TypeS3 {
			return d
		}
	}
	for _, name := range sortedKeys(r.byName) {
		if d := r.byName[name]; d.Type == TypeS3 {
			return d
		}
	}
	if r.Default != nil && r.Default.Type == TypeS3 {
		return r.Default
	}
	return nil
}
