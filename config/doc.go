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
//	  manage:
//	    address: 127.0.0.1            # non-loopback: allowed, with a warning
//	    port: 8902                    # must differ from the XDR ports
//	  max-concurrent-records: 32768   # 1..16777216
//	  max-frame-bytes: 16777216       # 1024..1 GiB
//	  reply-deadline: 8000            # 1..8000 ms
//	  max-connections: 1024           # (xdrhook) XDR connections at once
//	  io-threads: 0                   # event loops; 0 = one per CPU
//	destinations:
//	  NAME:
//	    urls: []                      # required, ≥ 1, http:// or https://, no user:pass@
//	    protocol: HTTP_1_1            # or HTTP_2 (h2 over https, h2c prior knowledge over http)
//	    max-connections-per-endpoint: 8
//	    max-in-flight: 64
//	    http2-max-concurrent-streams: 100
//	    connect-timeout: 1000         # ≤ call-timeout
//	    call-timeout: 5000
//	    idle-connection-timeout: 10000  # (xdrhook) HTTP/1.1 and HTTP/2 connections idle that long are closed
//	    http2-read-idle-timeout: 10000  # (xdrhook)
//	    http2-ping-timeout: 5000        # (xdrhook)
//	    http1-pipelining: false         # (xdrhook) HTTP_1_1 only
//	    method: POST                  # POST | PUT | PATCH
//	    path: ""                      # "/..." with {namespace} {set}; appended to each URL
//	    headers: {}                   # name: value, ${VAR} allowed
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
//	    allow-insecure: false         # (xdrhook) see Security
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
//	  mode: static                    # static | static-multi-destination | skip | namespace | set | bin
//	  destination: NAME               # static only
//	  destinations: [NAME, ...]       # static-multi-destination only (a single name works too)
//	  bin: NAME                       # bin only
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
//	batching:                         # absent = off; present = on unless enabled: false
//	  enabled: true
//	  max-records: 500
//	  max-bytes: 1048576
//	  batch-interval: 50              # < reply-deadline
//	bin-transforms:
//	  include: {type: all}            # or {type: specified, bins: [a, b]}
//	  exclude: {type: none}           # or {type: specified, bins: [c]}
//	  map: {}                         # old: new; old ≤ 15 bytes; no two old names to one new
//	namespaces:
//	  NS:                             # routing, format, batching, bin-transforms, record-ordering, sets
//	    sets:
//	      SET: {}                     # routing, format, batching, bin-transforms
//	record-ordering:
//	  enable: false
//	  lut-cache-ttl-seconds: 30
//	logging:
//	  level: info                     # debug | info | warn | error
//	  format: text                    # or json
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
package config
