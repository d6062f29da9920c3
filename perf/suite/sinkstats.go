package suite

import (
	"encoding/json"
	"fmt"

	"github.com/xdrhook/xdrhook/perf/harness"
)

// sinkStats is the part of the sink's GET /stats the suite reads.
type sinkStats struct {
	Requests int64            `json:"requests"`
	Accepted int64            `json:"accepted"`
	Records  int64            `json:"records"`
	Bytes    int64            `json:"bytes"`
	Invalid  int64            `json:"invalid"`
	ByProto  map[string]int64 `json:"byProto"`
	Last     string           `json:"lastInvalid"`
}

func getSinkStats(base string) (sinkStats, error) {
	var st sinkStats
	code, b, err := harness.HTTPGet(base + "/stats")
	if err != nil {
		return st, err
	}
	if code != 200 {
		return st, fmt.Errorf("sink /stats: status %d", code)
	}
	err = json.Unmarshal(b, &st)
	return st, err
}
