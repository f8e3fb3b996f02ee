package records

import (
	"encoding/json"
	"slices"

	"vanthu/archive"
	"vanthu/archive/sqlite"
	"vanthu/ingest"
	"vanthu/ingest/pdfsign"
)

// parsedText is what the catalog keeps of an extracted text besides the
// text: the parser's full output (citations, task proposals, signer
// block…) as JSON, and the citations with what the document does to each.
// It is worked out before the extraction's write transaction, so the
// catalog's one writer is not held while a long text is parsed. Without
// text it is empty, and an earlier extraction's parse stays.
type parsedText struct {
	meta  *ingest.Metadata
	json  []byte
	cites []sqlite.Citation
}

func parseText(res ingest.Result) parsedText {
	if res.Status != ingest.StatusOK || res.Text == "" {
		return parsedText{}
	}
	m := ingest.ParseMetadata(res.Text)
	b, _ := json.Marshal(m)
	return parsedText{meta: &m, json: b, cites: citationsOf(res.Text, m)}
}

// applyExtraction records an extraction result on the document and fills the
// metadata fields the clerk did not set from the parse: the clerk's values
// always win, and d.Extracted lists what the system filled.
func applyExtraction(d *archive.Document, res ingest.Result, p parsedText, userFields []string) {
	d.TextStatus, d.TextReason, d.TextEngine = res.Status, res.Reason, res.Engine
	if res.PageCount > 0 {
		d.Pages = res.PageCount
	}
	if d.ContentType == ingest.MimePDF {
		d.Signatures, _ = json.Marshal(res.Signatures)
		if res.Signatures == nil {
			d.Signatures = json.RawMessage("[]")
		}
	}
	if p.meta == nil {
		return
	}
	m := p.meta
	fill := func(name string, dst *string, v string) {
		if v == "" || slices.Contains(userFields, name) {
			return
		}
		*dst = v
		if !slices.Contains(d.Extracted, name) {
			d.Extracted = append(d.Extracted, name)
		}
	}
	fill("number", &d.Number, m.Number)
	if m.Type != "" && !slices.Contains(userFields, "type") {
		fill("type", &d.Type, m.Type)
		d.TypeName = m.TypeName
		if d.TypeName == "" {
			d.TypeName = TypeName(m.Type)
		}
	}
	fill("issuer", &d.Issuer, m.Issuer)
	if m.Level != "other" {
		fill("level", &d.Level, m.Level)
	}
	fill("issued_at", &d.IssuedAt, m.IssuedAt)
	fill("subject", &d.Subject, m.Subject)
	fill("signer", &d.Signer, m.Signer.Name)
	if m.Urgency != "" && m.Urgency != "none" {
		fill("urgency", &d.Urgency, m.Urgency)
	}
	// A secrecy stamp found in the text only ever raises the level: an
	// extraction must never make a document more visible than the clerk set.
	if m.Classification.Rank() > d.Classification.Rank() && !slices.Contains(userFields, "classification") {
		d.Classification = m.Classification
		d.Extracted = append(d.Extracted, "classification")
	}
}

// citedNumbers lists the numbers/symbols a document cites, from the parser's
// stored output.
func citedNumbers(parsed []byte) []string {
	var m ingest.Metadata
	if json.Unmarshal(parsed, &m) != nil {
		return nil
	}
	var out []string
	for _, c := range m.Citations {
		if c.Number != "" && !slices.Contains(out, c.Number) {
			out = append(out, c.Number)
		}
	}
	return out
}

// SignatureSummary condenses a verification for the audit trail and lists.
func SignatureSummary(raw json.RawMessage) (n, valid int, modifiedAfter bool, signers []string) {
	var sigs []pdfsign.Signature
	if json.Unmarshal(raw, &sigs) != nil {
		return 0, 0, false, nil
	}
	for _, s := range sigs {
		n++
		if s.Integrity == "valid" {
			valid++
		}
		modifiedAfter = modifiedAfter || s.ModifiedAfter
		if s.Signer != "" && !slices.Contains(signers, s.Signer) {
			signers = append(signers, s.Signer)
		}
	}
	return n, valid, modifiedAfter, signers
}
