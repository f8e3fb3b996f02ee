package records

import (
	"io"
	"os"
	"sync"
)

// Bounds of the handoff: enough for the uploads the extraction workers have
// not reached yet in a bulk import, small enough that the open, unlinked
// spool files never hold much of the local disk.
const (
	handoffMaxFiles = 32
	handoffMaxBytes = 256 << 20
)

// handoff keeps the spool files of the latest uploads put to the store open
// (they are unlinked already), by content address, so that the extraction
// worker copies a new original from the local disk instead of reading it
// back from the store: on S3 that is a GET of the whole file per upload,
// a second transfer through the S3 server and this process. The oldest are
// closed past the bounds; a worker that finds nothing here reads the store,
// as after a restart.
type handoff struct {
	mu    sync.Mutex
	files map[string]handoffFile // content address (SHA-256) → spool
	order []string               // content addresses, oldest first
	bytes int64
}

type handoffFile struct {
	f    *os.File
	size int64
}

// put keeps f, of size bytes, as the original with the given SHA-256; the
// handoff owns f from now on.
func (h *handoff) put(sha string, f *os.File, size int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, dup := h.files[sha]; dup || size > handoffMaxBytes {
		_ = f.Close()
		return
	}
	if h.files == nil {
		h.files = map[string]handoffFile{}
	}
	h.files[sha] = handoffFile{f, size}
	h.order = append(h.order, sha)
	h.bytes += size
	for len(h.files) > handoffMaxFiles || h.bytes > handoffMaxBytes {
		old := h.order[0]
		h.order = h.order[1:]
		if e, ok := h.files[old]; ok {
			delete(h.files, old)
			h.bytes -= e.size
			_ = e.f.Close()
		}
	}
}

// take removes and returns the original with the given SHA-256 as a reader
// and a function that closes it, or ok=false when it is not kept.
func (h *handoff) take(sha string) (r io.Reader, done func(), ok bool) {
	h.mu.Lock()
	e, ok := h.files[sha]
	if ok {
		delete(h.files, sha)
		h.bytes -= e.size
		for i, s := range h.order {
			if s == sha {
				h.order = append(h.order[:i], h.order[i+1:]...)
				break
			}
		}
	}
	h.mu.Unlock()
	if !ok {
		return nil, nil, false
	}
	return io.NewSectionReader(e.f, 0, e.size), func() { _ = e.f.Close() }, true
}

// drop closes every kept spool file, giving its disk space back, and
// reports whether there was any.
func (h *handoff) drop() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.files {
		_ = e.f.Close()
	}
	had := len(h.files) > 0
	h.files, h.order, h.bytes = nil, nil, 0
	return had
}
