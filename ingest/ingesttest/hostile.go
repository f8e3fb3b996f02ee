// Package ingesttest makes hostile and minimal originals for tests of the
// extraction path: PDFs with reference cycles and decompression bombs, DOCX
// zip bombs and entity declarations. Tests at every level (the ingest child,
// the running server) use the same files.
package ingesttest

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"fmt"
	"strings"
)

// BuildPDF writes a classic PDF with the given objects (object i+1 is
// objects[i]), a correct xref table and the catalog as object 1.
func BuildPDF(objects []string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objects))
	for i, o := range objects {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, xref)
	return b.Bytes()
}

// HelloPDF is a well-formed one-page PDF reading "Xin chao".
func HelloPDF() []byte {
	content := "BT /F1 12 Tf 72 712 Td (Xin chao) Tj ET"
	return BuildPDF([]string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	})
}

// CyclePDF has a page tree whose /Kids point back up.
func CyclePDF() []byte {
	return BuildPDF([]string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Pages /Kids [2 0 R] /Count 1 /Parent 2 0 R >>",
	})
}

// FlateBomb is a zlib stream that inflates to n×64 MiB of zeros while
// taking about n×64 KiB: one compressed 64 MiB block, repeated (each block
// only refers back to zeros, so repeating it is valid deflate).
func FlateBomb(n int) []byte {
	var block bytes.Buffer
	w, _ := flate.NewWriter(&block, flate.BestCompression)
	w.Write(make([]byte, 64<<20))
	w.Flush() // ends on a byte boundary without a final block
	out := []byte{0x78, 0xDA}
	for i := 0; i < n; i++ {
		out = append(out, block.Bytes()...)
	}
	out = append(out, 0x01, 0x00, 0x00, 0xFF, 0xFF) // final empty stored block
	return append(out, 0, 0, 0, 0)                  // adler32, never reached intact
}

// BombPDF is a one-page PDF whose content stream is FlateBomb(n).
func BombPDF(n int) []byte {
	bomb := FlateBomb(n)
	return BuildPDF([]string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
		fmt.Sprintf("<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream", len(bomb), bomb),
	})
}

// DOCX packs documentXML as word/document.xml. With lie, the entry's header
// claims 1 kB whatever it inflates to: a limit must count inflated bytes.
func DOCX(documentXML []byte, lie bool) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	ct, _ := zw.Create("[Content_Types].xml")
	ct.Write([]byte(`<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`))
	if lie {
		var comp bytes.Buffer
		fw, _ := flate.NewWriter(&comp, flate.BestCompression)
		fw.Write(documentXML)
		fw.Close()
		w, err := zw.CreateRaw(&zip.FileHeader{Name: "word/document.xml", Method: zip.Deflate,
			CompressedSize64: uint64(comp.Len()), UncompressedSize64: 1024})
		if err != nil {
			return nil, err
		}
		w.Write(comp.Bytes())
	} else {
		w, _ := zw.Create("word/document.xml")
		w.Write(documentXML)
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ZipBombXML is a document body of n MiB of spaces (compresses to almost
// nothing).
func ZipBombXML(n int) []byte {
	return []byte(`<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>` +
		strings.Repeat(" ", n<<20) + `</w:body></w:document>`)
}

// EntityXML declares entities (billion-laughs style): a parser must refuse
// the DTD, not expand it.
func EntityXML() []byte {
	return []byte(`<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>` +
		`<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>&b;</w:t></w:r></w:p></w:body></w:document>`)
}
