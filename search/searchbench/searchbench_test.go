package searchbench

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"vanthu/search"
)

const corpus = "../../../shared/corpus/text"

var docs = flag.Int("searchbench.docs", 0, "TestMeasure: documents to index and measure (e.g. 100000); 0 skips")

func generator(t testing.TB) *Generator {
	t.Helper()
	if _, err := os.Stat(corpus); err != nil {
		t.Skipf("corpus texts not found at %s: %v", corpus, err)
	}
	g, err := NewGenerator(corpus, 1)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGeneratorIsReproducible(t *testing.T) {
	g := generator(t)
	a, b := g.Doc(42), g.Doc(42)
	if a.ID != b.ID || a.Body != b.Body || a.Subject == "" || len(a.Body) < 100 {
		t.Errorf("Doc(42) = %+v, then %+v", a, b)
	}
}

// BenchmarkSearch measures one search with facets and highlights on a
// 5,000-document index (indexing is not timed).
func BenchmarkSearch(b *testing.B) {
	g := generator(b)
	ix, err := search.Open(filepath.Join(b.TempDir(), "index"))
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	if _, err := Fill(ix, g, 0, 5000, 1000); err != nil {
		b.Fatal(err)
	}
	reqs := Queries()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := ix.Search(context.Background(), reqs[i%len(reqs)]); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMeasure is the once-off measurement at scale:
//
//	go test ./search/searchbench -run TestMeasure -searchbench.docs 100000 -v -timeout 1h
func TestMeasure(t *testing.T) {
	if *docs == 0 {
		t.Skip("set -searchbench.docs to measure")
	}
	g := generator(t)
	dir := filepath.Join(t.TempDir(), "index")
	ix, err := search.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	rate, err := Fill(ix, g, 0, *docs, 1000)
	if err != nil {
		t.Fatal(err)
	}
	size, _ := DirSize(dir)
	t.Logf("indexed %d documents at %.0f docs/s; index %.1f MB", *docs, rate, float64(size)/1e6)
	ctx := context.Background()
	reqs := Queries()
	if _, _, err := Latency(ctx, ix, reqs, 2, 2*len(reqs)); err != nil { // warm up
		t.Fatal(err)
	}
	for _, workers := range []int{1, 8} {
		p50, p99, err := Latency(ctx, ix, reqs, workers, 400)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d goroutine(s): p50 %s  p99 %s", workers, p50, p99)
	}
	for _, r := range reqs {
		res, err := ix.Search(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%-50q total %d", r.Q, res.Total)
	}
}
