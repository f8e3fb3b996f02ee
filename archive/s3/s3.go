// Package s3 owns the blob store on any S3-compatible server (AWS, MinIO,
// Ceph RGW, SeaweedFS, versitygw, a government cloud) through minio-go: the
// durable archive of originals, manifests and audit checkpoints.
//
// Every call fails within about 20 seconds when the server is down or
// frozen, and the same Store works again once the server is back: the
// connection deadlines in transport.go do that, not the caller's context.
package s3

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"vanthu/archive"
)

const (
	// partSize is passed on every PutObject: for an unknown size minio-go
	// otherwise picks parts large enough for a 5 TiB object, 528 MiB each,
	// and allocates a buffer of that size per upload.
	partSize = 16 << 20
	// smallObject is the most Put buffers to send an object of unknown size
	// as one PUT instead of a three-request multipart upload.
	smallObject = 5 << 20
	// maxCopy is the largest object S3 copies in one CopyObject request.
	maxCopy = 5 << 30
	// parallelParts is how many parts of a body that reads at offsets (a
	// spooled upload) are uploaded at once.
	parallelParts = 4
	// copyPartSize is the part size of server-side copies of large objects:
	// small enough that each part copies well within ioIdleTimeout.
	copyPartSize = 64 << 20
)

// Config says where the bucket is and how to sign requests.
type Config struct {
	Endpoint  string // host:port, no scheme
	Bucket    string
	AccessKey string
	SecretKey string
	UseSSL    bool
	Region    string // us-east-1 when empty
	// ObjectLock creates a missing bucket with object lock (WORM) enabled,
	// so originals can carry retention and legal holds in storage itself.
	ObjectLock bool
}

// Store keeps objects in one bucket.
type Store struct {
	client     *minio.Client
	transport  *http.Transport
	bucket     string
	versioned  bool
	objectLock bool
	copyLimit  int64 // maxCopy; lowered by tests to reach the multipart copy
}

var _ archive.BlobStore = (*Store)(nil)

// New connects to the server, creates the bucket when it is missing and
// turns versioning on where the server supports it, so an overwritten or
// deleted original can still be recovered by an operator.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, fmt.Errorf("s3: new: endpoint and bucket are required: %w", archive.ErrInvalid)
	}
	if strings.Contains(cfg.Endpoint, "://") {
		return nil, fmt.Errorf("s3: new: endpoint %q must be host:port, without a scheme: %w", cfg.Endpoint, archive.ErrInvalid)
	}
	region := cfg.Region
	if region == "" {
		// Setting a region also spares minio-go a GetBucketLocation request
		// before the first call on each bucket.
		region = "us-east-1"
	}
	transport := newTransport(cfg.UseSSL)
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:     credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:    cfg.UseSSL,
		Transport: abortBound{transport},
		Region:    region,
		// minio-go retries a failed request up to ten times; against a frozen
		// server every attempt waits out ioIdleTimeout, turning one Stat into
		// minutes. One attempt keeps each call bounded; callers that want to
		// retry can replay the whole operation.
		MaxRetries: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("s3: new: %w: %w", archive.ErrInvalid, err)
	}
	s := &Store{client: client, transport: transport, bucket: cfg.Bucket, copyLimit: maxCopy}
	if err := s.makeBucket(ctx, region, cfg.ObjectLock); err != nil {
		transport.CloseIdleConnections()
		return nil, err
	}
	if s.versioned, err = s.enableVersioning(ctx); err != nil {
		transport.CloseIdleConnections()
		return nil, err
	}
	if s.objectLock, err = s.detectObjectLock(ctx); err != nil {
		transport.CloseIdleConnections()
		return nil, err
	}
	return s, nil
}

// Versioned reports whether the bucket keeps old versions of objects.
func (s *Store) Versioned() bool { return s.versioned }

// ObjectLockEnabled reports whether the bucket was created with object lock
// (WORM); deletes of locked versions then fail until retention ends.
func (s *Store) ObjectLockEnabled() bool { return s.objectLock }

// Close drops pooled connections.
func (s *Store) Close() error {
	s.transport.CloseIdleConnections()
	return nil
}

func (s *Store) makeBucket(ctx context.Context, region string, lock bool) error {
	exists, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return s.fail(ctx, "new: bucket", s.bucket, err)
	}
	if exists {
		return nil
	}
	err = s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: region, ObjectLocking: lock})
	if code(err) == minio.BucketAlreadyOwnedByYou {
		return nil // another instance created it first
	}
	if err != nil {
		return s.fail(ctx, "new: make bucket", s.bucket, err)
	}
	return nil
}

