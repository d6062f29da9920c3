package sink

import (
	"encoding/hex"
	"strings"
)

// parseESBulk checks an es-bulk body: an index or create action line
// followed by its document (whose digest is the action's _id), or a delete
// action line alone.
func (ps *parser) parseESBulk(p *parsed, body []byte) error {
	var pending map[string]any // the action waiting for its document
	var pendingID [20]byte
	err := ps.eachLine(body, func(n int, line []byte) error {
		v, err := decodeStrict(line)
		if err != nil {
			return bad("es-bulk line %d: %v", n, err)
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return bad("es-bulk line %d: not an object", n)
		}
		if pending != nil { // a document line
			id, mode, err := ps.jsonID(obj)
			if err != nil {
				return bad("es-bulk line %d (%s document): %v", n, mode, err)
			}
			if id.Digest != pendingID {
				return bad("es-bulk line %d: document digest %x differs from the action's _id %x", n, id.Digest, pendingID)
			}
			pending = nil
			p.add(id, line, mode, ps.keepRaw)
			return nil
		}
		if len(obj) != 1 {
			return bad("es-bulk line %d: an action line has one key", n)
		}
		for action, a := range obj {
			meta, ok := a.(map[string]any)
			if !ok {
				return bad("es-bulk line %d: %s is not an object", n, action)
			}
			if _, ok := meta["_index"].(string); !ok {
				return bad("es-bulk line %d: %s without an _index string", n, action)
			}
			hx, _ := meta["_id"].(string)
			d, err := hex.DecodeString(hx)
			if err != nil || len(d) != 20 || strings.ToLower(hx) != hx {
				return bad("es-bulk line %d: _id %v is not a 40-digit lower-case hex digest", n, meta["_id"])
			}
			switch action {
			case "index", "create":
				pending = meta
				copy(pendingID[:], d)
			case "delete":
				id := ID{LUT: LUTUnknown, Kind: KindDelete}
				copy(id.Digest[:], d)
				p.add(id, line, "es-delete", ps.keepRaw)
			default:
				return bad("es-bulk line %d: action %q", n, action)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if pending != nil {
		return bad("es-bulk: the last action has no document line")
	}
	return nil
}
