package dataplane

// Connection TTL (destinations.*.connection-ttl): a connection older than
// HTTPOptions.ConnTTL takes no new request; it is closed once its in-flight
// requests are done and the next request dials anew, so that a load
// balancer in front spreads the load onto backends added since.
//
//   - HTTP/1.1: fasthttp's HostClient.MaxConnDuration does exactly that
//     (the last request on an aged connection says Connection: close).
//   - Pipelined HTTP/1.1: h1client.Options.ConnTTL: an aged connection
//     takes no new request and closes once its requests are answered.
//   - HTTP/2: h2client.Options.ConnTTL: an aged connection takes no new
//     stream, sends GOAWAY and closes once its streams are done; the next
//     request dials. With a TTL the requests go round robin over every
//     connection slot (h2client.Options.Spread), so that the re-dials
//     reach the new backends quickly; without one, a connection is added
//     only when the open ones have no free stream.
