package records

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"vanthu/archive"
	"vanthu/archive/archivetest"
	"vanthu/archive/fsstore"
	"vanthu/archive/s3"
	"vanthu/archive/sqlite"
)

// spoolStores runs fn against a service that spools its uploads, over the
// filesystem store and over a real S3 server (the mode it is built for).
func spoolStores(t *testing.T, fn func(t *testing.T, s *Service, versions func(key string) int)) {
	t.Run("fs", func(t *testing.T) {
		st, err := fsstore.New(filepath.Join(t.TempDir(), "objects"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, spoolService(t, st), nil)
	})
	t.Run("s3", func(t *testing.T) {
		st, versions := s3Store(t)
		fn(t, spoolService(t, st), versions)
	})
}

func spoolService(t *testing.T, st archive.BlobStore) *Service {
	t.Helper()
	cat, err := sqlite.Open(filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	return &Service{Blobs: st, Catalog: cat, MaxUpload: 64 << 20, MaxClassification: archive.Mat, SpoolDir: t.TempDir()}
}

// s3Store opens a store on a fresh bucket of the test S3 server, removed
// afterwards, and a counter of the stored versions of a key (one per Put:
// the store turns versioning on).
func s3Store(t *testing.T) (*s3.Store, func(key string) int) {
	t.Helper()
	endpoint, access, secret := archivetest.S3FromEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	bucket := archivetest.UniqueBucket(t)
	st, err := s3.New(ctx, s3.Config{Endpoint: endpoint, Bucket: bucket, AccessKey: access, SecretKey: secret})
	if err != nil {
		t.Fatalf("s3.New(%s): %v", endpoint, err)
	}
	cl, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(access, secret, "")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for u := range cl.ListIncompleteUploads(ctx, bucket, "", true) {
			if u.Err == nil {
				t.Errorf("multipart upload of %s left in the bucket", u.Key)
			}
		}
		objs := cl.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true, WithVersions: true})
		for range cl.RemoveObjects(ctx, bucket, objs, minio.RemoveObjectsOptions{}) {
		}
		_ = cl.RemoveBucket(ctx, bucket)
		st.Close()
	})
	versions := func(key string) int {
		n := 0
		for o := range cl.ListObjects(t.Context(), bucket, minio.ListObjectsOptions{Prefix: key, Recursive: true, WithVersions: true}) {
			if o.Err != nil {
				t.Fatalf("listing versions of %s: %v", key, o.Err)
			}
			if o.Key == key && !o.IsDeleteMarker {
				n++
			}
		}
		return n
	}
	return st, versions
}

// spoolLeft lists what of s's spool directory is left: files in it, and
// descriptors this process still holds on files that were in it (spool
// files are unlinked at once, so only their descriptors show them). The
// spool files the handoff keeps for extraction are not left over if they
// are of originals that are stored; any other is.
func spoolLeft(t *testing.T, s *Service) []string {
	t.Helper()
	dir := s.SpoolDir
	var out []string
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		out = append(out, e.Name())
	}
	kept := map[string]bool{}
	s.handoff.mu.Lock()
	for sha, e := range s.handoff.files {
		if _, err := s.Blobs.Stat(context.Background(), archive.OriginalKey(sha)); err == nil {
			kept[e.f.Name()+" (deleted)"] = true
		}
	}
	s.handoff.mu.Unlock()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd to look for open spool files: %v", err)
	}
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && strings.HasPrefix(target, dir+"/") && !kept[target] {
			out = append(out, "open: "+target)
		}
	}
	return out
}

func pdfOf(seed, n int) []byte {
	b := bytes.Repeat(fmt.Appendf(nil, "%d văn bản quét ", seed), n/16+1)[:n]
	copy(b, "%PDF-1.7\n")
	return b
}

