// Package archivetest owns the contract every archive.BlobStore keeps: one
// suite, run against the filesystem store always and against a real S3
// server when the environment names one, plus the helpers other packages'
// tests use to find that server.
package archivetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"vanthu/archive"
)

// Environment variables naming the S3 server the tests may use.
const (
	EnvS3Endpoint  = "VANTHU_TEST_S3_ENDPOINT" // host:port
	EnvS3AccessKey = "VANTHU_TEST_S3_ACCESS_KEY"
	EnvS3SecretKey = "VANTHU_TEST_S3_SECRET_KEY"
	// EnvS3Required=1 turns every skip for a missing server or binary into a
	// failure, so CI cannot pass by silently testing nothing.
	EnvS3Required = "VANTHU_TEST_S3_REQUIRED"
)

// S3FromEnv returns the test S3 server's address and keys, skipping the test
// when none is configured.
func S3FromEnv(t testing.TB) (endpoint, accessKey, secretKey string) {
	t.Helper()
	endpoint = os.Getenv(EnvS3Endpoint)
	if endpoint == "" {
		Unavailable(t, "set "+EnvS3Endpoint+" to run the S3 tests")
	}
	return endpoint, os.Getenv(EnvS3AccessKey), os.Getenv(EnvS3SecretKey)
}

// Unavailable skips the test for a missing external dependency, or fails it
// when EnvS3Required=1.
func Unavailable(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv(EnvS3Required) == "1" {
		t.Fatalf("%s=1: %s", EnvS3Required, reason)
	}
	t.Skip(reason)
}

// UniqueBucket returns a fresh valid bucket name, so tests sharing one
// server never see each other's objects.
func UniqueBucket(t testing.TB) string {
	var b [8]byte
	rand.Read(b[:])
	return "vanthu-test-" + hex.EncodeToString(b[:])
}

// MiB is one mebibyte.
const MiB = 1 << 20

// LargeSize is above the S3 store's 16 MiB part size, so the large cases
// go through multipart upload there.
const LargeSize = 40 * MiB

// Run runs the contract suite. newStore is called once per subtest and must
// return an empty store.
func Run(t *testing.T, newStore func(t *testing.T) archive.BlobStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s archive.BlobStore)
	}{
		{"RoundTrip", testRoundTrip},
		{"Large", testLarge},
		{"GetSeeks", testGetSeeks},
		{"Stat", testStat},
		{"NotFound", testNotFound},
		{"Overwrite", testOverwrite},
		{"Move", testMove},
		{"Delete", testDelete},
		{"List", testList},
		{"InvalidKeys", testInvalidKeys},
		{"WrongSize", testWrongSize},
		{"FailingReader", testFailingReader},
		{"Cancelled", testCancelled},
		{"ConcurrentPut", testConcurrentPut},
		{"PutReaderAt", testPutReaderAt},
		{"FailingReaderAt", testFailingReaderAt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore(t)) })
	}
}

func testRoundTrip(t *testing.T, s archive.BlobStore) {
	ctx := t.Context()
	tests := []struct {
		key     string
		data    []byte
		unknown bool // Put with size -1
	}{
		{"manifests/one-byte", []byte{0}, false},
		{"manifests/1623-KH-UBND.json", []byte(`{"number":"1623/KH-UBND"}`), false},
		{"manifests/unknown-size.json", []byte(`{"subject":"Kế hoạch công tác đối ngoại"}`), true},
		{"manifests/văn bản đến.txt", []byte("Trích yếu: triển khai nhiệm vụ đối ngoại năm 2018"), true},
		{"originals/empty-known", nil, false},
		{"originals/empty-unknown", nil, true},
		{"originals/sha256/ab/cd/abcd", bytes.Repeat([]byte("văn thư "), 100_000), true},
	}
	for _, tt := range tests {
		size := int64(len(tt.data))
		if tt.unknown {
			size = -1
		}
		if err := s.Put(ctx, tt.key, bytes.NewReader(tt.data), size); err != nil {
			t.Errorf("Put(%q, size %d) = %v, want nil", tt.key, size, err)
			continue
		}
		got, info := get(t, s, tt.key)
		if !bytes.Equal(got, tt.data) {
			t.Errorf("Get(%q) returned %d bytes, want the %d put", tt.key, len(got), len(tt.data))
		}
		if info.Key != tt.key || info.Size != int64(len(tt.data)) {
			t.Errorf("Get(%q) info = %+v, want key %q size %d", tt.key, info, tt.key, len(tt.data))
		}
	}
}

