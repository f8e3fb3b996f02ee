package web

import (
	"github.com/gofiber/fiber/v2"
)

// routes is the one route table.
func (s *Server) routes(app *fiber.App) {
	app.Use(s.requestContext, s.recoverPanic, s.securityHeaders, s.limitBody)

	// Operations: no token.
	app.Get("/healthz", s.healthz)
	app.Get("/readyz", s.readyz)
	app.Get("/metrics", s.metricsHandler)
	app.Get("/api/v1/openapi.json", s.openAPI)

	api := app.Group("/api/v1", s.requireToken)
	api.Post("/documents", s.uploadDocument)
	api.Get("/documents", s.listDocuments)
	api.Get("/documents/:id", s.getDocument)
	api.Patch("/documents/:id", s.editDocument)
	api.Get("/documents/:id/original", s.downloadOriginal)
	api.Get("/documents/:id/text", s.documentText)
	api.Get("/documents/:id/versions", s.documentVersions)
	api.Post("/documents/:id/versions", s.addVersion)
	api.Post("/documents/:id/extract", s.reextract)
	api.Delete("/documents/:id", s.requestDisposal)
	api.Post("/documents/:id/disposition/approve", s.approveDisposal)
	api.Get("/documents/:id/similar", s.similarDocuments)
	api.Get("/search", s.searchDocuments)
	api.Get("/audit", s.requireRole("audit"), s.auditEvents)
	api.Get("/audit/verify", s.requireRole("audit"), s.auditVerify)
	api.Get("/audit/export", s.requireRole("audit"), s.auditExport)
	s.taskRoutes(api)
	api.Use(func(c *fiber.Ctx) error {
		return fiber.NewError(fiber.StatusNotFound, "no such API endpoint: "+c.Method()+" "+c.Path())
	})

	s.pageRoutes(app)
}
