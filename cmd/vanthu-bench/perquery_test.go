package main

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"vanthu/search"
)

// TestPerQueryCPU prints the CPU time of each benchmark query, with and
// without facets, on an index kept by an earlier run (skipped otherwise):
//
//	VB_INDEX=WORK/search-100000/data/index go test ./cmd/vanthu-bench -run PerQuery -v
//
// VB_ONLY=words keeps the queries containing them, VB_ROUNDS=n repeats
// each n times (5 by default), for a profile of one query:
//
//	VB_ONLY=trien VB_ROUNDS=200 VB_INDEX=… go test ./cmd/vanthu-bench -run PerQuery -cpuprofile cpu.pprof
func TestPerQueryCPU(t *testing.T) {
	dir := os.Getenv("VB_INDEX")
	if dir == "" {
		t.Skip()
	}
	ix, err := search.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	ctx := context.Background()
	rounds := 5
	if n, err := strconv.Atoi(os.Getenv("VB_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	for _, r := range benchQueries() {
		if !strings.Contains(r.Q, os.Getenv("VB_ONLY")) {
			continue
		}
		ix.Search(ctx, r)
		c0 := rusage(syscall.RUSAGE_SELF)
		var total uint64
		for range rounds {
			res, err := ix.Search(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			total = res.Total
		}
		nf := r
		nf.Facets = false
		c1 := rusage(syscall.RUSAGE_SELF)
		for range rounds {
			ix.Search(ctx, nf)
		}
		c2 := rusage(syscall.RUSAGE_SELF)
		t.Logf("| %q%s | %d | %.1f ms | %.1f ms |", r.Q, filterNote(r), total, float64((c1-c0).Milliseconds())/float64(rounds), float64((c2-c1).Milliseconds())/float64(rounds))
	}
}
