package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"vanthu/archive"
	"vanthu/archive/fsstore"
	"vanthu/archive/records"
	"vanthu/archive/s3"
	"vanthu/archive/sqlite"
	"vanthu/ingest"
	"vanthu/search"
)

// app is the object graph shared by the commands.
type app struct {
	cfg     config
	log     *slog.Logger
	store   archive.BlobStore
	ping    func(context.Context) error
	catalog *sqlite.Catalog
	index   *search.Index
	svc     *records.Service
	workers *records.Workers
	ready   atomic.Bool // false while the index is rebuilt
	closers []func() error
}

// openApp opens storage and the catalog; withIndex also opens the search
// index (rebuilding it in the background when it is missing or corrupt).
func openApp(ctx context.Context, cfg config, log *slog.Logger, withIndex bool) (*app, error) {
	a := &app{cfg: cfg, log: log}
	if err := os.MkdirAll(cfg.Data, 0o750); err != nil {
		return nil, fmt.Errorf("data directory %s: %w", cfg.Data, err)
	}
	if err := a.openStore(ctx); err != nil {
		return nil, err
	}
	cat, err := sqlite.Open(filepath.Join(cfg.Data, "catalog.db"))
	if err != nil {
		a.close()
		return nil, err
	}
	a.catalog = cat
	a.closers = append(a.closers, cat.Close)
	if err := os.MkdirAll(cfg.tempDir(), 0o750); err != nil {
		a.close()
		return nil, err
	}
	a.svc = &records.Service{Blobs: a.store, Catalog: cat, Log: log, MaxUpload: cfg.MaxUpload,
		MaxClassification: cfg.MaxClassification, ExtractWait: 5 * time.Second}
	a.svc.SpoolDir = cfg.uploadSpool() // S3 mode: DATA/tmp, see uploadSpool
	keyPath := env("VANTHU_AUDIT_KEY", filepath.Join(cfg.Data, "keys", "audit-ed25519.pem"))
	if a.svc.AuditKey, err = records.LoadOrCreateAuditKey(keyPath); err != nil {
		a.close()
		return nil, fmt.Errorf("audit signing key: %w", err)
	}
	a.ready.Store(true)
	if withIndex {
		if err := a.openIndex(ctx, true); err != nil {
			a.close()
			return nil, err
		}
		if a.workers, err = a.extractionWorkers(); err != nil {
			a.close()
			return nil, err
		}
		a.workers.Index = a.index
	}
	return a, nil
}

// extractionWorkers drain the queue; extraction runs in a child process of
// this same binary (vanthu __extract).
func (a *app) extractionWorkers() (*records.Workers, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return &records.Workers{S: a.svc, TempDir: a.cfg.tempDir(), FastTimeout: a.cfg.ExtractTimeout,
		Extractor: &ingest.Extractor{Exe: exe, Tools: ingest.LookupTools(), TrustAnchors: a.cfg.TrustAnchors, TempDir: a.cfg.tempDir()}}, nil
}

func (a *app) openStore(ctx context.Context) error {
	c := a.cfg.S3
	if c.Endpoint == "" {
		st, err := fsstore.New(filepath.Join(a.cfg.Data, "objects"))
		if err != nil {
			return err
		}
		a.store, a.ping = st, st.Ping
		a.closers = append(a.closers, st.Close)
		return nil
	}
	// The S3 server may start after us (compose): keep trying for a while.
	var st *s3.Store
	var err error
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err = s3.New(ctx, s3.Config{Endpoint: c.Endpoint, Bucket: c.Bucket, AccessKey: c.AccessKey, SecretKey: c.SecretKey, UseSSL: c.SSL, ObjectLock: c.ObjectLock})
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil || !errors.Is(err, archive.ErrUnavailable) {
			break
		}
		a.log.Warn("S3 server not reachable yet; retrying", "endpoint", c.Endpoint, "err", err)
		time.Sleep(2 * time.Second)
	}
	if err != nil {
		return fmt.Errorf("S3 storage at %s, bucket %s: %w", c.Endpoint, c.Bucket, err)
	}
	a.store, a.ping = st, st.Ping
	a.closers = append(a.closers, st.Close)
	a.log.Info("storage: S3", "endpoint", c.Endpoint, "bucket", c.Bucket, "versioning", st.Versioned(), "object_lock", st.ObjectLockEnabled())
	return nil
}

