package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"vanthu/archive"
)

// Citation is one reference a document makes to another, as printed in the
// citing document. Which archived document it names is not stored: it is
// resolved when read, so that a document arriving later, or a number a clerk
// corrects, is found without rewriting old rows.
type Citation struct {
	DocumentID string // the citing document
	Seq        int    // order in the text, from 1
	Number     string // số, ký hiệu as printed, whitespace removed; "" for laws cited by name
	Type       string // type word as printed: Nghị định, Luật…
	Title      string // laws cited by name: "Luật Tổ chức chính quyền địa phương"
	IssuedAt   string // YYYY-MM-DD or ""
	Issuer     string
	Relation   string // the parser's code: can_cu, thuc_hien, bai_bo, thay_the, sua_doi…
	Effect     string // repeals|replaces|amends when the citing document does that to the target
}

// MatchKey is the form of a number/symbol that citations and documents are
// matched on: NumberKey without leading zeros, because "07/2026/TT-BNV" and
// "7/2026/TT-BNV" are the same document. Case is kept here and compared
// exactly first (QĐ ≠ QyĐ); a case-insensitive match is only a fallback.
func MatchKey(number string) string { return strings.TrimLeft(NumberKey(number), "0") }

const citationCols = `document_id, seq, number, type, title, issued_at, issuer, relation, effect`

