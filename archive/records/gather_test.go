package records

import (
	"context"
	"testing"

	"vanthu/archive/sqlite"
)

// TestGatherWaitsOnlyForComingDocuments: the index writer gathers a
// larger batch only while extractions are queued (documents about to be
// indexed); with none, a queued document is indexed at once.
func TestGatherWaitsOnlyForComingDocuments(t *testing.T) {
	s := newService(t)
	w := &Workers{S: s, BatchSize: 500}
	enqueue := func(kind, id string) {
		t.Helper()
		if err := s.Catalog.Update(context.Background(), func(tx *sqlite.Tx) error { return tx.Enqueue(context.Background(), kind, id) }); err != nil {
			t.Fatal(err)
		}
	}
	enqueue(sqlite.JobIndex, "a")

	// Nothing is being extracted: gather returns before this context ends,
	// which is before its own deadline (indexGather).
	ctx, cancel := context.WithTimeout(context.Background(), indexGather/2)
	defer cancel()
	w.gather(ctx)
	if ctx.Err() != nil {
		t.Fatal("gather waited with no extraction queued")
	}

	// An extraction is queued: gather waits for it (here, until the
	// context ends, before indexGather).
	enqueue(sqlite.JobExtract, "b")
	short, cancel2 := context.WithTimeout(context.Background(), indexGather/4)
	defer cancel2()
	w.gather(short)
	if short.Err() == nil {
		t.Fatal("gather returned while an extraction was queued and its batch was small")
	}
}
