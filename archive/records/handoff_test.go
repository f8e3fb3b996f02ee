package records

import (
	"context"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vanthu/archive"
)

// countingStore counts the reads of originals from a real store.
type countingStore struct {
	archive.BlobStore
	gets atomic.Int64
}

func (c *countingStore) Get(ctx context.Context, key string) (io.ReadSeekCloser, archive.BlobInfo, error) {
	if strings.HasPrefix(key, archive.OriginalsPrefix) {
		c.gets.Add(1)
	}
	return c.BlobStore.Get(ctx, key)
}

// A spooled upload is extracted from its spool file, not read back from
// the S3 server; once the handoff no longer has it (after a restart, or
// past its bounds) extraction reads the store. Either way the text is the
// same and no spool file is left open.
func TestExtractionTakesTheSpoolFile(t *testing.T) {
	st, _ := s3Store(t)
	store := &countingStore{BlobStore: st}
	w := workersFor(t, spoolService(t, store))
	s := w.S
	s.ExtractWait = time.Minute
	run := func() (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { w.Run(ctx); close(done) }()
		return sync.OnceFunc(func() { cancel(); <-done })
	}
	stop := run()
	t.Cleanup(func() { stop() })
	clerk := actorOf("lan", archive.RoleClerk, archive.Mat)

	text, err := os.ReadFile(example("kh-1623-ubnd-2018-doi-ngoai.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// extracted checks d's extraction, the reads of originals from the
	// store so far, and that no spool file is left open.
	extracted := func(what string, d *archive.Document, wantGets int64) {
		t.Helper()
		if d.TextStatus != archive.TextOK {
			t.Fatalf("%s: text_status %s (%s), want ok", what, d.TextStatus, d.TextReason)
		}
		if n := store.gets.Load(); n != wantGets {
			t.Errorf("%s: originals read from the store %d times, want %d", what, n, wantGets)
		}
		if left := spoolLeft(t, s); len(left) > 0 {
			t.Errorf("%s: spool files left: %v", what, left)
		}
	}
	fresh := upload(t, s, clerk, string(text), nil)
	extracted("a new upload (from its spool file)", fresh, 0)
	if s.handoff.drop() {
		t.Error("the handoff still holds a spool file after its extraction")
	}

	// The same text with one more line, registered while the workers are
	// stopped; its spool file is given up before they start again, as a
	// restart gives it up.
	stop()
	s.ExtractWait = 0
	again := upload(t, s, clerk, string(text)+"\nBản sao số 2", nil)
	if !s.handoff.drop() {
		t.Fatal("the handoff did not keep the spool file of a stored upload")
	}
	stop = run()
	deadline := time.Now().Add(time.Minute)
	for again.TextStatus == archive.TextPending && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		if again, err = s.Catalog.Document(t.Context(), again.ID); err != nil {
			t.Fatal(err)
		}
	}
	extracted("an upload whose spool file was given up", again, 1)
	a, _ := s.Catalog.Text(t.Context(), fresh.ID)
	b, _ := s.Catalog.Text(t.Context(), again.ID)
	if a == "" || !strings.HasPrefix(b, a[:len(a)/2]) {
		t.Errorf("the two extractions differ: %d and %d bytes of text", len(a), len(b))
	}
}