func testLarge(t *testing.T, s archive.BlobStore) {
	ctx := t.Context()
	for _, size := range []int64{LargeSize, -1} {
		key := "originals/large"
		if err := s.Put(ctx, key, Generate(7, LargeSize), size); err != nil {
			t.Fatalf("Put(%q, %d MiB generated, size %d) = %v, want nil", key, LargeSize/MiB, size, err)
		}
		rc, info, err := s.Get(ctx, key)
		if err != nil {
			t.Fatalf("Get(%q) = %v, want nil", key, err)
		}
		h := sha256.New()
		n, err := io.Copy(h, rc)
		rc.Close()
		if err != nil || n != LargeSize || info.Size != LargeSize {
			t.Fatalf("Get(%q): read %d bytes (info size %d), err %v; want %d", key, n, info.Size, err, LargeSize)
		}
		if got, want := hex.EncodeToString(h.Sum(nil)), sum(Generate(7, LargeSize)); got != want {
			t.Errorf("Get(%q) after Put with size %d: sha256 %s, want %s", key, size, got, want)
		}
	}
}

func testGetSeeks(t *testing.T, s archive.BlobStore) {
	ctx := t.Context()
	const key, size = "originals/seek", 3 * MiB
	data := readAll(t, Generate(3, size))
	put(t, s, key, data)
	rc, _, err := s.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get(%q) = %v, want nil", key, err)
	}
	defer rc.Close()
	tests := []struct {
		offset int64
		whence int
		pos    int64 // expected absolute position
		n      int
	}{
		{0, io.SeekStart, 0, 16},
		{2*MiB + 5, io.SeekStart, 2*MiB + 5, 4096},
		{-100, io.SeekEnd, size - 100, 100},
		{10, io.SeekStart, 10, 1},
		{MiB, io.SeekCurrent, MiB + 11, 1000},
		{0, io.SeekStart, 0, MiB},
	}
	for _, tt := range tests {
		pos, err := rc.Seek(tt.offset, tt.whence)
		if err != nil || pos != tt.pos {
			t.Fatalf("Seek(%d, %d) = %d, %v; want %d, nil", tt.offset, tt.whence, pos, err, tt.pos)
		}
		buf := make([]byte, tt.n)
		if _, err := io.ReadFull(rc, buf); err != nil {
			t.Fatalf("after Seek(%d, %d): ReadFull(%d bytes) = %v, want nil", tt.offset, tt.whence, tt.n, err)
		}
		if !bytes.Equal(buf, data[tt.pos:tt.pos+int64(tt.n)]) {
			t.Errorf("after Seek(%d, %d): read %d bytes differ from the object at %d", tt.offset, tt.whence, tt.n, tt.pos)
		}
	}
	// Reading the last byte then on must give EOF, not more data.
	if _, err := rc.Seek(-1, io.SeekEnd); err != nil {
		t.Fatalf("Seek(-1, SeekEnd) = %v", err)
	}
	rest, err := io.ReadAll(rc)
	if err != nil || len(rest) != 1 || rest[0] != data[size-1] {
		t.Errorf("ReadAll after Seek(-1, SeekEnd) = %d bytes, %v; want the last byte", len(rest), err)
	}
}

func testStat(t *testing.T, s archive.BlobStore) {
	ctx := t.Context()
	before := time.Now()
	const key = "manifests/stat.json"
	put(t, s, key, []byte("12345"))
	info, err := s.Stat(ctx, key)
	if err != nil {
		t.Fatalf("Stat(%q) = %v, want nil", key, err)
	}
	if info.Key != key || info.Size != 5 {
		t.Errorf("Stat(%q) = %+v, want key %q size 5", key, info, key)
	}
	// Servers keep whole seconds and clocks drift; an hour is plenty.
	if d := info.ModTime.Sub(before); d < -time.Hour || d > time.Hour {
		t.Errorf("Stat(%q).ModTime = %v, want about %v", key, info.ModTime, before)
	}
}

