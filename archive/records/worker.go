package records

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"vanthu/archive"
	"vanthu/archive/sqlite"
	"vanthu/ingest"
	"vanthu/search"
)

// Workers drain the durable queue: extraction (isolated, a few at a time),
// indexing (one writer, in batches) and manifest writes. A crash loses no
// work: jobs are deleted only after their effect is committed.
type Workers struct {
	S         *Service
	Extractor *ingest.Extractor
	Index     *search.Index
	// Extractors is how many extractions run at once (default 2).
	Extractors int
	// TempDir holds originals copied out of the blob store for the
	// extraction child.
	TempDir string
	// BatchSize bounds one index batch (default 500).
	BatchSize int
	// BatchText bounds the bytes of text one index batch carries (default
	// maxBatchText); a larger document is indexed alone.
	BatchText int
	// FastTimeout bounds reading a text layer (no OCR): seconds for any real
	// file, so a hostile one is marked failed quickly. The OCR lane keeps
	// the Extractor's own, longer limit. 0 means the Extractor's.
	FastTimeout time.Duration
}

// Run drains the queue until ctx ends.
func (w *Workers) Run(ctx context.Context) {
	s := w.S
	s.init()
	if w.Extractors <= 0 {
		w.Extractors = 2
	}
	if w.BatchSize <= 0 {
		w.BatchSize = 500
	}
	extract := make(chan sqlite.Job)
	// Jobs handed to a worker and not finished yet, so that a wake-up does
	// not hand them out twice.
	var mu sync.Mutex
	inflight := map[int64]bool{}
	indexWake := make(chan struct{}, 1)
	kickIndex := func() {
		select {
		case indexWake <- struct{}{}:
		default:
		}
	}
	// Two lanes: text layers are read quickly with OCR off; files that need
	// OCR (minutes for a long scan) go to a lane of their own, so a batch of
	// scans never holds up the clerk waiting for a born-digital PDF.
	fast := *w.Extractor
	fast.OCRMaxPages = -1
	if w.FastTimeout > 0 {
		fast.Timeout = w.FastTimeout
	}
	var wg sync.WaitGroup
	for i := 0; i < w.Extractors; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range extract {
				w.extractJob(ctx, j, &fast)
				mu.Lock()
				delete(inflight, j.ID)
				mu.Unlock()
				kickIndex()
			}
		}()
	}
	if w.Extractor.Tesseract != "" && w.Extractor.OCRMaxPages >= 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.ocrLoop(ctx, kickIndex)
		}()
	}
	wg.Add(1)
	go func() { defer wg.Done(); w.manifestLoop(ctx) }()
	if w.Index != nil { // without an index (vanthu import) index jobs wait for the server
		wg.Add(1)
		go func() { defer wg.Done(); w.indexLoop(ctx, indexWake) }()
	}

	// The dispatcher hands each pending extraction to one worker.
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		jobs, err := s.Catalog.PendingJobs(ctx, sqlite.JobExtract, 64)
		if err != nil && ctx.Err() == nil {
			s.Log.Warn("queue: listing extraction jobs failed", "err", err)
		}
	dispatch:
		for _, j := range jobs {
			mu.Lock()
			busy := inflight[j.ID]
			if !busy {
				inflight[j.ID] = true
			}
			mu.Unlock()
			if busy {
				continue
			}
			select {
			case extract <- j:
			case <-ctx.Done():
				break dispatch
			}
		}
		kickIndex()
		select {
		case <-ctx.Done():
			close(extract)
			wg.Wait()
			return
		case <-s.wake:
		case <-tick.C:
		}
	}
}

