// Package config loads, validates and resolves xdrhook's YAML config (shared
// spec: config.md). Key names follow Aerospike Connect for ESP's
// aerospike-esp-outbound.yml, so an ESP config runs unchanged where the
// feature exists; what ESP lacks is added with new keys.
//
// # Use
//
//	c, err := config.Load(path, config.Options{})
//	if err != nil { // config.Errors: one *Problem per line, "file:line: path: msg"
//		...
//	}
//	for _, w := range c.Warnings { log(w) }
//	p := c.Profile(msg.Namespace, msg.Set) // per record, no allocation
//	p = c.ProfileFor(listenerPort, msg.Namespace, msg.Set) // with port-based-config
//	switch p.Routing.Mode { ... p.Routing.Destinations / p.Routing.Lookup(value) }
//	// p.Format, p.Batching, p.BinTransforms, p.RecordOrdering; batch by (p.ID, d.ID)
//
// # Loading rules
//
//   - One YAML document. An empty file is an error.
//   - ${VAR} in any string value (also inside a longer string: "Bearer
//     ${TOKEN}") is replaced by the environment variable, on the node tree
//     before decoding, so line numbers stay those of the file. A variable
//     that is not set, or set but empty, is an error naming it and the line.
//     "$${" writes a literal "${". Keys are never expanded. A plain value
//     that becomes a number or a boolean is one (port: ${PORT} works).
//   - Values from the environment are secrets: `xdrhook check` prints them as
//     "<redacted: from Bearer ${TOKEN}>", error messages name the template,
//     Header.FromEnv marks them and Config.Redact hides them in logs.
//   - Unknown keys are errors that name the key, its line and its section,
//     with a suggestion: `config.yml:12: unknown key "max-inflight" in
//     destinations.search (did you mean "max-in-flight"?)`. ESP keys that
//     xdrhook does not implement say so. A key written twice is an error.
//   - Type errors name the key path and line: `config.yml:7:
//     service.max-concurrent-records: want an integer, got "lots"`.
//   - A key with no value (`max-records:`) means its default.
//   - Anchors, aliases and merge keys (<<: *base) work inside sections.
//   - Durations are integer milliseconds, except lut-cache-ttl-seconds.
//   - File names (certificates, schema-file) are relative to the config
//     file's directory. Load reads them (Options.SkipFiles does not).
//   - Enumerated values match case-insensitively and print canonical.
//   - Every problem is reported, not only the first; structural problems
//     (syntax, ${VAR}, unknown keys, types) first, then the values.
//
// # Reference
//
// Every key, with its default. Keys marked (xdrhook) are not in ESP.
//
//	service:
//	  port: 8901                      # int or list of ints; 0 = any free port (tests)
//	  address: 0.0.0.0
//	  tls:                            # absent: plain TCP
//	    cert-file: ""                 # required with tls
//	    key-file: ""                  # required with tls
//	    client-ca-file: ""            # set: client certificates required and verified
//	    key-store: {store-file: "", store-password-file: "", store-password: "", key-password-file: "", store-type: ""}
//	                                  # ESP: a Java store (JKS | PKCS12, "" = from the file) instead of cert-file/key-file
//	    trust-store: {...}            # ESP: as key-store, instead of client-ca-file (client certificates required)
//	    allowed-peer-names: []        # ESP: a client certificate must name one (CN, DNS or IP SAN); needs a trust store
//	    protocols: []                 # ESP: TLSv1.2 | TLSv1.3 (older: warned, not offered); [] = both
//	    cipher-suites: []             # ESP: IANA/JSSE names of TLS 1.2 suites; TLS 1.3 ones warned (Go offers all)
//	    port: (none)                  # ESP's TLS port: taken as service.port when that is absent
//	  manage:
//	    address: 127.0.0.1            # non-loopback: allowed, with a warning
//	    port: 8902                    # must differ from the XDR ports
//	  max-concurrent-records: 32768   # 1..16777216; all loops together (taken per loop in chunks)
//	  max-frame-bytes: 16777216       # 1024..1 GiB
//	  reply-deadline: 8000            # 1..8000 ms
//	  reply-hold: 0                   # (xdrhook) 0..100 ms a reply may wait to share a write (+ a 5 ms tick at worst); 0 = never
//	  max-connections: 1024           # (xdrhook) XDR connections at once
//	  io-threads: 0                   # event loops; 0 = one per CPU
//	  cluster-name: (none)            # ESP: a constant label cluster="NAME" on every metric
//	  protocol: TCP                   # ESP: TCP only (HTTP refused)
//	  socket-receive-buffer-bytes: (none)  # ESP: SO_RCVBUF of the XDR sockets; absent: the kernel's
//	  # ESP keys with no effect load with a warning: worker-threads, enable-tcp-xdr-ack-buffering;
//	  # likewise logging.file, enable-console-logging, levels,
//	  # ticker-interval, max-history (docs/migrating-from-esp.md lists every ESP key)
//	destinations:
//	  NAME:
//	    urls: []                      # required, ≥ 1, http:// or https://, no user:pass@
//	    protocol: HTTP_1_1            # or HTTP_2 (h2 over https, h2c prior knowledge over http)
//	    max-connections-per-endpoint: 8  # HTTP_2: opened as streams run out (all, round robin, with connection-ttl)
//	    max-in-flight: 64
//	    http2-max-concurrent-streams: 100
//	    connect-timeout: 1000         # ≤ call-timeout
//	    call-timeout: 5000
//	    idle-connection-timeout: 10000  # (xdrhook) HTTP/1.1 and HTTP/2 connections idle that long are closed
//	    http2-read-idle-timeout: 10000  # (xdrhook)
//	    http2-ping-timeout: 5000        # (xdrhook)
//	    http1-pipelining: false         # (xdrhook) HTTP_1_1 only; safe servers, measured: docs/http1-pipelining.md
//	    method: POST                  # POST | PUT | PATCH
//	    path: ""                      # "/..." with {namespace} {set}; appended to each URL
//	    headers: {}                   # name: value, ${VAR} allowed; ESP's static: {name: value} is taken too
//	    request:                      # (xdrhook) per-record request, batching off only; its method/path win
//	      write:  {method: PUT, path: "/{set}/{user-key}", body: true}  # POST | PUT | PATCH | DELETE (never GET)
//	      delete: {method: DELETE, path: "/{set}/{user-key}", body: false}  # body: false sends Content-Length 0
//	      query: "ns={namespace}"     # after the path; values escaped as query values
//	      headers: {X-Record-Version: "{lut}-{gen}"}  # a value rendering CR/LF fails the record (answered 4)
//	      missing: fail               # fail (answered 4) | digest (hex digest instead) | skip (answered 0); counted
//	      # placeholders: {namespace} {set} {digest} {digest-b64url} {user-key} {gen} {lut} {bin:NAME}
//	      # a DELETE answered 404 or 410 is done (the resource is gone already), whatever the success codes
//	    http-success-status-codes: [200-299]
//	    permanent-failure-status-codes: []   # must not overlap success
//	    compression: none             # or gzip
//	    compression-threshold: 1024   # bytes
//	    retry: {max-attempts: 3, initial-backoff: 50, max-backoff: 1000}  # ms, doubling; initial-backoff 0 retries at once, every time
//	    tls: {ca-file: "", cert-file: "", key-file: "", server-name: "", insecure-skip-verify: false}
//	      # ESP: key-store, trust-store (as service.tls), protocols, cipher-suites
//	    allow-insecure: false         # (xdrhook) see Security
//	    max-request-queued-per-endpoint: (none)  # ESP: × URLs = bodies queued before records are answered 11 (absent: max-concurrent-records)
//	    connection-ttl: -1            # ms; -1 = never. Older connections take no new request, close when idle, are re-dialled
//	    health-check:                 # absent: no active checks
//	      call-timeout: 1000          # ms, < interval
//	      interval-seconds: 5
//	      healthy-threshold: 3        # passes in a row to come back
//	      unhealthy-threshold: 3      # (xdrhook) failures in a row to leave the round robin
//	      path: ""                    # (xdrhook) "" = the URL itself; "/health" replaces the URL's path
//	      method: GET                 # (xdrhook) GET | HEAD | OPTIONS
//	      expected-status: [200-499]  # (xdrhook) statuses that pass; errors and timeouts fail
//	    auth:                         # (xdrhook) absent: none; applied to every attempt, after compression
//	      type: aws-sigv4             # aws-sigv4 | oauth2-client-credentials | google-id-token | bearer-file
//	      service: ""                 # aws-sigv4, required: lambda | execute-api | es | aoss | s3 | ...
//	      region: ""                  # aws-sigv4; "": the AWS config chain (AWS_REGION, profile)
//	      profile: ""                 # aws-sigv4; "": the default chain (env, shared config, web identity/IRSA, ECS, EC2 IMDS)
//	      role-arn: ""                # aws-sigv4; set: sts:AssumeRole with the chain's credentials
//	      token-url: ""               # oauth2-client-credentials, required; http only to loopback (or allow-insecure)
//	      client-id: ""               # oauth2-client-credentials, required
//	      client-secret: ""           # oauth2-client-credentials; write ${VAR}; never printed
//	      scopes: []                  # oauth2-client-credentials
//	      audience: ""                # google-id-token, required: the function's or service's URL
//	      credentials-file: ""        # google-id-token: a service-account key; "": Application Default Credentials
//	      file: ""                    # bearer-file, required: re-read every 250 ms (kubelet's symlink swap)
//	      # tokens are refreshed in the background at ~3/4 of their life (jitter); a failing refresh keeps the
//	      # old token until it expires, then attempts fail (retried, answered 11), counted in
//	      # xdrhook_auth_refresh_errors_total
//	    type: http                    # (xdrhook) http | s3: each batch one object of S3-compatible storage
//	    # type s3 only: method defaults to PUT (the only one), compression-threshold to 0 (gzip all or none),
//	    # path and request do not apply; every profile routed here needs batching on and framing
//	    # ndjson | json-array | msgpack-array | avro-ocf (a whole OCF file per object); see docs/s3-archive.md
//	    bucket: ""                    # (xdrhook) s3: required, S3 naming rules
//	    key-template: "{namespace}/{set}/{yyyy}/{mm}/{dd}/{hh}/{first-lut}-{node}-{seq}.{ext}"  # (xdrhook) s3
//	      # {yyyy} {mm} {dd} {hh} {first-lut}: the first record's LUT (UTC); {set} "-" for no set;
//	      # {seq} = process start (Unix ms) "-" batch counter (8+ digits); {ext} ndjson | json | msgpack | avro (+ .gz);
//	      # must contain {node} and {seq}; escaped as the SigV4 canonical URI; at most 1024 bytes rendered
//	    path-style: (per endpoint)    # (xdrhook) s3: false (bucket.host/key) for *.amazonaws.com, else true (host/bucket/key)
//	    node: (host name)             # (xdrhook) s3: {node}; unique per connector process
//	routing:                          # required
//	  mode: static                    # static | static-multi-destination | skip | namespace | set | bin | expression
//	  destination: NAME               # static only
//	  destinations: [NAME, ...]       # static-multi-destination only (a single name works too)
//	  bin: NAME                       # bin only
//	  expression: ""                  # (xdrhook) expression only: destination names (a string or a list); [] skips
//	format:
//	  mode: json                      # json | flat-json | message-pack | avro
//	  framing: (per mode)             # ndjson | json-array | es-bulk | splunk-hec | msgpack-array | avro-ocf
//	                                  # batching off: the message alone, but es-bulk and splunk-hec keep their framing
//	  metadata-key: metadata
//	  schema: ""                      # avro user schema, inline JSON
//	  schema-file: ""                 # or from a file (read at load); not both
//	  index-template: "{set}"         # es-bulk; {set} {namespace}
//	  omit-deletes: false             # (xdrhook) es-bulk: leave deletes out
//	  doc-id: digest                  # (xdrhook) es-bulk _id: digest | user-key | bin:NAME; none: the hex digest, counted
//	  write-operation: auto           # (xdrhook) es-bulk: auto (index; partial → update + doc_as_upsert) | index | create | update
//	  versioning: none                # (xdrhook) es-bulk: none | lut (index/delete carry version_type external_gte; updates unversioned)
//	  pipeline: ""                    # (xdrhook) es-bulk: ?pipeline= on the destination URL
//	  refresh: ""                     # (xdrhook) es-bulk: ?refresh= false | true | wait_for; profiles sharing a destination must agree
//	  splunk-source: ""               # (xdrhook) splunk-hec event fields
//	  splunk-sourcetype: ""
//	  splunk-index: ""
//	  stringify-map-keys: true        # ESP's; only true: integer map keys are written as strings
//	batching:                         # absent = off; present = on unless enabled: false
//	  enabled: true
//	  max-records: 500                # per event loop's body
//	  max-bytes: 1048576              # per event loop's body
//	  batch-interval: 50              # < reply-deadline; per event loop's body
//	bin-transforms:
//	  include: {type: all}            # or {type: specified, bins: [a, b]}
//	  exclude: {type: none}           # or {type: specified, bins: [c]}
//	  map: {}                         # old: new; old ≤ 15 bytes; no two old names to one new
//	  transforms: []                  # ESP's: uppercase | lowercase, in order, on bins map does not rename
//	filter: ""                        # (xdrhook) expression; false: answered 0, counted skipped-filter
//	transform:                        # (xdrhook) before bin-transforms; writes only
//	  set: {}                         # bin: expression, in order; replaces a bin of that name; nil leaves it out
//	  remove: []                      # bins dropped after set
//	expression-errors: fail           # (xdrhook) fail (answered 4) | skip (answered 0) | pass (filter true, default route, set skipped)
//	namespaces:
//	  NS:                             # routing, format, batching, bin-transforms, filter, transform, expression-errors, record-ordering, sets
//	    sets:
//	      SET: {}                     # routing, format, batching, bin-transforms, filter, transform, expression-errors
//	record-ordering:
//	  enable: false
//	  lut-cache-ttl-seconds: 30
//	port-based-config:                # records arriving on a listener port; each port must be in service.port
//	  PORT:                           # routing, format, batching, bin-transforms, filter, transform, expression-errors, record-ordering, namespaces
//	    routing: {mode: static, destination: NAME}
//	    namespaces: {NS: {sets: {SET: {}}}}   # overrides on top of the port's block
//	logging:
//	  level: info                     # debug | info | warn | error
//	  format: text                    # or json (ESP's simple is text)
//
// # Decisions
//
//   - Overrides replace a section whole (as ESP): a set's format section
//     takes defaults for the keys it omits, not the namespace's values.
//     Precedence per section: set, namespace, top level. record-ordering may
//     be overridden per namespace only (as ESP).
//   - A namespace or set that overrides nothing shares the profile above
//     it, so profiles (and batchers keyed by Profile.ID) stay few.
//   - Routing is required at the top level: it is the fallback of every
//     record. Empty destinations are an error unless every route is skip.
//   - namespace, set and bin routing send a record to the destination named
//     like the value, else to the destination named "default"; without one
//     such records are skipped (answered 0, counted) — ESP skips records
//     without a route — and loading warns. In bin mode, deletes (no bins)
//     and records without the bin as a string go to default.
//   - protocol defaults to HTTP_1_1 (ESP: HTTP_2): every server speaks it and
//     it is the fast path. HTTP_2_0 is not accepted (a suggestion names
//     HTTP_2). HTTP_2 over http:// is h2c with prior knowledge.
//   - Framings: json and flat-json take ndjson (default), json-array,
//     es-bulk, splunk-hec; es-bulk and splunk-hec always embed flat-json
//     documents. message-pack takes msgpack-array, avro takes avro-ocf.
//   - batching present without `enabled` is on (ESP); absent is off.
//     Defaults differ from ESP's (unbounded, 8 s interval): 500 records,
//     1 MiB, 50 ms, to keep replies well inside XDR's 10 s.
//   - Batching is per event loop (io-threads; TLS connections share as many
//     states): each loop fills its own bodies, so max-records, max-bytes and
//     batch-interval bound one loop's body, and a body holds only records of
//     that loop's connections. With L loops, up to L bodies per (profile,
//     destination) are open at once; at a rate R records/s spread over the
//     loops, a body seals at batch-interval holding ~R × interval ÷ L
//     records instead of R × interval: many loops and a low rate give more,
//     smaller requests (e.g. 32 loops at 2000/s, 50 ms: ~3 records a body,
//     not 100). Set io-threads to what the rate needs, or raise
//     batch-interval, where request count matters.
//   - max-concurrent-records is a hard upper bound over all loops. Loops take
//     it from the shared budget in chunks (max ÷ (8 × loops), 1..256) and
//     give back what they hold beyond one spare chunk as records are
//     answered, and all of it after an idle tick (5 ms): records may be
//     answered 11 up to about 2 × chunk × (loops − 1) before the bound while
//     other loops hold unused credit, never after it.
//   - A destination's queue (bodies waiting for a worker) is bounded by count
//     (max-request-queued-per-endpoint × URLs; absent: max-concurrent-records,
//     so with batching off it never refuses what admission took), by 64 MiB,
//     and by time: a body that would wait half of reply-deadline before a
//     worker takes it (queued bodies ÷ the destination's measured drain
//     rate, or the oldest queued body's age) is refused. Refused records are
//     answered 11 at once. So 4,096 records in flight to a healthy local
//     destination are all queued (no 11), and a destination slower than the
//     records come gets 11s at once with a queue of at most ~4 s of its work
//     (DESIGN.md: Queue bounds for a deep XDR pipeline).
//     max-connections-per-endpoint 8 and max-in-flight 64 (ESP's) were not
//     the limit and stay.
//   - permanent-failure-status-codes defaults to none: nothing is dropped;
//     a record a destination always refuses is retried by XDR for ever.
//   - A variable set but empty is an error like an unset one.
//   - Security: tls.insecure-skip-verify, and headers from the environment
//     sent over plain http to a host that is not loopback, are errors unless
//     the destination says allow-insecure: true (then a warning). Credentials
//     in URLs (user:pass@) are refused: they end up in logs. The manage
//     listener on a non-loopback address is a warning, not an error (it is
//     read-only, and a Prometheus on another host needs it).
//   - auth: a client secret or bearer token over plain http to a host that is
//     not loopback (token-url, or the destination's URLs for the bearer
//     types) is an error unless allow-insecure: true; a client-secret written
//     in the file (not ${VAR}) is a warning and is redacted like a ${VAR}.
//     Headers that auth sets (Authorization; X-Amz-* for aws-sigv4) cannot
//     also be static headers. Files (credentials-file, file) are checked
//     readable at load, like TLS files.
//   - TLS files are loaded at startup (a bad certificate fails Load, not
//     the first connection); `check --skip-files` skips that elsewhere.
//   - call-timeout ≥ reply-deadline is a warning; batch-interval ≥
//     reply-deadline and reply-deadline > 8000 are errors.
//   - health-check (ESP documents call-timeout, interval-seconds,
//     healthy-threshold only): a URL leaves the round robin after
//     unhealthy-threshold (3) failed checks in a row and returns after
//     healthy-threshold passes. A check is a GET of the URL itself (or of
//     path on its host) expecting 200-499: any answer short of a server
//     error shows the server is up and routing (an Elasticsearch _bulk URL
//     answers GET with 405); 5xx, transport errors and timeouts fail. With
//     every URL of a destination down its records are answered 11 at once.
//   - port-based-config: a port's block is the top level of the records
//     arriving on that port. Its sections replace the file's top-level ones
//     (a section it omits is the file's), its own namespaces overrides apply
//     on top of it (set, else namespace, else the port's block, else the
//     top level), and the file's top-level namespaces overrides do not apply
//     to it (a warning says so when the port's block has none). A port it
//     names must be one of service.port, and not 0. Ports without a block
//     get the file's top level and namespaces. It takes every section a
//     namespace may override, so a section added there is available per
//     port too.
//   - connection-ttl 0 is an error (it would mean a connection per
//     request); -1 is never, as ESP.
//   - type: s3 stores one object per batch: batching off for a profile
//     routed there, or an es-bulk/splunk-hec framing, is an error; a
//     batch-interval under 1000 ms is a warning (S3 charges per PUT). The
//     key must contain {node} and {seq} so that no two batches (two nodes,
//     or one before and after a restart) share a key. Sizing: max-bytes up
//     to 64 MiB works (bodies up to 16 MiB reuse pooled buffers; larger
//     ones are allocated per batch), batch-interval up to a few seconds,
//     and batch-interval plus the upload time must stay under
//     service.reply-deadline.
//   - Bin names (routing.bin, include/exclude bins, map old names) longer
//     than Aerospike's 15 bytes are errors: they could never match.
//   - Expressions (filter, routing.expression, transform.set) are expr
//     programs (package expression), compiled at load against the
//     environment msg, namespace, set, digest, userKey, gen, lut, exp,
//     partial, durable, bins, now(); a program that does not compile is an
//     error at its line and column in the file (block scalars included), as
//     is a program over 1000 nodes, a destination name written as a literal
//     in a route that is not defined, and, with a user Avro schema, a
//     computed bin the schema has no field for. An expression from ${VAR}
//     is reported without expr's message (it would show the text).
//   - filter, transform and expression-errors override like the other
//     sections (set, namespace, top level, each whole); Profile.Logic
//     gathers a profile's expressions for the dataplane.
package config
