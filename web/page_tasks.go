package web

import (
	"github.com/gofiber/fiber/v2"
)

// taskPageRoutes registers the task pages. The tasks backend (plans, tasks,
// the reporting matrix) is not in archive/records yet; until it is, the
// pages say so instead of showing invented data.
func (s *Server) taskPageRoutes(in fiber.Router) {
	in.Get("/tasks", s.tasksPending)
	in.Get("/tasks/:id", s.tasksPending)
}

func (s *Server) tasksPending(c *fiber.Ctx) error {
	return s.render(c, fiber.StatusNotImplemented, "tasks", page{Title: "Nhiệm vụ", Nav: "tasks"})
}
