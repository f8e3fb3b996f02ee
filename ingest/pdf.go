package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"

	"github.com/ledongthuc/pdf"

	"vanthu/ingest/vietnamese"
)

// maxPDFPages bounds the page loop of the Go parser: a hostile /Count of
// 10^9 must not become a billion page look-ups.
const maxPDFPages = 5000

// extractPDF reads the text layer with every engine available, keeps the
// one that reads as better Vietnamese, and OCRs the pages whose layer is
// empty or garbage (scans, TCVN3/VNI mojibake, OCR layers that lost the
// diacritics) when tesseract is installed.
func extractPDF(ctx context.Context, path string, o options) Result {
	if err := checkPDFEnd(path); err != nil {
		return failed("%v", err)
	}
	type layer struct {
		engine string
		pages  []string
		err    error
	}
	var layers []*layer
	var wg sync.WaitGroup
	if o.PDFToText != "" {
		l := &layer{engine: EnginePDFToText}
		layers = append(layers, l)
		wg.Go(func() { l.pages, l.err = popplerText(ctx, o.PDFToText, path) })
	}
	if o.GoPDF {
		l := &layer{engine: EngineGoPDF}
		layers = append(layers, l)
		wg.Go(func() { l.pages, l.err = goPDFText(ctx, path) })
	}
	wg.Wait()
	if ctx.Err() != nil {
		return failed("reading the PDF text layer took longer than the time limit")
	}

	var best *layer
	var bestScore vietnamese.TextScore
	var errs []string
	for _, l := range layers {
		if l.err != nil {
			errs = append(errs, l.engine+": "+l.err.Error())
			continue
		}
		s := vietnamese.ScoreText(strings.Join(l.pages, "\n"))
		// Ties go to pdftotext, listed first: it keeps the layout's reading order.
		if best == nil || s.Good() > bestScore.Good() {
			best, bestScore = l, s
		}
	}
	if best == nil {
		if len(errs) == 0 {
			return failed("no PDF text engine is available (neither pdftotext nor the Go parser)")
		}
		return failed("the PDF could not be read: %s", strings.Join(errs, "; "))
	}

	res := Result{Engine: best.engine, Pages: best.pages, PageCount: len(best.pages)}
	var notes []string
	if len(layers) > 1 && len(errs) == 0 {
		notes = append(notes, fmt.Sprintf("%s read better than the other engine (%d readable words)", best.engine, bestScore.Good()))
	}

	// Judge each page's layer; OCR the bad ones if we can, blank the garbage
	// if we cannot (mojibake in the index only produces false hits).
	var bad []int
	for i, p := range res.Pages {
		if !pageUsable(p) {
			bad = append(bad, i)
		}
	}
	switch {
	case len(bad) == 0:
	case o.Tesseract != "" && o.PDFToPPM != "" && o.OCRMaxPages > 0:
		ocrd, note := ocrPDFPages(ctx, o, path, res.Pages, bad)
		if ocrd > 0 {
			res.Engine = EngineTesseract
		}
		notes = append(notes, note)
	default:
		for _, i := range bad {
			if !vietnamese.ScoreText(res.Pages[i]).Readable() {
				res.Pages[i] = ""
			}
		}
		notes = append(notes, fmt.Sprintf("%d of %d pages have no usable text layer (scanned, or mojibake from a legacy font) and OCR is not installed", len(bad), len(res.Pages)))
	}
	res.Text = strings.TrimSpace(strings.Join(res.Pages, "\n\n"))
	res.Reason = strings.Join(notes, "; ")
	if vietnamese.ScoreText(res.Text).Tokens == 0 {
		if len(errs) > 0 {
			// No text and a parser that choked: the structure is broken
			// (a page-tree cycle, say), not merely a blank page.
			return failed("the PDF's structure is broken and no text could be read: %s", strings.Join(errs, "; "))
		}
		res.Status = StatusEmpty
		if res.Reason == "" {
			res.Reason = "the PDF has no text"
		}
		return res
	}
	res.Status = StatusOK
	return res
}

// pageUsable: a page worth keeping without OCR reads as Vietnamese and has
// more than a signature stamp's worth of words. Short real pages are OCRed
// too, and the better of the two readings is kept.
func pageUsable(text string) bool {
	s := vietnamese.ScoreText(text)
	return s.Tokens >= 20 && s.Readable()
}

// checkPDFEnd refuses a file cut short in transfer: without its %%EOF, the
// xref table is gone and parsers fall back to guessing.
func checkPDFEnd(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cannot open the file: %v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("cannot read the file: %v", err)
	}
	tail := int64(2048)
	if st.Size() < tail {
		tail = st.Size()
	}
	buf := make([]byte, tail)
	if _, err := f.ReadAt(buf, st.Size()-tail); err != nil && err != io.EOF {
		return fmt.Errorf("cannot read the file: %v", err)
	}
	if !bytes.Contains(buf, []byte("%%EOF")) {
		return errors.New("the PDF is truncated: it has no end-of-file marker (%%EOF), so the upload was probably cut short")
	}
	return nil
}

