package ingest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestChildRunsBelowSearches: while a scan is OCRed, every thread of the
// extraction child and of the tool it runs has nice ChildNice, below the
// server's search workers.
func TestChildRunsBelowSearches(t *testing.T) {
	needCorpus(t)
	if tools := LookupTools(); tools.Tesseract == "" || tools.PDFToPPM == "" {
		t.Skip("pdftoppm or tesseract not installed (bash .ci/test.sh installs them)")
	}
	e := childExtractor(t, 3*time.Minute)
	e.TempDir = t.TempDir()
	scan := filepath.Join(corpusDir, "pdf", "CV-813-CucHoaChat.pdf")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	report := make(chan string, 1)
	go func() {
		defer cancel()
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(10 * time.Millisecond) {
			if findFile(e.TempDir, ".png") == "" {
				continue
			}
			// The OCR has begun: the child and the tool it runs now.
			var seen []string
			for _, child := range childrenOf(os.Getpid()) {
				for _, p := range append([]int{child}, childrenOf(child)...) {
					seen = append(seen, threadNices(p)...)
				}
			}
			report <- strings.Join(seen, " ")
			return
		}
	}()
	e.Extract(ctx, scan, MimePDF)
	var seen string
	select {
	case seen = <-report:
	default:
		t.Fatal("the OCR never started")
	}
	if seen == "" {
		t.Fatal("no extraction process found while the scan was OCRed")
	}
	want := fmt.Sprintf("nice=%d", ChildNice)
	for _, th := range strings.Fields(seen) {
		if !strings.HasSuffix(th, want) {
			t.Errorf("thread %s, want %s", th, want)
		}
	}
	t.Logf("threads while OCRing: %s", seen)
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
