package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A clearance-none officer cannot tell a secret (mật) document from one
// that does not exist, by any path; every attempt is audited; and lowering a
// user's clearance takes effect on their very next request.
func TestE2EClearance(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	env := []string{"VANTHU_MAX_CLASSIFICATION=mat"}
	clerk := addUser(t, data, "lan", "clerk", env...)
	mustCLI(t, env, "user", "set", "lan", "--clearance", "mat", "--data", data)
	officer := addUser(t, data, "an", "officer", env...)
	secretReader := addUser(t, data, "binh", "officer", env...)
	mustCLI(t, env, "user", "set", "binh", "--clearance", "mat", "--data", data)
	inspector := addUser(t, data, "thanh", "inspector", env...)
	srv := startServer(t, data, env...)
	defer srv.stop()

	secret := srv.mustUpload(t, clerk, "mat.txt", []byte("Báo cáo tình hình biên giới, nội dung xuyenquocgiabimat\n"), map[string]string{"classification": "mat", "subject": "Báo cáo mật"})
	srv.mustUpload(t, clerk, "thuong.txt", []byte("Kế hoạch công tác đối ngoại năm 2026\n"), nil)
	random := "01a2b3c4-d5e6-7f80-9a1b-2c3d4e5f6a7b"

	for _, p := range []string{"", "/original", "/text", "/references", "/similar", "/versions", "/task-proposals"} {
		hidden := srv.call(t, "GET", "/api/v1/documents/"+secret.ID+p, officer, nil, nil)
		missing := srv.call(t, "GET", "/api/v1/documents/"+random+p, officer, nil, nil)
		if hidden.status != 404 || missing.status != 404 || !bytes.Equal(hidden.body, missing.body) {
			t.Errorf("GET %s: secret → %d %s; random id → %d %s; want identical 404s", p, hidden.status, hidden.body, missing.status, missing.body)
		}
	}
	search := func(tok, q string) map[string]any {
		r := srv.call(t, "GET", "/api/v1/search?q="+url.QueryEscape(q), tok, nil, nil)
		var m map[string]any
		json.Unmarshal(r.body, &m)
		delete(m, "took")
		return m
	}
	// The queue indexes within a few seconds.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && fmt.Sprint(search(secretReader, "xuyenquocgiabimat")["total"]) != "1" {
		time.Sleep(200 * time.Millisecond)
	}
	if got := fmt.Sprint(search(secretReader, "xuyenquocgiabimat")["total"]); got != "1" {
		t.Fatalf("cleared officer finds %s documents for the secret word, want 1", got)
	}
	a, b := search(officer, "xuyenquocgiabimat"), search(officer, "khongcotukhoanaynhe")
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Errorf("search for the secret word = %s\nsearch for nonsense  = %s\nwant identical", ja, jb)
	}
	var list struct{ Items []map[string]any }
	json.Unmarshal(srv.call(t, "GET", "/api/v1/documents", officer, nil, nil).body, &list)
	for _, d := range list.Items {
		if d["id"] == secret.ID {
			t.Error("the secret document is in the officer's document list")
		}
	}
	var denied struct{ Items []map[string]any }
	json.Unmarshal(srv.call(t, "GET", "/api/v1/audit?action=access.denied&actor=an&size=100", inspector, nil, nil).body, &denied)
	if len(denied.Items) < 7 {
		t.Errorf("%d access.denied events for the officer's 7 attempts", len(denied.Items))
	}
	t.Logf("7 paths answered like a missing document; search identical to nonsense; %d denials audited", len(denied.Items))

	// Lowering a clearance takes effect on the next request.
	if r := srv.call(t, "GET", "/api/v1/documents/"+secret.ID, secretReader, nil, nil); r.status != 200 {
		t.Fatalf("cleared officer GET secret: %s", r)
	}
	mustCLI(t, env, "user", "set", "binh", "--clearance", "none", "--data", data)
	if r := srv.call(t, "GET", "/api/v1/documents/"+secret.ID, secretReader, nil, nil); r.status != 404 {
		t.Errorf("after lowering the clearance, GET secret = %d, want 404", r.status)
	}
	// A deployment ceiling refuses what it may not hold.
	mp, body := multipartBody("tm.txt", []byte("tối mật"), map[string]string{"classification": "toi_mat"})
	if r := srv.call(t, "POST", "/api/v1/documents", clerk, bytes.NewReader(body), map[string]string{"Content-Type": mp}); r.status != 422 || !strings.Contains(string(r.body), "isolated network") {
		t.Errorf("upload above the ceiling = %s, want 422 explaining the ceiling", r)
	}
}

