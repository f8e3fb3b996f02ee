package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"vanthu/archive"
	"vanthu/archive/records"
	"vanthu/archive/sqlite"
)

// cmdRebuild recreates the catalog from the object store alone: every
// document and version from its manifest, the yearly register counters, and
// the extraction and index work queued again.
func cmdRebuild(ctx context.Context, args []string, stdout io.Writer) error {
	var cfg config
	if err := parse(newFlags("rebuild", &cfg, false), args, &cfg); err != nil {
		return err
	}
	path := filepath.Join(cfg.Data, "catalog.db")
	if _, err := os.Stat(path); err == nil {
		cat, err := sqlite.Open(path)
		if err != nil {
			return err
		}
		n, _ := cat.CountDocuments(ctx)
		cat.Close()
		if n > 0 {
			return exitError{1, fmt.Sprintf("vanthu: the catalog %s already holds %d documents; move it away first if you mean to rebuild it from storage", path, n)}
		}
	}
	a, err := openApp(ctx, cfg, quietLog(), false)
	if err != nil {
		return err
	}
	defer a.close()
	// The audit trail first, so that its restored sequence continues the
	// signed chain before anything new is recorded.
	var pub ed25519.PublicKey
	if a.svc.AuditKey != nil {
		pub = a.svc.AuditKey.Public().(ed25519.PublicKey)
	}
	events, err := a.svc.RestoreAudit(ctx, pub)
	if err != nil {
		return fmt.Errorf("restoring the audit trail: %w", err)
	}
	var keys []string
	err = a.store.List(ctx, archive.ManifestsPrefix, func(b archive.BlobInfo) error {
		if strings.HasSuffix(b.Key, ".json") {
			keys = append(keys, b.Key)
		}
		return nil
	})
	if err != nil {
		return err
	}
	restored, skipped := 0, 0
	var tasks []*sqlite.Task
	var links []sqlite.TaskLink
	for _, k := range keys {
		m, err := readManifest(ctx, a.store, k)
		if err != nil || m.Document == nil || len(m.Versions) == 0 {
			fmt.Fprintf(stdout, "skipped %s: unreadable manifest (%v)\n", k, err)
			skipped++
			continue
		}
		d := m.Document
		d.TextStatus = archive.TextPending // text is re-extracted from the original
		tasks, links = append(tasks, m.Tasks...), append(links, m.TaskLinks...)
		err = a.catalog.Update(ctx, func(tx *sqlite.Tx) error {
			first := m.Versions[0]
			if err := tx.InsertDocument(ctx, d, &first, m.UserFields); err != nil {
				return err
			}
			for _, v := range m.Versions[1:] {
				v := v
				if err := tx.InsertVersion(ctx, &v); err != nil {
					return err
				}
			}
			if d.RegisterNumber > 0 && len(d.RegisteredAt) >= 4 {
				var year int
				fmt.Sscanf(d.RegisteredAt[:4], "%d", &year)
				if err := tx.RestoreRegister(ctx, d.Direction, year, d.RegisterNumber); err != nil {
					return err
				}
			}
			for _, kind := range []string{sqlite.JobExtract} {
				if err := tx.Enqueue(ctx, kind, d.ID); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("restore %s: %w", d.ID, err)
		}
		restored++
	}
	// Tasks after every plan is back, links after every task.
	err = a.catalog.Update(ctx, func(tx *sqlite.Tx) error {
		for _, t := range tasks {
			if err := tx.RestoreTask(ctx, t); err != nil {
				return err
			}
		}
		for i := range links {
			if err := tx.LinkTask(ctx, &links[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("restore tasks: %w", err)
	}
	fmt.Fprintf(stdout, "rebuild: %d tasks and %d task links restored\n", len(tasks), len(links))
	fmt.Fprintf(stdout, "rebuild: %d documents restored from %d manifests (%d skipped), %d audit events restored up to the last checkpoint; text extraction and indexing are queued and run when the service starts\n", restored, len(keys), skipped, events)
	if skipped > 0 {
		return exitError{1, ""}
	}
	return nil
}

func readManifest(ctx context.Context, store archive.BlobStore, key string) (*records.Manifest, error) {
	rc, _, err := store.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var m records.Manifest
	if err := json.NewDecoder(io.LimitReader(rc, 16<<20)).Decode(&m); err != nil {
		return nil, err
	}
	return &m, nil
}
