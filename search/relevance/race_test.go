//go:build race

package relevance

// The race detector slows indexing and 1040 searches tenfold (about three
// minutes) and finds nothing here: the test runs on one goroutine, and the
// search package's own tests cover the same code under -race.
const raceEnabled = true