// popplerText runs pdftotext in its reading-order mode (not -layout: the
// header's two columns come out one after the other, which is what the
// metadata parser wants). Pages are separated by form feeds.
func popplerText(ctx context.Context, exe, path string) ([]string, error) {
	cmd := exec.CommandContext(ctx, exe, "-enc", "UTF-8", "-q", path, "-")
	cmd.SysProcAttr = toolAttr()
	out := &cappedBuffer{max: 128 << 20}
	var stderr tailBuffer
	stderr.max = 4 << 10
	cmd.Stdout, cmd.Stderr = out, &stderr
	if err := cmd.Run(); err != nil {
		if msg := firstLine(stderr.String()); msg != "" {
			return nil, fmt.Errorf("%v (%s)", err, msg)
		}
		return nil, err
	}
	pages := strings.Split(out.String(), "\f")
	if n := len(pages); n > 1 && strings.TrimSpace(pages[n-1]) == "" {
		pages = pages[:n-1]
	}
	for i := range pages {
		pages[i] = cleanText(pages[i])
	}
	return pages, nil
}

// goPDFText reads the text layer with ledongthuc/pdf. Its panics on
// malformed files become errors; its stack overflows cannot, which is why
// this runs in the child.
func goPDFText(ctx context.Context, path string) (pages []string, err error) {
	defer func() {
		if p := recover(); p != nil {
			pages, err = nil, fmt.Errorf("the Go PDF parser crashed: %v", p)
		}
	}()
	f, r, err := pdf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pages, err = goPDFPages(ctx, r)
	if err != nil {
		return nil, err
	}
	return mergeStamps(path, pages), nil
}

func goPDFPages(ctx context.Context, r *pdf.Reader) ([]string, error) {
	tree, err := pageTree(r.Trailer().Key("Root").Key("Pages"))
	if err != nil {
		return nil, err
	}
	fonts := make(map[string]*pdf.Font)
	pages := make([]string, 0, len(tree))
	for i, p := range tree {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		for name, f := range fontsOf(p) {
			if _, ok := fonts[name]; !ok {
				fonts[name] = f
			}
		}
		t, err := p.GetPlainText(fonts)
		if err != nil {
			return nil, fmt.Errorf("page %d: %v", i+1, err)
		}
		pages = append(pages, cleanText(t))
	}
	return pages, nil
}

// pageTree collects the leaves of the page tree. ledongthuc/pdf's own
// Reader.Page walks /Kids without remembering where it has been, so a
// /Kids entry pointing back up loops for ever (found by FuzzGoPDF); this walk
// has a depth limit and a budget of nodes, and never trusts /Count.
func pageTree(root pdf.Value) ([]pdf.Page, error) {
	type item struct {
		v     pdf.Value
		depth int
	}
	var pages []pdf.Page
	stack := []item{{root, 0}}
	budget := 4 * maxPDFPages
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if budget--; budget < 0 || it.depth > 64 {
			return nil, errors.New("the page tree is deeper or larger than any real PDF's (it probably loops on itself)")
		}
		switch it.v.Key("Type").Name() {
		case "Page":
			if len(pages) == maxPDFPages {
				return nil, fmt.Errorf("the PDF has more than %d pages", maxPDFPages)
			}
			pages = append(pages, pdf.Page{V: it.v})
		default: // Pages, or a node with the /Type missing
			kids := it.v.Key("Kids")
			for i := kids.Len() - 1; i >= 0; i-- {
				stack = append(stack, item{kids.Index(i), it.depth + 1})
			}
		}
	}
	if len(pages) == 0 {
		return nil, errors.New("the PDF has no pages")
	}
	return pages, nil
}

func fontsOf(p pdf.Page) map[string]*pdf.Font {
	m := make(map[string]*pdf.Font)
	for _, name := range p.Fonts() {
		f := p.Font(name)
		m[name] = &f
	}
	return m
}

// cleanText is applied to every text an engine returns: line ends, control
// characters, known broken font maps, then NFC and one tone placement.
func cleanText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\r' || r == '\v':
			return '\n'
		case r == '\t' || r == '\n' || r == '\f':
			return r
		case r < 0x20 || r == 0x7F || r == '\uFEFF' || r == '\uFFFD':
			return -1
		case r == '\u00A0':
			return ' '
		// Some PDF fonts map ư to U+01A3 (ƣ, "oi"), a letter no Vietnamese
		// text uses; mapping it back is safe and recovers the whole file.
		case r == 'ƣ':
			return 'ư'
		case r == 'Ƣ':
			return 'Ư'
		}
		return r
	}, s)
	return vietnamese.Normalize(s)
}
