package main

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"vanthu/archive"
	"vanthu/archive/sqlite"
	"vanthu/search"
	"vanthu/search/searchbench"
)

// benchQueries are the search engineer's fixed queries (searchbench, with
// facets, highlights and a year filter on every third) plus two with a
// type and a level filter.
func benchQueries() []search.Request {
	qs := searchbench.Queries()
	qs = append(qs,
		search.Request{Q: "kế hoạch", Type: "KH", Facets: true, Highlight: true, Size: 20, Clearance: archive.Unclassified},
		search.Request{Q: "an toàn hóa chất", Level: "provincial", Year: 2018, Facets: true, Highlight: true, Size: 20, Clearance: archive.Unclassified},
	)
	return qs
}

// query is the API's query string for r (the API always asks for facets
// and highlights).
func queryString(r search.Request) string {
	v := url.Values{"q": {r.Q}}
	if r.Year > 0 {
		v.Set("year", strconv.Itoa(r.Year))
	}
	for k, s := range map[string]string{"type": r.Type, "level": r.Level, "issuer": r.Issuer} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if r.Size > 0 {
		v.Set("size", strconv.Itoa(r.Size))
	}
	return v.Encode()
}

// measure runs n calls of do from workers goroutines and returns every
// latency.
func measure(ctx context.Context, workers, n int, do func(i int) error) ([]time.Duration, time.Duration, error) {
	times := make([]time.Duration, n)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				t := time.Now()
				err := do(i)
				times[i] = time.Since(t)
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return times, time.Since(start), firstErr
}

type latRow struct {
	path          string
	clients       int
	p50, p95, p99 time.Duration
	qps           float64
}

func latencyRow(path string, clients int, ts []time.Duration, wall time.Duration) latRow {
	return latRow{path, clients, percentile(ts, 50), percentile(ts, 95), percentile(ts, 99), float64(len(ts)) / wall.Seconds()}
}

func (b *bench) search(ctx context.Context) error {
	var sizes []int
	for _, s := range strings.Split(b.o.searchDocs, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return fmt.Errorf("-search-docs: %q is not a size", s)
		}
		sizes = append(sizes, b.smokeCap(n))
	}
	b.rep.printf("\n### Search\n\n%d queries (searchbench.Queries: accented, folded, phrase with exclusion, number, prefix; year filter on every third; plus a type and a level+year filter), facets and highlights on, 20 hits; %d searches per row after a warm-up, taken in %d turns of direct and HTTP (which goes first alternates), percentiles over all turns. HTTP: `GET /api/v1/search` of `vanthu serve` (fs mode) with a clerk's token, through fasthttp's client; direct: `search.Index.Search` in this process on a copy of the server's index (segment files hard-linked), while the server waits idle; \"direct, spare P\": the same with one Go processor more than searches run at once, as vanthu serve has it (the HTTP ratio is taken against plain direct, the faster).\n",
		len(benchQueries()), b.o.queries, max(1, b.o.rounds))
	var lastRate float64
	for _, n := range sizes {
		if lastRate > 0 {
			est := time.Duration(float64(n)/lastRate*1.3) * time.Second // merges make larger indexes slower per document
			if est > b.o.maxBuild {
				b.rep.printf("\n**%d documents: not run.** At the %.0f docs/s measured for the smaller index, the build alone would take about %v (×1.3 for merge cost), over the %v budget (-max-build). Extrapolation below.\n",
					n, lastRate, est.Round(time.Minute), b.o.maxBuild)
				continue
			}
		}
		rate, err := b.searchAt(ctx, n)
		if err != nil {
			return err
		}
		lastRate = rate
	}
	return nil
}

