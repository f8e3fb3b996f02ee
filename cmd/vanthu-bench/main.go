// Command vanthu-bench measures vanthu end to end — bulk ingest, search,
// large uploads and reindex — each beside a baseline measured in the same
// run, and prints the figures as ratios against those baselines.
//
//	go run ./cmd/vanthu-bench ingest|search|upload|reindex|all [flags]
//
// It builds the real vanthu binary, starts `vanthu serve` (and, for the S3
// runs, a versitygw) on 127.0.0.1 with fresh data directories, talks to them
// over HTTP only, and stops every process it started, on Ctrl-C too.
// See BENCHMARKS.md for the commands and the results.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"vanthu/cmd/internal/tune"
)

const usage = `vanthu-bench — throughput and latency of vanthu against same-run baselines

Usage:
  go run ./cmd/vanthu-bench <scenario> [flags]

Scenarios:
  ingest    bulk upload of text-layer PDFs and plain texts through the API
            (S3 and fs modes) vs extraction alone and Bleve indexing alone
  search    p50/p95/p99 search latency at 1 and 8 clients, HTTP vs direct,
            on generated indexes of -search-docs documents
  upload    a 1 GiB stream through the API vs minio-go straight to S3
  reindex   vanthu reindex of -reindex-docs catalogued documents vs
            indexing the same documents straight into Bleve
  all       all of the above, in that order

Flags:
`

type options struct {
	n           int    // ingest: uploads per run
	baseN       int    // ingest: files the baselines process (0 = n)
	clients     int    // ingest: concurrent uploaders
	modes       string // ingest: s3,fs
	kinds       string // ingest: pdf,text
	searchDocs  string // search: comma-separated sizes
	queries     int    // search: searches per concurrency level
	maxBuild    time.Duration
	reindexDocs int
	uploadSize  int64
	s3Endpoint  string
	s3Access    string
	s3Secret    string
	corpus      string
	work        string
	keep        bool
	out         string
	profile     bool
	reuse       string
	rounds      int
}

