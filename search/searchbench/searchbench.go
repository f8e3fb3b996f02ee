// Package searchbench fills a search index with synthetic documents built
// from real Vietnamese official texts, and measures search latency on it
// directly (no HTTP), so the web layer's overhead can later be measured
// against the same numbers.
//
// Documents are assembled from sentences of the corpus texts
// (corpus/text/*.txt), so syllable frequencies, document lengths and
// shingle statistics resemble a real archive rather than random words.
package searchbench

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"vanthu/archive"
	"vanthu/search"
)

// Generator produces reproducible synthetic documents.
type Generator struct {
	sentences []string
	seed      uint64
}

var (
	types   = []string{"KH", "QĐ", "QyĐ", "CV", "BC", "TB", "CT", "HD", "GM", "TTr", "NQ", "CTr"}
	issuers = []string{"UBND tỉnh Quảng Nam", "Sở Ngoại vụ", "Sở Công Thương", "Sở Tài chính", "Bộ Ngoại giao",
		"Chính phủ", "Thủ tướng Chính phủ", "Tỉnh ủy Quảng Nam", "UBND huyện Núi Thành", "Sở Nội vụ"}
	levels  = []string{"central", "provincial", "provincial", "provincial", "district", "commune"}
	classes = []archive.Classification{"none", "none", "none", "none", "none", "none", "none", "none", "none", "mat"}
)

// NewGenerator reads the .txt files in dir and splits them into sentences.
func NewGenerator(dir string, seed uint64) (*Generator, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		return nil, err
	}
	g := &Generator{seed: seed}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			for _, s := range strings.FieldsFunc(sc.Text(), func(r rune) bool { return r == '.' || r == ';' }) {
				if s = strings.TrimSpace(s); len(strings.Fields(s)) >= 5 {
					g.sentences = append(g.sentences, s)
				}
			}
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
	}
	if len(g.sentences) == 0 {
		return nil, fmt.Errorf("searchbench: no sentences in %s", dir)
	}
	return g, nil
}

// Doc returns document i; the same i always gives the same document.
func (g *Generator) Doc(i int) search.Doc {
	r := rand.New(rand.NewPCG(g.seed, uint64(i)))
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	subject := strings.Fields(pick(g.sentences))
	subject = subject[:min(len(subject), 8+r.IntN(12))]
	var body strings.Builder
	for range 5 + r.IntN(20) {
		body.WriteString(pick(g.sentences))
		body.WriteString(". ")
	}
	typ := pick(types)
	issuedAt := time.Date(2010+r.IntN(16), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)
	return search.Doc{
		ID:             fmt.Sprintf("doc%07d", i),
		Number:         fmt.Sprintf("%d/%s-UBND", 1+r.IntN(5000), typ),
		Type:           typ,
		Issuer:         pick(issuers),
		Level:          pick(levels),
		Classification: classes[r.IntN(len(classes))],
		IssuedAt:       issuedAt,
		Subject:        strings.Join(subject, " "),
		Body:           body.String(),
		Tasks:          []string{fmt.Sprintf("task%d", r.IntN(500))},
	}
}

// Fill indexes documents [from, to) in batches and returns the rate.
func Fill(ix *search.Index, g *Generator, from, to, batch int) (docsPerSecond float64, err error) {
	start := time.Now()
	docs := make([]search.Doc, 0, batch)
	for i := from; i < to; i++ {
		docs = append(docs, g.Doc(i))
		if len(docs) == batch || i == to-1 {
			if err := ix.Index(docs); err != nil {
				return 0, err
			}
			docs = docs[:0]
		}
	}
	return float64(to-from) / time.Since(start).Seconds(), nil
}

// Queries are what officers type, with facets and highlights as the
// search page asks for them.
func Queries() []search.Request {
	qs := []string{
		"kế hoạch đối ngoại",
		"ke hoach doi ngoai",
		"báo cáo kết quả kiểm tra hóa chất",
		"người lao động được nghỉ phép bao nhiêu ngày",
		`"an toàn hóa chất" -xử phạt`,
		"quyết định xử phạt vi phạm hành chính",
		"1623/KH-UBND",
		"giấy chứng nhận đủ điều kiện",
		"trien*",
		"thông tư hướng dẫn",
	}
	var out []search.Request
	for i, q := range qs {
		r := search.Request{Q: q, Facets: true, Highlight: true, Size: 20, Clearance: archive.Unclassified}
		if i%3 == 1 {
			r.Year = 2020
		}
		out = append(out, r)
	}
	return out
}

// Latency runs n searches from workers goroutines, cycling through reqs,
// and returns the 50th and 99th percentiles.
func Latency(ctx context.Context, ix *search.Index, reqs []search.Request, workers, n int) (p50, p99 time.Duration, err error) {
	times := make([]time.Duration, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				start := time.Now()
				_, e := ix.Search(ctx, reqs[i%len(reqs)])
				times[i] = time.Since(start)
				if e != nil {
					mu.Lock()
					err = e
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	slices.Sort(times)
	return times[n/2], times[min(n-1, n*99/100)], err
}

// DirSize is the bytes under dir, for reporting the index size.
func DirSize(dir string) (int64, error) {
	var n int64
	err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return err
	})
	return n, err
}
