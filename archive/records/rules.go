package records

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"vanthu/archive"
	"vanthu/archive/sqlite"
)

// Records rules. An original is never overwritten or deleted through the
// API: a corrected file is a new version, and an original leaves the archive
// only by a disposition that a second person approves after its retention
// period, with no legal hold — and even then the record (metadata, history,
// who approved) stays.

// retentionEnds returns when a document's retention period ends; ok is false
// when it is permanent or not set.
func retentionEnds(d *archive.Document) (end time.Time, ok bool, why string) {
	switch d.Retention {
	case "":
		return time.Time{}, false, "no retention period is set for this document; set one (with its legal basis) before disposal"
	case "permanent":
		return time.Time{}, false, "this document is kept permanently (" + basis(d) + ")"
	}
	years, err := strconv.Atoi(d.Retention)
	if err != nil || years <= 0 {
		return time.Time{}, false, "the retention period is not a number of years"
	}
	start := d.CreatedAt
	for _, s := range []string{d.IssuedAt, d.RegisteredAt} {
		if t, err := time.Parse("2006-01-02", s); err == nil {
			start = t
			break
		}
	}
	return start.AddDate(years, 0, 0), true, ""
}

func basis(d *archive.Document) string {
	if d.RetentionBasis != "" {
		return d.RetentionBasis
	}
	return "no legal basis recorded"
}

// disposable explains why a document may not be disposed of now, or "".
func disposable(d *archive.Document, now time.Time) (code, why string) {
	if d.DisposedAt != "" {
		return "already_disposed", "this document's original was already disposed of on " + d.DisposedAt
	}
	if d.LegalHold {
		return "legal_hold", "this document is under legal hold; it cannot be disposed of until the hold is lifted"
	}
	end, ok, why := retentionEnds(d)
	if !ok {
		return "retention", why
	}
	if now.Before(end) {
		return "retention", fmt.Sprintf("this document is within its retention period of %s years (%s) until %s", d.Retention, basis(d), end.Format("2006-01-02"))
	}
	return "", ""
}

// RequestDisposal asks for a document's original to be disposed of. Refusals
// (legal hold, retention) are audited too.
func (s *Service) RequestDisposal(ctx context.Context, a Actor, id, reason string) error {
	if a.User == nil || (a.User.Role != archive.RoleClerk && a.User.Role != archive.RoleAdmin) {
		return forbidden("request a disposition")
	}
	err := s.Catalog.Update(ctx, func(tx *sqlite.Tx) error {
		d, err := visibleTx(ctx, tx, a, id)
		if err != nil {
			return err
		}
		e := a.event(archive.ActionDisposition, id)
		if code, why := disposable(d, time.Now()); code != "" {
			e.Outcome, e.Details = "denied", map[string]any{"step": "request", "reason": code}
			// The refusal is recorded even though the request fails: it is
			// written in its own transaction below.
			return &refusal{err: &archive.Error{Kind: archive.ErrConflict, Code: code, Message: why}, event: e}
		}
		if err := tx.RequestDisposition(ctx, sqlite.Disposition{DocumentID: id, RequestedBy: a.User.Name, Reason: reason}); err != nil {
			return err
		}
		e.Details = map[string]any{"step": "request", "reason": reason}
		return tx.AppendEvent(ctx, e)
	})
	return s.recordRefusal(ctx, err)
}

// refusal carries an audit event to record after the refused transaction
// rolled back.
type refusal struct {
	err   error
	event *archive.Event
}

