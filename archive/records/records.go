// Package records is the archive service: it orders every write across the
// blob store, the catalog, the audit trail and the work queue, and decides who
// may see what. HTTP handlers and CLI commands call it; it knows nothing of
// HTTP.
//
// The write order for an upload is fixed: the original's bytes go to the blob
// store first, at their content address (spooled to a local file while they
// are received and hashed, then put there; on the filesystem store streamed
// under a temporary key and renamed there), then one catalog transaction
// records the document, its version, the audit event and the queued work,
// and only then is the upload acknowledged. A crash at any point leaves at
// most an orphan object, which the start-up sweep removes, and never a
// catalog row without its object.
//
// (DESIGN.md places this service in package archive itself; it lives here
// because it must use the concrete SQLite catalog, which imports archive.)
package records

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"

	"vanthu/archive"
	"vanthu/archive/sqlite"
	"vanthu/ingest"
	"vanthu/ingest/vietnamese"
)

// Service is the archive service.
type Service struct {
	Blobs   archive.BlobStore
	Catalog *sqlite.Catalog
	Log     *slog.Logger

	// MaxUpload is the largest original accepted, in bytes.
	MaxUpload int64
	// SpoolDir, when set, is the local directory an upload is written to
	// while it is received and hashed; it is then put straight to its
	// content address with its size known, so an S3 store sends it in
	// parallel parts and never copies it again. Empty streams uploads into
	// the store under a temporary key and moves them to their content
	// address, which costs nothing on the filesystem store (a rename) and
	// a full server-side copy on S3.
	SpoolDir string
	// MaxClassification is the highest secrecy level this deployment may
	// hold (VANTHU_MAX_CLASSIFICATION).
	MaxClassification archive.Classification
	// ExtractWait is how long an upload waits for extraction so the clerk
	// sees extracted metadata at once; extraction continues in the
	// background past it.
	ExtractWait time.Duration
	// AuditKey signs audit checkpoints; it lives outside the catalog
	// (see LoadOrCreateAuditKey). Nil disables checkpoints.
	AuditKey ed25519.PrivateKey

	mu      sync.Mutex
	waiters map[string][]chan struct{} // document id → uploads waiting for its extraction
	storing map[string]*keyLock        // content address → uploads storing it (promote)
	handoff handoff                    // spool files of stored uploads, for extraction
	wake    chan struct{}              // nudges the queue workers
	once    sync.Once
}

func (s *Service) init() {
	s.once.Do(func() {
		s.waiters = map[string][]chan struct{}{}
		s.storing = map[string]*keyLock{}
		s.wake = make(chan struct{}, 1)
		if s.Log == nil {
			s.Log = slog.Default()
		}
	})
}

// Actor is who performs an operation, and from where.
type Actor struct {
	User      *archive.User
	IP        string
	RequestID string
}

func (a Actor) event(action, docID string) *archive.Event {
	e := &archive.Event{Action: action, DocumentID: docID, IP: a.IP, RequestID: a.RequestID, Outcome: "ok"}
	if a.User != nil {
		e.Actor, e.Role = a.User.Name, string(a.User.Role)
	} else {
		e.Actor, e.Role = "system", "system"
	}
	return e
}

// Can reports whether the actor's role allows an operation.
func (a Actor) Can(op string) bool {
	if a.User == nil {
		return false
	}
	switch op {
	case "write": // upload, edit metadata
		return a.User.Role == archive.RoleClerk
	case "read":
		return true
	case "link": // link documents to tasks
		return a.User.Role == archive.RoleClerk || a.User.Role == archive.RoleOfficer
	case "audit":
		return a.User.Role == archive.RoleInspector || a.User.Role == archive.RoleAdmin
	case "admin":
		return a.User.Role == archive.RoleAdmin
	}
	return false
}

func forbidden(what string) error {
	return archive.Errorf(archive.ErrForbidden, "forbidden", "your role may not %s", what)
}

