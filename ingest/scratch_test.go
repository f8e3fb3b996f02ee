package ingest

import (
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ocrExtractor is a child extractor with OCR whose children keep their
// scratch directories under a test directory; it skips without the corpus
// or the OCR tools.
func ocrExtractor(t *testing.T) *Extractor {
	t.Helper()
	needCorpus(t)
	if tools := LookupTools(); tools.Tesseract == "" || tools.PDFToPPM == "" {
		t.Skip("pdftoppm or tesseract not installed (bash .ci/test.sh installs them)")
	}
	e := childExtractor(t, 3*time.Minute)
	e.TempDir = t.TempDir()
	return e
}

// whileOCRing extracts a scan with e and, once its first page image is on
// disk under e.TempDir, calls during and cancels the extraction, the way a
// shutdown or the time limit stops it. It returns the image's path and
// Extract's error; the test fails if no image appeared there.
func whileOCRing(t *testing.T, e *Extractor, during func()) (img string, err error) {
	t.Helper()
	scan := filepath.Join(corpusDir, "pdf", "CV-813-CucHoaChat.pdf")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen := make(chan string, 1)
	go func() {
		defer cancel()
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(10 * time.Millisecond) {
			if img := findFile(e.TempDir, ".png"); img != "" {
				during()
				seen <- img
				return
			}
		}
	}()
	_, err = e.Extract(ctx, scan, MimePDF)
	select {
	case img = <-seen:
	default:
		t.Fatalf("no page image appeared under TempDir while the scan was OCRed (Extract: %v): the child does not keep its work there", err)
	}
	return img, err
}

// TestKilledChildLeavesNoScratch stops an extraction in the middle of its
// OCR, once the page image is on disk, and checks that nothing of the
// child's is left behind. Before the child had a scratch directory of its
// own, each such kill left the page image in /tmp (618 of them, 1.2 MB
// each, after a few days of test runs on the dev machine).
func TestKilledChildLeavesNoScratch(t *testing.T) {
	e := ocrExtractor(t)
	img, err := whileOCRing(t, e, func() {})
	if err == nil {
		t.Fatalf("Extract after the cancel at %s returned no error", img)
	}
	rel, _ := filepath.Rel(e.TempDir, img)
	if !strings.HasPrefix(rel, ScratchPrefix) {
		t.Errorf("page image at %s, want it in a %s… directory", rel, ScratchPrefix)
	}
	var left []string
	filepath.WalkDir(e.TempDir, func(p string, d fs.DirEntry, err error) error {
		if p != e.TempDir {
			left = append(left, p)
		}
		return nil
	})
	if len(left) > 0 {
		t.Errorf("cancelled while %s existed; left behind: %v", rel, left)
	}
	t.Logf("cancelled once %s existed; TempDir empty afterwards", rel)
}

// findFile returns a file under dir whose name ends in suffix, or "".
func findFile(dir, suffix string) string {
	var found string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, suffix) {
			found = p
			return fs.SkipAll
		}
		return nil
	})
	return found
}
