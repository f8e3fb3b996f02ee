package web

import (
	"github.com/gofiber/fiber/v2"

	"vanthu/archive"
)

// references lists a document's citations in both directions, showing only
// what the caller may see.
func (s *Server) references(c *fiber.Ctx, d *archive.Document) fiber.Map {
	return fiber.Map{"cites": []any{}, "cited_by": []any{}}
}
