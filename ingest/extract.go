// Package ingest owns the way from an original's bytes to searchable text and
// Vietnamese metadata: text extraction for PDF (Poppler pdftotext or the pure
// Go ledongthuc/pdf, whichever reads as better Vietnamese), DOCX, ODT, plain
// text, HTML and OCR with tesseract; the isolation of that extraction in a
// time- and memory-limited child process, because real parsers panic, loop
// and explode on hostile files; and ParseMetadata, which reads the số ký hiệu,
// type, issuer, date, subject, signer, stamps, citations and tasks out of the
// text. It does not store anything: archive decides what to keep.
package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"vanthu/ingest/pdfsign"
)

// Text statuses, the same words as archive's text_status.
const (
	StatusOK     = "ok"
	StatusEmpty  = "empty"
	StatusFailed = "failed"
)

// Engines that can produce a Result's text.
const (
	EnginePDFToText = "pdftotext"
	EngineGoPDF     = "gopdf"
	EngineTesseract = "tesseract"
	EngineDOCX      = "docx"
	EngineODT       = "odt"
	EngineText      = "text"
	EngineHTML      = "html"
)

// Result is what extraction learned about one original. Text is NFC with
// old-style tone placement (vietnamese.Normalize); Pages holds the text per
// page for PDFs.
type Result struct {
	Status    string   `json:"status"`
	Reason    string   `json:"reason,omitempty"`
	Engine    string   `json:"engine,omitempty"`
	Pages     []string `json:"pages,omitempty"`
	Text      string   `json:"text"`
	PageCount int      `json:"page_count,omitempty"`
	// Signatures of a signed PDF, verified (pdfsign); SignatureReason says
	// why they could not be checked, if so.
	Signatures      []pdfsign.Signature `json:"signatures,omitempty"`
	SignatureReason string              `json:"signature_reason,omitempty"`
}

func failed(format string, args ...any) Result {
	return Result{Status: StatusFailed, Reason: fmt.Sprintf(format, args...)}
}

// Tools are the external programs extraction may use. An empty path means
// "not installed": tests set them empty to check the fallbacks.
type Tools struct {
	PDFToText string // Poppler pdftotext
	PDFToPPM  string // Poppler pdftoppm, renders pages for OCR
	Tesseract string // tesseract with the vie and eng models
}

// LookupTools finds the tools on PATH; missing ones stay empty.
func LookupTools() Tools {
	look := func(name string) string {
		p, err := exec.LookPath(name)
		if err != nil {
			return ""
		}
		return p
	}
	return Tools{PDFToText: look("pdftotext"), PDFToPPM: look("pdftoppm"), Tesseract: look("tesseract")}
}

// Defaults chosen for one provincial node: a born-digital PDF takes well
// under a second; OCR at 300 dpi takes 5–15 s a page on one core, so 20
// pages fit the 5-minute budget with room to spare. An 87-page scan gets
// its first 20 pages read and says so in Reason; the rest can be OCRed by a
// later re-extraction with a larger cap.
const (
	DefaultTimeout     = 5 * time.Minute
	DefaultMemoryLimit = 1 << 30
	DefaultOCRMaxPages = 20
	DefaultMaxUnpacked = 64 << 20 // bytes of XML inside a DOCX/ODT
	childSubcommand    = "__extract"
)

// ScratchPrefix starts the name of a child's scratch directory in
// Extractor.TempDir. Only a parent that died can leave one behind (see
// runChild); vanthu serve removes stale ones at start.
const ScratchPrefix = "vanthu-extract-"

