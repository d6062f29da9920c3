package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	gauth "cloud.google.com/go/auth"
	"cloud.google.com/go/auth/credentials"
	"cloud.google.com/go/auth/credentials/idtoken"
)

// newGoogleID sends Google-signed ID tokens whose aud is Spec.Audience (what
// Cloud Functions, Cloud Run and IAP check), from a service-account key
// file (Spec.CredentialsFile: a JWT signed with the key is exchanged at the
// file's token_uri) or from Application Default Credentials (on GCE, GKE
// and Cloud Run the metadata server mints them).
func newGoogleID(spec Spec, o Options) (Authorizer, error) {
	if spec.Audience == "" {
		return nil, errors.New("google-id-token: no audience")
	}
	// No Client: the library wants an authenticated one for impersonation
	// and makes its own.
	opts := &idtoken.Options{Audience: spec.Audience}
	c, err := func() (*gauth.Credentials, error) {
		if spec.CredentialsFile != "" {
			// Only a service-account key: an external-account file could
			// make us run commands or fetch URLs it names.
			return idtoken.NewCredentialsFromFile(credentials.ServiceAccount, spec.CredentialsFile, opts)
		}
		return idtoken.NewCredentials(opts)
	}()
	if err != nil {
		return nil, fmt.Errorf("google-id-token: %v", err)
	}
	return newTokenAuth(TypeGoogleID, o, 0, func(ctx context.Context) ([]byte, time.Time, error) {
		tok, err := c.Token(ctx)
		if err != nil {
			return nil, time.Time{}, googleError(err)
		}
		return bearer(tok.Value), tok.Expiry, nil
	}), nil
}

// googleError describes a failed ID token request without the response
// body (auth.Error's text carries it).
func googleError(err error) error {
	var ge *gauth.Error
	if errors.As(err, &ge) && ge.Response != nil {
		return fmt.Errorf("ID token: token endpoint answered %s", ge.Response.Status)
	}
	return fmt.Errorf("ID token: %v", err)
}
