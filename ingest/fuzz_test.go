package ingest

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ledongthuc/pdf"

	"vanthu/ingest/ingesttest"
)

// FuzzGoPDF runs the pure-Go PDF path in process with its recover: it
// must return pages or an error, never panic past goPDFBytes. (Stack
// overflows and OOM are what the child process is for; the fuzzer's own
// limits catch those.)
func FuzzGoPDF(f *testing.F) {
	f.Add(ingesttest.HelloPDF())
	f.Add(ingesttest.HelloPDF()[:200])
	f.Add(ingesttest.BuildPDF([]string{"<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [2 0 R] /Count 3 >>"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		pages, err := goPDFBytes(ctx, b)
		if err == nil {
			for _, p := range pages {
				if !utf8.ValidString(p) {
					t.Errorf("page text is not UTF-8: %q", p)
				}
			}
		}
	})
}

// goPDFBytes is goPDFText on bytes, for fuzzing without temp files.
func goPDFBytes(ctx context.Context, b []byte) (pages []string, err error) {
	defer func() {
		if p := recover(); p != nil {
			pages, err = nil, fmt.Errorf("the Go PDF parser crashed: %v", p)
		}
	}()
	r, err := pdf.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, err
	}
	return goPDFPages(ctx, r)
}

func FuzzDOCX(f *testing.F) {
	doc := func(body string) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create("word/document.xml")
		w.Write([]byte(body))
		zw.Close()
		return buf.Bytes()
	}
	f.Add(doc(`<w:document xmlns:w="w"><w:body><w:p><w:r><w:t>Số: 12/QĐ-UBND</w:t></w:r></w:p><w:tbl><w:tr><w:tc><w:p><w:r><w:t>a</w:t></w:r></w:p></w:tc></w:tr></w:tbl></w:body></w:document>`))
	f.Add(doc(`<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>`))
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, b []byte) {
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		text, err := zipPartText(zr, "word/document.xml", 1<<20, docxText)
		if err == nil && len(text) > 4<<20 {
			t.Errorf("%d bytes of text from a 1 MiB limit", len(text))
		}
		if err == nil && strings.Contains(string(b), "<!DOCTYPE") && xmlHasDoctype(zr) {
			t.Errorf("a DOCTYPE was accepted")
		}
	})
}

func xmlHasDoctype(zr *zip.Reader) bool {
	for _, f := range zr.File {
		if f.Name != "word/document.xml" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return false
		}
		defer rc.Close()
		d := xml.NewDecoder(rc)
		for {
			tok, err := d.Token()
			if err != nil {
				return false
			}
			if dir, ok := tok.(xml.Directive); ok && isDoctype(dir) {
				return true
			}
		}
	}
	return false
}

func FuzzParseMetadata(f *testing.F) {
	f.Add("UBND TỈNH QUẢNG NAM\nSỞ NGOẠI VỤ\nSố: 1623/KH-UBND\nQuảng Nam, ngày 10 tháng 4 năm 2018\nKẾ HOẠCH\nCông tác đối ngoại")
	f.Add("Số 2449 -CV/ĐU\nngày 31 tháng 02 năm 2026\nMẬT")
	f.Add("Giao Sở Ngoại vụ chủ trì, phối hợp với Sở Tài chính; trước ngày 05/10/2026. Quý III năm 2024.")
	f.Fuzz(func(t *testing.T, s string) {
		m := ParseMetadata(s)
		if strings.ContainsAny(m.Number, " \t\n") {
			t.Errorf("Number %q has whitespace", m.Number)
		}
		if m.IssuedAt != "" {
			if _, err := time.Parse("2006-01-02", m.IssuedAt); err != nil {
				t.Errorf("IssuedAt %q: %v", m.IssuedAt, err)
			}
		}
	})
}
