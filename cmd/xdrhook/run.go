package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/xdrhook/xdrhook/config"
	"github.com/xdrhook/xdrhook/connector"
	"github.com/xdrhook/xdrhook/dataplane"
)

// runRun is the daemon: `xdrhook run --config FILE`.
func runRun(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	path := fs.String("config", "", "the YAML configuration file (see config.md)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: xdrhook run --config FILE\n\nThe connector daemon. SIGTERM/SIGINT: answers every record in flight, exits 0.\n\nFlags:")
		fs.PrintDefaults()
	}
	if rc, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return rc
	}
	if *path == "" {
		fmt.Fprintln(stderr, "xdrhook run: --config FILE is required (try `xdrhook demo` for a run without one)")
		return 2
	}
	cfg, err := config.Load(*path, config.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "xdrhook run: %v\n", err)
		return 2
	}
	log := newLogger(stderr, cfg.Logging)
	for _, w := range cfg.Warnings {
		log.Warn("config: " + w.Error())
	}
	for _, n := range cfg.Notes {
		log.Info("config: " + n.Error())
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := serve(ctx, cfg, log, nil); err != nil {
		log.Error("xdrhook stopped", "err", err)
		return 1
	}
	return 0
}

func newLogger(w io.Writer, l config.Logging) *slog.Logger {
	opts := &slog.HandlerOptions{Level: l.SlogLevel()}
	if l.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// serve runs the connector until ctx ends, then shuts down gracefully:
// new records are answered 11, everything accepted is settled or answered,
// and the listeners close. started, if set, receives the engine once it
// accepts connections.
func serve(ctx context.Context, cfg *config.Config, log *slog.Logger, started chan<- *dataplane.Engine) error {
	// One P more than the CPUs, and one event loop per CPU: counted before
	// the spare P (the engine's default would count it).
	cpus, _ := setProcs(cfg.Service.IOThreads, cfg.Service.TLS != nil)
	e, err := connector.New(cfg, dataplane.Options{Logger: log, Loops: cpus}, version)
	if err != nil {
		return err
	}
	manageLn, err := net.Listen("tcp", cfg.Service.Manage.Addr())
	if err != nil {
		return fmt.Errorf("manage listener: %w", err)
	}
	msrv := &http.Server{Handler: e.ManageHandler(), ReadHeaderTimeout: 5 * time.Second}
	go msrv.Serve(manageLn)
	defer msrv.Close()
	if err := e.Start(); err != nil {
		return err
	}
	log.Info("xdrhook listening", "xdr", cfg.Service.ListenAddrs(), "tls", cfg.Service.TLS != nil,
		"manage", manageLn.Addr().String(), "destinations", cfg.DestinationNames, "version", version,
		"gomaxprocs", runtime.GOMAXPROCS(0))
	if started != nil {
		started <- e
	}
	<-ctx.Done()
	log.Info("shutting down: answering every record in flight", "in_flight", e.InFlight())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Service.ReplyDeadline+5*time.Second)
	defer cancel()
	if err := e.Stop(sctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	log.Info("stopped cleanly")
	return nil
}
