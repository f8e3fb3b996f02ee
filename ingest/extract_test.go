package ingest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestMain lets the test binary be its own extraction child, the pattern
// os/exec's tests use: the Extractor runs os.Args[0] with
// VANTHU_INGEST_CHILD=1, and that process runs ChildMain instead of tests.
func TestMain(m *testing.M) {
	if os.Getenv("VANTHU_INGEST_CHILD") == "1" {
		os.Exit(ChildMain(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// corpusDir is the shared corpus of real documents, outside the module.
const corpusDir = "../../shared/corpus"

func needCorpus(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(corpusDir, "MANIFEST.tsv")); err != nil {
		t.Skipf("corpus not found at %s (it is /work/shared/corpus in the dev VM): %v", corpusDir, err)
	}
}

// childExtractor runs extraction in a child process: the test binary itself.
func childExtractor(t testing.TB, timeout time.Duration) *Extractor {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return &Extractor{
		Exe:         exe,
		Env:         []string{"VANTHU_INGEST_CHILD=1"},
		Timeout:     timeout,
		MemoryLimit: 1 << 30,
		OCRMaxPages: 1,
		Tools:       LookupTools(),
	}
}

func extractOK(t *testing.T, e *Extractor, path, mime string) Result {
	t.Helper()
	res, err := e.Extract(context.Background(), path, mime)
	if err != nil {
		t.Fatalf("Extract(%s): %v", path, err)
	}
	return res
}
