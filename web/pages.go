package web

import (
	"html/template"

	"github.com/gofiber/fiber/v2"
)

var errorTmpl = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Lỗi {{.Status}} · vanthu</title></head>
<body><main><h1>Không thực hiện được yêu cầu</h1><p>{{.Message}}</p><p><a href="/">Về trang tìm kiếm</a></p></main></body></html>`))

// errorPage renders an error for a person using the pages.
func (s *Server) errorPage(c *fiber.Ctx, status int, msg string) error {
	c.Status(status)
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return errorTmpl.Execute(c.Response().BodyWriter(), map[string]any{"Status": status, "Message": msg})
}

// pageRoutes registers the server-rendered pages.
func (s *Server) pageRoutes(app *fiber.App) {}
