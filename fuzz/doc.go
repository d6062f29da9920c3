// Package fuzz holds the fuzz targets of xdrhook's decoders, encoders and
// expressions (random frames × filter, route and transform programs) and
// their checked-in seed corpus (testdata/fuzz). Run them with `make fuzz`
// or `go test ./fuzz -run '^$' -fuzz FuzzFrames -fuzztime 60s`.
package fuzz
