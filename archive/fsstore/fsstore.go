// Package fsstore owns the local-disk blob store, vanthu's embedded default:
// every key is a file under one root directory, written atomically (temp
// file, fsync, rename, fsync of the directory) so a crash never leaves a
// half-written original under its content address.
//
// The top-level directory ".tmp" is the store's own: temp files live there,
// on the same filesystem as the objects so the final rename is atomic, and
// keys may not start with it.
package fsstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"
	"time"

	"vanthu/archive"
)

const (
	tmpDir = ".tmp"
	// Originals may be classified (Mật, Tối mật): only the service's own
	// user reads them; backups run as that user or as root.
	filePerm = 0o600
	dirPerm  = 0o700
)

// Store keeps objects as files under a root directory.
type Store struct {
	root *os.Root // confines every operation to the tree, symlinks included
}

var _ archive.BlobStore = (*Store)(nil)

// New opens (creating if needed) a store rooted at dir.
func New(dir string) (*Store, error) {
	if dir == "" {
		return nil, fmt.Errorf("fsstore: open: empty root: %w", archive.ErrInvalid)
	}
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return nil, fmt.Errorf("fsstore: open %s: %w", dir, classify(err))
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("fsstore: open %s: %w", dir, classify(err))
	}
	if err := root.MkdirAll(tmpDir, dirPerm); err != nil {
		root.Close()
		return nil, fmt.Errorf("fsstore: open %s: %w", dir, classify(err))
	}
	return &Store{root: root}, nil
}

// Close releases the root directory handle.
func (s *Store) Close() error { return s.root.Close() }

// Ping reports whether the store can create files, for readiness checks:
// a full or read-only disk makes the service unready before an upload fails.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fsstore: ping: %w", err)
	}
	f, name, err := s.createTemp()
	if err != nil {
		return fmt.Errorf("fsstore: ping: %w", classify(err))
	}
	f.Close()
	if err := s.root.Remove(name); err != nil {
		return fmt.Errorf("fsstore: ping: %w", classify(err))
	}
	return nil
}

// Put writes r to a temp file and renames it over key only once every byte
// is on disk, so readers see the old object or the new one, never a prefix.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64) (err error) {
	if err := validKey(key); err != nil {
		return fmt.Errorf("fsstore: put %q: %w", key, err)
	}
	if size < -1 {
		return fmt.Errorf("fsstore: put %s: size %d: %w", key, size, archive.ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fsstore: put %s: %w", key, err)
	}
	f, tmp, err := s.createTemp()
	if err != nil {
		return fmt.Errorf("fsstore: put %s: %w", key, classify(err))
	}
	defer func() {
		if err != nil {
			f.Close()
			s.root.Remove(tmp)
		}
	}()
	if err := copyExact(f, &ctxReader{ctx: ctx, r: r}, size); err != nil {
		return fmt.Errorf("fsstore: put %s: %w", key, classify(err))
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsstore: put %s: %w", key, classify(err))
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("fsstore: put %s: %w", key, classify(err))
	}
	dir := path.Dir(key)
	if err := s.mkdirAll(dir); err != nil {
		return fmt.Errorf("fsstore: put %s: %w", key, err)
	}
	// Last chance to honour cancellation: after the rename the object exists.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fsstore: put %s: %w", key, err)
	}
	if err := s.root.Rename(tmp, key); err != nil {
		return fmt.Errorf("fsstore: put %s: %w", key, classify(err))
	}
	// The rename is only durable once the directory entry is; without this a
	// power cut can lose an object whose upload was already acknowledged.
	if err := s.syncDir(dir); err != nil {
		return fmt.Errorf("fsstore: put %s: %w", key, classify(err))
	}
	return nil
}