// An upload is spooled, put once at its content address and the spool file
// is gone: after success, and after every way an upload can fail, with
// nothing of the failed upload stored or catalogued.
func TestSpool(t *testing.T) {
	spoolStores(t, func(t *testing.T, s *Service, versions func(string) int) {
		ctx := t.Context()
		clerk := actorOf("lan", archive.RoleClerk, archive.Mat)
		other := actorOf("hoa", archive.RoleClerk, archive.Unclassified)
		officer := actorOf("minh", archive.RoleOfficer, archive.Mat)
		stage := func(body io.Reader) (*Staged, error) { return s.Stage(ctx, "ho-so.pdf", body) }
		register := func(a Actor, fields map[string]string) func(*Staged) error {
			return func(st *Staged) error { _, err := s.Register(ctx, a, st, fields); return err }
		}
		check := func(when string) {
			t.Helper()
			if left := spoolLeft(t, s); len(left) > 0 {
				t.Errorf("%s: spool files left: %v", when, left)
			}
			var staged []string
			s.Blobs.List(ctx, archive.UploadsPrefix, func(b archive.BlobInfo) error { staged = append(staged, b.Key); return nil })
			if len(staged) > 0 {
				t.Errorf("%s: staged uploads in the store: %v", when, staged)
			}
		}

		// Success: 20 MiB, above the S3 store's part size (parallel parts).
		big := pdfOf(1, 20<<20)
		d := upload(t, s, clerk, string(big), map[string]string{"classification": "mat"})
		check("after a 20 MiB upload")
		rc, info, err := s.Blobs.Get(ctx, archive.OriginalKey(d.SHA256))
		if err != nil {
			t.Fatalf("the original of %s is not at its content address: %v", d.ID, err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, big) || info.Size != int64(len(big)) {
			t.Errorf("stored original: %d bytes, want the %d uploaded", len(got), len(big))
		}
		// Same bytes → same object, put once: a clerk who may not see the
		// Mật document registers the same file as a document of their own.
		again := upload(t, s, other, string(big), nil)
		check("after the same bytes as another document")
		if again.SHA256 != d.SHA256 {
			t.Fatalf("duplicate upload hashed %s, want %s", again.SHA256, d.SHA256)
		}
		if versions != nil {
			if n := versions(archive.OriginalKey(d.SHA256)); n != 1 {
				t.Errorf("the original was put %d times for two uploads of the same bytes, want once", n)
			}
		}

		boom := errors.New("the clerk's connection broke")
		cases := []struct {
			name     string
			body     io.Reader
			then     func(*Staged) error
			wantKind error
			wantCode string
		}{
			{"over the limit", bytes.NewReader(pdfOf(2, 64<<20+1)), nil, archive.ErrTooLarge, "too_large"},
			{"body broken mid-way", archivetest.FailAfter(bytes.NewReader(pdfOf(3, 30<<20)), 20<<20, boom), nil, archive.ErrInvalid, "bad_body"},
			{"an executable", bytes.NewReader(append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 4096)...)), nil, archive.ErrUnsupported, ""},
			{"role may not upload", bytes.NewReader(pdfOf(4, 1<<20)), register(officer, nil), archive.ErrForbidden, "forbidden"},
			{"invalid field", bytes.NewReader(pdfOf(5, 1<<20)), register(clerk, map[string]string{"classification": "bi_mat"}), archive.ErrInvalid, "invalid_classification"},
			{"above the ceiling", bytes.NewReader(pdfOf(6, 1<<20)), register(clerk, map[string]string{"classification": "toi_mat"}), archive.ErrUnprocessable, "classification_not_allowed"},
			{"already archived", bytes.NewReader(big), register(clerk, nil), archive.ErrConflict, "duplicate"},
			{"discarded by the caller", bytes.NewReader(pdfOf(7, 1<<20)), func(st *Staged) error { s.Discard(st); return nil }, nil, ""},
		}
		before, err := s.Catalog.CountDocuments(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			st, err := stage(c.body)
			if err == nil && c.then != nil {
				err = c.then(st)
			}
			var ae *archive.Error
			switch {
			case c.wantKind == nil && err != nil:
				t.Errorf("%s: %v, want nil", c.name, err)
			case c.wantKind != nil && !errors.Is(err, c.wantKind):
				t.Errorf("%s: %v, want %v", c.name, err, c.wantKind)
			case c.wantCode != "" && (!errors.As(err, &ae) || ae.Code != c.wantCode):
				t.Errorf("%s: %v, want code %s", c.name, err, c.wantCode)
			}
			check("after " + c.name)
		}
		if n, _ := s.Catalog.CountDocuments(ctx); n != before {
			t.Errorf("failed uploads left %d documents, want %d", n, before)
		}
		var originals []string
		s.Blobs.List(ctx, archive.OriginalsPrefix, func(b archive.BlobInfo) error { originals = append(originals, b.Key); return nil })
		if len(originals) != 1 || originals[0] != archive.OriginalKey(d.SHA256) {
			t.Errorf("originals after the failed uploads: %v, want only %s", originals, archive.OriginalKey(d.SHA256))
		}

		// A new version goes the same way; a refused one leaves nothing.
		v2 := pdfOf(8, 17<<20)
		st, err := stage(bytes.NewReader(v2))
		if err != nil {
			t.Fatal(err)
		}
		nd, err := s.AddVersion(ctx, clerk, d.ID, st)
		if err != nil || nd.Version != 2 {
			t.Fatalf("AddVersion = %+v, %v; want version 2", nd, err)
		}
		check("after a new version")
		if info, err := s.Blobs.Stat(ctx, archive.OriginalKey(nd.SHA256)); err != nil || info.Size != int64(len(v2)) {
			t.Errorf("the new version's original: %+v, %v", info, err)
		}
		if st, err = stage(bytes.NewReader(v2)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddVersion(ctx, clerk, d.ID, st); !errors.Is(err, archive.ErrConflict) {
			t.Errorf("AddVersion of the current version's bytes = %v, want %v", err, archive.ErrConflict)
		}
		check("after a refused version")
	})
}