func (r *refusal) Error() string { return r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

// recordRefusal writes the event of a refused change in its own transaction.
func (s *Service) recordRefusal(ctx context.Context, err error) error {
	var r *refusal
	if errors.As(err, &r) {
		if rerr := s.Catalog.Record(ctx, r.event); rerr != nil {
			s.Log.Error("audit of a refusal failed", "err", rerr)
		}
		return r.err
	}
	return err
}

// ApproveDisposal carries out a requested disposition: it needs an admin who
// is not the requester. The original's object versions are removed (unless
// another document keeps the same bytes), the text and index entry go, and a
// residual record remains.
func (s *Service) ApproveDisposal(ctx context.Context, a Actor, id string) (*archive.Document, error) {
	if a.User == nil || a.User.Role != archive.RoleAdmin {
		return nil, forbidden("approve a disposition")
	}
	var keys []string
	var out *archive.Document
	err := s.Catalog.Update(ctx, func(tx *sqlite.Tx) error {
		d, err := visibleTx(ctx, tx, a, id)
		if err != nil {
			return err
		}
		req, err := tx.PendingDisposition(ctx, id)
		if errors.Is(err, archive.ErrNotFound) {
			return archive.Errorf(archive.ErrConflict, "no_request", "no disposition was requested for this document")
		}
		if err != nil {
			return err
		}
		e := a.event(archive.ActionDisposition, id)
		if req.RequestedBy == a.User.Name {
			e.Outcome, e.Details = "denied", map[string]any{"step": "approve", "reason": "same_person"}
			return &refusal{err: archive.Errorf(archive.ErrConflict, "second_person_required", "a disposition must be approved by someone other than the person who requested it (%s)", req.RequestedBy), event: e}
		}
		if code, why := disposable(d, time.Now()); code != "" {
			e.Outcome, e.Details = "denied", map[string]any{"step": "approve", "reason": code}
			return &refusal{err: &archive.Error{Kind: archive.ErrConflict, Code: code, Message: why}, event: e}
		}
		vs, err := s.Catalog.Versions(ctx, id)
		if err != nil {
			return err
		}
		for _, v := range vs {
			others, err := tx.OtherDocumentsWithKey(ctx, id, v.Key)
			if err != nil {
				return err
			}
			if others == 0 {
				keys = append(keys, v.Key)
			}
		}
		if err := tx.ApproveDisposition(ctx, id, a.User.Name); err != nil {
			return err
		}
		d.DisposedAt = time.Now().In(vietnam).Format("2006-01-02")
		d.TextStatus, d.TextReason = archive.TextEmpty, "the original was disposed of"
		uf, err := tx.UserFields(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteText(ctx, id); err != nil {
			return err
		}
		e.Details = map[string]any{"step": "approve", "requested_by": req.RequestedBy, "requested_at": req.RequestedAt,
			"reason": req.Reason, "retention": d.Retention, "retention_basis": d.RetentionBasis, "removed_objects": keys}
		out = d
		return commitChange(ctx, tx, d, uf, e, sqlite.JobIndex, sqlite.JobManifest)
	})
	if err != nil {
		return nil, s.recordRefusal(ctx, err)
	}
	// The catalog now says the original is gone; remove the bytes. A failure
	// here leaves an untracked object that the fixity check reports.
	type versionsDeleter interface {
		DeleteAllVersions(context.Context, string) error
	}
	for _, k := range keys {
		var err error
		if vd, ok := s.Blobs.(versionsDeleter); ok {
			err = vd.DeleteAllVersions(ctx, k)
		} else {
			err = s.Blobs.Delete(ctx, k)
		}
		if err != nil {
			s.Log.Error("disposition: removing an object failed", "key", k, "err", err)
		}
	}
	s.Wake()
	return out, nil
}

// AddVersion registers a new original for an existing document: the old
// versions stay, the document points to the new one, and its text is
// extracted again.
func (s *Service) AddVersion(ctx context.Context, a Actor, id string, st *Staged) (*archive.Document, error) {
	if !a.Can("write") {
		s.Discard(st)
		return nil, forbidden("add versions")
	}
	key := archive.OriginalKey(st.SHA256)
	var out *archive.Document
	check := func(tx *sqlite.Tx) (*archive.Document, error) {
		d, err := visibleTx(ctx, tx, a, id)
		if err == nil && d.DisposedAt != "" {
			return nil, archive.Errorf(archive.ErrConflict, "disposed", "this document's original was disposed of; it takes no new versions")
		}
		if err == nil && d.SHA256 == st.SHA256 {
			return nil, archive.Errorf(archive.ErrConflict, "same_version", "this file is identical to the document's current version")
		}
		return d, err
	}
	// Check before promoting, so a refused version leaves no object behind.
	if err := s.Catalog.Update(ctx, func(tx *sqlite.Tx) error { _, err := check(tx); return err }); err != nil {
		s.Discard(st)
		return nil, err
	}
	if err := s.promote(ctx, st, key); err != nil {
		return nil, err
	}
	err := s.Catalog.Update(ctx, func(tx *sqlite.Tx) error {
		d, err := check(tx)
		if err != nil {
			return err
		}
		n, err := tx.NextVersion(ctx, id)
		if err != nil {
			return err
		}
		at := time.Now().UTC()
		v := &archive.Version{DocumentID: id, N: n, SHA256: st.SHA256, Size: st.Size, ContentType: st.ContentType,
			Filename: st.Filename, Key: key, CreatedAt: at, CreatedBy: a.User.Name}
		if err := tx.InsertVersion(ctx, v); err != nil {
			return err
		}
		before := d.SHA256
		d.Version, d.SHA256, d.Size, d.ContentType, d.Filename = n, st.SHA256, st.Size, st.ContentType, st.Filename
		d.TextStatus, d.TextReason, d.Fixity = archive.TextPending, "", ""
		uf, err := tx.UserFields(ctx, id)
		if err != nil {
			return err
		}
		e := a.event(archive.ActionVersion, id)
		e.Details = map[string]any{"version": n, "sha256": st.SHA256, "previous_sha256": before, "size": st.Size, "filename": st.Filename}
		out = d
		return commitChange(ctx, tx, d, uf, e, sqlite.JobExtract, sqlite.JobManifest)
	})
	if err != nil {
		return nil, err
	}
	s.Wake()
	return out, nil
}
