package connector

import (
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/xdrhook/xdrhook/auth"
	"github.com/xdrhook/xdrhook/config"
)

// authSpec maps a destination's auth block onto auth.Spec. Static x-amz-*
// headers are signed with SigV4 (S3 refuses unsigned ones).
func authSpec(cd *config.Destination) auth.Spec {
	a := cd.Auth
	s := auth.Spec{Type: string(a.Type), Service: a.Service, Region: a.Region, Profile: a.Profile, RoleARN: a.RoleARN,
		TokenURL: a.TokenURL, ClientID: a.ClientID, ClientSecret: a.ClientSecret, Scopes: a.Scopes,
		Audience: a.Audience, CredentialsFile: a.CredentialsFile, File: a.File}
	if a.Type == config.AuthAWSSigV4 {
		for _, h := range cd.Headers {
			if strings.HasPrefix(strings.ToLower(h.Name), "x-amz-") {
				s.SignedHeaders = append(s.SignedHeaders, [2]string{h.Name, h.Value})
			}
		}
	}
	return s
}

// buildAuth starts the Authorizer of cd (nil, nil without auth) and the
// counter of its failed refreshes.
func buildAuth(cd *config.Destination, log *slog.Logger) (auth.Authorizer, *atomic.Uint64, error) {
	if cd.Auth == nil {
		return nil, nil, nil
	}
	n := new(atomic.Uint64)
	if log == nil {
		log = slog.Default()
	}
	a, err := auth.New(authSpec(cd), auth.Options{Destination: cd.Name, Log: log, RefreshError: func() { n.Add(1) }})
	if err != nil {
		return nil, nil, err
	}
	return a, n, nil
}

// ProbeAuth fetches one token or set of credentials for cd's auth block
// (xdrhook check --probe) within timeout: nil means it worked. The error
// holds no secret.
func ProbeAuth(cd *config.Destination, timeout time.Duration) error {
	return auth.Probe(authSpec(cd), timeout)
}
