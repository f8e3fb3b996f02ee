package s3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"vanthu/archive"
	"vanthu/archive/archivetest"
)

func TestContract(t *testing.T) {
	endpoint, access, secret := archivetest.S3FromEnv(t)
	archivetest.Run(t, func(t *testing.T) archive.BlobStore {
		return open(t, endpoint, access, secret)
	})
}

// open creates a store on a fresh bucket and removes the bucket afterwards.
// It also checks that the test left no multipart upload behind: a failed
// Put must abort its upload when the server is healthy.
func open(t *testing.T, endpoint, access, secret string) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := Config{Endpoint: endpoint, Bucket: archivetest.UniqueBucket(t), AccessKey: access, SecretKey: secret}
	s, err := New(ctx, cfg)
	if err != nil {
		t.Fatalf("New(%s, bucket %s) = %v", endpoint, cfg.Bucket, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if n := incompleteUploads(t, ctx, s, ""); n > 0 {
			t.Errorf("%d incomplete multipart uploads left in %s, want none", n, s.bucket)
		}
		removeBucket(t, ctx, s)
		s.Close()
	})
	return s
}

// lockedStore opens a store on a fresh bucket with object lock, whose
// objects are removed afterwards; it skips the test when the server does
// not create such buckets.
func lockedStore(t *testing.T, endpoint, access, secret string) *Store {
	t.Helper()
	s, err := New(t.Context(), Config{Endpoint: endpoint, Bucket: archivetest.UniqueBucket(t), AccessKey: access, SecretKey: secret, ObjectLock: true})
	if err != nil {
		t.Fatal(err)
	}
	if !s.ObjectLockEnabled() {
		s.Close()
		t.Skip("this S3 server does not create buckets with object lock")
	}
	t.Cleanup(func() {
		s.List(context.Background(), "", func(b archive.BlobInfo) error { return s.DeleteAllVersions(context.Background(), b.Key) })
		s.Close()
	})
	return s
}

func incompleteUploads(t *testing.T, ctx context.Context, s *Store, prefix string) int {
	t.Helper()
	n := 0
	for u := range s.client.ListIncompleteUploads(ctx, s.bucket, prefix, true) {
		if u.Err != nil {
			t.Fatalf("ListIncompleteUploads(%s) = %v", s.bucket, u.Err)
		}
		n++
	}
	return n
}

func removeBucket(t *testing.T, ctx context.Context, s *Store) {
	t.Helper()
	if err := s.AbortIncompleteUploads(ctx, ""); err != nil {
		t.Errorf("cleanup: %v", err)
	}
	for oi := range s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
		if oi.Err != nil {
			t.Errorf("cleanup: listing %s: %v", s.bucket, oi.Err)
			return
		}
		if err := s.client.RemoveObject(ctx, s.bucket, oi.Key, minio.RemoveObjectOptions{VersionID: oi.VersionID}); err != nil {
			t.Errorf("cleanup: removing %s: %v", oi.Key, err)
		}
	}
	if err := s.client.RemoveBucket(ctx, s.bucket); err != nil {
		t.Logf("cleanup: removing bucket %s: %v", s.bucket, err)
	}
}

func TestNewExistingBucket(t *testing.T) {
	endpoint, access, secret := archivetest.S3FromEnv(t)
	s := open(t, endpoint, access, secret)
	t.Logf("server %s: versioned %v, object lock %v", endpoint, s.Versioned(), s.ObjectLockEnabled())
	// A second process (vanthu import next to vanthu serve) opens the same bucket.
	again, err := New(t.Context(), Config{Endpoint: endpoint, Bucket: s.bucket, AccessKey: access, SecretKey: secret})
	if err != nil {
		t.Fatalf("New on the existing bucket %s = %v, want nil", s.bucket, err)
	}
	defer again.Close()
	if again.Versioned() != s.Versioned() {
		t.Errorf("Versioned() = %v on reopening, want %v", again.Versioned(), s.Versioned())
	}
	if err := again.Ping(t.Context()); err != nil {
		t.Errorf("Ping() = %v, want nil", err)
	}
}

func TestNewInvalid(t *testing.T) {
	tests := []Config{
		{Bucket: "b"},
		{Endpoint: "127.0.0.1:9000"},
		{Endpoint: "http://127.0.0.1:9000", Bucket: "b"},
	}
	for _, cfg := range tests {
		if _, err := New(t.Context(), cfg); !errors.Is(err, archive.ErrInvalid) {
			t.Errorf("New(%+v) = %v, want %v", cfg, err, archive.ErrInvalid)
		}
	}
}

func TestNewUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	_, err = New(t.Context(), Config{Endpoint: addr, Bucket: "vanthu", AccessKey: "a", SecretKey: "b"})
	if !errors.Is(err, archive.ErrUnavailable) {
		t.Errorf("New(%s, nothing listening) = %v, want %v", addr, err, archive.ErrUnavailable)
	}
}

