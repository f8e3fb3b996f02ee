package ingest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vanthu/ingest/ingesttest"
)

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func docxWith(t *testing.T, documentXML []byte, lie bool) []byte {
	t.Helper()
	b, err := ingesttest.DOCX(documentXML, lie)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHostileInputs: each hostile file comes back failed, with a reason,
// within the time limit, through the isolated child process.
func TestHostileInputs(t *testing.T) {
	t.Parallel() // mostly waiting on child processes; overlapping them halves the run
	cycle := ingesttest.CyclePDF()
	hello := ingesttest.HelloPDF()
	bombPDF := ingesttest.BombPDF(48) // 3 GiB of zeros in a 3 MiB file
	body := ingesttest.ZipBombXML(65)
	dtd := ingesttest.EntityXML()

	const limit = 3 * time.Second
	e := childExtractor(t, limit)
	e.MemoryLimit = 512 << 20
	tests := []struct {
		name, file, mime string
		data             []byte
		reason           string // a word the reason must contain
	}{
		{"pdf reference cycle", "cycle.pdf", MimePDF, cycle, ""},
		{"truncated pdf", "cut.pdf", MimePDF, hello[:len(hello)/2], "truncated"},
		{"flate bomb pdf", "bomb.pdf", MimePDF, bombPDF, ""},
		{"docx zip bomb", "bomb.docx", MimeDOCX, docxWith(t, body, false), "zip bomb"},
		{"docx zip bomb, lying header", "lie.docx", MimeDOCX, docxWith(t, body, true), "document.xml"},
		{"docx with DTD", "dtd.docx", MimeDOCX, docxWith(t, dtd, false), "DTD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeTemp(t, tt.file, tt.data)
			start := time.Now()
			res, err := e.Extract(context.Background(), path, tt.mime)
			took := time.Since(start)
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			t.Logf("%s: %s in %s: %s", tt.name, res.Status, took.Round(time.Millisecond), res.Reason)
			if res.Status != StatusFailed || res.Reason == "" {
				t.Errorf("status %q reason %q, want failed with a reason", res.Status, res.Reason)
			}
			if !strings.Contains(res.Reason, tt.reason) {
				t.Errorf("reason %q does not mention %q", res.Reason, tt.reason)
			}
			if took > limit+3*time.Second {
				t.Errorf("took %s, limit %s", took, limit)
			}
		})
	}
	// The same generator's well-formed PDF extracts: the failures above are
	// the hostile parts, not the harness.
	// Its own generous limit: a loaded machine or -race must not make a
	// tiny good file look hostile.
	res := extractOK(t, childExtractor(t, time.Minute), writeTemp(t, "hello.pdf", hello), MimePDF)
	if !strings.Contains(res.Text, "Xin chao") {
		t.Errorf("hello.pdf: %s %q (%s)", res.Status, res.Text, res.Reason)
	}
}

// TestCorpusExtractsIsolated: every PDF and DOCX of the corpus goes
// through the child without crashing; scans get OCR text (first page
// only, to keep the run short) or, with OCR "not installed", empty with a
// reason.
func TestCorpusExtractsIsolated(t *testing.T) {
	t.Parallel() // mostly waiting on child processes; overlapping them halves the run
	needCorpus(t)
	if testing.Short() {
		t.Skip("OCR of the corpus scans takes a while")
	}
	pdfs, _ := filepath.Glob(filepath.Join(corpusDir, "pdf", "*.pdf"))
	docx, _ := filepath.Glob(filepath.Join(corpusDir, "docx", "*.docx"))
	noOCR := childExtractor(t, time.Minute)
	noOCR.Tools = Tools{PDFToText: LookupTools().PDFToText} // as if tesseract were not installed
	files := append(pdfs, docx...)
	results := parallelExtract(t, noOCR, files)
	for i, f := range files {
		res := results[i]
		if res.Status == StatusFailed {
			t.Errorf("%s: failed: %s", filepath.Base(f), res.Reason)
		}
		if res.Status == StatusEmpty && res.Reason == "" {
			t.Errorf("%s: empty without a reason", filepath.Base(f))
		}
	}
	scan := filepath.Join(corpusDir, "pdf", "CV-813-CucHoaChat.pdf")
	res := extractOK(t, noOCR, scan, MimePDF)
	if res.Status != StatusEmpty || !strings.Contains(res.Reason, "OCR is not installed") {
		t.Errorf("scan without OCR: %s %q, want empty saying OCR is not installed", res.Status, res.Reason)
	}
	if LookupTools().Tesseract == "" {
		t.Log("tesseract not installed: OCR half skipped")
		return
	}
	res = extractOK(t, childExtractor(t, 3*time.Minute), scan, MimePDF) // generous: OCR on a loaded 2-core machine
	if res.Status != StatusOK || res.Engine != EngineTesseract || !strings.Contains(res.Text, "CÔNG THƯƠNG") {
		t.Errorf("scan with OCR: %s %s %q", res.Status, res.Engine, res.Reason)
	}
	if !strings.Contains(res.Reason, "cap is 1 pages") {
		t.Errorf("OCR page cap not reported: %q", res.Reason)
	}
}

// parallelExtract runs three extractions at a time: each child is one
// process, mostly waiting on Poppler or tesseract.
func parallelExtract(t *testing.T, e *Extractor, files []string) []Result {
	t.Helper()
	out := make([]Result, len(files))
	sem := make(chan struct{}, 3)
	done := make(chan struct{})
	for i, f := range files {
		go func() {
			sem <- struct{}{}
			defer func() { <-sem; done <- struct{}{} }()
			mime := MimeText
			switch filepath.Ext(f) {
			case ".pdf":
				mime = MimePDF
			case ".docx":
				mime = MimeDOCX
			}
			res, err := e.Extract(context.Background(), f, mime)
			if err != nil {
				res = failed("Extract error: %v", err)
			}
			out[i] = res
		}()
	}
	for range files {
		<-done
	}
	return out
}