func testNotFound(t *testing.T, s archive.BlobStore) {
	ctx := t.Context()
	put(t, s, "a/b/c", []byte("x"))
	// "a/b" is a prefix of an object, which on disk is a directory: still
	// not an object.
	for _, key := range []string{"missing", "originals/sha256/00/00/0000", "a/b"} {
		if _, err := s.Stat(ctx, key); !errors.Is(err, archive.ErrNotFound) {
			t.Errorf("Stat(%q) = %v, want %v", key, err, archive.ErrNotFound)
		}
		if rc, _, err := s.Get(ctx, key); !errors.Is(err, archive.ErrNotFound) {
			if rc != nil {
				rc.Close()
			}
			t.Errorf("Get(%q) = %v, want %v", key, err, archive.ErrNotFound)
		}
		if err := s.Move(ctx, key, "elsewhere"); !errors.Is(err, archive.ErrNotFound) {
			t.Errorf("Move(%q, %q) = %v, want %v", key, "elsewhere", err, archive.ErrNotFound)
		}
	}
}

func testOverwrite(t *testing.T, s archive.BlobStore) {
	const key = "manifests/doc.json"
	for _, data := range [][]byte{[]byte("first, longer version"), []byte("second"), nil, []byte("fourth")} {
		put(t, s, key, data)
		if got, info := get(t, s, key); !bytes.Equal(got, data) || info.Size != int64(len(data)) {
			t.Errorf("Get(%q) = %q (size %d), want %q", key, got, info.Size, data)
		}
	}
}

func testMove(t *testing.T, s archive.BlobStore) {
	ctx := t.Context()
	tests := []struct {
		name       string
		src, dst   string
		existing   []byte // put at dst first when not nil
		data       []byte
		sameObject bool // src == dst
	}{
		{name: "promote upload", src: "uploads/tmp-1", dst: "originals/sha256/ab/cd/abcdef", data: []byte("bản gốc")},
		{name: "replace", src: "uploads/tmp-2", dst: "manifests/m.json", existing: []byte("old"), data: []byte("new")},
		{name: "onto itself", src: "manifests/self.json", dst: "manifests/self.json", data: []byte("self"), sameObject: true},
	}
	for _, tt := range tests {
		if tt.existing != nil {
			put(t, s, tt.dst, tt.existing)
		}
		put(t, s, tt.src, tt.data)
		if err := s.Move(ctx, tt.src, tt.dst); err != nil {
			t.Errorf("%s: Move(%q, %q) = %v, want nil", tt.name, tt.src, tt.dst, err)
			continue
		}
		if got, _ := get(t, s, tt.dst); !bytes.Equal(got, tt.data) {
			t.Errorf("%s: Get(%q) after Move = %q, want %q", tt.name, tt.dst, got, tt.data)
		}
		if !tt.sameObject {
			if _, err := s.Stat(ctx, tt.src); !errors.Is(err, archive.ErrNotFound) {
				t.Errorf("%s: Stat(%q) after Move = %v, want %v", tt.name, tt.src, err, archive.ErrNotFound)
			}
		}
	}
}

func testDelete(t *testing.T, s archive.BlobStore) {
	ctx := t.Context()
	const key = "uploads/stale"
	put(t, s, key, []byte("x"))
	put(t, s, "uploads/other", []byte("y"))
	for i, key := range []string{key, key, "never/existed"} {
		if err := s.Delete(ctx, key); err != nil {
			t.Errorf("Delete(%q) #%d = %v, want nil", key, i+1, err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, archive.ErrNotFound) {
			t.Errorf("Stat(%q) after Delete = %v, want %v", key, err, archive.ErrNotFound)
		}
	}
	if got, _ := get(t, s, "uploads/other"); string(got) != "y" {
		t.Errorf("Get(%q) after deleting a sibling = %q, want %q", "uploads/other", got, "y")
	}
}

func testList(t *testing.T, s archive.BlobStore) {
	ctx := t.Context()
	// Byte order puts "a-b" < "a.txt" < "a/b": a store that walks a
	// directory tree naively lists "a/…" before "a.txt".
	all := []string{
		"a-b",
		"a.txt",
		"a/b",
		"a/c/d",
		"manifests/x.json",
		"originals/sha256/ab/cd/abcd01",
		"originals/sha256/ab/cd/abcd02",
		"originals/sha256/ab/ef/abef01",
		"originals/sha256/ac/00/ac0001",
	}
	shuffled := slices.Clone(all)
	mrand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for _, key := range shuffled {
		put(t, s, key, []byte(key)) // size = len(key), checked below
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", all},
		{"a", all[:4]},
		{"a/", all[2:4]},
		{"a/c", all[3:4]},
		{"originals/", all[5:]},
		{"originals/sha256/a", all[5:]},
		{"originals/sha256/ab/", all[5:8]},
		{"originals/sha256/ab/cd/abcd01", all[5:6]},
		{"manifests/x", all[4:5]},
		{"zzz", nil},
		{"originals/sha256/ff/", nil},
	}
	for _, tt := range tests {
		var got []string
		err := s.List(ctx, tt.prefix, func(info archive.BlobInfo) error {
			if info.Size != int64(len(info.Key)) {
				t.Errorf("List(%q) gave %+v, want size %d", tt.prefix, info, len(info.Key))
			}
			got = append(got, info.Key)
			return nil
		})
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("List(%q) = %q, %v; want %q, nil", tt.prefix, got, err, tt.want)
		}
	}

	stop := errors.New("stop")
	calls := 0
	err := s.List(ctx, "", func(archive.BlobInfo) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("List with a callback failing at once = %v after %d calls, want %v after 1", err, calls, stop)
	}
}