// searchAt builds (or reuses) a dataset of n documents and measures it;
// it returns the direct build rate in documents per second.
func (b *bench) searchAt(ctx context.Context, n int) (float64, error) {
	var ds *dataset
	var err error
	if b.o.reuse != "" {
		// A data dir kept (-keep) from an earlier run: measure the current
		// search code on it without rebuilding.
		ds = &dataset{n: n, data: filepath.Join(b.o.reuse, "data")}
		out, err := b.cli(ctx, nil, "token", "create", "bench", "--data", ds.data)
		if err != nil {
			return 0, err
		}
		ds.token = strings.TrimSpace(out)
		b.rep.printf("\nReusing the catalog and index in %s (built by an earlier run).\n", b.o.reuse)
	} else {
		root := filepath.Join(b.o.work, fmt.Sprintf("search-%d", n))
		if ds, err = b.generate(ctx, root, n); err != nil {
			return 0, err
		}
		if ds.build, err = b.buildIndex(ctx, filepath.Join(ds.data, "index"), n); err != nil {
			return 0, err
		}
	}
	if b.generated == nil {
		b.generated = map[int]*dataset{}
	}
	indexDir := filepath.Join(ds.data, "index")
	b.generated[n] = ds
	size, _ := searchbench.DirSize(indexDir)
	buildRate := float64(n) / max(ds.build.Seconds(), 1e-9)

	reqs := benchQueries()
	totals := make([]uint64, len(reqs))
	prof := filepath.Join(b.o.work, fmt.Sprintf("search-%d-cpu.pprof", n))
	// Direct and HTTP take turns in short rows, -rounds times at each
	// concurrency, and the percentiles are taken over all rounds: this
	// machine's speed drifts by 20% within minutes, and two runs of the
	// same code measured one path after the other put HTTP 10% and 55%
	// over direct at p99. So the server stays up for the whole
	// measurement and the direct searches run on a copy of its index in
	// this process (the segment files hard-linked, so both read the same
	// pages of the page cache): neither waits for a start, and each pair
	// of rows meets the same machine. Which path goes first alternates.
	rounds := max(1, b.o.rounds)
	per := max(1, b.o.queries/rounds)
	samples := map[string][]time.Duration{}
	walls := map[string]time.Duration{}
	// CPU of this process (the direct searches, or the HTTP client) and of
	// the server, per row: where an HTTP search's time goes on 2 cores.
	ownCPU, srvCPU := map[string]time.Duration{}, map[string]time.Duration{}
	add := func(path string, c int, ts []time.Duration, wall, own, srv time.Duration) {
		k := fmt.Sprintf("%s/%d", path, c)
		samples[k] = append(samples[k], ts...)
		walls[k] += wall
		ownCPU[k] += own
		srvCPU[k] += srv
	}

	directDir := filepath.Join(b.o.work, fmt.Sprintf("search-%d-direct-index", n))
	if err := linkIndex(indexDir, directDir); err != nil {
		return 0, err
	}
	defer os.RemoveAll(directDir)
	ix, err := search.Open(directDir)
	if err != nil {
		return 0, err
	}
	defer ix.Close()
	direct := func(i int) error {
		res, err := ix.Search(ctx, reqs[i%len(reqs)])
		if err == nil && i < len(reqs) {
			totals[i] = res.Total
		}
		return err
	}
	srv, err := b.startServer(ctx, ds.data)
	if err != nil {
		return 0, err
	}
	stopSrv := sync.OnceFunc(srv.stop)
	defer stopSrv()
	// The client shares the two cores with the server, so it is the
	// leanest one at hand (fasthttp's, which Fiber's server is built
	// on): net/http's cost 0.28 ms per search, 4% of the machine.
	client := &fasthttp.HostClient{Addr: strings.TrimPrefix(srv.url, "http://"), MaxConns: 16, ReadTimeout: time.Minute, WriteTimeout: time.Minute}
	urls := make([]string, len(reqs))
	for i, r := range reqs {
		urls[i] = srv.url + "/api/v1/search?" + queryString(r)
	}
	get := func(url, token string) error {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI(url)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if err := client.Do(req, resp); err != nil {
			return err
		}
		if resp.StatusCode() != http.StatusOK {
			return fmt.Errorf("GET %s: %d %s", url, resp.StatusCode(), resp.Body())
		}
		return nil
	}
	httpSearch := func(i int) error { return get(urls[i%len(urls)], ds.token) }
	healthz := func(int) error { return get(srv.url+"/healthz", "") }

	// Warm-up: both copies of the index paged in, both processes' caches
	// filled.
	for _, do := range []func(int) error{direct, httpSearch} {
		if _, _, err := measure(ctx, 2, 2*len(reqs), do); err != nil {
			return 0, err
		}
	}
	var profText string
	// runDirect measures a row of direct searches; with spare, Go gets one
	// processor more than the searches use, as vanthu serve has it
	// (tune.Serving): shown beside the plain direct row, which the HTTP
	// ratio is taken against because it is the faster of the two.
	runDirect := func(c int, profile, spare bool) error {
		path := "direct"
		if spare {
			path = directSpare
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 1))
		}
		var pf *os.File
		if profile {
			var err error
			if pf, err = os.Create(prof); err == nil {
				err = pprof.StartCPUProfile(pf)
			}
			if err != nil {
				return err
			}
		}
		c0 := rusage(syscall.RUSAGE_SELF)
		ts, wall, err := measure(ctx, c, per, direct)
		own := rusage(syscall.RUSAGE_SELF) - c0
		if pf != nil {
			pprof.StopCPUProfile()
			pf.Close()
		}
		if err == nil {
			add(path, c, ts, wall, own, 0)
		}
		return err
	}
	runHTTP := func(c int, profile bool) error {
		waitProf := func() string { return "" }
		if profile {
			waitProf = b.profileServer(srv, fmt.Sprintf("search-%d-http%d", n, c), 10*time.Second)
		}
		c0 := rusage(syscall.RUSAGE_SELF)
		s0, _ := procCPU(srv.pid())
		ts, wall, err := measure(ctx, c, per, httpSearch)
		own := rusage(syscall.RUSAGE_SELF) - c0
		s1, _ := procCPU(srv.pid())
		profText += waitProf()
		if err == nil {
			add("HTTP", c, ts, wall, own, s1-s0)
		}
		return err
	}
	for _, c := range []int{1, 8} {
		logf("search %d: %d clients, %d rounds of %d searches per path", n, c, rounds, per)
		for round := range rounds {
			profile := c == 8 && round == 0
			plain := func(c int, profile bool) error { return runDirect(c, profile, false) }
			first, second := plain, runHTTP
			if round%2 == 1 {
				first, second = runHTTP, plain
			}
			if err := first(c, profile); err != nil {
				return 0, err
			}
			if err := second(c, profile); err != nil {
				return 0, err
			}
			if err := runDirect(c, false, true); err != nil {
				return 0, err
			}
		}
	}
	var floor []latRow
	for _, c := range []int{1, 8} {
		ts, wall, err := measure(ctx, c, b.o.queries, healthz)
		if err != nil {
			return 0, err
		}
		floor = append(floor, latencyRow("HTTP floor (GET /healthz)", c, ts, wall))
	}
	rss, hwm := procStatus(srv.pid(), "VmRSS"), procStatus(srv.pid(), "VmHWM")
	stopSrv()
	var rows []latRow
	for _, path := range []string{"direct", directSpare, "HTTP"} {
		for _, c := range []int{1, 8} {
			k := fmt.Sprintf("%s/%d", path, c)
			rows = append(rows, latencyRow(path, c, samples[k], walls[k]))
		}
	}

	// The audit event every API search appends (one write transaction on
	// the catalog's single writer, synchronous=FULL), measured alone.
	cat, err := sqlite.Open(filepath.Join(ds.data, "catalog.db"))
	if err != nil {
		return 0, err
	}
	var auditRows []latRow
	for _, c := range []int{1, 8} {
		ts, wall, err := measure(ctx, c, b.o.queries, func(i int) error {
			return cat.Record(ctx, &archive.Event{Actor: "bench", Role: "clerk", Action: archive.ActionSearch, Details: map[string]any{"q": reqs[i%len(reqs)].Q}})
		})
		if err != nil {
			cat.Close()
			return 0, err
		}
		auditRows = append(auditRows, latencyRow("audit append alone (Catalog.Record)", c, ts, wall))
	}
	cat.Close()

	built := fmt.Sprintf("Catalog generated in %s; index built straight (search.Index.Index, batches of 500) in %s = **%.0f docs/s**", secs(ds.genTime), secs(ds.build), buildRate)
	if b.o.reuse != "" {
		built = "Catalog and index reused from " + b.o.reuse
	}
	b.rep.printf("\n#### %d documents\n\n%s; index on disk **%s**; server RSS after the HTTP runs %s (peak %s); load average %s.\n",
		n, built, mib(size), mib(rss), mib(hwm), loadavg())
	var trs [][]string
	byKey := map[string]latRow{}
	for _, r := range rows {
		byKey[fmt.Sprintf("%s/%d", r.path, r.clients)] = r
	}
	for _, r := range append(append(rows, auditRows...), floor...) {
		target, ratio := "", ""
		if r.path == "HTTP" {
			d := byKey[fmt.Sprintf("direct/%d", r.clients)]
			ratio = fmt.Sprintf("p50 +%s, p99 +%s over direct", pct(float64(r.p50-d.p50), float64(d.p50)), pct(float64(r.p99-d.p99), float64(d.p99)))
			lim := map[int]time.Duration{1: 50 * time.Millisecond, 8: 150 * time.Millisecond}[r.clients]
			if n >= 1000000 {
				lim = map[int]time.Duration{1: 0, 8: 300 * time.Millisecond}[r.clients]
			}
			if lim > 0 {
				target = fmt.Sprintf("p99 < %v: %s; HTTP ≤ +30%% at p50 and p99: %s", lim, verdict(r.p99 < lim), verdict(float64(r.p50) <= 1.3*float64(d.p50) && float64(r.p99) <= 1.3*float64(d.p99)))
			}
		}
		trs = append(trs, []string{r.path, fmt.Sprint(r.clients), ms(r.p50), ms(r.p95), ms(r.p99), rate(r.qps), ratio, target})
	}
	b.rep.table([]string{"path", "clients", "p50", "p95", "p99", "req/s", "HTTP vs direct", "targets"}, trs)
	var cpu []string
	for _, path := range []string{"direct", directSpare, "HTTP"} {
		for _, c := range []int{1, 8} {
			k := fmt.Sprintf("%s/%d", path, c)
			n := float64(len(samples[k]))
			if n == 0 {
				continue
			}
			per := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6/n) }
			if path != "HTTP" {
				cpu = append(cpu, fmt.Sprintf("%s, %d client(s): %s", path, c, per(ownCPU[k])))
			} else {
				cpu = append(cpu, fmt.Sprintf("HTTP, %d client(s): server %s + benchmark client %s = %s", c, per(srvCPU[k]), per(ownCPU[k]), per(srvCPU[k]+ownCPU[k])))
			}
		}
	}
	b.rep.printf("CPU per search (all rounds; rusage of this process, /proc of the server): %s.\n\n", strings.Join(cpu, "; "))
	var hits []string
	for i, r := range reqs {
		hits = append(hits, fmt.Sprintf("%q%s → %d", r.Q, filterNote(r), totals[i]))
	}
	b.rep.printf("Hits per query: %s.\n\n", strings.Join(hits, "; "))
	b.rep.printf("%s", profText)
	b.rep.printf("CPU profile of the direct 8-client run: `%s`; top functions (flat and cumulative):\n\n```\n%s```\n", prof, pprofTop(prof, 22))
	return buildRate, nil
}

