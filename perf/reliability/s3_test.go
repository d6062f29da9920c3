package reliability

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/xdrhook/xdrhook/perf/harness"
	"github.com/xdrhook/xdrhook/perf/sink"
	"github.com/xdrhook/xdrhook/perf/xdrsim"
)

// The S3 archive (destinations.*.type: s3, auth aws-sigv4) against a real
// S3 server that verifies Signature V4: SeaweedFS's S3 gateway (Apache-2.0,
// built from the Go module proxy by perf/harness/build-seaweedfs.sh). The
// connector is the xdrhook binary, driven by the XDR emulator; objects are
// read back with minio-go (an independent S3 client) and decoded by the
// perf sink's validating decoders.

const (
	s3Bucket    = "xdr-archive"
	s3AccessKey = "XDRHOOKTESTAKID"
	s3SecretKey = "xdrhook-test-secret-key-0123456789"
)

// s3Conf is the connector configuration: one s3 destination named sink,
// signed for the given secret, key template rooted at node=NODE/ (a
// literal '=' exercises the escaping of the canonical URI).
func s3Conf(endpoint, node, format, secret string, replyDeadline int) (conf, []string) {
	c := conf{
		URL:           "http://" + endpoint,
		ReplyDeadline: replyDeadline,
		Format:        format,
		Batching:      "{max-records: 2000, max-bytes: 4194304, batch-interval: 300}",
		Dest: []string{
			"type: s3",
			"bucket: " + s3Bucket,
			"node: " + node,
			`key-template: "node={node}/{namespace}/{set}/{yyyy}/{mm}/{dd}/{hh}/{first-lut}-{seq}.{ext}"`,
			"auth: {type: aws-sigv4, service: s3, region: us-east-1}",
		},
	}
	env := []string{"AWS_ACCESS_KEY_ID=" + s3AccessKey, "AWS_SECRET_ACCESS_KEY=" + secret,
		"AWS_REGION=us-east-1", "AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent",
		"AWS_EC2_METADATA_DISABLED=true"}
	return c, env
}

