package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// newBearerFile sends the token in Spec.File as a bearer token, re-reading
// the file every Options.BearerPoll: a projected Kubernetes service-account
// token is swapped in by replacing a ..data symlink, which a poll sees
// whatever the file system (inotify on the old path would not).
func newBearerFile(spec Spec, o Options) (Authorizer, error) {
	if spec.File == "" {
		return nil, errors.New("bearer-file: no file")
	}
	every := o.BearerPoll
	if every <= 0 {
		every = 250 * time.Millisecond
	}
	var prev []byte // only the refresher goroutine calls fetch
	return newTokenAuth(TypeBearerFile, o, every, func(context.Context) ([]byte, time.Time, error) {
		b, err := os.ReadFile(spec.File)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("token file: %w", err)
		}
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			return nil, time.Time{}, fmt.Errorf("token file %s is empty", spec.File)
		}
		if bytes.ContainsAny(b, "\r\n") {
			return nil, time.Time{}, fmt.Errorf("token file %s holds more than one line", spec.File)
		}
		// Keep the current value when unchanged: no garbage per poll.
		if prev == nil || !bytes.Equal(prev[len("Bearer "):], b) {
			prev = bearer(string(b))
		}
		return prev, time.Time{}, nil
	}), nil
}
