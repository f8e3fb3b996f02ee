package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"

	"github.com/gofiber/fiber/v2"

	"vanthu/archive"
	"vanthu/archive/records"
	"vanthu/archive/sqlite"
	"vanthu/ingest"
	"vanthu/ingest/pdfsign"
	"vanthu/search"
)

const previewRunes = 3000

type documentData struct {
	Doc       *archive.Document
	Preview   string
	Truncated bool
	Versions  []archive.Version
	Cites     []refView
	CitedBy   []refView
	Tasks     []taskRef
	Similar   []search.Hit
	Audit     []archive.Event
	CanEdit   bool
	CanAudit  bool
	// Signatures of a signed PDF original, as verified at ingest.
	Signatures []pdfsign.Signature
}

// refView is one citation as the references code reports it; ID is empty
// when the cited document is not in the archive (or not visible).
type refView struct {
	ID, Number, Type, IssuedAt, Relation, Subject string
}

type taskRef struct {
	ID, Title, LeadUnit, DueDate, Status, Relation string
	Overdue                                        bool
}

// documentPage shows a document as a register entry. Records.Document
// audits the view.
func (s *Server) documentPage(c *fiber.Ctx) error {
	a := s.actor(c)
	ctx := c.UserContext()
	d, err := s.Records.Document(ctx, a, c.Params("id"))
	if err != nil {
		return err
	}
	data := &documentData{Doc: d, CanEdit: a.Can("write"), CanAudit: a.Can("audit")}
	_ = json.Unmarshal(d.Signatures, &data.Signatures)
	if text, err := s.Catalog.Text(ctx, d.ID); err == nil {
		r := []rune(strings.TrimSpace(text))
		data.Truncated = len(r) > previewRunes
		data.Preview = string(r[:min(len(r), previewRunes)])
	}
	if data.Versions, err = s.Records.Versions(ctx, a, d.ID); err != nil {
		return err
	}
	s.linksOf(c, d, data)
	if res, err := s.Index.Similar(ctx, d.ID, a.User.Clearance, 6); err == nil {
		data.Similar = res.Hits
	}
	if data.CanAudit {
		if data.Audit, err = s.Catalog.Events(ctx, sqlite.AuditFilter{DocumentID: d.ID, Limit: 50, Desc: true}); err != nil {
			return err
		}
	}
	pg := page{Title: docTitle(d), Nav: "search", D: data}
	if c.Query("saved") != "" {
		pg.Notice = "Đã lưu thông tin văn bản."
	}
	return s.render(c, fiber.StatusOK, "document", pg)
}

func docTitle(d *archive.Document) string {
	t := d.TypeName
	if t == "" {
		t = "Văn bản"
	}
	if d.Number != "" {
		t += " số " + d.Number
	}
	return t
}

// linksOf reads citations and tasks in the API's shape (s.documentJSON), so
// the page shows exactly what the API answers. Every linked document is
// checked against the viewer's clearance once more: a citation the viewer
// may not see is shown as plain text if this document cites it (its number
// is in this document's own text) and left out if it cites this document.
func (s *Server) linksOf(c *fiber.Ctx, d *archive.Document, data *documentData) {
	var m struct {
		References struct {
			Cites   []map[string]any `json:"cites"`
			CitedBy []map[string]any `json:"cited_by"`
		} `json:"references"`
		Tasks []map[string]any `json:"tasks"`
	}
	b, err := json.Marshal(s.documentJSON(c, d))
	if err != nil || json.Unmarshal(b, &m) != nil {
		return
	}
	a := s.actor(c)
	visible := func(id string) bool {
		if id == "" {
			return false
		}
		_, err := s.Records.Peek(c.UserContext(), a, id)
		return err == nil
	}
	for _, r := range m.References.Cites {
		v := refOf(r)
		if !visible(v.ID) {
			v.ID = ""
		}
		data.Cites = append(data.Cites, v)
	}
	for _, r := range m.References.CitedBy {
		if v := refOf(r); visible(v.ID) {
			data.CitedBy = append(data.CitedBy, v)
		}
	}
	for _, t := range m.Tasks {
		data.Tasks = append(data.Tasks, taskRef{ID: str(t, "id"), Title: str(t, "title"), LeadUnit: str(t, "lead_unit"),
			DueDate: str(t, "due_date"), Status: str(t, "status"), Relation: str(t, "relation"), Overdue: t["overdue"] == true})
	}
}

