// Package expression is xdrhook's custom logic: filter, route and transform
// programs written in expr (github.com/expr-lang/expr), compiled once at
// load and type-checked against Env, then run per record by a Runner.
//
// A Runner holds the mutable state of evaluation (expr's VM, the
// environment, decoded bins, scratch for computed bins). It is not safe for
// concurrent use: the dataplane keeps one per connection, which one event
// loop owns, and never shares one across loops. Programs are read-only and
// shared by every Runner.
//
// One concern per file: env.go the declared environment and its run-time
// twin, compile.go compiling and checking, bins.go decoding the referenced
// bins to Go values, particles.go Go values back to wire particles,
// concat.go computed bins that are string concatenations, program.go
// running programs against a record.
package expression
