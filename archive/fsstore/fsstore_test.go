package fsstore_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"vanthu/archive"
	"vanthu/archive/archivetest"
	"vanthu/archive/fsstore"
)

func TestContract(t *testing.T) {
	archivetest.Run(t, func(t *testing.T) archive.BlobStore {
		dir := t.TempDir()
		s, err := fsstore.New(dir)
		if err != nil {
			t.Fatalf("New(%q) = %v", dir, err)
		}
		t.Cleanup(func() {
			// Every failed or cancelled Put must have removed its temp file.
			if left, _ := os.ReadDir(filepath.Join(dir, ".tmp")); len(left) > 0 {
				t.Errorf("%d temp files left in %s, want none", len(left), filepath.Join(dir, ".tmp"))
			}
			s.Close()
		})
		return s
	})
}

func TestPing(t *testing.T) {
	dir := t.TempDir()
	s, err := fsstore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping() = %v, want nil", err)
	}
	if os.Geteuid() == 0 {
		return // root writes through any mode bits
	}
	if err := os.Chmod(filepath.Join(dir, ".tmp"), 0o500); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(filepath.Join(dir, ".tmp"), 0o700)
	if err := s.Ping(t.Context()); err == nil {
		t.Errorf("Ping() on a read-only store = nil, want an error")
	}
}

// A full disk must reach the caller as ErrNoSpace (the web layer answers
// 507, operators get paged) and must not leave a partial temp file behind.
func TestPutNoSpace(t *testing.T) {
	// A real tiny filesystem fills up for real; mounting one needs root.
	dir := archivetest.SmallDisk(t, "1m")
	s, err := fsstore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, size := range []int64{2 << 20, -1} {
		const key = "originals/too-big"
		err := s.Put(t.Context(), key, bytes.NewReader(make([]byte, 2<<20)), size)
		if !errors.Is(err, archive.ErrNoSpace) {
			t.Errorf("Put(2 MiB, size %d) on a 1 MiB disk = %v, want %v", size, err, archive.ErrNoSpace)
		}
		if _, err := s.Stat(t.Context(), key); !errors.Is(err, archive.ErrNotFound) {
			t.Errorf("Stat(%q) after a failed Put = %v, want %v", key, err, archive.ErrNotFound)
		}
		if left, _ := os.ReadDir(filepath.Join(dir, ".tmp")); len(left) > 0 {
			t.Errorf("%d temp files left after ENOSPC, want none", len(left))
		}
	}
	// Space comes back once the partial file is gone: the store still works.
	if err := s.Put(t.Context(), "small", bytes.NewReader([]byte("x")), 1); err != nil {
		t.Errorf("Put(small) after ENOSPC = %v, want nil", err)
	}
}

func TestSweepTemp(t *testing.T) {
	dir := t.TempDir()
	s, err := fsstore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	old := filepath.Join(dir, ".tmp", "crashed-put")
	young := filepath.Join(dir, ".tmp", "put-in-flight")
	for _, p := range []string{old, young} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-time.Hour)
	os.Chtimes(old, past, past)
	n, err := s.SweepTemp(10 * time.Minute)
	if err != nil || n != 1 {
		t.Fatalf("SweepTemp = %d, %v; want 1 removed", n, err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("old temp file still there: %v", err)
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("young temp file removed: %v", err)
	}
}
