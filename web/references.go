package web

import (
	"github.com/gofiber/fiber/v2"

	"vanthu/archive"
	"vanthu/archive/records"
)

// references lists a document's citations in both directions, showing only
// what the caller may see (records/links.go says how an invisible document
// is kept out: a citation of it looks like one of a document not archived).
func (s *Server) references(c *fiber.Ctx, d *archive.Document) fiber.Map {
	refs := s.referencesOf(c, d)
	if refs == nil {
		return fiber.Map{"cites": []any{}, "cited_by": []any{}}
	}
	return fiber.Map{"cites": refs.Cites, "cited_by": refs.CitedBy}
}

// referencesOf computes a shown document's references once per request:
// documentJSON needs them for "references" and for the legal status.
func (s *Server) referencesOf(c *fiber.Ctx, d *archive.Document) *records.References {
	key := "references:" + d.ID
	if r, ok := c.Locals(key).(*records.References); ok {
		return r
	}
	r, err := s.Records.ReferencesOf(c.UserContext(), s.actor(c), d)
	if err != nil {
		// documentJSON cannot fail; the document itself is still worth
		// showing, so the graph is left empty and the cause logged.
		rid, _ := c.Locals("request_id").(string)
		s.Log.Error("references of a document failed", "request_id", rid, "document", d.ID, "err", err)
		return nil
	}
	c.Locals(key, r)
	return r
}

// documentLinks adds to a document's JSON the tasks it is linked to and what
// later documents did to it: legal_status ("", "amended", "repealed"),
// status_note (a sentence in Vietnamese), repealed_by and amended_by.
func (s *Server) documentLinks(c *fiber.Ctx, d *archive.Document, m map[string]any) {
	st := records.LegalStatus{RepealedBy: []records.Citer{}, AmendedBy: []records.Citer{}}
	if refs := s.referencesOf(c, d); refs != nil {
		st = refs.Status
	}
	m["legal_status"], m["status_note"], m["repealed_by"], m["amended_by"] = st.State, st.Note, st.RepealedBy, st.AmendedBy
	tasks, err := s.Records.DocumentTasks(c.UserContext(), s.actor(c), d)
	if err != nil {
		rid, _ := c.Locals("request_id").(string)
		s.Log.Error("tasks of a document failed", "request_id", rid, "document", d.ID, "err", err)
		tasks = []records.DocumentTask{}
	}
	m["tasks"] = tasks
}

// documentReferences is GET /documents/{id}/references.
func (s *Server) documentReferences(c *fiber.Ctx) error {
	refs, err := s.Records.References(c.UserContext(), s.actor(c), c.Params("id"))
	if err != nil {
		return err
	}
	st := refs.Status
	return c.JSON(fiber.Map{"cites": refs.Cites, "cited_by": refs.CitedBy, "legal_status": st.State,
		"status_note": st.Note, "repealed_by": st.RepealedBy, "amended_by": st.AmendedBy})
}