func testInvalidKeys(t *testing.T, s archive.BlobStore) {
	ctx := t.Context()
	put(t, s, "ok", []byte("x"))
	for _, key := range []string{"", "/etc/passwd", "..", "../escape", "a/../../b", "a/./b", ".", "a//b", "a/", "a\\b", "a\x00b", "\xff\xfe"} {
		if err := s.Put(ctx, key, bytes.NewReader([]byte("x")), 1); !errors.Is(err, archive.ErrInvalid) {
			t.Errorf("Put(%q) = %v, want %v", key, err, archive.ErrInvalid)
		}
		if rc, _, err := s.Get(ctx, key); !errors.Is(err, archive.ErrInvalid) {
			if rc != nil {
				rc.Close()
			}
			t.Errorf("Get(%q) = %v, want %v", key, err, archive.ErrInvalid)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, archive.ErrInvalid) {
			t.Errorf("Stat(%q) = %v, want %v", key, err, archive.ErrInvalid)
		}
		if err := s.Delete(ctx, key); !errors.Is(err, archive.ErrInvalid) {
			t.Errorf("Delete(%q) = %v, want %v", key, err, archive.ErrInvalid)
		}
		if err := s.Move(ctx, "ok", key); !errors.Is(err, archive.ErrInvalid) {
			t.Errorf("Move(%q, %q) = %v, want %v", "ok", key, err, archive.ErrInvalid)
		}
		if err := s.Move(ctx, key, "ok2"); !errors.Is(err, archive.ErrInvalid) {
			t.Errorf("Move(%q, %q) = %v, want %v", key, "ok2", err, archive.ErrInvalid)
		}
	}
	if got, _ := get(t, s, "ok"); string(got) != "x" {
		t.Errorf("Get(%q) after the invalid moves = %q, want %q", "ok", got, "x")
	}
}

// A size that disagrees with the body means the caller's bookkeeping (the
// Content-Length it checked, the hash it computed) is about other bytes.
func testWrongSize(t *testing.T, s archive.BlobStore) {
	ctx := t.Context()
	tests := []struct {
		n, size int64
	}{
		{10, 11},
		{10, 9},
		{0, 1},
		{1, 0},
		{20 * MiB, 20*MiB + 1},
		{20 * MiB, 20*MiB - 1},
	}
	for _, tt := range tests {
		const key = "originals/wrong-size"
		err := s.Put(ctx, key, Generate(1, tt.n), tt.size)
		if !errors.Is(err, archive.ErrInvalid) {
			t.Errorf("Put(%d bytes, size %d) = %v, want %v", tt.n, tt.size, err, archive.ErrInvalid)
		}
		wantNothing(t, s, key)
	}
}

