package main

// Load: an archive of many documents (generated straight into the catalog,
// the object directory and the index with vanthu's own packages, from
// sentences of the real corpus via search/searchbench), then 20 concurrent
// clients searching and viewing documents while 5 uploads a second arrive.

import (
	"context"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"vanthu/archive"
	"vanthu/archive/sqlite"
	"vanthu/ingest"
	"vanthu/search"
	"vanthu/search/searchbench"
)

// generateArchive fills data with n documents: catalog rows (document,
// version, text), their originals under objects/originals/, and the index.
// It returns the ids and numbers.
func generateArchive(r *R, data string, n int) (ids, numbers []string) {
	textDir := ""
	if r.Env.Corpus != "" {
		textDir = filepath.Join(r.Env.Corpus, "text")
	} else {
		r.Skipf("the load scenario needs the corpus texts (../shared/corpus/text) to generate documents")
	}
	gen, err := searchbench.NewGenerator(textDir, 2026)
	if err != nil {
		r.Fatalf("searchbench: %v", err)
	}
	if err := os.MkdirAll(data, 0o750); err != nil {
		r.Fatalf("%v", err)
	}
	cat, err := sqlite.Open(filepath.Join(data, "catalog.db"))
	if err != nil {
		r.Fatalf("catalog: %v", err)
	}
	defer cat.Close()
	ix, err := search.OpenFor(filepath.Join(data, "index"), uint64(n)) // as vanthu reindex would
	if err != nil {
		r.Fatalf("index: %v", err)
	}
	defer ix.Close()
	ctx := r.Ctx
	const batch = 2000
	at := time.Now().UTC().Add(-time.Hour)
	var catTook, ixTook time.Duration
	defer func() {
		r.Logf("generation: catalog %v, index %v", catTook.Round(time.Second), ixTook.Round(time.Second))
	}()
	for from := 0; from < n; from += batch {
		if ctx.Err() != nil {
			r.Fatalf("interrupted while generating the archive")
		}
		to := min(n, from+batch)
		docs := make([]search.Doc, 0, to-from)
		type row struct {
			d    *archive.Document
			v    *archive.Version
			body string
		}
		rows := make([]row, 0, to-from)
		for i := from; i < to; i++ {
			sd := gen.Doc(i)
			id, _ := uuid.NewV7()
			sd.ID = id.String()
			sd.Classification = archive.Unclassified // every client may see every document
			body := []byte(fmt.Sprintf("%s\nSố: %s\n%s\n%s\n", sd.TypeName, sd.Number, sd.Subject, sd.Body))
			sum := sha(body)
			key := archive.OriginalKey(sum)
			p := filepath.Join(data, "objects", filepath.FromSlash(key))
			if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
				r.Fatalf("%v", err)
			}
			if err := os.WriteFile(p, body, 0o640); err != nil {
				r.Fatalf("%v", err)
			}
			issued := ""
			if !sd.IssuedAt.IsZero() {
				issued = sd.IssuedAt.Format("2006-01-02")
			}
			d := &archive.Document{ID: sd.ID, Number: sd.Number, Type: sd.Type, TypeName: sd.TypeName, Issuer: sd.Issuer,
				Level: sd.Level, IssuedAt: issued, Subject: sd.Subject, Signer: sd.Signer, Classification: archive.Unclassified,
				Urgency: "none", Direction: "incoming", Tags: []string{}, Filename: fmt.Sprintf("van-ban-%06d.txt", i),
				ContentType: ingest.MimeText, Size: int64(len(body)), SHA256: sum, TextStatus: archive.TextOK, Extracted: []string{},
				CreatedAt: at, UpdatedAt: at, CreatedBy: "nap-du-lieu", Version: 1}
			v := &archive.Version{DocumentID: d.ID, N: 1, SHA256: sum, Size: d.Size, ContentType: d.ContentType, Filename: d.Filename,
				Key: key, CreatedAt: at, CreatedBy: d.CreatedBy}
			rows = append(rows, row{d, v, string(body)})
			docs = append(docs, sd)
			ids = append(ids, sd.ID)
			numbers = append(numbers, sd.Number)
		}
		t0 := time.Now()
		err := cat.Update(ctx, func(tx *sqlite.Tx) error {
			for _, rw := range rows {
				if err := tx.InsertDocument(ctx, rw.d, rw.v, nil); err != nil {
					return err
				}
				if err := tx.SetText(ctx, rw.d.ID, rw.body, nil, nil); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			r.Fatalf("catalog insert: %v", err)
		}
		t1 := time.Now()
		catTook += t1.Sub(t0)
		if err := ix.Index(docs); err != nil {
			r.Fatalf("index: %v", err)
		}
		ixTook += time.Since(t1)
		if (to/batch)%10 == 0 {
			r.Logf("generated %d of %d documents", to, n)
		}
	}
	return ids, numbers
}

type sample struct {
	at         time.Duration
	rss        int64
	goroutines int
	queue      int
}

func loadScenario(r *R) {
	n, dur := r.Opt.LoadDocs, r.Opt.LoadDuration
	const clients, uploadsPerSecond = 20, 5
	data := filepath.Join(r.TempDir(), "data")
	start := time.Now()
	ids, numbers := generateArchive(r, data, n)
	genTook := time.Since(start)
	r.Logf("generated %d documents in %v", n, genTook.Round(time.Second))
	clerk := r.addUser(data, "lan", "clerk")
	officer := r.addUser(data, "minh", "officer")
	s := r.startServer(data)
	if got, _ := s.metrics(); got["vanthu_documents"] < float64(n) {
		r.Fatalf("the server counts %v documents, want %d", got["vanthu_documents"], n)
	}
	queries := []string{}
	for _, q := range searchbench.Queries() {
		queries = append(queries, q.Q)
	}
	// Uploads are the corpus's text files: extraction of PDFs at 5 a second
	// would measure pdftotext, not the service.
	var corpus []corpusFile
	for _, f := range r.loadCorpus(256 << 10) {
		if f.kind == "text" {
			corpus = append(corpus, f)
		}
	}

	type op struct {
		kind string
		took time.Duration
	}
	var (
		mu      sync.Mutex
		lat     = map[string][]time.Duration{}
		counts  = map[string]int{}
		errs    = map[string]int{}
		errSeen []string
		upNext  atomic.Int64
		acks    []acked
	)
	note := func(kind string, took time.Duration, err error, resp response, want int) {
		mu.Lock()
		defer mu.Unlock()
		counts[kind]++
		if err != nil || resp.status != want {
			errs[kind]++
			if len(errSeen) < 10 {
				errSeen = append(errSeen, fmt.Sprintf("%s: %v %v", kind, resp, err))
			}
			return
		}
		lat[kind] = append(lat[kind], took)
	}
	laStart, busyStart := machineBusy()
	ctx, cancel := context.WithTimeout(r.Ctx, dur)
	defer cancel()
	loadStart := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			rng := mrand.New(mrand.NewPCG(uint64(c), 7))
			for ctx.Err() == nil {
				rc, rcancel := context.WithTimeout(r.Ctx, time.Minute)
				switch x := rng.IntN(100); {
				case x < 55: // search: a query an officer types, or a number/symbol
					q := queries[rng.IntN(len(queries))]
					if x < 15 {
						q = numbers[rng.IntN(len(numbers))]
					}
					resp, err := s.request(rc, http.MethodGet, "/api/v1/search?size=20&q="+url.QueryEscape(q), officer, nil, nil)
					note("search", resp.took, err, resp, http.StatusOK)
				case x < 90:
					resp, err := s.request(rc, http.MethodGet, "/api/v1/documents/"+ids[rng.IntN(len(ids))], officer, nil, nil)
					note("view", resp.took, err, resp, http.StatusOK)
				default:
					resp, err := s.request(rc, http.MethodGet, "/api/v1/documents/"+ids[rng.IntN(len(ids))]+"/original", officer, nil, nil)
					note("download", resp.took, err, resp, http.StatusOK)
				}
				rcancel()
				// Think time: people read what they asked for.
				select {
				case <-ctx.Done():
				case <-time.After(time.Duration(100+rng.IntN(300)) * time.Millisecond):
				}
			}
		})
	}
	// Uploads arrive at a steady 5 a second, whatever their latency.
	wg.Go(func() {
		tick := time.NewTicker(time.Second / uploadsPerSecond)
		defer tick.Stop()
		sem := make(chan struct{}, 50)
		var uw sync.WaitGroup
		defer uw.Wait()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			select {
			case sem <- struct{}{}:
			default:
				note("upload", 0, fmt.Errorf("50 uploads already in flight"), response{}, http.StatusCreated)
				continue
			}
			uw.Go(func() {
				defer func() { <-sem }()
				i := upNext.Add(1)
				name, body, fields := uploadItem(corpus, "load", i)
				rc, rcancel := context.WithTimeout(r.Ctx, time.Minute)
				resp, err := s.upload(rc, clerk, name, body, fields)
				rcancel()
				note("upload", resp.took, err, resp, http.StatusCreated)
				if err == nil && resp.status == http.StatusCreated {
					var d document
					if json.Unmarshal(resp.body, &d) == nil {
						mu.Lock()
						acks = append(acks, acked{id: d.ID, sha: d.SHA256, number: fields["number"], name: name})
						mu.Unlock()
					}
				}
			})
		}
	})
	// Samples of the server's RSS, goroutines and queue.
	var samples []sample
	every := 5 * time.Second
	if dur < 2*time.Minute {
		every = 2 * time.Second
	}
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			m, err := s.metrics()
			if err != nil {
				continue
			}
			q := 0
			for k, v := range m {
				if len(k) > 17 && k[:17] == "vanthu_queue_jobs" {
					q += int(v)
				}
			}
			mu.Lock()
			samples = append(samples, sample{time.Since(loadStart), s.procStatus("VmRSS"), int(m["go_goroutines"]), q})
			mu.Unlock()
			r.Logf("t=%v rss=%.1fMiB goroutines=%d queue=%d", time.Since(loadStart).Round(time.Second), float64(s.procStatus("VmRSS"))/(1<<20), int(m["go_goroutines"]), q)
		}
	})
	wg.Wait()
	loadTook := time.Since(loadStart)
	laStop, busyStop := machineBusy()
	atStop := s.queueByKind()
	// What makes uploads searchable (extract, index) apart from the rest.
	var searchable time.Duration
	stopT := time.Now()
	for time.Since(stopT) < 5*time.Minute && r.Ctx.Err() == nil {
		q := s.queueByKind()
		if q["extract"]+q["index"] == 0 {
			searchable = time.Since(stopT)
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	r.Figure("queue_at_stop", "%s; extract+index drained in %v", fmtCounts(atStop), searchable.Round(100*time.Millisecond))
	drain, drained := s.drainQueue(max(time.Second, time.Minute-searchable))
	drain += searchable
	drained = drained && drain <= time.Minute
	if !drained {
		if r.Opt.Short {
			// Wait for it anyway (bounded), so the figure says how long;
			// a timed bound is the full command's to assert, not a test's.
			more, ok := s.drainQueue(4 * time.Minute)
			drain += more
			r.Note("the queue drained in %v (drained=%v), over the 1-minute bound, NOT ASSERTED in the short variant (1-minute load average %.1f at the start, %.1f when the load stopped, on %d cores; busy=%v/%v)",
				drain.Round(time.Second), ok, laStart, laStop, runtime.NumCPU(), busyStart, busyStop)
			if !ok {
				r.Errorf("the index queue did not drain within five minutes after the load stopped")
			}
		} else {
			r.Errorf("the index queue did not drain within a minute after the load stopped")
		}
	}
	// Acknowledged uploads are there and searchable by their number.
	checked, found := 0, 0
	for i, a := range acks {
		if i%max(1, len(acks)/50) != 0 {
			continue
		}
		checked++
		sr, resp, err := s.search(r.Ctx, officer, a.number, 5)
		if err == nil && resp.status == http.StatusOK && slices.ContainsFunc(sr.Hits, func(h searchHit) bool { return h.ID == a.id }) {
			found++
		} else {
			r.Errorf("uploaded %s (%s) is not found by its number: %v %v", a.id, a.number, resp, err)
		}
	}
	total := 0
	for k, c := range errs {
		total += c
		r.Errorf("%d %s requests failed", c, k)
	}
	for _, e := range errSeen {
		r.Errorf("e.g. %s", e)
	}
	p := func(kind string, q float64) time.Duration { return percentile(lat[kind], q).Round(time.Millisecond) }
	// The latency bound is about vanthu, not about a CI machine: the short
	// (CI) variant runs as a Go test, often under the race detector, and the
	// project takes no timed assertions in tests. There it is reported; the
	// full command always asserts it.
	laEnd, busyEnd := machineBusy()
	if sp95 := percentile(lat["search"], .95); sp95 >= 300*time.Millisecond {
		if r.Opt.Short {
			r.Note("search p95 %v is over 300 ms, NOT ASSERTED in the short variant (1-minute load average %.1f at the start, %.1f at the end, on %d cores; busy=%v/%v); the full command asserts it",
				sp95.Round(time.Millisecond), laStart, laEnd, runtime.NumCPU(), busyStart, busyEnd)
		} else {
			r.Errorf("search p95 %v, want under 300 ms", sp95.Round(time.Millisecond))
		}
	}
	// Flat: the first and last window (a minute, or a third of a short run).
	win := min(time.Minute, dur/3)
	var first, last []sample
	for _, sm := range samples {
		if sm.at <= win {
			first = append(first, sm)
		}
		if sm.at >= loadTook-win {
			last = append(last, sm)
		}
	}
	avg := func(ss []sample, f func(sample) float64) float64 {
		if len(ss) == 0 {
			return 0
		}
		t := 0.0
		for _, s := range ss {
			t += f(s)
		}
		return t / float64(len(ss))
	}
	rss0, rss1 := avg(first, func(s sample) float64 { return float64(s.rss) }), avg(last, func(s sample) float64 { return float64(s.rss) })
	g0, g1 := avg(first, func(s sample) float64 { return float64(s.goroutines) }), avg(last, func(s sample) float64 { return float64(s.goroutines) })
	if len(first) == 0 || len(last) == 0 {
		r.Errorf("too few samples (%d) to compare the first and last %v", len(samples), win)
	} else {
		if rss1 > rss0*1.25+64<<20 {
			r.Errorf("RSS grew from %.1f MiB (first %v) to %.1f MiB (last %v): more than 25%% + 64 MiB", rss0/(1<<20), win, rss1/(1<<20), win)
		}
		if g1 > g0*1.25+20 {
			r.Errorf("goroutines grew from %.1f (first %v) to %.1f (last %v): more than 25%% + 20", g0, win, g1, win)
		}
	}
	r.Figure("archive", "%d documents generated into catalog, objects and index in %v", n, genTook.Round(time.Second))
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		r.Figure("machine", "load average %s on %d cores (shared)", string(b[:len(b)-1]), runtime.NumCPU())
	}
	r.Figure("load", "%v with %d clients (think time 100-400 ms) + %d uploads/s", loadTook.Round(time.Second), clients, uploadsPerSecond)
	r.Figure("requests", "search=%d view=%d download=%d upload=%d (%.1f/s); errors=%d", counts["search"], counts["view"], counts["download"], counts["upload"], float64(counts["upload"])/loadTook.Seconds(), total)
	r.Figure("search_latency", "p50=%v p95=%v p99=%v (bound p95 < 300ms)", p("search", .5), p("search", .95), p("search", .99))
	r.Figure("view_latency", "p50=%v p95=%v; download p95=%v; upload p50=%v p95=%v", p("view", .5), p("view", .95), p("download", .95), p("upload", .5), p("upload", .95))
	r.Figure("queue", "drained %v after the load stopped (bound 1m); uploads searchable by number %d/%d sampled", drain.Round(100*time.Millisecond), found, checked)
	r.Figure("rss", "first %v avg %.1f MiB, last %v avg %.1f MiB", win, rss0/(1<<20), win, rss1/(1<<20))
	r.Figure("goroutines", "first %v avg %.1f, last %v avg %.1f", win, g0, win, g1)
}

// machineBusy reads the 1-minute load average and reports whether it is
// over twice the number of cores.
func machineBusy() (float64, bool) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, false
	}
	var la float64
	if _, err := fmt.Sscan(string(b), &la); err != nil {
		return 0, false
	}
	return la, la > float64(2*runtime.NumCPU())
}
