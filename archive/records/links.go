package records

// Cross-references and tasks: the citation graph between documents (central
// directives ← provincial plans ← reports), repeal and amendment status, and
// the tasks plans assign with the documents that implement and report on
// them.
//
// Clearance. A caller never learns that a document they may not see exists:
//   - a citation whose target they may not see is shown exactly as a citation
//     of a document that is not in the archive: document_id null, and only
//     what the citing document itself prints (which they may read in full);
//     never the target's id, subject, issuer or status;
//   - cited_by, repealed_by and amended_by leave out citing documents they
//     may not see, and such documents change no status;
//   - a task is visible when its plan is; its documents, report counts,
//     status and matrix cells count only documents the caller may see.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"vanthu/archive"
	"vanthu/archive/sqlite"
	"vanthu/ingest"
	"vanthu/ingest/vietnamese"
)

// Audit actions of task writes.
const (
	ActionTaskCreate  = "task.create"
	ActionTaskEdit    = "task.edit"
	ActionTaskConfirm = "task.confirm"
	ActionTaskLink    = "task.link"
	ActionTaskUnlink  = "task.unlink"
)

// Relations between a task and a document.
var TaskRelations = []string{"assigns", "implements", "reports_on"}

// Task statuses: a person sets open, in_progress or done; overdue is
// derived from the deadline and the reports filed.
var (
	TaskStatuses    = []string{"open", "in_progress", "done", "overdue"}
	settableStatues = []string{"open", "in_progress", "done"}
)

// ---------------------------------------------------------------------------
// Storing citations at extraction.

// citationsOf lists the citations the parser found in a document, with
// what the document does to each target (repeal, replace, amend) read from
// the text around the citation. They are stored in the extraction
// transaction with the parse, so the graph never disagrees with it.
func citationsOf(text string, m ingest.Metadata) []sqlite.Citation {
	cs := make([]sqlite.Citation, 0, len(m.Citations))
	for _, c := range m.Citations {
		if c.Number == "" && c.Title == "" {
			continue
		}
		effect := effectOf(text, c)
		if m.Type == "VBHN" || strings.Contains(m.Number, "VBHN") {
			effect = "" // a consolidated text lists amendments; it makes none
		}
		cs = append(cs, sqlite.Citation{Number: c.Number, Type: c.Type, Title: c.Title, IssuedAt: c.IssuedAt,
			Issuer: c.Issuer, Relation: c.Relation, Effect: effect})
	}
	return cs
}

var (
	boundaryRe  = regexp.MustCompile(`[;:!?]|\.\s|\n\s*\n`)
	numberRefRe = regexp.MustCompile(`số\s*:?\s*\d`)
)

// effectOf decides whether the citing document itself repeals, replaces or
// amends the cited one. The parser's relation says only that the clause
// speaks of it ("bãi bỏ", "thay thế", "sửa đổi, bổ sung"); a clause that
// reports someone else's amendment ("đã được sửa đổi", "Quyết định số 20
// thay thế …") or repeals some articles only ("bãi bỏ Điều 5 của …") must
// not mark the whole target repealed.
func effectOf(text string, c ingest.Citation) string {
	if c.Number == "" {
		return "" // laws by name are cited as legal basis, not repealed by name here
	}
	switch c.Relation {
	case "bai_bo", "thay_the", "sua_doi":
	default:
		return ""
	}
	best := ""
	rank := map[string]int{"": 0, "amends": 1, "replaces": 2, "repeals": 2}
	for _, loc := range numberPattern(c.Number).FindAllStringIndex(text, 8) {
		e := effectAt(text, loc[0], loc[1])
		if rank[e] > rank[best] {
			best = e
		}
	}
	return best
}

// numberPattern matches a number/symbol as printed, with any spacing.
func numberPattern(number string) *regexp.Regexp {
	var b strings.Builder
	for i, r := range number {
		if i > 0 {
			b.WriteString(`\s*`)
		}
		b.WriteString(regexp.QuoteMeta(string(r)))
	}
	return regexp.MustCompile(b.String())
}

func effectAt(text string, start, end int) string {
	from := max(0, start-220)
	for from > 0 && !utf8.RuneStart(text[from]) {
		from++
	}
	before := text[from:start]
	if locs := boundaryRe.FindAllStringIndex(before, -1); len(locs) > 0 {
		before = before[locs[len(locs)-1][1]:]
	}
	w := strings.ToLower(strings.Join(strings.Fields(before), " "))
	verbs := []struct{ word, effect string }{
		{"bãi bỏ", "repeals"}, {"hủy bỏ", "repeals"}, {"thay thế", "replaces"},
		{"sửa đổi", "amends"}, {"bổ sung", "amends"}, {"đính chính", "amends"},
	}
	at, effect := -1, ""
	for _, v := range verbs {
		if i := strings.LastIndex(w, v.word); i > at {
			at, effect = i, v.effect
		}
	}
	partial := func(s string) bool {
		for _, p := range []string{"điều", "khoản", "điểm", "một số", "phụ lục", "mục ", "chương"} {
			if strings.Contains(s, p) {
				return true
			}
		}
		return false
	}
	if at < 0 {
		// "Quyết định số 12/2015/QĐ-UBND … hết hiệu lực kể từ …"
		after := text[end:min(len(text), end+160)]
		if l := boundaryRe.FindStringIndex(after); l != nil {
			after = after[:l[0]]
		}
		if strings.Contains(strings.ToLower(after), "hết hiệu lực") && !strings.Contains(strings.ToLower(after), "số") {
			if partial(w) {
				return "amends"
			}
			return "repeals"
		}
		return ""
	}
	pre, between := w[:at], w[at:]
	// Someone else does it: a passive ("được … bởi"), a report of the past,
	// another document named as the subject of the verb, or a rule the
	// verb is carried out under ("bãi bỏ quyết định … theo quy định tại").
	tail := pre[max(0, len(pre)-16):]
	if strings.Contains(tail, "được") || strings.Contains(tail, "bị") || strings.Contains(tail, "đã") ||
		numberRefRe.MatchString(pre) || strings.HasPrefix(w, "căn cứ") || len(between) > 160 {
		return ""
	}
	for _, w := range []string{"bởi", " tại ", "theo ", "thực hiện", "hướng dẫn"} {
		if strings.Contains(between, w) {
			return ""
		}
	}
	if effect != "amends" && partial(between) {
		return "amends"
	}
	return effect
}

// ---------------------------------------------------------------------------
// Resolving citations.

