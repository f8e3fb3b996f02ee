package ingest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestChildRunsBelowSearches: while a scan is OCRed, every thread of the
// extraction child and of the tool it runs has nice ChildNice, below the
// server's search workers.
func TestChildRunsBelowSearches(t *testing.T) {
	e := ocrExtractor(t)
	var seen []string
	whileOCRing(t, e, func() {
		// The OCR has begun: the child and the tool it runs now.
		for _, child := range childrenOf(os.Getpid()) {
			for _, p := range append([]int{child}, childrenOf(child)...) {
				seen = append(seen, threadNices(p)...)
			}
		}
	})
	if len(seen) == 0 {
		t.Fatal("no extraction process found while the scan was OCRed")
	}
	want := fmt.Sprintf("nice=%d", ChildNice)
	for _, th := range seen {
		if !strings.HasSuffix(th, want) {
			t.Errorf("thread %s, want %s", th, want)
		}
	}
	t.Logf("threads while OCRing: %s", strings.Join(seen, " "))
}

// childrenOf lists the processes whose parent is pid.
func childrenOf(pid int) []int {
	var out []int
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		n, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		if f := statFields(fmt.Sprintf("/proc/%d/stat", n)); len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, n)
		}
	}
	return out
}

// threadNices describes each thread of pid as "comm/tid:nice=N".
func threadNices(pid int) []string {
	var out []string
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, task := range tasks {
		path := fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name())
		raw, _ := os.ReadFile(path)
		comm := ""
		if i, j := strings.IndexByte(string(raw), '('), strings.LastIndexByte(string(raw), ')'); i >= 0 && j > i {
			comm = string(raw[i+1 : j])
		}
		if f := statFields(path); len(f) > 16 {
			out = append(out, fmt.Sprintf("%s/%s:nice=%s", comm, task.Name(), f[16]))
		}
	}
	return out
}

// statFields are the fields of a /proc stat file after the command name:
// state, ppid, … (field 3 of proc(5) is index 0; nice, field 19, is 16).
func statFields(path string) []string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	s := string(raw)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
}
