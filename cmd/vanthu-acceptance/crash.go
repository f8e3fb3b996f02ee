package main

// Crash and graceful stop: kill -9 (or SIGTERM) of vanthu serve during an
// 8-way bulk upload of corpus files, then the invariants of client.go.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// corpusFile is one file of ../shared/corpus.
type corpusFile struct {
	name, kind string // kind: pdf, docx, text
	data       []byte
}

// loadCorpus reads the corpus's pdf, docx and text files; maxSize skips
// bigger ones (the short variant keeps extraction quick). Without a corpus,
// generated text files stand in.
func (r *R) loadCorpus(maxSize int64) []corpusFile {
	var out []corpusFile
	if r.Env.Corpus != "" {
		for _, kind := range []string{"pdf", "docx", "text"} {
			ext := map[string]string{"pdf": "pdf", "docx": "docx", "text": "txt"}[kind]
			m, _ := filepath.Glob(filepath.Join(r.Env.Corpus, kind, "*."+ext))
			sort.Strings(m)
			for _, f := range m {
				fi, err := os.Stat(f)
				if err != nil || (maxSize > 0 && fi.Size() > maxSize) {
					continue
				}
				b, err := os.ReadFile(f)
				if err != nil {
					r.Fatalf("%v", err)
				}
				out = append(out, corpusFile{filepath.Base(f), kind, b})
			}
		}
	}
	if len(out) == 0 {
		r.Note("no corpus at ../shared/corpus: generated text files stand in")
		for i := range 20 {
			var b strings.Builder
			fmt.Fprintf(&b, "CÔNG VĂN\nSố: %d/UBND-VP\nV/v kiểm tra sau sự cố.\n", i+1)
			for j := range 40 {
				fmt.Fprintf(&b, "Dòng %d: nội dung văn bản thử nghiệm.\n", j)
			}
			out = append(out, corpusFile{fmt.Sprintf("cv-%d.txt", i), "text", []byte(b.String())})
		}
	}
	// Interleave kinds so every window of uploads mixes them.
	slices.SortStableFunc(out, func(a, b corpusFile) int { return strings.Compare(a.kind, b.kind) })
	byKind := map[string][]corpusFile{}
	var kinds []string
	for _, f := range out {
		if len(byKind[f.kind]) == 0 {
			kinds = append(kinds, f.kind)
		}
		byKind[f.kind] = append(byKind[f.kind], f)
	}
	var mixed []corpusFile
	for i := 0; len(mixed) < len(out); i++ {
		for _, k := range kinds {
			if i < len(byKind[k]) {
				mixed = append(mixed, byKind[k][i])
			}
		}
	}
	return mixed
}

// uploadItem makes upload i unique: the corpus file with a trailing tag
// (PDF readers ignore bytes after %%EOF, ZIP readers find the central
// directory from the end, text is text) and a unique number/symbol.
func uploadItem(corpus []corpusFile, run string, i int64) (name string, body []byte, fields map[string]string) {
	f := corpus[int(i)%len(corpus)]
	tag := fmt.Sprintf("\n%% vanthu-acceptance %s upload %d\n", run, i)
	if f.kind == "text" {
		tag = fmt.Sprintf("\nGhi chú nghiệm thu %s: bản tải lên số %d.\n", run, i)
	}
	number := fmt.Sprintf("%d/NT%s-VT", 100000+i, strings.ToUpper(run))
	return f.name, append(bytes.Clone(f.data), tag...), map[string]string{
		"number": number, "subject": fmt.Sprintf("Văn bản nghiệm thu %s số %d (%s)", run, i, f.name), "direction": "incoming",
	}
}

// uploadStats counts the outcomes of a stream of uploads.
type uploadStats struct {
	mu                        sync.Mutex
	acks                      []acked
	made, dups, broken, other atomic.Int64
	s503                      atomic.Int64
	lat                       []time.Duration
}

