package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"syscall"
	"time"

	"vanthu/archive"
	"vanthu/archive/records"
	"vanthu/archive/sqlite"
	"vanthu/search"
	"vanthu/search/searchbench"
)

// dataset is a data directory with a generated catalog of n documents
// (rows and texts, as the extraction workers leave them), and optionally
// an index built straight from them.
type dataset struct {
	n       int
	data    string // the vanthu --data directory
	token   string
	genTime time.Duration // catalog rows
	build   time.Duration // direct index build (0: none built)
}

// genDoc is document i as the index sees it after a reindex: what
// records.Service.SearchDoc builds from the generated catalog row.
func genDoc(g *searchbench.Generator, i int) (search.Doc, *archive.Document, *archive.Version) {
	sd := g.Doc(i)
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
	sum := sha256.Sum256([]byte(sd.Body))
	sha := hex.EncodeToString(sum[:])
	d := &archive.Document{
		ID: sd.ID, Number: sd.Number, Type: sd.Type, TypeName: records.TypeName(sd.Type), Issuer: sd.Issuer, Level: sd.Level,
		IssuedAt: sd.IssuedAt.Format("2006-01-02"), Subject: sd.Subject, Classification: sd.Classification,
		Urgency: "none", Direction: "incoming", Tags: []string{}, Filename: sd.ID + ".txt", ContentType: "text/plain; charset=utf-8",
		Size: int64(len(sd.Body)), SHA256: sha, TextStatus: archive.TextOK, TextEngine: "text", Extracted: []string{},
		CreatedAt: created, CreatedBy: "bench", UpdatedAt: created, Version: 1,
	}
	v := &archive.Version{DocumentID: d.ID, N: 1, SHA256: sha, Size: d.Size, ContentType: d.ContentType, Filename: d.Filename,
		Key: archive.OriginalKey(sha), CreatedAt: created, CreatedBy: "bench"}
	sd.TypeName, sd.Direction, sd.Status, sd.RegisteredAt, sd.Tasks = d.TypeName, d.Direction, d.TextStatus, created, nil
	return sd, d, v
}

// generate writes a fresh data directory under root with a clerk and n
// catalogued documents with their texts.
func (b *bench) generate(ctx context.Context, root string, n int) (*dataset, error) {
	if err := os.RemoveAll(root); err != nil {
		return nil, err
	}
	ds := &dataset{n: n, data: filepath.Join(root, "data")}
	if err := os.MkdirAll(ds.data, 0o750); err != nil {
		return nil, err
	}
	tok, err := b.clerkToken(ctx, ds.data)
	if err != nil {
		return nil, err
	}
	ds.token = tok
	g, err := searchbench.NewGenerator(filepath.Join(b.o.corpus, "text"), 1)
	if err != nil {
		return nil, err
	}
	cat, err := sqlite.Open(filepath.Join(ds.data, "catalog.db"))
	if err != nil {
		return nil, err
	}
	defer cat.Close()
	logf("generating a catalog of %d documents in %s", n, ds.data)
	start := time.Now()
	for from := 0; from < n; from += 1000 {
		err := cat.Update(ctx, func(tx *sqlite.Tx) error {
			for i := from; i < min(from+1000, n); i++ {
				sd, d, v := genDoc(g, i)
				if err := tx.InsertDocument(ctx, d, v, nil); err != nil {
					return err
				}
				if err := tx.SetText(ctx, d.ID, sd.Body, []string{sd.Body}, nil); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("generating document %d: %w", from, err)
		}
		if from%100000 == 0 && from > 0 {
			logf("  %d rows", from)
		}
	}
	ds.genTime = time.Since(start)
	logf("catalog of %d documents written in %v", n, ds.genTime.Round(time.Millisecond))
	return ds, nil
}

// buildIndex indexes the dataset's documents straight into dir with the
// production mapping, in batches of 500 (the index worker's batch size).
func (b *bench) buildIndex(ctx context.Context, dir string, n int) (time.Duration, error) {
	g, err := searchbench.NewGenerator(filepath.Join(b.o.corpus, "text"), 1)
	if err != nil {
		return 0, err
	}
	os.RemoveAll(dir)
	ix, err := search.OpenFor(dir, uint64(n)) // as vanthu reindex opens it
	if err != nil {
		return 0, err
	}
	logf("indexing %d documents straight into %s", n, dir)
	// Where indexing time goes (reindex runs the same code in vanthu).
	prof := filepath.Join(b.o.work, fmt.Sprintf("index-%d-cpu.pprof", n))
	if pf, err := os.Create(prof); err == nil {
		if pprof.StartCPUProfile(pf) == nil {
			defer func() {
				pprof.StopCPUProfile()
				pf.Close()
				b.profiles = append(b.profiles, prof)
			}()
		}
	}
	start, cpu0 := time.Now(), rusage(syscall.RUSAGE_SELF)
	batch := make([]search.Doc, 0, 500)
	for i := 0; i < n; i++ {
		sd, _, _ := genDoc(g, i)
		batch = append(batch, sd)
		if len(batch) == cap(batch) || i == n-1 {
			if err := ix.Index(batch); err != nil {
				ix.Close()
				return 0, err
			}
			batch = batch[:0]
		}
		if (i+1)%50000 == 0 {
			logf("  indexed %d (%.0f/s)", i+1, float64(i+1)/time.Since(start).Seconds())
		}
		if ctx.Err() != nil {
			ix.Close()
			return 0, ctx.Err()
		}
	}
	err = ix.Close() // waits for the persister: part of the build
	took := time.Since(start)
	b.lastBuildCPU = rusage(syscall.RUSAGE_SELF) - cpu0
	logf("indexed %d documents in %v (%.0f/s)", n, took.Round(time.Millisecond), float64(n)/took.Seconds())
	return took, err
}
