package ingest

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"vanthu/ingest/vietnamese"
)

// A DOCX is a ZIP of XML parts. The archive is hostile until proven
// otherwise: headers can lie about sizes, a 1 MB entry can inflate to GBs,
// and a DTD can declare entities. So: a cap on entries, a cap on the bytes
// actually inflated (not the declared size), and any DOCTYPE refused.
const maxZipEntries = 5000

var errDTD = errors.New("the document contains a DTD (DOCTYPE declaration), which Word never writes; refused to avoid entity expansion")

func extractDOCX(path string, maxUnpacked int64) Result {
	text, err := readZipXML(path, "word/document.xml", maxUnpacked, docxText)
	if err != nil {
		return failed("DOCX: %v", err)
	}
	return textResult(text, EngineDOCX, "the DOCX document has no text")
}

func extractODT(path string, maxUnpacked int64) Result {
	text, err := readZipXML(path, "content.xml", maxUnpacked, odtText)
	if err != nil {
		return failed("ODT: %v", err)
	}
	return textResult(text, EngineODT, "the ODT document has no text")
}

func textResult(text, engine, emptyReason string) Result {
	text = strings.TrimSpace(cleanText(text))
	res := Result{Engine: engine, Text: text, Status: StatusOK}
	if vietnamese.ScoreText(text).Tokens == 0 {
		res.Status, res.Reason = StatusEmpty, emptyReason
	}
	return res
}

func readZipXML(path, part string, maxUnpacked int64, walk func(*xml.Decoder) (string, error)) (string, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return "", fmt.Errorf("not a readable ZIP archive: %v", err)
	}
	defer zr.Close()
	return zipPartText(&zr.Reader, part, maxUnpacked, walk)
}

func zipPartText(zr *zip.Reader, part string, maxUnpacked int64, walk func(*xml.Decoder) (string, error)) (string, error) {
	if len(zr.File) > maxZipEntries {
		return "", fmt.Errorf("the archive has %d entries, more than the %d accepted", len(zr.File), maxZipEntries)
	}
	var f *zip.File
	for _, e := range zr.File {
		if e.Name == part {
			f = e
			break
		}
	}
	if f == nil {
		return "", fmt.Errorf("%s is missing", part)
	}
	if f.UncompressedSize64 > uint64(maxUnpacked) {
		return "", fmt.Errorf("%s declares %d MiB uncompressed, more than the %d MiB accepted (a zip bomb?)", part, f.UncompressedSize64>>20, maxUnpacked>>20)
	}
	rc, err := f.Open()
	if err != nil {
		return "", fmt.Errorf("open %s: %v", part, err)
	}
	defer rc.Close()
	lr := &limitedReader{r: rc, left: maxUnpacked}
	d := xml.NewDecoder(lr)
	// Entities: only XML's own five. encoding/xml never reads external
	// DTDs, but Strict mode plus the DOCTYPE refusal make that explicit.
	d.Strict = true
	text, err := walk(d)
	if lr.exceeded {
		return "", fmt.Errorf("%s inflates to more than %d MiB (a zip bomb?)", part, maxUnpacked>>20)
	}
	if err != nil {
		return "", fmt.Errorf("%s: %v", part, err)
	}
	return text, nil
}

// limitedReader fails, rather than returning EOF, past its limit, so that a
// bomb cannot pass for a short document.
type limitedReader struct {
	r        io.Reader
	left     int64
	exceeded bool
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		l.exceeded = true
		return 0, errors.New("size limit exceeded")
	}
	if int64(len(p)) > l.left {
		p = p[:l.left+1] // read one byte past the limit to know it was exceeded
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		l.exceeded = true
		return 0, errors.New("size limit exceeded")
	}
	return n, err
}

// docxText collects w:t runs; paragraphs, table cells and rows end lines (a
// cell per line keeps "Cơ quan chủ trì" columns apart). Deleted text
// (w:delText) and field codes (w:instrText) are not w:t and are skipped.
func docxText(d *xml.Decoder) (string, error) {
	var b strings.Builder
	inText := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return b.String(), nil
		}
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.Directive:
			if isDoctype(t) {
				return "", errDTD
			}
		case xml.StartElement:
			switch t.Name.Local {
			case "t":
				inText = true
			case "tab":
				b.WriteByte('\t')
			case "br", "cr":
				b.WriteByte('\n')
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "t":
				inText = false
			case "p", "tc", "tr":
				if !strings.HasSuffix(b.String(), "\n") || t.Name.Local == "p" {
					b.WriteByte('\n')
				}
			}
		case xml.CharData:
			if inText {
				b.Write(t)
			}
		}
	}
}

// odtText walks content.xml: text:p and text:h are paragraphs, text:s is
// c spaces, table cells end lines; annotations are not the document's text.
func odtText(d *xml.Decoder) (string, error) {
	var b strings.Builder
	skip := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return b.String(), nil
		}
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.Directive:
			if isDoctype(t) {
				return "", errDTD
			}
		case xml.StartElement:
			switch t.Name.Local {
			case "annotation", "tracked-changes":
				skip++
			case "s":
				n := 1
				for _, a := range t.Attr {
					if a.Name.Local == "c" {
						if c, err := strconv.Atoi(a.Value); err == nil && c > 0 && c < 1000 {
							n = c
						}
					}
				}
				b.WriteString(strings.Repeat(" ", n))
			case "tab":
				b.WriteByte('\t')
			case "line-break":
				b.WriteByte('\n')
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "annotation", "tracked-changes":
				skip--
			case "p", "h", "table-cell":
				b.WriteByte('\n')
			}
		case xml.CharData:
			if skip == 0 {
				b.Write(t)
			}
		}
	}
}

func isDoctype(d xml.Directive) bool {
	return bytes.HasPrefix(bytes.ToUpper(bytes.TrimSpace(d)), []byte("DOCTYPE"))
}
