package main

// In S3 mode an upload is spooled to DATA/tmp while it is received, then
// put once at its content address: these tests look at what the server
// process holds and leaves there.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"vanthu/archive/archivetest"
)

// spoolFiles lists the spool files of the server: upload-* names in
// DATA/tmp, and descriptors the process holds on such files (they are
// unlinked at once, so the descriptors are what shows them).
func (s *server) spoolFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	tmp := filepath.Join(s.data, "tmp")
	es, _ := os.ReadDir(tmp)
	for _, e := range es {
		if strings.HasPrefix(e.Name(), "upload-") {
			out = append(out, e.Name())
		}
	}
	fdDir := fmt.Sprintf("/proc/%d/fd", s.pid)
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		t.Fatalf("reading the server's descriptors: %v", err)
	}
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join(fdDir, fd.Name())); err == nil && strings.HasPrefix(target, tmp+"/upload-") {
			out = append(out, "open: "+target)
		}
	}
	return out
}

func TestE2ESpool(t *testing.T) {
	const limit = 32 << 20
	st := sharedS3(t)
	data := filepath.Join(t.TempDir(), "data")
	tok := addUser(t, data, "clerk", "clerk")
	s := startServer(t, data, append(st.env, "VANTHU_MAX_UPLOAD="+strconv.Itoa(limit))...)

	nothingLeft := func(when string) {
		t.Helper()
		if f := s.spoolFiles(t); len(f) > 0 {
			t.Errorf("%s: spool files left: %v", when, f)
		}
		if k := st.keys(t, data, "uploads/"); len(k) > 0 {
			t.Errorf("%s: staged uploads in the bucket: %v", when, k)
		}
		for _, l := range st.leftovers(t, data) {
			if strings.HasPrefix(l, "multipart upload") {
				t.Errorf("%s: %s left in the bucket", when, l)
			}
		}
	}
	big := fakePDF(31, 20<<20)
	d := s.mustUpload(t, tok, "ho-so-20MiB.pdf", big, map[string]string{"subject": "Hồ sơ quét"})
	nothingLeft("after a 20 MiB upload")
	if !st.exists(t, data, "originals/sha256/"+d.SHA256[:2]+"/"+d.SHA256[2:4]+"/"+d.SHA256) || d.SHA256 != sha(big) {
		t.Fatalf("the 20 MiB original is not at its content address (document sha256 %s)", d.SHA256)
	}

	for _, c := range []struct {
		name   string
		data   []byte
		fields map[string]string
		status int
	}{
		{"over the limit", fakePDF(32, limit+1), nil, http.StatusRequestEntityTooLarge},
		{"invalid field after the file", fakePDF(33, 3<<20), map[string]string{"classification": "bi_mat"}, http.StatusBadRequest},
		{"the same file again", big, nil, http.StatusConflict},
	} {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		r, err := s.upload(ctx, tok, "thu.pdf", c.data, c.fields)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		code, msg := apiErr(t, r)
		t.Logf("%s → %d %s %q", c.name, r.status, code, msg)
		if r.status != c.status {
			t.Errorf("%s: %v, want %d", c.name, r, c.status)
		}
		nothingLeft("after " + c.name)
	}

	// A client that goes away half-way through its body.
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(s.url, "http://"), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ct, body := multipartBody("dut-giua-chung.pdf", fakePDF(34, 20<<20), nil)
	fmt.Fprintf(conn, "POST /api/v1/documents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", tok, ct, len(body))
	conn.Write(body[:8<<20])
	for deadline := time.Now().Add(10 * time.Second); len(s.spoolFiles(t)) == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("client half-way through a 20 MiB body: server holds %v", s.spoolFiles(t))
	conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	for len(s.spoolFiles(t)) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	nothingLeft("after a client broke off")

	if n, keys := catalogKeys(t, data); n != 1 || len(keys) != 1 {
		t.Errorf("catalog: %d documents, %d version keys; want the one 201", n, len(keys))
	}
	if o := st.keys(t, data, "originals/"); len(o) != 1 {
		t.Errorf("originals in the bucket: %v, want the one 201's", o)
	}
}

