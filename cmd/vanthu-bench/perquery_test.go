package main

import (
	"context"
	"os"
	"syscall"
	"testing"

	"vanthu/search"
)

// TestPerQueryCPU prints the CPU time of each benchmark query, with and
// without facets, on an index kept by an earlier run (skipped otherwise):
//
//	VB_INDEX=WORK/search-100000/data/index go test ./cmd/vanthu-bench -run PerQuery -v
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
	for _, r := range benchQueries() {
		ix.Search(ctx, r)
		c0 := rusage(syscall.RUSAGE_SELF)
		var total uint64
		for range 5 {
			res, err := ix.Search(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			total = res.Total
		}
		nf := r
		nf.Facets = false
		c1 := rusage(syscall.RUSAGE_SELF)
		for range 5 {
			ix.Search(ctx, nf)
		}
		c2 := rusage(syscall.RUSAGE_SELF)
		t.Logf("| %q%s | %d | %.0f ms | %.0f ms |", r.Q, filterNote(r), total, float64((c1-c0).Milliseconds())/5, float64((c2-c1).Milliseconds())/5)
	}
}