// resolver resolves citations to archived documents, caching look-ups for
// one request.
type resolver struct {
	s      *Service
	byKey  map[string][]*archive.Document
	byDate map[string][]*archive.Document
	docs   map[string]*archive.Document
}

func (s *Service) newResolver() *resolver {
	return &resolver{s: s, byKey: map[string][]*archive.Document{}, byDate: map[string][]*archive.Document{}, docs: map[string]*archive.Document{}}
}

func (r *resolver) doc(ctx context.Context, id string) (*archive.Document, error) {
	if d, ok := r.docs[id]; ok {
		return d, nil
	}
	d, err := r.s.Catalog.Document(ctx, id)
	if errors.Is(err, archive.ErrNotFound) {
		d, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	r.docs[id] = d
	return d, nil
}

var yearInNumber = regexp.MustCompile(`/((?:19|20)\d\d)/`)

// citeYear is the year a citation names: from its date, or from the year a
// legal-normative number carries (30/2020/NĐ-CP).
func citeYear(c sqlite.Citation) int {
	if len(c.IssuedAt) >= 4 {
		if y, err := strconv.Atoi(c.IssuedAt[:4]); err == nil {
			return y
		}
	}
	if m := yearInNumber.FindStringSubmatch(c.Number); m != nil {
		y, _ := strconv.Atoi(m[1])
		return y
	}
	return 0
}

// resolve finds the archived document a citation names, or nil. Numbers
// restart every year, so a number alone is trusted only when every candidate
// is from the same year; year, issuer and "not issued after the citing
// document" narrow the candidates first. Laws cited by name resolve by title
// and date of passing.
func (r *resolver) resolve(ctx context.Context, c sqlite.Citation, citing *archive.Document) (*archive.Document, error) {
	if c.Number == "" {
		return r.resolveByName(ctx, c, citing)
	}
	key := sqlite.MatchKey(c.Number)
	cands, ok := r.byKey[strings.ToLower(key)]
	if !ok {
		var err error
		if cands, err = r.s.Catalog.DocumentsMatching(ctx, key); err != nil {
			return nil, err
		}
		r.byKey[strings.ToLower(key)] = cands
		for _, d := range cands {
			r.docs[d.ID] = d
		}
	}
	cands = slices.DeleteFunc(slices.Clone(cands), func(d *archive.Document) bool { return d.ID == c.DocumentID })
	// Case is meaningful (QĐ ≠ QyĐ): prefer exact-case matches; a
	// case-insensitive one stands in only for OCR slips ("104-CTr/Tu").
	if exact := filter(cands, func(d *archive.Document) bool { return sqlite.MatchKey(d.Number) == key }); len(exact) > 0 {
		cands = exact
	}
	if y := citeYear(c); y > 0 {
		cands = filter(cands, func(d *archive.Document) bool { return d.Year() == y || d.Year() == 0 })
	}
	if len(cands) > 1 && c.Issuer != "" {
		if same := filter(cands, func(d *archive.Document) bool { return sameIssuer(c.Issuer, d.Issuer) }); len(same) > 0 {
			cands = same
		}
	}
	if len(cands) > 1 && citing != nil && citing.IssuedAt != "" {
		if earlier := filter(cands, func(d *archive.Document) bool { return d.IssuedAt == "" || d.IssuedAt <= citing.IssuedAt }); len(earlier) > 0 {
			cands = earlier
		}
	}
	if len(cands) == 0 {
		return nil, nil
	}
	for _, d := range cands[1:] {
		if d.Year() != cands[0].Year() {
			return nil, nil // the same number in different years: ambiguous without a date
		}
	}
	return cands[0], nil // the first registration of that document
}

func (r *resolver) resolveByName(ctx context.Context, c sqlite.Citation, citing *archive.Document) (*archive.Document, error) {
	if c.Title == "" || c.IssuedAt == "" {
		return nil, nil // a law's name alone names every version of it
	}
	cands, ok := r.byDate[c.IssuedAt]
	if !ok {
		var err error
		if cands, err = r.s.Catalog.DocumentsIssuedOn(ctx, c.IssuedAt); err != nil {
			return nil, err
		}
		r.byDate[c.IssuedAt] = cands
		for _, d := range cands {
			r.docs[d.ID] = d
		}
	}
	want := titleKey(c.Title)
	for _, d := range cands {
		if d.ID != c.DocumentID && (titleKey(d.Subject) == want || titleKey(d.TypeName+" "+d.Subject) == want) {
			return d, nil
		}
	}
	return nil, nil
}

func filter(ds []*archive.Document, keep func(*archive.Document) bool) []*archive.Document {
	var out []*archive.Document
	for _, d := range ds {
		if keep(d) {
			out = append(out, d)
		}
	}
	return out
}

// fold is the comparison form of Vietnamese text: normalised, without
// diacritics, lower case, words separated by single spaces.
func fold(s string) string {
	s = strings.ToLower(vietnamese.Fold(vietnamese.Normalize(s)))
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }), " ")
}

// titleKey compares law titles: "Luật Tổ chức chính quyền địa phương" and a
// law whose subject is "TỔ CHỨC CHÍNH QUYỀN ĐỊA PHƯƠNG" are the same title.
func titleKey(s string) string {
	k := fold(s)
	for _, p := range []string{"bo luat ", "luat ", "phap lenh ", "hien phap "} {
		if strings.HasPrefix(k, p) {
			return strings.TrimPrefix(k, p)
		}
	}
	return k
}

// sameIssuer compares issuers loosely: "UBND tỉnh" names "ỦY BAN NHÂN DÂN
// TỈNH QUẢNG NAM", "Giám đốc Sở Ngoại vụ" names "SỞ NGOẠI VỤ".
func sameIssuer(a, b string) bool {
	x, y := issuerKey(a), issuerKey(b)
	if x == "" || y == "" {
		return false
	}
	return strings.Contains(x, y) || strings.Contains(y, x)
}

func issuerKey(s string) string {
	k := " " + fold(s) + " "
	for _, r := range [][2]string{{" ubnd ", " uy ban nhan dan "}, {" hdnd ", " hoi dong nhan dan "}, {" bo truong ", " bo "},
		{" giam doc ", " "}, {" chu tich ", " "}} {
		k = strings.ReplaceAll(k, r[0], r[1])
	}
	return strings.TrimSpace(k)
}

// ---------------------------------------------------------------------------
// References of a document.

