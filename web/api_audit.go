package web

import (
	"bytes"
	"crypto/ed25519"
	"encoding/csv"
	"encoding/json"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"vanthu/archive"
	"vanthu/archive/sqlite"
)

// auditFilter reads the audit query parameters shared by the list, the
// export and the audit page.
func auditFilter(c *fiber.Ctx) (sqlite.AuditFilter, error) {
	f := sqlite.AuditFilter{DocumentID: c.Query("document"), Actor: c.Query("actor"), Action: c.Query("action")}
	for _, p := range []struct {
		name string
		dst  *time.Time
		end  bool
	}{{"from", &f.From, false}, {"to", &f.To, true}} {
		v := c.Query(p.name)
		if v == "" {
			continue
		}
		t, err := parseDay(v)
		if err != nil {
			return f, archive.Errorf(archive.ErrInvalid, "bad_date", "%s must be a date YYYY-MM-DD or an RFC 3339 time", p.name)
		}
		if p.end && len(v) == 10 {
			t = t.AddDate(0, 0, 1) // "to" a day includes that whole day
		}
		*p.dst = t
	}
	if v := c.Query("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return f, archive.Errorf(archive.ErrInvalid, "bad_cursor", "after must be a sequence number")
		}
		f.AfterSeq = n
	}
	return f, nil
}

// parseDay accepts YYYY-MM-DD (a day in Vietnam's time zone) or RFC 3339.
func parseDay(v string) (time.Time, error) {
	if len(v) == 10 {
		return time.ParseInLocation("2006-01-02", v, vietnam)
	}
	return time.Parse(time.RFC3339, v)
}

var vietnam = time.FixedZone("ICT", 7*3600)

func (s *Server) auditEvents(c *fiber.Ctx) error {
	f, err := auditFilter(c)
	if err != nil {
		return err
	}
	size, err := querySize(c, 100, 1000)
	if err != nil {
		return err
	}
	f.Limit = size
	evs, err := s.Catalog.Events(c.UserContext(), f)
	if err != nil {
		return err
	}
	var next any
	if len(evs) == size {
		next = strconv.FormatInt(evs[len(evs)-1].Seq, 10)
	}
	evs = s.visibleEvents(c, evs)
	if evs == nil {
		evs = []archive.Event{}
	}
	return c.JSON(fiber.Map{"items": evs, "next": next})
}

// visibleEvents drops, for callers other than inspectors, the events of
// documents above their clearance: an admin manages users but has no
// implicit clearance, and an event's details name the document's file.
func (s *Server) visibleEvents(c *fiber.Ctx, evs []archive.Event) []archive.Event {
	a := s.actor(c)
	if a.User == nil || a.User.Role == archive.RoleInspector {
		return evs
	}
	seen := map[string]bool{}
	out := evs[:0]
	for _, e := range evs {
		if e.DocumentID != "" {
			ok, known := seen[e.DocumentID]
			if !known {
				_, err := s.Records.Peek(c.UserContext(), a, e.DocumentID)
				ok = err == nil
				seen[e.DocumentID] = ok
			}
			if !ok {
				continue
			}
		}
		out = append(out, e)
	}
	return out
}

func (s *Server) auditVerify(c *fiber.Ctx) error {
	var pub ed25519.PublicKey
	if k := s.Records.AuditKey; k != nil {
		pub = k.Public().(ed25519.PublicKey)
	}
	res, cps, err := s.Records.VerifyAudit(c.UserContext(), pub)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"ok": res.OK, "events": res.Events, "first_bad_seq": nullIfZero(res.FirstBadSeq),
		"reason": res.Reason, "checkpoints": cps})
}

// auditExport streams the selected events as CSV or JSON for inspectors; the
// export itself is an audited act.
func (s *Server) auditExport(c *fiber.Ctx) error {
	f, err := auditFilter(c)
	if err != nil {
		return err
	}
	format := c.Query("format", "csv")
	if format != "csv" && format != "json" {
		return archive.Errorf(archive.ErrInvalid, "bad_format", "format must be csv or json")
	}
	f.Limit = 100000
	evs, err := s.Catalog.Events(c.UserContext(), f)
	if err != nil {
		return err
	}
	evs = s.visibleEvents(c, evs)
	e := s.actor(c)
	ev := &archive.Event{Actor: e.User.Name, Role: string(e.User.Role), Action: archive.ActionAuditExport, IP: e.IP, RequestID: e.RequestID,
		Details: map[string]any{"format": format, "events": len(evs), "document": f.DocumentID, "actor": f.Actor, "action": f.Action}}
	if err := s.Catalog.Record(c.UserContext(), ev); err != nil {
		return err
	}
	name := "vanthu-audit-" + time.Now().In(vietnam).Format("20060102-150405")
	if format == "json" {
		c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`.json"`)
		if evs == nil {
			evs = []archive.Event{}
		}
		return c.JSON(evs)
	}
	var buf bytes.Buffer
	buf.WriteString("\ufeff") // BOM: spreadsheet programs then read the Vietnamese correctly
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"seq", "at", "actor", "role", "action", "document_id", "outcome", "ip", "request_id", "details", "prev_hash", "hash"})
	for _, e := range evs {
		d, _ := json.Marshal(e.Details)
		if e.Details == nil {
			d = nil
		}
		_ = w.Write([]string{strconv.FormatInt(e.Seq, 10), e.At.UTC().Format(time.RFC3339Nano), csvSafe(e.Actor), e.Role, e.Action,
			e.DocumentID, e.Outcome, e.IP, e.RequestID, csvSafe(string(d)), e.PrevHash, e.Hash})
	}
	w.Flush()
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`.csv"`)
	return c.Send(buf.Bytes())
}

// csvSafe defuses spreadsheet formula injection in user-controlled cells.
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@') {
		return "'" + s
	}
	return s
}

func nullIfZero(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}
