package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Files a scanner drops into the inbox are imported and moved to done/, or
// to failed/ with the reason beside them.
func TestE2EInbox(t *testing.T) {
	dir := t.TempDir()
	data, inbox := filepath.Join(dir, "data"), filepath.Join(dir, "inbox")
	os.MkdirAll(inbox, 0o755)
	officer := addUser(t, data, "an", "officer")
	srv := startServer(t, data, "VANTHU_INBOX="+inbox)
	defer srv.stop()
	good := []byte("UBND TỈNH QUẢNG NAM\nSở Ngoại vụ\nSố: 15/BC-SNgV\nBÁO CÁO\nKết quả công tác đối ngoại quý I năm 2018\n")
	os.WriteFile(filepath.Join(inbox, "bao-cao.txt"), good, 0o644)
	os.WriteFile(filepath.Join(inbox, "rac.bin"), []byte{0, 1, 2, 3, 0xff, 0xfe, 0, 0, 9}, 0o644)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		_, e1 := os.Stat(filepath.Join(inbox, "done", "bao-cao.txt"))
		_, e2 := os.Stat(filepath.Join(inbox, "failed", "rac.bin"))
		if e1 == nil && e2 == nil {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(inbox, "done", "bao-cao.txt")); err != nil {
		t.Fatalf("the text file was not moved to done/: %v", err)
	}
	reason, err := os.ReadFile(filepath.Join(inbox, "failed", "rac.bin.reason.txt"))
	if err != nil || !strings.Contains(string(reason), "vanthu keeps PDF") {
		t.Errorf("the binary file's reason = %q, %v", reason, err)
	}
	docs := srv.listDocs(t, officer)
	if len(docs) != 1 || docs[0].SHA256 != sha(good) {
		t.Errorf("after the inbox: %d documents %+v, want the one report", len(docs), docs)
	}
	t.Logf("inbox: bao-cao.txt stored and moved to done/; rac.bin moved to failed/ (%s)", strings.TrimSpace(string(reason)))
}
