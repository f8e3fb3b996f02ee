package main

import (
	"bytes"
	"crypto/sha256"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {95, 95 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0.1, time.Millisecond}} {
		if got := percentile(ds, c.p); got != c.want {
			t.Errorf("percentile(1..100 ms, %v) = %v, want %v", c.p, got, c.want)
		}
	}
	if ds[0] != 100*time.Millisecond {
		t.Error("percentile sorted its argument in place")
	}
	if got := percentile([]time.Duration{7}, 99); got != 7 {
		t.Errorf("one value: %v", got)
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("no values: %v", got)
	}
}

func TestUniquifiers(t *testing.T) {
	pdf := []byte("%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF")
	a, b := uniquePDF(pdf, 1), uniquePDF(pdf, 2)
	if !bytes.HasPrefix(a, pdf) || sha256.Sum256(a) == sha256.Sum256(b) {
		t.Errorf("uniquePDF: %q and %q", a, b)
	}
	if !bytes.Contains(a[len(pdf):], []byte("\n%vanthu-bench upload 1\n")) {
		t.Errorf("uniquePDF appends no comment line after %%%%EOF: %q", a[len(pdf):])
	}
	txt := []byte("Kế hoạch đối ngoại\n")
	x, y := uniqueText(txt, 1), uniqueText(txt, 2)
	if bytes.Equal(x, y) || !bytes.Contains(x, []byte(benchToken(1))) {
		t.Errorf("uniqueText: %q and %q", x, y)
	}
}