// NotFound is the one answer for a document that does not exist and for one
// the caller may not see: the two must be indistinguishable.
func NotFound() error {
	return archive.Errorf(archive.ErrNotFound, "not_found", "no document with that id")
}

// Staged is an original received in full, with its hash and type known,
// not yet registered: spooled to a local file (Service.SpoolDir), or
// streamed into the blob store under a temporary key. Register or Discard
// releases it.
type Staged struct {
	TmpKey      string
	SHA256      string
	Size        int64
	ContentType string
	Filename    string

	spool *os.File // unlinked already; closing it frees the space
}

// limitReader fails once more than max bytes have been read.
type limitReader struct {
	r        io.Reader
	n, max   int64
	exceeded bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.max {
		l.exceeded = true
		return n, errTooLarge
	}
	return n, err
}

var errTooLarge = errors.New("upload exceeds the size limit")

// Stage streams body into the blob store with constant memory: the size
// limit is enforced and the SHA-256 computed while reading, and the type is
// sniffed from the first bytes. Nothing is left behind on failure.
func (s *Service) Stage(ctx context.Context, filename string, body io.Reader) (*Staged, error) {
	s.init()
	// A spooled upload meets the store only once it is received in full:
	// ask first, so that an outage is answered before the clerk has sent
	// a large file, as the streaming upload did after its first part.
	if p, ok := s.Blobs.(pinger); ok && s.SpoolDir != "" {
		if err := p.Ping(ctx); err != nil {
			return nil, storageDown(err)
		}
	}
	lim := &limitReader{r: body, max: s.MaxUpload}
	head := make([]byte, ingest.SniffLen)
	n, err := io.ReadFull(lim, head)
	if lim.exceeded {
		return nil, s.tooLarge()
	}
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, archive.Errorf(archive.ErrInvalid, "bad_body", "the upload could not be read: %v", err)
	}
	head = head[:n]
	mime, err := ingest.Sniff(head)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	body = io.MultiReader(bytesReader(head), lim)
	st := &Staged{ContentType: mime, Filename: SanitizeFilename(filename)}
	if s.SpoolDir != "" {
		st.spool, err = s.spool(body, h)
	} else {
		st.TmpKey = archive.UploadsPrefix + uuid.NewString()
		err = s.Blobs.Put(ctx, st.TmpKey, io.TeeReader(body, h), -1)
	}
	if err != nil {
		// Put leaves nothing visible on failure; delete anyway in case a
		// backend kept a partial object.
		s.discardAfter(err, st)
		var se *spoolError
		switch {
		case lim.exceeded:
			return nil, s.tooLarge()
		case errors.As(err, &se):
			return nil, se.public()
		case errors.Is(err, archive.ErrNoSpace):
			return nil, &archive.Error{Kind: archive.ErrNoSpace, Code: "insufficient_storage",
				Message: "the archive's storage is full; the file was not stored, and nothing else was changed", Err: err}
		case errors.Is(err, archive.ErrUnavailable):
			return nil, storageDown(err)
		case ctx.Err() != nil:
			return nil, uploadInterrupted()
		}
		var ae *archive.Error
		if errors.As(err, &ae) {
			return nil, err
		}
		return nil, &archive.Error{Kind: archive.ErrInvalid, Code: "bad_body", Message: "the upload could not be read to the end", Err: err}
	}
	st.SHA256, st.Size = hex.EncodeToString(h.Sum(nil)), lim.n
	return st, nil
}

// pinger is implemented by both blob stores (for readiness checks).
type pinger interface {
	Ping(context.Context) error
}