func (u *uploadStats) ack(a acked, took time.Duration) {
	u.made.Add(1)
	u.mu.Lock()
	u.acks = append(u.acks, a)
	u.lat = append(u.lat, took)
	u.mu.Unlock()
}

func (u *uploadStats) acked() []acked {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.acks)
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// crashScenario: kill -9 during an 8-way upload, rounds times.
func crashScenario(useS3 bool) func(r *R) {
	return func(r *R) {
		rounds, maxSize := 10, int64(0)
		if r.Opt.Short {
			rounds, maxSize = 2, 1<<20
		}
		st := fsStorage()
		if useS3 {
			v := r.startVGW()
			st = r.s3Storage(v, "vanthu-crash")
		}
		corpus := r.loadCorpus(maxSize)
		data := filepath.Join(r.TempDir(), "data")
		tok := r.addUser(data, "lan", "clerk", st.env...)
		run := st.name
		stats := &uploadStats{}
		var next atomic.Int64
		s := r.startServer(data, st.env...)
		var totalBroken, totalDups, totalOther int64
		var lastFig invariantFigures
		var restarts []time.Duration
		orphans := 0
		for round := 1; round <= rounds; round++ {
			var (
				stop   = make(chan struct{})
				killed atomic.Bool
				wg     sync.WaitGroup
				before = stats.made.Load()
				b0, d0 = stats.broken.Load(), stats.dups.Load()
				o0     = stats.other.Load()
			)
			srv := s
			for range 8 {
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						i := next.Add(1)
						name, body, fields := uploadItem(corpus, run, i)
						ctx, cancel := context.WithTimeout(r.Ctx, 2*time.Minute)
						start := time.Now()
						resp, err := srv.upload(ctx, tok, name, body, fields)
						cancel()
						switch {
						case err != nil:
							stats.broken.Add(1)
							if !killed.Load() {
								r.Errorf("round %d: upload %s failed before the kill: %v", round, name, err)
								return
							}
						case resp.status == http.StatusCreated:
							var d document
							if e := json.Unmarshal(resp.body, &d); e != nil || d.SHA256 != sha(body) {
								r.Errorf("round %d: upload %s: 201 with %q", round, name, resp.body)
								continue
							}
							stats.ack(acked{id: d.ID, sha: d.SHA256, number: fields["number"], name: name}, time.Since(start))
						case resp.status == http.StatusConflict:
							stats.dups.Add(1)
						default:
							stats.other.Add(1)
							r.Errorf("round %d: upload %s: %v", round, name, resp)
						}
						if r.Ctx.Err() != nil {
							return
						}
					}
				})
			}
			// Kill once a few uploads of this round are acknowledged, at a
			// moment that varies, while others are in flight.
			deadline := time.Now().Add(2 * time.Minute)
			for stats.made.Load()-before < 4 && time.Now().Before(deadline) && !r.Failed() && r.Ctx.Err() == nil {
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(time.Duration(mrand.IntN(500)) * time.Millisecond)
			killed.Store(true)
			close(stop)
			orphans += s.kill9()
			wg.Wait()
			r.Logf("round %d: kill -9; this round 201=%d 409=%d broken=%d other=%d", round,
				stats.made.Load()-before, stats.dups.Load()-d0, stats.broken.Load()-b0, stats.other.Load()-o0)
			if stats.made.Load()-before < 4 {
				r.Fatalf("round %d: only %d uploads acknowledged before the kill", round, stats.made.Load()-before)
			}
			start := time.Now()
			s = r.startServer(data, st.env...)
			restarts = append(restarts, time.Since(start))
			drain := 3 * time.Minute
			if r.Opt.Short {
				drain = 40 * time.Second
			}
			lastFig = r.checkInvariants(fmt.Sprintf("round %d", round), s, st, tok, stats.acked(), drain)
			r.Logf("round %d after restart: %v", round, lastFig)
			if r.Failed() {
				break
			}
		}
		totalBroken, totalDups, totalOther = stats.broken.Load(), stats.dups.Load(), stats.other.Load()
		r.Figure("storage", "%s", st.name)
		r.Figure("kills", "%d (kill -9 during 8 concurrent uploads)", rounds)
		r.Figure("uploads", "acknowledged(201)=%d duplicate(409)=%d cut_by_kill=%d other_errors=%d", stats.made.Load(), totalDups, totalBroken, totalOther)
		r.Figure("upload_latency", "p50=%v p95=%v", percentile(stats.lat, .5).Round(time.Millisecond), percentile(stats.lat, .95).Round(time.Millisecond))
		r.Figure("restart", "max=%v", slices.Max(append(restarts, 0)).Round(time.Millisecond))
		r.Figure("orphaned_children", "%d extraction processes outlived a kill -9 of vanthu serve (own process groups); the suite killed them", orphans)
		r.Figure("after_last_restart", "%v", lastFig)
		res := r.cli(st.env, "verify", "--data", data)
		r.Figure("fixity", "vanthu verify exit %d: %s", res.code, lastLine(res.out))
		if res.code != 0 {
			r.Errorf("vanthu verify after the crashes: exit %d: %s", res.code, res.out)
		}
		r.Note("searchable = found by GET /api/v1/search?q=<its number/symbol>, a clerk-supplied field unique per upload, so the check does not depend on what extraction or OCR makes of the file")
	}
}

