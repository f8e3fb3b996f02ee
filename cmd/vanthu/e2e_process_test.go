package main

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"vanthu/archive/archivetest"
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

// TestE2ESearchWorkersRunBelowRequests: vanthu serve runs its search
// workers on threads of their own at nice 5 (tune.Serving sizes the queue
// before the index opens), one per core, and every other thread at nice 0.
func TestE2ESearchWorkersRunBelowRequests(t *testing.T) {
	if os.Getenv("GOMAXPROCS") != "" {
		t.Skip("GOMAXPROCS is set: vanthu serve then keeps no spare processor")
	}
	data := filepath.Join(t.TempDir(), "data")
	s := startServer(t, data)
	want := runtime.GOMAXPROCS(0) // the server's cores, as Go counts them
	var nices map[int]int
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		nices = map[int]int{}
		threads, err := archivetest.Threads(s.pid)
		if err != nil {
			t.Fatal(err)
		}
		for _, th := range threads {
			nices[th.Nice]++
		}
		if nices[5] >= want || time.Now().After(deadline) {
			break
		}
	}
	if nices[5] != want || len(nices) != 2 || nices[0] == 0 {
		t.Errorf("threads of vanthu serve by nice value: %v, want %d at nice 5 (one per search worker) and the rest at 0", nices, want)
	}
	t.Logf("threads by nice value: %v", nices)
}
