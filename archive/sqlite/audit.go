package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"vanthu/archive"
)

// AppendEvent adds e to the audit trail inside the transaction, chaining it
// to the last event. Seq, PrevHash, Hash and At (if zero) are filled in.
func (tx *Tx) AppendEvent(ctx context.Context, e *archive.Event) error {
	return tx.appendEvent(ctx, e, &chainHead{})
}

const (
	sqlAuditHead   = `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`
	sqlAuditInsert = `INSERT INTO audit (seq, at, actor, role, action, document_id, outcome, ip, request_id, details, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

// chainHead is the last event of the chain as a transaction has it: read
// from the table for the first event it appends, then carried on (a group
// commit appends many events in one transaction).
type chainHead struct {
	known bool
	seq   int64
	hash  string
}

func (tx *Tx) appendEvent(ctx context.Context, e *archive.Event, head *chainHead) error {
	if !head.known {
		head.hash = archive.GenesisHash
		err := tx.tx.StmtContext(ctx, tx.c.auditHead).QueryRowContext(ctx).Scan(&head.seq, &head.hash)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return unavailable("audit", err)
		}
		head.known = true
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	if e.Outcome == "" {
		e.Outcome = "ok"
	}
	e.Seq, e.PrevHash = head.seq+1, head.hash
	at, details := archive.EventTime(e.At), archive.CanonicalDetails(e.Details)
	e.Hash = archive.ChainHash(e.PrevHash, e.Seq, at, e.Actor, e.Role, e.Action, e.DocumentID, e.Outcome, e.IP, e.RequestID, details)
	_, err := tx.tx.StmtContext(ctx, tx.c.auditInsert).ExecContext(ctx,
		e.Seq, at, e.Actor, e.Role, e.Action, e.DocumentID, e.Outcome, e.IP, e.RequestID, details, e.PrevHash, e.Hash)
	if err != nil {
		return unavailable("audit", err)
	}
	head.seq, head.hash = e.Seq, e.Hash
	return nil
}

// Record appends one event and returns once it is durable: reads are
// audited before any byte is served, and a read whose event cannot be
// written is refused.
//
// Every search and download records an event, and each commit is an fsync
// on the one writer connection: with eight officers searching at once the
// events queued behind each other (110 ms at p99 for the append alone).
// So concurrent events are group-committed: one goroutine takes whatever
// events are waiting, appends them in one transaction and answers each
// caller after the commit. One event alone is committed at once, as before.
func (c *Catalog) Record(ctx context.Context, e *archive.Event) error {
	if c.rec == nil {
		return c.Update(ctx, func(tx *Tx) error { return tx.AppendEvent(ctx, e) })
	}
	return c.rec.record(e)
}

// RecordBeside is Record for an event whose caller has other work to do
// first (a search): the event is queued now, and wait returns once it is
// durable. The commit is put off until some caller waits for a queued
// event (or the group is full, or maxLinger passed), so the events of
// searches running side by side are committed together: a group of one
// costs about 0.19 ms of CPU per event, a group of eight 0.06 ms
// (BENCHMARKS.md, seventh session). The caller must call wait, once, and
// serve nothing the event covers before it returns nil.
func (c *Catalog) RecordBeside(e *archive.Event) (wait func() error) {
	if c.rec == nil {
		err := c.Record(context.Background(), e)
		return func() error { return err }
	}
	req := recordReq{e: e, done: make(chan error, 1), waiting: &atomic.Bool{}}
	if err := c.rec.enqueue(req); err != nil {
		return func() error { return err }
	}
	return func() error {
		select {
		case err := <-req.done:
			return err
		default:
		}
		req.waiting.Store(true)
		select {
		case c.rec.kick <- struct{}{}:
		default: // a kick is pending already
		}
		return c.rec.wait(req)
	}
}

// maxGroup bounds one group commit.
const maxGroup = 256

// maxLinger bounds how long a queued event waits for its caller: longer
// than a search under load (tens of ms), short enough that an event whose
// caller is slow is durable soon anyway.
const maxLinger = 50 * time.Millisecond

type recordReq struct {
	e    *archive.Event
	done chan error
	// waiting is nil for Record (commit at once); for RecordBeside it is
	// set when the caller waits.
	waiting *atomic.Bool
}

// urgent reports whether the request's caller is waiting for its commit.
func (q recordReq) urgent() bool { return q.waiting == nil || q.waiting.Load() }

type recorder struct {
	c      *Catalog
	q      chan recordReq
	kick   chan struct{} // a RecordBeside caller started waiting
	linger time.Duration // maxLinger; tests set it before the first event
	groups atomic.Int64  // transactions committed, for the tests
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

func newRecorder(c *Catalog) *recorder {
	r := &recorder{c: c, q: make(chan recordReq, maxGroup), kick: make(chan struct{}, 1), linger: maxLinger,
		stop: make(chan struct{}), done: make(chan struct{})}
	go r.run()
	return r
}

var errCatalogClosed = errors.New("sqlite: catalog closed")

func (r *recorder) record(e *archive.Event) error {
	req := recordReq{e: e, done: make(chan error, 1)}
	if err := r.enqueue(req); err != nil {
		return err
	}
	return r.wait(req)
}

func (r *recorder) enqueue(req recordReq) error {
	select {
	case <-r.stop:
		return unavailable("audit", errCatalogClosed)
	default:
	}
	select {
	case r.q <- req:
		return nil
	case <-r.stop:
		return unavailable("audit", errCatalogClosed)
	}
}

func (r *recorder) wait(req recordReq) error {
	select {
	case err := <-req.done:
		return err
	case <-r.done:
		// The recorder stopped; it answered everything it took.
		select {
		case err := <-req.done:
			return err
		default:
			return unavailable("audit", errCatalogClosed)
		}
	}
}

func (r *recorder) close() {
	r.once.Do(func() { close(r.stop) })
	<-r.done
}

func (r *recorder) run() {
	defer close(r.done)
	batch := make([]recordReq, 0, maxGroup)
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for {
		var first recordReq
		select {
		case first = <-r.q:
		case <-r.stop:
			// Answer whoever got in before the stop.
			for {
				select {
				case req := <-r.q:
					req.done <- r.commit([]recordReq{req})
				default:
					return
				}
			}
		}
		batch = append(batch[:0], first)
		now := first.urgent()
		if !now {
			linger.Reset(r.linger)
		}
	gather:
		for len(batch) < maxGroup {
			if now {
				// Commit what is queued already, without waiting for more.
				select {
				case req := <-r.q:
					batch = append(batch, req)
				default:
					break gather
				}
				continue
			}
			select {
			case req := <-r.q:
				batch = append(batch, req)
				now = req.urgent()
			case <-r.kick:
				// Some caller waits: its event is in the batch, or still in
				// the queue (taken next, already marked), or committed
				// before (a stale kick, ignored).
				for _, q := range batch {
					now = now || q.urgent()
				}
			case <-linger.C:
				now = true
			case <-r.stop:
				now = true
			}
		}
		if !linger.Stop() {
			select {
			case <-linger.C:
			default:
			}
		}
		err := r.commit(batch)
		if err != nil && len(batch) > 1 {
			// One event that cannot be written must not fail the others.
			for _, req := range batch {
				req.done <- r.commit([]recordReq{req})
			}
			continue
		}
		for _, req := range batch {
			req.done <- err
		}
	}
}

func (r *recorder) commit(batch []recordReq) error {
	r.groups.Add(1)
	ctx := context.Background()
	return r.c.Update(ctx, func(tx *Tx) error {
		head := &chainHead{}
		for _, req := range batch {
			if err := tx.appendEvent(ctx, req.e, head); err != nil {
				return err
			}
		}
		return nil
	})
}

// AuditFilter selects audit events.
type AuditFilter struct {
	DocumentID string
	Actor      string
	Action     string // exact, or a prefix ending in "." (e.g. "document.")
	From, To   time.Time
	AfterSeq   int64
	Limit      int
	Desc       bool
}

// Events lists audit events matching f, in sequence order.
func (c *Catalog) Events(ctx context.Context, f AuditFilter) ([]archive.Event, error) {
	var where []string
	var args []any
	if f.DocumentID != "" {
		where, args = append(where, "document_id = ?"), append(args, f.DocumentID)
	}
	if f.Actor != "" {
		where, args = append(where, "actor = ?"), append(args, f.Actor)
	}
	if f.Action != "" {
		if strings.HasSuffix(f.Action, ".") {
			where, args = append(where, "action LIKE ? ESCAPE '\\'"), append(args, strings.ReplaceAll(f.Action, "_", "\\_")+"%")
		} else {
			where, args = append(where, "action = ?"), append(args, f.Action)
		}
	}
	if !f.From.IsZero() {
		where, args = append(where, "at >= ?"), append(args, formatTime(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, "at < ?"), append(args, formatTime(f.To))
	}
	order := "ASC"
	if f.AfterSeq > 0 {
		if f.Desc {
			where, args = append(where, "seq < ?"), append(args, f.AfterSeq)
		} else {
			where, args = append(where, "seq > ?"), append(args, f.AfterSeq)
		}
	}
	if f.Desc {
		order = "DESC"
	}
	q := `SELECT seq, at, actor, role, action, document_id, outcome, ip, request_id, details, prev_hash, hash FROM audit`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY seq " + order
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := c.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, unavailable("audit query", err)
	}
	defer rows.Close()
	var out []archive.Event
	for rows.Next() {
		e, _, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func scanEvent(rows *sql.Rows) (archive.Event, [2]string, error) {
	var e archive.Event
	var at, details string
	err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Role, &e.Action, &e.DocumentID, &e.Outcome, &e.IP, &e.RequestID, &details, &e.PrevHash, &e.Hash)
	if err != nil {
		return e, [2]string{}, err
	}
	e.At = parseTime(at)
	if details != "" {
		_ = json.Unmarshal([]byte(details), &e.Details)
	}
	return e, [2]string{at, details}, nil
}

// VerifyChain recomputes every event's hash from the stored fields and checks
// that sequence numbers are contiguous and each event points to its
// predecessor. The first event that fails is named.
func (c *Catalog) VerifyChain(ctx context.Context) (archive.VerifyResult, error) {
	rows, err := c.read.QueryContext(ctx, `SELECT seq, at, actor, role, action, document_id, outcome, ip, request_id, details, prev_hash, hash FROM audit ORDER BY seq`)
	if err != nil {
		return archive.VerifyResult{}, unavailable("audit verify", err)
	}
	defer rows.Close()
	res := archive.VerifyResult{OK: true}
	prev, want := archive.GenesisHash, int64(1)
	for rows.Next() {
		e, raw, err := scanEvent(rows)
		if err != nil {
			return res, err
		}
		res.Events++
		if !res.OK {
			continue
		}
		fail := func(reason string) { res.OK, res.FirstBadSeq, res.Reason = false, e.Seq, reason }
		switch {
		case e.Seq != want:
			res.OK, res.FirstBadSeq = false, want
			res.Reason = fmt.Sprintf("event %d is missing (the next stored event is %d)", want, e.Seq)
		case e.PrevHash != prev:
			fail(fmt.Sprintf("event %d does not point to the hash of event %d", e.Seq, e.Seq-1))
		case archive.ChainHash(e.PrevHash, e.Seq, raw[0], e.Actor, e.Role, e.Action, e.DocumentID, e.Outcome, e.IP, e.RequestID, raw[1]) != e.Hash:
			fail(fmt.Sprintf("event %d was altered: its content no longer matches its hash", e.Seq))
		}
		prev, want = e.Hash, e.Seq+1
	}
	return res, rows.Err()
}

// LastEvent returns the newest event's sequence number and hash (0 and the
// genesis hash when the trail is empty).
func (c *Catalog) LastEvent(ctx context.Context) (int64, string, error) {
	var seq int64
	hash := archive.GenesisHash
	err := c.read.QueryRowContext(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, archive.GenesisHash, nil
	}
	return seq, hash, err
}
