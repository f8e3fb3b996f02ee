package ingest

import (
	"bytes"
	"net/http"
	"strings"
	"unicode/utf8"

	"vanthu/archive"
)

// Media types vanthu keeps as originals.
const (
	MimePDF  = "application/pdf"
	MimeDOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	MimeDOC  = "application/msword"
	MimeODT  = "application/vnd.oasis.opendocument.text"
	MimeText = "text/plain; charset=utf-8"
	MimeHTML = "text/html; charset=utf-8"
	MimePNG  = "image/png"
	MimeJPEG = "image/jpeg"
	MimeTIFF = "image/tiff"
)

// SniffLen is how many leading bytes Sniff needs to decide.
const SniffLen = 8192

// Sniff decides the media type of an original from its first bytes. The
// client's Content-Type is never trusted: a renamed executable must not be
// stored as a "PDF". Anything not an office document, text or image is
// refused with archive.ErrUnsupported.
//
// ZIP containers (DOCX, ODT) are told apart by their first entry names,
// which Word and LibreOffice write at the start of the archive.
func Sniff(head []byte) (string, error) {
	switch {
	case len(head) == 0:
		return "", archive.Errorf(archive.ErrInvalid, "empty_file", "the file is empty (0 bytes)")
	case bytes.HasPrefix(head, []byte("%PDF-")) || pdfHeaderWithin(head):
		return MimePDF, nil
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		switch {
		case bytes.Contains(head, []byte("mimetypeapplication/vnd.oasis.opendocument.text")):
			return MimeODT, nil
		case bytes.Contains(head, []byte("word/")) || bytes.Contains(head, []byte("[Content_Types].xml")):
			return MimeDOCX, nil
		}
		return "", unsupported("a ZIP archive that is not a Word (.docx) or OpenDocument (.odt) document")
	case bytes.HasPrefix(head, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}):
		return MimeDOC, nil // OLE2 compound file: legacy Word .doc
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return MimePNG, nil
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		return MimeJPEG, nil
	case bytes.HasPrefix(head, []byte("II*\x00")) || bytes.HasPrefix(head, []byte("MM\x00*")):
		return MimeTIFF, nil
	case bytes.HasPrefix(head, []byte("\x7fELF")), bytes.HasPrefix(head, []byte("MZ")):
		return "", unsupported("an executable program")
	}
	ct := http.DetectContentType(head)
	switch {
	case strings.HasPrefix(ct, "text/html"):
		return MimeHTML, nil
	case looksLikeText(head):
		return MimeText, nil
	}
	return "", unsupported("of type " + ct)
}

// pdfHeaderWithin accepts PDFs with junk before the header: readers allow up
// to 1024 bytes, and some scanners write it.
func pdfHeaderWithin(head []byte) bool {
	n := len(head)
	if n > 1024 {
		n = 1024
	}
	return bytes.Contains(head[:n], []byte("%PDF-"))
}

// looksLikeText accepts UTF-8 (possibly cut mid-rune at the end of head) and
// legacy 8-bit text. Text pulled from PDFs with broken font maps carries a few
// stray control characters, so a small share of them is tolerated; binary
// formats are full of them.
func looksLikeText(head []byte) bool {
	controls := 0
	for _, c := range head {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f' {
			if c == 0 {
				return false
			}
			controls++
		}
	}
	valid := utf8.Valid(head)
	// Allow a rune cut at the end of the sniffed prefix.
	for cut := 1; !valid && cut < utf8.UTFMax && cut < len(head); cut++ {
		valid = utf8.Valid(head[:len(head)-cut])
	}
	if valid {
		return controls*10 <= len(head)
	}
	return controls*100 <= len(head) // legacy 8-bit encodings (TCVN3, VNI, Windows-1258)
}

func unsupported(what string) error {
	return archive.Errorf(archive.ErrUnsupported, "unsupported_type",
		"the file is %s; vanthu keeps PDF, Word (.docx, .doc), OpenDocument (.odt), plain text, HTML and scanned images (PNG, JPEG, TIFF)", what)
}
