package records

import "vanthu/ingest"

// TypeName is the Vietnamese name of a document type code (Decree 30,
// Phụ lục III), from the ingest parser's table; CV is công văn, which has
// no code of its own in a symbol.
func TypeName(code string) string {
	if code == "CV" {
		return "Công văn"
	}
	for _, t := range ingest.DocTypes {
		if t.Code == code {
			return t.Name
		}
	}
	return ""
}
