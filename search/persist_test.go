package search

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/blevesearch/bleve/v2/index/scorch"

	"vanthu/archive/archivetest"
)

// introduced is the number of batches' segments the index has made live.
func introduced(t *testing.T, ix *Index) uint64 {
	t.Helper()
	adv, err := ix.bi.Advanced()
	if err != nil {
		t.Fatal(err)
	}
	return atomic.LoadUint64(&adv.(*scorch.Scorch).Stats().(*scorch.Stats).TotIntroducedSegmentsBatch)
}

// fill writes to path until the file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return
		}
	}
}

// TestIndexOnAFullDisk: a batch that cannot be written is an error the
// index writer can retry, not a broken index. Bleve's own Batch closed
// the batch's segment while it was live, and the next batch panicked
// (see persist.go).
func TestIndexOnAFullDisk(t *testing.T) {
	disk := archivetest.SmallDisk(t, "4m")
	// Given as a caller might, with a trailing slash: the failures reach
	// commit through a callback found by Bleve's spelling of the path.
	dir := filepath.Join(disk, "index") + string(os.PathSeparator)
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { ix.Close() }()
	var mu sync.Mutex
	var reported []error
	ix.OnBackgroundError(func(err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() })
	docs := fixture()[:3]
	if err := ix.Index(docs); err != nil {
		t.Fatal(err)
	}
	fill(t, filepath.Join(disk, "filler"))

	later := func(i int) Doc {
		return Doc{ID: fmt.Sprintf("full%d", i), Type: "CV", Issuer: "Sở Ngoại vụ", Level: "provincial",
			Subject: fmt.Sprintf("Công văn khi đĩa đầy %d", i), Body: "Về việc lưu trữ khi ổ đĩa đầy."}
	}
	var segments uint64
	for i := range 3 {
		if i == 1 {
			segments = introduced(t, ix)
		}
		err := ix.Index([]Doc{later(i)})
		var ns *errNotSaved
		if !errors.As(err, &ns) || !strings.Contains(err.Error(), "no space left on device") {
			t.Fatalf("batch %d on a full disk: %v, want the index could not be saved: no space left", i, err)
		}
		t.Logf("batch %d on a full disk: %v", i, err)
	}
	if err := ix.Delete([]string{docs[0].ID}); err == nil {
		t.Fatal("a delete on a full disk reported success")
	}
	// The first failed batch is live; the retries wait for it to be
	// written instead of adding a segment each.
	if n := introduced(t, ix); n != segments {
		t.Errorf("%d segments introduced while the first failed batch was unwritten, want 0", n-segments)
	}
	if err := ix.SaveError(); err == nil || !strings.Contains(err.Error(), "no space left on device") {
		t.Errorf("SaveError while the disk is full: %v, want the failed write", err)
	}
	r, err := ix.Search(ctx, Request{Q: "đối ngoại"})
	if err != nil {
		t.Fatalf("search while the disk is full: %v", err)
	}
	t.Logf("search while full: %d hits", r.Total)
	mu.Lock()
	if len(reported) == 0 || !strings.Contains(reported[0].Error(), "no space left on device") {
		t.Errorf("background errors reported for the log: %v, want the failed writes", reported)
	}
	mu.Unlock()

	if err := os.Remove(filepath.Join(disk, "filler")); err != nil {
		t.Fatal(err)
	}
	// The writer's retries: the same documents again.
	all := append([]Doc{}, docs[1:]...)
	for i := range 3 {
		all = append(all, later(i))
	}
	if err := ix.Index(all[len(docs)-1:]); err != nil {
		t.Fatalf("batch after space was freed: %v", err)
	}
	if err := ix.Delete([]string{docs[0].ID}); err != nil {
		t.Fatalf("delete after space was freed: %v", err)
	}
	check := func(ix *Index, when string) {
		t.Helper()
		n, err := ix.Count()
		if err != nil || n != uint64(len(all)) {
			t.Fatalf("%s: %d documents (%v), want %d", when, n, err, len(all))
		}
		r, err := ix.Search(ctx, Request{Q: "ổ đĩa đầy", Size: 10})
		if err != nil || r.Total != 3 {
			t.Fatalf("%s: search for the later documents: %v %v, want 3 hits", when, r, err)
		}
	}
	check(ix, "after space was freed")
	if err := ix.SaveError(); err != nil {
		t.Errorf("SaveError after space was freed and the retries were written: %v", err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if ix, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	check(ix, "reopened")
}