// Get opens the object; *os.File already seeks, so ranges cost nothing.
func (s *Store) Get(ctx context.Context, key string) (io.ReadSeekCloser, archive.BlobInfo, error) {
	if err := validKey(key); err != nil {
		return nil, archive.BlobInfo{}, fmt.Errorf("fsstore: get %q: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, archive.BlobInfo{}, fmt.Errorf("fsstore: get %s: %w", key, err)
	}
	f, err := s.root.Open(key)
	if err != nil {
		return nil, archive.BlobInfo{}, fmt.Errorf("fsstore: get %s: %w", key, classify(err))
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = notObject(key)
	}
	if err != nil {
		f.Close()
		return nil, archive.BlobInfo{}, fmt.Errorf("fsstore: get %s: %w", key, classify(err))
	}
	return f, info(key, fi), nil
}

// Stat describes the object without opening it.
func (s *Store) Stat(ctx context.Context, key string) (archive.BlobInfo, error) {
	if err := validKey(key); err != nil {
		return archive.BlobInfo{}, fmt.Errorf("fsstore: stat %q: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return archive.BlobInfo{}, fmt.Errorf("fsstore: stat %s: %w", key, err)
	}
	fi, err := s.root.Stat(key)
	if err == nil && !fi.Mode().IsRegular() {
		err = notObject(key)
	}
	if err != nil {
		return archive.BlobInfo{}, fmt.Errorf("fsstore: stat %s: %w", key, classify(err))
	}
	return info(key, fi), nil
}

// Move renames src to dst, replacing dst; both directories are synced so
// the promotion survives a crash as a whole.
func (s *Store) Move(ctx context.Context, src, dst string) error {
	if err := validKey(src); err != nil {
		return fmt.Errorf("fsstore: move %q: %w", src, err)
	}
	if err := validKey(dst); err != nil {
		return fmt.Errorf("fsstore: move %s to %q: %w", src, dst, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fsstore: move %s to %s: %w", src, dst, err)
	}
	// A directory is not an object; renaming one would move a whole subtree.
	fi, err := s.root.Lstat(src)
	if err == nil && !fi.Mode().IsRegular() {
		err = notObject(src)
	}
	if err != nil {
		return fmt.Errorf("fsstore: move %s to %s: %w", src, dst, classify(err))
	}
	if src == dst {
		return nil
	}
	if err := s.mkdirAll(path.Dir(dst)); err != nil {
		return fmt.Errorf("fsstore: move %s to %s: %w", src, dst, err)
	}
	if err := s.root.Rename(src, dst); err != nil {
		return fmt.Errorf("fsstore: move %s to %s: %w", src, dst, classify(err))
	}
	if err := s.syncDir(path.Dir(dst)); err != nil {
		return fmt.Errorf("fsstore: move %s to %s: %w", src, dst, classify(err))
	}
	if path.Dir(src) != path.Dir(dst) {
		if err := s.syncDir(path.Dir(src)); err != nil {
			return fmt.Errorf("fsstore: move %s to %s: %w", src, dst, classify(err))
		}
	}
	return nil
}

// Delete removes the object. Empty parent directories are kept: removing
// them would race with a Put creating a file in the same directory.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := validKey(key); err != nil {
		return fmt.Errorf("fsstore: delete %q: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fsstore: delete %s: %w", key, err)
	}
	fi, err := s.root.Lstat(key)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil
	}
	if err == nil && fi.IsDir() {
		return nil // a prefix of other keys, not an object: nothing to delete
	}
	if err == nil {
		err = s.root.Remove(key)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("fsstore: delete %s: %w", key, classify(err))
	}
	if err := s.syncDir(path.Dir(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("fsstore: delete %s: %w", key, classify(err))
	}
	return nil
}

// DeleteAllVersions is Delete: the filesystem keeps no old versions. It
// exists so records disposition treats both stores alike.
func (s *Store) DeleteAllVersions(ctx context.Context, key string) error {
	return s.Delete(ctx, key)
}

// List walks the tree in key order (byte order, as S3 lists), descending
// only into directories that can hold keys with the prefix.
func (s *Store) List(ctx context.Context, prefix string, fn func(archive.BlobInfo) error) error {
	if strings.ContainsAny(prefix, "\x00\\") || strings.HasPrefix(prefix, "/") {
		return fmt.Errorf("fsstore: list %q: %w", prefix, archive.ErrInvalid)
	}
	err := s.walk(ctx, ".", "", prefix, fn)
	if err != nil {
		return fmt.Errorf("fsstore: list %s: %w", prefix, err)
	}
	return nil
}

// walk lists directory dir, whose keys all start with keyPrefix ("" or
// ending in "/").
func (s *Store) walk(ctx context.Context, dir, keyPrefix, prefix string, fn func(archive.BlobInfo) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := s.root.Open(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed while we walked
		}
		return classify(err)
	}
	entries, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return classify(err)
	}
	type entry struct {
		key string // directories end in "/", which is what orders them
		d   fs.DirEntry
	}
	list := make([]entry, 0, len(entries))
	for _, d := range entries {
		if keyPrefix == "" && d.Name() == tmpDir {
			continue
		}
		k := keyPrefix + d.Name()
		if d.IsDir() {
			k += "/"
		}
		if strings.HasPrefix(k, prefix) || (d.IsDir() && strings.HasPrefix(prefix, k)) {
			list = append(list, entry{k, d})
		}
	}
	// Sorting by name alone is wrong: "a.txt" < "a/b" as keys, but the
	// directory "a" sorts before the file "a.txt".
	slices.SortFunc(list, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	for _, e := range list {
		if e.d.IsDir() {
			if err := s.walk(ctx, strings.TrimSuffix(e.key, "/"), e.key, prefix, fn); err != nil {
				return err
			}
			continue
		}
		if !e.d.Type().IsRegular() {
			continue
		}
		fi, err := e.d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted while we walked
		}
		if err != nil {
			return classify(err)
		}
		if err := fn(info(e.key, fi)); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) createTemp() (*os.File, string, error) {
	for range 10 {
		var b [12]byte
		rand.Read(b[:])
		name := tmpDir + "/" + hex.EncodeToString(b[:])
		f, err := s.root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, filePerm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if errors.Is(err, fs.ErrNotExist) {
			// Someone removed .tmp under us; recreate it rather than fail.
			if err := s.root.MkdirAll(tmpDir, dirPerm); err != nil {
				return nil, "", err
			}
			continue
		}
		return f, name, err
	}
	return nil, "", errors.New("cannot create a temp file")
}