func (s *Store) enableVersioning(ctx context.Context) (bool, error) {
	cfg, err := s.client.GetBucketVersioning(ctx, s.bucket)
	if notImplemented(err) {
		return false, nil
	}
	if err != nil {
		return false, s.fail(ctx, "new: get versioning", s.bucket, err)
	}
	if cfg.Enabled() {
		return true, nil
	}
	err = s.client.EnableVersioning(ctx, s.bucket)
	if notImplemented(err) {
		return false, nil
	}
	if err != nil {
		return false, s.fail(ctx, "new: enable versioning", s.bucket, err)
	}
	return true, nil
}

func (s *Store) detectObjectLock(ctx context.Context) (bool, error) {
	enabled, _, _, _, err := s.client.GetObjectLockConfig(ctx, s.bucket)
	if notImplemented(err) || code(err) == "ObjectLockConfigurationNotFoundError" || status(err) == http.StatusNotFound {
		return false, nil
	}
	if err != nil {
		return false, s.fail(ctx, "new: get object lock", s.bucket, err)
	}
	return enabled == "Enabled", nil
}

// Ping reports whether the server answers and the bucket exists, for
// readiness checks.
func (s *Store) Ping(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return s.fail(ctx, "ping", s.bucket, err)
	}
	if !ok {
		return fmt.Errorf("s3: ping: bucket %s does not exist: %w", s.bucket, archive.ErrUnavailable)
	}
	return nil
}

// Put uploads r. The object appears only when the single PUT or the
// multipart upload completes; a failed multipart upload is aborted.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := validKey(key); err != nil {
		return fmt.Errorf("s3: put %q: %w", key, err)
	}
	if size < -1 {
		return fmt.Errorf("s3: put %s: size %d: %w", key, size, archive.ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("s3: put %s: %w", key, err)
	}
	src := &source{ctx: ctx, r: r}
	var body io.Reader = src
	var exact *exactReader
	switch {
	case size == 0:
		// minio-go sends an empty body without reading r at all.
		var b [1]byte
		if n, err := io.ReadFull(src, b[:]); n > 0 {
			return fmt.Errorf("s3: put %s: body longer than the declared size 0: %w", key, archive.ErrInvalid)
		} else if err != io.EOF {
			return s.putFail(ctx, key, src, nil, err)
		}
		body = bytes.NewReader(nil)
	case size > 0:
		if ra, ok := wholeReaderAt(r, size); ok {
			ps := &partSource{src: src, ra: ra, size: size}
			ps.seq = io.NewSectionReader(ps, 0, size)
			body = ps
		} else {
			exact = &exactReader{r: src, left: size}
			body = exact
		}
	default:
		var head bytes.Buffer
		if _, err := head.ReadFrom(io.LimitReader(src, smallObject+1)); err != nil {
			return s.putFail(ctx, key, src, nil, err)
		}
		if head.Len() <= smallObject {
			size = int64(head.Len())
			body = bytes.NewReader(head.Bytes())
		} else {
			body = io.MultiReader(&head, src)
		}
	}
	opts := minio.PutObjectOptions{
		PartSize:    partSize,
		ContentType: "application/octet-stream",
		// Buckets with object lock reject writes without an integrity header.
		SendContentMd5: s.objectLock,
	}
	if ps, ok := body.(*partSource); ok && size > partSize {
		return s.putParts(ctx, key, ps, opts)
	}
	if sum, ok := archive.KeySHA256(key); ok {
		if ps, ok := body.(*partSource); ok {
			return s.putAddressed(ctx, key, ps, sum, opts)
		}
	}
	if _, err := s.client.PutObject(ctx, s.bucket, key, body, size, opts); err != nil {
		return s.putFail(ctx, key, src, exact, err)
	}
	return nil
}

// putAddressed stores an object at its content address in one PUT whose
// signed x-amz-content-sha256 header is the SHA-256 the key names, so the
// server refuses bytes that do not hash to their address, and this process
// hashes nothing. (Over plain HTTP minio-go otherwise signs the body in
// 64 KiB chunks: a SHA-256 of every byte here and again on the server, and
// a check only that the bytes arrived as they were read here.)
func (s *Store) putAddressed(ctx context.Context, key string, ps *partSource, sum string, opts minio.PutObjectOptions) error {
	var md5sum string
	if opts.SendContentMd5 {
		var err error
		if md5sum, err = contentMD5(ps, 0, ps.size); err != nil {
			return s.putFail(ctx, key, ps.src, nil, err)
		}
	}
	opts.DisableContentSha256 = true
	core := minio.Core{Client: s.client}
	if _, err := core.PutObject(ctx, s.bucket, key, io.NewSectionReader(ps, 0, ps.size), ps.size, md5sum, sum, opts); err != nil {
		return s.putFail(ctx, key, ps.src, nil, err)
	}
	return nil
}

