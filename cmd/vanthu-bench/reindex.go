package main

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func (b *bench) reindex(ctx context.Context) error {
	n := b.smokeCap(b.o.reindexDocs)
	ds := b.generated[n]
	baselineNote := "measured by the search scenario of this run on the same documents"
	if ds == nil {
		var err error
		if ds, err = b.generate(ctx, filepath.Join(b.o.work, fmt.Sprintf("reindex-%d", n)), n); err != nil {
			return err
		}
		if ds.build, err = b.buildIndex(ctx, filepath.Join(ds.data, "index"), n); err != nil {
			return err
		}
		baselineNote = "measured just before, on the same documents"
	}
	logf("reindex: vanthu reindex --data %s (%d documents)", ds.data, n)
	cmd := exec.Command(b.bin, "reindex", "--data", ds.data)
	cmd.Env = childEnv()
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	began := time.Now()
	p, err := start("vanthu reindex", cmd)
	if err != nil {
		return err
	}
	var last string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		last = sc.Text()
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		p.stop()
		return ctx.Err()
	}
	took := time.Since(began)
	procs.mu.Lock()
	delete(procs.procs, p)
	procs.mu.Unlock()
	if p.err != nil {
		return fmt.Errorf("vanthu reindex: %v: %s", p.err, stderr.String())
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	var peak int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		peak = ru.Maxrss << 10
	}
	rate := float64(n) / took.Seconds()
	base := float64(n) / ds.build.Seconds()
	b.rep.printf("\n### Reindex\n\n`vanthu reindex --data DIR` on a generated catalog of %d documents with their texts (fs mode; it deletes the index and rebuilds it from the catalog, documents read 500 at a time with `Service.SearchDocs`, one batch ahead of the indexer, indexed 500 at a time). Baseline: the same documents indexed straight with `search.Index.Index` in batches of 500 (%s). Last line: %q.\n",
		n, baselineNote, last)
	perDoc := func(d time.Duration) string {
		if d <= 0 {
			return "?"
		}
		return fmt.Sprintf("%.2f ms", float64(d)/1e6/float64(n))
	}
	b.rep.table([]string{"path", "docs", "time", "docs/s", "CPU per doc", "ratio to baseline", "target ≥ 1,000 docs/s", "peak RSS"}, [][]string{
		{"baseline: direct Index.Index", fmt.Sprint(n), secs(ds.build), rate0(base), perDoc(b.lastBuildCPU), "", "", ""},
		{"vanthu reindex", fmt.Sprint(n), secs(took), rate0(rate), perDoc(cpu), pct(rate, base), verdict(rate >= 1000), mib(peak) + " (rusage maxrss)"},
	})
	prof := filepath.Join(b.o.work, fmt.Sprintf("index-%d-cpu.pprof", n))
	b.rep.printf("Load average at the end: %s. CPU profile of the direct build (the same indexing code `vanthu reindex` runs): `%s`; top by cumulative time:\n\n```\n%s```\n", loadavg(), prof, pprofTop(prof, 40))
	return nil
}

func rate0(r float64) string { return fmt.Sprintf("%.0f", r) }