// mkdirAll creates the directories of a key. A file where a directory must
// go ("a" stored, now "a/b") is a conflict the filesystem cannot hold,
// unlike S3; vanthu's own key scheme never produces it.
func (s *Store) mkdirAll(dir string) error {
	err := s.root.MkdirAll(dir, dirPerm)
	if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %w", archive.ErrConflict, err)
	}
	if err != nil {
		return classify(err)
	}
	return nil
}

func (s *Store) syncDir(dir string) error {
	d, err := s.root.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// copyExact copies r to w; a known size must match exactly, since a short
// or long body means the client and the caller disagree about the object.
func copyExact(w io.Writer, r io.Reader, size int64) error {
	if size < 0 {
		_, err := io.Copy(w, r)
		return err
	}
	n, err := io.CopyN(w, r, size)
	if err == io.EOF {
		return fmt.Errorf("got %d bytes, want %d: %w", n, size, archive.ErrInvalid)
	}
	if err != nil {
		return err
	}
	var extra [1]byte
	if m, err := io.ReadFull(r, extra[:]); m > 0 {
		return fmt.Errorf("more than %d bytes: %w", size, archive.ErrInvalid)
	} else if err != io.EOF {
		return err
	}
	return nil
}

// ctxReader stops a copy when the caller gives up, so a cancelled upload
// does not keep writing to disk.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func info(key string, fi fs.FileInfo) archive.BlobInfo {
	return archive.BlobInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}
}

func notObject(key string) error {
	return &fs.PathError{Op: "open", Path: key, Err: fs.ErrNotExist}
}

// classify attaches the archive sentinel for the few errno values callers
// act on, keeping the original error for the log.
func classify(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return fmt.Errorf("%w: %w", archive.ErrNotFound, err)
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("%w: %w", archive.ErrNoSpace, err)
	case errors.Is(err, syscall.EISDIR), errors.Is(err, syscall.ENOTEMPTY), errors.Is(err, fs.ErrExist):
		// Renaming a file over a directory that holds other keys.
		return fmt.Errorf("%w: %w", archive.ErrConflict, err)
	case errors.Is(err, syscall.EIO), errors.Is(err, syscall.EROFS):
		return fmt.Errorf("%w: %w", archive.ErrUnavailable, err)
	}
	return err
}

// validKey enforces the key grammar: slash-separated, relative, no empty,
// "." or ".." segments, no NUL or backslash, valid UTF-8. archive/s3 holds
// keys to the same rules so an object can move between the two stores.
func validKey(key string) error {
	if err := archive.ValidKey(key); err != nil {
		return err
	}
	if key == tmpDir || strings.HasPrefix(key, tmpDir+"/") {
		return archive.ErrInvalid // the store's own temporary files
	}
	return nil
}

// SweepTemp removes temporary files older than age: what a crash left in the
// middle of a Put. Younger files may belong to a Put in flight in another
// process (an import running beside the server), so they stay.
func (s *Store) SweepTemp(age time.Duration) (int, error) {
	dir, err := s.root.Open(tmpDir)
	if err != nil {
		return 0, classify(err)
	}
	entries, err := dir.ReadDir(-1)
	dir.Close()
	if err != nil {
		return 0, classify(err)
	}
	n := 0
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || time.Since(info.ModTime()) < age {
			continue
		}
		if s.root.Remove(tmpDir+"/"+e.Name()) == nil {
			n++
		}
	}
	return n, nil
}