// contentMD5 is the Content-MD5 header of size bytes of r from off, which
// buckets with object lock require on every write.
func contentMD5(r io.ReaderAt, off, size int64) (string, error) {
	h := md5.New()
	if _, err := io.Copy(h, io.NewSectionReader(r, off, size)); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)), nil
}

// putParts uploads a body that reads at offsets as a multipart upload whose
// parts go up parallelParts at a time, each part reading its own range, so
// nothing is buffered and the server's disk, not one connection, sets the
// pace. (minio-go has such an upload, but it aborts a failed upload while
// other parts are still being written; versitygw then keeps the upload,
// holding space until the next start. Here the abort waits for every part
// request to return.)
func (s *Store) putParts(ctx context.Context, key string, body *partSource, opts minio.PutObjectOptions) error {
	n, partLen, lastLen, err := minio.OptimalPartInfo(body.size, partSize)
	if err != nil {
		return fmt.Errorf("s3: put %s: %w: %w", key, archive.ErrTooLarge, err)
	}
	core := minio.Core{Client: s.client}
	id, err := core.NewMultipartUpload(ctx, s.bucket, key, opts)
	if err != nil {
		return s.putFail(ctx, key, body.src, nil, err)
	}
	parts := make([]minio.CompletePart, n)
	var (
		once    sync.Once
		failure error
		stop    = make(chan struct{})
		next    = make(chan int)
		wg      sync.WaitGroup
	)
	fail := func(err error) {
		once.Do(func() { failure = err; close(stop) })
	}
	for range min(parallelParts, n) {
		wg.Go(func() {
			for i := range next {
				off, size := int64(i)*partLen, partLen
				if i == n-1 {
					size = lastLen
				}
				var po minio.PutObjectPartOptions
				if opts.SendContentMd5 {
					var err error
					if po.Md5Base64, err = contentMD5(body, off, size); err != nil {
						fail(err)
						continue
					}
				}
				p, err := core.PutObjectPart(ctx, s.bucket, key, id, i+1, io.NewSectionReader(body, off, size), size, po)
				if err != nil {
					fail(err)
					continue
				}
				parts[i] = minio.CompletePart{PartNumber: p.PartNumber, ETag: p.ETag}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-stop:
			break feed
		case <-ctx.Done():
			fail(ctx.Err())
			break feed
		}
	}
	close(next)
	wg.Wait()
	if failure == nil {
		_, failure = core.CompleteMultipartUpload(ctx, s.bucket, key, id, parts, opts)
	}
	if failure != nil {
		s.abortUpload(ctx, key, id)
		return s.putFail(ctx, key, body.src, nil, failure)
	}
	return nil
}

// abortUpload aborts a failed multipart upload even when ctx is done. A
// part whose request was cancelled may still land on the server after the
// abort, so it asks again while the server still lists the upload's parts.
// What it cannot abort (the server is down), AbortIncompleteUploads does at
// the next start.
func (s *Store) abortUpload(ctx context.Context, key, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	core := minio.Core{Client: s.client}
	for try := 0; try < 3; try++ {
		if err := core.AbortMultipartUpload(ctx, s.bucket, key, id); err != nil && code(err) != minio.NoSuchUpload {
			return
		}
		time.Sleep(100 * time.Millisecond)
		if _, err := core.ListObjectParts(ctx, s.bucket, key, id, 0, 1); err != nil {
			return // NoSuchUpload: gone
		}
	}
}

// putFail blames a failed upload on the right side: the caller's context,
// the caller's reader, a size that does not match, or the server.
func (s *Store) putFail(ctx context.Context, key string, src *source, exact *exactReader, err error) error {
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("s3: put %s: %w", key, ctx.Err())
	case src.readErr() != nil:
		return fmt.Errorf("s3: put %s: reading: %w", key, src.readErr())
	case exact != nil && exact.err != nil:
		return fmt.Errorf("s3: put %s: %w", key, exact.err)
	}
	return s.fail(ctx, "put", key, err)
}

// Get opens the object. The returned reader fetches ranges lazily, so a
// Seek costs one request and no download of the skipped bytes.
func (s *Store) Get(ctx context.Context, key string) (io.ReadSeekCloser, archive.BlobInfo, error) {
	if err := validKey(key); err != nil {
		return nil, archive.BlobInfo{}, fmt.Errorf("s3: get %q: %w", key, err)
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, archive.BlobInfo{}, s.fail(ctx, "get", key, err)
	}
	// GetObject sends nothing yet; Stat makes a missing key fail here, not
	// at the first Read.
	oi, err := obj.Stat()
	if err != nil {
		obj.Close()
		return nil, archive.BlobInfo{}, s.fail(ctx, "get", key, err)
	}
	return &object{Object: obj, ctx: ctx, s: s, key: key}, info(oi), nil
}

// object translates read errors, so a server dying mid-download reaches the
// caller as ErrUnavailable like every other failure.
type object struct {
	*minio.Object
	ctx context.Context
	s   *Store
	key string
}

func (o *object) Read(p []byte) (int, error) {
	n, err := o.Object.Read(p)
	if err != nil && err != io.EOF {
		err = o.s.fail(o.ctx, "read", o.key, err)
	}
	return n, err
}

// Stat describes the object.
func (s *Store) Stat(ctx context.Context, key string) (archive.BlobInfo, error) {
	if err := validKey(key); err != nil {
		return archive.BlobInfo{}, fmt.Errorf("s3: stat %q: %w", key, err)
	}
	oi, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return archive.BlobInfo{}, s.fail(ctx, "stat", key, err)
	}
	return info(oi), nil
}