func lastLine(s string) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return l[len(l)-1]
}

// gracefulScenario: SIGTERM under load; requests in flight finish or get
// 503 before the 25 s drain timeout; then the crash invariants hold.
func gracefulScenario(r *R) {
	const drainTimeout = 25 * time.Second
	st := fsStorage()
	corpus := r.loadCorpus(1 << 20)
	data := filepath.Join(r.TempDir(), "data")
	tok := r.addUser(data, "lan", "clerk", st.env...)
	s := r.startServer(data, st.env...)
	stats := &uploadStats{}
	var next atomic.Int64
	var (
		mu        sync.Mutex
		termAt    time.Time
		inflight  = map[string]int{} // outcome → count, for requests written before SIGTERM
		after     = map[string]int{} // outcome → count, for requests sent after
		lateFinal time.Duration
		searches  atomic.Int64
	)
	sigterm := func() time.Time { mu.Lock(); defer mu.Unlock(); return termAt }
	record := func(wrote time.Time, outcome string, end time.Time) {
		mu.Lock()
		defer mu.Unlock()
		if termAt.IsZero() || (!wrote.IsZero() && wrote.Before(termAt)) {
			inflight[outcome]++
			if !termAt.IsZero() && end.Sub(termAt) > lateFinal {
				lateFinal = end.Sub(termAt)
			}
		} else {
			after[outcome]++
		}
	}
	var wg sync.WaitGroup
	stopAt := time.Now().Add(2 * time.Minute) // bound, whatever happens
	for w := range 8 {
		wg.Go(func() {
			for time.Now().Before(stopAt) && r.Ctx.Err() == nil {
				if t := sigterm(); !t.IsZero() && time.Since(t) > drainTimeout+5*time.Second {
					return
				}
				var wrote time.Time
				trace := &httptrace.ClientTrace{
					GotConn: func(httptrace.GotConnInfo) { wrote = time.Time{} },
					WroteRequest: func(i httptrace.WroteRequestInfo) {
						if i.Err == nil {
							wrote = time.Now()
						}
					},
				}
				ctx, cancel := context.WithTimeout(httptrace.WithClientTrace(r.Ctx, trace), time.Minute)
				var resp response
				var err error
				isUpload := w%2 == 0
				var body []byte
				var fields map[string]string
				var name string
				if isUpload {
					i := next.Add(1)
					name, body, fields = uploadItem(corpus, "term", i)
					resp, err = s.upload(ctx, tok, name, body, fields)
				} else {
					resp, err = s.request(ctx, http.MethodGet, "/api/v1/search?q=v%C4%83n+b%E1%BA%A3n+nghi%E1%BB%87m+thu&size=10", tok, nil, nil)
					searches.Add(1)
					time.Sleep(50 * time.Millisecond) // an officer reads the results
				}
				cancel()
				end := time.Now()
				switch {
				case err != nil:
					record(wrote, "transport_error", end)
					if sigterm().IsZero() {
						r.Errorf("before SIGTERM: %v", err)
						return
					}
					if !wrote.IsZero() && wrote.Before(sigterm()) {
						r.Errorf("a request written %v before SIGTERM got no answer: %v", sigterm().Sub(wrote), err)
					}
					if s.p.exited() {
						return // the port is closed; nothing more to learn
					}
					time.Sleep(100 * time.Millisecond)
				case resp.status == http.StatusCreated || resp.status == http.StatusOK:
					record(wrote, "ok", end)
					if isUpload {
						var d document
						if json.Unmarshal(resp.body, &d) == nil && d.SHA256 == sha(body) {
							stats.ack(acked{id: d.ID, sha: d.SHA256, number: fields["number"], name: name}, resp.took)
						} else {
							r.Errorf("upload %s: 201 with %q", name, resp.body)
						}
					}
				case resp.status == http.StatusServiceUnavailable:
					record(wrote, "503", end)
					if t := sigterm(); t.IsZero() {
						r.Errorf("503 before SIGTERM: %v", resp)
					}
				default:
					record(wrote, fmt.Sprint(resp.status), end)
					r.Errorf("%v", resp)
				}
			}
		})
	}
	deadline := time.Now().Add(time.Minute)
	for stats.made.Load() < 3 && time.Now().Before(deadline) && !r.Failed() {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Duration(mrand.IntN(300)) * time.Millisecond)
	mu.Lock()
	termAt = time.Now()
	mu.Unlock()
	if err := syscall.Kill(s.p.pid, syscall.SIGTERM); err != nil {
		r.Fatalf("SIGTERM: %v", err)
	}
	var exitIn time.Duration
	select {
	case <-s.p.done:
		exitIn = time.Since(sigterm())
	case <-time.After(drainTimeout + 10*time.Second):
		r.Errorf("vanthu serve did not exit within %v of SIGTERM", drainTimeout+10*time.Second)
		s.kill9()
	}
	wg.Wait()
	r.Logf("SIGTERM: exited after %v; in flight %v, after %v", exitIn, inflight, after)
	if lateFinal > drainTimeout {
		r.Errorf("a request in flight at SIGTERM finished %v after it, past the %v drain timeout", lateFinal, drainTimeout)
	}
	if e := s.p.exitErr(); e != nil {
		r.Errorf("vanthu serve exited with %v after SIGTERM; log:\n%s", e, s.log(2000))
	}
	s2 := r.startServer(data, st.env...)
	fig := r.checkInvariants("after SIGTERM", s2, st, tok, stats.acked(), 60*time.Second)
	r.Figure("load_before_sigterm", "8 clients (4 uploading corpus files, 4 searching); uploads acknowledged=%d, searches=%d", stats.made.Load(), searches.Load())
	r.Figure("sigterm", "server exited %v after SIGTERM (drain timeout %v); last in-flight answer %v after SIGTERM", exitIn.Round(time.Millisecond), drainTimeout, lateFinal.Round(time.Millisecond))
	r.Figure("requests_in_flight_or_before", "%v", fmtCounts(inflight))
	r.Figure("requests_after_sigterm", "%v", fmtCounts(after))
	r.Figure("after_restart", "%v", fig)
	r.Note("a request counts as in flight when it was completely written before SIGTERM; such requests must get an answer (2xx or 503); later ones may also meet a closed port")
}

func fmtCounts(m map[string]int) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}
