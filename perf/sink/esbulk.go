package sink

import (
	"encoding/hex"
	"strings"
)

// parseESBulk checks an es-bulk body: an index or create action line
// followed by its document, an update action line followed by
// {"doc":<document>,"doc_as_upsert":true}, or a delete action line alone.
// An _id of 40 lower-case hex digits is the record's digest and must match
// the document's; another _id (doc-id: user-key or bin:NAME) is any
// non-empty string.
func (ps *parser) parseESBulk(p *parsed, body []byte) error {
	var pending map[string]any // the action waiting for its document
	var pendingID [20]byte
	var pendingDigest, pendingUpdate bool
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
			if pendingUpdate {
				doc, ok := obj["doc"].(map[string]any)
				if !ok || len(obj) != 2 || obj["doc_as_upsert"] != true {
					return bad(`es-bulk line %d: an update's line is not {"doc":{…},"doc_as_upsert":true}`, n)
				}
				obj = doc
			}
			id, mode, err := ps.jsonID(obj)
			if err != nil {
				return bad("es-bulk line %d (%s document): %v", n, mode, err)
			}
			if pendingDigest && id.Digest != pendingID {
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
			if hx == "" {
				return bad("es-bulk line %d: %s without an _id string", n, action)
			}
			d, err := hex.DecodeString(hx)
			isDigest := err == nil && len(d) == 20 && strings.ToLower(hx) == hx
			switch action {
			case "index", "create", "update":
				pending, pendingDigest, pendingUpdate = meta, isDigest, action == "update"
				copy(pendingID[:], d)
			case "delete":
				if !isDigest {
					// A delete by user key carries no digest: counted, no id kept.
					p.records++
					p.noID++
					return nil
				}
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