// Identical uploads at the same moment: one document, the others refused
// as duplicates after their bytes were received, and the original that
// document holds stays, stored once.
func TestSpoolIdenticalConcurrentUploads(t *testing.T) {
	spoolStores(t, func(t *testing.T, s *Service, versions func(string) int) {
		ctx := t.Context()
		clerk := actorOf("lan", archive.RoleClerk, archive.Unclassified)
		body := pdfOf(10, 18<<20)
		const n = 6
		var wg sync.WaitGroup
		docs, errs := make([]*archive.Document, n), make([]error, n)
		for i := range n {
			wg.Go(func() {
				st, err := s.Stage(ctx, "cung-noi-dung.pdf", bytes.NewReader(body))
				if err == nil {
					docs[i], err = s.Register(ctx, clerk, st, nil)
				}
				errs[i] = err
			})
		}
		wg.Wait()
		var ok, dup int
		var d *archive.Document
		for i, err := range errs {
			var ae *archive.Error
			switch {
			case err == nil:
				ok, d = ok+1, docs[i]
			case errors.As(err, &ae) && ae.Code == "duplicate":
				dup++
			default:
				t.Errorf("upload %d: %v", i, err)
			}
		}
		t.Logf("%d identical uploads at once → %d registered, %d refused as duplicates", n, ok, dup)
		if ok != 1 || dup != n-1 {
			t.Fatalf("%d registered and %d duplicates of %d, want 1 and %d", ok, dup, n, n-1)
		}
		key := archive.OriginalKey(d.SHA256)
		if ref, err := s.Catalog.KeyReferenced(ctx, key); err != nil || !ref {
			t.Errorf("%s referenced = %v, %v; want true", key, ref, err)
		}
		if _, err := s.Blobs.Stat(ctx, key); err != nil {
			t.Errorf("the registered original is gone after the refusals: %v", err)
		}
		if versions != nil {
			if v := versions(key); v != 1 {
				t.Errorf("the original was put %d times, want once", v)
			}
		}
		if left := spoolLeft(t, s); len(left) > 0 {
			t.Errorf("spool files left: %v", left)
		}
	})
}

