package tune

import (
	"os"
	"runtime"
	"sync"

	"vanthu/search"
)

// Serving sets up a process that serves requests: searches run one per
// core, each to its end (search.SetConcurrency), and Go gets one processor
// (P) more than that. With every P inside a search (6 ms on average, up to
// 30), a request that had just arrived — a search to queue, an upload's
// next chunk, a health check — waited for a search to end before Go ran
// it, so requests entered the search queue out of order and the 8-client
// p99 through HTTP was 35–47% over the same searches made directly, for
// 14–19% at the median. The spare P runs that short work at once, the
// kernel sharing the cores for those moments. GOMAXPROCS set in the
// environment is left as it is (searches then run that many at a time).
// Later calls change nothing.
func Serving() {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	serving.Do(func() {
		cores := runtime.GOMAXPROCS(0) // Go's count, which follows a container's CPU limit
		search.SetConcurrency(cores)
		runtime.GOMAXPROCS(cores + 1)
	})
}

var serving sync.Once
