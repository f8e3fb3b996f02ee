package ingest

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// options travel from the Extractor to the child as flags, so the child
// needs no configuration of its own.
type options struct {
	Tools
	OCRMaxPages int
	OCRLang     string
	MaxUnpacked int64
	Timeout     time.Duration
	GoPDF       bool   // false after ledongthuc/pdf crashed the previous child
	Roots       string // trust anchors for signature checks
}

func (o options) flags() []string {
	return []string{
		"-pdftotext", o.PDFToText, "-pdftoppm", o.PDFToPPM, "-tesseract", o.Tesseract,
		"-ocr-pages", strconv.Itoa(o.OCRMaxPages), "-ocr-lang", o.OCRLang,
		"-max-unpacked", strconv.FormatInt(o.MaxUnpacked, 10),
		"-timeout", o.Timeout.String(), "-gopdf=" + strconv.FormatBool(o.GoPDF),
		"-trust-anchors", o.Roots,
	}
}

// ChildMain is the hidden subcommand `vanthu __extract`: it limits its own
// memory, extracts one file and writes the Result as JSON to stdout. args are
// the arguments after the program name; a leading "__extract" is skipped.
// It returns the exit status. Anything that kills it (stack overflow, the
// address-space limit, an unrecovered panic) is read by the parent from the
// exit status and stderr.
func ChildMain(args []string) int {
	if len(args) > 0 && args[0] == childSubcommand {
		args = args[1:]
	}
	fs := flag.NewFlagSet(childSubcommand, flag.ContinueOnError)
	var o options
	var mime string
	var mem int64
	fs.StringVar(&o.PDFToText, "pdftotext", "", "path of pdftotext")
	fs.StringVar(&o.PDFToPPM, "pdftoppm", "", "path of pdftoppm")
	fs.StringVar(&o.Tesseract, "tesseract", "", "path of tesseract")
	fs.IntVar(&o.OCRMaxPages, "ocr-pages", DefaultOCRMaxPages, "pages to OCR at most")
	fs.StringVar(&o.OCRLang, "ocr-lang", "vie+eng", "tesseract languages")
	fs.Int64Var(&o.MaxUnpacked, "max-unpacked", DefaultMaxUnpacked, "bytes of XML a DOCX/ODT may unpack to")
	fs.DurationVar(&o.Timeout, "timeout", DefaultTimeout, "time budget")
	fs.BoolVar(&o.GoPDF, "gopdf", true, "also run ledongthuc/pdf")
	fs.StringVar(&o.Roots, "trust-anchors", "", "folder of PEM trust anchors for signature checks")
	fs.StringVar(&mime, "mime", "", "media type of the file")
	fs.Int64Var(&mem, "mem", DefaultMemoryLimit, "address-space limit in bytes")
	fs.SetOutput(os.Stderr)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: vanthu __extract [flags] FILE")
		return 2
	}
	lowerPriority(ChildNice)
	limitMemory(mem)
	// A deep recursion in a parser should die at 64 MB of stack, quickly,
	// rather than at the runtime's 1 GB default.
	debug.SetMaxStack(64 << 20)
	// Stop a little before the parent's deadline, so that OCR cut short
	// still returns the pages it read instead of being killed.
	margin := min(5*time.Second, o.Timeout/10)
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout-margin)
	defer cancel()
	res := extractFile(ctx, fs.Arg(0), mime, o)
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, "write result:", err)
		return 1
	}
	return 0
}

// extractFile dispatches on the media type. Panics of the pure-Go parsers
// are recovered here (the in-process path needs it); what recover cannot
// catch is the reason for the child process.
func extractFile(ctx context.Context, path, mime string, o options) (res Result) {
	defer func() {
		if p := recover(); p != nil {
			res = failed("the parser crashed on this file: %v", p)
		}
	}()
	base, _, _ := strings.Cut(mime, ";")
	switch strings.TrimSpace(base) {
	case "application/pdf":
		res := extractPDF(ctx, path, o)
		res.Signatures, res.SignatureReason = pdfSignatures(path, o.Roots)
		return res
	case "application/vnd.openxmlformats-officedocument.wordprocessingml.document":
		return extractDOCX(path, o.MaxUnpacked)
	case "application/vnd.oasis.opendocument.text":
		return extractODT(path, o.MaxUnpacked)
	case "text/plain", "text/html":
		f, err := os.Open(path)
		if err != nil {
			return failed("cannot open the file: %v", err)
		}
		defer f.Close()
		// Text originals are small; 64 MiB is far beyond any real one.
		b, err := io.ReadAll(io.LimitReader(f, o.MaxUnpacked+1))
		if err != nil {
			return failed("cannot read the file: %v", err)
		}
		if int64(len(b)) > o.MaxUnpacked {
			return failed("the text file is larger than %d MiB", o.MaxUnpacked>>20)
		}
		if strings.HasPrefix(mime, "text/html") {
			return extractHTML(b, mime)
		}
		return extractText(b, mime)
	case "image/png", "image/jpeg", "image/tiff":
		return extractImage(ctx, path, o)
	}
	return failed("text extraction does not support the media type %q", mime)
}

func isPDF(mime string) bool { return strings.HasPrefix(mime, "application/pdf") }
