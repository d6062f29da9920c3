package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/xdrhook/xdrhook/perf/xdrsim"
)

// runSim is `xdrhook sim`: a thin flag layer over perf/xdrsim.
func runSim(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: xdrhook sim --target HOST:PORT[,HOST:PORT...] [flags]\n\nEmulates Aerospike XDR toward a connector: pipelined writes and deletes, in-order replies,\nretries (8 9 11 14 18 80), abandons (other codes), resends on a dropped or silent connection.\nSeveral targets (repeat --target, or a comma list) are the nodes of a connector DC: records go\nround-robin over the nodes that pass their health checks; what was in flight on a node that\nfails is re-sent to the others.\nExit status: 0 when every record settled (and --verify found none missing), 1 otherwise, 2 on bad flags.\n\nFlags:")
		fs.PrintDefaults()
	}
	def := xdrsim.DefaultWorkload()
	var (
		cfg       xdrsim.Config
		targets   xdrsim.TargetList
		w         = &cfg.Workload
		size      = fs.String("size", "typical", "record size: small (~150 B), typical (~1 KiB), large (~64 KiB) or a byte count")
		sets      = fs.String("sets", strings.Join(def.Sets, ","), "comma-separated set names (empty: no sets)")
		replay    = fs.String("replay", "", "send the frames of this file (one hex frame per line, or --raw) instead of generated records")
		raw       = fs.Bool("raw", false, "the --replay file is a raw byte stream of frames")
		verify    = fs.String("verify", "", "after the run, check every record settled with 0 was delivered: the sink's URL (GET /ids) or its --store file")
		verifyMax = fs.Int("verify-max", 10_000_000, "with --verify: keep the ids of at most this many settled records (32 bytes each)")
		asJSON    = fs.Bool("json", false, "print the summary as JSON on stdout")
		quiet     = fs.Bool("quiet", false, "no live progress on stderr")
	)
	fs.Var(&targets, "target", "connector address HOST:PORT (required); repeat it or give a comma list for several nodes")
	fs.IntVar(&cfg.Conns, "conns", 4, "connections to each target")
	fs.IntVar(&cfg.Window, "window", 64, "requests in flight per connection")
	fs.DurationVar(&cfg.ReplyTimeout, "reply-timeout", 10*time.Second, "no reply for this long: drop the connection and resend what was in flight")
	fs.DurationVar(&cfg.HealthInterval, "health-interval", 5*time.Second, "open and close an empty connection to each target this often, as XDR health checks; a target that refuses is skipped until it answers (0: never)")
	fs.DurationVar(&cfg.RetryBackoff, "retry-backoff", 100*time.Millisecond, "first delay before re-shipping a record answered retry (doubles)")
	fs.DurationVar(&cfg.MaxRetryBackoff, "max-retry-backoff", time.Second, "longest retry delay")
	fs.Float64Var(&cfg.Rate, "rate", 0, "new records per second (0: as fast as the windows allow)")
	fs.Int64Var(&cfg.Count, "count", 0, "new records in all (0: until --duration or Ctrl-C; with --replay, once per frame)")
	fs.DurationVar(&cfg.Duration, "duration", 0, "stop making new records after this (0: no limit)")
	fs.DurationVar(&cfg.DrainTimeout, "drain-timeout", 30*time.Second, "then wait at most this long for outstanding records to settle")
	fs.IntVar(&cfg.Prebuilt, "prebuilt", 0, "build this many records up front and send them cycling (fastest send path)")
	fs.Uint64Var(&w.Seed, "seed", def.Seed, "workload seed (the same seed makes the same records)")
	fs.IntVar(&w.Keys, "keys", def.Keys, "key space: keys are updated again with rising generation and LUT")
	fs.StringVar(&w.Namespace, "namespace", def.Namespace, "namespace")
	fs.Float64Var(&w.NoSetRatio, "no-set-ratio", def.NoSetRatio, "fraction of keys without a set")
	fs.Float64Var(&w.NoKeyRatio, "no-key-ratio", def.NoKeyRatio, "fraction of keys whose user key is not sent")
	fs.Float64Var(&w.DeleteRatio, "delete-ratio", def.DeleteRatio, "fraction of records that are deletes")
	fs.Float64Var(&w.DurableRatio, "durable-ratio", def.DurableRatio, "fraction of deletes that are durable")
	fs.Float64Var(&w.PartialRatio, "partial-ratio", def.PartialRatio, "fraction of records that are partial writes")
	fs.Float64Var(&w.MetaRatio, "meta-ratio", def.MetaRatio, "fraction of records that are metadata-only writes")
	fs.Float64Var(&w.Compress, "compress", 0, "fraction of frames sent compressed (type 4)")
	fs.IntVar(&w.CompressLevel, "compress-level", 1, "zlib level of compressed frames")
	if rc, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return rc
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "xdrhook sim: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if len(targets) == 0 {
		fmt.Fprintln(stderr, "xdrhook sim: --target HOST:PORT is required")
		return 2
	}
	cfg.Targets = targets
	switch *size {
	case "small":
		w.Size = xdrsim.SizeSmall
	case "typical":
		w.Size = xdrsim.SizeTypical
	case "large":
		w.Size = xdrsim.SizeLarge
	default:
		n, err := strconv.Atoi(*size)
		if err != nil || n <= 0 {
			fmt.Fprintf(stderr, "xdrhook sim: --size %q: want small, typical, large or a byte count\n", *size)
			return 2
		}
		w.Size = n
	}
	w.Sets = []string{}
	for _, s := range strings.Split(*sets, ",") {
		if s = strings.TrimSpace(s); s != "" {
			w.Sets = append(w.Sets, s)
		}
	}
	if *replay != "" {
		f, err := os.Open(*replay)
		if err != nil {
			fmt.Fprintln(stderr, "xdrhook sim:", err)
			return 2
		}
		cfg.Frames, err = xdrsim.LoadFrames(f, *raw)
		f.Close()
		if err != nil {
			fmt.Fprintf(stderr, "xdrhook sim: %s: %v\n", *replay, err)
			return 2
		}
	}
	if *verify != "" {
		cfg.KeepSettled = *verifyMax
	}
	if !*quiet {
		cfg.Progress = stderr
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sm, err := xdrsim.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "xdrhook sim:", err)
		return 2
	}
	stop()
	rc := 0
	if sm.Unsettled > 0 {
		rc = 1
	}
	if *verify != "" {
		vctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		set, err := xdrsim.LoadIDs(vctx, *verify)
		cancel()
		if err != nil {
			fmt.Fprintln(stderr, "xdrhook sim: --verify:", err)
			rc = 1
		} else {
			v := xdrsim.Verify(&sm, set)
			sm.Verify = &v
			if !v.OK() {
				rc = 1
			}
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(sm)
	} else {
		fmt.Fprint(stderr, sm.String())
	}
	return rc
}
