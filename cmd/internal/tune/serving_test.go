package tune

import (
	"runtime"
	"testing"
)

// TestServing: one processor more than the cores, once; the cores are
// what searches run on (search.SetConcurrency; its effect on an index is
// search's TestSetConcurrency).
func TestServing(t *testing.T) {
	t.Setenv("GOMAXPROCS", "") // as if unset
	cores := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(cores)
	Serving()
	Serving()
	if got := runtime.GOMAXPROCS(0); got != cores+1 {
		t.Fatalf("GOMAXPROCS %d after Serving on %d cores, want %d", got, cores, cores+1)
	}
}
