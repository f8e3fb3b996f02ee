package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"vanthu/archive"
)

const docCols = `id, number, type, type_name, issuer, level, issued_at, subject, signer, classification, urgency, direction,
	tags, filename, content_type, size, sha256, pages, text_status, text_reason, text_engine, extracted,
	register_number, registered_at, version, created_at, created_by, updated_at,
	retention, retention_basis, legal_hold, disposed_at, fixity, fixity_checked_at, signatures`

func scanDoc(row interface{ Scan(...any) error }) (*archive.Document, error) {
	var d archive.Document
	var class, tags, extracted, created, updated, sigs string
	err := row.Scan(&d.ID, &d.Number, &d.Type, &d.TypeName, &d.Issuer, &d.Level, &d.IssuedAt, &d.Subject, &d.Signer,
		&class, &d.Urgency, &d.Direction, &tags, &d.Filename, &d.ContentType, &d.Size, &d.SHA256, &d.Pages,
		&d.TextStatus, &d.TextReason, &d.TextEngine, &extracted, &d.RegisterNumber, &d.RegisteredAt, &d.Version,
		&created, &d.CreatedBy, &updated,
		&d.Retention, &d.RetentionBasis, &d.LegalHold, &d.DisposedAt, &d.Fixity, &d.FixityCheckedAt, &sigs)
	if err != nil {
		return nil, err
	}
	d.Classification = archive.Classification(class)
	d.Signatures = json.RawMessage(sigs)
	if len(d.Signatures) == 0 {
		d.Signatures = json.RawMessage("[]")
	}
	d.CreatedAt, d.UpdatedAt = parseTime(created), parseTime(updated)
	_ = json.Unmarshal([]byte(tags), &d.Tags)
	_ = json.Unmarshal([]byte(extracted), &d.Extracted)
	if d.Tags == nil {
		d.Tags = []string{}
	}
	if d.Extracted == nil {
		d.Extracted = []string{}
	}
	return &d, nil
}

func jsonList(l []string) string {
	if l == nil {
		l = []string{}
	}
	b, _ := json.Marshal(l)
	return string(b)
}