func refOf(r map[string]any) refView {
	return refView{ID: str(r, "document_id"), Number: str(r, "number"), Type: str(r, "type"),
		IssuedAt: str(r, "issued_at"), Relation: str(r, "relation"), Subject: str(r, "subject")}
}

// str reads a JSON value as text: strings as they are, numbers without a
// fraction as integers, null and absence as "".
func str(m map[string]any, k string) string {
	switch v := m[k].(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		if v == float64(int64(v)) {
			return fmt.Sprintf("%d", int64(v))
		}
		return fmt.Sprint(v)
	default:
		return fmt.Sprint(v)
	}
}

// Upload and review.

type uploadData struct {
	Classifications []archive.Classification
	Direction       string
	Classification  string
	DuplicateID     string
}

func (s *Server) uploadForm(c *fiber.Ctx) *uploadData {
	a := s.actor(c)
	ceiling := s.Records.MaxClassification
	d := &uploadData{Direction: "incoming", Classification: "none"}
	for _, cl := range archive.Classifications {
		if a.User.Clearance.Allows(cl) && ceiling.Allows(cl) {
			d.Classifications = append(d.Classifications, cl)
		}
	}
	return d
}

func (s *Server) uploadPage(c *fiber.Ctx) error {
	if !s.actor(c).Can("write") {
		return archive.Errorf(archive.ErrForbidden, "forbidden", "Chỉ văn thư được tải văn bản lên.")
	}
	return s.render(c, fiber.StatusOK, "upload", page{Title: "Tải văn bản lên", Nav: "upload", D: s.uploadForm(c)})
}

// uploadSubmit stores one file from the upload form. The form's first part
// must be the CSRF token (the hidden input comes before the file input), so
// it is checked before a byte of the file is stored. Script uploads send it
// in X-CSRF-Token and ask for JSON.
func (s *Server) uploadSubmit(c *fiber.Ctx) error {
	a := s.actor(c)
	js := strings.Contains(c.Get(fiber.HeaderAccept), "application/json")
	if !a.Can("write") {
		c.Set(fiber.HeaderConnection, "close")
		return archive.Errorf(archive.ErrForbidden, "forbidden", "Chỉ văn thư được tải văn bản lên.")
	}
	tok := c.Get("X-CSRF-Token")
	if tok == "" {
		var err error
		if tok, err = firstPartCSRF(c, len(sessionOf(c).CSRF)); err != nil {
			c.Set(fiber.HeaderConnection, "close")
			return err
		}
	}
	if err := checkCSRF(c, tok); err != nil {
		c.Set(fiber.HeaderConnection, "close") // the rest of the body is not read
		return err
	}
	d, err := s.receiveUpload(c, a)
	if err != nil {
		status, msg, ok := userProblem(err)
		if !ok {
			return err
		}
		var ae *archive.Error
		existing := ""
		if errors.As(err, &ae) && ae.Code == "duplicate" {
			existing, _ = ae.Extra["existing_id"].(string)
			msg = "Tệp này đã có trong kho lưu trữ."
		}
		if js {
			return c.Status(status).JSON(fiber.Map{"error": fiber.Map{"message": msg, "existing_id": existing}})
		}
		form := s.uploadForm(c)
		form.DuplicateID = existing
		return s.render(c, status, "upload", page{Title: "Tải văn bản lên", Nav: "upload", Problem: msg, D: form})
	}
	review := "/documents/" + d.ID + "/review"
	if js {
		return c.Status(fiber.StatusCreated).JSON(fiber.Map{"id": d.ID, "review": review, "filename": d.Filename})
	}
	return c.Redirect(review, fiber.StatusSeeOther)
}

// firstPartCSRF reads the upload form's first part, which must be the
// "csrf" field, straight from the body stream: byte by byte up to the end
// of its headers, then exactly as many bytes as the session's token has.
// Nothing past the token is consumed, so the upload reader that follows
// sees the rest of the body starting with the next boundary (the line
// break before it is read as an empty preamble). Fasthttp cannot put bytes
// back in front of a request stream, hence the exact reads.
func firstPartCSRF(c *fiber.Ctx, n int) (string, error) {
	mt, params, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	boundary := params["boundary"]
	if err != nil || mt != "multipart/form-data" || boundary == "" || len(boundary) > 70 {
		return "", archive.Errorf(archive.ErrInvalid, "not_multipart", "Biểu mẫu tải lên không hợp lệ.")
	}
	var r io.Reader
	if stream := c.Context().RequestBodyStream(); stream != nil {
		r = stream
	} else {
		r = bytes.NewReader(c.Body()) // buffered: the upload reader starts over from c.Body()
	}
	var head []byte
	one := make([]byte, 1)
	for !bytes.HasSuffix(head, []byte("\r\n\r\n")) {
		if len(head) > 1024 {
			return "", nil
		}
		if _, err := io.ReadFull(r, one); err != nil {
			return "", nil
		}
		head = append(head, one[0])
	}
	lines := strings.Split(string(head), "\r\n")
	if len(lines) < 2 || lines[0] != "--"+boundary {
		return "", nil
	}
	named := false
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ":")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "Content-Disposition") {
			continue
		}
		if _, p, err := mime.ParseMediaType(strings.TrimSpace(v)); err == nil && p["name"] == "csrf" {
			named = true
		}
	}
	if !named {
		return "", nil
	}
	tok := make([]byte, n)
	if _, err := io.ReadFull(r, tok); err != nil {
		return "", nil
	}
	return string(tok), nil
}

