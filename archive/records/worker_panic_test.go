package records

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"vanthu/archive"
	"vanthu/archive/sqlite"
	"vanthu/ingest"
)

// A bug that one document's text reaches in the in-process parsing costs
// that document its extraction, retried later; the workers go on with the
// others, and the server does not stop.
func TestExtractionPanicIsRetried(t *testing.T) {
	orig := parseExtracted
	t.Cleanup(func() { parseExtracted = orig })
	parseExtracted = func(res ingest.Result) parsedText {
		if strings.Contains(res.Text, "gây lỗi") {
			var m map[string]int
			m["x"]++ // the kind of bug that took the index writer down
		}
		return orig(res)
	}

	w := newWorkers(t)
	var logs syncBuffer
	w.S.Log = slog.New(slog.NewTextHandler(&logs, nil))
	w.S.ExtractWait = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	clerk := actorOf("lan", archive.RoleClerk, archive.Mat)

	bad := upload(t, w.S, clerk, "CÔNG VĂN\nSố: 12/CV-VT\nV/v văn bản gây lỗi.\n", nil)
	if bad.TextStatus != archive.TextPending {
		t.Errorf("the document whose parsing panicked: text_status %s, want pending (queued again)", bad.TextStatus)
	}
	if n, err := w.S.Catalog.CountJobs(ctx, sqlite.JobExtract); err != nil || n != 1 {
		t.Errorf("extraction jobs queued after the panic: %d (%v), want 1", n, err)
	}
	for _, want := range []string{"extraction panicked", "assignment to entry in nil map", "worker_panic_test.go"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
	good := upload(t, w.S, clerk, "CÔNG VĂN\nSố: 13/CV-VT\nV/v văn bản bình thường.\n", nil)
	if good.TextStatus != archive.TextOK {
		t.Errorf("the next document: text_status %s (%s), want ok: the workers stopped", good.TextStatus, good.TextReason)
	}
}

// syncBuffer is a bytes.Buffer safe for the workers' goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
