package config

import (
	"bytes"
	"strings"
	"testing"
)

func authConfig(dest string) string {
	return "destinations:\n  d:\n" + dest + "routing: {mode: static, destination: d}\n"
}

func TestAuthResolves(t *testing.T) {
	c := mustParse(t, authConfig(`    urls: ["https://abc.lambda-url.eu-west-1.on.aws/"]
    auth: {type: AWS-SigV4, service: lambda, region: eu-west-1, role-arn: "arn:aws:iam::123456789012:role/x"}
`), nil)
	a := c.Destinations["d"].Auth
	if a == nil || a.Type != AuthAWSSigV4 || a.Service != "lambda" || a.Region != "eu-west-1" || a.RoleARN != "arn:aws:iam::123456789012:role/x" {
		t.Fatalf("auth %+v", a)
	}
	c = mustParse(t, authConfig(`    urls: ["https://api.example.com/"]
    auth:
      type: oauth2-client-credentials
      token-url: https://idp.example.com/oauth2/token
      client-id: xdrhook
      client-secret: ${SECRET}
      scopes: [events.write, b]
`), map[string]string{"SECRET": "sekr1t"})
	a = c.Destinations["d"].Auth
	if a.TokenURL != "https://idp.example.com/oauth2/token" || a.ClientID != "xdrhook" || a.ClientSecret != "sekr1t" || strings.Join(a.Scopes, ",") != "events.write,b" {
		t.Fatalf("auth %+v", a)
	}
	if len(c.Warnings) != 0 {
		t.Fatalf("warnings %v", c.Warnings)
	}
}

func TestAuthErrors(t *testing.T) {
	wantErrs(t, authConfig(`    urls: ["https://h/"]
    auth: {service: lambda}
`), nil, `config.yml:4: destinations.d.auth: auth needs a type: aws-sigv4, oauth2-client-credentials, google-id-token or bearer-file`)
	wantErrs(t, authConfig(`    urls: ["https://h/"]
    auth: {type: aws-sigv3, service: lambda}
`), nil, `config.yml:4: destinations.d.auth.type: "aws-sigv3" is not one of aws-sigv4, oauth2-client-credentials, google-id-token, bearer-file (did you mean "aws-sigv4"?)`)
	wantErrs(t, authConfig(`    urls: ["https://h/"]
    auth: {type: aws-sigv4, token-url: "https://x/"}
`), nil,
		`config.yml:4: destinations.d.auth.token-url: is a key of auth type oauth2-client-credentials, not aws-sigv4`,
		`config.yml:4: destinations.d.auth: aws-sigv4 needs service: lambda (function URLs), execute-api (API Gateway), es (OpenSearch Service), aoss (OpenSearch Serverless), s3, ...`)
	wantErrs(t, authConfig(`    urls: ["https://h/"]
    headers: {Authorization: x}
    auth: {type: aws-sigv4, service: lambda, region: Europe}
`), nil,
		`config.yml:4: destinations.d.headers.Authorization: Authorization is set by auth (aws-sigv4)`,
		`config.yml:5: destinations.d.auth.region: "Europe" is not an AWS region such as eu-west-1`)
	wantErrs(t, authConfig(`    urls: ["https://h/"]
    auth: {type: oauth2-client-credentials, token-url: "http://idp.example.com/t", client-id: a}
`), nil, `config.yml:4: destinations.d.auth.token-url: the client secret would go over plain http to a host that is not loopback; use https, or set destinations.d.allow-insecure: true to accept that`)
	wantErrs(t, authConfig(`    urls: ["http://api.example.com/"]
    auth: {type: bearer-file, file: /var/run/secrets/tokens/x}
`), nil, `config.yml:4: destinations.d.auth.file: cannot read: open /var/run/secrets/tokens/x: file does not exist`,
		`config.yml:4: destinations.d.auth: a bearer token would go over plain http to a host that is not loopback; use https, or set destinations.d.allow-insecure: true to accept that`)
	wantErrs(t, authConfig(`    urls: ["https://h/"]
    auth: {type: google-id-token}
`), nil, `config.yml:4: destinations.d.auth: google-id-token needs audience: the URL of the Cloud Function or Cloud Run service`)
}

// A client secret written in the file is warned about and never printed.
func TestAuthLiteralSecretRedacted(t *testing.T) {
	c := mustParse(t, authConfig(`    urls: ["https://h/"]
    auth: {type: oauth2-client-credentials, token-url: "https://idp/t", client-id: a, client-secret: literal-s3cret}
`), nil)
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0].Error(), "client secret is written in the config file") {
		t.Fatalf("warnings %v", c.Warnings)
	}
	var buf bytes.Buffer
	if err := c.WriteYAML(&buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "literal-s3cret") || !strings.Contains(buf.String(), "client-secret: \"<redacted: from the file: write it as ${VAR}>\"") {
		t.Fatalf("printed:\n%s", buf.String())
	}
}