func (a *app) indexDir() string { return filepath.Join(a.cfg.Data, "index") }

// openIndex opens the index, or starts over when it is corrupt or missing
// while the catalog has documents; the rebuild runs in the background while
// search answers 503.
func (a *app) openIndex(ctx context.Context, rebuild bool) error {
	dir := a.indexDir()
	_, statErr := os.Stat(dir)
	missing := errors.Is(statErr, os.ErrNotExist)
	// The catalog's size tells the index which merge policy it needs, also
	// when it is about to be rebuilt from the catalog.
	n, err := a.catalog.CountDocuments(ctx)
	if err != nil {
		return err
	}
	ix, err := search.OpenFor(dir, uint64(n))
	if errors.Is(err, search.ErrCorrupt) {
		a.log.Warn("search index is unreadable; rebuilding it from the catalog", "dir", dir, "err", err)
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
		ix, err = search.OpenFor(dir, uint64(n))
		missing = true
	}
	if err != nil {
		return err
	}
	ix.OnBackgroundError(func(err error) { a.log.Warn("search index: background work failed", "err", err) })
	a.index = ix
	a.closers = append(a.closers, ix.Close)
	if rebuild && missing && n > 0 {
		a.ready.Store(false)
		go func() {
			start := time.Now()
			if err := a.reindexAll(ctx, reindexBatch, nil); err != nil {
				a.log.Error("index rebuild failed", "err", err)
				return
			}
			a.ready.Store(true)
			a.log.Info("search index rebuilt", "documents", n, "took", time.Since(start).Round(time.Millisecond))
		}()
	}
	return nil
}

