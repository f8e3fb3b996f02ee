package ingest

import (
	"os"
	"testing"

	"vanthu/archive/archivetest"
)

// TestChildRunsBelowSearches: while a scan is OCRed, every thread of the
// extraction child and of the tool it runs has nice ChildNice, below the
// server's search workers.
func TestChildRunsBelowSearches(t *testing.T) {
	e := ocrExtractor(t)
	var seen []archivetest.Thread
	whileOCRing(t, e, func() {
		// The OCR has begun: the child and the tool it runs now.
		for _, child := range archivetest.Children(os.Getpid()) {
			for _, p := range append([]int{child}, archivetest.Children(child)...) {
				threads, _ := archivetest.Threads(p)
				seen = append(seen, threads...)
			}
		}
	})
	if len(seen) == 0 {
		t.Fatal("no extraction process found while the scan was OCRed")
	}
	for _, th := range seen {
		if th.Nice != ChildNice {
			t.Errorf("thread %s, want nice=%d", th, ChildNice)
		}
	}
	t.Logf("threads while OCRing: %v", seen)
}
