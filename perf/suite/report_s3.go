package suite

import (
	"fmt"
	"math"
	"strings"
)

// writeS3 compares the s3 row (an object per batch, SigV4-signed PUT) with
// the flat-json batch 500 row it differs from only by the destination type.
// The text is computed from the rows and the microbenchmarks.
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
	p("%s\n\n", s3Reading(http, s3, findMicro(rep.Micro, "auth", "SigV4Apply64KiB")))
}

// s3Reading is the text under the s3 table, from its numbers: the extra
// CPU per record, and how much of it the body's SHA-256 explains (the
// 64 KiB signature benchmark is almost all hashing).
func s3Reading(http, s3 *Result, sha *Micro) string {
	d := s3.CPUSecPerMillion - http.CPUSecPerMillion // µs per record
	more := "more"
	if d < 0 {
		more = "less"
	}
	s := []string{fmt.Sprintf("The s3 row cost %.2f CPU-µs per record %s than POSTing the same batches (%.2f×) and delivered %.2f× the records/s.",
		math.Abs(d), more, s3.CPUSecPerMillion/http.CPUSecPerMillion, s3.RecordsPerSec/math.Max(http.RecordsPerSec, 1))}
	if sha != nil && sha.NsPerOp > 0 && s3.RecordsPerSec > 0 && s3.MBPerSecOut > 0 {
		cost := sha.NsPerOp
		if c := sha.Metrics["cpu-ns/op"]; c > 0 {
			cost = c
		}
		perByte := cost / (64 << 10)                             // ns per body byte
		bodyPerRecord := s3.MBPerSecOut * 1e6 / s3.RecordsPerSec // bytes
		hash := perByte * bodyPerRecord / 1000                   // µs per record
		s = append(s, fmt.Sprintf("Per record, s3 hashes its share of the body once per attempt: %.0f bytes at %.2f ms per MiB (auth's BenchmarkSigV4Apply64KiB) is %.2f µs", bodyPerRecord, perByte*(1<<20)/1e6, hash))
		if d > 0 {
			s[len(s)-1] += fmt.Sprintf(", %.0f%% of the difference.", 100*math.Min(hash/d, 1))
		} else {
			s[len(s)-1] += "."
		}
	} else {
		s = append(s, "What s3 adds per record is the SHA-256 of its share of the body (once per attempt) and a share of one key and one signature per batch of 500; the microbenchmark that measures the hash (auth's BenchmarkSigV4Apply64KiB) is not in this run.")
	}
	if s3.SinkRequests > 0 && http.SinkRequests > 0 {
		per, perHTTP := float64(s3.SinkRecords)/float64(s3.SinkRequests), float64(http.SinkRecords)/float64(http.SinkRequests)
		s = append(s, fmt.Sprintf("Objects held %.0f records on average, POST bodies %.0f", per, perHTTP))
		if per < 0.98*perHTTP {
			s[len(s)-1] += " (the default key-template has a folder per set, so a batch holds one set's records and fills more slowly; more of them close on batch-interval)"
		}
		s[len(s)-1] += "."
	}
	if d > 0 && s3.RecordsPerSec < http.RecordsPerSec && s3.Cores.Connector < http.Cores.Connector {
		s = append(s, fmt.Sprintf("The s3 row's connector used %.2f cores to the POST row's %.2f: it was not short of CPU, it waited; and at fewer records/s a batched row spreads each wake-up, system call and reply over fewer records, a likely share of the rest of the difference.",
			s3.Cores.Connector, http.Cores.Connector))
	}
	return strings.Join(s, " ")
}
