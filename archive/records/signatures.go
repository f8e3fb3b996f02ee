package records

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"

	"vanthu/archive"
	"vanthu/archive/sqlite"
	"vanthu/ingest"
	"vanthu/ingest/pdfsign"
)

// VerifySignatures checks the signatures of every signed or PDF original
// again (for `vanthu verify --signatures`, e.g. after the operator adds a
// trust anchor), stores the new verdicts and audits each verification.
// report (may be nil) sees each document's summary.
func (s *Service) VerifySignatures(ctx context.Context, roots, tmpDir string, report func(d *archive.Document, n, valid int, modified bool)) (int, error) {
	s.init()
	checked := 0
	err := s.Catalog.AllDocumentIDs(ctx, func(ids []string) error {
		for _, id := range ids {
			d, err := s.Catalog.Document(ctx, id)
			if err != nil {
				return err
			}
			if d.ContentType != ingest.MimePDF || d.DisposedAt != "" {
				continue
			}
			sigs, err := s.verifyOriginal(ctx, d, roots, tmpDir)
			if err != nil {
				return err
			}
			raw, _ := json.Marshal(sigs)
			if sigs == nil {
				raw = []byte("[]")
			}
			n, valid, modified, signers := SignatureSummary(raw)
			err = s.Catalog.Update(ctx, func(tx *sqlite.Tx) error {
				cur, err := tx.Document(ctx, id)
				if err != nil {
					return err
				}
				uf, err := tx.UserFields(ctx, id)
				if err != nil {
					return err
				}
				cur.Signatures = raw
				if err := tx.UpdateDocument(ctx, cur, uf); err != nil {
					return err
				}
				if err := tx.Enqueue(ctx, sqlite.JobIndex, id); err != nil {
					return err
				}
				return tx.AppendEvent(ctx, &archive.Event{Actor: "system", Role: "system", Action: archive.ActionSignatures, DocumentID: id,
					Details: map[string]any{"signatures": n, "integrity_valid": valid, "modified_after_signing": modified, "signers": signers, "reverified": true}})
			})
			if err != nil {
				return err
			}
			checked++
			if report != nil {
				report(d, n, valid, modified)
			}
		}
		return nil
	})
	return checked, err
}

// verifyOriginal reads an original out of storage and verifies it. The
// verifier recovers from malformed input itself; this runs in a CLI
// process, never in the server.
func (s *Service) verifyOriginal(ctx context.Context, d *archive.Document, roots, tmpDir string) ([]pdfsign.Signature, error) {
	rc, _, err := s.Blobs.Get(ctx, archive.OriginalKey(d.SHA256))
	if errors.Is(err, archive.ErrNotFound) {
		return nil, nil // the fixity check reports it
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	f, err := os.CreateTemp(tmpDir, "sig-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	size, err := io.Copy(f, rc)
	if err != nil {
		return nil, err
	}
	rep, err := pdfsign.Verify(f, size, pdfsign.Options{Roots: roots})
	if err != nil {
		return nil, err
	}
	return rep.Signatures, nil
}
