package reliability

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/perf/harness"
	"github.com/xdrhook/xdrhook/perf/xdrsim"
	"github.com/xdrhook/xdrhook/wire"
)

const victoriaLogsVersion = "v1.52.1"

// victoriaLogs returns the path of a victoria-logs binary: XDRHOOK_VICTORIALOGS_BIN,
// or one built with `go install` into the user's cache directory (once).
func victoriaLogs(t *testing.T) string {
	if p := os.Getenv("XDRHOOK_VICTORIALOGS_BIN"); p != "" {
		return p
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "xdrhook-reliability", "victorialogs-"+victoriaLogsVersion)
	bin := filepath.Join(dir, "victoria-logs")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Skipf("VictoriaLogs: cache directory: %v", err)
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		t.Skipf("VictoriaLogs: %v", err)
	}
	defer os.RemoveAll(tmp)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install", "github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@"+victoriaLogsVersion)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("VictoriaLogs %s could not be built (go install, GOFLAGS=-mod=mod GOTOOLCHAIN=local): %v\n%s",
			victoriaLogsVersion, err, tail(string(out), 20))
	}
	if err := os.Rename(filepath.Join(tmp, "victoria-logs"), bin); err != nil {
		t.Skipf("VictoriaLogs: %v", err)
	}
	t.Logf("built VictoriaLogs %s in %v into %s", victoriaLogsVersion, time.Since(start).Round(time.Second), bin)
	return bin
}

// startVictoriaLogs runs victoria-logs on a free port until the test ends.
func startVictoriaLogs(t *testing.T, bin string) string {
	addr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t))
	p, err := harness.Command{Name: "victoria-logs", Bin: bin,
		Args: []string{"-storageDataPath=" + t.TempDir(), "-httpListenAddr=" + addr, "-loggerLevel=WARN"}}.Start()
	if err != nil {
		t.Skipf("VictoriaLogs does not start: %v", err)
	}
	t.Cleanup(p.Kill)
	base := "http://" + addr
	if err := p.WaitUp(context.Background(), base+"/health", "", 20*time.Second); err != nil {
		t.Fatalf("VictoriaLogs: %v:\n%s", err, p.Log())
	}
	return base
}

// vlRecord is one record sent and what VictoriaLogs must hold for it.
type vlRecord struct {
	digest string // base64: the _msg
	lutMs  int64
	set    string
	delete bool
	fields map[string]string // expected fields, as VictoriaLogs stores them (strings)
}

// TestVictoriaLogs: a real downstream. The connector streams es-bulk
// (flat-json documents, deletes omitted) to VictoriaLogs'
// Elasticsearch bulk API, with the LUT as the log time (VL-Time-Field:
// metadata.lut) and the digest as the message (VL-Msg-Field:
// metadata.digest); then every record is read back with LogsQL and its
// fields compared. Batched, and one record per request (batching off: each
// body is still a _bulk body).
func TestVictoriaLogs(t *testing.T) {
	systemTier(t)
	bin := victoriaLogs(t)
	t.Run("batched", func(t *testing.T) { testVictoriaLogs(t, bin, "") })
	t.Run("batching-off", func(t *testing.T) { testVictoriaLogs(t, bin, "off") })
}

func testVictoriaLogs(t *testing.T, bin, batching string) {
	base := startVictoriaLogs(t, bin)

	c := conf{
		URL:      base,
		Batching: batching,
		// VictoriaLogs takes index and create actions only (no update, no
		// delete, no versions): write-operation index, so that a partial
		// write is never sent as an update (this workload has none).
		Format: "{mode: flat-json, framing: es-bulk, omit-deletes: true, write-operation: index}",
		Dest: []string{
			`path: /insert/elasticsearch/_bulk`,
			`headers: {VL-Time-Field: metadata.lut, VL-Msg-Field: metadata.digest, VL-Stream-Fields: "metadata.namespace,metadata.set"}`,
		},
	}
	p := harness.Connector{Config: c.yaml()}.Start(t)
	w := watch(p, 100*time.Millisecond, false)

	recs, frames := vlWorkload(3000)
	cfg := simConfig(p.XDRAddr)
	cfg.Frames, cfg.Rate, cfg.Conns = frames, 0, 4
	sm, err := xdrsim.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sm.Settled != int64(len(recs)) || sm.Unsettled != 0 || sm.Abandoned != 0 {
		t.Fatalf("emulator: %s", sm.String())
	}
	writes := 0
	for _, r := range recs {
		if !r.delete {
			writes++
		}
	}

	// Read everything back (VictoriaLogs makes rows searchable within a
	// second or so).
	var rows []map[string]string
	var qerr error
	start := time.Now()
	waitFor(30*time.Second, func() bool {
		rows, qerr = vlQuery(base, "*")
		return qerr == nil && len(rows) >= writes
	})
	if qerr != nil {
		t.Fatalf("LogsQL query: %v", qerr)
	}
	visible := time.Since(start)
	byMsg := map[string][]map[string]string{}
	for _, r := range rows {
		byMsg[r["_msg"]] = append(byMsg[r["_msg"]], r)
	}
	missing, wrong, dups, leakedDeletes := 0, 0, 0, 0
	for _, r := range recs {
		got := byMsg[r.digest]
		if r.delete {
			if len(got) > 0 {
				leakedDeletes++
			}
			continue
		}
		if len(got) == 0 {
			missing++
			if missing <= 5 {
				t.Errorf("record %s (lut %d) not in VictoriaLogs", r.digest, r.lutMs)
			}
			continue
		}
		if len(got) > 1 {
			dups++
		}
		row := got[0]
		for k, v := range r.fields {
			if row[k] != v {
				wrong++
				if wrong <= 5 {
					t.Errorf("record %s: field %q = %q, want %q (row %v)", r.digest, k, row[k], v, row)
				}
			}
		}
		if ts, err := time.Parse(time.RFC3339Nano, row["_time"]); err != nil || ts.UnixMilli() != r.lutMs {
			wrong++
			if wrong <= 5 {
				t.Errorf("record %s: _time %q, want the LUT %s", r.digest, row["_time"], time.UnixMilli(r.lutMs).UTC().Format(time.RFC3339Nano))
			}
		}
	}
	if leakedDeletes > 0 {
		t.Errorf("%d deletes reached VictoriaLogs despite omit-deletes", leakedDeletes)
	}
	f := figures{Sent: int64(len(recs)), Frames: sm.Sent, Delivered: int64(writes - missing), Duplicates: int64(dups),
		ExtraDeliv: int64(len(rows) - (writes - missing)), Retries: sm.Retries, Resent: sm.Resent, MaxRSS: w.Stop(), Recovery: -1,
		Extra: fmt.Sprintf("VictoriaLogs %s: %d writes + %d deletes (omitted, answered 0); rows %d, missing %d, wrong fields %d, searchable after %v",
			victoriaLogsVersion, writes, len(recs)-writes, len(rows), missing, wrong, visible.Round(time.Millisecond))}
	report(t, f)
}