// NumberKey is the identity form of a number/symbol: every whitespace removed,
// case kept (QĐ ≠ QyĐ).
func NumberKey(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// InsertDocument stores a new document with its first version. userFields
// names the metadata the clerk supplied (extraction never overwrites them).
func (tx *Tx) InsertDocument(ctx context.Context, d *archive.Document, v *archive.Version, userFields []string) error {
	t := formatTime(d.CreatedAt)
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO documents (id, number, number_key, type, type_name, issuer, level, issued_at, subject, signer,
		classification, urgency, direction, tags, filename, content_type, size, sha256, pages, text_status, text_reason, text_engine,
		extracted, user_fields, register_number, registered_at, version, created_at, created_by, updated_at,
		retention, retention_basis, legal_hold, disposed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.Number, NumberKey(d.Number), d.Type, d.TypeName, d.Issuer, d.Level, d.IssuedAt, d.Subject, d.Signer,
		string(d.Classification), d.Urgency, d.Direction, jsonList(d.Tags), d.Filename, d.ContentType, d.Size, d.SHA256,
		d.Pages, d.TextStatus, d.TextReason, d.TextEngine, jsonList(d.Extracted), jsonList(userFields),
		d.RegisterNumber, d.RegisteredAt, d.Version, t, d.CreatedBy, t,
		d.Retention, d.RetentionBasis, d.LegalHold, d.DisposedAt)
	if err != nil {
		return unavailable("insert document", err)
	}
	return tx.InsertVersion(ctx, v)
}

// InsertVersion records a stored original of a document.
func (tx *Tx) InsertVersion(ctx context.Context, v *archive.Version) error {
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO versions (document_id, n, sha256, size, content_type, filename, key, created_at, created_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, v.DocumentID, v.N, v.SHA256, v.Size, v.ContentType, v.Filename, v.Key, formatTime(v.CreatedAt), v.CreatedBy)
	if err != nil {
		return unavailable("insert version", err)
	}
	return nil
}

// Document returns a document by id, whatever its classification: callers
// check visibility.
func (c *Catalog) Document(ctx context.Context, id string) (*archive.Document, error) {
	return c.document(ctx, c.read, id)
}

// Document reads inside the transaction.
func (tx *Tx) Document(ctx context.Context, id string) (*archive.Document, error) {
	return tx.c.document(ctx, tx.tx, id)
}

type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func (c *Catalog) document(ctx context.Context, q querier, id string) (*archive.Document, error) {
	d, err := scanDoc(q.QueryRowContext(ctx, `SELECT `+docCols+` FROM documents WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("document")
	}
	if err != nil {
		return nil, unavailable("read document", err)
	}
	return d, nil
}

// DocumentsBySHA returns the documents whose current original has these bytes.
func (tx *Tx) DocumentsBySHA(ctx context.Context, sha string) ([]*archive.Document, error) {
	return collectDocs(tx.tx.QueryContext(ctx, `SELECT `+docCols+` FROM documents WHERE sha256 = ? ORDER BY id`, sha))
}

// DocumentsByNumber returns documents with this number/symbol (whitespace
// ignored), for duplicate warnings and citation resolution.
func (c *Catalog) DocumentsByNumber(ctx context.Context, number string) ([]*archive.Document, error) {
	return c.queryDocs(ctx, `SELECT `+docCols+` FROM documents WHERE number_key = ? ORDER BY id`, NumberKey(number))
}

// collectDocs scans every row of a documents query.
func collectDocs(rows *sql.Rows, err error) ([]*archive.Document, error) {
	if err != nil {
		return nil, unavailable("find documents", err)
	}
	defer rows.Close()
	var out []*archive.Document
	for rows.Next() {
		d, err := scanDoc(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// ListFilter selects documents for GET /documents.
type ListFilter struct {
	Type, Issuer string
	Year         int
	Task         int64                    // documents linked to this task
	Signed       bool                     // only documents with a signature whose integrity is valid
	Visible      []archive.Classification // classifications the caller may see
	After        string                   // id cursor: documents older than this one
	Size         int
}

// ListDocuments lists visible documents, newest first, with keyset paging.
func (c *Catalog) ListDocuments(ctx context.Context, f ListFilter) ([]*archive.Document, error) {
	where := []string{"1=1"}
	var args []any
	if f.Type != "" {
		where, args = append(where, "type = ?"), append(args, f.Type)
	}
	if f.Issuer != "" {
		where, args = append(where, "issuer = ?"), append(args, f.Issuer)
	}
	if f.Year > 0 {
		where, args = append(where, "substr(issued_at, 1, 4) = ?"), append(args, fmt.Sprintf("%04d", f.Year))
	}
	if f.Signed {
		where = append(where, `EXISTS (SELECT 1 FROM json_each(documents.signatures) WHERE json_extract(value, '$.integrity') = 'valid')`)
	}
	if f.Task > 0 {
		where, args = append(where, "id IN (SELECT document_id FROM task_documents WHERE task_id = ?)"), append(args, f.Task)
	}
	ph := make([]string, len(f.Visible))
	for i, v := range f.Visible {
		ph[i] = "?"
		args = append(args, string(v))
	}
	where = append(where, "classification IN ("+strings.Join(append(ph, "''"), ",")+")")
	if f.After != "" {
		where, args = append(where, "id < ?"), append(args, f.After)
	}
	size := f.Size
	if size <= 0 || size > 200 {
		size = 50
	}
	return c.queryDocs(ctx, `SELECT `+docCols+` FROM documents WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(` ORDER BY id DESC LIMIT %d`, size), args...)
}

// UserFields returns the metadata fields the clerk set on a document.
func (tx *Tx) UserFields(ctx context.Context, id string) ([]string, error) {
	var s string
	if err := tx.tx.QueryRowContext(ctx, `SELECT user_fields FROM documents WHERE id = ?`, id).Scan(&s); err != nil {
		return nil, err
	}
	var out []string
	_ = json.Unmarshal([]byte(s), &out)
	return out, nil
}

// UserFieldsOf reads the fields the clerk set, outside a write transaction.
func (c *Catalog) UserFieldsOf(ctx context.Context, id string) ([]string, error) {
	var s string
	if err := c.read.QueryRowContext(ctx, `SELECT user_fields FROM documents WHERE id = ?`, id).Scan(&s); err != nil {
		return nil, err
	}
	var out []string
	_ = json.Unmarshal([]byte(s), &out)
	return out, nil
}

// UpdateDocument writes every metadata column of d (and the user-fields list).
func (tx *Tx) UpdateDocument(ctx context.Context, d *archive.Document, userFields []string) error {
	d.UpdatedAt = time.Now()
	_, err := tx.tx.ExecContext(ctx, `UPDATE documents SET number = ?, number_key = ?, type = ?, type_name = ?, issuer = ?, level = ?,
		issued_at = ?, subject = ?, signer = ?, classification = ?, urgency = ?, direction = ?, tags = ?, pages = ?,
		text_status = ?, text_reason = ?, text_engine = ?, extracted = ?, user_fields = ?, register_number = ?, registered_at = ?,
		version = ?, filename = ?, content_type = ?, size = ?, sha256 = ?, updated_at = ?,
		retention = ?, retention_basis = ?, legal_hold = ?, disposed_at = ?, signatures = ? WHERE id = ?`,
		d.Number, NumberKey(d.Number), d.Type, d.TypeName, d.Issuer, d.Level, d.IssuedAt, d.Subject, d.Signer,
		string(d.Classification), d.Urgency, d.Direction, jsonList(d.Tags), d.Pages, d.TextStatus, d.TextReason,
		d.TextEngine, jsonList(d.Extracted), jsonList(userFields), d.RegisterNumber, d.RegisteredAt, d.Version,
		d.Filename, d.ContentType, d.Size, d.SHA256, formatTime(d.UpdatedAt),
		d.Retention, d.RetentionBasis, d.LegalHold, d.DisposedAt, sigJSON(d.Signatures), d.ID)
	if err != nil {
		return unavailable("update document", err)
	}
	return nil
}

// SetText stores the extracted text and the parser's full output.
func (tx *Tx) SetText(ctx context.Context, id, text string, pages []string, parsed []byte) error {
	pj, _ := json.Marshal(pages)
	if _, err := tx.tx.ExecContext(ctx, `INSERT INTO texts (document_id, text, pages) VALUES (?, ?, ?)
		ON CONFLICT(document_id) DO UPDATE SET text = excluded.text, pages = excluded.pages`, id, text, string(pj)); err != nil {
		return unavailable("store text", err)
	}
	if parsed != nil {
		if _, err := tx.tx.ExecContext(ctx, `UPDATE documents SET parsed = ? WHERE id = ?`, string(parsed), id); err != nil {
			return unavailable("store parsed metadata", err)
		}
	}
	return nil
}

// Text returns a document's extracted text ("" when none).
func (c *Catalog) Text(ctx context.Context, id string) (string, error) {
	var s string
	err := c.read.QueryRowContext(ctx, `SELECT text FROM texts WHERE document_id = ?`, id).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return s, err
}

// Parsed returns the parser's stored output for a document (JSON, "{}" when none).
func (c *Catalog) Parsed(ctx context.Context, id string) ([]byte, error) {
	var s string
	err := c.read.QueryRowContext(ctx, `SELECT parsed FROM documents WHERE id = ?`, id).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("document")
	}
	return []byte(s), err
}

// Versions lists a document's versions, oldest first.
func (c *Catalog) Versions(ctx context.Context, id string) ([]archive.Version, error) {
	rows, err := c.read.QueryContext(ctx, `SELECT document_id, n, sha256, size, content_type, filename, key, created_at, created_by
		FROM versions WHERE document_id = ? ORDER BY n`, id)
	if err != nil {
		return nil, unavailable("versions", err)
	}
	defer rows.Close()
	var out []archive.Version
	for rows.Next() {
		var v archive.Version
		var t string
		if err := rows.Scan(&v.DocumentID, &v.N, &v.SHA256, &v.Size, &v.ContentType, &v.Filename, &v.Key, &t, &v.CreatedBy); err != nil {
			return nil, err
		}
		v.CreatedAt = parseTime(t)
		out = append(out, v)
	}
	return out, rows.Err()
}

// KeyReferenced reports whether any version points at this blob key.
func (c *Catalog) KeyReferenced(ctx context.Context, key string) (bool, error) {
	var n int
	err := c.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM versions WHERE key = ?`, key).Scan(&n)
	return n > 0, err
}

// AllVersions calls fn for every stored version (for fixity checks).
func (c *Catalog) AllVersions(ctx context.Context, fn func(archive.Version) error) error {
	rows, err := c.read.QueryContext(ctx, `SELECT document_id, n, sha256, size, content_type, filename, key, created_at, created_by FROM versions ORDER BY key`)
	if err != nil {
		return unavailable("versions", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v archive.Version
		var t string
		if err := rows.Scan(&v.DocumentID, &v.N, &v.SHA256, &v.Size, &v.ContentType, &v.Filename, &v.Key, &t, &v.CreatedBy); err != nil {
			return err
		}
		v.CreatedAt = parseTime(t)
		if err := fn(v); err != nil {
			return err
		}
	}
	return rows.Err()
}

// AllDocumentIDs calls fn with every document id in batches (for reindex).
func (c *Catalog) AllDocumentIDs(ctx context.Context, fn func(ids []string) error) error {
	after := ""
	for {
		rows, err := c.read.QueryContext(ctx, `SELECT id FROM documents WHERE id > ? ORDER BY id LIMIT 1000`, after)
		if err != nil {
			return unavailable("list ids", err)
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if len(ids) == 0 {
			return nil
		}
		if err := fn(ids); err != nil {
			return err
		}
		after = ids[len(ids)-1]
	}
}

// IndexSource is what the search index is built from for one document:
// its row, extracted text, parser output and task links.
type IndexSource struct {
	Doc    *archive.Document
	Text   string // "" when none was extracted
	Parsed []byte // JSON, "{}" when none
	Links  []TaskLink
}

// IndexSources calls fn with every document and what its index entry needs,
// up to batch documents at a time in id order: two queries per batch where
// reading document by document takes four per document (for reindex).
func (c *Catalog) IndexSources(ctx context.Context, batch int, fn func([]IndexSource) error) error {
	after := ""
	for {
		rows, err := c.read.QueryContext(ctx, `SELECT `+docCols+`, parsed,
			COALESCE((SELECT text FROM texts WHERE document_id = documents.id), '')
			FROM documents WHERE id > ? ORDER BY id LIMIT ?`, after, batch)
		if err != nil {
			return unavailable("read documents", err)
		}
		var out []IndexSource
		for rows.Next() {
			var src IndexSource
			var parsed string
			d, err := scanDoc(scanWith{rows, []any{&parsed, &src.Text}})
			if err != nil {
				rows.Close()
				return unavailable("read documents", err)
			}
			src.Doc, src.Parsed = d, []byte(parsed)
			out = append(out, src)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return unavailable("read documents", err)
		}
		if len(out) == 0 {
			return nil
		}
		first, last := out[0].Doc.ID, out[len(out)-1].Doc.ID
		links, err := c.taskLinks(ctx, `document_id BETWEEN ? AND ?`, first, last)
		if err != nil {
			return err
		}
		// Links come in the order DocumentTaskLinks gives them (created_at,
		// task_id), and each document keeps it.
		at := make(map[string]int, len(out))
		for i := range out {
			at[out[i].Doc.ID] = i
		}
		for _, l := range links {
			if i, ok := at[l.DocumentID]; ok {
				out[i].Links = append(out[i].Links, l)
			}
		}
		if err := fn(out); err != nil {
			return err
		}
		after = last
	}
}

// scanWith scans a documents row followed by more columns.
type scanWith struct {
	rows  *sql.Rows
	extra []any
}

func (s scanWith) Scan(dest ...any) error { return s.rows.Scan(append(dest, s.extra...)...) }

// CountDocuments returns how many documents the catalog holds.
func (c *Catalog) CountDocuments(ctx context.Context) (int64, error) {
	var n int64
	err := c.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM documents`).Scan(&n)
	return n, err
}