// The data directory on a disk too small for the spool: 507 with a
// sentence, no row, no object, nothing left, and the next upload that fits
// works without a restart.
func TestE2ESpoolDiskFull(t *testing.T) {
	st := sharedS3(t)
	mnt := archivetest.SmallDisk(t, "16m")
	data := filepath.Join(mnt, "data")
	tok := addUser(t, data, "clerk", "clerk")
	s := startServer(t, data, st.env...)
	t.Cleanup(s.stop) // before the unmount
	var fs syscall.Statfs_t
	if err := syscall.Statfs(mnt, &fs); err != nil {
		t.Fatal(err)
	}
	t.Logf("data on a 16 MiB tmpfs, %d KiB free after start", fs.Bavail*uint64(fs.Bsize)>>10)

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	r, err := s.upload(ctx, tok, "ho-so-lon.pdf", fakePDF(41, 24<<20), nil)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	code, msg := apiErr(t, r)
	t.Logf("24 MiB upload with the data directory on a 16 MiB disk → %d %s %q", r.status, code, msg)
	if r.status != http.StatusInsufficientStorage || code != "insufficient_storage" {
		t.Errorf("upload bigger than the spool disk: %v, want 507 insufficient_storage", r)
	}
	if f := s.spoolFiles(t); len(f) > 0 {
		t.Errorf("spool files left: %v", f)
	}
	free := fs.Bavail
	if err := syscall.Statfs(mnt, &fs); err != nil {
		t.Fatal(err)
	}
	if fs.Bavail+16 < free {
		t.Errorf("the refused upload still holds %d KiB of the disk", (free-fs.Bavail)*uint64(fs.Bsize)>>10)
	}
	if n, _ := catalogKeys(t, data); n != 0 {
		t.Errorf("%d documents after the refusal, want 0", n)
	}
	if k := st.keys(t, data, ""); len(k) > 0 {
		t.Errorf("objects after the refusal: %v", k)
	}
	for _, l := range st.leftovers(t, data) {
		if strings.Contains(l, "upload-") || strings.HasPrefix(l, "multipart upload") {
			t.Errorf("left after the refusal: %s", l)
		}
	}
	d := s.mustUpload(t, tok, "cong-van.pdf", fakePDF(42, 2<<20), nil)
	t.Logf("then a 2 MiB upload → 201, id %s", d.ID)
}

// With VANTHU_S3_OBJECT_LOCK the spooled original goes up in parallel parts
// with a Content-MD5 each, and the document's retention and legal hold are
// set on it in storage.
func TestE2EObjectLockUpload(t *testing.T) {
	st := sharedS3(t)
	data := filepath.Join(t.TempDir(), "data")
	tok := addUser(t, data, "clerk", "clerk")
	s := startServer(t, data, append(st.env, "VANTHU_S3_OBJECT_LOCK=true")...)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if enabled, _, _, _, err := st.client.GetObjectLockConfig(ctx, st.bucket); err != nil || enabled != "Enabled" {
		t.Skipf("this S3 server did not create the bucket with object lock: %q, %v", enabled, err)
	}
	big := fakePDF(51, 20<<20)
	d := s.mustUpload(t, tok, "ho-so-giu.pdf", big, map[string]string{
		"issued_at": time.Now().Format("2006-01-02"), "retention": "10", "retention_basis": "Thông tư 10/2022/TT-BNV", "legal_hold": "true"})
	key := "originals/sha256/" + d.SHA256[:2] + "/" + d.SHA256[2:4] + "/" + d.SHA256
	t.Cleanup(func() {
		// The bucket's clean-up bypasses governance retention, not holds.
		off := minio.LegalHoldDisabled
		_ = st.client.PutObjectLegalHold(context.Background(), st.bucket, key, minio.PutObjectLegalHoldOptions{Status: &off})
	})
	if d.SHA256 != sha(big) {
		t.Fatalf("document sha256 %s, want %s", d.SHA256, sha(big))
	}
	hold, err := st.client.GetObjectLegalHold(ctx, st.bucket, key, minio.GetObjectLegalHoldOptions{})
	if err != nil || hold == nil || *hold != minio.LegalHoldEnabled {
		t.Errorf("legal hold on %s = %v, %v; want ON", key, hold, err)
	}
	// HEAD, not GetObjectRetention: minio-go does not parse versitygw's
	// <ObjectLockRetention> reply.
	oi, err := st.client.StatObject(ctx, st.bucket, key, minio.StatObjectOptions{})
	mode := oi.Metadata.Get("X-Amz-Object-Lock-Mode")
	until, perr := time.Parse(time.RFC3339, oi.Metadata.Get("X-Amz-Object-Lock-Retain-Until-Date"))
	if err != nil || mode == "" || perr != nil || until.Before(time.Now().AddDate(9, 0, 0)) {
		t.Errorf("retention on %s: mode %q until %v (%v), %v; want about ten years", key, mode, until, perr, err)
	} else {
		t.Logf("20 MiB original on an object-lock bucket: legal hold %s, retention %s until %s", *hold, mode, until.Format("2006-01-02"))
	}
	if f := s.spoolFiles(t); len(f) > 0 {
		t.Errorf("spool files left: %v", f)
	}
	r, got, err := s.original(ctx, tok, d.ID)
	if err != nil || r.status != http.StatusOK || got != d.SHA256 {
		t.Errorf("download: %v, sha256 %s, %v", r.status, got, err)
	}
}
