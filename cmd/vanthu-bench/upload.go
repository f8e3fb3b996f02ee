package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/minio/minio-go/v7"
)

// noise is a reproducible stream of n bytes that starts like a PDF (the
// same shape as the e2e test's 1 GiB upload): a 1 MiB random block
// repeated, cheap enough that the source never limits the measurement.
type noise struct {
	block []byte
	off   int64
	n     int64
}

func newNoise(n int64) *noise {
	block := make([]byte, 1<<20)
	r := rand.New(rand.NewPCG(7, 7))
	for i := range block {
		block[i] = byte(r.Uint32())
	}
	copy(block, "%PDF-1.7\n")
	return &noise{block: block, n: n}
}

func (z *noise) Read(p []byte) (int, error) {
	if z.off >= z.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), z.n-z.off)]
	n := 0
	for n < len(p) {
		i := int(z.off % int64(len(z.block)))
		c := copy(p[n:], z.block[i:])
		n += c
		z.off += int64(c)
	}
	return n, nil
}

func (b *bench) upload(ctx context.Context) error {
	size := b.o.uploadSize
	if b.o.n < 2000 { // smoke run
		size = min(size, 64<<20)
	}
	s3, err := b.s3Server(ctx)
	if err != nil {
		return err
	}
	want := sha256.New()
	if _, err := io.Copy(want, newNoise(size)); err != nil {
		return err
	}
	wantSum := hex.EncodeToString(want.Sum(nil))

	// Direct: minio-go to the same server, in 16 MiB parts like vanthu's
	// store (archive/s3 partSize).
	bucket := fmt.Sprintf("bench-direct-%d", time.Now().Unix())
	if err := s3.client.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		return err
	}
	defer s3.dropBucket(ctx, bucket)
	logf("upload: %s straight to S3 with minio-go", mib(size))
	start := time.Now()
	if _, err := s3.client.PutObject(ctx, bucket, "big.pdf", newNoise(size), size, minio.PutObjectOptions{PartSize: 16 << 20, ContentType: "application/octet-stream"}); err != nil {
		return fmt.Errorf("direct PutObject: %w", err)
	}
	directPut := time.Since(start)
	start = time.Now()
	obj, err := s3.client.GetObject(ctx, bucket, "big.pdf", minio.GetObjectOptions{})
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(h, obj)
	obj.Close()
	directGet := time.Since(start)
	if err != nil || n != size || hex.EncodeToString(h.Sum(nil)) != wantSum {
		return fmt.Errorf("direct GetObject: %d bytes, err %v", n, err)
	}

	// Through the API.
	root := filepath.Join(b.o.work, "upload")
	data := filepath.Join(root, "data")
	if err := os.MkdirAll(root, 0o750); err != nil {
		return err
	}
	defer os.RemoveAll(root)
	tok, err := b.clerkToken(ctx, data)
	if err != nil {
		return err
	}
	apiBucket := fmt.Sprintf("bench-upload-%d", time.Now().Unix())
	defer s3.dropBucket(ctx, apiBucket)
	srv, err := b.startServer(ctx, data, s3.env(apiBucket)...)
	if err != nil {
		return err
	}
	defer srv.stop()
	hwmStart := procStatus(srv.pid(), "VmHWM")
	var env bytes.Buffer
	mw := multipart.NewWriter(&env)
	if _, err := mw.CreateFormFile("file", "ho-so-lon.pdf"); err != nil {
		return err
	}
	prefix := bytes.Clone(env.Bytes())
	env.Reset()
	mw.Close()
	suffix := bytes.Clone(env.Bytes())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.url+"/api/v1/documents",
		io.MultiReader(bytes.NewReader(prefix), newNoise(size), bytes.NewReader(suffix)))
	req.ContentLength = int64(len(prefix)+len(suffix)) + size
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+tok)
	logf("upload: %s through the API", mib(size))
	waitProf := b.profileServer(srv, "upload", 20*time.Second)
	start = time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("API upload: %w", err)
	}
	rb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	apiPut := time.Since(start)
	hwmUp := procStatus(srv.pid(), "VmHWM")
	profText := waitProf()
	var doc struct {
		ID, SHA256 string
		Size       int64
		TextStatus string `json:"text_status"`
	}
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(rb, &doc) != nil || doc.SHA256 != wantSum {
		return fmt.Errorf("API upload: %s %.300s", resp.Status, rb)
	}
	// The extraction of the (unreadable) 1 GiB PDF must not run during
	// the download measurement.
	start = time.Now()
	if err := srv.drained(ctx, 20*time.Minute); err != nil {
		return err
	}
	drain := time.Since(start)
	hwmQueue := procStatus(srv.pid(), "VmHWM")
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, srv.url+"/api/v1/documents/"+doc.ID+"/original", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	logf("upload: %s download through the API", mib(size))
	start = time.Now()
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	h.Reset()
	n, err = io.Copy(h, resp.Body)
	resp.Body.Close()
	apiGet := time.Since(start)
	hwmDown := procStatus(srv.pid(), "VmHWM")
	if err != nil || n != size || hex.EncodeToString(h.Sum(nil)) != wantSum {
		return fmt.Errorf("API download: %s, %d bytes, err %v", resp.Status, n, err)
	}

	mbs := func(d time.Duration) float64 { return float64(size) / (1 << 20) / d.Seconds() }
	b.rep.printf("\n### Large upload and download\n\nA %s stream (a PDF header, then noise) through `POST /api/v1/documents` (multipart with a Content-Length, as curl sends it) and `GET /api/v1/documents/{id}/original` of `vanthu serve` in S3 mode, against minio-go `PutObject` (16 MiB parts; the noise source cannot be read at offsets, so minio-go sends them one after another) and `GetObject` to the same versitygw. SHA-256 checked both ways. Server VmHWM at start %s; the upload's time runs to the `201`, which includes receiving the body into a spool file under DATA/tmp while hashing it, the put to its content address (16 MiB parts, four at a time) and the catalog commit (no wait for extraction above 32 MiB); the queued extraction of this unreadable PDF then took %s and finished before the download started (VmHWM after it %s). Load average %s.\n",
		mib(size), mib(hwmStart), secs(drain), mib(hwmQueue), loadavg())
	b.rep.table([]string{"direction", "direct (minio-go)", "through the API", "ratio", "≥ 80%", "server VmHWM after", "< 150 MiB"}, [][]string{
		{"upload", fmt.Sprintf("%s, %.0f MiB/s", secs(directPut), mbs(directPut)), fmt.Sprintf("%s, %.0f MiB/s", secs(apiPut), mbs(apiPut)),
			pct(mbs(apiPut), mbs(directPut)), verdict(mbs(apiPut) >= 0.8*mbs(directPut)), mib(hwmUp), verdict(hwmUp < 150<<20)},
		{"download", fmt.Sprintf("%s, %.0f MiB/s", secs(directGet), mbs(directGet)), fmt.Sprintf("%s, %.0f MiB/s", secs(apiGet), mbs(apiGet)),
			pct(mbs(apiGet), mbs(directGet)), verdict(mbs(apiGet) >= 0.8*mbs(directGet)), mib(hwmDown), verdict(hwmDown < 150<<20)},
	})
	b.rep.printf("%s", profText)
	return nil
}