// Reference is one citation a document makes. DocumentID is empty when the
// cited document is not in the archive or the caller may not see it: the two
// cases look the same.
type Reference struct {
	Number     string `json:"number"`
	Type       string `json:"type"`
	Title      string `json:"title,omitempty"`
	IssuedAt   string `json:"issued_at"`
	Issuer     string `json:"issuer,omitempty"`
	Relation   string `json:"relation"`
	Effect     string `json:"effect,omitempty"`
	DocumentID string `json:"document_id"`       // "" is written as null
	Subject    string `json:"subject,omitempty"` // of the resolved target
}

// MarshalJSON writes an unresolved reference's document_id as null, as
// API.md has it.
func (r Reference) MarshalJSON() ([]byte, error) {
	type plain Reference
	var id *string
	if r.DocumentID != "" {
		id = &r.DocumentID
	}
	return json.Marshal(struct {
		plain
		DocumentID *string `json:"document_id"`
	}{plain(r), id})
}

// Citer is a visible document that cites the one in view.
type Citer struct {
	DocumentID string `json:"document_id"`
	Number     string `json:"number"`
	Type       string `json:"type"`
	IssuedAt   string `json:"issued_at"`
	Subject    string `json:"subject"`
	Relation   string `json:"relation"`
	Effect     string `json:"effect,omitempty"`
}

// References is a document's place in the citation graph, as one caller may
// see it, with the legal status its citers give it.
type References struct {
	Cites   []Reference `json:"cites"`
	CitedBy []Citer     `json:"cited_by"`
	Status  LegalStatus `json:"-"`
}

// LegalStatus says whether later documents repealed, replaced or amended
// this one. State is "" (nothing known), "amended" or "repealed".
type LegalStatus struct {
	State      string  `json:"legal_status"`
	Note       string  `json:"status_note"`
	RepealedBy []Citer `json:"repealed_by"`
	AmendedBy  []Citer `json:"amended_by"`
}

// References returns a visible document's citations in both directions. A
// refusal is audited like any denied look-up; the view itself is metadata
// of a document already opened and is not.
func (s *Service) References(ctx context.Context, a Actor, id string) (*References, error) {
	d, err := s.Check(ctx, a, id, "document.references")
	if err != nil {
		return nil, err
	}
	return s.ReferencesOf(ctx, a, d)
}

// ReferencesOf is References for a document the caller was already shown.
func (s *Service) ReferencesOf(ctx context.Context, a Actor, d *archive.Document) (*References, error) {
	r := s.newResolver()
	out := &References{Cites: []Reference{}, CitedBy: []Citer{}}
	cs, err := s.Catalog.Citations(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		ref := Reference{Number: c.Number, Type: c.Type, Title: c.Title, IssuedAt: c.IssuedAt, Issuer: c.Issuer,
			Relation: c.Relation, Effect: c.Effect}
		t, err := r.resolve(ctx, c, d)
		if err != nil {
			return nil, err
		}
		if t != nil && canSee(a, t) {
			ref.DocumentID, ref.Subject = t.ID, t.Subject
		}
		out.Cites = append(out.Cites, ref)
	}
	citers, err := s.citedBy(ctx, r, d)
	if err != nil {
		return nil, err
	}
	for _, cb := range citers {
		if !canSee(a, cb.doc) {
			continue
		}
		e := Citer{DocumentID: cb.doc.ID, Number: cb.doc.Number, Type: cb.doc.Type, IssuedAt: cb.doc.IssuedAt,
			Subject: cb.doc.Subject, Relation: cb.c.Relation, Effect: cb.c.Effect}
		out.CitedBy = append(out.CitedBy, e)
	}
	out.Status = legalStatus(d, out.CitedBy)
	return out, nil
}

type citation struct {
	c   sqlite.Citation
	doc *archive.Document // the citing document
}

// citedBy finds the citations, from any document, that resolve to d.
func (s *Service) citedBy(ctx context.Context, r *resolver, d *archive.Document) ([]citation, error) {
	var cands []sqlite.Citation
	if d.Number != "" {
		cs, err := s.Catalog.CitationsOfNumber(ctx, d.Number)
		if err != nil {
			return nil, err
		}
		cands = append(cands, cs...)
	}
	if d.IssuedAt != "" {
		cs, err := s.Catalog.CitationsByNameOn(ctx, d.IssuedAt)
		if err != nil {
			return nil, err
		}
		cands = append(cands, cs...)
	}
	var out []citation
	seen := map[string]bool{}
	for _, c := range cands {
		if c.DocumentID == d.ID {
			continue
		}
		citing, err := r.doc(ctx, c.DocumentID)
		if err != nil {
			return nil, err
		}
		if citing == nil {
			continue
		}
		t, err := r.resolve(ctx, c, citing)
		if err != nil {
			return nil, err
		}
		if t == nil || t.ID != d.ID {
			continue
		}
		// One entry per citing document and relation: a decree citing the
		// same law in three articles is one citer.
		k := c.DocumentID + "|" + c.Relation + "|" + c.Effect
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, citation{c: c, doc: citing})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].doc.IssuedAt < out[j].doc.IssuedAt })
	return out, nil
}

// legalStatus reads repeal and amendment from the visible citers. A citer
// issued before the document cannot have repealed it.
func legalStatus(d *archive.Document, citers []Citer) LegalStatus {
	st := LegalStatus{RepealedBy: []Citer{}, AmendedBy: []Citer{}}
	for _, c := range citers {
		if c.Effect == "" || (d.IssuedAt != "" && c.IssuedAt != "" && c.IssuedAt < d.IssuedAt) {
			continue
		}
		if c.Effect == "amends" {
			st.AmendedBy = append(st.AmendedBy, c)
		} else {
			st.RepealedBy = append(st.RepealedBy, c)
		}
	}
	name := func(c Citer) string {
		s := strings.TrimSpace(TypeName(c.Type) + " số " + c.Number)
		if t, err := time.Parse("2006-01-02", c.IssuedAt); err == nil {
			s += t.Format(" ngày 02/01/2006")
		}
		return s
	}
	switch {
	case len(st.RepealedBy) > 0:
		st.State = "repealed"
		c := st.RepealedBy[len(st.RepealedBy)-1]
		verb := "Bị bãi bỏ bởi "
		if c.Effect == "replaces" {
			verb = "Bị thay thế bởi "
		}
		st.Note = verb + name(c)
	case len(st.AmendedBy) > 0:
		st.State = "amended"
		names := make([]string, len(st.AmendedBy))
		for i, c := range st.AmendedBy {
			names[i] = name(c)
		}
		st.Note = "Được sửa đổi, bổ sung bởi " + strings.Join(names, "; ")
	}
	return st
}