func TestAbortIncompleteUploads(t *testing.T) {
	endpoint, access, secret := archivetest.S3FromEnv(t)
	s := open(t, endpoint, access, secret)
	ctx := t.Context()
	core := minio.Core{Client: s.client}
	// What a crash mid-upload leaves behind.
	for _, key := range []string{"uploads/a", "uploads/b", "uploads/b", "originals/sha256/ab/cd/abcd"} {
		if _, err := core.NewMultipartUpload(ctx, s.bucket, key, minio.PutObjectOptions{}); err != nil {
			t.Fatalf("NewMultipartUpload(%q) = %v", key, err)
		}
	}
	tests := []struct {
		prefix    string
		wantAfter int // incomplete uploads left in the whole bucket
	}{
		{"manifests/", 4},
		{"uploads/", 1},
		{"", 0},
	}
	for _, tt := range tests {
		if err := s.AbortIncompleteUploads(ctx, tt.prefix); err != nil {
			t.Fatalf("AbortIncompleteUploads(%q) = %v, want nil", tt.prefix, err)
		}
		if n := incompleteUploads(t, ctx, s, ""); n != tt.wantAfter {
			t.Errorf("after AbortIncompleteUploads(%q): %d incomplete uploads, want %d", tt.prefix, n, tt.wantAfter)
		}
	}
}

func TestDeleteAllVersions(t *testing.T) {
	endpoint, access, secret := archivetest.S3FromEnv(t)
	s := open(t, endpoint, access, secret)
	ctx := t.Context()
	const key = "originals/sha256/ab/cd/abcd"
	for _, v := range []string{"v1", "v2", "v3"} {
		if err := s.Put(ctx, key, bytes.NewReader([]byte(v)), 2); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put(ctx, key+"-sibling", bytes.NewReader([]byte("x")), 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, key); err != nil { // leaves a delete marker when versioned
		t.Fatal(err)
	}
	want := 0
	if s.Versioned() {
		want = 4 // three versions and the marker
	}
	if got := versions(t, s, key); got != want {
		t.Errorf("%d versions of %s before disposition, want %d", got, key, want)
	}
	if err := s.DeleteAllVersions(ctx, key); err != nil {
		t.Fatalf("DeleteAllVersions(%q) = %v, want nil", key, err)
	}
	if n := versions(t, s, key); n != 0 {
		t.Errorf("after DeleteAllVersions(%q): %d versions left, want 0", key, n)
	}
	if n := versions(t, s, key+"-sibling"); n != 1 {
		t.Errorf("after DeleteAllVersions(%q): %d versions of its sibling, want 1", key, n)
	}
	if err := s.DeleteAllVersions(ctx, key); err != nil {
		t.Errorf("DeleteAllVersions(%q) again = %v, want nil", key, err)
	}
}

func versions(t *testing.T, s *Store, key string) int {
	t.Helper()
	n := 0
	for oi := range s.client.ListObjectsIter(t.Context(), s.bucket, minio.ListObjectsOptions{Prefix: key, WithVersions: true, Recursive: true}) {
		if oi.Err != nil {
			t.Fatalf("listing versions of %s: %v", key, oi.Err)
		}
		if oi.Key == key {
			n++
		}
	}
	return n
}

// Objects over 5 GiB cannot be copied in one request; the multipart copy
// path is exercised here on a small object by lowering the limit.
func TestMoveByParts(t *testing.T) {
	endpoint, access, secret := archivetest.S3FromEnv(t)
	s := open(t, endpoint, access, secret)
	s.copyLimit = 5 << 20
	ctx := t.Context()
	const size = 12 << 20
	const src, dst = "uploads/big", "originals/sha256/12/34/1234"
	if err := s.Put(ctx, src, archivetest.Generate(11, size), size); err != nil {
		t.Fatal(err)
	}
	if err := s.Move(ctx, src, dst); err != nil {
		t.Fatalf("Move(%q, %q) of %d bytes by parts = %v, want nil", src, dst, size, err)
	}
	rc, info, err := s.Get(ctx, dst)
	if err != nil {
		t.Fatalf("Get(%q) = %v", dst, err)
	}
	defer rc.Close()
	if got, want := hash(t, rc), hash(t, archivetest.Generate(11, size)); got != want || info.Size != size {
		t.Errorf("Get(%q) after Move: sha256 %s size %d, want %s size %d", dst, got, info.Size, want, size)
	}
	if _, err := s.Stat(ctx, src); !errors.Is(err, archive.ErrNotFound) {
		t.Errorf("Stat(%q) after Move = %v, want %v", src, err, archive.ErrNotFound)
	}
}

func hash(t *testing.T, r io.Reader) string {
	t.Helper()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func TestKind(t *testing.T) {
	tests := []struct {
		err  error
		want error
	}{
		{minio.ErrorResponse{Code: "NoSuchKey", StatusCode: 404}, archive.ErrNotFound},
		{minio.ErrorResponse{Code: "NoSuchBucket", StatusCode: 404}, archive.ErrNotFound},
		{minio.ErrorResponse{StatusCode: 404}, archive.ErrNotFound}, // HEAD has no body
		{fmt.Errorf("wrapped: %w", minio.ErrorResponse{Code: "NoSuchKey"}), archive.ErrNotFound},
		{minio.ErrorResponse{Code: "XMinioStorageFull", StatusCode: 507}, archive.ErrNoSpace},
		{minio.ErrorResponse{Code: "SlowDown", StatusCode: 503}, archive.ErrUnavailable},
		{minio.ErrorResponse{Code: "InternalError", StatusCode: 500}, archive.ErrUnavailable},
		{minio.ErrorResponse{Code: "EntityTooLarge", StatusCode: 400}, archive.ErrTooLarge},
		{minio.ErrorResponse{Code: "AccessDenied", StatusCode: 403}, nil},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, archive.ErrUnavailable},
		{io.ErrUnexpectedEOF, archive.ErrUnavailable},
		{errors.New("something else"), nil},
	}
	for _, tt := range tests {
		if got := kind(tt.err); got != tt.want {
			t.Errorf("kind(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
