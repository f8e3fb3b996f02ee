package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// percentile returns the p-th percentile (0 < p ≤ 100) of ds by the
// nearest-rank method: the smallest value with at least p% of the values at
// or below it. ds need not be sorted; it is not modified.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(p/100*float64(len(s)) + 0.999999999)
	rank = max(1, min(rank, len(s)))
	return s[rank-1]
}

// uniquePDF returns a copy of a PDF with a comment line after its last
// %%EOF naming upload i. PDF readers stop at the cross-reference table the
// trailer points to and ignore bytes after %%EOF (incremental updates
// append there too), so the text and the extraction work are unchanged,
// while the SHA-256 differs: vanthu neither refuses the upload as a
// duplicate (409) nor skips storing it because the content address exists.
func uniquePDF(pdf []byte, i int) []byte {
	out := make([]byte, 0, len(pdf)+40)
	out = append(out, pdf...)
	if !bytes.HasSuffix(out, []byte("\n")) {
		out = append(out, '\n')
	}
	return fmt.Appendf(out, "%%vanthu-bench upload %d\n", i)
}

// uniqueText returns a plain text with a last line naming upload i; the
// line's token (benchNNNNNNN) also makes the copy findable by search.
func uniqueText(txt []byte, i int) []byte {
	out := make([]byte, 0, len(txt)+40)
	out = append(out, bytes.TrimRight(txt, "\n")...)
	return fmt.Appendf(out, "\n\nBản sao lưu trữ số bench%07d\n", i)
}

func benchToken(i int) string { return fmt.Sprintf("bench%07d", i) }

// report collects the markdown that goes to stdout (and -out).
type report struct {
	path string
	buf  strings.Builder
}

func newReport(path string) *report { return &report{path: path} }

func (r *report) printf(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	fmt.Print(s)
	r.buf.WriteString(s)
}

func (r *report) table(head []string, rows [][]string) {
	r.printf("\n| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---|", len(head)))
	for _, row := range rows {
		r.printf("| %s |\n", strings.Join(row, " | "))
	}
	r.printf("\n")
}

func (r *report) flush() {
	if r.path == "" {
		return
	}
	f, err := os.OpenFile(r.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		logf("cannot write %s: %v", r.path, err)
		return
	}
	defer f.Close()
	f.WriteString(r.buf.String())
}

func (r *report) machine() {
	cpu := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	mem := "?"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		fmt.Sscanf(strings.TrimPrefix(strings.SplitN(string(b), "\n", 2)[0], "MemTotal:"), "%d", &kb)
		mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
	}
	gov := runtime.Version()
	if out, err := exec.Command("go", "version").Output(); err == nil {
		gov = strings.TrimSpace(string(out))
	}
	rev := "?"
	if out, err := exec.Command("git", "-C", moduleRoot(), "describe", "--always", "--dirty").Output(); err == nil {
		rev = strings.TrimSpace(string(out))
	}
	r.printf("\n## vanthu-bench run %s (%s)\n\nmachine: %d CPUs (nproc), %s RAM, CPU %q, %s, load average at start %s\n",
		time.Now().Format("2006-01-02 15:04"), rev, runtime.NumCPU(), mem, cpu, gov, loadavg())
}

// Formatting helpers.
func ms(d time.Duration) string   { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }
func mib(n int64) string          { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
func pct(a, b float64) string     { return fmt.Sprintf("%.0f%%", 100*a/b) }
func rate(n float64) string       { return fmt.Sprintf("%.1f", n) }
func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

// loadavg is the 1-minute load average, to say how busy the machine was.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}