func canSee(a Actor, d *archive.Document) bool {
	return d != nil && a.User != nil && a.User.Clearance.Allows(d.Classification)
}

// ---------------------------------------------------------------------------
// Tasks.

// TaskInput is a task as a clerk writes it.
type TaskInput struct {
	PlanID       string   `json:"plan_id"`
	Title        string   `json:"title"`
	LeadUnit     string   `json:"lead_unit"`
	SupportUnits []string `json:"support_units"`
	DueDate      string   `json:"due_date"`
	Period       string   `json:"period"`
	Status       string   `json:"status,omitempty"`
}

// TaskPatch changes some fields of a task; nil fields stay.
type TaskPatch struct {
	Title        *string   `json:"title"`
	LeadUnit     *string   `json:"lead_unit"`
	SupportUnits *[]string `json:"support_units"`
	DueDate      *string   `json:"due_date"`
	Period       *string   `json:"period"`
	Status       *string   `json:"status"`
}

// TaskView is a task as one caller sees it: its status counts only the
// reports that caller may see.
type TaskView struct {
	sqlite.Task
	Status      string         `json:"status"` // open|in_progress|done|overdue
	SetStatus   string         `json:"set_status"`
	Deadline    string         `json:"deadline"` // due date, or the end of the period
	Overdue     bool           `json:"overdue"`
	Reports     int            `json:"reports"`
	PlanNumber  string         `json:"plan_number"`
	PlanSubject string         `json:"plan_subject"`
	Documents   []TaskDocument `json:"documents,omitempty"`
}

// TaskDocument is a visible document linked to a task.
type TaskDocument struct {
	DocumentID string    `json:"document_id"`
	Number     string    `json:"number"`
	Type       string    `json:"type"`
	IssuedAt   string    `json:"issued_at"`
	Subject    string    `json:"subject"`
	Relation   string    `json:"relation"`
	LinkedAt   time.Time `json:"linked_at"`
	LinkedBy   string    `json:"linked_by"`
}

func invalid(code, format string, args ...any) error {
	return archive.Errorf(archive.ErrInvalid, code, format, args...)
}

func taskNotFound() error {
	return archive.Errorf(archive.ErrNotFound, "not_found", "no task with that id")
}

func cleanText(field, s string, max int) (string, error) {
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return "", invalid("invalid_field", "%s is not valid text", field)
	}
	s = strings.Join(strings.Fields(vietnamese.Normalize(s)), " ")
	if utf8.RuneCountInString(s) > max {
		return "", invalid("invalid_field", "%s is longer than %d characters", field, max)
	}
	return s, nil
}

// checkTask validates and normalises a task's fields.
func checkTask(t *sqlite.Task) error {
	var err error
	if t.Title, err = cleanText("title", t.Title, 1000); err != nil {
		return err
	}
	if t.Title == "" {
		return invalid("missing_title", "a task needs a title")
	}
	if t.LeadUnit, err = cleanText("lead_unit", t.LeadUnit, 300); err != nil {
		return err
	}
	units := []string{}
	for _, u := range t.SupportUnits {
		if u, err = cleanText("support_units", u, 300); err != nil {
			return err
		}
		if u != "" && !slices.Contains(units, u) {
			units = append(units, u)
		}
	}
	if len(units) > 100 {
		return invalid("invalid_field", "support_units lists more than 100 units")
	}
	t.SupportUnits = units
	if t.Period, err = cleanText("period", t.Period, 100); err != nil {
		return err
	}
	if t.DueDate = strings.TrimSpace(t.DueDate); t.DueDate != "" {
		if d, err := time.Parse("2006-01-02", t.DueDate); err != nil || d.Year() < 1945 || d.Year() > 2200 {
			return invalid("invalid_field", "due_date %q is not a date in the form YYYY-MM-DD", t.DueDate)
		}
	}
	if t.Status == "" {
		t.Status = "open"
	}
	if !slices.Contains(settableStatues, t.Status) {
		return invalid("invalid_field", "status %q is not one of %s (overdue follows from the deadline)", t.Status, strings.Join(settableStatues, ", "))
	}
	return nil
}

// visiblePlan loads the plan a task belongs to, for a caller who must be
// able to see it.
func (s *Service) visiblePlan(ctx context.Context, a Actor, planID string) (*archive.Document, error) {
	if planID == "" {
		return nil, invalid("missing_plan", "plan_id is required: a task belongs to the plan that assigns it")
	}
	return s.Peek(ctx, a, planID)
}

// CreateTask records a task a plan assigns, linked to the plan, with one
// audit event.
func (s *Service) CreateTask(ctx context.Context, a Actor, in TaskInput) (*TaskView, error) {
	if !a.Can("write") {
		return nil, forbidden("create tasks")
	}
	plan, err := s.visiblePlan(ctx, a, in.PlanID)
	if err != nil {
		return nil, err
	}
	var t *sqlite.Task
	err = s.Catalog.Update(ctx, func(tx *sqlite.Tx) error {
		ts, err := s.insertTasks(ctx, tx, a, plan, []TaskInput{in})
		if err != nil {
			return err
		}
		t = ts[0]
		e := a.event(ActionTaskCreate, plan.ID)
		e.Details = map[string]any{"task_id": t.ID, "title": t.Title, "lead_unit": t.LeadUnit, "due_date": t.DueDate, "period": t.Period}
		return tx.AppendEvent(ctx, e)
	})
	if err != nil {
		return nil, err
	}
	s.Wake()
	return s.TaskOf(ctx, a, t.ID)
}

