package suite

import (
	"fmt"
	"math"
	"strings"
)

// writeSigV4 compares the SigV4 row (every request signed, one record per
// request) with the json one-per-request row it differs from only by auth.
func (rep *Report) writeSigV4(b *strings.Builder) {
	signed := findResult(rep.Matrix, SigV4Scenario)
	if signed == nil {
		return
	}
	plain := SigV4Scenario
	plain.Dest = ""
	http := findResult(rep.Matrix, plain)
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	p("### SigV4: one record per request, each request signed\n\n")
	p("`auth: {type: aws-sigv4, service: lambda}` (a Lambda function URL or API Gateway with IAM auth): each request carries `X-Amz-Date`, `X-Amz-Content-Sha256` (the SHA-256 of the body) and an `Authorization` signature computed per attempt; credentials are static ones from the environment, and the sink does not check signatures (dataplane's TestAuthSigV4ThroughEngine re-derives each one with the AWS SDK). ")
	if http == nil || !http.OK || !signed.OK || http.CPUSecPerMillion <= 0 || signed.CPUSecPerMillion <= 0 {
		p("The comparison with the unsigned json 1 per request row needs both rows: not in this run.\n\n")
		return
	}
	p("\n\n| | json, 1 per request | json + SigV4, 1 per request | difference |\n|---|--:|--:|--:|\n")
	p("| CPU-µs / record | %.2f | %.2f | %+.2f |\n", http.CPUSecPerMillion, signed.CPUSecPerMillion, signed.CPUSecPerMillion-http.CPUSecPerMillion)
	p("| records/s | %s | %s | %.3f× |\n", num(http.RecordsPerSec), num(signed.RecordsPerSec), signed.RecordsPerSec/math.Max(http.RecordsPerSec, 1))
	p("| allocs / record | %s | %s | |\n\n", allocs(http.AllocsPerRecord), allocs(signed.AllocsPerRecord))
	p("The signature alone costs ~2.3 µs of CPU and no allocation per 1 KiB request (auth's BenchmarkSigV4); the difference above also carries one window's noise on a shared machine.\n\n")
}
