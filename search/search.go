// Package search owns vanthu's full-text index: the Bleve mapping and its
// Vietnamese analysis (NFC and tone placement, accented, folded and
// two-syllable shingle fields), the user query language and its parser,
// ranking, filters, facets, cursors, highlighted fragments, precedents
// (Similar), and the access-control filter that every query carries.
//
// The index is derived data: the catalog can always rebuild it. That is why
// Open reports an unreadable or outdated index as ErrCorrupt instead of
// trying to repair it.
package search

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/mapping"
	index "github.com/blevesearch/bleve_index_api"

	"vanthu/archive"
	"vanthu/ingest/vietnamese"
)

// ErrCorrupt means the index directory exists but cannot be used (damaged
// files, or built by another mapping version). The caller deletes the
// directory and rebuilds the index from the catalog.
var ErrCorrupt = errors.New("search index corrupt")

// Doc is what the index needs to know about one document.
type Doc struct {
	ID, Number, Type, TypeName, Issuer, Level string
	Classification                            archive.Classification
	IssuedAt, RegisteredAt                    time.Time // zero if unknown
	Subject, Body, Signer, Direction          string
	Tags, Tasks, Cites                        []string
	Signed                                    bool
	Status                                    string
}

// Index is a Bleve index of documents. It is safe for concurrent use.
type Index struct {
	bi    bleve.Index
	stats *fieldStats
	// statsSave orders the saves of stats (see saveStats)
	statsSave sync.Mutex
	facets    *facetCache
	jobs      chan *job  // searches waiting for a worker (see inTurn)
	workers   int        // how many searches run at once
	dedicated bool       // each worker has a thread of its own (see startWorkers)
	docs      *documents // builds what Index gives Bleve
	// commit's view of the writes to disk (see persist.go)
	persist   *persistWatch
	unsaved   atomic.Pointer[chan struct{}] // closed once the live, unwritten batch is written
	closed    chan struct{}
	closeOnce sync.Once
}

// Searches run on a fixed set of workers, one per core (GOMAXPROCS, or
// SetConcurrency), in arrival order. A search is CPU work from start to
// end: with more searches running than cores, Go's scheduler shares the
// cores unevenly, and at 8 clients on 2 cores a 12 ms search sometimes took
// 220 ms while the median was 14 ms. Queued in order instead, a search
// waits for the ones before it and then runs at full speed.
//
// A worker takes the next search as soon as one ends, on the same thread,
// while the caller is woken to go on with its request (the audit record,
// the response); in vanthu serve the spare processor runs that. Before,
// a semaphore let the caller run the search in its own goroutine: the
// caller then went on with its request on the search's processor, and the
// next search, woken onto that processor, waited for it.
type job struct {
	ctx      context.Context
	f        func()
	done     chan struct{}
	panicked any // what f panicked with, and where
}

// inTurn runs f on a search worker once the searches queued before it have
// started, and returns when f has returned. A search whose caller gave up
// (ctx) is skipped if it has not started; if it has, f is left to notice
// ctx itself. A panic in f is raised again in the caller's goroutine, where
// the server's recovery turns it into that request's error.
func (ix *Index) inTurn(ctx context.Context, f func()) error {
	if isClosed(ix.closed) {
		return errClosed
	}
	j := &job{ctx: ctx, f: f, done: make(chan struct{})}
	select {
	case ix.jobs <- j:
	case <-ctx.Done():
		return ctx.Err()
	case <-ix.closed:
		return errClosed
	}
	select {
	case <-j.done:
	case <-ctx.Done():
		return ctx.Err()
	case <-ix.closed:
		return errClosed
	}
	if j.panicked != nil {
		panic(j.panicked)
	}
	return nil
}

// maxQueued searches wait in the queue's buffer; more callers wait to
// enter it, still in arrival order (blocked channel senders are served
// first in, first out).
const maxQueued = 1024

// searchNice is the scheduling priority (nice) of the search workers'
// threads when the process has a processor to spare (see startWorkers).
const searchNice = 5

