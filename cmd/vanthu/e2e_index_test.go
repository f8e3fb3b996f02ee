package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// searchHits runs a query and returns the hit ids in order, waiting while
// the index answers 503 (rebuilding).
func searchHits(t *testing.T, srv *server, tok, q string) []string {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		r := srv.call(t, "GET", "/api/v1/search?size=50&q="+url.QueryEscape(q), tok, nil, nil)
		if r.status == 503 && time.Now().Before(deadline) {
			time.Sleep(300 * time.Millisecond)
			continue
		}
		if r.status != 200 {
			t.Fatalf("search %q: %s", q, r)
		}
		var res struct {
			Hits []struct {
				ID         string              `json:"id"`
				Highlights map[string][]string `json:"highlights"`
			} `json:"hits"`
		}
		json.Unmarshal(r.body, &res)
		ids := []string{}
		for _, h := range res.Hits {
			ids = append(ids, h.ID)
		}
		return ids
	}
}

// Delete the index directory while the service is stopped; start it; search
// answers 503 while the index is rebuilt from the catalog, then the same
// queries return the same hits.
func TestE2EIndexRebuild(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	clerk := addUser(t, data, "lan", "clerk")
	srv := startServer(t, data)
	corpus := filepath.Join("..", "..", "..", "shared", "corpus", "text")
	files, _ := filepath.Glob(filepath.Join(corpus, "*.txt"))
	if len(files) == 0 {
		t.Skipf("corpus not found at %s", corpus)
	}
	if len(files) > 30 {
		files = files[:30]
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		srv.mustUpload(t, clerk, filepath.Base(f), b, nil)
	}
	queries := []string{"ke hoach kiem tra", "kế hoạch kiểm tra", "vật liệu nổ công nghiệp", `"an toàn"`, "giay phep -mo", "nghị định"}
	// Let the queue index everything first.
	time.Sleep(3 * time.Second)
	before := map[string][]string{}
	for _, q := range queries {
		before[q] = searchHits(t, srv, clerk, q)
	}
	srv.stop()
	if err := os.RemoveAll(filepath.Join(data, "index")); err != nil {
		t.Fatal(err)
	}
	srv = startServer(t, data)
	defer srv.stop()
	r := srv.call(t, "GET", "/api/v1/search?q=ke+hoach", clerk, nil, nil)
	t.Logf("right after start: %d %s", r.status, r.body)
	for _, q := range queries {
		after := searchHits(t, srv, clerk, q)
		if !reflect.DeepEqual(before[q], after) {
			t.Errorf("%q: %d hits before, %d after the rebuild, or in another order", q, len(before[q]), len(after))
		}
		t.Logf("%q: %d hits, same after the rebuild", q, len(after))
	}
}

// Deleting the last audit rows, with the triggers dropped, is caught by the
// signed checkpoint written at shutdown: verify names the first removed event.
func TestE2EAuditCheckpointRemoval(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	clerk := addUser(t, data, "lan", "clerk")
	srv := startServer(t, data)
	for i := 0; i < 6; i++ {
		srv.mustUpload(t, clerk, fmt.Sprintf("cv-%d.txt", i), []byte(fmt.Sprintf("Công văn số %d/SNV\n", i+1)), nil)
	}
	srv.stop() // writes a signed checkpoint of the whole trail
	out := mustCLI(t, nil, "audit", "verify", "--data", data)
	t.Logf("before: %s", strings.TrimSpace(out))
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	var last int64
	db.QueryRow(`SELECT max(seq) FROM audit`).Scan(&last)
	db.Close()
	if _, err := exec.LookPath("sqlite3"); err != nil {
		t.Skip("the sqlite3 CLI is not installed")
	}
	cmd := exec.Command("sqlite3", filepath.Join(data, "catalog.db"),
		fmt.Sprintf("DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq > %d;", last-5))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sqlite3: %v %s", err, b)
	}
	r := cli(t, nil, "audit", "verify", "--data", data)
	t.Logf("after deleting events %d–%d: exit %d: %s", last-4, last, r.code, strings.TrimSpace(r.stdout))
	if r.code == 0 || !strings.Contains(r.stdout, fmt.Sprintf("event %d", last-4)) {
		t.Errorf("verify after deleting the last 5 events: exit %d %q; want non-zero naming event %d", r.code, r.stdout, last-4)
	}
}
