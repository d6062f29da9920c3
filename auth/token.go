package auth

import (
	"context"
	"time"
)

// tokenAuth sends a bearer token that a refresher keeps current: the
// Authorization header value is built once per token, so Apply is one
// atomic load and one header copy.
type tokenAuth struct {
	r   *refresher[[]byte]
	now func() time.Time
}

func newTokenAuth(kind string, o Options, every time.Duration, fetch fetchFunc[[]byte]) *tokenAuth {
	return &tokenAuth{r: newRefresher(kind, o, every, fetch), now: time.Now}
}

// Apply implements Authorizer.
func (t *tokenAuth) Apply(_ *Request, h HeaderSetter) error {
	c, err := t.r.get(t.now())
	if err != nil {
		return err
	}
	h.SetHeader("Authorization", c.v)
	return nil
}

// Wait implements Authorizer.
func (t *tokenAuth) Wait(ctx context.Context) error { return t.r.wait(ctx) }

// Close implements Authorizer.
func (t *tokenAuth) Close() { t.r.close() }

// bearer is the Authorization value of token.
func bearer(token string) []byte { return append([]byte("Bearer "), token...) }
