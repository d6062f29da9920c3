package suite

import (
	"fmt"
	"math"
	"strings"
)

// writeSigV4 compares the SigV4 row (every request signed, one record per
// request) with the json one-per-request row it differs from only by auth:
// at full speed, and both offered the same fixed rate (SigV4RatePair). The
// text is computed from the rows, so no sentence can contradict the table.
func (rep *Report) writeSigV4(b *strings.Builder) {
	signed := findResult(rep.Matrix, SigV4Scenario)
	pair := SigV4RatePair()
	plainR, signedR := findResult(rep.Matrix, pair[0]), findResult(rep.Matrix, pair[1])
	if signed == nil && signedR == nil {
		return
	}
	plain := SigV4Scenario
	plain.Dest = ""
	http := findResult(rep.Matrix, plain)
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	p("### SigV4: one record per request, each request signed\n\n")
	p("`auth: {type: aws-sigv4, service: lambda}` (a Lambda function URL or API Gateway with IAM auth): each request carries `X-Amz-Date`, `X-Amz-Content-Sha256` (the SHA-256 of the body) and an `Authorization` signature computed per attempt; credentials are static ones from the environment, and the sink does not check signatures (dataplane's TestAuthSigV4ThroughEngine re-derives each one with the AWS SDK). ")
	micro := ""
	if m := findMicro(rep.Micro, "auth", "SigV4Apply1KiB"); m != nil {
		cost := m.NsPerOp
		if c := m.Metrics["cpu-ns/op"]; c > 0 {
			cost = c
		}
		micro = fmt.Sprintf("%.2f µs", cost/1000)
		p("The signature alone (auth's BenchmarkSigV4Apply1KiB, a 1 KiB body) costs %s of CPU and %.0f allocations per request in this run's microbenchmarks. ", micro, m.AllocsPerOp)
	}
	both := func(a, b *Result) bool {
		return a != nil && b != nil && a.OK && b.OK && a.CPUSecPerMillion > 0 && b.CPUSecPerMillion > 0
	}
	full, fixed := both(http, signed), both(plainR, signedR)
	if !full && !fixed {
		p("The comparison with the unsigned json 1 per request row needs both rows: not in this run.\n\n")
		return
	}
	p("\n\n| | json, 1 per request | json + SigV4, 1 per request | difference |\n|---|--:|--:|--:|\n")
	if full {
		p("| full speed: records/s | %s | %s | %.3f× |\n", num(http.RecordsPerSec), num(signed.RecordsPerSec), signed.RecordsPerSec/math.Max(http.RecordsPerSec, 1))
		p("| full speed: CPU-µs / record | %.2f | %.2f | %+.2f |\n", http.CPUSecPerMillion, signed.CPUSecPerMillion, signed.CPUSecPerMillion-http.CPUSecPerMillion)
		p("| full speed: allocs / record | %s | %s | |\n", allocs(http.AllocsPerRecord), allocs(signed.AllocsPerRecord))
	}
	if fixed {
		at := human(SigV4Rate) + "/s"
		p("| offered %s: records/s delivered | %s | %s | %.3f× |\n", at, num(plainR.RecordsPerSec), num(signedR.RecordsPerSec), signedR.RecordsPerSec/math.Max(plainR.RecordsPerSec, 1))
		p("| offered %s: CPU-µs / record | %.2f | %.2f | %+.2f |\n", at, plainR.CPUSecPerMillion, signedR.CPUSecPerMillion, signedR.CPUSecPerMillion-plainR.CPUSecPerMillion)
		p("| offered %s: allocs / record | %s | %s | |\n", at, allocs(plainR.AllocsPerRecord), allocs(signedR.AllocsPerRecord))
	}
	p("\n")
	p("%s", sigV4Reading(http, signed, plainR, signedR, full, fixed, micro))
	p("\n\n")
}

// sigV4Reading is the text under the SigV4 table, from its numbers.
func sigV4Reading(http, signed, plainR, signedR *Result, full, fixed bool, micro string) string {
	var s []string
	if full {
		s = append(s, fmt.Sprintf("At full speed the signed row delivered %.2f× the records/s of the unsigned one and cost %+.2f CPU-µs per record.",
			signed.RecordsPerSec/math.Max(http.RecordsPerSec, 1), signed.CPUSecPerMillion-http.CPUSecPerMillion))
		s = append(s, "That difference is not the signature's cost alone: with one record per request, CPU per record depends on the rate (the fewer records flow, the fewer replies to XDR and requests share a system call), so a row that runs slower also pays more per record for running slower.")
	}
	if full && fixed {
		s = append(s, fmt.Sprintf("The unsigned row shows it: %.2f CPU-µs per record at %s records/s, %.2f at %s/s offered.",
			http.CPUSecPerMillion, human(http.RecordsPerSec), plainR.CPUSecPerMillion, human(SigV4Rate)))
	}
	if fixed {
		d := signedR.CPUSecPerMillion - plainR.CPUSecPerMillion
		held := math.Min(plainR.RecordsPerSec, signedR.RecordsPerSec) >= 0.95*SigV4Rate
		if held {
			s = append(s, fmt.Sprintf("Offered the same %s records/s, both rows delivered it (%s and %s), and the signed one cost %+.2f CPU-µs per record (%+.1f%%): the signature's end-to-end cost, as one window of each measures it on a shared machine.",
				human(SigV4Rate), num(plainR.RecordsPerSec), num(signedR.RecordsPerSec), d, 100*d/plainR.CPUSecPerMillion))
		} else {
			s = append(s, fmt.Sprintf("Offered %s records/s, the rows delivered only %s and %s: the machine did not hold the rate in this run, so their difference (%+.2f CPU-µs per record) mixes rate and signature again.",
				human(SigV4Rate), num(plainR.RecordsPerSec), num(signedR.RecordsPerSec), d))
		}
		if micro != "" {
			s = append(s, fmt.Sprintf("The microbenchmark's %s is the figure to compare it with.", micro))
		}
	} else {
		s = append(s, fmt.Sprintf("The fixed-rate pair (both rows offered %s records/s, the full matrix only) is not in this run.", human(SigV4Rate)))
	}
	return strings.Join(s, " ")
}