type reviewData struct {
	Doc     *archive.Document
	Types   []ingest.DocType
	Levels  []string
	Classes []archive.Classification
	Pending bool
}

// reviewPage is the form a clerk checks after an upload: the extracted
// metadata, each extracted field marked, ready to correct and confirm.
func (s *Server) reviewPage(c *fiber.Ctx) error {
	a := s.actor(c)
	if !a.Can("write") {
		return archive.Errorf(archive.ErrForbidden, "forbidden", "Chỉ văn thư được sửa thông tin văn bản.")
	}
	d, err := s.Records.Document(c.UserContext(), a, c.Params("id"))
	if err != nil {
		return err
	}
	return s.renderReview(c, fiber.StatusOK, d, "")
}

func (s *Server) renderReview(c *fiber.Ctx, status int, d *archive.Document, problem string) error {
	a := s.actor(c)
	data := &reviewData{Doc: d, Types: docTypes(), Levels: archive.Levels, Pending: d.TextStatus == archive.TextPending}
	for _, cl := range archive.Classifications {
		if a.User.Clearance.Allows(cl) && s.Records.MaxClassification.Allows(cl) || cl == d.Classification {
			data.Classes = append(data.Classes, cl)
		}
	}
	return s.render(c, status, "review", page{Title: "Kiểm tra thông tin văn bản", Nav: "upload", Problem: problem, D: data})
}

// docTypes lists the type codes a clerk chooses from: công văn first.
func docTypes() []ingest.DocType {
	out := []ingest.DocType{{Code: "CV", Name: "Công văn"}}
	seen := map[string]bool{"CV": true}
	for _, t := range ingest.DocTypes {
		if !seen[t.Code] {
			seen[t.Code] = true
			out = append(out, t)
		}
	}
	return out
}

// reviewSubmit saves the fields the clerk changed (Records.Edit keeps the
// before and after in the audit trail). Unchanged fields stay as extracted.
func (s *Server) reviewSubmit(c *fiber.Ctx) error {
	a := s.actor(c)
	ctx := c.UserContext()
	d, err := s.Records.Peek(ctx, a, c.Params("id"))
	if err != nil {
		return err
	}
	current := map[string]string{
		"number": d.Number, "type": d.Type, "issuer": d.Issuer, "level": d.Level, "issued_at": d.IssuedAt,
		"subject": d.Subject, "signer": d.Signer, "classification": string(d.Classification), "urgency": d.Urgency,
		"direction": d.Direction, "tags": strings.Join(d.Tags, ", "),
	}
	changed := map[string]string{}
	for _, f := range records.EditableFields {
		v := strings.TrimSpace(c.FormValue(f))
		if v != strings.TrimSpace(current[f]) && !(f == "tags" && sameTags(v, d.Tags)) {
			changed[f] = v
		}
	}
	if len(changed) > 0 {
		if _, err := s.Records.Edit(ctx, a, d.ID, changed); err != nil {
			if status, msg, ok := userProblem(err); ok {
				for k, v := range changed { // show what was typed, with the reason
					_, _ = records.ApplyFields(d, map[string]string{k: v})
				}
				return s.renderReview(c, status, d, msg)
			}
			return err
		}
	}
	return c.Redirect("/documents/"+d.ID+"?saved=1", fiber.StatusSeeOther)
}

func sameTags(v string, tags []string) bool {
	var got []string
	for _, t := range strings.Split(v, ",") {
		if t = strings.TrimSpace(t); t != "" {
			got = append(got, t)
		}
	}
	return strings.Join(got, ",") == strings.Join(tags, ",")
}