// spool copies src to a new file in SpoolDir with constant memory, and
// hashes it into h. The file is unlinked at once and lives on through its
// descriptor only, so nothing of it outlasts the Staged, or the process:
// even after kill -9 the kernel frees the space and there is nothing to
// sweep.
//
// Reading the request, hashing and writing the file each cost about a
// third of a second per GiB; they run as a pipeline over a few buffers
// (read, then hash, then write, each stage on its own goroutine), so a
// large upload is received in the time of the slowest stage instead of
// the sum of the three.
func (s *Service) spool(src io.Reader, h hash.Hash) (*os.File, error) {
	f, err := os.CreateTemp(s.SpoolDir, "upload-*")
	if err != nil {
		return nil, &spoolError{err}
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, &spoolError{err} // the file is left to the sweep of SpoolDir
	}
	const buffers, size = 4, 512 << 10
	free := make(chan []byte, buffers)
	for range buffers {
		free <- make([]byte, size)
	}
	toHash, toWrite := make(chan []byte, buffers), make(chan []byte, buffers)
	var failed atomic.Bool // the writer failed: stop reading
	var werr error
	done := make(chan struct{})
	go func() {
		for b := range toHash {
			h.Write(b)
			toWrite <- b
		}
		close(toWrite)
	}()
	go func() {
		defer close(done)
		for b := range toWrite {
			if werr == nil {
				if err := s.spoolWrite(f, b); err != nil {
					werr = err
					failed.Store(true)
				}
			}
			free <- b[:cap(b)]
		}
	}()
	var rerr error
	for !failed.Load() {
		b := <-free
		// Whole buffers: the multipart reader yields at most 4 KiB a
		// read, and a write per 4 KiB costs more than the hashing.
		n, err := io.ReadFull(src, b)
		if n > 0 {
			toHash <- b[:n]
		} else {
			free <- b
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			rerr = err
			break
		}
	}
	close(toHash)
	<-done
	switch {
	case werr != nil:
		f.Close()
		return nil, &spoolError{werr}
	case rerr != nil:
		f.Close()
		return nil, rerr
	}
	return f, nil
}

// spoolWrite writes b to the spool file f. On a full disk it first gives
// back the space of the spool files kept for extraction (the handoff: only
// a saving) and tries once more.
func (s *Service) spoolWrite(f *os.File, b []byte) error {
	n, err := f.Write(b)
	if err != nil && noSpace(err) && s.handoff.drop() {
		_, err = f.Write(b[n:])
	}
	return err
}

func noSpace(err error) bool { return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) }

// spoolError is a failure to write an upload to the spool directory.
type spoolError struct{ err error }

func (e *spoolError) Error() string { return "records: spooling an upload: " + e.err.Error() }
func (e *spoolError) Unwrap() error { return e.err }

// public is what the client is told: a full disk is the operator's to fix
// (507); anything else is a fault of this server (500, logged).
func (e *spoolError) public() error {
	if noSpace(e.err) {
		return &archive.Error{Kind: archive.ErrNoSpace, Code: "insufficient_storage",
			Message: "the server's own disk is too full to receive this file before storing it; nothing was stored and nothing else was changed. Please tell the administrator", Err: e}
	}
	return e
}

func uploadInterrupted() error {
	return archive.Errorf(archive.ErrInvalid, "upload_interrupted", "the upload was interrupted before it finished")
}

func storageDown(err error) error {
	return &archive.Error{Kind: archive.ErrUnavailable, Code: "storage_unavailable",
		Message: "the document storage is not reachable right now; nothing was stored, please try again shortly", Err: err}
}

func (s *Service) tooLarge() error {
	return archive.Errorf(archive.ErrTooLarge, "too_large", "the file is larger than this archive's upload limit of %d bytes (%s)", s.MaxUpload, humanBytes(s.MaxUpload))
}

// Discard removes a staged upload that will not be registered.
func (s *Service) Discard(st *Staged) {
	switch {
	case st == nil:
	case st.spool != nil:
		_ = st.spool.Close()
	case st.TmpKey != "":
		_ = s.Blobs.Delete(context.Background(), st.TmpKey)
	}
}

// discardAfter removes a staged upload after a failed call. When the store
// is unreachable the delete would wait out the same timeout again and
// double the client's wait for its 503, so it runs in the background then;
// what it cannot remove, the start-up sweep does.
func (s *Service) discardAfter(err error, st *Staged) {
	if st.spool == nil && errors.Is(err, archive.ErrUnavailable) {
		go s.Discard(st)
		return
	}
	s.Discard(st)
}

