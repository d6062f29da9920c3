package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestSinkCommand(t *testing.T) {
	var out, errb syncBuffer
	done := make(chan int)
	go func() {
		done <- dispatch([]string{"sink", "--listen", "127.0.0.1:0", "--duration", "1500ms", "--json", "--fail-first", "1"}, nil, &out, &errb)
	}()
	re := regexp.MustCompile(`listening on (http://\S+)`)
	var url string
	for deadline := time.Now().Add(3 * time.Second); url == ""; {
		if m := re.FindStringSubmatch(errb.String()); m != nil {
			url = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no listening line:\n%s", errb.String())
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	body := `{"metadata":{"namespace":"test","digest":"X+O3wPRmmnfIRWwb9PH2jFWsEAI=","msg":"delete","gen":2,"lut":1734388731220,"durable":false}}` + "\n"
	statuses := ""
	for i := 0; i < 2; i++ {
		r, err := http.Post(url+"/x", "application/x-ndjson", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		statuses += fmt.Sprint(r.StatusCode, " ")
	}
	if statuses != "503 200 " {
		t.Errorf("statuses %s", statuses)
	}
	select {
	case rc := <-done:
		if rc != 0 {
			t.Fatalf("rc %d\n%s", rc, errb.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("sink did not stop after --duration")
	}
	var st struct {
		Requests, Records int64
		Faults            map[string]int64
	}
	if err := json.Unmarshal([]byte(out.String()), &st); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if st.Requests != 2 || st.Records != 1 || st.Faults["fail-first"] != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestSinkCommandBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--check", "some"},
		{"--fail-rate", "1.5"},
		{"--listen", "127.0.0.1:0", "extra"},
	} {
		var out, errb bytes.Buffer
		if rc := dispatch(append([]string{"sink"}, args...), nil, &out, &errb); rc != 2 {
			t.Errorf("%v: rc %d, want 2", args, rc)
		}
	}
}
