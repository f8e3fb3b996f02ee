package web

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"vanthu/archive"
	"vanthu/archive/records"
)

// taskRoutes registers the task and reference endpoints.
func (s *Server) taskRoutes(api fiber.Router) {
	api.Get("/documents/:id/references", s.documentReferences)
	api.Get("/documents/:id/task-proposals", s.taskProposals)
	api.Post("/documents/:id/task-proposals/confirm", s.confirmTaskProposals)
	api.Get("/documents/:id/task-suggestions", s.taskSuggestions)
	api.Post("/tasks", s.createTask)
	api.Get("/tasks", s.listTasks)
	api.Get("/tasks/:id", s.getTask)
	api.Patch("/tasks/:id", s.editTask)
	api.Post("/tasks/:id/documents", s.linkTaskDocument)
	api.Delete("/tasks/:id/documents/:doc", s.unlinkTaskDocument)
	api.Get("/plans/:id/matrix", s.planMatrix)
}

// decodeJSON reads a JSON body into v, refusing unknown fields (a typo must
// not be dropped silently) and deep nesting before decoding it.
func decodeJSON(body []byte, v any, example string) error {
	bad := func(why string) error {
		return archive.Errorf(archive.ErrInvalid, "bad_json", "the body must be JSON like %s: %s", example, why)
	}
	if depth(body) > 4 {
		return bad("it is nested too deeply")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bad(err.Error())
	}
	if dec.More() {
		return bad("there is more than one JSON value")
	}
	return nil
}

// taskID reads the task id from the path; a malformed id is as absent as a
// missing task.
func taskID(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, archive.Errorf(archive.ErrNotFound, "not_found", "no task with that id")
	}
	return id, nil
}

func (s *Server) createTask(c *fiber.Ctx) error {
	var in records.TaskInput
	if err := decodeJSON(c.Body(), &in, `{"plan_id": "…", "title": "…", "lead_unit": "…", "support_units": [], "due_date": "2018-12-31", "period": "Quý IV năm 2018"}`); err != nil {
		return err
	}
	v, err := s.Records.CreateTask(c.UserContext(), s.actor(c), in)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderLocation, fmt.Sprintf("/api/v1/tasks/%d", v.ID))
	return c.Status(fiber.StatusCreated).JSON(v)
}

