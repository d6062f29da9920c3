package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/xdrhook/xdrhook/perf/sink"
)

// runSink is `xdrhook sink`: a thin flag layer over perf/sink. It serves
// until SIGINT/SIGTERM (or --duration), then prints its counters.
func runSink(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sink", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: xdrhook sink [--listen ADDR] [flags]\n\nAn HTTP/1.1 + h2c (or, with --tls, HTTPS + h2) destination that validates every xdrhook body\n(json, flat-json, message-pack, avro; ndjson, json-array, es-bulk, splunk-hec, msgpack-array, avro-ocf),\ncounts it, keeps the ids it received (GET /ids, for `xdrhook sim --verify`) and injects faults.\nGET /stats: counters as JSON.\n\nFlags:")
		fs.PrintDefaults()
	}
	var cfg sink.Config
	var (
		asJSON   = fs.Bool("json", false, "print the final counters as JSON on stdout")
		quiet    = fs.Bool("quiet", false, "no progress line on stderr")
		duration = fs.Duration("duration", 0, "stop after this long (0: until SIGINT/SIGTERM)")
		maxBody  = fs.Int64("max-body", 256<<20, "bound on a request body in bytes (413 above)")
	)
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:8080", "address to listen on (port 0: any free port)")
	fs.BoolVar(&cfg.TLS, "tls", false, "serve HTTPS (h2 and HTTP/1.1) with a self-signed certificate made at start")
	fs.StringVar(&cfg.CertOut, "cert-out", "", "with --tls: write the certificate to this file (PEM), for a client's ca-file")
	fs.StringVar(&cfg.MetadataKey, "metadata-key", "metadata", "flat-json metadata object name (format.metadata-key)")
	fs.StringVar(&cfg.AvroSchemaFile, "avro-schema", "", "Avro schema file for single-object messages (default: encode/schema/change_notification.avsc if found)")
	fs.StringVar(&cfg.Check, "check", "full", "full: validate every message and keep its id; count: count records by their framing only, served by fasthttp and a lean h2c server (h2 with --tls) unless faults or --store ask for net/http (load runs)")
	fs.IntVar(&cfg.MaxIDs, "max-ids", 10_000_000, "distinct ids kept for GET /ids")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the fault decisions")
	fs.Float64Var(&cfg.FailRate, "fail-rate", 0, "fraction of requests answered --fail-status")
	fs.IntVar(&cfg.FailStatus, "fail-status", 503, "status of injected failures")
	fs.IntVar(&cfg.FailFirst, "fail-first", 0, "answer the first K requests --fail-status")
	fs.StringVar(&cfg.RetryAfter, "retry-after", "", "Retry-After header value on injected failures")
	fs.DurationVar(&cfg.Latency, "latency", 0, "add this latency to every request")
	fs.BoolVar(&cfg.LatencyRand, "latency-random", false, "a random latency up to --latency instead of a fixed one")
	fs.Float64Var(&cfg.HangupRate, "hangup-rate", 0, "fraction of requests whose connection is closed mid-request")
	fs.DurationVar(&cfg.DownAfter, "down-after", 0, "go down (close the listener and every connection) this long after start...")
	fs.DurationVar(&cfg.DownFor, "down-for", 0, "...for this long, then listen again")
	fs.StringVar(&cfg.Store, "store", "", "append the id of every message received to this file (NDJSON; usable by sim --verify)")
	fs.BoolVar(&cfg.StoreRaw, "store-raw", false, "with --store: keep each message too")
	if rc, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return rc
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "xdrhook sink: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	cfg.MaxBody = *maxBody
	if !*quiet {
		cfg.Progress = stderr
	}
	s, err := sink.New(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "xdrhook sink:", err)
		return 2
	}
	if err := s.Start(); err != nil {
		fmt.Fprintln(stderr, "xdrhook sink:", err)
		return 1
	}
	schema := "avro single-object: validated"
	if !s.Stats().AvroSchemaKnown {
		schema = "avro single-object: no schema found, counted unvalidated"
	}
	fmt.Fprintf(stderr, "xdrhook sink: listening on %s (%s)\n", s.URL(), schema)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	<-ctx.Done()
	stop()
	closeErr := s.Close()
	st := s.Stats()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(st)
	} else {
		fmt.Fprintf(stderr, "xdrhook sink: %.1fs  requests %d  accepted %d  records %d  bytes %d  invalid %d  distinct ids %d  duplicates %d\n",
			st.UptimeSeconds, st.Requests, st.Accepted, st.Records, st.Bytes, st.Invalid, st.DistinctIDs, st.Duplicates)
		if st.LastInvalid != "" {
			fmt.Fprintf(stderr, "  last invalid: %s\n", st.LastInvalid)
		}
	}
	if closeErr != nil {
		fmt.Fprintln(stderr, "xdrhook sink:", closeErr)
		return 1
	}
	return 0
}
