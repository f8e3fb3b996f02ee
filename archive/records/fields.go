package records

import (
	"bytes"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"vanthu/archive"
	"vanthu/archive/sqlite"
	"vanthu/ingest/vietnamese"
)

// EditableFields are the metadata fields a clerk may set, in API.md's names.
var EditableFields = []string{"number", "type", "issuer", "level", "issued_at", "subject", "signer",
	"classification", "urgency", "direction", "tags", "retention", "retention_basis", "legal_hold"}

// maxFieldLen bounds every metadata value; a subject is a sentence, not a book.
const maxFieldLen = 2000

// ApplyFields validates and applies metadata fields to d, returning the
// names of the fields set. Unknown fields are an error, so a typo is not
// silently dropped. Text is NFC-normalised with one tone placement.
func ApplyFields(d *archive.Document, fields map[string]string) ([]string, error) {
	var set []string
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		raw := fields[k]
		if !utf8.ValidString(raw) {
			return nil, archive.Errorf(archive.ErrInvalid, "invalid_field", "field %q is not valid UTF-8 text", k)
		}
		if len(raw) > maxFieldLen {
			return nil, archive.Errorf(archive.ErrInvalid, "invalid_field", "field %q is longer than %d bytes", k, maxFieldLen)
		}
		if strings.ContainsRune(raw, 0) {
			return nil, archive.Errorf(archive.ErrInvalid, "invalid_field", "field %q contains a NUL character", k)
		}
		v := strings.TrimSpace(vietnamese.Normalize(raw))
		switch k {
		case "number":
			d.Number = sqlite.NumberKey(v)
		case "type":
			d.Type = v
			d.TypeName = TypeName(v)
		case "issuer":
			d.Issuer = v
		case "level":
			if v != "" && !archive.OneOf(v, archive.Levels) {
				return nil, archive.Errorf(archive.ErrInvalid, "invalid_field", "level %q is not one of %s", v, strings.Join(archive.Levels, ", "))
			}
			d.Level = v
		case "issued_at":
			if v != "" {
				t, err := time.Parse("2006-01-02", v)
				if err != nil || t.Year() < 1945 || t.After(time.Now().AddDate(1, 0, 0)) {
					return nil, archive.Errorf(archive.ErrInvalid, "invalid_field", "issued_at %q is not a valid date in the form YYYY-MM-DD", v)
				}
			}
			d.IssuedAt = v
		case "subject":
			d.Subject = v
		case "signer":
			d.Signer = v
		case "classification":
			c, err := archive.ParseClassification(v)
			if err != nil {
				return nil, err
			}
			d.Classification = c
		case "urgency":
			if v == "" {
				v = "none"
			}
			if !archive.OneOf(v, archive.Urgencies) {
				return nil, archive.Errorf(archive.ErrInvalid, "invalid_field", "urgency %q is not one of %s", v, strings.Join(archive.Urgencies, ", "))
			}
			d.Urgency = v
		case "direction":
			if !archive.OneOf(v, archive.Directions) {
				return nil, archive.Errorf(archive.ErrInvalid, "invalid_field", "direction %q is not one of %s", v, strings.Join(archive.Directions, ", "))
			}
			d.Direction = v
		case "tags":
			d.Tags = []string{}
			for _, t := range strings.Split(v, ",") {
				if t = strings.TrimSpace(t); t != "" && !slices.Contains(d.Tags, t) {
					d.Tags = append(d.Tags, t)
				}
			}
		case "retention":
			if v != "" && v != "permanent" {
				if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 200 {
					return nil, archive.Errorf(archive.ErrInvalid, "invalid_field", "retention must be \"permanent\" or a number of years from 1 to 200")
				}
			}
			d.Retention = v
		case "retention_basis":
			d.RetentionBasis = v
		case "legal_hold":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, archive.Errorf(archive.ErrInvalid, "invalid_field", "legal_hold must be true or false")
			}
			d.LegalHold = b
		default:
			return nil, archive.Errorf(archive.ErrInvalid, "unknown_field", "unknown field %q; the editable fields are %s", k, strings.Join(EditableFields, ", "))
		}
		set = append(set, k)
	}
	return set, nil
}

// fieldValues returns the editable fields of d by API name.
func fieldValues(d *archive.Document) map[string]any {
	return map[string]any{
		"number": d.Number, "type": d.Type, "issuer": d.Issuer, "level": d.Level, "issued_at": d.IssuedAt,
		"subject": d.Subject, "signer": d.Signer, "classification": string(d.Classification), "urgency": d.Urgency,
		"direction": d.Direction, "tags": strings.Join(d.Tags, ","),
	}
}

// diffFields returns the changed fields' values before and after.
func diffFields(before, after *archive.Document) (map[string]any, map[string]any) {
	b, a := fieldValues(before), fieldValues(after)
	for k := range b {
		if b[k] == a[k] {
			delete(b, k)
			delete(a, k)
		}
	}
	return b, a
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
