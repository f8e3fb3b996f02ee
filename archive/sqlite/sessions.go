package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"vanthu/archive"
)

// Session is a signed-in browser. IDHash is the SHA-256 of the cookie value:
// the value itself is never stored. Role and Clearance are the user's as of
// the session's last rotation, so a change in the catalog is noticed.
type Session struct {
	IDHash    string
	UserID    int64
	CSRF      string
	Role      archive.Role
	Clearance archive.Classification
	CreatedAt time.Time
	LastSeen  time.Time
}

// CreateSession stores a new session.
func (c *Catalog) CreateSession(ctx context.Context, s *Session) error {
	return c.Update(ctx, func(tx *Tx) error {
		_, err := tx.tx.ExecContext(ctx, `INSERT INTO sessions (id_hash, user_id, csrf, role, clearance, created_at, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			s.IDHash, s.UserID, s.CSRF, string(s.Role), string(s.Clearance), formatTime(s.CreatedAt), formatTime(s.LastSeen))
		if err != nil {
			return unavailable("create session", err)
		}
		return nil
	})
}

// Session returns the session stored under idHash, or archive.ErrNotFound.
func (c *Catalog) Session(ctx context.Context, idHash string) (*Session, error) {
	var s Session
	var role, clearance, created, seen string
	err := c.read.QueryRowContext(ctx, `SELECT id_hash, user_id, csrf, role, clearance, created_at, last_seen FROM sessions WHERE id_hash = ?`, idHash).
		Scan(&s.IDHash, &s.UserID, &s.CSRF, &role, &clearance, &created, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("session")
	}
	if err != nil {
		return nil, unavailable("session lookup", err)
	}
	s.Role, s.Clearance = archive.Role(role), archive.Classification(clearance)
	s.CreatedAt, s.LastSeen = parseTime(created), parseTime(seen)
	return &s, nil
}

// TouchSession records activity on a session (for the idle timeout).
func (c *Catalog) TouchSession(ctx context.Context, idHash string, at time.Time) error {
	return c.Update(ctx, func(tx *Tx) error {
		if _, err := tx.tx.ExecContext(ctx, `UPDATE sessions SET last_seen = ? WHERE id_hash = ?`, formatTime(at), idHash); err != nil {
			return unavailable("touch session", err)
		}
		return nil
	})
}

// RotateSession replaces the session stored under oldHash by s in one
// transaction: the old id stops working the moment the new one exists.
func (c *Catalog) RotateSession(ctx context.Context, oldHash string, s *Session) error {
	return c.Update(ctx, func(tx *Tx) error {
		res, err := tx.tx.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, oldHash)
		if err != nil {
			return unavailable("rotate session", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("session") // logged out meanwhile: do not resurrect it
		}
		_, err = tx.tx.ExecContext(ctx, `INSERT INTO sessions (id_hash, user_id, csrf, role, clearance, created_at, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			s.IDHash, s.UserID, s.CSRF, string(s.Role), string(s.Clearance), formatTime(s.CreatedAt), formatTime(s.LastSeen))
		if err != nil {
			return unavailable("rotate session", err)
		}
		return nil
	})
}

// DeleteSession ends a session (logout, expiry). Deleting a missing session
// is not an error.
func (c *Catalog) DeleteSession(ctx context.Context, idHash string) error {
	return c.Update(ctx, func(tx *Tx) error {
		if _, err := tx.tx.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, idHash); err != nil {
			return unavailable("delete session", err)
		}
		return nil
	})
}

// DeleteIdleSessions removes sessions not seen since before, and failed
// logins older than failuresBefore; it returns the sessions removed.
func (c *Catalog) DeleteIdleSessions(ctx context.Context, before, failuresBefore time.Time) (int64, error) {
	var n int64
	err := c.Update(ctx, func(tx *Tx) error {
		res, err := tx.tx.ExecContext(ctx, `DELETE FROM sessions WHERE last_seen < ?`, formatTime(before))
		if err != nil {
			return unavailable("expire sessions", err)
		}
		n, _ = res.RowsAffected()
		if _, err := tx.tx.ExecContext(ctx, `DELETE FROM login_failures WHERE at < ?`, formatTime(failuresBefore)); err != nil {
			return unavailable("expire login failures", err)
		}
		return nil
	})
	return n, err
}

// LoginFailures counts recent failed logins for an account and for an
// address, with the time of the latest of each.
type LoginFailures struct {
	Account, IP         int
	AccountLast, IPLast time.Time
}

// AddLoginFailure records a failed login.
func (c *Catalog) AddLoginFailure(ctx context.Context, account, ip string, at time.Time) error {
	return c.Update(ctx, func(tx *Tx) error {
		if _, err := tx.tx.ExecContext(ctx, `INSERT INTO login_failures (account, ip, at) VALUES (?, ?, ?)`, account, ip, formatTime(at)); err != nil {
			return unavailable("record login failure", err)
		}
		return nil
	})
}

// RecentLoginFailures counts the failures for account and for ip since a time.
func (c *Catalog) RecentLoginFailures(ctx context.Context, account, ip string, since time.Time) (LoginFailures, error) {
	var f LoginFailures
	var last sql.NullString
	t := formatTime(since)
	if err := c.read.QueryRowContext(ctx, `SELECT COUNT(*), MAX(at) FROM login_failures WHERE account = ? AND at >= ?`, account, t).Scan(&f.Account, &last); err != nil {
		return f, unavailable("login failures", err)
	}
	if last.Valid {
		f.AccountLast = parseTime(last.String)
	}
	last = sql.NullString{}
	if err := c.read.QueryRowContext(ctx, `SELECT COUNT(*), MAX(at) FROM login_failures WHERE ip = ? AND at >= ?`, ip, t).Scan(&f.IP, &last); err != nil {
		return f, unavailable("login failures", err)
	}
	if last.Valid {
		f.IPLast = parseTime(last.String)
	}
	return f, nil
}

// ClearLoginFailures forgets an account's failures after a successful login.
func (c *Catalog) ClearLoginFailures(ctx context.Context, account string) error {
	return c.Update(ctx, func(tx *Tx) error {
		if _, err := tx.tx.ExecContext(ctx, `DELETE FROM login_failures WHERE account = ?`, account); err != nil {
			return unavailable("clear login failures", err)
		}
		return nil
	})
}