// NextRegisterNumber allocates the next number in a yearly register
// (số đến for incoming, số đi for outgoing).
func (tx *Tx) NextRegisterNumber(ctx context.Context, direction string, year int) (int, error) {
	var n int
	err := tx.tx.QueryRowContext(ctx, `INSERT INTO register_counters (direction, year, last) VALUES (?, ?, 1)
		ON CONFLICT(direction, year) DO UPDATE SET last = last + 1 RETURNING last`, direction, year).Scan(&n)
	if err != nil {
		return 0, unavailable("register number", err)
	}
	return n, nil
}

// DocumentIDsBySHA returns the ids of documents whose current original has
// these bytes.
func (c *Catalog) DocumentIDsBySHA(ctx context.Context, sha string) ([]string, error) {
	rows, err := c.read.QueryContext(ctx, `SELECT id FROM documents WHERE sha256 = ? ORDER BY id`, sha)
	if err != nil {
		return nil, unavailable("find by sha256", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// RestoreRegister raises a yearly register counter to at least n (rebuild).
func (tx *Tx) RestoreRegister(ctx context.Context, direction string, year, n int) error {
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO register_counters (direction, year, last) VALUES (?, ?, ?)
		ON CONFLICT(direction, year) DO UPDATE SET last = max(last, excluded.last)`, direction, year, n)
	return err
}

// SetFixity records a fixity verdict on every document whose current
// original is at key.
func (c *Catalog) SetFixity(ctx context.Context, sha, verdict string) error {
	return c.Update(ctx, func(tx *Tx) error {
		_, err := tx.tx.ExecContext(ctx, `UPDATE documents SET fixity = ?, fixity_checked_at = ? WHERE sha256 = ?`, verdict, now(), sha)
		return err
	})
}

// Disposition is a request to dispose of a document's original, and its
// approval by a second person.
type Disposition struct {
	DocumentID, RequestedBy, Reason, ApprovedBy string
	RequestedAt, ApprovedAt                     time.Time
}

// RequestDisposition records a disposition request (replacing an older
// unapproved one).
func (tx *Tx) RequestDisposition(ctx context.Context, d Disposition) error {
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO dispositions (document_id, requested_by, requested_at, reason) VALUES (?, ?, ?, ?)
		ON CONFLICT(document_id) DO UPDATE SET requested_by = excluded.requested_by, requested_at = excluded.requested_at,
		reason = excluded.reason, approved_by = '', approved_at = ''`, d.DocumentID, d.RequestedBy, now(), d.Reason)
	return err
}

// PendingDisposition returns the disposition request of a document.
func (tx *Tx) PendingDisposition(ctx context.Context, id string) (*Disposition, error) {
	var d Disposition
	var req, appr string
	err := tx.tx.QueryRowContext(ctx, `SELECT document_id, requested_by, requested_at, reason, approved_by, approved_at FROM dispositions WHERE document_id = ?`, id).
		Scan(&d.DocumentID, &d.RequestedBy, &req, &d.Reason, &d.ApprovedBy, &appr)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("disposition request")
	}
	if err != nil {
		return nil, err
	}
	d.RequestedAt, d.ApprovedAt = parseTime(req), parseTime(appr)
	return &d, nil
}

// ApproveDisposition marks a request approved.
func (tx *Tx) ApproveDisposition(ctx context.Context, id, by string) error {
	_, err := tx.tx.ExecContext(ctx, `UPDATE dispositions SET approved_by = ?, approved_at = ? WHERE document_id = ?`, by, now(), id)
	return err
}

// DeleteText removes a disposed document's extracted text.
func (tx *Tx) DeleteText(ctx context.Context, id string) error {
	_, err := tx.tx.ExecContext(ctx, `DELETE FROM texts WHERE document_id = ?`, id)
	return err
}

// OtherDocumentsWithKey counts documents other than id that keep a version at key.
func (tx *Tx) OtherDocumentsWithKey(ctx context.Context, id, key string) (int, error) {
	var n int
	err := tx.tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM versions v JOIN documents d ON d.id = v.document_id
		WHERE v.key = ? AND v.document_id != ? AND d.disposed_at = ''`, key, id).Scan(&n)
	return n, err
}

// NextVersion returns the next version number of a document.
func (tx *Tx) NextVersion(ctx context.Context, id string) (int, error) {
	var n int
	err := tx.tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(n), 0) + 1 FROM versions WHERE document_id = ?`, id).Scan(&n)
	return n, err
}

func sigJSON(b json.RawMessage) string {
	if len(b) == 0 {
		return "[]"
	}
	return string(b)
}