// Register records a staged original as a new document with the clerk's
// metadata fields. It answers only when the original and its catalog record
// are both durable.
func (s *Service) Register(ctx context.Context, a Actor, st *Staged, fields map[string]string) (*archive.Document, error) {
	s.init()
	if !a.Can("write") {
		s.Discard(st)
		return nil, forbidden("upload documents")
	}
	at := time.Now().UTC()
	d := &archive.Document{
		ID: newID(), Classification: archive.Unclassified, Urgency: "none", Direction: "incoming", Level: "",
		Filename: st.Filename, ContentType: st.ContentType, Size: st.Size, SHA256: st.SHA256,
		TextStatus: archive.TextPending, Tags: []string{}, Extracted: []string{},
		CreatedAt: at, UpdatedAt: at, CreatedBy: a.User.Name, Version: 1,
	}
	allowDup := false
	if v, ok := fields["allow_duplicate"]; ok {
		allowDup = v == "true" || v == "1" || v == "on"
		fields = maps.Clone(fields)
		delete(fields, "allow_duplicate")
	}
	userFields, err := ApplyFields(d, fields)
	if err != nil {
		s.Discard(st)
		return nil, err
	}
	if err := s.checkCeiling(d.Classification); err != nil {
		s.Discard(st)
		return nil, err
	}
	if !allowDup {
		if err := s.checkDuplicateRegistration(ctx, a, d); err != nil {
			s.Discard(st)
			return nil, err
		}
	}
	key := archive.OriginalKey(st.SHA256)
	if err := s.promote(ctx, st, key); err != nil {
		return nil, err
	}
	v := &archive.Version{DocumentID: d.ID, N: 1, SHA256: st.SHA256, Size: st.Size, ContentType: st.ContentType,
		Filename: st.Filename, Key: key, CreatedAt: at, CreatedBy: a.User.Name}
	err = s.Catalog.Update(ctx, func(tx *sqlite.Tx) error {
		same, err := tx.DocumentsBySHA(ctx, st.SHA256)
		if err != nil {
			return err
		}
		for _, o := range same {
			if a.User.Clearance.Allows(o.Classification) {
				return &archive.Error{Kind: archive.ErrConflict, Code: "duplicate",
					Message: fmt.Sprintf("this file is already archived as document %s", o.ID), Extra: map[string]any{"existing_id": o.ID}}
			}
		}
		// Incoming documents get the next số đến of the year; outgoing ones
		// the next entry of the outgoing register (sổ văn bản đi), which is
		// kept beside their own number/symbol. Internal ones are not
		// registered.
		if d.Direction == "incoming" || d.Direction == "outgoing" {
			n, err := tx.NextRegisterNumber(ctx, d.Direction, at.In(vietnam).Year())
			if err != nil {
				return err
			}
			d.RegisterNumber, d.RegisteredAt = n, at.In(vietnam).Format("2006-01-02")
		}
		if err := tx.InsertDocument(ctx, d, v, userFields); err != nil {
			return err
		}
		e := a.event(archive.ActionUpload, d.ID)
		e.Details = map[string]any{"sha256": st.SHA256, "size": st.Size, "filename": st.Filename, "content_type": st.ContentType}
		if err := tx.AppendEvent(ctx, e); err != nil {
			return err
		}
		if err := tx.EnqueueAll(ctx, d.ID, sqlite.JobExtract, sqlite.JobManifest); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		// The promoted object stays: it may belong to another document, and
		// an orphan is swept at the next start.
		return nil, err
	}
	if d.Retention != "" || d.LegalHold {
		s.mirrorLock(ctx, d)
	}
	wait := s.waitFor(d.ID)
	s.Wake()
	// A large original (a long scan) never finishes extracting within the
	// wait; waiting would only make the clerk watch its copy out of storage.
	if s.ExtractWait > 0 && st.Size <= extractWaitMaxSize {
		select {
		case <-wait:
		case <-time.After(s.ExtractWait):
		case <-ctx.Done():
		}
	}
	s.stopWaiting(d.ID, wait)
	if fresh, err := s.Catalog.Document(context.WithoutCancel(ctx), d.ID); err == nil {
		return fresh, nil
	}
	return d, nil
}

// extractWaitMaxSize is the largest upload whose extraction Register waits for.
const extractWaitMaxSize = 32 << 20

// promote stores a staged upload at its content address: puts the spool
// file there, or moves the temporary key. The staged copy is gone
// afterwards, whatever happened. Same bytes → same object: if the address
// exists, the staged copy is simply dropped. Nothing here ever deletes the
// content address, even after a failure: another document may hold it.
func (s *Service) promote(ctx context.Context, st *Staged, key string) error {
	// Identical uploads arriving together store their bytes once: the
	// second waits for the first's Put and then finds its object.
	unlock, err := s.lockKey(ctx, key)
	if err != nil {
		s.Discard(st)
		return uploadInterrupted()
	}
	defer unlock()
	if _, err := s.Blobs.Stat(ctx, key); err == nil {
		s.Discard(st)
		return nil
	} else if !errors.Is(err, archive.ErrNotFound) {
		s.discardAfter(err, st)
		return storageDown(err)
	}
	if st.spool != nil {
		err = s.Blobs.Put(ctx, key, io.NewSectionReader(st.spool, 0, st.Size), st.Size)
		if err == nil {
			// Kept for the extraction worker, which would otherwise read
			// the original back from the store.
			s.handoff.put(st.SHA256, st.spool, st.Size)
			st.spool = nil
		}
		s.Discard(st)
	} else if err = s.Blobs.Move(ctx, st.TmpKey, key); err != nil {
		s.discardAfter(err, st)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, archive.ErrNoSpace):
		return &archive.Error{Kind: archive.ErrNoSpace, Code: "insufficient_storage", Message: "the archive's storage is full; the file was not stored", Err: err}
	case ctx.Err() != nil:
		return uploadInterrupted()
	}
	return storageDown(err)
}

