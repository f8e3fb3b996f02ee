package archive

import (
	"context"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// BlobStore is where originals, manifests and audit checkpoints are kept
// durably. Two real implementations exist: archive/fsstore (local disk, the
// embedded default) and archive/s3 (any S3-compatible server through
// minio-go). archive/archivetest holds the one contract suite both pass.
//
// Keys are slash-separated paths such as "originals/sha256/ab/cd/<hex>".
// Not-found is always reported as ErrNotFound; an unreachable or failing
// backend as ErrUnavailable; a full disk as ErrNoSpace (all wrapped).
type BlobStore interface {
	// Put stores r under key. size is the exact length or -1 if unknown.
	// The object becomes visible only when Put returns nil: a failed or
	// cancelled Put leaves nothing readable under key.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// Get opens the object for reading; the reader also seeks, so ranges can
	// be served without reading from the start.
	Get(ctx context.Context, key string) (io.ReadSeekCloser, BlobInfo, error)
	// Stat describes the object without reading it.
	Stat(ctx context.Context, key string) (BlobInfo, error)
	// Move renames src to dst (replacing dst). Used to promote a streamed
	// upload to its content address once its hash is known.
	Move(ctx context.Context, src, dst string) error
	// Delete removes the object; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// List calls fn for every object whose key starts with prefix, in key order.
	List(ctx context.Context, prefix string, fn func(BlobInfo) error) error
}

// BlobInfo describes a stored object.
type BlobInfo struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// OriginalKey is the content address of an original with the given
// lower-case hex SHA-256: originals/sha256/ab/cd/<hex>.
func OriginalKey(sha256hex string) string {
	return "originals/sha256/" + sha256hex[0:2] + "/" + sha256hex[2:4] + "/" + sha256hex
}

// KeySHA256 returns the SHA-256 (lower-case hex) that a content address
// made by OriginalKey names, and false for any other key. The object
// stored under such a key must hash to it.
func KeySHA256(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, "originals/sha256/")
	if !ok || len(rest) != 6+64 {
		return "", false
	}
	sum := rest[6:]
	for _, c := range sum {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", false
		}
	}
	if OriginalKey(sum) != key {
		return "", false
	}
	return sum, true
}

// ManifestKey is where a document's JSON manifest lives.
func ManifestKey(docID string) string { return "manifests/" + docID + ".json" }

// Prefixes of the store's namespaces.
const (
	OriginalsPrefix  = "originals/"
	ManifestsPrefix  = "manifests/"
	UploadsPrefix    = "uploads/" // streamed uploads before promotion; swept when stale
	CheckpointPrefix = "audit/"
)

// MaxKeyLen is S3's key limit; both stores hold keys to it so that keys stay
// portable between them.
const MaxKeyLen = 1024

// ValidKey is the one key rule of the contract: non-empty UTF-8 of at most
// MaxKeyLen bytes, slash-separated segments none of which is empty, "." or
// "..", no leading slash, NUL or backslash. Stores reject other keys with
// ErrInvalid.
func ValidKey(key string) error {
	if key == "" || len(key) > MaxKeyLen || !utf8.ValidString(key) ||
		strings.HasPrefix(key, "/") || strings.ContainsAny(key, "\x00\\") {
		return ErrInvalid
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return ErrInvalid
		}
	}
	return nil
}
