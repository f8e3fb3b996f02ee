package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "vanthu/archive/sqlite" // registers the "sqlite" database/sql driver
	"vanthu/ingest"
	"vanthu/search"
)

// corpusFile is one original of the corpus.
type corpusFile struct {
	name string
	data []byte
}

// loadKind reads the text-layer PDFs (MANIFEST kind pdf-text) or the plain
// texts of the corpus.
func loadKind(corpus, kind string) ([]corpusFile, error) {
	var names []string
	switch kind {
	case "pdf":
		f, err := os.Open(filepath.Join(corpus, "MANIFEST.tsv"))
		if err != nil {
			return nil, err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			cols := strings.Split(sc.Text(), "\t")
			if len(cols) > 1 && cols[1] == "pdf-text" {
				names = append(names, cols[0])
			}
		}
	case "text":
		m, err := filepath.Glob(filepath.Join(corpus, "text", "*.txt"))
		if err != nil {
			return nil, err
		}
		for _, p := range m {
			names = append(names, filepath.Join("text", filepath.Base(p)))
		}
	default:
		return nil, fmt.Errorf("unknown kind %q (pdf, text)", kind)
	}
	sort.Strings(names)
	var out []corpusFile
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(corpus, n))
		if err != nil {
			return nil, err
		}
		out = append(out, corpusFile{name: filepath.Base(n), data: b})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no %s files in %s", kind, corpus)
	}
	return out, nil
}