// keyLock serialises the uploads storing one content address in this
// process; n counts its holder and waiters.
type keyLock struct {
	ch chan struct{}
	n  int
}

func (s *Service) lockKey(ctx context.Context, key string) (unlock func(), err error) {
	s.init()
	s.mu.Lock()
	l := s.storing[key]
	if l == nil {
		l = &keyLock{ch: make(chan struct{}, 1)}
		s.storing[key] = l
	}
	l.n++
	s.mu.Unlock()
	release := func() {
		s.mu.Lock()
		if l.n--; l.n == 0 {
			delete(s.storing, key)
		}
		s.mu.Unlock()
	}
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}

var vietnam = time.FixedZone("ICT", 7*3600)

func (s *Service) checkCeiling(c archive.Classification) error {
	max := s.MaxClassification
	if max == "" {
		max = archive.Unclassified
	}
	if c.Rank() > max.Rank() {
		return archive.Errorf(archive.ErrUnprocessable, "classification_not_allowed",
			"this deployment may not hold documents classified %q (%s): its ceiling is %q. Vietnamese law restricts where state-secret documents may be stored; operators raise the ceiling (VANTHU_MAX_CLASSIFICATION) only on an isolated network",
			c, c.Label(), max)
	}
	return nil
}

// Document returns a document the actor may see, auditing the read.
func (s *Service) Document(ctx context.Context, a Actor, id string) (*archive.Document, error) {
	d, err := s.visible(ctx, a, id, archive.ActionRead)
	if err != nil {
		return nil, err
	}
	if err := s.Catalog.Record(ctx, a.event(archive.ActionRead, id)); err != nil {
		return nil, refusedUnaudited(err)
	}
	return d, nil
}

// Check returns a document the actor may see, auditing a refusal (as
// access.denied for the attempted action) but not a successful look-up: for
// views whose own audit event is written elsewhere (similar, references).
func (s *Service) Check(ctx context.Context, a Actor, id, action string) (*archive.Document, error) {
	return s.visible(ctx, a, id, action)
}

