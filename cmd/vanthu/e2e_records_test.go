package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// registerEntry is what a rebuild must bring back for each document.
type registerEntry struct {
	ID             string   `json:"id"`
	SHA256         string   `json:"sha256"`
	Number         string   `json:"number"`
	Subject        string   `json:"subject"`
	RegisterNumber int      `json:"register_number"`
	RegisteredAt   string   `json:"registered_at"`
	Version        int      `json:"version"`
	Tasks          []any    `json:"tasks"`
	Extracted      []string `json:"extracted"`
}

// Stop the service, delete the catalog, run `vanthu rebuild`: every
// document, version, registration number and task is back, and the audit
// trail restored from the signed segments verifies.
func TestE2ERebuild(t *testing.T) {
	bothStorages(t, true, func(t *testing.T, st *storage) {
		data := filepath.Join(t.TempDir(), "data")
		clerk := addUser(t, data, "lan", "clerk", st.env...)
		admin := addUser(t, data, "thanh", "inspector", st.env...)
		srv := startServer(t, data, st.env...)
		var ids []string
		for i := 0; i < 5; i++ {
			body := fmt.Sprintf("UBND TỈNH QUẢNG NAM\nSố: %d/KH-UBND\nKẾ HOẠCH\nThực hiện công tác đối ngoại năm 2018, phần %d\n", 100+i, i)
			d := srv.mustUpload(t, clerk, fmt.Sprintf("kh-%d.txt", i), []byte(body), map[string]string{"direction": []string{"incoming", "outgoing"}[i%2]})
			ids = append(ids, d.ID)
		}
		// A second version of the first document.
		mp, b := multipartBody("kh-0-v2.txt", []byte("UBND TỈNH QUẢNG NAM\nSố: 100/KH-UBND\nKẾ HOẠCH (bản sửa)\n"), nil)
		if r := srv.call(t, "POST", "/api/v1/documents/"+ids[0]+"/versions", clerk, strings.NewReader(string(b)), map[string]string{"Content-Type": mp}); r.status != 201 {
			t.Fatalf("new version: %s", r)
		}
		// A task on the second document (a plan).
		task := fmt.Sprintf(`{"plan_id":%q,"title":"Quản lý đoàn ra, đoàn vào","lead_unit":"Sở Ngoại vụ","due_date":"2018-12-31"}`, ids[1])
		if r := srv.call(t, "POST", "/api/v1/tasks", clerk, strings.NewReader(task), map[string]string{"Content-Type": "application/json"}); r.status != 201 {
			t.Fatalf("create task: %s", r)
		}
		before := map[string]registerEntry{}
		for _, id := range ids {
			r := srv.call(t, "GET", "/api/v1/documents/"+id, admin, nil, nil)
			var e registerEntry
			json.Unmarshal(r.body, &e)
			before[id] = e
		}
		srv.stop() // graceful: the queue drains its manifest writes, a final checkpoint is signed
		mustCLI(t, st.env, "audit", "verify", "--data", data)

		for _, f := range []string{"catalog.db", "catalog.db-wal", "catalog.db-shm"} {
			os.Remove(filepath.Join(data, f))
		}
		out := mustCLI(t, st.env, "rebuild", "--data", data)
		t.Logf("vanthu rebuild: %s", strings.TrimSpace(out))
		v := mustCLI(t, st.env, "audit", "verify", "--data", data)
		t.Logf("vanthu audit verify after rebuild: %s", strings.TrimSpace(v))

		// Users are not in the bucket: the operator adds them again.
		inspector := addUser(t, data, "thanh2", "inspector", st.env...)
		srv = startServer(t, data, st.env...)
		defer srv.stop()
		for _, id := range ids {
			r := srv.call(t, "GET", "/api/v1/documents/"+id, inspector, nil, nil)
			if r.status != 200 {
				t.Fatalf("after rebuild, GET %s: %s", id, r)
			}
			var e registerEntry
			json.Unmarshal(r.body, &e)
			b := before[id]
			if e.SHA256 != b.SHA256 || e.RegisterNumber != b.RegisterNumber || e.RegisteredAt != b.RegisteredAt || e.Version != b.Version || e.Subject != b.Subject || len(e.Tasks) != len(b.Tasks) {
				t.Errorf("after rebuild %s = %+v, want %+v", id, e, b)
			}
			vr := srv.call(t, "GET", "/api/v1/documents/"+id+"/versions", inspector, nil, nil)
			var vs struct{ Versions []any }
			json.Unmarshal(vr.body, &vs)
			if want := map[bool]int{true: 2, false: 1}[id == ids[0]]; len(vs.Versions) != want {
				t.Errorf("after rebuild %s has %d versions, want %d", id, len(vs.Versions), want)
			}
			if _, got, err := srv.original(t.Context(), inspector, id); err != nil || got != b.SHA256 {
				t.Errorf("after rebuild original of %s: sha %s, %v", id, got, err)
			}
		}
		t.Logf("%s: %d documents, register numbers, versions and tasks back after rebuild", st.name, len(ids))
	})
}

// Flip one byte of one stored original, delete another, add a stray object:
// `vanthu verify` reports exactly changed=1, missing=1, untracked=1, exits
// non-zero, and the changed document is flagged in the API.
func TestE2EFixity(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	clerk := addUser(t, data, "lan", "clerk")
	srv := startServer(t, data)
	var docs []document
	for i := 0; i < 3; i++ {
		docs = append(docs, srv.mustUpload(t, clerk, fmt.Sprintf("cv-%d.txt", i), []byte(fmt.Sprintf("Công văn số %d/SNV-VP về việc kiểm tra\n", i+1)), nil))
	}
	srv.stop()
	if out := mustCLI(t, nil, "verify", "--data", data); !strings.Contains(out, "changed=0 missing=0 untracked=0") {
		t.Fatalf("verify on an intact store: %s", out)
	}
	obj := func(sha string) string {
		return filepath.Join(data, "objects", "originals", "sha256", sha[:2], sha[2:4], sha)
	}
	b, err := os.ReadFile(obj(docs[0].SHA256))
	if err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x01
	os.WriteFile(obj(docs[0].SHA256), b, 0o600)
	os.Remove(obj(docs[1].SHA256))
	stray := obj(strings.Repeat("ab", 32))
	os.MkdirAll(filepath.Dir(stray), 0o700)
	os.WriteFile(stray, []byte("not ours"), 0o600)

	r := cli(t, nil, "verify", "--data", data)
	t.Logf("vanthu verify (exit %d):\n%s", r.code, r.stdout)
	if r.code == 0 || !strings.Contains(r.stdout, "changed=1 missing=1 untracked=1") {
		t.Fatalf("verify after tampering: exit %d, %s; want non-zero with changed=1 missing=1 untracked=1", r.code, r.stdout)
	}
	inspector := addUser(t, data, "thanh", "inspector")
	srv = startServer(t, data)
	defer srv.stop()
	var flagged struct {
		Fixity string `json:"fixity"`
	}
	json.Unmarshal(srv.call(t, "GET", "/api/v1/documents/"+docs[0].ID, inspector, nil, nil).body, &flagged)
	if flagged.Fixity != "changed" {
		t.Errorf("changed original's document shows fixity %q, want changed", flagged.Fixity)
	}
	evs := srv.call(t, "GET", "/api/v1/audit?action=fixity", inspector, nil, nil)
	if n := strings.Count(string(evs.body), `"action":"fixity"`); n != 3 {
		t.Errorf("%d fixity audit events, want 3: %s", n, evs.body)
	}
}
