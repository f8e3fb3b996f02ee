package ingest

import (
	"fmt"
	"os"

	"vanthu/ingest/pdfsign"
)

// Signed originals (Decree 30/2020, Phụ lục I): the signer's signature, the
// văn thư's small signatures that stamp the registration number, day and
// month, then the organisation's seal. Both steps below run inside the
// extraction child, like every parser of untrusted bytes.

// pdfSignatures verifies every signature of the PDF at path against the
// operator's trust anchors (a folder of PEM files; "" for none). A file that
// cannot be read for signatures gives a reason, never a crash.
func pdfSignatures(path, roots string) (sigs []pdfsign.Signature, reason string) {
	defer func() {
		if p := recover(); p != nil {
			sigs, reason = nil, fmt.Sprintf("signature check crashed: %v", p)
		}
	}()
	f, err := os.Open(path)
	if err != nil {
		return nil, err.Error()
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err.Error()
	}
	rep, err := pdfsign.Verify(f, fi.Size(), pdfsign.Options{Roots: roots})
	if err != nil {
		return nil, "the signatures could not be checked: " + err.Error()
	}
	return rep.Signatures, ""
}

// mergeStamps puts the text of signature-widget appearances (the number and
// date a văn thư stamps when registering) into the Go parser's page text,
// which does not render them and would otherwise read "Số:     /SNNMT-KHTC".
// pdftotext renders widgets itself, so only the Go path needs this.
func mergeStamps(path string, pages []string) []string {
	defer func() { _ = recover() }() // the pages stay as they were
	f, err := os.Open(path)
	if err != nil {
		return pages
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return pages
	}
	stamps, err := pdfsign.WidgetTexts(f, fi.Size())
	if err != nil || len(stamps) == 0 {
		return pages
	}
	byPage := map[int][]pdfsign.Stamp{}
	for _, s := range stamps {
		byPage[s.Page] = append(byPage[s.Page], s)
	}
	out := make([]string, len(pages))
	for i, p := range pages {
		if ss := byPage[i+1]; len(ss) > 0 {
			out[i] = pdfsign.MergeStamps(p, ss)
		} else {
			out[i] = p
		}
	}
	return out
}
