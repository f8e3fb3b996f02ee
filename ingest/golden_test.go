package ingest

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vanthu/ingest/vietnamese"
)

type goldenDoc struct {
	path, number, typ, issuer, issuedAt, subject string
}

func readGolden(t *testing.T) []goldenDoc {
	t.Helper()
	f, err := os.Open("testdata/golden.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var docs []goldenDoc
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		c := strings.Split(line, "\t")
		if len(c) != 6 {
			t.Fatalf("golden.tsv: %d columns in %q", len(c), line)
		}
		docs = append(docs, goldenDoc{c[0], c[1], c[2], c[3], c[4], c[5]})
	}
	return docs
}

// sameText compares after NFC, tone placement, case and spacing: the
// golden file is typed by a person, the text comes from a PDF.
func sameText(a, b string) bool {
	norm := func(s string) string {
		return strings.ToLower(strings.Join(strings.Fields(vietnamese.Normalize(s)), " "))
	}
	return norm(a) == norm(b)
}

// TestGoldenAccuracy extracts each golden document through the isolated
// Extractor (OCR capped at the first page) and measures ParseMetadata
// against values written down by reading the documents.
func TestGoldenAccuracy(t *testing.T) {
	t.Parallel() // mostly waiting on child processes; overlapping them halves the run
	needCorpus(t)
	docs := readGolden(t)
	e := childExtractor(t, 2*time.Minute)
	fields := []string{"number", "type", "issuer", "issued_at", "subject"}
	hits := map[string]int{}
	var files []string
	for _, d := range docs {
		files = append(files, filepath.Join(corpusDir, d.path))
	}
	results := parallelExtract(t, e, files)
	for i, d := range docs {
		res := results[i]
		if res.Status != StatusOK {
			t.Errorf("%s: extraction %s: %s", d.path, res.Status, res.Reason)
		}
		m := ParseMetadata(res.Text)
		got := map[string]string{"number": m.Number, "type": m.Type, "issuer": m.Issuer, "issued_at": m.IssuedAt, "subject": m.Subject}
		want := map[string]string{"number": d.number, "type": d.typ, "issuer": d.issuer, "issued_at": d.issuedAt, "subject": d.subject}
		for _, f := range fields {
			ok := got[f] == want[f]
			if f == "issuer" || f == "subject" {
				ok = sameText(got[f], want[f])
			}
			if ok {
				hits[f]++
			} else {
				t.Logf("%s: %s = %q, want %q", filepath.Base(d.path), f, got[f], want[f])
			}
		}
	}
	min := map[string]float64{"number": 0.95, "issued_at": 0.95, "type": 0.90, "issuer": 0.90}
	for _, f := range fields {
		acc := float64(hits[f]) / float64(len(docs))
		t.Logf("accuracy %-9s %3d/%d = %5.1f%%", f, hits[f], len(docs), 100*acc)
		if acc < min[f] {
			t.Errorf("accuracy of %s is %.1f%%, below %.0f%%", f, 100*acc, 100*min[f])
		}
	}
}
