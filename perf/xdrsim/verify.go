package xdrsim

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/xdrhook/xdrhook/perf/sink"
)

// VerifyResult compares what the emulator saw settled with 0 against what a
// sink received.
type VerifyResult struct {
	Checked       int64    `json:"checked"`             // settled ids looked up
	Missing       int64    `json:"missing"`             // settled with 0, never received: a lost record
	Duplicates    int64    `json:"duplicates"`          // settled ids received more than once (each counted once; normal under at-least-once)
	Received      int64    `json:"received"`            // distinct ids the sink received
	Truncated     bool     `json:"truncated,omitempty"` // either side dropped ids for its bound: the check is partial
	MissingSample []string `json:"missingSample,omitempty"`
}

// OK reports whether nothing settled was lost.
func (v *VerifyResult) OK() bool { return v.Missing == 0 }

// Verify checks that every record of sm settled with code 0 (sm.SettledIDs,
// kept with Config.KeepSettled) was received: same namespace, digest and
// LUT (or the digest alone, for ids that carry no LUT such as es-bulk
// deletes).
func Verify(sm *Summary, set *sink.IDSet) VerifyResult {
	v := VerifyResult{Received: int64(set.Len()), Truncated: sm.IDsTruncated || set.Truncated()}
	for i := range sm.SettledIDs {
		id := &sm.SettledIDs[i]
		ns := ""
		if int(id.NS) < len(sm.Namespaces) {
			ns = sm.Namespaces[id.NS]
		}
		v.Checked++
		c, first := set.Check(ns, id.Digest, id.LUT)
		switch {
		case c == 0:
			v.Missing++
			if len(v.MissingSample) < 10 {
				v.MissingSample = append(v.MissingSample, fmt.Sprintf("%s/%x/%d", ns, id.Digest, id.LUT))
			}
		case c > 1 && first:
			v.Duplicates++
		}
	}
	return v
}

// LoadIDs reads the ids a sink received: from its GET /ids (an http or
// https URL; the path /ids is added to a bare address) or from a file the
// sink stored (--store) or an /ids download.
func LoadIDs(ctx context.Context, src string) (*sink.IDSet, error) {
	if !strings.HasPrefix(src, "http://") && !strings.HasPrefix(src, "https://") {
		f, err := os.Open(src)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return sink.ReadIDs(f)
	}
	u := src
	if rest := u[strings.Index(u, "//")+2:]; !strings.Contains(rest, "/") {
		u += "/ids"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	// The sink's TLS certificate is self-signed and made at start.
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("GET %s: %s: %s", u, resp.Status, strings.TrimSpace(string(b)))
	}
	return sink.ReadIDs(resp.Body)
}
