package tune

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestPercentFor(t *testing.T) {
	for _, c := range []struct {
		live, floor uint64
		want        int
	}{
		{5 << 20, 64 << 20, 1180}, // goal 5 × 12.8 = 64 MiB
		{32 << 20, 64 << 20, 100}, // twice the live heap reaches the floor
		{500 << 20, 64 << 20, 100},
		{40 << 20, 64 << 20, 100},       // 60% would put the goal under 2 × live
		{1 << 10, 64 << 20, maxPercent}, // bounded
		{0, 64 << 20, 100},
	} {
		if got := percentFor(c.live, c.floor); got != c.want {
			t.Errorf("percentFor(%d, %d) = %d, want %d", c.live, c.floor, got, c.want)
		}
	}
}

// TestGoalFollowsLiveHeap: in a real process, after collections the goal
// is the floor while the live heap is small, and twice the live heap once
// it is larger than half the floor.
func TestGoalFollowsLiveHeap(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "") // as if unset
	const floor = 32 << 20
	setHeapFloor(floor)
	gogc := func() uint64 {
		s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	waitFor := func(ok func(uint64) bool) uint64 {
		var p uint64
		for range 200 {
			runtime.GC()
			time.Sleep(5 * time.Millisecond) // the finalizer runs on its own goroutine
			if p = gogc(); ok(p) {
				break
			}
		}
		return p
	}
	if p := waitFor(func(p uint64) bool { return p > 100 }); p <= 100 {
		t.Fatalf("GOGC stayed %d with a small live heap and a %d MiB floor", p, floor>>20)
	}
	big := make([]byte, 3*floor/2) // live heap above half the floor
	for i := range big {
		big[i] = byte(i)
	}
	if p := waitFor(func(p uint64) bool { return p == 100 }); p != 100 {
		t.Fatalf("GOGC %d with a live heap of %d MiB, want the default 100", p, len(big)>>20)
	}
	runtime.KeepAlive(big)
}
