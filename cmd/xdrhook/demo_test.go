package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestDemoDeliversEverything(t *testing.T) {
	for _, c := range []struct{ format, proto string }{{"json", "HTTP_1_1"}, {"message-pack", "HTTP_2"}} {
		var out bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
		err := demo(ctx, &out, 2000, c.format, c.proto, true)
		cancel()
		if err != nil {
			t.Fatalf("%v: %v\n%s", c, err, out.String())
		}
		s := out.String()
		m := regexp.MustCompile(`summary: (\d+) records offered, (\d+) answered 0, 0 abandoned, \d+ retried; sink received \d+ messages \(0 invalid\); every answered record delivered: true \(missing 0`).FindStringSubmatch(s)
		if m == nil || m[1] != m[2] || m[1] == "0" {
			t.Fatalf("%v: output:\n%s", c, s)
		}
		if !strings.Contains(s, "offered") || !strings.Contains(s, "delivered") {
			t.Fatalf("no progress lines:\n%s", s)
		}
	}
}
