package archivetest

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Thread is one thread of a process as /proc shows it.
type Thread struct {
	TID   int
	Comm  string
	State string // proc(5): R running, S sleeping, T stopped, …
	Nice  int
}

func (t Thread) String() string { return fmt.Sprintf("%s/%d:nice=%d", t.Comm, t.TID, t.Nice) }

// Threads lists the threads of process pid (/proc/PID/task/*/stat);
// threads that end while it reads are left out.
func Threads(pid int) ([]Thread, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return nil, fmt.Errorf("threads of process %d: %w", pid, err)
	}
	var out []Thread
	for _, task := range tasks {
		comm, f := procStat(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
		if len(f) < 17 {
			continue // the thread has exited
		}
		tid, _ := strconv.Atoi(task.Name())
		nice, _ := strconv.Atoi(f[16])
		out = append(out, Thread{TID: tid, Comm: comm, State: f[0], Nice: nice})
	}
	return out, nil
}

// Children lists the processes whose parent is pid.
func Children(pid int) []int {
	var out []int
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		n, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		if _, f := procStat(fmt.Sprintf("/proc/%d/stat", n)); len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, n)
		}
	}
	return out
}

// procStat reads a /proc stat file: "pid (comm) state ppid …". fields start
// at the state (field 3 of proc(5) is fields[0]; nice, field 19, is
// fields[16]); the command name may hold spaces and parentheses, so it ends
// at the last ')'.
func procStat(path string) (comm string, fields []string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", nil
	}
	i, j := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if i < 0 || j < i {
		return "", nil
	}
	return string(b[i+1 : j]), strings.Fields(string(b[j+1:]))
}

// WaitStopped returns once every thread of process pid is stopped (state
// T), as after SIGSTOP, and how long that took. kill(2) returns before the
// threads stop: on a loaded two-core machine the last one stopped up to
// 4.5 ms later, long enough to answer a request sent after the signal,
// which a test of a frozen S3 server takes for a failure.
func WaitStopped(pid int, within time.Duration) (time.Duration, error) {
	start := time.Now()
	var last string
	for time.Since(start) < within {
		threads, err := Threads(pid)
		if err != nil {
			return 0, err
		}
		running := 0
		for _, t := range threads {
			if t.State != "T" {
				running++
				last = fmt.Sprintf("%d in state %s", t.TID, t.State)
			}
		}
		if running == 0 {
			return time.Since(start), nil
		}
		time.Sleep(time.Millisecond)
	}
	return 0, fmt.Errorf("process %d not stopped %v after SIGSTOP (thread %s)", pid, within, last)
}
