package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"vanthu/ingest"
)

// TestE2EStartSweepsStaleScratch: what extraction children of a killed
// server leave in DATA/tmp — their scratch directories (OCR page images)
// and the originals copied out for them — is removed at the next start once
// it is older than a few minutes; fresh ones (an import running beside the
// server) and what is not vanthu's stay.
func TestE2EStartSweepsStaleScratch(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	tmp := filepath.Join(data, "tmp")
	old := time.Now().Add(-time.Hour)
	mk := func(rel string, stale bool) {
		t.Helper()
		p := filepath.Join(tmp, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("page image"), 0o640); err != nil {
			t.Fatal(err)
		}
		if stale {
			for q := p; q != tmp; q = filepath.Dir(q) {
				if err := os.Chtimes(q, old, old); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	mk(ingest.ScratchPrefix+"1/vanthu-ocr-2/page.png", true)
	mk("extract-3", true)
	mk(ingest.ScratchPrefix+"4/vanthu-ocr-5/page.png", false)
	mk("operator-notes/readme.txt", true)

	startServer(t, data)
	for p, want := range map[string]bool{
		filepath.Join(tmp, ingest.ScratchPrefix+"1"): false,
		filepath.Join(tmp, "extract-3"):              false,
		filepath.Join(tmp, ingest.ScratchPrefix+"4"): true,
		filepath.Join(tmp, "operator-notes"):         true,
	} {
		_, err := os.Stat(p)
		if got := err == nil; got != want {
			t.Errorf("after the start: %s exists = %v, want %v (stat: %v)", filepath.Base(p), got, want, err)
		}
	}
}
