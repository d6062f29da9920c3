package sink

import (
	"fmt"
	"net/http"
	"testing"
)

// The es-bulk actions of write-operation auto, versioning lut and doc-id:
// an update with doc_as_upsert, versioned index and delete, _id a user key.
func TestESBulkMirrorActions(t *testing.T) {
	ns := "test"
	d1, d2 := dig(1), dig(2)
	ok := []string{
		// index, versioned; update of a partial write; delete, versioned
		fmt.Sprintf("{\"index\":{\"_index\":\"myset\",\"_id\":\"%x\",\"version\":%d,\"version_type\":\"external_gte\"}}\n%s\n", d1[:], lut0+1, flatWrite("metadata", ns, 1)) +
			fmt.Sprintf("{\"update\":{\"_index\":\"myset\",\"_id\":\"%x\"}}\n{\"doc\":%s,\"doc_as_upsert\":true}\n", d2[:], flatWrite("metadata", ns, 2)) +
			fmt.Sprintf("{\"delete\":{\"_index\":\"myset\",\"_id\":\"%x\",\"version\":%d,\"version_type\":\"external_gte\"}}\n", d1[:], lut0+5),
		// doc-id: user-key (the _id is not a digest), a delete by user key
		"{\"index\":{\"_index\":\"myset\",\"_id\":\"user-7\"}}\n" + flatWrite("metadata", ns, 7) + "\n" +
			"{\"update\":{\"_index\":\"myset\",\"_id\":\"42\"}}\n{\"doc\":" + flatWrite("metadata", ns, 8) + ",\"doc_as_upsert\":true}\n" +
			"{\"delete\":{\"_index\":\"myset\",\"_id\":\"user-9\"}}\n",
	}
	bad := []string{
		// an update whose line is the bare document
		fmt.Sprintf("{\"update\":{\"_index\":\"myset\",\"_id\":\"%x\"}}\n%s\n", d2[:], flatWrite("metadata", ns, 2)),
		// doc_as_upsert missing
		fmt.Sprintf("{\"update\":{\"_index\":\"myset\",\"_id\":\"%x\"}}\n{\"doc\":%s}\n", d2[:], flatWrite("metadata", ns, 2)),
		// a digest _id that is not the document's
		fmt.Sprintf("{\"update\":{\"_index\":\"myset\",\"_id\":\"%x\"}}\n{\"doc\":%s,\"doc_as_upsert\":true}\n", d1[:], flatWrite("metadata", ns, 2)),
		// no _id
		"{\"index\":{\"_index\":\"myset\"}}\n" + flatWrite("metadata", ns, 1) + "\n",
	}
	s := startSink(t, Config{})
	c := client(h1)
	for i, body := range ok {
		r, err := post(t, c, s.URL()+"/_bulk", "application/x-ndjson", []byte(body))
		if err != nil || r.status != http.StatusOK {
			t.Errorf("body %d: status %d, %v (%s)", i, r.status, err, s.Stats().LastInvalid)
		}
	}
	for i, body := range bad {
		r, err := post(t, c, s.URL()+"/_bulk", "application/x-ndjson", []byte(body))
		if err != nil || r.status != http.StatusBadRequest {
			t.Errorf("bad body %d: status %d, %v", i, r.status, err)
		}
	}
	st := s.Stats()
	if st.Records != 6 || st.NoID != 1 {
		t.Errorf("records %d, no-id %d; want 6 and 1", st.Records, st.NoID)
	}
}