// startWorkers starts the search workers. When Go has more processors than
// searches run at once (vanthu serve: tune.Serving), each worker has a
// thread of its own at a lower priority (nice 5) than the process's other
// threads: the short work of requests (reading one, the audit commit,
// writing a response) then takes a core from a search as soon as it is
// ready, instead of waiting its turn behind the searches the kernel shares
// the cores with. At 100,000 documents and 8 clients this lowered the HTTP
// p99 from 41 to 37 ms and vanthu serve's CPU per search by 5% (the same
// locked threads without the lower priority; BENCHMARKS.md, eighth
// session). Without a spare processor (a program calling Search, GOMAXPROCS
// searches at once) the workers are ordinary goroutines: a worker locked to
// its thread keeps its processor, and the callers that queue the next
// searches waited for one (10% fewer searches a second).
func (ix *Index) startWorkers() {
	ix.workers = searchers()
	ix.jobs = make(chan *job, maxQueued)
	ix.dedicated = ix.workers < runtime.GOMAXPROCS(0)
	for range ix.workers {
		go ix.work()
	}
}

func (ix *Index) work() {
	if ix.dedicated {
		// Never unlocked: the thread, with its priority, ends with the
		// worker (Close), and no other goroutine runs on it.
		runtime.LockOSThread()
		_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), searchNice)
	}
	for {
		select {
		case j := <-ix.jobs:
			j.run()
		case <-ix.closed:
			return
		}
	}
}

func (j *job) run() {
	defer close(j.done)
	if j.ctx.Err() != nil {
		return // the caller has gone
	}
	defer func() {
		if p := recover(); p != nil {
			j.panicked = fmt.Sprintf("%v\n[search worker]\n%s", p, debug.Stack())
		}
	}()
	j.f()
}

var concurrency atomic.Int64

// SetConcurrency sets how many searches run at once (see inTurn) in the
// indexes opened afterwards; 0, the default, is GOMAXPROCS at the opening.
// A server that keeps a spare processor for its other work sets it to the
// number of cores.
func SetConcurrency(n int) { concurrency.Store(int64(n)) }

func searchers() int {
	if n := concurrency.Load(); n > 0 {
		return int(n)
	}
	return runtime.GOMAXPROCS(0)
}

func wrap(bi bleve.Index, w *persistWatch) (*Index, error) {
	im, ok := bi.Mapping().(*mapping.IndexMappingImpl)
	if !ok {
		return nil, fmt.Errorf("%w: unexpected mapping type %T", ErrCorrupt, bi.Mapping())
	}
	docs, err := newDocuments(im)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	ix := &Index{bi: bi, facets: newFacetCache(), docs: docs, persist: w, closed: make(chan struct{})}
	if err := ix.loadStats(); err != nil {
		return nil, err
	}
	ix.startWorkers()
	return ix, nil
}

const versionKey = "vanthu_mapping_version"

// Open opens the index in dir, creating it when dir is missing or empty.
// An index that cannot be opened, or was built with another mapping
// version, is reported with an error wrapping ErrCorrupt.
func Open(dir string) (*Index, error) { return OpenFor(dir, 0) }

// OpenFor is Open for an index the caller expects to hold about docs
// documents soon (the catalog's count, when the index is rebuilt from it):
// the merge policy is chosen from that and from the index's own count (see
// mergeConfig).
func OpenFor(dir string, docs uint64) (*Index, error) {
	if empty, err := missingOrEmpty(dir); err != nil {
		return nil, fmt.Errorf("search: open %s: %w", dir, err)
	} else if empty {
		return create(dir, docs)
	}
	w := watch(dir)
	bi, err := bleve.OpenUsing(dir, config(docs))
	if err != nil {
		w.stop()
		return nil, fmt.Errorf("search: open %s: %w: %v", dir, ErrCorrupt, err)
	}
	v, err := bi.GetInternal([]byte(versionKey))
	if err != nil || string(v) != mappingVersion {
		bi.Close()
		w.stop()
		if err != nil {
			return nil, fmt.Errorf("search: open %s: %w: %v", dir, ErrCorrupt, err)
		}
		return nil, fmt.Errorf("search: open %s: %w: mapping version %q, want %q", dir, ErrCorrupt, v, mappingVersion)
	}
	if n, err := bi.DocCount(); err == nil && young(docs) && !young(n) {
		// Larger than the caller said: open again with the policy of its size.
		err := bi.Close()
		w.stop()
		if err != nil {
			return nil, fmt.Errorf("search: open %s: %w", dir, err)
		}
		return OpenFor(dir, n)
	}
	ix, err := wrap(bi, w)
	if err != nil {
		bi.Close()
		w.stop()
		return nil, fmt.Errorf("search: open %s: %w", dir, err)
	}
	return ix, nil
}

