package archivetest

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"time"
)

// WaitStopped returns once every thread of process pid is stopped (state
// T), as after SIGSTOP, and how long that took. kill(2) returns before the
// threads stop: on a loaded two-core machine the last one stopped up to
// 4.5 ms later, long enough to answer a request sent after the signal,
// which a test of a frozen S3 server takes for a failure.
func WaitStopped(pid int, within time.Duration) (time.Duration, error) {
	start := time.Now()
	var last string
	for time.Since(start) < within {
		tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		if err != nil {
			return 0, fmt.Errorf("threads of process %d: %w", pid, err)
		}
		running := 0
		for _, task := range tasks {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
			if err != nil {
				continue // the thread has exited
			}
			// "tid (comm) S ...": the state follows the last ')'.
			if f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:])); len(f) > 0 && f[0] != "T" {
				running++
				last = task.Name() + " in state " + f[0]
			}
		}
		if running == 0 {
			return time.Since(start), nil
		}
		time.Sleep(time.Millisecond)
	}
	return 0, fmt.Errorf("process %d not stopped %v after SIGSTOP (thread %s)", pid, within, last)
}