// Move copies src to dst on the server, then deletes src. It is not atomic:
// a failure after the copy leaves both, and the error says so; retrying is
// safe.
func (s *Store) Move(ctx context.Context, src, dst string) error {
	if err := validKey(src); err != nil {
		return fmt.Errorf("s3: move %q: %w", src, err)
	}
	if err := validKey(dst); err != nil {
		return fmt.Errorf("s3: move %s to %q: %w", src, dst, err)
	}
	op := "move " + src + " to"
	oi, err := s.client.StatObject(ctx, s.bucket, src, minio.StatObjectOptions{})
	if err != nil {
		return s.fail(ctx, op, dst, err)
	}
	if src == dst {
		return nil // S3 refuses to copy an object onto itself unchanged
	}
	from := minio.CopySrcOptions{Bucket: s.bucket, Object: src, VersionID: oi.VersionID}
	to := minio.CopyDestOptions{Bucket: s.bucket, Object: dst}
	if oi.Size > min(s.copyLimit, copyPartSize) {
		// One CopyObject of a large object sends nothing back until the
		// server has copied it all, which on a slow disk outlasts the idle
		// timeout that protects us from a frozen server (a 1 GiB original
		// failed that way), and CopyObject stops at 5 GiB anyway. Copying
		// in parts keeps every request short.
		to.PartSize = copyPartSize
		_, err = s.client.ComposeObject(ctx, to, from)
	} else {
		_, err = s.client.CopyObject(ctx, to, from)
	}
	if err != nil {
		return s.fail(ctx, op, dst, err)
	}
	if err := s.client.RemoveObject(ctx, s.bucket, src, minio.RemoveObjectOptions{}); err != nil {
		return s.fail(ctx, op+" "+dst+": copied, but removing", src, err)
	}
	return nil
}

// Delete removes the object. In a versioned bucket the old versions stay
// (S3 adds a delete marker); DeleteAllVersions removes those too.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := validKey(key); err != nil {
		return fmt.Errorf("s3: delete %q: %w", key, err)
	}
	err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{})
	if err != nil && !errors.Is(kind(err), archive.ErrNotFound) {
		return s.fail(ctx, "delete", key, err)
	}
	return nil
}

// DeleteAllVersions removes every version and delete marker of key, for
// records disposition: after it nothing of the object remains in the
// bucket. Versions under object lock make it fail.
func (s *Store) DeleteAllVersions(ctx context.Context, key string) error {
	if err := validKey(key); err != nil {
		return fmt.Errorf("s3: delete all versions %q: %w", key, err)
	}
	if !s.versioned {
		// Versioning may have been on before; listing versions is harmless
		// there, but servers without versioning may not implement it.
		if err := s.Delete(ctx, key); err != nil {
			return err
		}
	}
	var versions []string
	for oi := range s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{Prefix: key, WithVersions: true, Recursive: true}) {
		if oi.Err != nil {
			if !s.versioned && notImplemented(oi.Err) {
				return nil
			}
			return s.fail(ctx, "delete all versions", key, oi.Err)
		}
		if oi.Key == key {
			versions = append(versions, oi.VersionID)
		}
	}
	for _, v := range versions {
		err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{VersionID: v})
		if err != nil && !errors.Is(kind(err), archive.ErrNotFound) {
			return s.fail(ctx, "delete all versions", key+" version "+v, err)
		}
	}
	return nil
}