// youngIndex is the size below which an index merges on a low floor.
const youngIndex = 20000

func young(docs uint64) bool { return docs < youngIndex }

// mergeConfig is the merge policy an index is opened with. Scorch counts
// every segment under FloorSegmentSize documents (2,000 by default) as
// that size when it decides how many segments an index may keep, so an
// index of fewer than 2,000 documents may keep one and one under 20,000 a
// handful: each batch the index writer adds while clerks upload (tens of
// documents, gathered for 2 s) was merged with most of the index. While
// the archive is young that rewriting was the largest part of ingest
// (BENCHMARKS.md: 2,000 PDF uploads, the server's CPU per PDF 53 -> 34 ms
// on a floor of 500). A grown archive keeps the default, because search
// needs few segments (a 100,000-document index built on the low floor kept
// 21 instead of 9 and searched 18% slower). The policy is chosen at open
// (an archive that grows past youngIndex keeps the low floor until the
// next start) and given at every open, since Bleve stores the one an index
// was created with.
func mergeConfig(docs uint64) map[string]interface{} {
	floor := 2000 // Bleve's default
	if young(docs) {
		floor = 500
	}
	return map[string]interface{}{"scorchMergePlanOptions": map[string]interface{}{"FloorSegmentSize": floor}}
}

func missingOrEmpty(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return len(entries) == 0, nil
}