// linkIndex makes dst a copy of the scorch index in src for a second
// reader: the segment files, which scorch never changes once written, are
// hard links (the same pages in the page cache); the rest is copied.
func linkIndex(src, dst string) error {
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(to, 0o750)
		case strings.HasSuffix(path, ".zap"):
			return os.Link(path, to)
		default:
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(to, b, 0o640)
		}
	})
}

// directSpare is the row of direct searches with the server's spare
// processor.
const directSpare = "direct, spare P"

func filterNote(r search.Request) string {
	var f []string
	if r.Year > 0 {
		f = append(f, fmt.Sprintf("year=%d", r.Year))
	}
	if r.Type != "" {
		f = append(f, "type="+r.Type)
	}
	if r.Level != "" {
		f = append(f, "level="+r.Level)
	}
	if len(f) == 0 {
		return ""
	}
	return " [" + strings.Join(f, ",") + "]"
}

// pprofTop is `go tool pprof -top` of a profile of this process, cut to
// lines lines, sorted by cumulative time.
func pprofTop(prof string, lines int) string {
	exe, _ := os.Executable()
	out, err := exec.Command("go", "tool", "pprof", "-top", "-cum", "-nodecount", strconv.Itoa(lines), exe, prof).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("(go tool pprof failed: %v)\n%s", err, out)
	}
	return string(out)
}
