package s3

import (
	"context"
	"crypto/sha256"
	"io"
	"testing"
	"time"

	"vanthu/archive/archivetest"
)

// A large original is promoted by a copy in parts, so no single request
// runs long enough to trip the idle timeout; the bytes must come out intact.
func TestMoveLargeInParts(t *testing.T) {
	if testing.Short() {
		t.Skip("copies 150 MiB")
	}
	endpoint, access, secret := archivetest.S3FromEnv(t)
	s := open(t, endpoint, access, secret)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const size = 150 << 20 // three parts of copyPartSize
	h := sha256.New()
	if err := s.Put(ctx, "uploads/big", io.TeeReader(archivetest.Generate(7, size), h), -1); err != nil {
		t.Fatal(err)
	}
	want := h.Sum(nil)
	if err := s.Move(ctx, "uploads/big", "originals/big"); err != nil {
		t.Fatalf("Move(150 MiB) = %v", err)
	}
	rc, info, err := s.Get(ctx, "originals/big")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h.Reset()
	if _, err := io.Copy(h, rc); err != nil {
		t.Fatal(err)
	}
	if info.Size != size || string(h.Sum(nil)) != string(want) {
		t.Errorf("after Move: size %d, sha256 equal %v; want %d bytes, equal", info.Size, string(h.Sum(nil)) == string(want), size)
	}
	if _, err := s.Stat(ctx, "uploads/big"); err == nil {
		t.Error("source still there after Move")
	}
}
