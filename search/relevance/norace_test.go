//go:build !race

package relevance

const raceEnabled = false