// Extractor extracts text from originals. With Exe set it runs Exe
// ("vanthu __extract …", or a test binary) as a child process per file, so a
// parser that panics, recurses without end or allocates without bound takes
// down only the child. With Exe empty it extracts in this process, which is
// for tests of pure logic and fuzzing only.
type Extractor struct {
	Exe string   // the binary to run as the child; "" = in-process
	Env []string // extra environment for the child (tests set VANTHU_INGEST_CHILD=1)
	// TempDir is where each child gets its scratch directory (ScratchPrefix…,
	// its TMPDIR: OCR page images, the tools' temporary files), removed when
	// the child is gone; "" = the system's temporary directory.
	TempDir     string
	Timeout     time.Duration // wall-clock limit per file, OCR included; 0 = DefaultTimeout
	MemoryLimit int64         // bytes of address space for the child and its tools; 0 = DefaultMemoryLimit
	OCRMaxPages int           // pages OCRed per file; 0 = DefaultOCRMaxPages, <0 = no OCR
	OCRLang     string        // tesseract languages; "" = "vie+eng"
	// TrustAnchors is a folder of PEM roots and intermediates that signatures
	// are checked against; "" means none (verdicts say "issuer not verified").
	TrustAnchors string
	Tools
}

func (e *Extractor) options() options {
	o := options{
		Tools:       e.Tools,
		OCRMaxPages: e.OCRMaxPages,
		OCRLang:     e.OCRLang,
		MaxUnpacked: DefaultMaxUnpacked,
		Timeout:     e.Timeout,
		GoPDF:       true,
		Roots:       e.TrustAnchors,
	}
	if o.OCRMaxPages == 0 {
		o.OCRMaxPages = DefaultOCRMaxPages
	}
	if o.OCRLang == "" {
		o.OCRLang = "vie+eng"
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	return o
}

// Extract reads the text of the file at path, of media type mime (as Sniff
// decided it). Hostile or broken files are not errors: they come back as
// Result{Status: "failed"} with a sentence in Reason, and the original stays
// as it is. The error is for the caller's own problems: a cancelled context,
// a child binary that cannot be started.
func (e *Extractor) Extract(ctx context.Context, path, mime string) (Result, error) {
	o := e.options()
	if e.Exe == "" {
		ctx, cancel := context.WithTimeout(ctx, o.Timeout)
		defer cancel()
		return extractFile(ctx, path, mime, o), nil
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	res, crashed, err := e.runChild(ctx, path, mime, o)
	if err != nil {
		return Result{}, err
	}
	// ledongthuc/pdf can die in ways recover() cannot catch (stack overflow,
	// out of memory). When Poppler is there, one more try without the Go
	// parser still gets the text of a file Poppler reads fine.
	if crashed && isPDF(mime) && o.PDFToText != "" && ctx.Err() == nil {
		o.GoPDF = false
		again, _, err := e.runChild(ctx, path, mime, o)
		if err != nil {
			return Result{}, err
		}
		if again.Status != StatusFailed {
			again.Reason = joinReasons("the Go PDF parser crashed on this file ("+res.Reason+"); pdftotext alone was used", again.Reason)
			return again, nil
		}
	}
	return res, nil
}

// runChild runs one child process and turns whatever happens to it into a
// Result. crashed reports a death other than our own timeout.
func (e *Extractor) runChild(ctx context.Context, path, mime string, o options) (res Result, crashed bool, err error) {
	mem := e.MemoryLimit
	if mem <= 0 {
		mem = DefaultMemoryLimit
	}
	args := append([]string{childSubcommand}, o.flags()...)
	args = append(args, "-mime", mime, "-mem", strconv.FormatInt(mem, 10), "--", path)
	// The child's scratch space is a directory of its own, removed here once
	// the child and its process group are gone. A child stopped by the time
	// limit or by a shutdown is killed in the middle of its work and cannot
	// clean up itself: before this, every OCR it was killed in left its
	// 300-dpi page image (about a megabyte) in /tmp for good.
	scratch, err := os.MkdirTemp(e.TempDir, ScratchPrefix)
	if err != nil {
		return Result{}, false, fmt.Errorf("ingest: scratch directory for the extraction child: %w", err)
	}
	defer os.RemoveAll(scratch)
	cmd := exec.CommandContext(ctx, e.Exe, args...)
	// glibc reserves a 64 MiB malloc arena per thread (cgo threads, and
	// the tools' threads), which alone can exhaust the address-space limit
	// without any real allocation; two arenas are plenty for one file.
	cmd.Env = append(append(os.Environ(), "MALLOC_ARENA_MAX=2", "TMPDIR="+scratch), e.Env...)
	// The child starts its own process group so that a timeout kills the
	// tesseract or pdftotext it started too, not just the Go process.
	// Its own process group, so a timeout kills pdftotext and tesseract with
	// it; and killed with the server, so a crashed server leaves no OCR
	// running for nobody (the acceptance suite found 20 such orphans after
	// ten kill -9s).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	stdout := &cappedBuffer{max: 256 << 20}
	stderr := &tailBuffer{max: 8 << 10}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	start := time.Now()
	runErr := cmd.Run()
	if cmd.Process != nil {
		// Leftover grandchildren of a child that exited on its own.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	var exitErr *exec.ExitError
	switch {
	case runErr != nil && ctx.Err() == context.DeadlineExceeded:
		return failed("extraction took longer than the %s limit and was stopped; the original is kept and re-extraction can be tried later", o.Timeout.Round(time.Second)), false, nil
	case runErr != nil && ctx.Err() != nil:
		return Result{}, false, fmt.Errorf("ingest: extract %s: %w", path, ctx.Err())
	case runErr != nil && !errors.As(runErr, &exitErr):
		if stdout.overflow {
			return failed("the extracted text is larger than %d MiB; the file was not indexed", stdout.max>>20), false, nil
		}
		return Result{}, false, fmt.Errorf("ingest: run extraction child %s: %w", e.Exe, runErr)
	case runErr != nil:
		return failed("%s", crashReason(exitErr, stderr.String(), mem, time.Since(start))), true, nil
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil || res.Status == "" {
		return failed("the extraction process wrote no readable result"), true, nil
	}
	return res, false, nil
}

// crashReason explains a child's death in a sentence for the clerk and the log.
func crashReason(exitErr *exec.ExitError, stderr string, mem int64, took time.Duration) string {
	low := strings.ToLower(stderr)
	ws, _ := exitErr.Sys().(syscall.WaitStatus)
	switch {
	case strings.Contains(low, "out of memory") || strings.Contains(low, "cannot allocate memory") ||
		strings.Contains(low, "memory limit exceeded"):
		return fmt.Sprintf("extraction ran out of memory (limit %d MiB) after %s: the file expands to more than the limit allows", mem>>20, took.Round(time.Millisecond))
	case strings.Contains(low, "stack overflow") || strings.Contains(low, "stack exceeds"):
		return "the parser overflowed its stack: the file's structure is nested too deeply or loops on itself"
	case ws.Signaled():
		return fmt.Sprintf("the extraction process was killed by signal %s (probably the memory limit of %d MiB)", ws.Signal(), mem>>20)
	case strings.Contains(low, "panic:"):
		return "the parser crashed on this file: " + firstLine(stderr[strings.Index(low, "panic:"):])
	}
	return fmt.Sprintf("the extraction process failed with exit status %d: %s", exitErr.ExitCode(), firstLine(stderr))
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

func joinReasons(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// cappedBuffer keeps at most max bytes; a child writing more is stopped by
// the write error (EPIPE) rather than filling the server's memory.
type cappedBuffer struct {
	bytes.Buffer
	max      int
	overflow bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		b.overflow = true
		return 0, errors.New("output too large")
	}
	return b.Buffer.Write(p)
}

// tailBuffer keeps the first max bytes of stderr: a Go panic names its cause
// in the first line.
type tailBuffer struct {
	bytes.Buffer
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		if len(p) > room {
			b.Buffer.Write(p[:room])
		} else {
			b.Buffer.Write(p)
		}
	}
	return len(p), nil
}
