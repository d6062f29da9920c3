package config

import (
	"os"
	"strings"
	"testing"

	"github.com/xdrhook/xdrhook/shape"
)

func TestRequestShaping(t *testing.T) {
	c := mustParse(t, `
destinations:
  users:
    urls: [http://127.0.0.1:8080]
    request:
      write:  {method: PUT,    path: "/{set}/{user-key}"}
      delete: {method: DELETE, path: "/{set}/{user-key}", body: false}
      query: "source=aerospike&ns={namespace}"
      headers: {X-Record-Version: "{lut}-{gen}"}
      missing: digest
routing: {mode: static, destination: users}
`, nil)
	q := c.Destinations["users"].Request
	if q == nil || q.Write.Method != "PUT" || !q.Write.Body || q.Delete.Method != "DELETE" || q.Delete.Body ||
		q.Write.Path.String() != "/{set}/{user-key}" || q.Query.String() != "source=aerospike&ns={namespace}" ||
		len(q.Headers) != 1 || q.Headers[0].Name != "X-Record-Version" || q.Missing != shape.MissingDigest {
		t.Fatalf("%+v", q)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %v", c.Warnings)
	}
	// An op not written is the destination's method and path, with a body.
	c = mustParse(t, `
destinations:
  d:
    urls: [http://127.0.0.1:8080]
    method: PATCH
    path: /{namespace}
    request: {query: "x={digest}"}
routing: {mode: static, destination: d}
`, nil)
	q = c.Destinations["d"].Request
	if q.Write.Method != "PATCH" || q.Delete.Method != "PATCH" || !q.Delete.Body || q.Write.Path.String() != "/{namespace}" || q.Missing != shape.MissingFail {
		t.Fatalf("%+v", q)
	}
}

func TestRequestShapingWins(t *testing.T) {
	c := mustParse(t, `
destinations:
  d:
    urls: [http://127.0.0.1:8080]
    method: POST
    path: /all
    request:
      write: {method: PUT, path: "/{user-key}"}
routing: {mode: static, destination: d}
`, nil)
	var got []string
	for _, w := range c.Warnings {
		got = append(got, w.Error())
	}
	want := []string{
		`config.yml:8: destinations.d.request.write.method: PUT wins over destinations.d.method (POST) for writes`,
		`config.yml:8: destinations.d.request.write.path: "/{user-key}" wins over destinations.d.path ("/all") for writes`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRequestShapingErrors(t *testing.T) {
	wantErrs(t, `
destinations:
  d:
    urls: ["http://127.0.0.1/?q=1"]
    headers: {X-A: a}
    request:
      write: {method: GET}
      delete: {method: HEAD, path: "/{nope}"}
      query: "a=#"
      headers: {x-a: b, Content-Length: "1", X-B: "{bin:}", "Bad Name": x}
      missing: ignore
routing: {mode: static, destination: d}
`, nil,
		`config.yml:4: destinations.d.urls[0]: has a query string, so the request's path and query cannot be appended to it`,
		`config.yml:7: destinations.d.request.write.method: GET is not allowed: a change is not a read (POST, PUT, PATCH or DELETE)`,
		`config.yml:8: destinations.d.request.delete.method: "HEAD" is not one of POST, PUT, PATCH, DELETE`,
		`config.yml:8: destinations.d.request.delete.path: "/{nope}": unknown placeholder {nope}: the placeholders are `+shape.Placeholders,
		`config.yml:9: destinations.d.request.query: "a=#": a query may not contain spaces or #`,
		`config.yml:10: destinations.d.request.headers.x-a: the same header as x-a (names are case-insensitive)`,
		`config.yml:10: destinations.d.request.headers.Content-Length: Content-Length is set by the connector`,
		`config.yml:10: destinations.d.request.headers.X-B: unknown placeholder {bin:}: the placeholders are `+shape.Placeholders,
		`config.yml:10: destinations.d.request.headers.Bad Name: "Bad Name" is not a valid header name`,
		`config.yml:11: destinations.d.request.missing: "ignore" is not one of fail, digest, skip`)
}

func TestRequestShapingRefusedWithBatching(t *testing.T) {
	wantErrs(t, `
destinations:
  d:
    urls: ["http://127.0.0.1/"]
    request:
      write: {method: PUT, path: "/{user-key}"}
      headers: {X-V: "{gen}"}
routing: {mode: static, destination: d}
namespaces:
  test:
    batching: {enabled: true}
`, nil,
		`config.yml:6: destinations.d.request.write: shapes each record's request, but records routed here are batched (namespaces.test.batching.enabled: true): a batch is one request for many records, so only destinations.d.path (with {namespace} and {set}) applies to it; turn batching off for them or remove this key`,
		`config.yml:7: destinations.d.request.headers: shapes each record's request, but records routed here are batched (namespaces.test.batching.enabled: true): a batch is one request for many records, so only destinations.d.path (with {namespace} and {set}) applies to it; turn batching off for them or remove this key`)
	// A batching profile routed elsewhere does not matter.
	mustParse(t, `
destinations:
  d: {urls: ["http://127.0.0.1/"], request: {write: {method: PUT, path: "/{user-key}"}}}
  e: {urls: ["http://127.0.0.1/"]}
routing: {mode: static, destination: d}
namespaces:
  test:
    routing: {mode: static, destination: e}
    batching: {enabled: true}
`, nil)
}

// README's "REST resource per record" example loads.
func TestReadmeRequestExample(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "A REST resource per record")
	if i < 0 {
		t.Fatal("README has no REST resource per record example")
	}
	s = s[i:]
	s = s[strings.Index(s, "```yaml\n")+len("```yaml\n"):]
	s = s[:strings.Index(s, "```")]
	c := mustParse(t, s, nil)
	if q := c.Destinations["users"].Request; q == nil || q.Delete.Body || q.Write.Method != "PUT" {
		t.Fatalf("%+v", q)
	}
}
