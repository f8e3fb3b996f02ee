package web

import "github.com/gofiber/fiber/v2"

// taskRoutes registers the task and reference endpoints.
func (s *Server) taskRoutes(api fiber.Router) {}