func testFailingReader(t *testing.T, s archive.BlobStore) {
	ctx := t.Context()
	tests := []struct {
		name      string
		failAt    int64
		size      int64
		overwrite bool
	}{
		{"at start", 0, 1024, false},
		{"small known size", 1024, 4 * MiB, false},
		{"small unknown size", 1024, -1, false},
		{"multipart known size", 20 * MiB, 30 * MiB, false},
		{"multipart unknown size", 20 * MiB, -1, false},
		{"over an existing object", 1024, 4 * MiB, true},
	}
	for _, tt := range tests {
		key := "originals/failing"
		old := []byte("the previous version")
		if tt.overwrite {
			put(t, s, key, old)
		}
		boom := errors.New("client went away")
		err := s.Put(ctx, key, FailAfter(Generate(2, 1<<40), tt.failAt, boom), tt.size)
		if !errors.Is(err, boom) {
			t.Errorf("%s: Put with a reader failing after %d bytes = %v, want %v", tt.name, tt.failAt, err, boom)
		}
		if tt.overwrite {
			if got, _ := get(t, s, key); !bytes.Equal(got, old) {
				t.Errorf("%s: Get(%q) after a failed Put = %q, want the previous %q", tt.name, key, got, old)
			}
			if err := s.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
			continue
		}
		wantNothing(t, s, key)
	}
}

func testCancelled(t *testing.T, s archive.BlobStore) {
	tests := []struct {
		name     string
		cancelAt int64 // -1: before Put starts
		size     int64
	}{
		{"before", -1, 1024},
		{"mid small", MiB, 4 * MiB},
		{"mid small unknown size", MiB, -1},
		{"mid multipart", 20 * MiB, 30 * MiB},
		{"mid multipart unknown size", 20 * MiB, -1},
	}
	for _, tt := range tests {
		const key = "originals/cancelled"
		ctx, cancel := context.WithCancel(t.Context())
		var r io.Reader
		if tt.cancelAt < 0 {
			cancel()
			r = Generate(4, tt.size)
		} else {
			n := tt.size
			if n < 0 {
				n = 30 * MiB
			}
			r = &cancelAfter{r: Generate(4, n), n: tt.cancelAt, cancel: cancel}
		}
		err := s.Put(ctx, key, r, tt.size)
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: Put with a cancelled context = %v, want %v", tt.name, err, context.Canceled)
		}
		wantNothing(t, s, key)
	}
}

func testConcurrentPut(t *testing.T, s archive.BlobStore) {
	ctx := t.Context()
	// Two clerks uploading the same file land on one content address.
	const key, n = "originals/sha256/ee/ff/eeff", 8
	data := readAll(t, Generate(5, 512*1024))
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = s.Put(ctx, key, bytes.NewReader(data), int64(len(data))) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent Put #%d(%q) = %v, want nil", i, key, err)
		}
	}
	if got, _ := get(t, s, key); !bytes.Equal(got, data) {
		t.Errorf("Get(%q) after concurrent Puts: %d bytes differ from the %d put", key, len(got), len(data))
	}
}

// testPutReaderAt puts bodies that also read at offsets, as a spooled
// upload is put (S3 then sends the parts of a large one in parallel): the
// stored bytes are exactly what Read would have yielded.
func testPutReaderAt(t *testing.T, s archive.BlobStore) {
	ctx := t.Context()
	f, err := os.CreateTemp(t.TempDir(), "spool-*")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(f, Generate(8, LargeSize+123)); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int64{1, 4 * MiB, LargeSize + 123} {
		key := fmt.Sprintf("originals/at-%d", n)
		if err := s.Put(ctx, key, io.NewSectionReader(f, 0, n), n); err != nil {
			t.Fatalf("Put(%q, section of a file, size %d) = %v, want nil", key, n, err)
		}
		rc, info, err := s.Get(ctx, key)
		if err != nil {
			t.Fatalf("Get(%q) = %v", key, err)
		}
		got := sum(rc)
		rc.Close()
		if want := sum(Generate(8, n)); got != want || info.Size != n {
			t.Errorf("Get(%q) after a Put of %d bytes from a file: size %d sha256 %s, want %s", key, n, info.Size, got, want)
		}
	}
	// A reader already partly read: only the rest is the body.
	data := readAll(t, Generate(9, 20*MiB))
	r := bytes.NewReader(data)
	if _, err := r.Seek(10, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "originals/at-rest", r, int64(len(data)-10)); err != nil {
		t.Fatalf("Put(a bytes.Reader at offset 10) = %v, want nil", err)
	}
	if got, _ := get(t, s, "originals/at-rest"); !bytes.Equal(got, data[10:]) {
		t.Errorf("Put of a bytes.Reader at offset 10 stored %d bytes, want the %d after the offset", len(got), len(data)-10)
	}
	// A section longer than the file behind it is a body shorter than its size.
	err = s.Put(ctx, "originals/at-short", io.NewSectionReader(f, 0, LargeSize+124), LargeSize+124)
	if !errors.Is(err, archive.ErrInvalid) {
		t.Errorf("Put(a section one byte past the end of its file) = %v, want %v", err, archive.ErrInvalid)
	}
	wantNothing(t, s, "originals/at-short")
}