// A spool directory too small for the upload: 507 with a sentence for the
// clerk, nothing stored or catalogued, the space given back at once, and
// the next upload that fits works.
func TestSpoolDiskFull(t *testing.T) {
	dir := archivetest.SmallDisk(t, "4m")
	st, err := fsstore.New(filepath.Join(t.TempDir(), "objects"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := spoolService(t, st)
	s.SpoolDir = dir
	ctx := t.Context()
	clerk := actorOf("lan", archive.RoleClerk, archive.Unclassified)

	_, err = s.Stage(ctx, "qua-lon.pdf", bytes.NewReader(pdfOf(20, 6<<20)))
	var ae *archive.Error
	if !errors.Is(err, archive.ErrNoSpace) || !errors.As(err, &ae) || ae.Code != "insufficient_storage" {
		t.Fatalf("Stage(6 MiB into a 4 MiB spool) = %v, want %v with code insufficient_storage", err, archive.ErrNoSpace)
	}
	t.Logf("6 MiB into a 4 MiB spool → %s: %s", ae.Code, ae.Message)
	if !strings.Contains(ae.Message, "disk") || !strings.Contains(ae.Message, "nothing was stored") {
		t.Errorf("message %q does not say that the server's disk is full and nothing was stored", ae.Message)
	}
	if left := spoolLeft(t, s); len(left) > 0 {
		t.Errorf("spool files left: %v", left)
	}
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err != nil {
		t.Fatal(err)
	}
	if used := (fs.Blocks - fs.Bfree) * uint64(fs.Bsize); used > 64<<10 {
		t.Errorf("the spool filesystem still has %d bytes in use after the refusal", used)
	}
	if n, _ := s.Catalog.CountDocuments(ctx); n != 0 {
		t.Errorf("%d documents after the refusal, want 0", n)
	}
	var keys []string
	s.Blobs.List(ctx, "", func(b archive.BlobInfo) error { keys = append(keys, b.Key); return nil })
	if len(keys) > 0 {
		t.Errorf("objects after the refusal: %v", keys)
	}
	d := upload(t, s, clerk, string(pdfOf(21, 3<<20)), nil)
	if d.Size != 3<<20 {
		t.Errorf("the upload after the refusal: size %d", d.Size)
	}
	// Its spool file is kept for extraction (the handoff) and fills most
	// of the 4 MiB; the next upload gets that space back.
	if d := upload(t, s, clerk, string(pdfOf(22, 3<<20)), nil); d.Size != 3<<20 {
		t.Errorf("the second upload after the refusal: size %d", d.Size)
	}
	if left := spoolLeft(t, s); len(left) > 0 {
		t.Errorf("spool files left after the upload that fit: %v", left)
	}
}

// downStore is a store whose server does not answer.
type downStore struct{ archive.BlobStore }

func (downStore) Ping(context.Context) error {
	return fmt.Errorf("s3: ping: %w: connection refused", archive.ErrUnavailable)
}

// countingReader counts what was read of an upload's body.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// With the store down, a spooled upload is refused with the outage's 503
// before a byte of its body is read, not after the whole file was sent.
func TestSpoolStorageDown(t *testing.T) {
	st, err := fsstore.New(filepath.Join(t.TempDir(), "objects"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := spoolService(t, downStore{st})
	body := &countingReader{r: bytes.NewReader(pdfOf(60, 8<<20))}
	_, err = s.Stage(t.Context(), "ho-so.pdf", body)
	var ae *archive.Error
	if !errors.Is(err, archive.ErrUnavailable) || !errors.As(err, &ae) || ae.Code != "storage_unavailable" {
		t.Fatalf("Stage with the store down = %v, want %v storage_unavailable", err, archive.ErrUnavailable)
	}
	if body.n > 0 {
		t.Errorf("Stage read %d bytes of the body before refusing", body.n)
	}
	if left := spoolLeft(t, s); len(left) > 0 {
		t.Errorf("spool files left: %v", left)
	}
}
