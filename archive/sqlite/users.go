package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"vanthu/archive"
)

const userCols = `id, name, role, clearance, unit, created_at, deleted_at IS NOT NULL`

func scanUser(row interface{ Scan(...any) error }) (*archive.User, error) {
	var u archive.User
	var role, clearance, created string
	if err := row.Scan(&u.ID, &u.Name, &role, &clearance, &u.Unit, &created, &u.Deleted); err != nil {
		return nil, err
	}
	u.Role, u.Clearance, u.CreatedAt = archive.Role(role), archive.Classification(clearance), parseTime(created)
	return &u, nil
}

// CreateUser inserts a user with an argon2id password hash (may be empty for
// token-only accounts) and records the event.
func (tx *Tx) CreateUser(ctx context.Context, u *archive.User, passwordHash string) error {
	res, err := tx.tx.ExecContext(ctx, `INSERT INTO users (name, role, clearance, unit, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		u.Name, string(u.Role), string(u.Clearance), u.Unit, passwordHash, now())
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return archive.Errorf(archive.ErrConflict, "user_exists", "a user named %q already exists", u.Name)
		}
		return unavailable("create user", err)
	}
	u.ID, _ = res.LastInsertId()
	return nil
}

// User returns a user by name, including deleted ones (Deleted is set).
func (c *Catalog) User(ctx context.Context, name string) (*archive.User, error) {
	u, err := scanUser(c.read.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("user " + name)
	}
	return u, err
}

// UserByID returns a user by id.
func (c *Catalog) UserByID(ctx context.Context, id int64) (*archive.User, error) {
	u, err := scanUser(c.read.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("user")
	}
	return u, err
}

// PasswordHash returns the stored password hash of an active user.
func (c *Catalog) PasswordHash(ctx context.Context, name string) (*archive.User, string, error) {
	var hash string
	row := c.read.QueryRowContext(ctx, `SELECT `+userCols+`, password_hash FROM users WHERE name = ? AND deleted_at IS NULL`, name)
	var u archive.User
	var role, clearance, created string
	err := row.Scan(&u.ID, &u.Name, &role, &clearance, &u.Unit, &created, &u.Deleted, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", notFound("user")
	}
	if err != nil {
		return nil, "", err
	}
	u.Role, u.Clearance, u.CreatedAt = archive.Role(role), archive.Classification(clearance), parseTime(created)
	return &u, hash, nil
}

// Users lists every user, active first.
func (c *Catalog) Users(ctx context.Context) ([]*archive.User, error) {
	rows, err := c.read.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY deleted_at IS NOT NULL, name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*archive.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// SetClearance changes a user's clearance (and role when non-empty).
func (tx *Tx) SetClearance(ctx context.Context, userID int64, role archive.Role, clearance archive.Classification) error {
	_, err := tx.tx.ExecContext(ctx, `UPDATE users SET clearance = ?, role = COALESCE(NULLIF(?, ''), role) WHERE id = ?`, string(clearance), string(role), userID)
	return err
}

// DeleteUser marks a user deleted; their tokens stop working at once.
func (tx *Tx) DeleteUser(ctx context.Context, userID int64) error {
	t := now()
	if _, err := tx.tx.ExecContext(ctx, `UPDATE users SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL`, t, userID); err != nil {
		return err
	}
	_, err := tx.tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`, t, userID)
	return err
}

// AddToken stores the hash of a new API token for a user.
func (tx *Tx) AddToken(ctx context.Context, userID int64, hash string) error {
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO tokens (user_id, hash, created_at) VALUES (?, ?, ?)`, userID, hash, now())
	return err
}

const sqlTokenUser = `SELECT u.id, u.name, u.role, u.clearance, u.unit, u.created_at, u.deleted_at IS NOT NULL
	FROM tokens t JOIN users u ON u.id = t.user_id
	WHERE t.hash = ? AND t.revoked_at IS NULL AND u.deleted_at IS NULL`

// UserByToken resolves a token hash to its active user. Revoked tokens and
// deleted users are not found.
func (c *Catalog) UserByToken(ctx context.Context, hash string) (*archive.User, error) {
	u, err := scanUser(c.tokenUser.QueryRowContext(ctx, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("token")
	}
	if err != nil {
		return nil, unavailable("token lookup", err)
	}
	return u, nil
}