// reindexAll indexes every catalogued document straight from the catalog,
// in batches, without re-extracting. Reading is a single thread of SQLite
// and JSON, and most of a Bleve batch is single-threaded too (building its
// segment), so one goroutine reads while reindexIndexers index batches
// side by side: on 2 cores one batch's segment is built while the next is
// analysed. Batches may land in any order; each document is in exactly one.
func (a *app) reindexAll(ctx context.Context, batchSize int, progress func(done int)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type batch struct {
		docs []search.Doc
		rows int
	}
	batches := make(chan batch) // unbuffered: one batch read ahead of the indexers
	read := make(chan error, 1)
	go func() {
		defer close(batches)
		read <- a.svc.SearchDocs(ctx, batchSize, func(docs []search.Doc, rows int) error {
			select {
			case batches <- batch{docs, rows}:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	// Progress in steps of 1,000 documents and at the end, whatever the
	// batch size, as when ids were read 1,000 at a time.
	var (
		mu          sync.Mutex
		done, shown int
		firstErr    error
	)
	var wg sync.WaitGroup
	for range reindexIndexers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				if len(b.docs) > 0 {
					if err := a.index.Index(b.docs); err != nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = err
						}
						mu.Unlock()
						cancel()
						continue // drain: the reader stops at the cancel
					}
				}
				mu.Lock()
				done += b.rows
				for progress != nil && shown+1000 <= done {
					shown += 1000
					progress(shown)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	readErr := <-read
	if firstErr != nil {
		return firstErr
	}
	if readErr != nil {
		return readErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if progress != nil && shown < done {
		progress(done)
	}
	return nil
}

// reindexIndexers is how many batches a reindex gives Bleve at once: two
// keep both cores of this 2-core machine busy (vanthu-bench reindex,
// 100,000 documents: 830 -> 1,016 docs/s), at the price of two analysed
// batches in memory (peak RSS 748 MiB -> 1.4 GiB).
const reindexIndexers = 2

// reindexBatch is how many documents a reindex reads and gives Bleve at a
// time. Larger Bleve batches make fewer segments to merge, but Bleve holds
// a whole batch analysed (≈ 0.26 MB a document), and at 100,000 documents
// batches of 1,000 cost no less CPU than 500 and raised the peak RSS from
// ~710 to ~1,100 MiB on this 2-core machine (vanthu-bench reindex).
const reindexBatch = 500

// sweep removes what a crash can leave behind: staged uploads that were
// never promoted, and originals no catalog row points to. It runs before the
// server accepts requests, so no upload is in flight.
func (a *app) sweep(ctx context.Context) (staged, orphans int, err error) {
	// Temporary files of work a crash interrupted: originals copied out for
	// the extraction child, the scratch directories of children that
	// outlived a killed server (OCR page images), and half-written objects
	// of the disk store. Files touched in the last minutes may belong to an
	// import running beside us, so they stay for the next start.
	const tempAge = 10 * time.Minute
	if entries, err := os.ReadDir(a.cfg.tempDir()); err == nil {
		for _, e := range entries {
			info, err := e.Info()
			if err != nil || time.Since(info.ModTime()) <= tempAge {
				continue
			}
			switch p := filepath.Join(a.cfg.tempDir(), e.Name()); {
			case info.Mode().IsRegular():
				os.Remove(p)
			case info.IsDir() && strings.HasPrefix(e.Name(), ingest.ScratchPrefix):
				os.RemoveAll(p)
			}
		}
	}
	if fs, ok := a.store.(*fsstore.Store); ok {
		if _, err := fs.SweepTemp(tempAge); err != nil {
			a.log.Warn("could not sweep the object store's temporary files", "err", err)
		}
	}
	var stale []string
	err = a.store.List(ctx, archive.UploadsPrefix, func(b archive.BlobInfo) error {
		stale = append(stale, b.Key)
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	for _, k := range stale {
		if err := a.store.Delete(ctx, k); err == nil {
			staged++
		}
	}
	var orphanKeys []string
	err = a.store.List(ctx, archive.OriginalsPrefix, func(b archive.BlobInfo) error {
		ok, err := a.catalog.KeyReferenced(ctx, b.Key)
		if err != nil {
			return err
		}
		if !ok {
			orphanKeys = append(orphanKeys, b.Key)
		}
		return nil
	})
	if err != nil {
		return staged, 0, err
	}
	// A crash leaves at most one orphan per upload in flight. Many more
	// means the catalog was lost or replaced, not that uploads crashed:
	// then nothing is deleted and the operator is told to rebuild.
	docs, err := a.catalog.CountDocuments(ctx)
	if err != nil {
		return staged, 0, err
	}
	if len(orphanKeys) > 64 || (len(orphanKeys) > 0 && docs == 0) {
		a.log.Error("many originals have no catalog record; none were deleted. If the catalog was lost, stop the service and run `vanthu rebuild`",
			"unreferenced", len(orphanKeys), "catalogued_documents", docs)
		return staged, 0, nil
	}
	for _, k := range orphanKeys {
		if err := a.store.Delete(ctx, k); err == nil {
			orphans++
			e := &archive.Event{Actor: "system", Role: "system", Action: "storage.orphan_removed", Details: map[string]any{"key": k}}
			if err := a.catalog.Record(ctx, e); err != nil {
				return staged, orphans, err
			}
		}
	}
	if ab, ok := a.store.(interface {
		AbortIncompleteUploads(context.Context, string) error
	}); ok {
		if err := ab.AbortIncompleteUploads(ctx, ""); err != nil {
			a.log.Warn("could not abort interrupted multipart uploads", "err", err)
		}
	}
	return staged, orphans, nil
}

func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		if err := a.closers[i](); err != nil && !strings.Contains(err.Error(), "closed") {
			a.log.Warn("close", "err", err)
		}
	}
	a.closers = nil
}
