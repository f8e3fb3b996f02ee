package ingest

import (
	"os"
	"strconv"
	"syscall"
)

// ChildNice is the scheduling priority (nice) of an extraction child and of
// the tools it runs (pdftotext, pdftoppm, tesseract): below vanthu serve's
// search workers (nice 5, see search.startWorkers) and its request work
// (nice 0), so that the OCR of an import uses the cores searches leave
// free instead of taking three quarters of them from the searches.
const ChildNice = 10

// lowerPriority sets every thread of this process to nice n. On Linux a
// nice value belongs to a thread, not to the process; threads created
// afterwards, and programs started from them, inherit their creator's.
// A thread the runtime starts while the first pass runs is caught by the
// next. Best effort: a process that cannot change its priority runs as it is.
func lowerPriority(n int) {
	for range 3 {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return
		}
		changed := false
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			// The raw syscall's value is 20 - nice.
			if prio, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid); err == nil && 20-prio == n {
				continue
			}
			if syscall.Setpriority(syscall.PRIO_PROCESS, tid, n) == nil {
				changed = true
			}
		}
		if !changed {
			return
		}
	}
}