func (s *Server) getTask(c *fiber.Ctx) error {
	id, err := taskID(c)
	if err != nil {
		return err
	}
	v, err := s.Records.TaskOf(c.UserContext(), s.actor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func (s *Server) editTask(c *fiber.Ctx) error {
	id, err := taskID(c)
	if err != nil {
		return err
	}
	var p records.TaskPatch
	if err := decodeJSON(c.Body(), &p, `{"status": "done"}`); err != nil {
		return err
	}
	v, err := s.Records.EditTask(c.UserContext(), s.actor(c), id, p)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

// listTasks is GET /tasks?plan=&unit=&status=&overdue=true&after=&size=,
// in id order with an id cursor.
func (s *Server) listTasks(c *fiber.Ctx) error {
	q := records.TaskQuery{PlanID: c.Query("plan"), Unit: c.Query("unit"), Status: c.Query("status")}
	switch c.Query("overdue") {
	case "", "false":
	case "true", "1":
		if q.Status != "" && q.Status != "overdue" {
			return archive.Errorf(archive.ErrInvalid, "bad_filter", "overdue=true asks for status overdue; it cannot be combined with status=%s", q.Status)
		}
		q.Status = "overdue"
	default:
		return archive.Errorf(archive.ErrInvalid, "bad_filter", "overdue must be true or false")
	}
	size, err := querySize(c, 100, 500)
	if err != nil {
		return err
	}
	var after int64
	if a := c.Query("after"); a != "" {
		if after, err = strconv.ParseInt(a, 10, 64); err != nil {
			return archive.Errorf(archive.ErrInvalid, "bad_cursor", "after must be the id of the last task of the previous page")
		}
	}
	vs, err := s.Records.Tasks(c.UserContext(), s.actor(c), q)
	if err != nil {
		return err
	}
	items := []records.TaskView{}
	for _, v := range vs {
		if v.ID > after {
			items = append(items, v)
		}
	}
	// Tasks come by plan and position; pages go by id so a cursor is stable.
	slices.SortFunc(items, func(a, b records.TaskView) int { return cmp.Compare(a.ID, b.ID) })
	var next any
	if len(items) > size {
		items = items[:size]
		next = strconv.FormatInt(items[size-1].ID, 10)
	}
	return c.JSON(fiber.Map{"items": items, "next": next})
}

func (s *Server) linkTaskDocument(c *fiber.Ctx) error {
	id, err := taskID(c)
	if err != nil {
		return err
	}
	var in struct {
		DocumentID string `json:"document_id"`
		Relation   string `json:"relation"`
	}
	if err := decodeJSON(c.Body(), &in, `{"document_id": "…", "relation": "reports_on"}`); err != nil {
		return err
	}
	if in.DocumentID == "" {
		return archive.Errorf(archive.ErrInvalid, "missing_document", "document_id is required")
	}
	v, err := s.Records.LinkTask(c.UserContext(), s.actor(c), id, in.DocumentID, in.Relation)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(v)
}

func (s *Server) unlinkTaskDocument(c *fiber.Ctx) error {
	id, err := taskID(c)
	if err != nil {
		return err
	}
	if err := s.Records.UnlinkTask(c.UserContext(), s.actor(c), id, c.Params("doc"), c.Query("relation")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) taskProposals(c *fiber.Ctx) error {
	ps, err := s.Records.TaskProposals(c.UserContext(), s.actor(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"proposals": ps})
}

// confirmTaskProposals saves a plan's parsed tasks; the body, when there is
// one, is the clerk's edited list: {"tasks": [...]} or the bare list.
func (s *Server) confirmTaskProposals(c *fiber.Ctx) error {
	var edited []records.TaskInput
	if body := bytes.TrimSpace(c.Body()); len(body) > 0 {
		const example = `{"tasks": [{"title": "…", "lead_unit": "…", "due_date": "2018-12-31"}]}`
		if body[0] == '[' {
			if err := decodeJSON(body, &edited, example); err != nil {
				return err
			}
		} else {
			var in struct {
				Tasks []records.TaskInput `json:"tasks"`
			}
			if err := decodeJSON(body, &in, example); err != nil {
				return err
			}
			edited = in.Tasks
		}
		if edited == nil {
			edited = []records.TaskInput{}
		}
		for i := range edited {
			edited[i].PlanID = c.Params("id")
		}
	}
	created, skipped, err := s.Records.ConfirmProposals(c.UserContext(), s.actor(c), c.Params("id"), edited)
	if err != nil {
		return err
	}
	status := fiber.StatusOK
	if len(created) > 0 {
		status = fiber.StatusCreated
	}
	return c.Status(status).JSON(fiber.Map{"created": created, "skipped": skipped})
}

func (s *Server) taskSuggestions(c *fiber.Ctx) error {
	size, err := querySize(c, 5, 50)
	if err != nil {
		return err
	}
	sg, err := s.Records.TaskSuggestions(c.UserContext(), s.actor(c), c.Params("id"), size)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"suggestions": sg})
}

// planMatrix is GET /plans/{id}/matrix?year=: the plan's tasks × quarters.
func (s *Server) planMatrix(c *fiber.Ctx) error {
	year := 0
	if y := c.Query("year"); y != "" {
		n, err := strconv.Atoi(y)
		if err != nil {
			return archive.Errorf(archive.ErrInvalid, "bad_year", "year must be a four-digit year")
		}
		year = n
	}
	m, err := s.Records.PlanMatrix(c.UserContext(), s.actor(c), c.Params("id"), year)
	if err != nil {
		return err
	}
	return c.JSON(m)
}