func startS3Server(t *testing.T) (*harness.SeaweedFS, *minio.Client) {
	bin := harness.SeaweedFSBinary(t)
	sw := harness.StartSeaweedFS(t, bin, harness.S3Identity{AccessKey: s3AccessKey, SecretKey: s3SecretKey})
	mc, err := minio.New(sw.S3, &minio.Options{Creds: credentials.NewStaticV4(s3AccessKey, s3SecretKey, ""),
		Secure: false, Region: "us-east-1", BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	// The gateway listens before the filer behind it is ready.
	var merr error
	waitFor(60*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		merr = mc.MakeBucket(ctx, s3Bucket, minio.MakeBucketOptions{Region: "us-east-1"})
		return merr == nil
	})
	if merr != nil {
		t.Fatalf("make bucket: %v\n%s", merr, sw.Log())
	}
	// The gateway checks signatures: a request without one is refused.
	req, err := http.NewRequest("PUT", "http://"+sw.S3+"/"+s3Bucket+"/unsigned", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 403 {
		t.Fatalf("an unsigned PUT was answered %s, want 403", r.Status)
	}
	return sw, mc
}

// s3Objects lists the objects under prefix.
func s3Objects(t *testing.T, mc *minio.Client, prefix string) []minio.ObjectInfo {
	t.Helper()
	var out []minio.ObjectInfo
	for o := range mc.ListObjects(context.Background(), s3Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("list %s: %v", prefix, o.Err)
		}
		out = append(out, o)
	}
	return out
}

func TestS3SeaweedFS(t *testing.T) {
	systemTier(t)
	sw, mc := startS3Server(t)
	for _, f := range []struct{ name, format, ext, contentType string }{
		{"ndjson", "{mode: flat-json}", ".ndjson", "application/x-ndjson"},
		{"avro-ocf", "{mode: avro}", ".avro", "avro/binary"},
	} {
		t.Run(f.name, func(t *testing.T) { testS3Archive(t, sw, mc, f.name, f.format, f.ext, f.contentType) })
	}
	t.Run("wrong-secret", func(t *testing.T) { testS3WrongSecret(t, sw, mc) })
}

// testS3Archive: every record answered 0 is in an object, and for every
// key the archive holds its latest version by LUT.
func testS3Archive(t *testing.T, sw *harness.SeaweedFS, mc *minio.Client, node, format, ext, contentType string) {
	c, env := s3Conf(sw.S3, node, format, s3SecretKey, 0)
	p := harness.Connector{Config: c.yaml(), Env: env}.Start(t)
	cpu0 := p.CPU()

	cfg := simConfig(p.XDRAddr)
	cfg.Workload.Keys = 3000 // keys come back with higher LUTs: versions
	cfg.Count, cfg.Rate = 30000, 10000
	// A batch holds what XDR has in flight: 8 × 1024 here (XDR's own
	// window is what bounds an object's size in production, with the
	// batch interval).
	cfg.Window = 1024
	start := time.Now()
	sm, err := xdrsim.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	cpu := p.CPU() - cpu0
	if sm.Settled != sm.Generated || sm.Unsettled != 0 || sm.Abandoned != 0 {
		t.Fatalf("emulator: %s\n%s", sm.String(), p.Log())
	}

	// Read every object back and decode it with the sink's validating
	// decoders (ndjson, Avro OCF through goavro).
	dec := startSink(t, sink.Config{})
	objs := s3Objects(t, mc, "node="+node+"/")
	var bytesIn int64
	for _, o := range objs {
		if !strings.HasSuffix(o.Key, ext) || !strings.HasPrefix(o.Key, "node="+node+"/test/") {
			t.Errorf("object key %q", o.Key)
		}
		obj, err := mc.GetObject(context.Background(), s3Bucket, o.Key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(obj)
		obj.Close()
		if err != nil {
			t.Fatalf("get %s: %v", o.Key, err)
		}
		bytesIn += int64(len(body))
		r, err := http.Post(dec.URL()+"/", contentType, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != 200 {
			t.Fatalf("object %s does not decode as %s: %s %s", o.Key, contentType, r.Status, msg)
		}
	}
	f := verify(t, &sm, dec.IDs())

	// The latest version of every key, by LUT, is in the archive.
	latestSent := map[[20]byte]int64{}
	for _, id := range sm.SettledIDs {
		if id.LUT > latestSent[id.Digest] {
			latestSent[id.Digest] = id.LUT
		}
	}
	latestHeld := map[[20]byte]int64{}
	dec.IDs().Each(func(id sink.ID, _ uint32) {
		if id.LUT > latestHeld[id.Digest] {
			latestHeld[id.Digest] = id.LUT
		}
	})
	stale := 0
	for d, lut := range latestSent {
		if latestHeld[d] != lut {
			stale++
			if stale <= 5 {
				t.Errorf("key %x: latest LUT answered 0 is %d, the archive's latest is %d", d, lut, latestHeld[d])
			}
		}
	}
	versions := float64(len(sm.SettledIDs)) / float64(len(latestSent))
	// Every PUT answered 2xx left an object. A PUT given up (its timeout
	// passed, or the connection broke) may have landed all the same: the
	// batch is sent again, and the archive holds its records twice, as
	// at-least-once allows. No object comes from anywhere else.
	puts := metric(t, p, `xdrhook_requests_total{destination="sink",status="2xx"}`)
	lost := metric(t, p, `xdrhook_requests_total{destination="sink",status="error"}`) +
		metric(t, p, `xdrhook_request_timeouts_total{destination="sink"}`)
	if n := float64(len(objs)); n < puts || n > puts+lost {
		t.Errorf("%d objects; want from the %v PUTs answered 2xx to those plus the %v given up", len(objs), puts, lost)
	}
	f.Extra = fmt.Sprintf("SeaweedFS S3 (SigV4 verified) %s: %d objects (%.1f MiB, %d records each on average), %d keys × %.1f versions, latest by LUT held for all; %.1f µs CPU per record, %v",
		node, len(objs), mib(bytesIn), len(sm.SettledIDs)/max(1, len(objs)), len(latestSent), versions,
		float64(cpu.Microseconds())/float64(sm.Generated), took.Round(time.Millisecond))
	f.MaxRSS = p.PeakRSS()
	report(t, f)
}

// testS3WrongSecret: the gateway answers 403 (SignatureDoesNotMatch); the
// connector retries and answers 11, never 0, and stores nothing.
func testS3WrongSecret(t *testing.T, sw *harness.SeaweedFS, mc *minio.Client) {
	c, env := s3Conf(sw.S3, "wrong", "{mode: flat-json}", "not-the-"+s3SecretKey, 2000)
	p := harness.Connector{Config: c.yaml(), Env: env}.Start(t)
	cfg := simConfig(p.XDRAddr)
	cfg.Count, cfg.Rate, cfg.DrainTimeout = 200, 200, 4*time.Second
	sm, err := xdrsim.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	forbidden := metric(t, p, `xdrhook_requests_total{destination="sink",status="4xx"}`)
	ok := metricOf(p, `xdrhook_requests_total{destination="sink",status="2xx"}`)
	switch {
	case sm.Settled != 0:
		t.Errorf("%d records answered 0 with a wrong secret\n%s", sm.Settled, sm.String())
	case sm.Retries == 0:
		t.Errorf("no record answered 11 (retry)\n%s", sm.String())
	case forbidden < 2:
		t.Errorf("%v requests answered 4xx, want the first try and retries", forbidden)
	case ok > 0:
		t.Errorf("%v requests answered 2xx", ok)
	case !strings.Contains(p.Log(), "status=403"):
		t.Errorf("no failed request logged with status 403 (SignatureDoesNotMatch):\n%s", p.Log())
	}
	if objs := s3Objects(t, mc, "node=wrong/"); len(objs) != 0 {
		t.Errorf("%d objects stored with a wrong secret", len(objs))
	}
	if strings.Contains(p.Log(), "not-the-") {
		t.Error("the secret is in the connector's log")
	}
	report(t, figures{Sent: sm.Generated, Frames: sm.Sent, Retries: sm.Retries, Resent: sm.Resent, Recovery: -1,
		Extra: fmt.Sprintf("wrong secret: %v PUTs answered 4xx (403 in the log), 0 answered 0, %d unsettled at the end, no object", forbidden, sm.Unsettled)})
}