// usableTextLayers keeps the PDFs whose text layer vanthu's fast lane
// accepts. The corpus's pdf-text files include OCR layers and legacy-font
// mojibake that the extractor rightly rejects page by page and queues for
// OCR (minutes a document): they measure the OCR lane, not text ingest.
func (b *bench) usableTextLayers(ctx context.Context, files []corpusFile) ([]corpusFile, error) {
	ex := &ingest.Extractor{Exe: b.bin, Tools: ingest.LookupTools(), OCRMaxPages: -1}
	dir, err := os.MkdirTemp(b.o.work, "screen-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var keep []corpusFile
	var dropped []string
	for _, f := range files {
		p := filepath.Join(dir, "f.pdf")
		if err := os.WriteFile(p, f.data, 0o600); err != nil {
			return nil, err
		}
		res, err := ex.Extract(ctx, p, ingest.MimePDF)
		if err != nil {
			return nil, err
		}
		if res.Status == ingest.StatusOK && !strings.Contains(res.Reason, "no usable text") {
			keep = append(keep, f)
		} else {
			dropped = append(dropped, f.name)
		}
	}
	if len(keep) == 0 {
		return nil, errors.New("no corpus PDF has a text layer the extractor accepts")
	}
	var size int64
	for _, f := range keep {
		size += int64(len(f.data))
	}
	b.rep.printf("\nPDFs: %d of the %d `pdf-text` files (%s on average); left out because the fast lane finds no usable text layer on some page and queues them for OCR: %s.\n",
		len(keep), len(files), mib(size/int64(len(keep))), strings.Join(dropped, ", "))
	return keep, nil
}

// nthUpload is upload i of a run: corpus file i mod len, made unique.
func nthUpload(files []corpusFile, kind string, i int) corpusFile {
	f := files[i%len(files)]
	name := fmt.Sprintf("%07d-%s", i, f.name)
	if kind == "pdf" {
		return corpusFile{name: name, data: uniquePDF(f.data, i)}
	}
	return corpusFile{name: name, data: uniqueText(f.data, i)}
}

type ingestResult struct {
	mode, kind       string
	docs             int
	bytes            int64
	uploadPhase      time.Duration // until the last 201
	total            time.Duration // until every queue is empty
	failed           int
	pending, ocrJobs int
	status           map[string]int
	hwm              int64
	searchable       string
	load             string
	cpuServer        time.Duration // vanthu serve itself: HTTP, catalog, index, copies
	cpuExtract       time.Duration // its extraction children
	cpuS3            time.Duration // versitygw (S3 mode, when started here)
	profile          string
}

func (b *bench) ingest(ctx context.Context) error {
	modes := strings.Split(b.o.modes, ",")
	kinds := strings.Split(b.o.kinds, ",")
	b.rep.printf("\n### Bulk ingest\n\n%d uploads per run from %d concurrent clients through `POST /api/v1/documents` of a fresh `vanthu serve`; a document counts once the extract, index and manifest queues are empty (`/metrics`). Baselines: the same files through `ingest.Extractor` (child `vanthu __extract`, 2 at a time like `records.Workers`, OCR off like its fast lane, metadata parsed) and their texts through `search.Open` + `Index` in batches of 500.\n", b.o.n, b.o.clients)
	var rows [][]string
	var profiles []string
	for _, kind := range kinds {
		files, err := loadKind(b.o.corpus, kind)
		if err != nil {
			return err
		}
		if kind == "pdf" {
			if files, err = b.usableTextLayers(ctx, files); err != nil {
				return err
			}
		}
		baseN := b.o.baseN
		if baseN <= 0 || baseN > b.o.n {
			baseN = b.o.n
		}
		if c := baseN / len(files) * len(files); c > 0 {
			baseN = c // whole cycles: the same mix as the uploads
		}
		c0 := rusage(syscall.RUSAGE_CHILDREN)
		ex, docs, err := b.extractBaseline(ctx, files, kind, baseN)
		if err != nil {
			return err
		}
		exCPU := rusage(syscall.RUSAGE_CHILDREN) - c0
		s0 := rusage(syscall.RUSAGE_SELF)
		ix, err := b.indexBaseline(docs, 500)
		if err != nil {
			return err
		}
		ixCPU := rusage(syscall.RUSAGE_SELF) - s0
		// What the index worker does while documents trickle out of
		// extraction one at a time: batches of one.
		smallN := min(len(docs), 200)
		s0 = rusage(syscall.RUSAGE_SELF)
		ix1, err := b.indexBaseline(docs[:smallN], 1)
		if err != nil {
			return err
		}
		ix1CPU := rusage(syscall.RUSAGE_SELF) - s0
		var baseBytes int64
		for i := range baseN {
			baseBytes += int64(len(nthUpload(files, kind, i).data))
		}
		load := loadavg()
		exRate, ixRate := float64(baseN)/ex.Seconds(), float64(baseN)/ix.Seconds()
		slow, slowName := min(exRate, ixRate), "extraction"
		if ixRate < exRate {
			slowName = "indexing"
		}
		rows = append(rows,
			[]string{kind, "baseline: extraction alone", fmt.Sprint(baseN), secs(ex), rate(exRate), rate(float64(baseBytes) / 1e6 / ex.Seconds()), "", "", fmt.Sprintf("load %s; CPU %.0f ms per doc", load, float64(exCPU.Milliseconds())/float64(baseN))},
			[]string{kind, "baseline: Bleve indexing alone", fmt.Sprint(baseN), secs(ix), rate(ixRate), rate(float64(baseBytes) / 1e6 / ix.Seconds()), "", "", fmt.Sprintf("CPU %.0f ms per doc", float64(ixCPU.Milliseconds())/float64(baseN))},
			[]string{kind, "(diagnosis) Bleve indexing in batches of 1", fmt.Sprint(smallN), secs(ix1), rate(float64(smallN) / ix1.Seconds()), "", "", "",
				fmt.Sprintf("CPU %.0f ms per doc: the index worker's batches while extraction trickles", float64(ix1CPU.Milliseconds())/float64(smallN))})
		for _, mode := range modes {
			r, err := b.ingestRun(ctx, files, kind, mode)
			if err != nil {
				return err
			}
			profiles = append(profiles, r.profile)
			e2e := float64(r.docs) / r.total.Seconds()
			rows = append(rows, []string{kind, "end to end, " + mode, fmt.Sprint(r.docs), secs(r.total), rate(e2e), rate(float64(r.bytes) / 1e6 / r.total.Seconds()),
				fmt.Sprintf("%s of %s", pct(e2e, slow), slowName), verdict(e2e >= 0.7*slow),
				fmt.Sprintf("load %s; uploads done at %s; failed %d; text_status %v; still pending %d, OCR jobs %d; searchable %s; server VmHWM %s; CPU: extraction children %s, vanthu serve %s, versitygw %s (per doc %.0f ms)",
					r.load, secs(r.uploadPhase), r.failed, r.status, r.pending, r.ocrJobs, r.searchable, mib(r.hwm),
					secs(r.cpuExtract), secs(r.cpuServer), secs(r.cpuS3), float64((r.cpuExtract+r.cpuServer+r.cpuS3).Milliseconds())/float64(max(r.docs, 1)))})
		}
	}
	b.rep.table([]string{"kind", "path", "docs", "time", "docs/s", "MB/s", "ratio to slowest stage", "≥ 70%", "notes"}, rows)
	for _, p := range profiles {
		b.rep.printf("%s", p)
	}
	return nil
}

// rusage is the CPU time (user+system) of this process or its waited-for
// children.
func rusage(who int) time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(who, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// extractBaseline extracts uploads [0, n) the way the workers do: written
// to a temporary file (the workers copy the original out of the blob
// store), extracted by a `vanthu __extract` child, metadata parsed.
func (b *bench) extractBaseline(ctx context.Context, files []corpusFile, kind string, n int) (time.Duration, []search.Doc, error) {
	dir := filepath.Join(b.o.work, "extract-"+kind)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return 0, nil, err
	}
	defer os.RemoveAll(dir)
	ex := &ingest.Extractor{Exe: b.bin, Tools: ingest.LookupTools(), OCRMaxPages: -1}
	docs := make([]search.Doc, n)
	next := atomic.Int64{}
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	logf("ingest %s: extraction baseline over %d files", kind, n)
	start := time.Now()
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				f := nthUpload(files, kind, i)
				mime, err := ingest.Sniff(f.data[:min(len(f.data), ingest.SniffLen)])
				if err == nil {
					var tmp *os.File
					tmp, err = os.CreateTemp(dir, "extract-*")
					if err == nil {
						_, err = tmp.Write(f.data)
						tmp.Close()
					}
					var res ingest.Result
					if err == nil {
						res, err = ex.Extract(ctx, tmp.Name(), mime)
					}
					os.Remove(tmp.Name())
					if err == nil {
						m := ingest.ParseMetadata(res.Text)
						d := search.Doc{ID: fmt.Sprintf("x%07d", i), Number: m.Number, Type: m.Type, TypeName: m.TypeName, Issuer: m.Issuer,
							Level: m.Level, Subject: m.Subject, Body: res.Text, Classification: m.Classification, Status: res.Status}
						if t, e := time.Parse("2006-01-02", m.IssuedAt); e == nil {
							d.IssuedAt = t
						}
						docs[i] = d
					}
				}
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	logf("ingest %s: extraction baseline %d files in %v (%.1f/s)", kind, n, took.Round(time.Millisecond), float64(n)/took.Seconds())
	return took, docs, firstErr
}

// indexBaseline indexes docs into a fresh index with the production
// mapping, in batches of batch (500: the index worker's largest).
func (b *bench) indexBaseline(docs []search.Doc, batch int) (time.Duration, error) {
	dir := filepath.Join(b.o.work, "index-baseline")
	os.RemoveAll(dir)
	defer os.RemoveAll(dir)
	ix, err := search.Open(dir)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	for i := 0; i < len(docs); i += batch {
		if err := ix.Index(docs[i:min(i+batch, len(docs))]); err != nil {
			ix.Close()
			return 0, err
		}
	}
	err = ix.Close()
	took := time.Since(start)
	logf("indexing baseline: %d docs in batches of %d in %v (%.1f/s)", len(docs), batch, took.Round(time.Millisecond), float64(len(docs))/took.Seconds())
	return took, err
}

// ingestRun uploads n files to a fresh server and waits until all of them
// are extracted, indexed and have their manifest.
func (b *bench) ingestRun(ctx context.Context, files []corpusFile, kind, mode string) (*ingestResult, error) {
	r := &ingestResult{mode: mode, kind: kind}
	root := filepath.Join(b.o.work, "ingest-"+mode+"-"+kind)
	data := filepath.Join(root, "data")
	if err := os.MkdirAll(root, 0o750); err != nil {
		return nil, err
	}
	defer os.RemoveAll(root)
	tok, err := b.clerkToken(ctx, data)
	if err != nil {
		return nil, err
	}
	var env []string
	if mode == "s3" {
		s3, err := b.s3Server(ctx)
		if err != nil {
			return nil, err
		}
		bucket := fmt.Sprintf("bench-ingest-%s-%d", kind, time.Now().Unix())
		env = s3.env(bucket)
		defer s3.dropBucket(ctx, bucket)
	}
	srv, err := b.startServer(ctx, data, env...)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	var s3pid int
	var s3cpu0 time.Duration
	if mode == "s3" && b.s3.p != nil {
		s3pid = b.s3.p.pid()
		s3cpu0, _ = procCPU(s3pid)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: b.o.clients, MaxConnsPerHost: b.o.clients}}
	logf("ingest %s/%s: %d uploads from %d clients", mode, kind, b.o.n, b.o.clients)
	var next atomic.Int64
	var failed atomic.Int64
	var bytesSent atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	waitProf := b.profileServer(srv, "ingest-"+mode+"-"+kind, 30*time.Second)
	for range b.o.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= b.o.n {
					return
				}
				f := nthUpload(files, kind, i)
				if err := uploadOne(ctx, client, srv.url, tok, f); err != nil {
					if failed.Add(1) <= 3 {
						logf("upload %d: %v", i, err)
					}
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				bytesSent.Add(int64(len(f.data)))
			}
		}()
	}
	wg.Wait()
	r.uploadPhase = time.Since(start)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	logf("ingest %s/%s: uploads answered after %v; waiting for the queues", mode, kind, r.uploadPhase.Round(time.Millisecond))
	if err := srv.drained(ctx, 2*time.Hour); err != nil {
		return nil, err
	}
	r.total = time.Since(start)
	r.profile = waitProf() // after the clock stopped: a short run waits for the 30 s profile
	r.failed = int(failed.Load())
	r.docs = b.o.n - r.failed
	r.bytes = bytesSent.Load()
	r.hwm = procStatus(srv.pid(), "VmHWM")
	r.load = loadavg()
	r.cpuServer, r.cpuExtract = procCPU(srv.pid())
	if s3pid != 0 {
		c, _ := procCPU(s3pid)
		r.cpuS3 = c - s3cpu0
	}
	if kind == "text" {
		found := 0
		for _, i := range []int{0, b.o.n / 2, b.o.n - 1} {
			if n, err := searchTotal(ctx, client, srv.url, tok, benchToken(i)); err == nil && n > 0 {
				found++
			}
		}
		r.searchable = fmt.Sprintf("%d/3 spot checks", found)
	} else {
		r.searchable = "by queue"
	}
	logf("ingest %s/%s: %d documents in %v (%.1f/s)", mode, kind, r.docs, r.total.Round(time.Millisecond), float64(r.docs)/r.total.Seconds())
	srv.stop()
	r.status, r.pending, r.ocrJobs, err = catalogState(filepath.Join(data, "catalog.db"))
	if err != nil {
		return nil, err
	}
	if r.failed > 0 {
		logf("ingest %s/%s: %d uploads failed, first: %v", mode, kind, r.failed, firstErr.Load())
	}
	return r, nil
}