// testFailingReaderAt fails or cancels a Put from a reader that reads at
// offsets part-way through: nothing is stored.
func testFailingReaderAt(t *testing.T, s archive.BlobStore) {
	boom := errors.New("spool disk failed")
	for _, n := range []int64{4 * MiB, LargeSize} {
		const key = "originals/failing-at"
		r := io.NewSectionReader(&atReader{r: readerAtOf(Generate(6, n)), failAt: n / 2, err: boom}, 0, n)
		if err := s.Put(t.Context(), key, r, n); !errors.Is(err, boom) {
			t.Errorf("Put(%d bytes from a reader failing at offset %d) = %v, want %v", n, n/2, err, boom)
		}
		wantNothing(t, s, key)

		ctx, cancel := context.WithCancel(t.Context())
		r = io.NewSectionReader(&atReader{r: readerAtOf(Generate(6, n)), failAt: n / 2, cancel: cancel}, 0, n)
		err := s.Put(ctx, key, r, n)
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Put(%d bytes from a reader cancelling at offset %d) = %v, want %v", n, n/2, err, context.Canceled)
		}
		wantNothing(t, s, key)
	}
}

func readerAtOf(r io.Reader) *bytes.Reader {
	b, _ := io.ReadAll(r)
	return bytes.NewReader(b)
}

// atReader reads at offsets until failAt, then fails with err, or cancels
// the upload and keeps supplying data (the store must notice the context).
type atReader struct {
	r      io.ReaderAt
	failAt int64
	err    error
	cancel context.CancelFunc
}

func (a *atReader) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > a.failAt {
		if a.cancel != nil {
			a.cancel()
		} else {
			return 0, a.err
		}
	}
	return a.r.ReadAt(p, off)
}

// Generate returns n deterministic pseudo-random bytes without holding them
// in memory, so large objects are streamed as uploads are.
func Generate(seed uint64, n int64) io.Reader {
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	return io.LimitReader(mrand.NewChaCha8(s), n)
}

// FailAfter returns a reader that yields n bytes of r, then err.
func FailAfter(r io.Reader, n int64, err error) io.Reader {
	return io.MultiReader(io.LimitReader(r, n), errReader{err})
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// cancelAfter cancels the upload's context once n bytes were read but
// keeps supplying data: the store must notice the context, not an EOF.
type cancelAfter struct {
	r      io.Reader
	n      int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.n -= int64(n); c.n <= 0 {
		c.cancel()
	}
	return n, err
}

func put(t *testing.T, s archive.BlobStore, key string, data []byte) {
	t.Helper()
	if err := s.Put(t.Context(), key, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("Put(%q) = %v, want nil", key, err)
	}
}

func get(t *testing.T, s archive.BlobStore, key string) ([]byte, archive.BlobInfo) {
	t.Helper()
	rc, info, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q) = %v, want nil", key, err)
	}
	defer rc.Close()
	return readAll(t, rc), info
}

func readAll(t *testing.T, r io.Reader) []byte {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading: %v", err)
	}
	return b
}

func sum(r io.Reader) string {
	h := sha256.New()
	io.Copy(h, r)
	return hex.EncodeToString(h.Sum(nil))
}

// wantNothing checks that key is not readable and not listed.
func wantNothing(t *testing.T, s archive.BlobStore, key string) {
	t.Helper()
	if _, err := s.Stat(t.Context(), key); !errors.Is(err, archive.ErrNotFound) {
		t.Errorf("Stat(%q) after a failed Put = %v, want %v", key, err, archive.ErrNotFound)
	}
	err := s.List(t.Context(), key, func(info archive.BlobInfo) error {
		t.Errorf("List(%q) after a failed Put found %+v", key, info)
		return nil
	})
	if err != nil {
		t.Errorf("List(%q) = %v, want nil", key, err)
	}
}
