package records

import (
	"bytes"
	"context"
	"os"
	"testing"

	"vanthu/archive"
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

// TestIndexBatchesBoundedByText: with a bound of one byte of text per
// index batch, each batch holds one document (the rest stay queued), and
// batch after batch every document is indexed and its job finished.
func TestIndexBatchesBoundedByText(t *testing.T) {
	// Not running: each step is called here.
	w := newWorkers(t)
	w.BatchText = 1
	s, ix := w.S, w.Index
	s.init()
	ctx := context.Background()
	clerk := actorOf("lan", archive.RoleClerk, archive.Unclassified)
	files := []string{"bc-snv-doan-ra-doan-vao-quy-ii-2018.txt", "ct-05-ttg-2018-doi-ngoai-dia-phuong.txt", "nd-30-2020-cong-tac-van-thu.txt"}
	for _, f := range files {
		b, err := os.ReadFile(example(f))
		if err != nil {
			t.Fatal(err)
		}
		st, err := s.Stage(ctx, f, bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Register(ctx, clerk, st, nil); err != nil {
			t.Fatal(err)
		}
	}
	jobs, err := s.Catalog.PendingJobs(ctx, sqlite.JobExtract, 10)
	if err != nil || len(jobs) != len(files) {
		t.Fatalf("%d extraction jobs (%v), want %d", len(jobs), err, len(files))
	}
	for _, j := range jobs {
		w.extractJob(ctx, j, w.Extractor)
	}
	for i := 1; i <= len(files); i++ {
		more, err := w.IndexBatch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := ix.Count()
		queued, _ := s.Catalog.CountJobs(ctx, sqlite.JobIndex)
		if n != uint64(i) || queued != int64(len(files)-i) {
			t.Fatalf("after batch %d: %d indexed, %d queued; want %d and %d", i, n, queued, i, len(files)-i)
		}
		if more != (i < len(files)) {
			t.Errorf("after batch %d: more = %v", i, more)
		}
	}
}