// SetRetention protects the current version of key from deletion until
// until (governance mode: an operator with the bypass permission can still
// act in an emergency). It is an error on a bucket without object lock.
func (s *Store) SetRetention(ctx context.Context, key string, until time.Time) error {
	mode := minio.Governance
	err := s.client.PutObjectRetention(ctx, s.bucket, key, minio.PutObjectRetentionOptions{Mode: &mode, RetainUntilDate: &until})
	if err != nil {
		return s.fail(ctx, "set retention", key, err)
	}
	return nil
}

// SetLegalHold puts or lifts a legal hold on the current version of key.
func (s *Store) SetLegalHold(ctx context.Context, key string, on bool) error {
	st := minio.LegalHoldDisabled
	if on {
		st = minio.LegalHoldEnabled
	}
	err := s.client.PutObjectLegalHold(ctx, s.bucket, key, minio.PutObjectLegalHoldOptions{Status: &st})
	if err != nil {
		return s.fail(ctx, "set legal hold", key, err)
	}
	return nil
}

// List calls fn for each object under prefix, in key order (S3 lists in
// UTF-8 byte order).
func (s *Store) List(ctx context.Context, prefix string, fn func(archive.BlobInfo) error) error {
	for oi := range s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if oi.Err != nil {
			return s.fail(ctx, "list", prefix, oi.Err)
		}
		// Filesystem-backed servers report directories as "dir/" objects;
		// no key of ours ends in a slash.
		if strings.HasSuffix(oi.Key, "/") {
			continue
		}
		if err := fn(info(oi)); err != nil {
			return fmt.Errorf("s3: list %s: %w", prefix, err)
		}
	}
	return nil
}

// AbortIncompleteUploads aborts every unfinished multipart upload under
// prefix, which a crash or a server failure mid-upload leaves behind,
// holding space but never visible. It also aborts uploads in progress, so
// call it at start before this process, or any other, writes.
func (s *Store) AbortIncompleteUploads(ctx context.Context, prefix string) error {
	ctx, cancel := context.WithCancel(ctx) // stops the listing goroutine on early return
	defer cancel()
	var keys []string
	for u := range s.client.ListIncompleteUploads(ctx, s.bucket, prefix, true) {
		if u.Err != nil {
			return s.fail(ctx, "abort incomplete uploads", prefix, u.Err)
		}
		if len(keys) == 0 || keys[len(keys)-1] != u.Key {
			keys = append(keys, u.Key)
		}
	}
	for _, key := range keys {
		err := s.client.RemoveIncompleteUpload(ctx, s.bucket, key)
		if code(err) == minio.NoSuchUpload {
			// Aborted meanwhile (by the failed Put's own clean-up, which
			// may finish late after a frozen server wakes up): gone is
			// what we wanted.
			continue
		}
		if err != nil {
			return s.fail(ctx, "abort incomplete uploads", key, err)
		}
	}
	return nil
}

func info(oi minio.ObjectInfo) archive.BlobInfo {
	return archive.BlobInfo{Key: oi.Key, Size: oi.Size, ModTime: oi.LastModified}
}

// fail wraps err with the operation and the archive sentinel it stands for.
func (s *Store) fail(ctx context.Context, op, key string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("s3: %s %s: %w", op, key, ctx.Err())
	}
	if k := kind(err); k != nil {
		return fmt.Errorf("s3: %s %s: %w: %w", op, key, k, err)
	}
	return fmt.Errorf("s3: %s %s: %w", op, key, err)
}

