package s3

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"vanthu/archive/archivetest"
)

// On a bucket created with object lock, a legal hold is enforced by the
// storage itself: even a versioned delete of the original fails until the
// hold is lifted.
func TestObjectLock(t *testing.T) {
	endpoint, access, secret := archivetest.S3FromEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := lockedStore(t, endpoint, access, secret)
	const key = "originals/sha256/ab/cd/abcd"
	if err := s.Put(ctx, key, strings.NewReader("bản gốc"), -1); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLegalHold(ctx, key, true); err != nil {
		t.Fatalf("SetLegalHold(on) = %v", err)
	}
	if err := s.DeleteAllVersions(ctx, key); err == nil {
		t.Fatal("DeleteAllVersions under legal hold succeeded; want the storage to refuse")
	}
	if _, err := s.Stat(ctx, key); err != nil {
		t.Fatalf("original gone after a refused delete: %v", err)
	}
	if err := s.SetLegalHold(ctx, key, false); err != nil {
		t.Fatalf("SetLegalHold(off) = %v", err)
	}
	if err := s.DeleteAllVersions(ctx, key); err != nil {
		t.Fatalf("DeleteAllVersions after the hold was lifted = %v", err)
	}
	// A large original read at offsets (a spooled upload) goes up in
	// parallel parts, each with the Content-MD5 that AWS requires on
	// object-lock buckets (versitygw accepts parts without it).
	big := bytes.Repeat([]byte("bản gốc quét khổ lớn "), (partSize+partSize/2)/27)
	if err := s.Put(ctx, key+"-lon", bytes.NewReader(big), int64(len(big))); err != nil {
		t.Fatalf("Put(%d bytes from a reader at offsets) on an object-lock bucket = %v", len(big), err)
	}
	if info, err := s.Stat(ctx, key+"-lon"); err != nil || info.Size != int64(len(big)) {
		t.Fatalf("Stat after the parallel Put = %+v, %v; want size %d", info, err, len(big))
	}
	if err := s.DeleteAllVersions(ctx, key+"-lon"); err != nil {
		t.Fatal(err)
	}
	// Retention in governance mode is accepted by the server.
	if err := s.Put(ctx, key+"2", strings.NewReader("bản gốc 2"), -1); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRetention(ctx, key+"2", time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("SetRetention = %v", err)
	}
}
