package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"vanthu/archive"
	"vanthu/archive/records"
)

// requestContext gives every request an id, counts it, and refuses new work
// while the server drains.
func (s *Server) requestContext(c *fiber.Ctx) error {
	rid := c.Get("X-Request-Id")
	if len(rid) == 0 || len(rid) > 64 || strings.ContainsAny(rid, "\r\n") {
		rid = newRequestID()
	}
	c.Locals("request_id", rid)
	c.Set("X-Request-Id", rid)
	if s.draining.Load() && c.Path() != "/healthz" {
		drainBody(c)
		c.Set(fiber.HeaderConnection, "close")
		return archive.Errorf(archive.ErrUnavailable, "shutting_down", "the server is shutting down; please retry in a moment")
	}
	start := time.Now()
	s.metrics.inflight.Add(1)
	err := c.Next()
	// fasthttp never reads what a handler left of a streamed request body
	// (an upload refused early, the last-chunk of a chunked body, an
	// epilogue after the closing boundary). Left on a keep-alive connection
	// it is parsed as the next request; closed with it unread, the kernel
	// resets the connection, which can destroy the response before the
	// client reads it. Drain it within bounds; past them, close.
	if !drainBody(c) {
		c.Set(fiber.HeaderConnection, "close")
	}
	s.metrics.inflight.Add(-1)
	status := c.Response().StatusCode()
	if err != nil {
		status, _, _, _ = classify(err)
	}
	s.metrics.observe(c.Route().Path, c.Method(), status, time.Since(start))
	return err
}

// recoverPanic turns a panic in a handler into a 500 for that request, with
// the stack in the log, instead of taking the whole server down: fasthttp
// does not recover handlers, and one malformed input that reaches a bug
// must not stop every clerk's work. It runs inside requestContext, so the
// request is still counted and drained.
func (s *Server) recoverPanic(c *fiber.Ctx) (err error) {
	defer func() {
		if v := recover(); v != nil {
			rid, _ := c.Locals("request_id").(string)
			s.Log.Error("request panicked", "request_id", rid, "method", c.Method(), "path", c.Path(),
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			err = fmt.Errorf("web: handler panicked: %v", v)
		}
	}()
	return c.Next()
}

// Bounds of drainBody: enough for any upload refused on a local network,
// small enough that a refused multi-gigabyte upload is not read whole.
const (
	drainMax  = 64 << 20
	drainTime = 5 * time.Second
)

// drainBody reads and drops what is left of the request body, and reports
// whether it ended within the bounds.
func drainBody(c *fiber.Ctx) bool {
	stream := c.Context().RequestBodyStream()
	if stream == nil {
		return true
	}
	if conn := c.Context().Conn(); conn != nil {
		_ = conn.SetReadDeadline(time.Now().Add(drainTime))
		defer conn.SetReadDeadline(time.Time{})
	}
	n, err := io.Copy(io.Discard, io.LimitReader(stream, drainMax+1))
	return err == nil && n <= drainMax
}

// securityHeaders sets the headers every response carries.
func (s *Server) securityHeaders(c *fiber.Ctx) error {
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Referrer-Policy", "same-origin")
	c.Set("X-Frame-Options", "DENY")
	c.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	if c.Protocol() == "https" {
		c.Set("Strict-Transport-Security", "max-age=31536000")
	}
	return c.Next()
}

// limitBody reads small bodies into memory with a hard limit. Only the upload
// endpoints read the raw stream themselves. Without this, a handler calling
// c.Body() on a streamed request would read an unbounded body into memory.
func (s *Server) limitBody(c *fiber.Ctx) error {
	if isUpload(c) {
		return c.Next()
	}
	stream := c.Context().RequestBodyStream()
	if stream == nil {
		return c.Next()
	}
	if n := c.Request().Header.ContentLength(); n > smallBodyLimit {
		c.Set(fiber.HeaderConnection, "close")
		return archive.Errorf(archive.ErrTooLarge, "too_large", "the request body is larger than %d bytes", smallBodyLimit)
	}
	b, err := io.ReadAll(io.LimitReader(stream, smallBodyLimit+1))
	if err != nil {
		return archive.Errorf(archive.ErrInvalid, "bad_body", "the request body could not be read")
	}
	if len(b) > smallBodyLimit {
		c.Set(fiber.HeaderConnection, "close")
		return archive.Errorf(archive.ErrTooLarge, "too_large", "the request body is larger than %d bytes", smallBodyLimit)
	}
	c.Request().SetBodyStream(bytes.NewReader(b), len(b))
	c.Request().SetBodyRaw(b)
	return c.Next()
}

func isUpload(c *fiber.Ctx) bool {
	if c.Method() != fiber.MethodPost {
		return false
	}
	p := c.Path()
	return p == "/api/v1/documents" || p == "/upload" ||
		(strings.HasPrefix(p, "/api/v1/documents/") && strings.HasSuffix(p, "/versions"))
}

// requireToken authenticates API calls by Bearer token.
func (s *Server) requireToken(c *fiber.Ctx) error {
	h := c.Get(fiber.HeaderAuthorization)
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || strings.TrimSpace(tok) == "" {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="vanthu"`)
		return archive.Errorf(archive.ErrUnauthorized, "unauthorized", "an API token is required: send Authorization: Bearer <token>")
	}
	u, err := s.Catalog.UserByToken(c.UserContext(), archive.TokenHash(strings.TrimSpace(tok)))
	if err != nil {
		if errors.Is(err, archive.ErrNotFound) {
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="vanthu", error="invalid_token"`)
			return archive.Errorf(archive.ErrUnauthorized, "unauthorized", "the API token is not valid (unknown, revoked, or its user was removed)")
		}
		return err
	}
	c.Locals("user", u)
	return c.Next()
}

// requireRole refuses callers whose role lacks an operation.
func (s *Server) requireRole(op string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if !s.actor(c).Can(op) {
			return archive.Errorf(archive.ErrForbidden, "forbidden", "your role may not do this")
		}
		return c.Next()
	}
}

// actor is the authenticated caller of this request.
func (s *Server) actor(c *fiber.Ctx) records.Actor {
	u, _ := c.Locals("user").(*archive.User)
	rid, _ := c.Locals("request_id").(string)
	return records.Actor{User: u, IP: c.IP(), RequestID: rid}
}
