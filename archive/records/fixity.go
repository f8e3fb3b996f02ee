package records

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"vanthu/archive"
)

// FixityReport counts what a fixity sweep found.
type FixityReport struct{ Checked, OK, Changed, Missing, Untracked int }

// FixityFinding is one problem a sweep found.
type FixityFinding struct {
	Kind       string // changed, missing, untracked
	Key        string
	DocumentID string
	Detail     string
}

// Fixity re-hashes every original in storage against the catalog. Changed
// and missing originals are flagged on their documents; every finding is an
// audit event. report (may be nil) sees each finding as it is made.
func (s *Service) Fixity(ctx context.Context, report func(FixityFinding)) (FixityReport, error) {
	s.init()
	var rep FixityReport
	known := map[string]bool{}
	find := func(f FixityFinding, details map[string]any) error {
		if report != nil {
			report(f)
		}
		details["finding"], details["key"] = f.Kind, f.Key
		return s.Catalog.Record(ctx, &archive.Event{Actor: "system", Role: "system", Action: archive.ActionFixity,
			DocumentID: f.DocumentID, Outcome: "failed", Details: details})
	}
	err := s.Catalog.AllVersions(ctx, func(v archive.Version) error {
		if known[v.Key] {
			return nil
		}
		known[v.Key] = true
		rep.Checked++
		rc, _, err := s.Blobs.Get(ctx, v.Key)
		if errors.Is(err, archive.ErrNotFound) {
			if d, derr := s.Catalog.Document(ctx, v.DocumentID); derr == nil && d.DisposedAt != "" {
				rep.Checked-- // disposed of on purpose: the record stays, the bytes are gone
				return nil
			}
			rep.Missing++
			_ = s.Catalog.SetFixity(ctx, v.SHA256, "missing")
			return find(FixityFinding{Kind: "missing", Key: v.Key, DocumentID: v.DocumentID}, map[string]any{})
		}
		if err != nil {
			return err
		}
		h := sha256.New()
		_, err = io.Copy(h, rc)
		rc.Close()
		if err != nil {
			return err
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != v.SHA256 {
			rep.Changed++
			_ = s.Catalog.SetFixity(ctx, v.SHA256, "changed")
			return find(FixityFinding{Kind: "changed", Key: v.Key, DocumentID: v.DocumentID, Detail: "sha256 now " + got},
				map[string]any{"expected": v.SHA256, "actual": got})
		}
		rep.OK++
		return s.Catalog.SetFixity(ctx, v.SHA256, "ok")
	})
	if err != nil {
		return rep, err
	}
	err = s.Blobs.List(ctx, archive.OriginalsPrefix, func(b archive.BlobInfo) error {
		if known[b.Key] {
			return nil
		}
		rep.Untracked++
		return find(FixityFinding{Kind: "untracked", Key: b.Key, Detail: fmt.Sprintf("%d bytes", b.Size)}, map[string]any{"size": b.Size})
	})
	return rep, err
}

// RunFixity sweeps every interval until ctx ends.
func (s *Service) RunFixity(ctx context.Context, interval time.Duration) {
	s.init()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rep, err := s.Fixity(ctx, nil)
		if err != nil {
			s.Log.Warn("fixity sweep failed", "err", err)
			continue
		}
		lvl := s.Log.Info
		if rep.Changed+rep.Missing+rep.Untracked > 0 {
			lvl = s.Log.Error
		}
		lvl("fixity sweep", "checked", rep.Checked, "changed", rep.Changed, "missing", rep.Missing, "untracked", rep.Untracked)
	}
}
