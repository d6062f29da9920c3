package encode

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/versiontype"
)

// TestESBulkIndependentDecoder reads every action line ESBulk writes with
// the official client's typed bulk types (types.OperationContainer and its
// IndexOperation, CreateOperation, UpdateOperation, DeleteOperation, and
// types.UpdateAction for an update's document line).
func TestESBulkIndependentDecoder(t *testing.T) {
	full, partial, meta, del := esMessages(t)
	const lut = int64(1734388704784)
	type want struct {
		action      string
		id          string
		version     int64 // 0: none
		docAsUpsert bool
	}
	for _, tc := range []struct {
		name string
		f    ESBulk
		want []want
	}{
		{"auto", ESBulk{}, []want{{"index", esDigestHex, 0, false}, {"update", esDigestHex, 0, true}, {"update", esDigestHex, 0, true}, {"delete", esDigestHex, 0, false}}},
		{"auto lut", ESBulk{VersionLUT: true}, []want{{"index", esDigestHex, lut, false}, {"update", esDigestHex, 0, true}, {"update", esDigestHex, 0, true}, {"delete", esDigestHex, lut, false}}},
		{"create user-key", ESBulk{WriteOp: ESWriteCreate, DocID: ESDocIDUserKey}, []want{{"create", "10", 0, false}, {"create", "10", 0, false}, {"create", "10", 0, false}, {"delete", "10", 0, false}}},
		{"index lut", ESBulk{WriteOp: ESWriteIndex, VersionLUT: true, Index: "xdr-{namespace}"}, []want{{"index", esDigestHex, lut, false}, {"index", esDigestHex, lut, false}, {"index", esDigestHex, lut, false}, {"delete", esDigestHex, lut, false}}},
		{"update", ESBulk{WriteOp: ESWriteUpdate}, []want{{"update", esDigestHex, 0, true}, {"update", esDigestHex, 0, true}, {"update", esDigestHex, 0, true}, {"delete", esDigestHex, 0, false}}},
	} {
		f := tc.f
		body := jtBody(t, &f, full, partial, meta, del)
		lines := bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n"))
		wantIndex := "myset"
		if tc.f.Index != "" {
			wantIndex = "xdr-test"
		}
		for i, w := range tc.want {
			if len(lines) == 0 {
				t.Fatalf("%s: body ends before action %d", tc.name, i)
			}
			var op types.OperationContainer
			if err := json.Unmarshal(lines[0], &op); err != nil {
				t.Fatalf("%s: action %d: %v: %s", tc.name, i, err, lines[0])
			}
			lines = lines[1:]
			var (
				action, index, id string
				version           *int64
				vtype             *versiontype.VersionType
			)
			deref := func(s *string) string {
				if s == nil {
					return "<nil>"
				}
				return *s
			}
			n := 0
			if o := op.Index; o != nil {
				n++
				action, index, id, version, vtype = "index", deref(o.Index_), deref(o.Id_), o.Version, o.VersionType
			}
			if o := op.Create; o != nil {
				n++
				action, index, id, version, vtype = "create", deref(o.Index_), deref(o.Id_), o.Version, o.VersionType
			}
			if o := op.Update; o != nil {
				n++
				action, index, id, version, vtype = "update", deref(o.Index_), deref(o.Id_), o.Version, o.VersionType
			}
			if o := op.Delete; o != nil {
				n++
				action, index, id, version, vtype = "delete", deref(o.Index_), deref(o.Id_), o.Version, o.VersionType
			}
			if n != 1 || action != w.action || index != wantIndex || id != w.id {
				t.Errorf("%s: action %d: %d operations, %s _index %s _id %s; want %s %s %s", tc.name, i, n, action, index, id, w.action, wantIndex, w.id)
			}
			switch {
			case w.version == 0 && (version != nil || vtype != nil):
				t.Errorf("%s: action %d: versioned: %v %v", tc.name, i, version, vtype)
			case w.version != 0 && (version == nil || *version != w.version || vtype == nil || *vtype != versiontype.Externalgte):
				t.Errorf("%s: action %d: version %v %v, want %d external_gte", tc.name, i, version, vtype, w.version)
			}
			if action == "delete" {
				continue
			}
			doc := lines[0]
			lines = lines[1:]
			if action == "update" {
				var u types.UpdateAction
				if err := json.Unmarshal(doc, &u); err != nil {
					t.Fatalf("%s: update %d: %v: %s", tc.name, i, err, doc)
				}
				if u.DocAsUpsert == nil || !*u.DocAsUpsert || !json.Valid(u.Doc) || !bytes.Contains(u.Doc, []byte(`"metadata":{`)) {
					t.Errorf("%s: update %d: %s", tc.name, i, doc)
				}
				continue
			}
			var m map[string]any
			if err := json.Unmarshal(doc, &m); err != nil || m["metadata"] == nil {
				t.Errorf("%s: document %d: %v: %s", tc.name, i, err, doc)
			}
		}
		if len(lines) != 0 {
			t.Errorf("%s: %d lines left", tc.name, len(lines))
		}
	}
}