func create(dir string, docs uint64) (*Index, error) {
	m, err := newMapping()
	if err != nil {
		return nil, fmt.Errorf("search: mapping: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("search: create %s: %w", dir, err)
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		// bleve.New wants to create the directory itself; an empty one is removed first.
		return nil, fmt.Errorf("search: create %s: %w", dir, err)
	}
	w := watch(dir)
	bi, err := bleve.NewUsing(dir, m, bleve.Config.DefaultIndexType, bleve.Config.DefaultKVStore, config(docs))
	if err != nil {
		w.stop()
		return nil, fmt.Errorf("search: create %s: %w", dir, err)
	}
	ix, err := wrap(bi, w)
	if err != nil {
		bi.Close()
		w.stop()
		return nil, fmt.Errorf("search: create %s: %w", dir, err)
	}
	// Written with the mapping Bleve stored, which commit waits for too.
	b := bi.NewBatch()
	b.SetInternal([]byte(versionKey), []byte(mappingVersion))
	if err := ix.commit(b); err != nil {
		ix.closeIndex()
		return nil, fmt.Errorf("search: create %s: %w", dir, err)
	}
	return ix, nil
}

// Close flushes and closes the index.
func (ix *Index) Close() error { return ix.closeIndex() }

// Count is the number of indexed documents.
func (ix *Index) Count() (uint64, error) { return ix.bi.DocCount() }

// Index adds or replaces docs in one batch: one segment, one fsync. The
// documents are built (normalised) on all cores, and analysed by Bleve's
// analysis workers (see text). The field statistics are saved after the
// batch, with the lengths its analysis counted.
func (ix *Index) Index(docs []Doc) error {
	for i := range docs {
		if docs[i].ID == "" {
			return archive.Errorf(archive.ErrInvalid, "invalid_document", "search: document %d has no id", i)
		}
	}
	built := make([]*document.Document, len(docs))
	texts := make([][2]*text, len(docs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(docs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < len(docs); i = int(next.Add(1)) - 1 {
				built[i], texts[i] = ix.docs.build(&docs[i])
			}
		}()
	}
	wg.Wait()
	b := ix.bi.NewBatch()
	for i, doc := range built {
		if err := b.IndexAdvanced(doc); err != nil {
			return fmt.Errorf("search: index %s: %w", docs[i].ID, err)
		}
	}
	if err := ix.commit(b); err != nil {
		return fmt.Errorf("search: index batch of %d: %w", len(docs), err)
	}
	lengths := make([][2]int, len(texts))
	for i, t := range texts {
		lengths[i] = [2]int{t[0].length, t[1].length}
	}
	if err := ix.saveStats(lengths); err != nil {
		return fmt.Errorf("search: field statistics: %w", err)
	}
	return nil
}

// Delete removes documents; unknown ids are ignored.
func (ix *Index) Delete(ids []string) error {
	b := ix.bi.NewBatch()
	for _, id := range ids {
		b.Delete(id)
	}
	if err := ix.commit(b); err != nil {
		return fmt.Errorf("search: delete %d: %w", len(ids), err)
	}
	return nil
}

// facetTerm is a facet value in the combined fFacets column: the facet's
// one-letter code, a colon, the value.
func facetTerm(field, value string) string { return facetCode[field] + ":" + value }

var facetCode = map[string]string{fType: "t", fIssuer: "i", fYear: "y", fLevel: "l"}

// isPlain reports whether a text is written without Vietnamese diacritics
// (old telegrams, e-mails typed without a Vietnamese keyboard, some OCR):
// fewer than one word in ten carries a mark, where ordinary Vietnamese
// has most of them. Only such documents are searched through the folded
// fields when a query is typed with diacritics (see plainQueries).
func isPlain(texts ...string) bool {
	words, marked := 0, 0
	for _, t := range texts {
		inWord, hasMark := false, false
		for _, r := range t {
			if unicode.IsLetter(r) || unicode.Is(unicode.Mn, r) {
				if !inWord {
					inWord, hasMark = true, false
				}
				if r >= utf8.RuneSelf && !hasMark && vietnamese.HasDiacritics(string(r)) {
					hasMark = true
				}
				continue
			}
			if inWord {
				words++
				if hasMark {
					marked++
				}
				inWord = false
			}
		}
		if inWord {
			words++
			if hasMark {
				marked++
			}
		}
	}
	return words > 0 && marked*10 < words
}

// classKey is the indexed classification; "" is none, and an unknown level
// is indexed as itself, which no clearance filter lists, so it stays hidden.
func classKey(c archive.Classification) string {
	if c == "" {
		return string(archive.Unclassified)
	}
	return string(c)
}

// numberKey is the exact key of a số ký hiệu: NFC, all whitespace removed,
// case kept, because QĐ (quyết định) and QyĐ (quy định) differ only by case
// and a letter.
func numberKey(s string) string {
	s = vietnamese.Normalize(s)
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// numberFoldKey is the forgiving key: letters and digits only, folded and
// lower-cased, so a typed "1623 kh ubnd" finds 1623/KH-UBND. It conflates
// HD/HĐ and DA/ĐA, which is why queries use it only when the exact key
// finds nothing.
func numberFoldKey(s string) string {
	s = strings.ToLower(vietnamese.Fold(vietnamese.Normalize(s)))
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, s)
}

// reader is a snapshot of the index for the searchers this package builds
// itself; the caller closes it.
func (ix *Index) reader() (index.IndexReader, error) {
	adv, err := ix.bi.Advanced()
	if err != nil {
		return nil, err
	}
	return adv.Reader()
}

// run is the one way this package searches: with real BM25 statistics
// (see stats.go).
func (ix *Index) run(ctx context.Context, req *bleve.SearchRequest) (*bleve.SearchResult, error) {
	stats, err := ix.bm25Stats()
	if err != nil {
		return nil, err
	}
	req.PreSearchData = stats
	return ix.bi.SearchInContext(ctx, req)
}
