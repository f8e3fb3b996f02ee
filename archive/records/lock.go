package records

import (
	"context"
	"time"

	"vanthu/archive"
)

// objectLocker is implemented by stores whose bucket has object lock
// (archive/s3 on a WORM bucket): retention and legal holds are then also
// enforced by the storage itself, not only by this service.
type objectLocker interface {
	ObjectLockEnabled() bool
	SetRetention(ctx context.Context, key string, until time.Time) error
	SetLegalHold(ctx context.Context, key string, on bool) error
}

// mirrorLock copies a document's retention and legal hold onto its
// originals in storage, where the bucket supports object lock. Failures are
// logged: the catalog's rules still hold, and the next edit retries.
func (s *Service) mirrorLock(ctx context.Context, d *archive.Document) {
	ol, ok := s.Blobs.(objectLocker)
	if !ok || !ol.ObjectLockEnabled() || d.DisposedAt != "" {
		return
	}
	vs, err := s.Catalog.Versions(ctx, d.ID)
	if err != nil {
		return
	}
	end, timed, _ := retentionEnds(d)
	for _, v := range vs {
		if timed && end.After(time.Now()) {
			if err := ol.SetRetention(ctx, v.Key, end); err != nil {
				s.Log.Warn("object lock: setting retention failed", "document", d.ID, "key", v.Key, "err", err)
			}
		}
		if err := ol.SetLegalHold(ctx, v.Key, d.LegalHold); err != nil {
			s.Log.Warn("object lock: setting legal hold failed", "document", d.ID, "key", v.Key, "err", err)
		}
	}
}
