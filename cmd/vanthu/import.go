package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"vanthu/archive"
	"vanthu/archive/records"
)

// importOutcome is what happened to one file.
type importOutcome struct {
	path   string
	status string // stored, duplicate, failed
	id     string
	reason string
}

// importFile stores one file as a clerk-less import. Files whose SHA-256 is
// already archived are skipped before any byte is uploaded, which is what
// makes an interrupted import resumable.
func importFile(ctx context.Context, a *app, actor records.Actor, path string) importOutcome {
	out := importOutcome{path: path}
	sum, err := fileSHA256(path)
	if err != nil {
		out.status, out.reason = "failed", err.Error()
		return out
	}
	if ids, err := a.catalog.DocumentIDsBySHA(ctx, sum); err == nil && len(ids) > 0 {
		out.status, out.id = "duplicate", ids[0]
		return out
	}
	f, err := os.Open(path)
	if err != nil {
		out.status, out.reason = "failed", err.Error()
		return out
	}
	defer f.Close()
	st, err := a.svc.Stage(ctx, filepath.Base(path), f)
	if err != nil {
		out.status, out.reason = "failed", errorSentence(err)
		return out
	}
	d, err := a.svc.Register(ctx, actor, st, nil)
	var ae *archive.Error
	switch {
	case err == nil:
		out.status, out.id = "stored", d.ID
	case errors.As(err, &ae) && ae.Code == "duplicate":
		out.status, out.id = "duplicate", fmt.Sprint(ae.Extra["existing_id"])
	default:
		out.status, out.reason = "failed", errorSentence(err)
	}
	return out
}

func errorSentence(err error) string {
	var ae *archive.Error
	if errors.As(err, &ae) {
		return ae.Message
	}
	return err.Error()
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// importActor is who an import is recorded as: the operating-system user
// who ran it, with the clerk role.
func importActor(cfg config) records.Actor {
	return records.Actor{User: &archive.User{Name: "import:" + osUser(), Role: archive.RoleClerk, Clearance: cfg.MaxClassification}}
}

func cmdImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg config
	fs := newFlags("import", &cfg, false)
	jobs := fs.Int("jobs", 4, "files imported at once")
	if err := parse(fs, args, &cfg); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return exitError{2, "usage: vanthu import PATH..."}
	}
	files, err := collectFiles(fs.Args())
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := openApp(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer a.close()
	// Extraction runs here; indexing is left queued for the server's one
	// index writer (the index belongs to the running service).
	a.svc.ExtractWait = 3 * time.Minute
	workCtx, stopWork := context.WithCancel(context.Background())
	defer stopWork()
	w, err := a.extractionWorkers()
	if err != nil {
		return err
	}
	go w.Run(workCtx)

	actor := importActor(cfg)
	p := newProgress(stdout, len(files))
	var counts [3]atomic.Int64
	var mu sync.Mutex
	var failures []importOutcome
	ch := make(chan string)
	var wg sync.WaitGroup
	for i := 0; i < max(1, *jobs); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for path := range ch {
				o := importFile(ctx, a, actor, path)
				switch o.status {
				case "stored":
					counts[0].Add(1)
				case "duplicate":
					counts[1].Add(1)
				default:
					if ctx.Err() != nil {
						continue // interrupted, not failed: the next run picks it up
					}
					counts[2].Add(1)
					mu.Lock()
					failures = append(failures, o)
					mu.Unlock()
				}
				p.step(o)
			}
		}()
	}
feed:
	for _, f := range files {
		select {
		case ch <- f:
		case <-ctx.Done():
			break feed
		}
	}
	close(ch)
	wg.Wait()
	p.done()
	sort.Slice(failures, func(i, j int) bool { return failures[i].path < failures[j].path })
	for _, f := range failures {
		fmt.Fprintf(stdout, "failed: %s: %s\n", f.path, f.reason)
	}
	stored, dup, failed := counts[0].Load(), counts[1].Load(), counts[2].Load()
	fmt.Fprintf(stdout, "import summary: %d files, %d stored, %d already archived (skipped), %d failed\n", len(files), stored, dup, failed)
	if stored == 0 && failed == 0 && dup > 0 {
		fmt.Fprintln(stdout, "nothing new: every file was already in the archive")
	}
	if ctx.Err() != nil {
		left := int64(len(files)) - stored - dup - failed
		fmt.Fprintf(stdout, "interrupted: %d files not imported yet; run the same command again to finish\n", left)
		return exitError{130, ""}
	}
	if failed > 0 {
		return exitError{1, ""}
	}
	return nil
}

// collectFiles expands folders recursively, skipping hidden files and the
// inbox's own done/failed folders.
func collectFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := d.Name()
			if path != p && strings.HasPrefix(name, ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				out = append(out, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(out)
	return out, nil
}

// progress draws a bar on a terminal and plain lines elsewhere.
type progress struct {
	w     io.Writer
	tty   bool
	total int
	n     atomic.Int64
	mu    sync.Mutex
	start time.Time
}

func newProgress(w io.Writer, total int) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progress{w: w, tty: tty, total: total, start: time.Now()}
}

func (p *progress) step(o importOutcome) {
	n := p.n.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.tty {
		fmt.Fprintf(p.w, "[%d/%d] %s %s\n", n, p.total, o.status, o.path)
		return
	}
	const width = 30
	filled := int(int64(width) * n / int64(max(p.total, 1)))
	rate := float64(n) / time.Since(p.start).Seconds()
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d  %.1f files/s  %-40.40s", strings.Repeat("#", filled), strings.Repeat(".", width-filled), n, p.total, rate, filepath.Base(o.path))
}

func (p *progress) done() {
	if p.tty {
		fmt.Fprintln(p.w)
	}
}

// watchInbox imports files a scanner drops into dir, then moves each to
// dir/done or dir/failed (with a .reason.txt beside a failure).
func watchInbox(ctx context.Context, a *app, dir string, log *slog.Logger) {
	for _, sub := range []string{"done", "failed"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o750); err != nil {
			log.Error("inbox unusable", "dir", dir, "err", err)
			return
		}
	}
	actor := importActor(a.cfg)
	actor.User.Name = "inbox"
	tick := time.NewTicker(3 * time.Second)
	defer tick.Stop()
	for {
		entries, err := os.ReadDir(dir)
		if err != nil {
			log.Warn("inbox: cannot read", "dir", dir, "err", err)
		}
		for _, e := range entries {
			if ctx.Err() != nil {
				return
			}
			info, err := e.Info()
			if err != nil || !info.Mode().IsRegular() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			// A scanner may still be writing: wait until the file is quiet.
			if time.Since(info.ModTime()) < 3*time.Second {
				continue
			}
			path := filepath.Join(dir, e.Name())
			o := importFile(ctx, a, actor, path)
			if ctx.Err() != nil {
				return
			}
			dest := "done"
			if o.status == "failed" {
				dest = "failed"
				_ = os.WriteFile(filepath.Join(dir, "failed", e.Name()+".reason.txt"), []byte(o.reason+"\n"), 0o640)
			}
			if err := os.Rename(path, filepath.Join(dir, dest, e.Name())); err != nil {
				log.Warn("inbox: cannot move file", "file", path, "err", err)
			}
			log.Info("inbox", "file", e.Name(), "status", o.status, "document", o.id, "reason", o.reason)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
