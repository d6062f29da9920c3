package suite

import (
	"fmt"
	"math"
	"strings"
)

// writeS3 compares the s3 row (an object per batch, SigV4-signed PUT) with
// the flat-json batch 500 row it differs from only by the destination type.
func (rep *Report) writeS3(b *strings.Builder) {
	s3 := findResult(rep.Matrix, S3Scenario)
	if s3 == nil {
		return
	}
	plain := S3Scenario
	plain.Dest = ""
	http := findResult(rep.Matrix, plain)
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	p("### s3: an object per batch, signed with SigV4\n\n")
	p("`type: s3` with `auth: {type: aws-sigv4, service: s3}`: each batch of 500 flat-json records (ndjson) is PUT as one object under a key rendered per batch (the default key-template), with `X-Amz-Content-Sha256` (the SHA-256 of the body) and the signature; the sink stands in for the store and does not check signatures (the system test TestS3SeaweedFS does, against SeaweedFS). ")
	if http == nil || !http.OK || !s3.OK || http.CPUSecPerMillion <= 0 || s3.CPUSecPerMillion <= 0 {
		p("The comparison with the flat-json batch 500 HTTP row needs both rows: not in this run.\n\n")
		return
	}
	p("\n\n| | flat-json, POST | flat-json → s3 (SigV4) | ratio |\n|---|--:|--:|--:|\n")
	p("| CPU-s / M records | %.2f | %.2f | %.3f× |\n", http.CPUSecPerMillion, s3.CPUSecPerMillion, s3.CPUSecPerMillion/http.CPUSecPerMillion)
	p("| records/s | %s | %s | %.3f× |\n", num(http.RecordsPerSec), num(s3.RecordsPerSec), s3.RecordsPerSec/math.Max(http.RecordsPerSec, 1))
	p("| allocs / record | %s | %s | |\n\n", allocs(http.AllocsPerRecord), allocs(s3.AllocsPerRecord))
	p("What s3 adds per record is the SHA-256 of the body (once per attempt) and one key and signature per batch of 500: small next to encoding, and within the several percent one window per row moves on a shared machine.\n\n")
}
