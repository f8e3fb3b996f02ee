package web

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"vanthu/archive"
)

// statusOf maps error kinds to HTTP statuses: the one table for the API.
var statusOf = []struct {
	kind   error
	status int
	code   string
}{
	{archive.ErrNotFound, fiber.StatusNotFound, "not_found"},
	{archive.ErrUnauthorized, fiber.StatusUnauthorized, "unauthorized"},
	{archive.ErrForbidden, fiber.StatusForbidden, "forbidden"},
	{archive.ErrConflict, fiber.StatusConflict, "conflict"},
	{archive.ErrTooLarge, fiber.StatusRequestEntityTooLarge, "too_large"},
	{archive.ErrUnsupported, fiber.StatusUnsupportedMediaType, "unsupported_type"},
	{archive.ErrUnprocessable, fiber.StatusUnprocessableEntity, "unprocessable"},
	{archive.ErrGone, fiber.StatusGone, "gone"},
	{archive.ErrInvalid, fiber.StatusBadRequest, "bad_request"},
	{archive.ErrNoSpace, fiber.StatusInsufficientStorage, "insufficient_storage"},
	{archive.ErrUnavailable, fiber.StatusServiceUnavailable, "unavailable"},
}

// apiError is the body of every API error: {"error": {"code", "message"}}.
type apiError struct {
	Error map[string]any `json:"error"`
}

// classify returns status, code, a safe message and extra fields for err.
func classify(err error) (int, string, string, map[string]any) {
	var fe *fiber.Error
	if errors.As(err, &fe) {
		code := strings.ToLower(strings.ReplaceAll(fiberStatusText(fe.Code), " ", "_"))
		return fe.Code, code, fe.Message, nil
	}
	var ae *archive.Error
	for _, m := range statusOf {
		if errors.Is(err, m.kind) {
			if errors.As(err, &ae) {
				code := ae.Code
				if code == "" {
					code = m.code
				}
				return m.status, code, ae.Message, ae.Extra
			}
			return m.status, m.code, sentence(m.kind.Error()), nil
		}
	}
	return fiber.StatusInternalServerError, "internal", "something went wrong on our side; the request id identifies it in the logs", nil
}

func sentence(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func fiberStatusText(code int) string {
	switch code {
	case 404:
		return "not found"
	case 405:
		return "method not allowed"
	case 413:
		return "too large"
	case 431:
		return "headers too large"
	}
	return "error"
}

// renderError is the one error renderer. Internal errors are logged with the
// request id; users see a safe sentence. Page requests get an HTML page.
func (s *Server) renderError(c *fiber.Ctx, err error) error {
	status, code, msg, extra := classify(err)
	rid, _ := c.Locals("request_id").(string)
	switch {
	case status == fiber.StatusServiceUnavailable || status == fiber.StatusInsufficientStorage:
		// Expected while storage is down or the index rebuilds: not a bug.
		s.Log.Warn("request refused", "request_id", rid, "method", c.Method(), "path", c.Path(), "status", status, "err", err)
	case status >= 500:
		s.Log.Error("request failed", "request_id", rid, "method", c.Method(), "path", c.Path(), "status", status, "err", err)
	}
	if status == fiber.StatusServiceUnavailable {
		c.Set("Retry-After", "5")
	}
	if !isAPI(c) && wantsHTML(c) {
		return s.errorPage(c, status, msg)
	}
	body := map[string]any{"code": code, "message": msg}
	for k, v := range extra {
		body[k] = v
	}
	// The request id travels in the X-Request-Id header only: a body that
	// differs per request would let a caller tell an invisible document's
	// 404 from a missing one's by anything but the header.
	return c.Status(status).JSON(apiError{Error: body})
}

func isAPI(c *fiber.Ctx) bool { return strings.HasPrefix(c.Path(), "/api/") }

func wantsHTML(c *fiber.Ctx) bool {
	return strings.Contains(c.Get(fiber.HeaderAccept), "text/html")
}
