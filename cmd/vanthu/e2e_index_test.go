package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
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

// vanthu reindex rebuilds the index from the catalog alone: the same hits
// afterwards, progress in steps of 1,000 and a last line naming the total,
// and a disposed document (its residual record stays in the catalog) is
// neither an error nor a hit. In-process with batches of 3, the read-ahead
// pipeline gives the index every other document.
func TestE2EReindex(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	clerk := addUser(t, data, "lan", "clerk")
	admin := addUser(t, data, "minh", "admin")
	srv := startServer(t, data)
	files, _ := filepath.Glob(filepath.Join(corpusDir, "text", "*.txt"))
	if len(files) == 0 {
		t.Skipf("corpus not found at %s", corpusDir)
	}
	if len(files) > 12 {
		files = files[:12]
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		srv.mustUpload(t, clerk, filepath.Base(f), b, nil)
	}
	old := srv.mustUpload(t, clerk, "old.txt", []byte("Công văn năm 2001 về kho lưu trữ hết hạn bảo quản\n"), map[string]string{"issued_at": "2001-01-05", "retention": "10"})
	if r := srv.call(t, "DELETE", "/api/v1/documents/"+old.ID, clerk, strings.NewReader(`{"reason":"hết thời hạn bảo quản"}`), map[string]string{"Content-Type": "application/json"}); r.status != 202 {
		t.Fatalf("DELETE expired document = %s, want 202", r)
	}
	if r := srv.call(t, "POST", "/api/v1/documents/"+old.ID+"/disposition/approve", admin, nil, nil); r.status != 200 {
		t.Fatalf("approve = %s", r)
	}
	queries := []string{"ke hoach kiem tra", "kế hoạch kiểm tra", `"an toàn"`, "nghị định", "hết hạn bảo quản"}
	time.Sleep(3 * time.Second) // let the queue index everything
	before := map[string][]string{}
	for _, q := range queries {
		before[q] = searchHits(t, srv, clerk, q)
	}
	srv.stop()

	total := len(files) + 1
	out := mustCLI(t, nil, "reindex", "--data", data)
	if want := fmt.Sprintf("indexed %d/%d\nreindex done: %d documents\n", total, total, total); out != want {
		t.Errorf("vanthu reindex printed %q, want %q", out, want)
	}
	srv = startServer(t, data)
	for _, q := range queries {
		after := searchHits(t, srv, clerk, q)
		if !reflect.DeepEqual(before[q], after) {
			t.Errorf("%q: hits %v before, %v after vanthu reindex", q, before[q], after)
		}
		if slices.Contains(after, old.ID) {
			t.Errorf("%q finds the disposed document %s", q, old.ID)
		}
		t.Logf("%q: %d hits, the same after vanthu reindex", q, len(after))
	}
	srv.stop()

	ctx := context.Background()
	var cfg config
	if err := parse(newFlags("reindex", &cfg, false), []string{"--data", data}, &cfg); err != nil {
		t.Fatal(err)
	}
	a, err := openApp(ctx, cfg, quietLog(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	if err := os.RemoveAll(a.indexDir()); err != nil {
		t.Fatal(err)
	}
	if err := a.openIndex(ctx, false); err != nil {
		t.Fatal(err)
	}
	var progress []int
	if err := a.reindexAll(ctx, 3, func(done int) { progress = append(progress, done) }); err != nil {
		t.Fatal(err)
	}
	if n, err := a.index.Count(); err != nil || n != uint64(total-1) {
		t.Errorf("index after reindexAll in batches of 3 holds %d documents (%v), want %d", n, err, total-1)
	}
	if !reflect.DeepEqual(progress, []int{total}) {
		t.Errorf("progress %v, want [%d]", progress, total)
	}
}
