// Command xdrhook receives Aerospike XDR change notifications and delivers
// them over HTTP. One binary, several commands: see `xdrhook help`.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

type command struct {
	name, summary string
	run           func(args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"check", "validate a config file and print it resolved", runCheck},
		{"demo", "the embedded demo: XDR emulator → connector → sink, live progress, no config", runDemo},
		{"run", "the connector daemon: xdrhook run --config FILE", runRun},
		{"decode", "read XDR frames (hex lines, or --raw bytes) on stdin and print each as JSON; --config FILE: a dry run of a config", runDecode},
		{"sim", "XDR emulator and load generator: --target HOST:PORT (see -h)", runSim},
		{"sink", "HTTP sink that validates, counts and keeps what it receives: --listen ADDR (see -h)", runSink},
		{"bench", "perf suite: one end-to-end scenario vs the naive baseline, or `bench suite` (make perf)", runBench},
		{"version", "print the version", runVersion},
	}
}

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func dispatch(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(args[1:], stdin, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "xdrhook: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "xdrhook: Aerospike XDR change notifications to HTTP (json, flat-json, message-pack, avro)")
	fmt.Fprintln(w, "\nUsage: xdrhook COMMAND [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun `xdrhook COMMAND -h` for a command's flags.")
}

func runVersion(_ []string, _ io.Reader, stdout, _ io.Writer) int {
	fmt.Fprintln(stdout, "xdrhook", version)
	return 0
}

// parseFlags parses a command's flags with the conventions of every
// command: -h or --help prints the usage on stdout (exit 0); a bad flag
// prints the error and the usage on stderr (exit 2). fs.Usage writes to
// fs.Output(). ok is false when the command should return rc at once;
// after parsing, fs.Output() is stderr.
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (rc int, ok bool) {
	usage := fs.Usage
	fs.Usage = func() {} // flag calls it on every error; printed below
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.Usage = usage
	switch {
	case err == nil:
		fs.SetOutput(stderr)
		return 0, true
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		fs.Usage()
		fs.SetOutput(stderr)
		return 0, false
	default:
		fs.SetOutput(stderr)
		fmt.Fprintf(stderr, "xdrhook %s: %v\n", fs.Name(), err)
		fs.Usage()
		return 2, false
	}
}
