// Package sqlite is vanthu's catalog: documents, versions, users, API tokens,
// the durable job queue and the hash-chained audit trail, in one SQLite file
// (modernc.org/sqlite, pure Go) opened in WAL mode with synchronous=FULL so
// that a committed transaction survives a power cut.
//
// Writes go through a single connection, so they are serialised in Go and
// never meet "database is locked"; reads use a separate pool and run
// concurrently with the writer under WAL.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"vanthu/archive"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// Catalog is the SQLite catalog. It is safe for concurrent use.
type Catalog struct {
	path  string
	write *sql.DB // exactly one connection: the only writer
	read  *sql.DB
	rec   *recorder // group commit of audit events, see Record
	// the audit append's two statements, prepared once on the writer
	auditHead, auditInsert *sql.Stmt
	// the token lookup every API request makes, prepared once on the
	// readers (parsing it was most of its cost)
	tokenUser *sql.Stmt
}

// Open opens (creating if needed) the catalog at path and applies pending
// migrations.
func Open(path string) (*Catalog, error) {
	dsn := func(extra string) string {
		q := url.Values{}
		for _, p := range []string{
			"busy_timeout(10000)",
			"journal_mode(WAL)",
			"synchronous(FULL)",
			"foreign_keys(ON)",
		} {
			q.Add("_pragma", p)
		}
		if extra != "" {
			q.Set("_txlock", extra)
		}
		return "file:" + path + "?" + q.Encode()
	}
	w, err := sql.Open("sqlite", dsn("immediate"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxLifetime(0)
	r, err := sql.Open("sqlite", dsn(""))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	c := &Catalog{path: path, write: w, read: r}
	if err := c.migrate(); err != nil {
		c.Close()
		return nil, err
	}
	if c.auditHead, err = w.Prepare(sqlAuditHead); err == nil {
		c.auditInsert, err = w.Prepare(sqlAuditInsert)
	}
	if err == nil {
		c.tokenUser, err = r.Prepare(sqlTokenUser)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	c.rec = newRecorder(c)
	return c, nil
}

// Close closes both pools.
func (c *Catalog) Close() error {
	if c.rec != nil {
		c.rec.close()
	}
	for _, st := range []*sql.Stmt{c.auditHead, c.auditInsert, c.tokenUser} {
		if st != nil {
			st.Close()
		}
	}
	err1 := c.read.Close()
	err2 := c.write.Close()
	return errors.Join(err1, err2)
}

// Ping checks the catalog answers a query.
func (c *Catalog) Ping(ctx context.Context) error {
	var n int
	return c.read.QueryRowContext(ctx, "SELECT 1").Scan(&n)
}

// IntegrityCheck runs PRAGMA integrity_check and returns its verdict ("ok").
func (c *Catalog) IntegrityCheck(ctx context.Context) (string, error) {
	var s string
	err := c.read.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&s)
	return s, err
}

func (c *Catalog) migrate() error {
	if _, err := c.write.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(files)
	for _, f := range files {
		base := strings.TrimPrefix(f, "migrations/")
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("sqlite: migration %s has no version prefix", f)
		}
		var n int
		if err := c.write.QueryRow(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, v).Scan(&n); err != nil {
			return fmt.Errorf("sqlite: migrate: %w", err)
		}
		if n > 0 {
			continue
		}
		body, err := migrations.ReadFile(f)
		if err != nil {
			return err
		}
		tx, err := c.write.Begin()
		if err != nil {
			return fmt.Errorf("sqlite: migrate: %w", err)
		}
		if _, err := tx.Exec(string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite: migration %s: %w", base, err)
		}
		if _, err := tx.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, v, now()); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite: migration %s: %w", base, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", base, err)
		}
	}
	return nil
}

// Tx is one write transaction. Everything that changes the catalog, and the
// audit event that records it, happens inside one Tx.
type Tx struct {
	tx *sql.Tx
	c  *Catalog
}

// Update runs fn in a write transaction (BEGIN IMMEDIATE), committing when fn
// returns nil. A failure to commit is reported as archive.ErrUnavailable: the
// change did not happen.
func (c *Catalog) Update(ctx context.Context, fn func(*Tx) error) error {
	tx, err := c.write.BeginTx(ctx, nil)
	if err != nil {
		return unavailable("begin", err)
	}
	if err := fn(&Tx{tx: tx, c: c}); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return unavailable("commit", err)
	}
	return nil
}

func unavailable(op string, err error) error {
	msg := "the catalog could not record the change"
	if strings.Contains(err.Error(), "SQLITE_FULL") || strings.Contains(err.Error(), "disk is full") || strings.Contains(err.Error(), "database or disk is full") {
		return &archive.Error{Kind: archive.ErrNoSpace, Code: "insufficient_storage", Message: "the catalog disk is full; nothing was changed", Err: fmt.Errorf("sqlite: %s: %w", op, err)}
	}
	return &archive.Error{Kind: archive.ErrUnavailable, Code: "catalog_unavailable", Message: msg, Err: fmt.Errorf("sqlite: %s: %w", op, err)}
}

func now() string { return formatTime(time.Now()) }

// Times are stored as fixed-width UTC RFC 3339 with nanoseconds so that
// string order is time order.
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func notFound(what string) error {
	return archive.Errorf(archive.ErrNotFound, "not_found", "%s not found", what)
}
