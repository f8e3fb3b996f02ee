package search

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
)

// Every change to the index is committed through commit, which returns
// once the change is on disk: the index writer marks its jobs done only
// then.
//
// Bleve's own way to wait for that (a Batch that returns after the
// persister has written its segment) is unsafe when writing fails: Scorch
// has already put the batch's segment into the live index snapshot, and
// Batch then closes that segment. The next batch asks every live segment
// which documents it replaces, and the closed one panics ("assignment to
// entry in nil map" in zapx's term dictionary cache), which took vanthu
// serve down when its disk filled up. Searches touching it failed as well.
//
// So the index is opened with unsafe_batch, where Batch returns once the
// segment is live and never closes it, and commit waits for the batch's
// persisted callback instead. Scorch calls that only after a successful
// write and keeps retrying a failed one; a failure is reported through
// the asynchronous error callback, which wakes the waiting commits with
// the error. The batch stays in the live index (it is searchable), and the
// index writer tries its job again later; the persister writes everything
// once there is room again.

// asyncErrors is the name of the Scorch error callback of every index.
const asyncErrors = "vanthu"

// persistRetryPause slows the persister's retries after a failed write: it
// retries at once, and on a full disk that is a core spent on failing
// writes.
const persistRetryPause = 500 * time.Millisecond

// watches holds the persistWatch of every open index by its Scorch
// directory, the path the callback is given.
var watches sync.Map // string → *persistWatch

func init() {
	scorch.RegistryAsyncErrorCallbacks[asyncErrors] = func(err error, path string) {
		w, ok := watches.Load(path)
		if !ok {
			return
		}
		pw := w.(*persistWatch)
		if f := pw.report.Load(); f != nil {
			(*f)(err)
		}
		var se *scorch.ScorchError
		if !errors.As(err, &se) || se.Source != "persister" {
			// The merger's failures leave the index whole (it keeps more
			// segments); a panicked merger leaves it unmerged until the
			// next start. Either is for the log, not for commit.
			return
		}
		switch {
		case errors.Is(err, scorch.ErrAsyncPanic):
			// The persister is gone: nothing will be written again until
			// the index is reopened.
			pw.fail(err, true)
		case errors.Is(err, scorch.ErrPersist):
			pw.fail(err, false)
			time.Sleep(persistRetryPause)
		}
	}
}

// OnBackgroundError has f called with every error of the index's
// background work (writing batches, merging segments, removing old files),
// for the server's log: a write the disk refuses is retried by the index
// and reported to the waiting batch, but only the log tells the operator
// that merges fail, or that the index writes nothing since a panic. f must
// not block.
func (ix *Index) OnBackgroundError(f func(error)) { ix.persist.report.Store(&f) }

// persistWatch tells the commits of one index about failed writes.
type persistWatch struct {
	path   string
	mu     sync.Mutex
	failed chan struct{}               // closed at the next failure, then replaced
	err    error                       // the latest failure
	broken error                       // set for good: the index writes nothing more
	report atomic.Pointer[func(error)] // see OnBackgroundError
}

// scorchDir is where Bleve keeps the Scorch index of an index directory,
// spelt as Bleve spells it (indexStorePath, not cleaned), since it is the
// key the callback is looked up by.
func scorchDir(dir string) string { return dir + string(os.PathSeparator) + "store" }

// watch registers the watch of the index about to be opened in dir.
func watch(dir string) *persistWatch {
	w := &persistWatch{path: scorchDir(dir), failed: make(chan struct{})}
	watches.Store(w.path, w)
	return w
}

func (w *persistWatch) stop() { watches.CompareAndDelete(w.path, w) }

func (w *persistWatch) fail(err error, broken bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.err = err
	if broken && w.broken == nil {
		w.broken = err
	}
	close(w.failed)
	w.failed = make(chan struct{})
}

// next is closed at the next failure; err says whether the index is
// broken already.
func (w *persistWatch) next() (<-chan struct{}, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failed, w.broken
}

func (w *persistWatch) last() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// errNotSaved wraps a failure to write the index to disk.
type errNotSaved struct{ err error }

func (e *errNotSaved) Error() string {
	return "the index could not be saved to disk: " + e.err.Error()
}
func (e *errNotSaved) Unwrap() error { return e.err }

var errClosed = errors.New("search: the index is closed")

// commit applies b and waits until it is on disk. On an error the batch
// may be live (searchable) but not saved; applying it again is harmless.
// While a batch that failed to be written is live, commit waits for the
// persister to write it before applying another: the index writer retries
// its jobs every second, and each retry would otherwise leave one more
// in-memory segment in the live index for as long as the disk stays full.
func (ix *Index) commit(b *bleve.Batch) error {
	failed, broken := ix.persist.next()
	if broken != nil {
		return &errNotSaved{broken}
	}
	if prev := ix.unsaved.Load(); prev != nil {
		select {
		case <-*prev:
			ix.unsaved.CompareAndSwap(prev, nil)
		case <-failed:
			return &errNotSaved{ix.persist.last()}
		case <-ix.closed:
			return errClosed
		}
		if failed, broken = ix.persist.next(); broken != nil {
			return &errNotSaved{broken}
		}
	}
	saved := make(chan struct{})
	var once sync.Once
	b.SetPersistedCallback(func(error) { once.Do(func() { close(saved) }) })
	if err := ix.bi.Batch(b); err != nil {
		return err
	}
	select {
	case <-saved:
		return nil
	case <-ix.closed:
	case <-failed:
	}
	switch {
	case isClosed(saved):
		return nil
	case isClosed(ix.closed):
		return errClosed
	}
	// A failed write of an earlier snapshot may come first; it held this
	// batch too if it was introduced by then, and either way the caller
	// retries.
	ix.unsaved.Store(&saved)
	return &errNotSaved{ix.persist.last()}
}

// isClosed reports whether ch is closed, without waiting.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// SaveError is the reason the index holds changes it could not write to
// disk (they are searchable, and written once the disk takes them), or nil
// when everything it was given is on disk.
func (ix *Index) SaveError() error {
	_, broken := ix.persist.next()
	if broken != nil {
		return &errNotSaved{broken}
	}
	prev := ix.unsaved.Load()
	if prev == nil {
		return nil
	}
	if isClosed(*prev) {
		ix.unsaved.CompareAndSwap(prev, nil)
		return nil
	}
	return &errNotSaved{ix.persist.last()}
}

// config is the Scorch configuration every index is opened with.
func config(docs uint64) map[string]interface{} {
	c := mergeConfig(docs)
	c["unsafe_batch"] = true // commit waits for the write itself
	c["asyncErrorCallbackName"] = asyncErrors
	return c
}

// closeIndex closes the Bleve index and wakes the commits and searches
// still waiting. Closing twice does nothing the second time (Bleve's own
// Close panics then).
func (ix *Index) closeIndex() error {
	var err error
	ix.closeOnce.Do(func() {
		err = ix.bi.Close()
		close(ix.closed)
		ix.persist.stop()
	})
	return err
}