func (s *Service) insertTasks(ctx context.Context, tx *sqlite.Tx, a Actor, plan *archive.Document, ins []TaskInput) ([]*sqlite.Task, error) {
	var out []*sqlite.Task
	for _, in := range ins {
		t := &sqlite.Task{PlanID: plan.ID, Title: in.Title, LeadUnit: in.LeadUnit, SupportUnits: in.SupportUnits,
			DueDate: in.DueDate, Period: in.Period, Status: in.Status, CreatedBy: a.User.Name}
		if err := checkTask(t); err != nil {
			return nil, err
		}
		if err := tx.InsertTask(ctx, t); err != nil {
			return nil, err
		}
		if err := tx.LinkTask(ctx, &sqlite.TaskLink{TaskID: t.ID, DocumentID: plan.ID, Relation: "assigns", CreatedBy: a.User.Name}); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	// The plan's index entry lists its tasks (search's task filter), and
	// its manifest carries them so a rebuild from storage keeps them.
	if err := tx.Enqueue(ctx, sqlite.JobManifest, plan.ID); err != nil {
		return nil, err
	}
	return out, tx.Enqueue(ctx, sqlite.JobIndex, plan.ID)
}

// EditTask changes a task's fields; the audit event keeps before and after.
func (s *Service) EditTask(ctx context.Context, a Actor, id int64, p TaskPatch) (*TaskView, error) {
	if !a.Can("write") {
		return nil, forbidden("edit tasks")
	}
	if _, err := s.visibleTask(ctx, a, id); err != nil {
		return nil, err
	}
	err := s.Catalog.Update(ctx, func(tx *sqlite.Tx) error {
		t, err := tx.Task(ctx, id)
		if err != nil {
			return err
		}
		before := *t
		set := func(dst *string, v *string) {
			if v != nil {
				*dst = *v
			}
		}
		set(&t.Title, p.Title)
		set(&t.LeadUnit, p.LeadUnit)
		set(&t.DueDate, p.DueDate)
		set(&t.Period, p.Period)
		set(&t.Status, p.Status)
		if p.SupportUnits != nil {
			t.SupportUnits = *p.SupportUnits
		}
		if err := checkTask(t); err != nil {
			return err
		}
		b, af := taskDiff(&before, t)
		if len(b) == 0 && len(af) == 0 {
			return nil // nothing changed: nothing to record
		}
		if err := tx.UpdateTask(ctx, t); err != nil {
			return err
		}
		e := a.event(ActionTaskEdit, t.PlanID)
		e.Details = map[string]any{"task_id": t.ID, "before": b, "after": af}
		if err := tx.AppendEvent(ctx, e); err != nil {
			return err
		}
		return tx.Enqueue(ctx, sqlite.JobManifest, t.PlanID)
	})
	if err != nil {
		return nil, err
	}
	return s.TaskOf(ctx, a, id)
}

func taskDiff(before, after *sqlite.Task) (map[string]any, map[string]any) {
	vals := func(t *sqlite.Task) map[string]any {
		return map[string]any{"title": t.Title, "lead_unit": t.LeadUnit, "support_units": strings.Join(t.SupportUnits, "; "),
			"due_date": t.DueDate, "period": t.Period, "status": t.Status}
	}
	b, a := vals(before), vals(after)
	for k := range b {
		if b[k] == a[k] {
			delete(b, k)
			delete(a, k)
		}
	}
	return b, a
}

// visibleTask loads a task whose plan the caller may see; any other task
// answers like a missing one.
func (s *Service) visibleTask(ctx context.Context, a Actor, id int64) (*sqlite.Task, error) {
	t, err := s.Catalog.Task(ctx, id)
	if errors.Is(err, archive.ErrNotFound) {
		return nil, taskNotFound()
	}
	if err != nil {
		return nil, err
	}
	if _, err := s.Peek(ctx, a, t.PlanID); err != nil {
		return nil, taskNotFound()
	}
	return t, nil
}

// LinkTask ties a document to a task (a report reports_on it, a decision
// implements it, a directive assigns it), with one audit event.
func (s *Service) LinkTask(ctx context.Context, a Actor, taskID int64, docID, relation string) (*TaskView, error) {
	if !a.Can("link") {
		return nil, forbidden("link documents to tasks")
	}
	if !slices.Contains(TaskRelations, relation) {
		return nil, invalid("invalid_relation", "relation %q is not one of %s", relation, strings.Join(TaskRelations, ", "))
	}
	t, err := s.visibleTask(ctx, a, taskID)
	if err != nil {
		return nil, err
	}
	if _, err := s.Check(ctx, a, docID, ActionTaskLink); err != nil {
		return nil, err
	}
	err = s.Catalog.Update(ctx, func(tx *sqlite.Tx) error {
		if err := tx.LinkTask(ctx, &sqlite.TaskLink{TaskID: t.ID, DocumentID: docID, Relation: relation, CreatedBy: a.User.Name}); err != nil {
			return err
		}
		e := a.event(ActionTaskLink, docID)
		e.Details = map[string]any{"task_id": t.ID, "plan_id": t.PlanID, "relation": relation}
		if err := tx.AppendEvent(ctx, e); err != nil {
			return err
		}
		if err := tx.Enqueue(ctx, sqlite.JobManifest, docID); err != nil {
			return err
		}
		return tx.Enqueue(ctx, sqlite.JobIndex, docID)
	})
	if err != nil {
		return nil, err
	}
	s.Wake()
	return s.TaskOf(ctx, a, taskID)
}

// UnlinkTask removes a link ("" relation: every link of that document).
func (s *Service) UnlinkTask(ctx context.Context, a Actor, taskID int64, docID, relation string) error {
	if !a.Can("link") {
		return forbidden("unlink documents from tasks")
	}
	t, err := s.visibleTask(ctx, a, taskID)
	if err != nil {
		return err
	}
	if _, err := s.Check(ctx, a, docID, ActionTaskUnlink); err != nil {
		return err
	}
	err = s.Catalog.Update(ctx, func(tx *sqlite.Tx) error {
		ok, err := tx.UnlinkTask(ctx, t.ID, docID, relation)
		if err != nil {
			return err
		}
		if !ok {
			return archive.Errorf(archive.ErrNotFound, "not_linked", "that document is not linked to the task")
		}
		e := a.event(ActionTaskUnlink, docID)
		e.Details = map[string]any{"task_id": t.ID, "plan_id": t.PlanID, "relation": relation}
		if err := tx.AppendEvent(ctx, e); err != nil {
			return err
		}
		if err := tx.Enqueue(ctx, sqlite.JobManifest, docID); err != nil {
			return err
		}
		return tx.Enqueue(ctx, sqlite.JobIndex, docID)
	})
	if err == nil {
		s.Wake()
	}
	return err
}

// TaskOf returns one task with its visible documents.
func (s *Service) TaskOf(ctx context.Context, a Actor, id int64) (*TaskView, error) {
	t, err := s.visibleTask(ctx, a, id)
	if err != nil {
		return nil, err
	}
	vs, err := s.views(ctx, a, []*sqlite.Task{t}, true)
	if err != nil {
		return nil, err
	}
	return &vs[0], nil
}

// TaskQuery filters the task list.
type TaskQuery struct {
	PlanID string
	Unit   string // lead or supporting unit, compared without diacritics or case
	Status string // open|in_progress|done|overdue
}

// Tasks lists the tasks a caller may see.
func (s *Service) Tasks(ctx context.Context, a Actor, q TaskQuery) ([]TaskView, error) {
	if q.Status != "" && !slices.Contains(TaskStatuses, q.Status) {
		return nil, invalid("invalid_status", "status %q is not one of %s", q.Status, strings.Join(TaskStatuses, ", "))
	}
	if q.PlanID != "" {
		if _, err := s.Check(ctx, a, q.PlanID, "task.list"); err != nil {
			return nil, err
		}
	}
	ts, err := s.Catalog.Tasks(ctx, sqlite.TaskFilter{PlanID: q.PlanID})
	if err != nil {
		return nil, err
	}
	if q.Unit != "" {
		u := fold(q.Unit)
		ts = slices.DeleteFunc(ts, func(t *sqlite.Task) bool {
			for _, x := range append([]string{t.LeadUnit}, t.SupportUnits...) {
				if x != "" && strings.Contains(fold(x), u) {
					return false
				}
			}
			return true
		})
	}
	vs, err := s.views(ctx, a, ts, false)
	if err != nil {
		return nil, err
	}
	if q.Status != "" {
		vs = slices.DeleteFunc(vs, func(v TaskView) bool { return v.Status != q.Status })
	}
	return vs, nil
}

// views computes what a caller sees of tasks: invisible plans drop the
// task; invisible documents are neither listed nor counted.
func (s *Service) views(ctx context.Context, a Actor, ts []*sqlite.Task, withDocs bool) ([]TaskView, error) {
	r := s.newResolver()
	ids := make([]int64, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	links, err := s.Catalog.TaskLinks(ctx, ids)
	if err != nil {
		return nil, err
	}
	byTask := map[int64][]sqlite.TaskLink{}
	for _, l := range links {
		byTask[l.TaskID] = append(byTask[l.TaskID], l)
	}
	today := time.Now().In(vietnam).Format("2006-01-02")
	out := make([]TaskView, 0, len(ts))
	for _, t := range ts {
		plan, err := r.doc(ctx, t.PlanID)
		if err != nil {
			return nil, err
		}
		if !canSee(a, plan) {
			continue
		}
		v := TaskView{Task: *t, SetStatus: t.Status, PlanNumber: plan.Number, PlanSubject: plan.Subject}
		for _, l := range byTask[t.ID] {
			d, err := r.doc(ctx, l.DocumentID)
			if err != nil {
				return nil, err
			}
			if !canSee(a, d) {
				continue
			}
			if l.Relation == "reports_on" {
				v.Reports++
			}
			if withDocs {
				v.Documents = append(v.Documents, TaskDocument{DocumentID: d.ID, Number: d.Number, Type: d.Type, IssuedAt: d.IssuedAt,
					Subject: d.Subject, Relation: l.Relation, LinkedAt: l.CreatedAt, LinkedBy: l.CreatedBy})
			}
		}
		if withDocs && v.Documents == nil {
			v.Documents = []TaskDocument{}
		}
		v.Deadline = t.DueDate
		if v.Deadline == "" {
			v.Deadline = periodEnd(t.Period)
		}
		switch {
		case t.Status == "done":
			v.Status = "done"
		case v.Deadline != "" && today > v.Deadline && v.Reports == 0:
			v.Status, v.Overdue = "overdue", true
		case v.Reports > 0 || t.Status == "in_progress":
			v.Status = "in_progress"
		default:
			v.Status = "open"
		}
		out = append(out, v)
	}
	return out, nil
}

var (
	romanQuarter = map[string]int{"i": 1, "ii": 2, "iii": 3, "iv": 4, "1": 1, "2": 2, "3": 3, "4": 4}
	quarterRe    = regexp.MustCompile(`quy (i{1,3}|iv|[1-4])\b.*?((?:19|20)\d\d)`)
	halfRe       = regexp.MustCompile(`(6|06|9|09) thang (dau|cuoi) nam ((?:19|20)\d\d)`)
	monthRe      = regexp.MustCompile(`thang (\d{1,2})(?: nam)? ((?:19|20)\d\d)`)
	yearRe       = regexp.MustCompile(`^(?:nam )?((?:19|20)\d\d)$`)
)

// periodEnd is the last day of a reporting period as plans write it
// ("Quý III năm 2024", "6 tháng đầu năm 2018", "tháng 5/2018", "năm
// 2018"), or "" when it names no definite time.
func periodEnd(p string) string {
	f := fold(p)
	end := func(y, m int) string {
		return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
	}
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	if m := quarterRe.FindStringSubmatch(f); m != nil {
		return end(atoi(m[2]), 3*romanQuarter[m[1]])
	}
	if m := halfRe.FindStringSubmatch(f); m != nil {
		months := atoi(m[1])
		if m[2] == "cuoi" {
			months = 12
		}
		return end(atoi(m[3]), months)
	}
	if m := monthRe.FindStringSubmatch(f); m != nil && atoi(m[1]) >= 1 && atoi(m[1]) <= 12 {
		return end(atoi(m[2]), atoi(m[1]))
	}
	if m := yearRe.FindStringSubmatch(f); m != nil {
		return end(atoi(m[1]), 12)
	}
	return ""
}

// DocumentTask is a task a document is linked to, for the document's JSON.
type DocumentTask struct {
	ID       int64  `json:"id"`
	Title    string `json:"title"`
	PlanID   string `json:"plan_id"`
	Relation string `json:"relation"`
	Status   string `json:"status"`
}

// DocumentTasks lists the visible tasks a visible document is linked to.
func (s *Service) DocumentTasks(ctx context.Context, a Actor, d *archive.Document) ([]DocumentTask, error) {
	links, err := s.Catalog.DocumentTaskLinks(ctx, d.ID)
	if err != nil || len(links) == 0 {
		return []DocumentTask{}, err
	}
	var ids []int64
	for _, l := range links {
		if !slices.Contains(ids, l.TaskID) {
			ids = append(ids, l.TaskID)
		}
	}
	ts, err := s.Catalog.Tasks(ctx, sqlite.TaskFilter{IDs: ids})
	if err != nil {
		return nil, err
	}
	vs, err := s.views(ctx, a, ts, false)
	if err != nil {
		return nil, err
	}
	byID := map[int64]TaskView{}
	for _, v := range vs {
		byID[v.ID] = v
	}
	out := []DocumentTask{}
	for _, l := range links {
		if v, ok := byID[l.TaskID]; ok {
			out = append(out, DocumentTask{ID: v.ID, Title: v.Title, PlanID: v.PlanID, Relation: l.Relation, Status: v.Status})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// ---------------------------------------------------------------------------
// Task proposals: what the parser read out of a plan.

// Proposal is a task the parser found in a plan's text, not yet saved.
// TaskID is set when the plan already has a task with that title.
type Proposal struct {
	Index int `json:"index"` // from 1, in text order
	TaskInput
	TaskID *int64 `json:"task_id"`
}

// TaskProposals lists the tasks parsed from a visible plan's text.
func (s *Service) TaskProposals(ctx context.Context, a Actor, planID string) ([]Proposal, error) {
	if _, err := s.Check(ctx, a, planID, "document.task_proposals"); err != nil {
		return nil, err
	}
	raw, err := s.Catalog.Parsed(ctx, planID)
	if err != nil {
		return nil, err
	}
	var m ingest.Metadata
	_ = json.Unmarshal(raw, &m) // "{}" before extraction: no proposals yet
	saved, err := s.Catalog.Tasks(ctx, sqlite.TaskFilter{PlanID: planID})
	if err != nil {
		return nil, err
	}
	out := []Proposal{}
	for i, p := range m.TaskProposals {
		units := p.SupportUnits
		if units == nil {
			units = []string{}
		}
		pr := Proposal{Index: i + 1, TaskInput: TaskInput{PlanID: planID, Title: p.Title, LeadUnit: p.LeadUnit,
			SupportUnits: units, DueDate: p.DueDate, Period: p.Period}}
		for _, t := range saved {
			if fold(t.Title) == fold(p.Title) {
				id := t.ID
				pr.TaskID = &id
				break
			}
		}
		out = append(out, pr)
	}
	return out, nil
}

// ConfirmProposals saves a plan's tasks in one transaction with one audit
// event: the clerk's edited list when given, else every parsed proposal.
// Titles the plan already has are skipped, so confirming twice adds nothing.
func (s *Service) ConfirmProposals(ctx context.Context, a Actor, planID string, edited []TaskInput) ([]TaskView, int, error) {
	if !a.Can("write") {
		return nil, 0, forbidden("confirm tasks")
	}
	props, err := s.TaskProposals(ctx, a, planID)
	if err != nil {
		return nil, 0, err
	}
	list := edited
	if list == nil {
		for _, p := range props {
			list = append(list, p.TaskInput)
		}
	}
	if len(list) == 0 {
		return nil, 0, archive.Errorf(archive.ErrUnprocessable, "no_proposals", "no tasks were found in this plan's text; send the list of tasks to create")
	}
	if len(list) > 500 {
		return nil, 0, invalid("too_many_tasks", "a plan's confirmation may create at most 500 tasks")
	}
	plan, err := s.visiblePlan(ctx, a, planID)
	if err != nil {
		return nil, 0, err
	}
	var created []*sqlite.Task
	skipped := 0
	err = s.Catalog.Update(ctx, func(tx *sqlite.Tx) error {
		have, err := s.Catalog.Tasks(ctx, sqlite.TaskFilter{PlanID: planID})
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, t := range have {
			seen[fold(t.Title)] = true
		}
		var fresh []TaskInput
		for _, in := range list {
			if k := fold(in.Title); seen[k] && k != "" {
				skipped++
				continue
			} else {
				seen[k] = true
			}
			fresh = append(fresh, in)
		}
		if len(fresh) == 0 {
			return nil
		}
		if created, err = s.insertTasks(ctx, tx, a, plan, fresh); err != nil {
			return err
		}
		ids := make([]int64, len(created))
		for i, t := range created {
			ids[i] = t.ID
		}
		e := a.event(ActionTaskConfirm, plan.ID)
		e.Details = map[string]any{"task_ids": ids, "count": len(created), "skipped": skipped, "edited": edited != nil}
		return tx.AppendEvent(ctx, e)
	})
	if err != nil {
		return nil, 0, err
	}
	s.Wake()
	out := []TaskView{}
	if len(created) > 0 {
		vs, err := s.views(ctx, a, created, false)
		if err != nil {
			return nil, 0, err
		}
		out = vs
	}
	return out, skipped, nil
}

// ---------------------------------------------------------------------------
// Suggestions: which task does a report report on?

// Suggestion is a task a report probably reports on.
type Suggestion struct {
	Task   TaskView `json:"task"`
	Score  float64  `json:"score"`
	Linked bool     `json:"linked"` // the report is already linked to it
}

// stopWords are folded function words that say nothing about a task.
var stopWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`va cua cac cho voi trong ve tai theo duoc da co la nhung nay tren den tu de mot so nhu sau o
		thi ma khi nen hoac cung do nay ay rat hon moi tung nham doi`) {
		stopWords[w] = true
	}
}

// terms splits text into folded syllables and two-syllable shingles (words
// are one to four syllables; shingles stand in for word segmentation).
// Shingles do not cross punctuation.
func terms(text string) map[string]int {
	out := map[string]int{}
	norm := strings.ToLower(vietnamese.Fold(vietnamese.Normalize(text)))
	for _, seg := range strings.FieldsFunc(norm, func(r rune) bool { return strings.ContainsRune(",;:.()!?\n\"“”/", r) }) {
		words := strings.FieldsFunc(seg, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		prev := ""
		for _, w := range words {
			if stopWords[w] {
				prev = ""
				continue
			}
			out[w]++
			if prev != "" {
				out[prev+" "+w]++
			}
			prev = w
		}
	}
	return out
}

// TaskSuggestions ranks the visible tasks by how likely a visible report
// reports on them: BM25 with the task titles as the documents and the
// report (subject weighted up) as the query, so terms that single a task out
// ("đoàn ra", "phi chính phủ") count and terms every task shares ("công
// tác") hardly do; tasks of a plan the report cites, or whose subject it
// echoes, get a bonus.
func (s *Service) TaskSuggestions(ctx context.Context, a Actor, docID string, n int) ([]Suggestion, error) {
	d, err := s.Check(ctx, a, docID, "document.task_suggestions")
	if err != nil {
		return nil, err
	}
	text, err := s.Catalog.Text(ctx, docID)
	if err != nil {
		return nil, err
	}
	all, err := s.Catalog.Tasks(ctx, sqlite.TaskFilter{})
	if err != nil {
		return nil, err
	}
	vs, err := s.views(ctx, a, all, false)
	if err != nil || len(vs) == 0 {
		return []Suggestion{}, err
	}
	q := terms(strings.Repeat(d.Subject+"\n", 3) + text)

	// Plans the report cites and resolves to.
	cited := map[string]bool{}
	if refs, err := s.ReferencesOf(ctx, a, d); err == nil {
		for _, c := range refs.Cites {
			if c.DocumentID != "" {
				cited[c.DocumentID] = true
			}
		}
	}
	linked := map[int64]bool{}
	if ls, err := s.Catalog.DocumentTaskLinks(ctx, docID); err == nil {
		for _, l := range ls {
			linked[l.TaskID] = true
		}
	}

	docs := make([]map[string]int, len(vs))
	df := map[string]int{}
	total := 0
	for i, v := range vs {
		docs[i] = terms(v.Title)
		for t := range docs[i] {
			df[t]++
		}
		for _, c := range docs[i] {
			total += c
		}
	}
	avg := float64(total) / float64(len(vs))
	N := float64(len(vs))
	const k1, b, k3 = 1.2, 0.75, 1.2
	planBonus := map[string]float64{}
	out := []Suggestion{}
	for i, v := range vs {
		length := 0
		for _, c := range docs[i] {
			length += c
		}
		score := 0.0
		for t, tf := range docs[i] {
			qt := q[t]
			if qt == 0 {
				continue
			}
			idf := math.Log(1 + (N-float64(df[t])+0.5)/(float64(df[t])+0.5))
			tfPart := float64(tf) * (k1 + 1) / (float64(tf) + k1*(1-b+b*float64(length)/avg))
			qPart := float64(qt) * (k3 + 1) / (float64(qt) + k3)
			score += idf * tfPart * qPart
		}
		if score == 0 {
			continue
		}
		bonus, ok := planBonus[v.PlanID]
		if !ok {
			if cited[v.PlanID] {
				bonus += 1
			}
			pt := terms(v.PlanSubject)
			hit := 0
			for t := range pt {
				if q[t] > 0 {
					hit++
				}
			}
			if len(pt) > 0 {
				bonus += 0.5 * float64(hit) / float64(len(pt))
			}
			planBonus[v.PlanID] = bonus
		}
		out = append(out, Suggestion{Task: v, Score: math.Round((score+bonus)*1000) / 1000, Linked: linked[v.ID]})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out, nil
}

// ---------------------------------------------------------------------------
// The reporting matrix of a plan.

// Matrix is a plan's tasks × reporting periods; each cell lists the visible
// reports filed on that task in that period. Empty cells are what is missing.
type Matrix struct {
	PlanID      string      `json:"plan_id"`
	PlanNumber  string      `json:"plan_number"`
	PlanSubject string      `json:"plan_subject"`
	Year        int         `json:"year"`
	Periods     []Period    `json:"periods"`
	Rows        []MatrixRow `json:"rows"`
}

// Period is one column of the matrix.
type Period struct {
	Key   string `json:"key"`   // 2018-Q2
	Label string `json:"label"` // Quý II/2018
	From  string `json:"from"`
	To    string `json:"to"`
}

// MatrixRow is one task and its reports per period.
type MatrixRow struct {
	Task    TaskView       `json:"task"`
	Cells   [][]ReportCell `json:"cells"`   // one list per period, in Periods order
	Outside []ReportCell   `json:"outside"` // reports dated outside every period
}

// ReportCell is one report in a cell.
type ReportCell struct {
	DocumentID string `json:"document_id"`
	Number     string `json:"number"`
	IssuedAt   string `json:"issued_at"`
	Subject    string `json:"subject"`
	Date       string `json:"date"` // the date the report was bucketed by
}

// PlanMatrix builds a visible plan's reporting matrix over the quarters of
// year (0: the plan's year of issue, else of registration).
func (s *Service) PlanMatrix(ctx context.Context, a Actor, planID string, year int) (*Matrix, error) {
	plan, err := s.Check(ctx, a, planID, "plan.matrix")
	if err != nil {
		return nil, err
	}
	if year == 0 {
		year = plan.Year()
	}
	if year == 0 {
		year = plan.CreatedAt.In(vietnam).Year()
	}
	if year < 1945 || year > 2200 {
		return nil, invalid("bad_year", "year must be a four-digit year")
	}
	m := &Matrix{PlanID: plan.ID, PlanNumber: plan.Number, PlanSubject: plan.Subject, Year: year, Rows: []MatrixRow{}}
	roman := []string{"I", "II", "III", "IV"}
	for q := 0; q < 4; q++ {
		from := time.Date(year, time.Month(3*q+1), 1, 0, 0, 0, 0, time.UTC)
		to := from.AddDate(0, 3, -1)
		m.Periods = append(m.Periods, Period{Key: fmt.Sprintf("%d-Q%d", year, q+1), Label: fmt.Sprintf("Quý %s/%d", roman[q], year),
			From: from.Format("2006-01-02"), To: to.Format("2006-01-02")})
	}
	ts, err := s.Catalog.Tasks(ctx, sqlite.TaskFilter{PlanID: planID})
	if err != nil {
		return nil, err
	}
	vs, err := s.views(ctx, a, ts, true) // documents are already filtered by clearance
	if err != nil {
		return nil, err
	}
	r := s.newResolver()
	for _, v := range vs {
		row := MatrixRow{Cells: make([][]ReportCell, len(m.Periods)), Outside: []ReportCell{}}
		for i := range row.Cells {
			row.Cells[i] = []ReportCell{}
		}
		for _, td := range v.Documents {
			if td.Relation != "reports_on" {
				continue
			}
			date := td.IssuedAt
			if date == "" {
				d, err := r.doc(ctx, td.DocumentID)
				if err != nil {
					return nil, err
				}
				if d != nil {
					date = d.CreatedAt.In(vietnam).Format("2006-01-02")
				}
			}
			cell := ReportCell{DocumentID: td.DocumentID, Number: td.Number, IssuedAt: td.IssuedAt, Subject: td.Subject, Date: date}
			placed := false
			for i, p := range m.Periods {
				if date >= p.From && date <= p.To {
					row.Cells[i] = append(row.Cells[i], cell)
					placed = true
				}
			}
			if !placed {
				row.Outside = append(row.Outside, cell)
			}
		}
		v.Documents = nil // the cells carry them
		row.Task = v
		m.Rows = append(m.Rows, row)
	}
	return m, nil
}