// Peek returns a document the actor may see without auditing (for pages that
// show a document inside another view; the view itself is audited).
func (s *Service) Peek(ctx context.Context, a Actor, id string) (*archive.Document, error) {
	d, err := s.Catalog.Document(ctx, id)
	if err != nil {
		if errors.Is(err, archive.ErrNotFound) {
			return nil, NotFound()
		}
		return nil, err
	}
	if a.User == nil || !a.User.Clearance.Allows(d.Classification) {
		return nil, NotFound()
	}
	return d, nil
}

// visible loads a document and checks clearance; a refusal is audited and
// answered exactly like a missing document.
func (s *Service) visible(ctx context.Context, a Actor, id, action string) (*archive.Document, error) {
	d, err := s.Catalog.Document(ctx, id)
	if errors.Is(err, archive.ErrNotFound) {
		return nil, NotFound()
	}
	if err != nil {
		return nil, err
	}
	if a.User == nil || !a.User.Clearance.Allows(d.Classification) {
		e := a.event(archive.ActionDenied, id)
		e.Outcome = "denied"
		e.Details = map[string]any{"attempted": action}
		if err := s.Catalog.Record(ctx, e); err != nil {
			s.Log.Error("audit of a denial failed", "err", err, "request_id", a.RequestID)
		}
		return nil, NotFound()
	}
	return d, nil
}

// commitChange is the tail of every change to a document: its row, the
// audit event that records the change, and the work it makes necessary, in
// the caller's transaction.
func commitChange(ctx context.Context, tx *sqlite.Tx, d *archive.Document, userFields []string, e *archive.Event, jobs ...string) error {
	if err := tx.UpdateDocument(ctx, d, userFields); err != nil {
		return err
	}
	if err := tx.AppendEvent(ctx, e); err != nil {
		return err
	}
	return tx.EnqueueAll(ctx, d.ID, jobs...)
}

// visibleTx loads a document inside a write transaction, answering an
// invisible one exactly like a missing one.
func visibleTx(ctx context.Context, tx *sqlite.Tx, a Actor, id string) (*archive.Document, error) {
	d, err := tx.Document(ctx, id)
	if errors.Is(err, archive.ErrNotFound) || (err == nil && (a.User == nil || !a.User.Clearance.Allows(d.Classification))) {
		return nil, NotFound()
	}
	return d, err
}

func refusedUnaudited(err error) error {
	return &archive.Error{Kind: archive.ErrUnavailable, Code: "audit_unavailable",
		Message: "the read could not be recorded in the audit trail, so it was refused; please try again shortly", Err: err}
}

// Original opens the current original of a document for download. The audit
// event is written before any byte is served; if it cannot be, the download
// is refused.
func (s *Service) Original(ctx context.Context, a Actor, id string, details map[string]any) (*archive.Document, io.ReadSeekCloser, error) {
	d, err := s.visible(ctx, a, id, archive.ActionDownload)
	if err != nil {
		return nil, nil, err
	}
	if d.DisposedAt != "" {
		return nil, nil, archive.Errorf(archive.ErrGone, "disposed", "the original of this document was disposed of on %s after its retention period; its record remains", d.DisposedAt)
	}
	rc, _, err := s.Blobs.Get(ctx, archive.OriginalKey(d.SHA256))
	if err != nil {
		if errors.Is(err, archive.ErrNotFound) {
			return nil, nil, &archive.Error{Kind: archive.ErrUnavailable, Code: "original_missing",
				Message: "the original of this document is missing from storage; the fixity check will report it", Err: err}
		}
		// Not storageDown: its "nothing was stored" is about uploads.
		return nil, nil, &archive.Error{Kind: archive.ErrUnavailable, Code: "storage_unavailable",
			Message: "the document storage is not reachable right now, so the original cannot be read; please try again shortly", Err: err}
	}
	e := a.event(archive.ActionDownload, id)
	e.Details = details
	if err := s.Catalog.Record(ctx, e); err != nil {
		rc.Close()
		return nil, nil, refusedUnaudited(err)
	}
	return d, rc, nil
}

