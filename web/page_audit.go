package web

import (
	"encoding/json"
	"sort"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"vanthu/archive"
	"vanthu/archive/sqlite"
)

const auditPageSize = 100

type auditData struct {
	Actor, Document, Action, From, To string
	Actions                           []actionOption
	Events                            []eventView
	Verify                            archive.VerifyResult
	Export, Older, Newest             string
}

type actionOption struct{ Value, Label string }

type eventView struct {
	archive.Event
	Detail string
}

// auditPage lets inspectors read the trail: by person, document, action and
// dates, newest first, with the chain's verification on top.
func (s *Server) auditPage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	q := queryValues(c)
	d := &auditData{Actor: c.Query("actor"), Document: c.Query("document"), Action: c.Query("action"),
		From: c.Query("from"), To: c.Query("to")}
	for k, v := range actionLabels {
		d.Actions = append(d.Actions, actionOption{k, v})
	}
	sort.Slice(d.Actions, func(i, j int) bool { return d.Actions[i].Label < d.Actions[j].Label })
	pg := page{Title: "Nhật ký truy cập", Nav: "audit", D: d}
	f, err := auditFilter(c)
	if err != nil {
		if status, msg, ok := userProblem(err); ok {
			pg.Problem = "Ngày không hợp lệ: hãy nhập theo dạng năm-tháng-ngày. (" + msg + ")"
			return s.render(c, status, "audit", pg)
		}
		return err
	}
	f.Limit, f.Desc = auditPageSize, true
	evs, err := s.Catalog.Events(ctx, f)
	if err != nil {
		return err
	}
	full := len(evs) == auditPageSize
	var last int64
	if full {
		last = evs[len(evs)-1].Seq
	}
	// As in the API: admins see only events of documents within their
	// clearance; inspectors read the whole trail.
	evs = s.visibleEvents(c, evs)
	for _, e := range evs {
		ev := eventView{Event: e}
		if len(e.Details) > 0 {
			b, _ := json.Marshal(e.Details)
			ev.Detail = string(b)
		}
		d.Events = append(d.Events, ev)
	}
	if d.Verify, err = s.Catalog.VerifyChain(ctx); err != nil {
		return err
	}
	exp := withParams(q, "format", "csv")
	d.Export = "/audit/export" + exp
	if full {
		d.Older = withParams(q, "after", strconv.FormatInt(last, 10))
	}
	if c.Query("after") != "" {
		d.Newest = withParams(q)
	}
	return s.render(c, fiber.StatusOK, "audit", pg)
}

// registerData is a printable register (sổ đăng ký văn bản đến / đi,
// Decree 30/2020/NĐ-CP Phụ lục IV).
type registerData struct {
	Direction, From, To string
	Docs                []*archive.Document
	Truncated           bool
}

const registerMax = 5000

// registersPage lists the documents registered in a date range, in register
// order, as the yearly register book prints them.
func (s *Server) registersPage(c *fiber.Ctx) error {
	a := s.actor(c)
	now := s.now().In(vietnam)
	d := &registerData{Direction: c.Query("direction", "incoming"), From: c.Query("from"), To: c.Query("to")}
	if d.From == "" {
		d.From = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, vietnam).Format("2006-01-02")
	}
	if d.To == "" {
		d.To = now.Format("2006-01-02")
	}
	pg := page{Title: "Sổ đăng ký " + map[string]string{"incoming": "văn bản đến", "outgoing": "văn bản đi", "internal": "văn bản nội bộ"}[d.Direction],
		Nav: "registers", D: d}
	if !archive.OneOf(d.Direction, archive.Directions) {
		return archive.Errorf(archive.ErrInvalid, "bad_direction", "Loại sổ không hợp lệ.")
	}
	from, err1 := time.ParseInLocation("2006-01-02", d.From, vietnam)
	to, err2 := time.ParseInLocation("2006-01-02", d.To, vietnam)
	if err1 != nil || err2 != nil || to.Before(from) {
		pg.Problem = "Khoảng ngày không hợp lệ: hãy chọn ngày bắt đầu và ngày kết thúc."
		return s.render(c, fiber.StatusBadRequest, "registers", pg)
	}
	end := to.AddDate(0, 0, 1)
	// Documents come newest first by id (time-ordered), so the walk stops
	// at the first one created before the range.
	var docs []*archive.Document
	after := ""
walk:
	for {
		page, err := s.Records.List(c.UserContext(), a, listFilter(after))
		if err != nil {
			return err
		}
		for _, doc := range page {
			if doc.CreatedAt.Before(from.AddDate(0, 0, -1)) {
				break walk
			}
			day := registerDay(doc)
			if doc.Direction != d.Direction || day.Before(from) || !day.Before(end) {
				continue
			}
			if len(docs) == registerMax {
				d.Truncated = true
				break walk
			}
			docs = append(docs, doc)
		}
		if len(page) < 200 {
			break
		}
		after = page[len(page)-1].ID
	}
	sort.SliceStable(docs, func(i, j int) bool {
		if docs[i].RegisterNumber != docs[j].RegisterNumber && docs[i].RegisterNumber > 0 && docs[j].RegisterNumber > 0 {
			return docs[i].RegisterNumber < docs[j].RegisterNumber
		}
		return docs[i].CreatedAt.Before(docs[j].CreatedAt)
	})
	d.Docs = docs
	return s.render(c, fiber.StatusOK, "registers", pg)
}

// registerDay is the day a document entered the register.
func registerDay(d *archive.Document) time.Time {
	if t, err := time.ParseInLocation("2006-01-02", d.RegisteredAt, vietnam); err == nil {
		return t
	}
	return d.CreatedAt.In(vietnam)
}

func listFilter(after string) sqlite.ListFilter {
	return sqlite.ListFilter{After: after, Size: 200}
}
