package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// RawEvent is an audit event exactly as stored and hashed, for export to
// audit segments and restore from them.
type RawEvent struct {
	Seq        int64  `json:"seq"`
	At         string `json:"at"`
	Actor      string `json:"actor"`
	Role       string `json:"role"`
	Action     string `json:"action"`
	DocumentID string `json:"document_id"`
	Outcome    string `json:"outcome"`
	IP         string `json:"ip"`
	RequestID  string `json:"request_id"`
	Details    string `json:"details"`
	PrevHash   string `json:"prev_hash"`
	Hash       string `json:"hash"`
}

// RawEvents returns the stored events with from <= seq <= to.
func (c *Catalog) RawEvents(ctx context.Context, from, to int64) ([]RawEvent, error) {
	rows, err := c.read.QueryContext(ctx, `SELECT seq, at, actor, role, action, document_id, outcome, ip, request_id, details, prev_hash, hash
		FROM audit WHERE seq >= ? AND seq <= ? ORDER BY seq`, from, to)
	if err != nil {
		return nil, unavailable("audit export", err)
	}
	defer rows.Close()
	var out []RawEvent
	for rows.Next() {
		var e RawEvent
		if err := rows.Scan(&e.Seq, &e.At, &e.Actor, &e.Role, &e.Action, &e.DocumentID, &e.Outcome, &e.IP, &e.RequestID, &e.Details, &e.PrevHash, &e.Hash); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// EventHash returns the stored hash of one event (ErrNotFound when absent).
func (c *Catalog) EventHash(ctx context.Context, seq int64) (string, error) {
	var h string
	err := c.read.QueryRowContext(ctx, `SELECT hash FROM audit WHERE seq = ?`, seq).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound("audit event")
	}
	return h, err
}

// RestoreEvents inserts events read back from audit segments, as they were.
func (tx *Tx) RestoreEvents(ctx context.Context, evs []RawEvent) error {
	for _, e := range evs {
		_, err := tx.tx.ExecContext(ctx, `INSERT INTO audit (seq, at, actor, role, action, document_id, outcome, ip, request_id, details, prev_hash, hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.Seq, e.At, e.Actor, e.Role, e.Action, e.DocumentID, e.Outcome, e.IP, e.RequestID, e.Details, e.PrevHash, e.Hash)
		if err != nil {
			return unavailable("restore audit", err)
		}
	}
	return nil
}

// Checkpoint is a signed statement that the chain head was hash at seq.
type Checkpoint struct {
	Seq       int64
	Hash      string
	At        time.Time
	ObjectKey string
}

// LastCheckpoint returns the newest recorded checkpoint (Seq 0 when none).
func (c *Catalog) LastCheckpoint(ctx context.Context) (Checkpoint, error) {
	var cp Checkpoint
	var at string
	err := c.read.QueryRowContext(ctx, `SELECT seq, hash, at, object_key FROM audit_checkpoints ORDER BY seq DESC LIMIT 1`).Scan(&cp.Seq, &cp.Hash, &at, &cp.ObjectKey)
	if errors.Is(err, sql.ErrNoRows) {
		return Checkpoint{}, nil
	}
	cp.At = parseTime(at)
	return cp, err
}

// RecordCheckpoint notes a checkpoint written to storage.
func (c *Catalog) RecordCheckpoint(ctx context.Context, cp Checkpoint) error {
	return c.Update(ctx, func(tx *Tx) error {
		_, err := tx.tx.ExecContext(ctx, `INSERT OR REPLACE INTO audit_checkpoints (seq, hash, at, object_key) VALUES (?, ?, ?, ?)`,
			cp.Seq, cp.Hash, formatTime(cp.At), cp.ObjectKey)
		return err
	})
}
