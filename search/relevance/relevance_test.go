package relevance

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// corpus is found relative to this package, as in the repository layout
// (/work/main next to /work/shared).
const corpus = "../../../shared/corpus/alqac2022"

// TestRelevanceALQAC keeps ranking from regressing: the thresholds are the
// figures a plain syllable BM25 with bigrams reached on this benchmark.
func TestRelevanceALQAC(t *testing.T) {
	if testing.Short() {
		t.Skip("indexes 1377 articles and runs 1040 questions; skipped with -short")
	}
	if raceEnabled {
		t.Skip("skipped under -race (see race_test.go); run go test without -race for the figures")
	}
	if _, err := os.Stat(filepath.Join(corpus, "law.json")); err != nil {
		t.Skipf("ALQAC corpus not found at %s: %v", corpus, err)
	}
	docs, qs, err := Load(corpus)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := Build(filepath.Join(t.TempDir(), "index"), docs)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	tests := []struct {
		folded         bool
		recall1, mrr10 float64
	}{
		{false, 0.90, 0.92},
		{true, 0, 0.85},
	}
	for _, tt := range tests {
		m, err := Evaluate(context.Background(), ix, qs, tt.folded)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("folded=%v: %s", tt.folded, m)
		if m.Questions != len(qs) || m.RecallAt1 < tt.recall1 || m.MRR10 < tt.mrr10 {
			t.Errorf("folded=%v: %s; want %d questions, recall@1 ≥ %.2f, MRR@10 ≥ %.2f", tt.folded, m, len(qs), tt.recall1, tt.mrr10)
		}
	}
}