// Text returns a document's extracted text, auditing the read.
func (s *Service) Text(ctx context.Context, a Actor, id string) (*archive.Document, string, error) {
	d, err := s.visible(ctx, a, id, archive.ActionReadText)
	if err != nil {
		return nil, "", err
	}
	if err := s.Catalog.Record(ctx, a.event(archive.ActionReadText, id)); err != nil {
		return nil, "", refusedUnaudited(err)
	}
	t, err := s.Catalog.Text(ctx, id)
	return d, t, err
}

// Versions lists a visible document's versions.
func (s *Service) Versions(ctx context.Context, a Actor, id string) ([]archive.Version, error) {
	if _, err := s.Check(ctx, a, id, "document.versions"); err != nil {
		return nil, err
	}
	return s.Catalog.Versions(ctx, id)
}

// List lists documents visible to the actor.
func (s *Service) List(ctx context.Context, a Actor, f sqlite.ListFilter) ([]*archive.Document, error) {
	f.Visible = Visible(a.User)
	return s.Catalog.ListDocuments(ctx, f)
}

// Visible lists the classifications a user may see.
func Visible(u *archive.User) []archive.Classification {
	var out []archive.Classification
	for _, c := range archive.Classifications {
		if u != nil && u.Clearance.Allows(c) {
			out = append(out, c)
		}
	}
	return out
}

// Edit changes metadata fields; the audit event keeps before and after.
func (s *Service) Edit(ctx context.Context, a Actor, id string, fields map[string]string) (*archive.Document, error) {
	s.init()
	if !a.Can("write") {
		return nil, forbidden("edit document metadata")
	}
	var out *archive.Document
	err := s.Catalog.Update(ctx, func(tx *sqlite.Tx) error {
		d, err := visibleTx(ctx, tx, a, id)
		if err != nil {
			return err
		}
		before := *d
		set, err := ApplyFields(d, fields)
		if err != nil {
			return err
		}
		if err := s.checkCeiling(d.Classification); err != nil {
			return err
		}
		if !a.User.Clearance.Allows(d.Classification) {
			return archive.Errorf(archive.ErrUnprocessable, "above_clearance", "you may not classify a document above your own clearance (%s)", a.User.Clearance)
		}
		uf, err := tx.UserFields(ctx, id)
		if err != nil {
			return err
		}
		for _, f := range set {
			if !slices.Contains(uf, f) {
				uf = append(uf, f)
			}
			d.Extracted = slices.DeleteFunc(d.Extracted, func(x string) bool { return x == f })
		}
		b, af := diffFields(&before, d)
		e := a.event(archive.ActionEdit, id)
		e.Details = map[string]any{"before": b, "after": af}
		out = d
		return commitChange(ctx, tx, d, uf, e, sqlite.JobIndex, sqlite.JobManifest)
	})
	if err != nil {
		return nil, err
	}
	if _, ok := fields["legal_hold"]; ok {
		s.mirrorLock(ctx, out)
	} else if _, ok := fields["retention"]; ok {
		s.mirrorLock(ctx, out)
	}
	s.Wake()
	return out, nil
}