// kind maps a minio-go or network error to an archive sentinel, or nil.
func kind(err error) error {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		switch {
		case resp.Code == minio.NoSuchKey, resp.Code == minio.NoSuchBucket, resp.Code == "NoSuchVersion",
			resp.StatusCode == http.StatusNotFound:
			return archive.ErrNotFound
		case resp.StatusCode == http.StatusInsufficientStorage, resp.Code == "XMinioStorageFull":
			return archive.ErrNoSpace
		case resp.Code == minio.EntityTooLarge:
			return archive.ErrTooLarge
		case resp.Code == minio.PreconditionFailed, resp.StatusCode == http.StatusPreconditionFailed:
			return archive.ErrConflict
		case resp.StatusCode >= 500, resp.StatusCode == http.StatusRequestTimeout,
			resp.StatusCode == http.StatusTooManyRequests,
			resp.Code == "RequestTimeout", resp.Code == "SlowDown", resp.Code == minio.InternalError:
			return archive.ErrUnavailable
		}
		return nil
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return archive.ErrUnavailable
	}
	return nil
}

func code(err error) string {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		return resp.Code
	}
	return ""
}

func status(err error) int {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		return resp.StatusCode
	}
	return 0
}

// notImplemented reports whether the server lacks a feature, as opposed to
// failing at it.
func notImplemented(err error) bool {
	switch code(err) {
	case minio.NotImplemented, "XNotImplemented", minio.APINotSupported:
		return true
	}
	return status(err) == http.StatusNotImplemented
}

// source wraps the caller's reader: it stops the upload on cancellation and
// remembers the reader's own error, so a client that broke off is not
// reported as a server failure.
type source struct {
	ctx context.Context
	r   io.Reader
	mu  sync.Mutex // parallel parts report errors concurrently
	err error
}

func (s *source) Read(p []byte) (int, error) {
	if err := s.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.failed(err)
	}
	return n, err
}

func (s *source) failed(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

func (s *source) readErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// wholeReaderAt returns r as an io.ReaderAt when its bytes from offset 0 are
// exactly what Read would yield, size of them: an unread *io.SectionReader,
// *bytes.Reader or *strings.Reader of that size (a spooled upload).
func wholeReaderAt(r io.Reader, size int64) (io.ReaderAt, bool) {
	ra, ok := r.(interface {
		io.ReaderAt
		io.Seeker
		Size() int64
	})
	if !ok || ra.Size() != size {
		return nil, false
	}
	if off, err := ra.Seek(0, io.SeekCurrent); err != nil || off != 0 {
		return nil, false
	}
	return ra, true
}

// partSource is the body of a Put whose reader reads at offsets: minio-go
// then uploads the parts of a large object in parallel, each part reading
// its own range, with no part buffered in memory (its stream of one part
// after another, for unknown sizes or object-lock buckets, holds a 16 MiB
// buffer and waits for each part). Like source, it stops on cancellation
// and keeps the reader's own error.
type partSource struct {
	src  *source
	ra   io.ReaderAt
	size int64
	seq  *io.SectionReader // over ReadAt, for minio-go's sequential paths
}

func (p *partSource) Read(b []byte) (int, error) { return p.seq.Read(b) }

func (p *partSource) ReadAt(b []byte, off int64) (int, error) {
	if err := p.src.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := p.ra.ReadAt(b, off)
	switch {
	case err == io.EOF && off+int64(n) < p.size:
		// The reader shrank under us (a truncated spool file).
		err = fmt.Errorf("body %d bytes shorter than the declared size: %w", p.size-off-int64(n), archive.ErrInvalid)
		p.src.failed(err)
	case err != nil && err != io.EOF:
		p.src.failed(err)
	}
	return n, err
}

// exactReader fails when the body is shorter or longer than the declared
// size. minio-go would read only size bytes and store a truncated object;
// this reads one byte past the end to tell.
type exactReader struct {
	r    io.Reader
	left int64
	err  error
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	if int64(len(p)) > e.left+1 {
		p = p[:e.left+1]
	}
	n, err := e.r.Read(p)
	if int64(n) > e.left {
		e.err = fmt.Errorf("body longer than the declared size: %w", archive.ErrInvalid)
		return 0, e.err
	}
	e.left -= int64(n)
	switch {
	case err == io.EOF && e.left > 0:
		e.err = fmt.Errorf("body %d bytes shorter than the declared size: %w", e.left, archive.ErrInvalid)
		return n, e.err
	case err == nil && e.left == 0:
		var b [1]byte
		m, perr := io.ReadFull(e.r, b[:])
		if m > 0 {
			e.err = fmt.Errorf("body longer than the declared size: %w", archive.ErrInvalid)
			return n, e.err
		}
		if perr != io.EOF {
			return n, perr
		}
		return n, io.EOF
	}
	return n, err
}

// validKey holds keys to archive/fsstore's rules, so objects can move
// between the two stores and both reject the same input.
func validKey(key string) error { return archive.ValidKey(key) }
