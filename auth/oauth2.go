package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// newOAuth2 fetches access tokens with the OAuth2 client-credentials grant
// (RFC 6749 section 4.4) from Spec.TokenURL and sends them as bearer
// tokens; a token without expires_in is kept until the process ends.
func newOAuth2(spec Spec, o Options) (Authorizer, error) {
	switch {
	case spec.TokenURL == "":
		return nil, errors.New("oauth2-client-credentials: no token-url")
	case spec.ClientID == "":
		return nil, errors.New("oauth2-client-credentials: no client-id")
	}
	cfg := &clientcredentials.Config{ClientID: spec.ClientID, ClientSecret: spec.ClientSecret,
		TokenURL: spec.TokenURL, Scopes: spec.Scopes}
	client := o.HTTPClient
	return newTokenAuth(TypeOAuth2, o, 0, func(ctx context.Context) ([]byte, time.Time, error) {
		// Config.Token fetches a new token every call (no cache of its own).
		tok, err := cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, client))
		if err != nil {
			return nil, time.Time{}, oauth2Error(err)
		}
		if tok.AccessToken == "" {
			return nil, time.Time{}, errors.New("token endpoint answered without an access_token")
		}
		return append([]byte(tok.Type()+" "), tok.AccessToken...), tok.Expiry, nil
	}), nil
}

// oauth2Error describes a failed token request without the response body,
// which a misbehaving endpoint might fill with anything.
func oauth2Error(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		s := "token endpoint answered"
		if re.Response != nil {
			s += " " + re.Response.Status
		}
		if re.ErrorCode != "" {
			s += " error=" + re.ErrorCode
		}
		return errors.New(s)
	}
	return fmt.Errorf("token request: %w", err)
}
