package ingest

import (
	"fmt"
	"os"
	"runtime/debug"
	"syscall"
)

// limitMemory caps the child process in two layers. debug.SetMemoryLimit
// makes the Go collector work harder as the heap nears the limit (a soft
// limit: it never refuses an allocation). RLIMIT_DATA is the hard wall: a
// writable private mapping beyond it fails, the Go runtime dies with "out of
// memory", and pdftotext, pdftoppm and tesseract started by this child
// inherit the same limit.
//
// RLIMIT_DATA, not RLIMIT_AS: a Go binary linked with cgo starts with about
// 1.5 GB of address space reserved (PROT_NONE heap and page-allocator
// reservations, 64 MiB glibc arenas per thread) and almost none of it
// committed, so an address-space limit either kills every child at start-up
// or must be so large it bounds nothing. Since Linux 4.7 RLIMIT_DATA counts
// exactly the writable private mappings, i.e. what can become resident.
// setrlimit in the child itself was chosen over prlimit(1) (one more binary
// to depend on) and cgroups (privileges a service rarely has). Under the
// race detector the hard limit is skipped: ThreadSanitizer maps terabytes of
// writable shadow memory and could not start; the timeout still bounds the
// child.
func limitMemory(limit int64) {
	if limit <= 0 {
		return
	}
	debug.SetMemoryLimit(limit / 4 * 3)
	if raceEnabled {
		return
	}
	lim := &syscall.Rlimit{Cur: uint64(limit), Max: uint64(limit)}
	if err := syscall.Setrlimit(syscall.RLIMIT_DATA, lim); err != nil {
		fmt.Fprintln(os.Stderr, "ingest: setrlimit:", err)
	}
}
