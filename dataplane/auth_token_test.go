package dataplane

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xdrhook/xdrhook/auth"
)

// signJWT makes an RS256 JWT of claims with key.
func signJWT(t *testing.T, key *rsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": kid})
	c, _ := json.Marshal(claims)
	s := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	sum := sha256.Sum256([]byte(s))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return s + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// verifyJWT checks an RS256 JWT's signature against pub and returns its
// claims.
func verifyJWT(tok string, pub *rsa.PublicKey) (map[string]any, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a JWT")
	}
	var h struct{ Alg string }
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || json.Unmarshal(hb, &h) != nil || h.Alg != "RS256" {
		return nil, fmt.Errorf("header %s", hb)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return nil, fmt.Errorf("signature: %v", err)
	}
	cb, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	return claims, json.Unmarshal(cb, &claims)
}

// Google ID tokens from a service-account key file whose token_uri is a
// local endpoint: the endpoint checks the key-signed assertion (its
// target_audience is the audience) and mints an ID token signed with
// "Google's" key; the destination receives that JWT, its signature
// verifies and its aud is the audience.
func TestAuthGoogleIDToken(t *testing.T) {
	saKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	googleKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	const audience = "https://europe-west1-proj.cloudfunctions.net/fn"
	const email = "xdrhook@proj.iam.gserviceaccount.com"
	var mu sync.Mutex
	var tokenErrs []string
	tokSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail := func(f string, a ...any) {
			mu.Lock()
			tokenErrs = append(tokenErrs, fmt.Sprintf(f, a...))
			mu.Unlock()
			w.WriteHeader(400)
		}
		if r.ParseForm() != nil || r.Form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
			fail("form %v", r.Form)
			return
		}
		claims, err := verifyJWT(r.Form.Get("assertion"), &saKey.PublicKey)
		if err != nil {
			fail("assertion: %v", err)
			return
		}
		if claims["iss"] != email || claims["target_audience"] != audience {
			fail("assertion claims %v", claims)
			return
		}
		idt := signJWT(t, googleKey, "g1", map[string]any{"iss": "https://accounts.google.com", "aud": audience, "sub": "1",
			"email": email, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()})
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id_token":%q}`, idt)
	}))
	defer tokSrv.Close()

	der, _ := x509.MarshalPKCS8PrivateKey(saKey)
	sa, _ := json.Marshal(map[string]string{"type": "service_account", "project_id": "proj", "private_key_id": "k1",
		"private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), "client_email": email,
		"client_id": "1", "token_uri": tokSrv.URL + "/token"})
	file := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(file, sa, 0o600); err != nil {
		t.Fatal(err)
	}

	got := make(chan string, 1)
	dst := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case got <- r.Header.Get("Authorization"):
		default:
		}
	}))
	defer dst.Close()
	a, err := auth.New(auth.Spec{Type: auth.TypeGoogleID, Audience: audience, CredentialsFile: file}, auth.Options{Destination: "gcf"})
	if err != nil {
		t.Fatal(err)
	}
	snd, err := newTestHTTP1(HTTPOptions{URLs: []string{dst.URL}, Auth: a})
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Wait(ctx); err != nil {
		t.Fatalf("first ID token: %v (token endpoint saw %q)", err, tokenErrs)
	}
	if st, _, err := snd.Do(&Request{Body: []byte("{}\n"), Records: 1}, time.Now().Add(5*time.Second)); err != nil || st != 200 {
		t.Fatalf("status %d, %v", st, err)
	}
	h := <-got
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		t.Fatalf("Authorization %q", h)
	}
	claims, err := verifyJWT(tok, &googleKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if claims["aud"] != audience || claims["email"] != email {
		t.Fatalf("claims %v", claims)
	}
	if _, err := verifyJWT(tok, &saKey.PublicKey); err == nil {
		t.Fatal("the verifier accepts a JWT under the wrong key")
	}
}

// bearer-file: the token file is replaced the way kubelet does it (a new
// timestamped directory, then the ..data symlink swapped by rename); the
// destination sees the new token within a second.
func TestAuthBearerFileSymlinkSwap(t *testing.T) {
	dir := t.TempDir()
	write := func(ts, token string) {
		d := filepath.Join(dir, ts)
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "token"), []byte(token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(ts, filepath.Join(dir, "..data_tmp")); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	write("..2026_12_07_01_00_00.1", "token-one")
	if err := os.Symlink("..data/token", filepath.Join(dir, "token")); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var last string
	dst := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		last = r.Header.Get("Authorization")
		mu.Unlock()
	}))
	defer dst.Close()
	a, err := auth.New(auth.Spec{Type: auth.TypeBearerFile, File: filepath.Join(dir, "token")}, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	snd, err := newTestHTTP1(HTTPOptions{URLs: []string{dst.URL}, Auth: a})
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()
	if err := a.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	send := func() string {
		if st, _, err := snd.Do(&Request{Body: []byte("{}\n"), Records: 1}, time.Now().Add(5*time.Second)); err != nil || st != 200 {
			t.Fatalf("status %d, %v", st, err)
		}
		mu.Lock()
		defer mu.Unlock()
		return last
	}
	if h := send(); h != "Bearer token-one" {
		t.Fatalf("Authorization %q", h)
	}
	write("..2026_12_07_02_00_00.2", "token-two")
	swapped := time.Now()
	for {
		h := send()
		if h == "Bearer token-two" {
			break
		}
		if h != "Bearer token-one" {
			t.Fatalf("Authorization %q", h)
		}
		if time.Since(swapped) > time.Second {
			t.Fatal("still the old token a second after the swap")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("new token in use %v after the swap", time.Since(swapped))
}