// uploadOne posts one file with a Content-Length, as a browser or curl does.
func uploadOne(ctx context.Context, client *http.Client, base, tok string, f corpusFile) error {
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	if err := mw.WriteField("direction", "incoming"); err != nil {
		return err
	}
	if _, err := mw.CreateFormFile("file", f.name); err != nil {
		return err
	}
	prefix := bytes.Clone(head.Bytes())
	head.Reset()
	mw.Close()
	body := io.MultiReader(bytes.NewReader(prefix), bytes.NewReader(f.data), bytes.NewReader(head.Bytes()))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/documents", body)
	if err != nil {
		return err
	}
	req.ContentLength = int64(len(prefix) + len(f.data) + head.Len())
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("%s: %s", resp.Status, rb)
	}
	return nil
}

func searchTotal(ctx context.Context, client *http.Client, base, tok, q string) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/search?q="+url.QueryEscape(q), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var v struct {
		Total int `json:"total"`
	}
	if resp.StatusCode != 200 {
		rb, _ := io.ReadAll(resp.Body)
		return 0, fmt.Errorf("%s: %s", resp.Status, rb)
	}
	err = json.NewDecoder(resp.Body).Decode(&v)
	return v.Total, err
}

// catalogState reads, after the server stopped, how many documents have
// each text_status and what work is still queued.
func catalogState(path string) (status map[string]int, pending, ocr int, err error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return nil, 0, 0, err
	}
	defer db.Close()
	rows, err := db.Query(`SELECT text_status, COUNT(*) FROM documents GROUP BY text_status`)
	if err != nil {
		return nil, 0, 0, err
	}
	status = map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			rows.Close()
			return nil, 0, 0, err
		}
		status[s] = n
	}
	rows.Close()
	pending = status["pending"]
	err = db.QueryRow(`SELECT COUNT(*) FROM jobs WHERE kind = 'ocr'`).Scan(&ocr)
	return status, pending, ocr, err
}
