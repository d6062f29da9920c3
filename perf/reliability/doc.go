// Package reliability holds process-level scenario tests of xdrhook's
// delivery guarantee (docs/guarantees.md): `xdrhook run` as a separate
// process (perf/harness), fed by the XDR emulator (perf/xdrsim) and
// delivering to the in-process sink (perf/sink) or to a real downstream
// (VictoriaLogs), while faults are injected on either side.
//
// Every scenario ends with the same check: every record the emulator saw
// answered 0 was received by the destination at least once
// (xdrsim.Verify: Missing == 0), nothing is left unsettled or abandoned,
// and duplicates are counted. Each prints its figures with t.Logf — records
// sent, delivered, duplicates, the connector's peak RSS, the recovery time
// — so `go test -v` shows them; TestMain prints them again as one table.
//
// The scenarios are the system tier: `go test -short` (make test) skips
// them all, and so do -race builds (the connector is a separate binary
// built without the race detector).
//
//	go test -v ./perf/reliability                        # every scenario, ~4 minutes on 2 cores
//	go test -v ./perf/reliability -run TestSoak -soak 10m # the soak for 10 minutes (default 20 s)
//	make reliability                                     # all of them, verbose
//	make reliability SOAK=10m                            # with a 10-minute soak
//	make test-system                                     # these and the other process-level tests
//
// Scenarios: destination faults (TestDestinationFaults: down, flapping,
// 5xx and 429 storms with Retry-After, latency past the reply deadline,
// connections reset mid-request), TestKillAndRestart (SIGKILL and restart
// under load), TestSigtermUnderLoad, TestXDRSide (half frames, 512
// connections, health-check floods, a reader that never reads),
// TestHostileFrames (fuzz corpus, oversized frames, zlib bombs, deep
// nesting, huge counts), TestDeepPipeline (30,000 requests pipelined per
// XDR connection toward a slow destination), TestSoak, TestSecurity and
// TestVictoriaLogs.
//
// Flags and environment:
//   - -soak DURATION: TestSoak's length (default 20s; a fault every
//     max(4 s, 1/20 of it)).
//   - XDRHOOK_BIN: a prebuilt xdrhook binary (perf/harness).
//   - XDRHOOK_VICTORIALOGS_BIN: a victoria-logs binary; otherwise
//     VictoriaLogs v1.52.1 is built once with `go install` into the user
//     cache directory (the test is skipped if that fails).
//
// The package has no code outside its tests.
package reliability
