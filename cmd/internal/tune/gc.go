// Package tune holds the runtime settings of vanthu's processes: a floor
// under the heap goal (GC), for every command, and one processor more than
// cores for the server (Serving). vanthu-bench applies the heap floor to
// itself too, so that its direct searches run under the server's garbage
// collection.
package tune

// A floor under the heap goal (GC).
//
// vanthu's live heap is small (about 5 MiB while it serves searches: the
// index lives in mapped files, not on the heap) and a search allocates
// about a megabyte, so with the default GOGC=100 the collector ran some
// fifty times a second, its fixed cost per cycle paid every few searches
// (BENCHMARKS.md). A floor on the heap goal spaces the cycles out for the
// price of a few tens of MiB; once the live heap is large (indexing,
// reindex) the goal is the default's, twice the live heap.
//
// The Go runtime has a ceiling (GOMEMLIMIT) but no floor, so after every
// collection GOGC is set so that the next goal is max(floor, 2 × live).
// This is the usual "GC tuner" technique (a finalizer that runs once per
// cycle). An operator's own GOGC setting is left alone.

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// HeapFloor is the heap goal vanthu's processes keep at least. A higher
// floor saves the searches a little more CPU but lets a streaming copy
// leave more garbage between collections: during a 1 GiB upload and
// download the server's peak RSS was 131 MiB with a 64 MiB floor (the
// target is under 150), 101 MiB with 32 MiB and 41 MiB with none
// (vanthu-bench upload).
const HeapFloor = 32 << 20

var once sync.Once

// GC keeps the heap goal at or above HeapFloor.
func GC() { setHeapFloor(HeapFloor) }

// setHeapFloor keeps the heap goal at or above floor bytes from the next
// collection on, unless GOGC is set in the environment. Later calls do
// nothing.
func setHeapFloor(floor uint64) {
	if os.Getenv("GOGC") != "" || floor == 0 {
		return
	}
	once.Do(func() {
		t := &tuner{floor: floor, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}, percent: 100}
		t.arm()
	})
}

type tuner struct {
	floor   uint64
	sample  []metrics.Sample
	percent int
}

// sentinel becomes garbage at once; its finalizer runs after the cycle
// that found it, and arms the next one.
type sentinel struct {
	t *tuner
	_ [16]byte // not a tiny allocation, whose finalizer might never run
}

func (t *tuner) arm() {
	runtime.SetFinalizer(&sentinel{t: t}, func(s *sentinel) {
		s.t.tune()
		s.t.arm()
	})
}

// tune sets GOGC for the next cycle from the live heap of the last one.
func (t *tuner) tune() {
	metrics.Read(t.sample)
	if t.sample[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	p := percentFor(t.sample[0].Value.Uint64(), t.floor)
	// A change of less than a tenth is not worth a call.
	if p != t.percent && (p > t.percent*11/10 || p < t.percent*9/10 || p == 100) {
		debug.SetGCPercent(p)
		t.percent = p
	}
}

// maxPercent bounds GOGC when the live heap is tiny.
const maxPercent = 10000

// percentFor is the GOGC whose goal, live × (1 + GOGC/100), is the floor,
// and never below the default 100.
func percentFor(live, floor uint64) int {
	if live == 0 || live*2 >= floor {
		return 100
	}
	p := (floor - live) * 100 / live
	return int(min(max(p, 100), maxPercent))
}
