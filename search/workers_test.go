package search

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"vanthu/archive/archivetest"
)

// oneWorker opens an empty index whose searches run one at a time, and
// occupies its worker until the returned function is called.
func oneWorker(t *testing.T) (*Index, func()) {
	t.Helper()
	SetConcurrency(1)
	defer SetConcurrency(0)
	ix, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	started, release := make(chan struct{}), make(chan struct{})
	go ix.inTurn(context.Background(), func() { close(started); <-release })
	<-started
	return ix, sync.OnceFunc(func() { close(release) })
}

// queued waits until n searches wait in ix's queue.
func queued(t *testing.T, ix *Index, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); len(ix.jobs) < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d searches queued after 10s, want %d", len(ix.jobs), n)
		}
	}
}

// TestSearchesRunInArrivalOrder: searches queued behind a busy worker run
// in the order they came.
func TestSearchesRunInArrivalOrder(t *testing.T) {
	ix, release := oneWorker(t)
	defer release()
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := ix.inTurn(context.Background(), func() { mu.Lock(); order = append(order, i); mu.Unlock() }); err != nil {
				t.Errorf("search %d: %v", i, err)
			}
		}()
		queued(t, ix, i+1)
	}
	release()
	wg.Wait()
	if fmt.Sprint(order) != "[0 1 2 3 4 5]" {
		t.Errorf("searches ran in the order %v, want the order they arrived in", order)
	}
}

// TestGivenUpSearchIsSkipped: a caller that gives up while its search is
// queued gets its context's error at once, and the search never runs.
func TestGivenUpSearchIsSkipped(t *testing.T) {
	ix, release := oneWorker(t)
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{}, 1)
	errc := make(chan error, 1)
	go func() { errc <- ix.inTurn(ctx, func() { ran <- struct{}{} }) }()
	queued(t, ix, 1)
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("inTurn after the cancel: %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("inTurn still waiting 10s after its context was cancelled")
	}
	release()
	// The next search runs, and the skipped one did not before it.
	if err := ix.inTurn(context.Background(), func() {}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ran:
		t.Error("the search whose caller gave up ran anyway")
	default:
	}
}

// TestSearchPanicReachesTheCaller: a panic on the worker is raised again in
// the caller's goroutine (where vanthu serve's recovery makes it that
// request's 500), and the worker goes on with the next search.
func TestSearchPanicReachesTheCaller(t *testing.T) {
	SetConcurrency(1)
	ix, err := Open(t.TempDir())
	SetConcurrency(0)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	got := func() (p any) {
		defer func() { p = recover() }()
		ix.inTurn(context.Background(), func() { panic("boom") })
		return nil
	}()
	if s, _ := got.(string); !strings.Contains(s, "boom") || !strings.Contains(s, "workers_test.go") {
		t.Errorf("caller recovered %v, want the worker's panic with its stack", got)
	}
	done := false
	if err := ix.inTurn(context.Background(), func() { done = true }); err != nil || !done {
		t.Errorf("search after the panic: ran %v, err %v", done, err)
	}
}

// TestCloseReleasesQueuedSearches: closing the index answers the searches
// still queued instead of leaving their callers waiting.
func TestCloseReleasesQueuedSearches(t *testing.T) {
	ix, release := oneWorker(t)
	defer release()
	errc := make(chan error, 1)
	go func() { errc <- ix.inTurn(context.Background(), func() {}) }()
	queued(t, ix, 1)
	ix.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, errClosed) {
			t.Errorf("queued search after Close: %v, want %v", err, errClosed)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("queued search still waiting 10s after Close")
	}
	if _, err := ix.Search(context.Background(), Request{Q: "kế hoạch"}); err == nil {
		t.Error("Search on a closed index: no error")
	}
}

// TestServerWorkersRunBelowRequests: with a processor to spare (vanthu
// serve), each search worker has a thread of its own at nice searchNice;
// with searches on every processor (a program calling Search), the workers
// are ordinary goroutines on the process's threads.
func TestServerWorkersRunBelowRequests(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	defer SetConcurrency(0)
	for _, c := range []struct {
		workers int
		nice    int
	}{{runtime.GOMAXPROCS(0) - 1, searchNice}, {runtime.GOMAXPROCS(0), 0}} {
		SetConcurrency(c.workers)
		ix, err := Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		tids := map[int]bool{}
		for range 8 * c.workers {
			var tid, nice int
			if err := ix.inTurn(context.Background(), func() { tid = syscall.Gettid(); nice = threadNice(t, tid) }); err != nil {
				t.Fatal(err)
			}
			if nice != c.nice {
				t.Errorf("%d workers of %d processors: a search ran at nice %d, want %d", c.workers, runtime.GOMAXPROCS(0), nice, c.nice)
			}
			tids[tid] = true
		}
		if c.nice != 0 && len(tids) > c.workers {
			t.Errorf("%d workers ran searches on %d threads, want one each", c.workers, len(tids))
		}
		ix.Close()
	}
}

// threadNice is a thread of this process's nice value.
func threadNice(t *testing.T, tid int) int {
	threads, err := archivetest.Threads(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for _, th := range threads {
		if th.TID == tid {
			return th.Nice
		}
	}
	t.Fatalf("thread %d not found in /proc", tid)
	return 0
}
