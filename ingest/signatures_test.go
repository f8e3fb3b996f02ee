package ingest

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// On the signed corpus PDFs whose number and day exist only in the văn thư's
// stamps, both extraction paths (with and without pdftotext) give the
// complete number and date, and the signatures are verified in the child.
func TestSignedStampsBothPaths(t *testing.T) {
	needCorpus(t)
	dir := filepath.Join(corpusDir, "pdf")
	tools := LookupTools()
	cases := []struct{ file, number, date string }{
		{"CV-6791-SNNMT-17-7-2026-y-kien-tham-dinh-CCN-Bao-Dap.pdf", "6791/SNNMT-KHTC", "2026-07-17"},
		{"2826_SCT-CN_VB01__kho_VLNCN_moMongSon_BaoAi_19.5.2026.pdf", "2826/SCT-CN", "2026-05-19"},
		{"CV-4280-tra-ho-so-Thanh-Huong-2026.pdf", "4280/SCT-CN", "2026-07-16"},
	}
	for _, path := range []struct {
		name string
		t    Tools
	}{{"pdftotext", tools}, {"go-only", Tools{}}} {
		if path.name == "pdftotext" && tools.PDFToText == "" {
			continue
		}
		ex := childExtractor(t, time.Minute)
		ex.Tools, ex.OCRMaxPages = path.t, -1
		for _, c := range cases {
			f := filepath.Join(dir, c.file)
			res, err := ex.Extract(context.Background(), f, MimePDF)
			if err != nil {
				t.Fatal(err)
			}
			m := ParseMetadata(res.Text)
			if m.Number != c.number || m.IssuedAt != c.date {
				t.Errorf("%s via %s: number %q date %q, want %q %q", c.file, path.name, m.Number, m.IssuedAt, c.number, c.date)
			}
			if len(res.Signatures) == 0 {
				t.Errorf("%s via %s: no signatures reported (%s)", c.file, path.name, res.SignatureReason)
			}
			for _, s := range res.Signatures {
				if s.Integrity != "valid" || s.Chain == "valid" {
					t.Errorf("%s: signature %s integrity %s chain %s; want valid integrity, issuer not verified without anchors", c.file, s.Field, s.Integrity, s.Chain)
				}
			}
			t.Logf("%s via %s: %s, %s, %d signatures, engine %s", c.file, path.name, m.Number, m.IssuedAt, len(res.Signatures), res.Engine)
		}
	}
}