// vlQuery runs a LogsQL query and returns the rows.
func vlQuery(base, q string) ([]map[string]string, error) {
	u := base + "/select/logsql/query?" + url.Values{"query": {q}, "limit": {"1000000"}}.Encode()
	r, err := http.Get(u)
	if err != nil {
		return nil, err
	}
	defer r.Body.Close()
	if r.StatusCode != 200 {
		return nil, fmt.Errorf("%s: %s", u, r.Status)
	}
	var rows []map[string]string
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var row map[string]string
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			return nil, fmt.Errorf("row %q: %v", sc.Text(), err)
		}
		rows = append(rows, row)
	}
	return rows, sc.Err()
}

// vlWorkload builds n records with current LUTs (one ms apart): writes with
// string, int, bool, float, list and nested map bins, some without a set,
// and one in 20 a delete.
func vlWorkload(n int) ([]vlRecord, [][]byte) {
	base := time.Now().UnixMilli() - int64(n) - 1000
	var recs []vlRecord
	var frames [][]byte
	for i := 0; i < n; i++ {
		set := []string{"users", "orders"}[i%2]
		if i%50 == 3 {
			set = ""
		}
		key := "vl-" + strconv.Itoa(i)
		lut := base + int64(i)
		var r *wire.Record
		vr := vlRecord{lutMs: lut, set: set}
		if i%20 == 7 {
			r = rec("test", key, lut)
			r.Kind, r.Durable, r.TTL, r.Generation = wire.KindDelete, i%40 == 7, 0, 2
			vr.delete = true
		} else {
			tags := wire.AppendCDTList(nil, 2)
			tags = wire.AppendCDTString(tags, "a")
			tags = wire.AppendCDTString(tags, "b-"+strconv.Itoa(i))
			attrs := wire.AppendCDTMap(nil, 2)
			attrs = wire.AppendCDTString(attrs, "k")
			attrs = wire.AppendCDTInt(attrs, int64(i))
			attrs = wire.AppendCDTString(attrs, "nested")
			attrs = wire.AppendCDTMap(attrs, 1)
			attrs = wire.AppendCDTString(attrs, "x")
			attrs = wire.AppendCDTString(attrs, "y")
			score := float64(i) + 0.5
			r = rec("test", key, lut,
				strBin("name", "user "+strconv.Itoa(i)),
				intBin("n", int64(i)),
				wire.BinSpec{Name: "ok", Type: wire.ParticleBool, Value: wire.BoolValue(i%3 == 0)},
				wire.BinSpec{Name: "score", Type: wire.ParticleFloat, Value: wire.FloatValue(score)},
				wire.BinSpec{Name: "tags", Type: wire.ParticleList, Value: tags},
				wire.BinSpec{Name: "attrs", Type: wire.ParticleMap, Value: attrs},
			)
			vr.fields = map[string]string{
				"metadata.namespace": "test",
				"metadata.msg":       "write",
				"metadata.userKey":   key,
				"metadata.gen":       "1",
				"name":               "user " + strconv.Itoa(i),
				"n":                  strconv.Itoa(i),
				"ok":                 strconv.FormatBool(i%3 == 0),
				"score":              strconv.FormatFloat(score, 'g', -1, 64),
				"tags":               `["a","b-` + strconv.Itoa(i) + `"]`,
				"attrs.k":            strconv.Itoa(i),
				"attrs.nested.x":     "y",
			}
			if set != "" {
				vr.fields["metadata.set"] = set
			}
		}
		r.Set = set
		digester.mu.Lock()
		r.SetDigest(&digester.d)
		digester.mu.Unlock()
		vr.digest = base64.StdEncoding.EncodeToString(r.Digest[:])
		recs = append(recs, vr)
		frames = append(frames, wire.AppendFrame(nil, r))
	}
	return recs, frames
}