// ocrLoop drains OCR jobs one at a time (OCR uses every core it gets).
func (w *Workers) ocrLoop(ctx context.Context, kickIndex func()) {
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		jobs, _ := w.S.Catalog.PendingJobs(ctx, sqlite.JobOCR, 1)
		for _, j := range jobs {
			w.extractJob(ctx, j, w.Extractor)
			kickIndex()
		}
		if len(jobs) > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// needsOCR: the fast lane found no text, or blanked pages whose text layer
// was unusable (scans, mojibake from legacy fonts).
func needsOCR(res ingest.Result, mime string) bool {
	if res.Status == ingest.StatusFailed || !(mime == ingest.MimePDF || strings.HasPrefix(mime, "image/")) {
		return false
	}
	if res.Status == ingest.StatusEmpty {
		return true
	}
	for _, p := range res.Pages {
		if strings.TrimSpace(p) == "" {
			return true
		}
	}
	return false
}

// parseExtracted reads metadata and citations from an extracted text; a
// variable so that a test can make it fail the way a bug would.
var parseExtracted = parseText

// extractJob extracts text and metadata for one document (the OCR lane
// runs it too).
func (w *Workers) extractJob(ctx context.Context, j sqlite.Job, ex *ingest.Extractor) {
	s := w.S
	defer s.notify(j.DocumentID)
	// The text is parsed in this process, and it is anyone's text: a bug
	// that one document reaches must cost that document its extraction
	// (retried with the queue's growing delay), not stop the server, which
	// would meet the same job again at every start.
	defer func() {
		if v := recover(); v != nil {
			s.Log.Error("queue: extraction panicked; the document stays queued", "document", j.DocumentID,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			w.retry(ctx, j, fmt.Errorf("extraction panicked: %v", v))
		}
	}()
	ocrLane := w.Extractor.Tesseract != "" && w.Extractor.OCRMaxPages >= 0
	d, err := s.Catalog.Document(ctx, j.DocumentID)
	if errors.Is(err, archive.ErrNotFound) {
		_ = s.Catalog.DoneJobs(ctx, j.ID)
		return
	}
	if err != nil {
		w.retry(ctx, j, err)
		return
	}
	path, cleanup, err := w.localCopy(ctx, d)
	if err != nil {
		w.retry(ctx, j, err)
		return
	}
	defer cleanup() // after a panic; removing twice is harmless
	res, err := ex.Extract(ctx, path, d.ContentType)
	cleanup()
	if err != nil {
		if ctx.Err() != nil {
			return // shutting down: the job stays queued
		}
		w.retry(ctx, j, err)
		return
	}
	parsed := parseExtracted(res)
	err = s.Catalog.Update(ctx, func(tx *sqlite.Tx) error {
		d, err := tx.Document(ctx, j.DocumentID)
		if err != nil {
			return err
		}
		uf, err := tx.UserFields(ctx, d.ID)
		if err != nil {
			return err
		}
		applyExtraction(d, res, parsed, uf)
		ocr := j.Kind == sqlite.JobExtract && ocrLane && needsOCR(res, d.ContentType)
		if ocr && res.Status == ingest.StatusEmpty {
			d.TextStatus, d.TextReason = archive.TextPending, "no text layer: queued for OCR"
		}
		if err := tx.UpdateDocument(ctx, d, uf); err != nil {
			return err
		}
		if err := tx.SetText(ctx, d.ID, res.Text, res.Pages, parsed.json); err != nil {
			return err
		}
		if parsed.meta != nil {
			if err := tx.ReplaceCitations(ctx, d.ID, parsed.cites); err != nil {
				return err
			}
		}
		if n, valid, modified, signers := SignatureSummary(d.Signatures); n > 0 {
			// Each verification of a signed original is on the record.
			e := &archive.Event{Actor: "system", Role: "system", Action: archive.ActionSignatures, DocumentID: d.ID,
				Details: map[string]any{"signatures": n, "integrity_valid": valid, "modified_after_signing": modified, "signers": signers}}
			if err := tx.AppendEvent(ctx, e); err != nil {
				return err
			}
		}
		if err := tx.DoneJobs(ctx, j.ID); err != nil {
			return err
		}
		if ocr {
			if err := tx.Enqueue(ctx, sqlite.JobOCR, d.ID); err != nil {
				return err
			}
		}
		if err := tx.EnqueueAll(ctx, d.ID, sqlite.JobIndex, sqlite.JobManifest); err != nil {
			return err
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		w.retry(ctx, j, err)
	}
}

func (w *Workers) retry(ctx context.Context, j sqlite.Job, err error) {
	w.S.Log.Warn("queue: job failed, will retry", "kind", j.Kind, "document", j.DocumentID, "attempt", j.Attempts+1, "err", err)
	_ = w.S.Catalog.RetryJob(context.WithoutCancel(ctx), j.ID, j.Attempts, err)
}

// localCopy puts the original where the extraction child can read it. The
// filesystem store's files could be read in place, but a copy keeps the
// child away from the archive's own files. A new upload's spool file, kept
// by the handoff, spares the read from the store.
func (w *Workers) localCopy(ctx context.Context, d *archive.Document) (string, func(), error) {
	src, done, ok := w.S.handoff.take(d.SHA256)
	if !ok {
		rc, _, err := w.S.Blobs.Get(ctx, archive.OriginalKey(d.SHA256))
		if err != nil {
			return "", nil, err
		}
		src, done = rc, func() { rc.Close() }
	}
	defer done()
	f, err := os.CreateTemp(w.TempDir, "extract-*")
	if err != nil {
		return "", nil, err
	}
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", nil, err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", nil, err
	}
	return f.Name(), func() { os.Remove(f.Name()) }, nil
}

// indexLoop is the one index writer: it drains index jobs in batches.
func (w *Workers) indexLoop(ctx context.Context, wake <-chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		for ctx.Err() == nil {
			more, err := w.IndexBatch(ctx)
			if err != nil {
				w.S.Log.Warn("queue: indexing failed, will retry", "err", err)
				break
			}
			if !more {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
			// Every extraction wakes the writer; indexing each document on
			// its own made batches of one, each a new segment for Bleve's
			// merger to rewrite (half the server's CPU during bulk ingest,
			// BENCHMARKS.md). So the writer gathers: it waits until a
			// good batch is queued or indexGather has passed, whichever
			// comes first: searchable a little later, far cheaper.
			w.gather(ctx)
		case <-tick.C:
		}
	}
}

// indexGather is how long the index writer waits for more documents before
// writing a partial batch, and gatherEnough how many queued documents end
// the wait early. With 0.5 s, bulk ingest (~20 documents a second on two
// cores) still made batches of about ten, and merging those segments was
// 30% of the server's CPU; 2 s makes them four times larger, and a clerk's
// upload is still searchable within seconds.
const (
	indexGather  = 2 * time.Second
	gatherEnough = 200
)

// gather waits until gatherEnough index jobs are queued (or a full batch),
// indexGather has passed, no extraction is queued (so no document is about
// to join the batch: a clerk's single upload, or the last of a bulk
// import, is indexed at once), or ctx ends.
func (w *Workers) gather(ctx context.Context) {
	enough := int64(min(gatherEnough, w.BatchSize))
	deadline := time.Now().Add(indexGather)
	for {
		if n, err := w.S.Catalog.CountJobs(ctx, sqlite.JobIndex); err != nil || n >= enough {
			return
		}
		if n, err := w.S.Catalog.CountJobs(ctx, sqlite.JobExtract); err != nil || n == 0 {
			return
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(min(wait, 250*time.Millisecond)):
		}
	}
}

// maxBatchText is the default bound on the text of one index batch. Bleve
// holds the analysis of every document of a batch until its segment is
// written, at about two hundred bytes of memory per byte of text (batches
// of about 150 corpus texts, 4.3 MB, took the server to 1.4 GiB against
// 870 MiB for batches of 50, one measurement each): a backlog of 500 long
// texts taken as one batch would need, at that rate, several GiB, and
// after an out-of-memory restart the same batch again.
const maxBatchText = 2 << 20

// IndexBatch indexes up to BatchSize queued documents, and no more text
// than BatchText unless a single document has more; it reports whether
// more may be queued (the batch was full).
func (w *Workers) IndexBatch(ctx context.Context) (more bool, err error) {
	s := w.S
	size := w.BatchSize
	if size <= 0 {
		size = 500
	}
	budget := w.BatchText
	if budget <= 0 {
		budget = maxBatchText
	}
	jobs, err := s.Catalog.PendingJobs(ctx, sqlite.JobIndex, size)
	if err != nil || len(jobs) == 0 {
		return false, err
	}
	seen := map[string]bool{}
	var docs []search.Doc
	var gone []string
	ids := make([]int64, 0, len(jobs))
	text := 0
	cut := false
	for _, j := range jobs {
		if seen[j.DocumentID] {
			ids = append(ids, j.ID)
			continue
		}
		sd, err := s.SearchDoc(ctx, j.DocumentID)
		if errors.Is(err, archive.ErrNotFound) {
			seen[j.DocumentID] = true
			ids = append(ids, j.ID)
			gone = append(gone, j.DocumentID)
			continue
		}
		if err != nil {
			return false, err
		}
		n := len(sd.Subject) + len(sd.Body)
		if len(docs) > 0 && text+n > budget {
			cut = true // this job and the rest wait for the next batch
			break
		}
		seen[j.DocumentID] = true
		ids = append(ids, j.ID)
		text += n
		docs = append(docs, *sd)
	}
	if len(docs) > 0 {
		if err := w.Index.Index(docs); err != nil {
			return false, err
		}
	}
	if len(gone) > 0 {
		if err := w.Index.Delete(gone); err != nil {
			return false, err
		}
	}
	return cut || len(jobs) == size, s.Catalog.DoneJobs(ctx, ids...)
}

// SearchDoc builds the index entry of a document from the catalog alone:
// reindexing never re-extracts.
func (s *Service) SearchDoc(ctx context.Context, id string) (*search.Doc, error) {
	d, err := s.Catalog.Document(ctx, id)
	if err != nil {
		return nil, err
	}
	if d.DisposedAt != "" {
		// The residual record stays in the catalog, not in search.
		return nil, archive.Errorf(archive.ErrNotFound, "disposed", "disposed")
	}
	text, err := s.Catalog.Text(ctx, id)
	if err != nil {
		return nil, err
	}
	parsed, _ := s.Catalog.Parsed(ctx, id) // unreadable: no citations
	links, err := s.Catalog.DocumentTaskLinks(ctx, id)
	if err != nil {
		return nil, err
	}
	return searchDoc(sqlite.IndexSource{Doc: d, Text: text, Parsed: parsed, Links: links}), nil
}

// SearchDocs calls fn with the index entries of every document in the
// catalog, batch documents read at a time (the last batch may be shorter),
// and how many catalog rows the batch covered: disposed documents have no
// entry but count. The entries are the ones SearchDoc builds, read with two
// queries per batch instead of four per document (vanthu reindex).
func (s *Service) SearchDocs(ctx context.Context, batch int, fn func(docs []search.Doc, rows int) error) error {
	return s.Catalog.IndexSources(ctx, batch, func(srcs []sqlite.IndexSource) error {
		docs := make([]search.Doc, 0, len(srcs))
		for _, src := range srcs {
			if src.Doc.DisposedAt == "" {
				docs = append(docs, *searchDoc(src))
			}
		}
		return fn(docs, len(srcs))
	})
}

func searchDoc(src sqlite.IndexSource) *search.Doc {
	d := src.Doc
	sd := &search.Doc{
		ID: d.ID, Number: d.Number, Type: d.Type, TypeName: d.TypeName, Issuer: d.Issuer, Level: d.Level,
		Classification: d.Classification, Subject: d.Subject, Body: src.Text, Signer: d.Signer, Direction: d.Direction,
		Tags: d.Tags, Status: d.TextStatus,
	}
	if _, valid, _, _ := SignatureSummary(d.Signatures); valid > 0 {
		sd.Signed = true
	}
	if t, err := time.Parse("2006-01-02", d.IssuedAt); err == nil {
		sd.IssuedAt = t
	}
	if t, err := time.Parse("2006-01-02", d.RegisteredAt); err == nil {
		sd.RegisteredAt = t
	} else {
		sd.RegisteredAt = d.CreatedAt
	}
	sd.Cites = citedNumbers(src.Parsed)
	for _, l := range src.Links {
		if t := strconv.FormatInt(l.TaskID, 10); !slices.Contains(sd.Tasks, t) {
			sd.Tasks = append(sd.Tasks, t)
		}
	}
	return sd
}

// manifestLoop rewrites manifests whose write was queued.
func (w *Workers) manifestLoop(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		for ctx.Err() == nil && w.manifestBatch(ctx) == 100 {
		}
		select {
		case <-ctx.Done():
			// On a clean stop, write what is queued, so that storage alone
			// can rebuild the catalog as it is now; a crash leaves the jobs
			// for the next start.
			flush, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
			for flush.Err() == nil && w.manifestBatch(flush) > 0 {
			}
			cancel()
			return
		case <-tick.C:
		}
	}
}

// manifestBatch writes up to 100 queued manifests; it returns how many jobs
// it looked at.
func (w *Workers) manifestBatch(ctx context.Context) int {
	s := w.S
	{
		jobs, _ := s.Catalog.PendingJobs(ctx, sqlite.JobManifest, 100)
		var done []int64
		written := map[string]bool{}
		for _, j := range jobs {
			if !written[j.DocumentID] {
				err := s.writeManifest(ctx, j.DocumentID)
				if errors.Is(err, archive.ErrNotFound) {
					err = nil
				}
				if err != nil {
					w.retry(ctx, j, err)
					continue
				}
				written[j.DocumentID] = true
			}
			done = append(done, j.ID)
		}
		_ = s.Catalog.DoneJobs(ctx, done...)
		return len(jobs)
	}
}
