package main

import (
	"encoding/hex"
	"encoding/json"

	"github.com/xdrhook/xdrhook/config"
	"github.com/xdrhook/xdrhook/connector"
	"github.com/xdrhook/xdrhook/encode"
)

// decode --config: the dry run of a configuration over frames.

func loadDryRun(file string) (*connector.DryRun, error) {
	cfg, err := config.Load(file, config.Options{})
	if err != nil {
		return nil, err
	}
	return connector.NewDryRun(cfg)
}

// dryRun prints one JSON line for a frame: the frame number, what the
// connector would do (connector.Outcome) and the message, as JSON when the
// format is JSON text, else as hex.
func (d *decoder) dryRun(frame []byte, typ byte) {
	if !d.decodeRecord(frame, typ) {
		return
	}
	o := d.dry.Record(&d.msg, d.now)
	line := struct {
		Frame int `json:"frame"`
		connector.Outcome
		Message any `json:"message,omitempty"`
	}{Frame: d.n, Outcome: o}
	switch {
	case o.Message == nil:
	case o.ContentType == encode.ContentTypeJSON:
		line.Message = json.RawMessage(o.Message)
	default:
		line.Message = hex.EncodeToString(o.Message)
	}
	if o.RC == 4 {
		d.bad++
	}
	d.out.Encode(line)
}
