package records

import (
	"context"

	"vanthu/archive"
)

// Numbers restart every year, so a document is identified by issuer, year
// and number/symbol (Decree 30). A second registration of the same triple is
// usually the same paper registered twice.

// sameRegistration reports whether two documents share issuer, year and number.
func sameRegistration(a, b *archive.Document) bool {
	if a.Number == "" || a.Number != b.Number {
		return false
	}
	if a.Issuer != "" && b.Issuer != "" && a.Issuer != b.Issuer {
		return false
	}
	return a.Year() == 0 || b.Year() == 0 || a.Year() == b.Year()
}

// PossibleDuplicates lists visible documents registered with the same
// issuer, year and number/symbol as d.
func (s *Service) PossibleDuplicates(ctx context.Context, a Actor, d *archive.Document) []string {
	if d.Number == "" || a.User == nil {
		return nil
	}
	others, err := s.Catalog.DocumentsByNumber(ctx, d.Number)
	if err != nil {
		return nil
	}
	var out []string
	for _, o := range others {
		if o.ID != d.ID && o.DisposedAt == "" && a.User.Clearance.Allows(o.Classification) && sameRegistration(d, o) {
			out = append(out, o.ID)
		}
	}
	return out
}

// checkDuplicateRegistration refuses a registration whose clerk-given
// number, issuer and year are already registered, unless the clerk
// confirmed it; the caller learns which document it collides with.
func (s *Service) checkDuplicateRegistration(ctx context.Context, a Actor, d *archive.Document) error {
	if ids := s.PossibleDuplicates(ctx, a, d); len(ids) > 0 {
		return &archive.Error{Kind: archive.ErrConflict, Code: "duplicate_registration",
			Message: "a document with number " + d.Number + " from the same issuer and year is already registered (" + ids[0] +
				"); send allow_duplicate=true to register this one anyway",
			Extra: map[string]any{"existing_id": ids[0]}}
	}
	return nil
}