// Originals are never deleted through the API: DELETE asks for a
// disposition, refused under legal hold or within retention; an approved one
// (by a second person) leaves a residual record and removes the object.
func TestE2EDisposition(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	clerk := addUser(t, data, "lan", "clerk")
	admin := addUser(t, data, "minh", "admin")
	srv := startServer(t, data)
	defer srv.stop()
	held := srv.mustUpload(t, clerk, "held.txt", []byte("Hồ sơ thanh tra đang giữ\n"), map[string]string{"issued_at": "2001-01-05", "retention": "10", "legal_hold": "true"})
	young := srv.mustUpload(t, clerk, "young.txt", []byte("Kế hoạch năm 2026\n"), map[string]string{"issued_at": "2026-01-05", "retention": "10", "retention_basis": "Thông tư 10/2022/TT-BNV"})
	old := srv.mustUpload(t, clerk, "old.txt", []byte("Công văn năm 2001 hết hạn bảo quản\n"), map[string]string{"issued_at": "2001-01-05", "retention": "10", "retention_basis": "Thông tư 10/2022/TT-BNV"})
	for _, c := range []struct {
		doc  document
		code string
	}{{held, "legal_hold"}, {young, "retention"}} {
		r := srv.call(t, "DELETE", "/api/v1/documents/"+c.doc.ID, clerk, nil, nil)
		code, msg := apiErr(t, r)
		if r.status != 409 || code != c.code {
			t.Errorf("DELETE %s = %d %s, want 409 %s", c.doc.Filename, r.status, code, c.code)
		}
		t.Logf("DELETE %s → %d %s: %s", c.doc.Filename, r.status, code, msg)
	}
	if r := srv.call(t, "DELETE", "/api/v1/documents/"+old.ID, clerk, strings.NewReader(`{"reason":"hết thời hạn bảo quản"}`), map[string]string{"Content-Type": "application/json"}); r.status != 202 {
		t.Fatalf("DELETE expired document = %s, want 202", r)
	}
	r := srv.call(t, "POST", "/api/v1/documents/"+old.ID+"/disposition/approve", admin, nil, nil)
	if r.status != 200 {
		t.Fatalf("approve = %s", r)
	}
	if r := srv.call(t, "GET", "/api/v1/documents/"+old.ID+"/original", clerk, nil, nil); r.status != 410 {
		t.Errorf("original after disposition = %d, want 410", r.status)
	}
	var residual map[string]any
	json.Unmarshal(srv.call(t, "GET", "/api/v1/documents/"+old.ID, clerk, nil, nil).body, &residual)
	if residual["disposed_at"] == "" || residual["retention_basis"] != "Thông tư 10/2022/TT-BNV" {
		t.Errorf("residual record = %v", residual)
	}
	if fsStorage().exists(t, data, "originals/sha256/"+old.SHA256[:2]+"/"+old.SHA256[2:4]+"/"+old.SHA256) {
		t.Error("the original object is still stored after an approved disposition")
	}
	ins := addUser(t, data, "thanh", "inspector")
	var evs struct{ Items []map[string]any }
	json.Unmarshal(srv.call(t, "GET", "/api/v1/audit?action=document.disposition&size=100", ins, nil, nil).body, &evs)
	if len(evs.Items) != 4 { // two refusals, the request, the approval
		t.Errorf("%d disposition events, want 4: %v", len(evs.Items), evs.Items)
	}
}