// Reextract queues a document's original for extraction again (after a
// failure, or once OCR or a trust anchor is installed).
func (s *Service) Reextract(ctx context.Context, a Actor, id string) error {
	if !a.Can("write") {
		return forbidden("re-extract documents")
	}
	err := s.Catalog.Update(ctx, func(tx *sqlite.Tx) error {
		d, err := visibleTx(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if d.DisposedAt != "" {
			return archive.Errorf(archive.ErrGone, "disposed", "the original of this document was disposed of")
		}
		e := a.event(archive.ActionExtract, id)
		e.Details = map[string]any{"previous_status": d.TextStatus, "previous_reason": d.TextReason}
		if err := tx.AppendEvent(ctx, e); err != nil {
			return err
		}
		return tx.Enqueue(ctx, sqlite.JobExtract, id)
	})
	if err == nil {
		s.Wake()
	}
	return err
}

// Wake nudges the queue workers.
func (s *Service) Wake() {
	s.init()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Service) waitFor(id string) chan struct{} {
	ch := make(chan struct{})
	s.mu.Lock()
	s.waiters[id] = append(s.waiters[id], ch)
	s.mu.Unlock()
	return ch
}

func (s *Service) stopWaiting(id string, ch chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waiters[id] = slices.DeleteFunc(s.waiters[id], func(c chan struct{}) bool { return c == ch })
	if len(s.waiters[id]) == 0 {
		delete(s.waiters, id)
	}
}

// notify wakes uploads waiting for a document's extraction.
func (s *Service) notify(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range s.waiters[id] {
		close(ch)
	}
	delete(s.waiters, id)
}

// Manifest is the JSON object kept beside the originals for each document,
// so the catalog can be rebuilt from the bucket alone.
type Manifest struct {
	Format     int               `json:"format"`
	Document   *archive.Document `json:"document"`
	Versions   []archive.Version `json:"versions"`
	UserFields []string          `json:"user_fields"`
	// Tasks are a plan's tasks; TaskLinks the document's links to tasks.
	Tasks     []*sqlite.Task    `json:"tasks,omitempty"`
	TaskLinks []sqlite.TaskLink `json:"task_links,omitempty"`
	WrittenAt time.Time         `json:"written_at"`
}

func (s *Service) writeManifest(ctx context.Context, id string) error {
	d, err := s.Catalog.Document(ctx, id)
	if err != nil {
		return err
	}
	vs, err := s.Catalog.Versions(ctx, id)
	if err != nil {
		return err
	}
	// A read, not a write transaction: manifests are written one after
	// another and must not queue behind the catalog's single writer.
	uf, _ := s.Catalog.UserFieldsOf(ctx, id)
	tasks, err := s.Catalog.Tasks(ctx, sqlite.TaskFilter{PlanID: id})
	if err != nil {
		return err
	}
	links, err := s.Catalog.DocumentTaskLinks(ctx, id)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(Manifest{Format: 1, Document: d, Versions: vs, UserFields: uf, Tasks: tasks, TaskLinks: links,
		WrittenAt: time.Now().UTC()}, "", "  ")
	if err != nil {
		return err
	}
	return s.Blobs.Put(ctx, archive.ManifestKey(id), bytesReader(b), int64(len(b)))
}

// newID returns a time-ordered id (UUIDv7), so "newest first" is id order.
func newID() string {
	id, err := uuid.NewV7()
	if err != nil {
		var b [16]byte
		_, _ = rand.Read(b[:])
		return hex.EncodeToString(b[:])
	}
	return id.String()
}

// SanitizeFilename keeps a client's file name for display and download while
// removing what could hurt: path components, control and bidi-override
// characters; it is NFC-normalised and cut to 200 bytes on a rune boundary,
// keeping a short extension.
func SanitizeFilename(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case r < 0x20 || r == 0x7f:
			return -1
		case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F, r == 0x061C:
			return -1 // bidi overrides can disguise "fdp.exe" as "exe.pdf"
		case r == '"' || r == ';':
			return '_'
		}
		return r
	}, vietnamese.Normalize(name))
	name = strings.TrimSpace(strings.Trim(name, "."))
	if len(name) > 200 {
		// Keep a short extension: a name cut before its ".pdf" downloads
		// as a file nothing opens.
		ext := ""
		if i := strings.LastIndexByte(name, '.'); i > 0 && len(name)-i <= 16 {
			ext = name[i:]
		}
		cut := 200 - len(ext)
		for cut > 0 && !utf8RuneStart(name[cut]) {
			cut--
		}
		name = strings.TrimSpace(name[:cut]) + ext
	}
	if name == "" {
		name = "original"
	}
	return name
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
