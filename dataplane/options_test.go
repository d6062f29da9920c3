package dataplane

import (
	"strings"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/wire"
)

// The values a configuration file gives the data plane come resolved from
// package config; tests that build options by hand fill the ones they leave
// zero with these (config's defaults, written out).

func testOptions(o Options) Options {
	if o.MaxConcurrentRecords == 0 {
		o.MaxConcurrentRecords = 32768
	}
	if o.MaxFrameBytes == 0 {
		o.MaxFrameBytes = wire.DefaultMaxBody
	}
	if o.ReplyDeadline == 0 {
		o.ReplyDeadline = 8 * time.Second
	}
	if o.MaxConnections == 0 {
		o.MaxConnections = 1024
	}
	return o
}

func testDestinationOptions(o DestinationOptions) DestinationOptions {
	if o.MaxInFlight == 0 {
		o.MaxInFlight = 64
	}
	if o.CallTimeout == 0 {
		o.CallTimeout = 5 * time.Second
	}
	if o.Retry.MaxAttempts == 0 {
		o.Retry.MaxAttempts = 3
	}
	if o.Retry.InitialBackoff == 0 && o.Retry.MaxBackoff == 0 {
		o.Retry.InitialBackoff, o.Retry.MaxBackoff = 50*time.Millisecond, time.Second
	}
	o.Retry.MaxBackoff = max(o.Retry.MaxBackoff, o.Retry.InitialBackoff)
	if o.Success == nil {
		o.Success = StatusRange{200, 299}
	}
	return o
}

func testHTTPOptions(o HTTPOptions) HTTPOptions {
	if o.Method == "" {
		o.Method = "POST"
	}
	if o.MaxConnsPerEndpoint == 0 {
		o.MaxConnsPerEndpoint = 8
	}
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = time.Second
	}
	if o.GzipThreshold == 0 {
		o.GzipThreshold = 1024
	}
	if o.IdleConnTimeout == 0 {
		o.IdleConnTimeout = 10 * time.Second
	}
	if o.H2ReadIdleTimeout == 0 {
		o.H2ReadIdleTimeout = 10 * time.Second
	}
	if o.H2PingTimeout == 0 {
		o.H2PingTimeout = 5 * time.Second
	}
	if o.UserAgent == "" {
		o.UserAgent = "xdrhook/test"
	}
	return o
}

func newTestEngine(o Options) (*Engine, error) { return New(testOptions(o)) }

func newTestDestination(o DestinationOptions) *Destination {
	return NewDestination(testDestinationOptions(o))
}

func newTestHTTP1(o HTTPOptions) (Sender, error) { return NewHTTP1Sender(testHTTPOptions(o)) }

func newTestHTTP2(o HTTPOptions) (Sender, error) { return NewHTTP2Sender(testHTTPOptions(o)) }

// TestOptionsChecked: the data plane has no second set of defaults; a zero
// it cannot work with is an error that names the setting.
func TestOptionsChecked(t *testing.T) {
	snd, err := newTestHTTP1(HTTPOptions{URLs: []string{"http://127.0.0.1:1/"}})
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()
	engine := func(o Options, d DestinationOptions) error {
		d.Sender = snd
		o.Listen, o.Router = []string{"127.0.0.1:0"}, &StaticRouter{}
		o.Destinations = []*Destination{NewDestination(d)}
		_, err := New(o)
		return err
	}
	okO, okD := testOptions(Options{}), testDestinationOptions(DestinationOptions{Name: "d"})
	if err := engine(okO, okD); err != nil {
		t.Fatalf("valid options: %v", err)
	}
	for _, c := range []struct {
		want string
		o    func(*Options)
		d    func(*DestinationOptions)
	}{
		{"max-concurrent-records 0", func(o *Options) { o.MaxConcurrentRecords = 0 }, nil},
		{"max-frame-bytes 0", func(o *Options) { o.MaxFrameBytes = 0 }, nil},
		{"reply-deadline 0s", func(o *Options) { o.ReplyDeadline = 0 }, nil},
		{"max-connections 0", func(o *Options) { o.MaxConnections = 0 }, nil},
		{`"d": max-in-flight 0`, nil, func(d *DestinationOptions) { d.MaxInFlight = 0 }},
		{`"d": call-timeout 0s`, nil, func(d *DestinationOptions) { d.CallTimeout = 0 }},
		{`"d": retry max-attempts 0`, nil, func(d *DestinationOptions) { d.Retry.MaxAttempts = 0 }},
		{`"d": retry backoff 50ms to 0s`, nil, func(d *DestinationOptions) { d.Retry.MaxBackoff = 0 }},
		{`"d": no success statuses`, nil, func(d *DestinationOptions) { d.Success = nil }},
	} {
		o, d := okO, okD
		if c.o != nil {
			c.o(&o)
		}
		if c.d != nil {
			c.d(&d)
		}
		if err := engine(o, d); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v", c.want, err)
		}
	}
	// A backoff of 0 is a retry at once, not a missing value.
	d := okD
	d.Retry.InitialBackoff, d.Retry.MaxBackoff = 0, 0
	if err := engine(okO, d); err != nil {
		t.Errorf("retry at once: %v", err)
	}

	okH := testHTTPOptions(HTTPOptions{URLs: []string{"http://127.0.0.1:1/"}})
	for _, c := range []struct {
		want string
		h2   bool
		h    func(*HTTPOptions)
	}{
		{"no method", false, func(h *HTTPOptions) { h.Method = "" }},
		{"max-connections-per-endpoint 0", true, func(h *HTTPOptions) { h.MaxConnsPerEndpoint = 0 }},
		{"connect-timeout 0s", false, func(h *HTTPOptions) { h.ConnectTimeout = 0 }},
		{"compression-threshold -1", false, func(h *HTTPOptions) { h.GzipThreshold = -1 }},
		{"idle-connection-timeout 0s", false, func(h *HTTPOptions) { h.IdleConnTimeout = 0 }},
		{"idle-connection-timeout 0s", true, func(h *HTTPOptions) { h.IdleConnTimeout = 0 }},
		{"http2-read-idle-timeout 0s", true, func(h *HTTPOptions) { h.H2ReadIdleTimeout = 0 }},
		{"http2-ping-timeout 0s", true, func(h *HTTPOptions) { h.H2PingTimeout = 0 }},
	} {
		h := okH
		c.h(&h)
		newSender := NewHTTP1Sender
		if c.h2 {
			newSender = NewHTTP2Sender
		}
		if _, err := newSender(h); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v", c.want, err)
		}
	}
	// Compressing every body is a threshold of 0.
	h := okH
	h.GzipThreshold = 0
	if s, err := NewHTTP1Sender(h); err != nil {
		t.Errorf("compression-threshold 0: %v", err)
	} else {
		s.Close()
	}
}