func main() {
	// vanthu serve's heap floor, which spares a search straight against the
	// index most garbage collections too. Not its spare processor
	// (tune.Serving): a process that only searches does better without one
	// (p99 at 8 clients 34.6 against 43.2 ms and 35.3 against 41.8 in
	// paired rows, BENCHMARKS.md), and the direct call is the baseline HTTP
	// is held to.
	tune.GC()
	var o options
	fs := flag.NewFlagSet("vanthu-bench", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	fs.IntVar(&o.n, "n", 2000, "ingest: uploads per run (each of pdf and text, in each storage mode); below 2000 it also makes a smoke run: search and reindex sizes at most 50×n, the large upload at most 64 MiB")
	fs.IntVar(&o.baseN, "base-n", 0, "ingest: files the extraction and indexing baselines process, rounded to whole cycles of the corpus (0 = same as -n)")
	fs.IntVar(&o.clients, "clients", 8, "ingest: concurrent upload clients")
	fs.StringVar(&o.modes, "modes", "s3,fs", "ingest: storage modes to run")
	fs.StringVar(&o.kinds, "kinds", "pdf,text", "ingest: document kinds to run")
	fs.StringVar(&o.searchDocs, "search-docs", "100000,1000000", "search: index sizes; a size whose estimated build time exceeds -max-build is skipped and extrapolated")
	fs.IntVar(&o.queries, "queries", 400, "search: searches per concurrency level and path")
	fs.IntVar(&o.rounds, "rounds", 3, "search: direct and HTTP take turns this many times, each with queries/rounds searches per row")
	fs.DurationVar(&o.maxBuild, "max-build", 25*time.Minute, "search: largest estimated build time to attempt")
	fs.IntVar(&o.reindexDocs, "reindex-docs", 100000, "reindex: catalogued documents")
	fs.Int64Var(&o.uploadSize, "upload-size", 1<<30, "upload: bytes of the large stream")
	fs.StringVar(&o.s3Endpoint, "s3", "", "host:port of an S3 server on 127.0.0.1 to use instead of starting versitygw (with -s3-access, -s3-secret)")
	fs.StringVar(&o.s3Access, "s3-access", "vanthubench", "S3 access key")
	fs.StringVar(&o.s3Secret, "s3-secret", "vanthubenchsecret", "S3 secret key")
	fs.StringVar(&o.corpus, "corpus", "", "corpus directory (default: ../shared/corpus relative to the module)")
	fs.StringVar(&o.work, "work", "", "working directory for data dirs, logs and profiles (default: a fresh temporary one, removed at the end unless -keep)")
	fs.BoolVar(&o.keep, "keep", false, "keep the working directory")
	fs.BoolVar(&o.profile, "profile", false, "run vanthu serve built with net/http/pprof overlaid (go build -overlay; the tree is not changed) and add CPU profiles of the server to the results; use for diagnosis, not for the figures")
	fs.StringVar(&o.reuse, "reuse", "", "search: measure on the catalog and index kept in this directory (a search-N dir of an earlier -keep run, holding data/) instead of generating them; give one -search-docs size")
	fs.StringVar(&o.out, "out", "", "also append the results (markdown) to this file")
	if len(os.Args) < 2 || strings.HasPrefix(os.Args[1], "-") {
		fs.Usage()
		os.Exit(2)
	}
	scenario := os.Args[1]
	if err := fs.Parse(os.Args[2:]); err != nil {
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, scenario, o)
	stop()
	procs.stopAll()
	if err != nil {
		fmt.Fprintln(os.Stderr, "vanthu-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, scenario string, o options) (err error) {
	if o.s3Endpoint != "" && !strings.HasPrefix(o.s3Endpoint, "127.0.0.1:") {
		return errors.New("-s3 must be an address on 127.0.0.1 (host:port)")
	}
	if o.corpus == "" {
		o.corpus, err = defaultCorpus()
		if err != nil {
			return err
		}
	}
	if o.work == "" {
		if o.work, err = os.MkdirTemp("", "vanthu-bench-"); err != nil {
			return err
		}
		if !o.keep {
			defer os.RemoveAll(o.work)
		}
	}
	b := &bench{o: o, rep: newReport(o.out)}
	defer b.rep.flush()
	b.rep.machine()
	bin, err := buildVanthu(ctx, o.work)
	if err != nil {
		return err
	}
	b.bin = bin
	if o.profile {
		if b.bin, err = buildProfiling(ctx, o.work); err != nil {
			return err
		}
		b.rep.printf("\n**-profile run**: vanthu serve built with net/http/pprof overlaid; figures are for diagnosis.\n")
	}
	table := map[string][]func(context.Context) error{
		"ingest":  {b.ingest},
		"search":  {b.search},
		"upload":  {b.upload},
		"reindex": {b.reindex},
		"all":     {b.ingest, b.search, b.upload, b.reindex},
	}
	var steps []func(context.Context) error
	for _, s := range strings.Split(scenario, ",") { // e.g. search,reindex
		if table[s] == nil {
			return fmt.Errorf("unknown scenario %q (ingest, search, upload, reindex, all, or a comma-separated list)", s)
		}
		steps = append(steps, table[s]...)
	}
	for _, s := range steps {
		if err := s(ctx); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

// bench is one run's shared state.
type bench struct {
	o   options
	bin string // the built vanthu binary
	rep *report
	s3  *s3Server // started lazily, shared by the scenarios
	// catalogs generated by the search scenario, reused by reindex under all
	generated map[int]*dataset
	profiles  []string // CPU profiles of direct index builds
	// CPU time (user+system) of the last direct index build
	lastBuildCPU time.Duration
}

// smokeCap shrinks a document count for a smoke run: with -n below the
// full 2,000 uploads, the search and reindex sizes are at most 50×n.
func (b *bench) smokeCap(docs int) int {
	if b.o.n < 2000 {
		return min(docs, max(b.o.n, 1)*50)
	}
	return docs
}

func defaultCorpus() (string, error) {
	_, file, _, _ := runtime.Caller(0)
	cands := []string{
		filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "corpus"),
		filepath.Join("..", "shared", "corpus"),
	}
	for _, c := range cands {
		if st, err := os.Stat(filepath.Join(c, "MANIFEST.tsv")); err == nil && !st.IsDir() {
			return filepath.Abs(c)
		}
	}
	return "", errors.New("corpus not found; pass -corpus DIR (the directory holding MANIFEST.tsv)")
}

// logf prints progress to stderr with a timestamp.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

var _ io.Writer = (*os.File)(nil)
