package ingest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"vanthu/ingest/vietnamese"
)

// ocrPDFPages renders and OCRs the pages listed in bad (0-based), at most
// o.OCRMaxPages of them and only while the context has time left, and puts
// the OCR text in pages[i] when it reads better than the text layer. It
// returns how many pages took the OCR text and a note for Result.Reason.
func ocrPDFPages(ctx context.Context, o options, path string, pages []string, bad []int) (int, string) {
	dir, err := os.MkdirTemp("", "vanthu-ocr-")
	if err != nil {
		return 0, "OCR failed: " + err.Error()
	}
	defer os.RemoveAll(dir)
	var done, used int
	var failures []string
	for _, i := range bad {
		if done == o.OCRMaxPages || ctx.Err() != nil {
			break
		}
		img := filepath.Join(dir, "page")
		n := strconv.Itoa(i + 1)
		// 300 dpi is what tesseract's models were trained for; grey is
		// enough and a third of the size of colour.
		render := exec.CommandContext(ctx, o.PDFToPPM, "-r", "300", "-gray", "-png", "-f", n, "-l", n, "-singlefile", path, img)
		render.SysProcAttr = toolAttr()
		if out, err := render.CombinedOutput(); err != nil {
			failures = append(failures, fmt.Sprintf("page %d: pdftoppm: %v %s", i+1, err, firstLine(string(out))))
			done++
			continue
		}
		text, err := tesseract(ctx, o, img+".png")
		os.Remove(img + ".png")
		done++
		if err != nil {
			failures = append(failures, fmt.Sprintf("page %d: %v", i+1, err))
			continue
		}
		if vietnamese.ScoreText(text).Good() > vietnamese.ScoreText(pages[i]).Good() {
			pages[i] = text
			used++
		}
	}
	var note []string
	note = append(note, fmt.Sprintf("OCR (tesseract %s) read %d of the %d pages without a usable text layer", o.OCRLang, done, len(bad)))
	if done < len(bad) {
		if ctx.Err() != nil {
			note = append(note, "stopped by the time limit")
		} else {
			note = append(note, fmt.Sprintf("the cap is %d pages per file; re-extract with a larger cap to read the rest", o.OCRMaxPages))
		}
		// Pages not reached keep no garbage: mojibake would only produce false hits.
		for _, i := range bad[done:] {
			if !vietnamese.ScoreText(pages[i]).Readable() {
				pages[i] = ""
			}
		}
	}
	if len(failures) > 0 {
		note = append(note, "failures: "+strings.Join(failures, "; "))
	}
	return used, strings.Join(note, ", ")
}

// tesseract OCRs one image. OMP_THREAD_LIMIT=1: one file's OCR should not
// take every core of the server, and OpenMP's per-thread arenas would
// otherwise eat the child's address-space limit.
func tesseract(ctx context.Context, o options, image string) (string, error) {
	cmd := exec.CommandContext(ctx, o.Tesseract, image, "stdout", "-l", o.OCRLang)
	cmd.SysProcAttr = toolAttr()
	cmd.Env = append(os.Environ(), "OMP_THREAD_LIMIT=1")
	out := &cappedBuffer{max: 16 << 20}
	var stderr tailBuffer
	stderr.max = 4 << 10
	cmd.Stdout, cmd.Stderr = out, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("tesseract: %v %s", err, firstLine(stderr.String()))
	}
	return cleanText(out.String()), nil
}

// extractImage OCRs a scanned page kept as an image.
func extractImage(ctx context.Context, path string, o options) Result {
	if o.Tesseract == "" || o.OCRMaxPages < 0 {
		return Result{Status: StatusEmpty, Reason: "the file is an image and OCR (tesseract) is not installed"}
	}
	text, err := tesseract(ctx, o, path)
	if err != nil {
		return failed("OCR of the image failed: %v", err)
	}
	res := Result{Engine: EngineTesseract, Text: strings.TrimSpace(text), Pages: []string{text}, PageCount: 1}
	if vietnamese.ScoreText(text).Tokens == 0 {
		res.Status, res.Reason = StatusEmpty, "OCR found no text in the image"
		return res
	}
	res.Status = StatusOK
	return res
}

// toolAttr makes an external tool (pdftotext, pdftoppm, tesseract) die
// with the extraction process that runs it. That process already dies with
// the server (Pdeathsig, see Extractor); without this its tools outlived a
// kill -9 of the server until they finished on their own (the acceptance
// suite's crash scenario counted 8 after 10 kills).
func toolAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
