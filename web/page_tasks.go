package web

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"vanthu/archive"
	"vanthu/archive/records"
)

// Task pages: the tasks a plan assigns, who leads them, when they are due,
// and the reports filed against each, period by period.

type planTasks struct {
	PlanID, PlanNumber, PlanSubject string
	Tasks                           []records.TaskView
}

type tasksData struct {
	Plan, Unit, Status string
	Plans              []planTasks
	Matrix             *records.Matrix
	Statuses           []string
}

func (s *Server) tasksPage(c *fiber.Ctx) error {
	a := s.actor(c)
	ctx := c.UserContext()
	d := &tasksData{Plan: c.Query("plan"), Unit: c.Query("unit"), Status: c.Query("status"), Statuses: records.TaskStatuses}
	pg := page{Title: "Nhiệm vụ", Nav: "tasks", D: d}
	ts, err := s.Records.Tasks(ctx, a, records.TaskQuery{PlanID: d.Plan, Unit: d.Unit, Status: d.Status})
	if err != nil {
		if status, msg, ok := userProblem(err); ok {
			pg.Problem = msg
			return s.render(c, status, "tasks", pg)
		}
		return err
	}
	for _, t := range ts {
		if n := len(d.Plans); n == 0 || d.Plans[n-1].PlanID != t.PlanID {
			d.Plans = append(d.Plans, planTasks{PlanID: t.PlanID, PlanNumber: t.PlanNumber, PlanSubject: t.PlanSubject})
		}
		d.Plans[len(d.Plans)-1].Tasks = append(d.Plans[len(d.Plans)-1].Tasks, t)
	}
	if d.Plan != "" {
		year, _ := strconv.Atoi(c.Query("year"))
		if d.Matrix, err = s.Records.PlanMatrix(ctx, a, d.Plan, year); err != nil {
			return err
		}
		pg.Title = "Nhiệm vụ của kế hoạch " + d.Matrix.PlanNumber
	}
	return s.render(c, fiber.StatusOK, "tasks", pg)
}

type taskData struct {
	Task      *records.TaskView
	CanLink   bool
	Relations []string
	DocID     string
}

func (s *Server) taskPage(c *fiber.Ctx) error {
	return s.renderTask(c, fiber.StatusOK, "", "")
}

func (s *Server) renderTask(c *fiber.Ctx, status int, problem, docID string) error {
	a := s.actor(c)
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return archive.Errorf(archive.ErrNotFound, "not_found", "Không có nhiệm vụ này.")
	}
	t, err := s.Records.TaskOf(c.UserContext(), a, id)
	if err != nil {
		return err
	}
	pg := page{Title: "Nhiệm vụ: " + t.Title, Nav: "tasks", Problem: problem,
		D: &taskData{Task: t, CanLink: a.Can("link"), Relations: records.TaskRelations, DocID: docID}}
	if c.Query("linked") != "" {
		pg.Notice = "Đã gắn văn bản với nhiệm vụ."
	}
	return s.render(c, status, "task", pg)
}

// linkTaskDocumentPage links a document (by id, or by the address of its page)
// to a task.
func (s *Server) linkTaskDocumentPage(c *fiber.Ctx) error {
	a := s.actor(c)
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return archive.Errorf(archive.ErrNotFound, "not_found", "Không có nhiệm vụ này.")
	}
	doc := strings.TrimSpace(c.FormValue("document_id"))
	if i := strings.LastIndex(doc, "/documents/"); i >= 0 {
		doc = strings.SplitN(doc[i+len("/documents/"):], "/", 2)[0]
	}
	if _, err := s.Records.LinkTask(c.UserContext(), a, id, doc, c.FormValue("relation")); err != nil {
		if status, msg, ok := userProblem(err); ok {
			return s.renderTask(c, status, msg, doc)
		}
		if status, _, _, _ := classify(err); status == fiber.StatusNotFound {
			return s.renderTask(c, status, "Không tìm thấy văn bản có mã này.", doc)
		}
		return err
	}
	return c.Redirect("/tasks/"+c.Params("id")+"?linked=1", fiber.StatusSeeOther)
}

// taskPageRoutes registers the task pages.
func (s *Server) taskPageRoutes(in fiber.Router) {
	in.Get("/tasks", s.tasksPage)
	in.Get("/tasks/:id", s.taskPage)
	in.Post("/tasks/:id/documents", s.requireCSRF, s.linkTaskDocumentPage)
}
