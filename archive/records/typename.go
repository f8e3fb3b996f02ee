package records

// TypeName is the Vietnamese name of a document type code (Decree 30,
// Phụ lục III), from the ingest parser's table.
func TypeName(code string) string { return "" }
