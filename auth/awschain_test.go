package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// isolateAWS points the AWS config chain at nothing of this machine's.
func isolateAWS(t *testing.T) string {
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
		"AWS_REGION": "", "AWS_DEFAULT_REGION": "", "AWS_PROFILE": "", "AWS_ROLE_ARN": "", "AWS_WEB_IDENTITY_TOKEN_FILE": "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "",
	} {
		t.Setenv(k, v)
		if v == "" {
			os.Unsetenv(k)
		}
	}
	return dir
}

func applied(t *testing.T, a Authorizer) headers {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	h := headers{}
	if err := a.Apply(&Request{Method: "POST", URL: "https://h/", Body: []byte("x")}, h); err != nil {
		t.Fatal(err)
	}
	return h
}

// Credentials and region from the environment (the first link of the
// default chain).
func TestSigV4EnvironmentChain(t *testing.T) {
	isolateAWS(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "envsecret")
	t.Setenv("AWS_REGION", "eu-central-1")
	a, err := New(Spec{Type: TypeAWSSigV4, Service: "execute-api"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if r := a.(*SigV4).Region(); r != "eu-central-1" {
		t.Fatalf("region %q", r)
	}
	if h := applied(t, a); !strings.Contains(h["Authorization"], "Credential=AKIAENV/") || !strings.Contains(h["Authorization"], "/eu-central-1/execute-api/aws4_request") {
		t.Fatalf("Authorization %q", h["Authorization"])
	}
}

// A named profile of the shared config files gives keys and region; no
// region anywhere is an error that says where to set one.
func TestSigV4Profile(t *testing.T) {
	dir := isolateAWS(t)
	os.WriteFile(filepath.Join(dir, "config"), []byte("[profile xd]\nregion = ap-south-1\n[profile noregion]\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "credentials"), []byte("[xd]\naws_access_key_id = AKIAPROFILE\naws_secret_access_key = profsecret\n[noregion]\naws_access_key_id = A\naws_secret_access_key = B\n"), 0o600)
	a, err := New(Spec{Type: TypeAWSSigV4, Service: "es", Profile: "xd"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if h := applied(t, a); !strings.Contains(h["Authorization"], "Credential=AKIAPROFILE/") || !strings.Contains(h["Authorization"], "/ap-south-1/es/aws4_request") {
		t.Fatalf("Authorization %q", h["Authorization"])
	}
	if _, err := New(Spec{Type: TypeAWSSigV4, Service: "es", Profile: "noregion"}, Options{}); err == nil || !strings.Contains(err.Error(), "no region: set auth.region") {
		t.Fatalf("no region: %v", err)
	}
}

// role-arn: the chain's keys call sts:AssumeRole (at a local STS endpoint,
// AWS_ENDPOINT_URL_STS) and requests are signed with the temporary
// credentials and their session token.
func TestSigV4AssumeRole(t *testing.T) {
	isolateAWS(t)
	var calls atomic.Int32
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if r.Form.Get("Action") != "AssumeRole" || r.Form.Get("RoleArn") != "arn:aws:iam::123456789012:role/xdrhook" ||
			!strings.Contains(r.Header.Get("Authorization"), "Credential=AKIABASE/") || r.Form.Get("RoleSessionName") != "xdrhook" {
			w.WriteHeader(403)
			return
		}
		calls.Add(1)
		w.Header().Set("Content-Type", "text/xml")
		exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		w.Write([]byte(`<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials>` +
			`<AccessKeyId>ASIAROLE</AccessKeyId><SecretAccessKey>rolesecret</SecretAccessKey><SessionToken>role-session-token</SessionToken>` +
			`<Expiration>` + exp + `</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/xdrhook/xdrhook</Arn>` +
			`<AssumedRoleId>AROA:xdrhook</AssumedRoleId></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></AssumeRoleResponse>`))
	}))
	defer sts.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIABASE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "basesecret")
	t.Setenv("AWS_ENDPOINT_URL_STS", sts.URL)
	a, err := New(Spec{Type: TypeAWSSigV4, Service: "lambda", Region: "eu-west-1", RoleARN: "arn:aws:iam::123456789012:role/xdrhook"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	h := applied(t, a)
	if !strings.Contains(h["Authorization"], "Credential=ASIAROLE/") || h["X-Amz-Security-Token"] != "role-session-token" || calls.Load() != 1 {
		t.Fatalf("headers %v, %d AssumeRole calls", h, calls.Load())
	}
}
