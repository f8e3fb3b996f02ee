package s3

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"

	"vanthu/archive"
	"vanthu/archive/archivetest"
)

// An object put at its content address is checked by the S3 server against
// the SHA-256 the address names: the right bytes are stored, bytes that do
// not hash to their address are refused and leave nothing, on a plain and
// on an object-lock bucket.
func TestContentAddressCheckedByTheServer(t *testing.T) {
	endpoint, access, secret := archivetest.S3FromEnv(t)
	for _, lock := range []bool{false, true} {
		var s *Store
		if lock {
			s = lockedStore(t, endpoint, access, secret)
		} else {
			s = open(t, endpoint, access, secret)
		}
		ctx := t.Context()
		body := bytes.Repeat([]byte("Kế hoạch 1623/KH-UBND về công tác đối ngoại. "), 30000) // 1.5 MB: one PUT
		sum := sha256.Sum256(body)
		key := archive.OriginalKey(hex.EncodeToString(sum[:]))
		if err := s.Put(ctx, key, bytes.NewReader(body), int64(len(body))); err != nil {
			t.Fatalf("lock=%v: Put at the content address = %v", lock, err)
		}
		rc, _, err := s.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, body) {
			t.Errorf("lock=%v: read back %d bytes (%v), want the %d put", lock, len(got), err, len(body))
		}

		other := append([]byte(nil), body...)
		other[len(other)/2] ^= 1 // one bit: not the bytes the address names
		wrong := archive.OriginalKey(hex.EncodeToString(sum[:])[:63] + "0")
		if wrong == key {
			wrong = archive.OriginalKey(hex.EncodeToString(sum[:])[:63] + "1")
		}
		if err := s.Put(ctx, wrong, bytes.NewReader(other), int64(len(other))); err == nil {
			t.Errorf("lock=%v: Put of bytes that do not hash to their address = nil, want an error", lock)
		} else {
			t.Logf("lock=%v: bytes that do not match their address → %v", lock, err)
		}
		if _, err := s.Stat(ctx, wrong); !errors.Is(err, archive.ErrNotFound) {
			t.Errorf("lock=%v: after the refused Put, Stat = %v, want %v", lock, err, archive.ErrNotFound)
		}
	}
}

func TestKeySHA256(t *testing.T) {
	sum := sha256.Sum256([]byte("x"))
	h := hex.EncodeToString(sum[:])
	for _, c := range []struct {
		key  string
		want bool
	}{
		{archive.OriginalKey(h), true},
		{"originals/sha256/ab/cd/abcd", false},
		{"originals/sha256/" + h[2:4] + "/" + h[0:2] + "/" + h, false},
		{archive.OriginalKey(h) + "-sibling", false},
		{"uploads/" + h, false},
		{archive.OriginalKey(h[:63] + "G"), false},
	} {
		got, ok := archive.KeySHA256(c.key)
		if ok != c.want || (ok && got != h) {
			t.Errorf("KeySHA256(%q) = %q, %v; want ok=%v", c.key, got, ok, c.want)
		}
	}
}
