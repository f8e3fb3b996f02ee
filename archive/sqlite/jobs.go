package sqlite

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Job kinds of the durable queue.
const (
	JobExtract  = "extract"  // extract text and metadata from the original
	JobIndex    = "index"    // (re)index the document in the search index
	JobManifest = "manifest" // write the document's manifest to the blob store
	JobOCR      = "ocr"      // OCR the pages that had no usable text layer (slow lane)
)

// Job is one unit of queued work.
type Job struct {
	ID         int64
	Kind       string
	DocumentID string
	Attempts   int
}

// Enqueue adds a job inside the transaction that made it necessary, so the
// work can never be forgotten by a crash.
func (tx *Tx) Enqueue(ctx context.Context, kind, documentID string) error {
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO jobs (kind, document_id, created_at) VALUES (?, ?, ?)`, kind, documentID, now())
	if err != nil {
		return unavailable("enqueue", err)
	}
	return nil
}

// EnqueueAll adds one job of each kind for a document.
func (tx *Tx) EnqueueAll(ctx context.Context, documentID string, kinds ...string) error {
	for _, k := range kinds {
		if err := tx.Enqueue(ctx, k, documentID); err != nil {
			return err
		}
	}
	return nil
}

// Enqueue adds a job in a transaction of its own.
func (c *Catalog) Enqueue(ctx context.Context, kind, documentID string) error {
	return c.Update(ctx, func(tx *Tx) error { return tx.Enqueue(ctx, kind, documentID) })
}

// PendingJobs returns up to n due jobs of a kind, oldest first.
func (c *Catalog) PendingJobs(ctx context.Context, kind string, n int) ([]Job, error) {
	rows, err := c.read.QueryContext(ctx, `SELECT id, kind, document_id, attempts FROM jobs
		WHERE kind = ? AND not_before <= ? ORDER BY id LIMIT ?`, kind, now(), n)
	if err != nil {
		return nil, unavailable("jobs", err)
	}
	defer rows.Close()
	var out []Job
	for rows.Next() {
		var j Job
		if err := rows.Scan(&j.ID, &j.Kind, &j.DocumentID, &j.Attempts); err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// CountJobs returns how many jobs of a kind are queued.
func (c *Catalog) CountJobs(ctx context.Context, kind string) (int64, error) {
	var n int64
	err := c.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE kind = ?`, kind).Scan(&n)
	return n, err
}

// DoneJobs removes finished jobs.
func (tx *Tx) DoneJobs(ctx context.Context, ids ...int64) error {
	if len(ids) == 0 {
		return nil
	}
	ph := strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	_, err := tx.tx.ExecContext(ctx, `DELETE FROM jobs WHERE id IN (`+ph+`)`, args...)
	if err != nil {
		return unavailable("finish job", err)
	}
	return nil
}

// DoneJobs removes finished jobs in a transaction of their own.
func (c *Catalog) DoneJobs(ctx context.Context, ids ...int64) error {
	return c.Update(ctx, func(tx *Tx) error { return tx.DoneJobs(ctx, ids...) })
}

// RetryJob records a failure and delays the job with exponential backoff.
func (c *Catalog) RetryJob(ctx context.Context, id int64, attempts int, cause error) error {
	delay := time.Duration(1<<min(attempts, 8)) * time.Second
	return c.Update(ctx, func(tx *Tx) error {
		_, err := tx.tx.ExecContext(ctx, `UPDATE jobs SET attempts = ?, not_before = ?, last_error = ? WHERE id = ?`,
			attempts+1, formatTime(time.Now().Add(delay)), fmt.Sprint(cause), id)
		return err
	})
}