func scanCitations(rows *sql.Rows) ([]Citation, error) {
	defer rows.Close()
	var out []Citation
	for rows.Next() {
		var c Citation
		if err := rows.Scan(&c.DocumentID, &c.Seq, &c.Number, &c.Type, &c.Title, &c.IssuedAt, &c.Issuer, &c.Relation, &c.Effect); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ReplaceCitations stores the citations of a document, replacing what an
// earlier extraction stored.
func (tx *Tx) ReplaceCitations(ctx context.Context, documentID string, cs []Citation) error {
	if _, err := tx.tx.ExecContext(ctx, `DELETE FROM citations WHERE document_id = ?`, documentID); err != nil {
		return unavailable("replace citations", err)
	}
	for i, c := range cs {
		_, err := tx.tx.ExecContext(ctx, `INSERT INTO citations (document_id, seq, number, match_key, type, title, issued_at, issuer, relation, effect)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, documentID, i+1, NumberKey(c.Number), MatchKey(c.Number), c.Type, c.Title,
			c.IssuedAt, c.Issuer, c.Relation, c.Effect)
		if err != nil {
			return unavailable("store citation", err)
		}
	}
	return nil
}

// Citations lists what a document cites, in text order.
func (c *Catalog) Citations(ctx context.Context, documentID string) ([]Citation, error) {
	rows, err := c.read.QueryContext(ctx, `SELECT `+citationCols+` FROM citations WHERE document_id = ? ORDER BY seq`, documentID)
	if err != nil {
		return nil, unavailable("citations", err)
	}
	return scanCitations(rows)
}

// CitationsOfNumber lists citations, from any document, whose number matches
// this one (leading zeros and letter case ignored: the caller decides).
func (c *Catalog) CitationsOfNumber(ctx context.Context, number string) ([]Citation, error) {
	k := MatchKey(number)
	if k == "" {
		return nil, nil
	}
	rows, err := c.read.QueryContext(ctx, `SELECT `+citationCols+` FROM citations
		WHERE match_key = ? COLLATE NOCASE AND match_key <> '' ORDER BY document_id, seq`, k)
	if err != nil {
		return nil, unavailable("citations by number", err)
	}
	return scanCitations(rows)
}

// CitationsByNameOn lists citations by name only (laws: no number) that give
// this date of issue.
func (c *Catalog) CitationsByNameOn(ctx context.Context, date string) ([]Citation, error) {
	if date == "" {
		return nil, nil
	}
	rows, err := c.read.QueryContext(ctx, `SELECT `+citationCols+` FROM citations
		WHERE match_key = '' AND issued_at = ? ORDER BY document_id, seq`, date)
	if err != nil {
		return nil, unavailable("citations by name", err)
	}
	return scanCitations(rows)
}

func (c *Catalog) queryDocs(ctx context.Context, q string, args ...any) ([]*archive.Document, error) {
	return collectDocs(c.read.QueryContext(ctx, q, args...))
}

// DocumentsMatching returns documents whose number has this match key,
// compared without regard to ASCII case; callers prefer exact-case matches.
// Oldest registration first.
func (c *Catalog) DocumentsMatching(ctx context.Context, number string) ([]*archive.Document, error) {
	k := MatchKey(number)
	if k == "" {
		return nil, nil
	}
	return c.queryDocs(ctx, `SELECT `+docCols+` FROM documents WHERE ltrim(number_key, '0') = ? COLLATE NOCASE ORDER BY created_at, id`, k)
}

// DocumentsIssuedOn returns documents issued on a date (laws cited by name
// and date are matched among them). Oldest registration first.
func (c *Catalog) DocumentsIssuedOn(ctx context.Context, date string) ([]*archive.Document, error) {
	if date == "" {
		return nil, nil
	}
	return c.queryDocs(ctx, `SELECT `+docCols+` FROM documents WHERE issued_at = ? ORDER BY created_at, id`, date)
}

// Task is a task a plan assigns (nhiệm vụ): what, who leads, who supports,
// by when. Its visibility is its plan's.
type Task struct {
	ID           int64     `json:"id"`
	PlanID       string    `json:"plan_id"`
	Seq          int       `json:"seq"`
	Title        string    `json:"title"`
	LeadUnit     string    `json:"lead_unit"`     // cơ quan chủ trì
	SupportUnits []string  `json:"support_units"` // cơ quan phối hợp
	DueDate      string    `json:"due_date"`      // YYYY-MM-DD or ""
	Period       string    `json:"period"`        // "Quý III năm 2024", "năm 2018" or ""
	Status       string    `json:"status"`        // as set by a person: open|in_progress|done
	CreatedAt    time.Time `json:"created_at"`
	CreatedBy    string    `json:"created_by"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// TaskLink ties a document to a task.
type TaskLink struct {
	TaskID     int64
	DocumentID string
	Relation   string // assigns|implements|reports_on
	CreatedAt  time.Time
	CreatedBy  string
}

const taskCols = `id, plan_id, seq, title, lead_unit, support_units, due_date, period, status, created_at, created_by, updated_at`

func scanTask(row interface{ Scan(...any) error }) (*Task, error) {
	var t Task
	var units, created, updated string
	if err := row.Scan(&t.ID, &t.PlanID, &t.Seq, &t.Title, &t.LeadUnit, &units, &t.DueDate, &t.Period, &t.Status,
		&created, &t.CreatedBy, &updated); err != nil {
		return nil, err
	}
	_ = json.Unmarshal([]byte(units), &t.SupportUnits)
	if t.SupportUnits == nil {
		t.SupportUnits = []string{}
	}
	t.CreatedAt, t.UpdatedAt = parseTime(created), parseTime(updated)
	return &t, nil
}

// InsertTask stores a new task at the end of its plan's list; ID, Seq and
// the times are filled in.
func (tx *Tx) InsertTask(ctx context.Context, t *Task) error {
	if err := tx.tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) + 1 FROM tasks WHERE plan_id = ?`, t.PlanID).Scan(&t.Seq); err != nil {
		return unavailable("insert task", err)
	}
	at := time.Now()
	t.CreatedAt, t.UpdatedAt = at, at
	if t.Status == "" {
		t.Status = "open"
	}
	res, err := tx.tx.ExecContext(ctx, `INSERT INTO tasks (plan_id, seq, title, lead_unit, support_units, due_date, period, status, created_at, created_by, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, t.PlanID, t.Seq, t.Title, t.LeadUnit, jsonList(t.SupportUnits), t.DueDate, t.Period,
		t.Status, formatTime(at), t.CreatedBy, formatTime(at))
	if err != nil {
		return unavailable("insert task", err)
	}
	t.ID, _ = res.LastInsertId()
	return nil
}

// UpdateTask writes a task's editable fields.
func (tx *Tx) UpdateTask(ctx context.Context, t *Task) error {
	t.UpdatedAt = time.Now()
	_, err := tx.tx.ExecContext(ctx, `UPDATE tasks SET title = ?, lead_unit = ?, support_units = ?, due_date = ?, period = ?, status = ?, updated_at = ?
		WHERE id = ?`, t.Title, t.LeadUnit, jsonList(t.SupportUnits), t.DueDate, t.Period, t.Status, formatTime(t.UpdatedAt), t.ID)
	if err != nil {
		return unavailable("update task", err)
	}
	return nil
}

// Task returns a task by id.
func (c *Catalog) Task(ctx context.Context, id int64) (*Task, error) {
	return c.task(ctx, c.read, id)
}

// Task reads a task inside the transaction.
func (tx *Tx) Task(ctx context.Context, id int64) (*Task, error) {
	return tx.c.task(ctx, tx.tx, id)
}

func (c *Catalog) task(ctx context.Context, q querier, id int64) (*Task, error) {
	t, err := scanTask(q.QueryRowContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("task")
	}
	if err != nil {
		return nil, unavailable("read task", err)
	}
	return t, nil
}

// TaskFilter selects tasks. Status and unit are judged by the caller (status
// depends on what the reader may see; units are compared folded).
type TaskFilter struct {
	PlanID string
	IDs    []int64
}

// Tasks lists tasks, by plan and position.
func (c *Catalog) Tasks(ctx context.Context, f TaskFilter) ([]*Task, error) {
	where, args := []string{"1=1"}, []any{}
	if f.PlanID != "" {
		where, args = append(where, "plan_id = ?"), append(args, f.PlanID)
	}
	if f.IDs != nil {
		if len(f.IDs) == 0 {
			return nil, nil
		}
		where = append(where, "id IN ("+strings.TrimSuffix(strings.Repeat("?,", len(f.IDs)), ",")+")")
		for _, id := range f.IDs {
			args = append(args, id)
		}
	}
	rows, err := c.read.QueryContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE `+strings.Join(where, " AND ")+` ORDER BY plan_id, seq, id`, args...)
	if err != nil {
		return nil, unavailable("list tasks", err)
	}
	defer rows.Close()
	var out []*Task
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// LinkTask ties a document to a task. Linking the same document the same way
// twice is a conflict.
func (tx *Tx) LinkTask(ctx context.Context, l *TaskLink) error {
	l.CreatedAt = time.Now()
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO task_documents (task_id, document_id, relation, created_at, created_by) VALUES (?, ?, ?, ?, ?)`,
		l.TaskID, l.DocumentID, l.Relation, formatTime(l.CreatedAt), l.CreatedBy)
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") || strings.Contains(err.Error(), "PRIMARY KEY") {
			return archive.Errorf(archive.ErrConflict, "already_linked", "this document is already linked to the task as %s", l.Relation)
		}
		return unavailable("link task", err)
	}
	return nil
}

// UnlinkTask removes a link; it reports whether one existed.
func (tx *Tx) UnlinkTask(ctx context.Context, taskID int64, documentID, relation string) (bool, error) {
	q, args := `DELETE FROM task_documents WHERE task_id = ? AND document_id = ?`, []any{taskID, documentID}
	if relation != "" {
		q, args = q+` AND relation = ?`, append(args, relation)
	}
	res, err := tx.tx.ExecContext(ctx, q, args...)
	if err != nil {
		return false, unavailable("unlink task", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// TaskLinks lists the links of the given tasks (nil: none), oldest first.
func (c *Catalog) TaskLinks(ctx context.Context, taskIDs []int64) ([]TaskLink, error) {
	if len(taskIDs) == 0 {
		return nil, nil
	}
	args := make([]any, len(taskIDs))
	for i, id := range taskIDs {
		args[i] = id
	}
	return c.taskLinks(ctx, `task_id IN (`+strings.TrimSuffix(strings.Repeat("?,", len(taskIDs)), ",")+`)`, args...)
}

// DocumentTaskLinks lists the tasks a document is linked to.
func (c *Catalog) DocumentTaskLinks(ctx context.Context, documentID string) ([]TaskLink, error) {
	return c.taskLinks(ctx, `document_id = ?`, documentID)
}

func (c *Catalog) taskLinks(ctx context.Context, where string, args ...any) ([]TaskLink, error) {
	rows, err := c.read.QueryContext(ctx, fmt.Sprintf(`SELECT task_id, document_id, relation, created_at, created_by
		FROM task_documents WHERE %s ORDER BY created_at, task_id`, where), args...)
	if err != nil {
		return nil, unavailable("task links", err)
	}
	defer rows.Close()
	var out []TaskLink
	for rows.Next() {
		var l TaskLink
		var at string
		if err := rows.Scan(&l.TaskID, &l.DocumentID, &l.Relation, &at, &l.CreatedBy); err != nil {
			return nil, err
		}
		l.CreatedAt = parseTime(at)
		out = append(out, l)
	}
	return out, rows.Err()
}

// RestoreTask inserts a task read back from a manifest, keeping its id,
// position and times (rebuild).
func (tx *Tx) RestoreTask(ctx context.Context, t *Task) error {
	_, err := tx.tx.ExecContext(ctx, `INSERT OR IGNORE INTO tasks (id, plan_id, seq, title, lead_unit, support_units, due_date, period, status, created_at, created_by, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, t.ID, t.PlanID, t.Seq, t.Title, t.LeadUnit, jsonList(t.SupportUnits), t.DueDate, t.Period,
		t.Status, formatTime(t.CreatedAt), t.CreatedBy, formatTime(t.UpdatedAt))
	if err != nil {
		return unavailable("restore task", err)
	}
	return nil
}
