package web

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"vanthu/archive"
)

// TestHandlerPanicIsA500: a handler that panics answers its own request
// with the API's 500 and logs the stack; the server goes on serving, and
// the request is counted as answered.
func TestHandlerPanicIsA500(t *testing.T) {
	var log bytes.Buffer
	s := &Server{Log: slog.New(slog.NewTextHandler(&log, nil))}
	app := fiber.New(fiber.Config{ErrorHandler: s.renderError, DisableStartupMessage: true})
	app.Use(s.requestContext, s.recoverPanic)
	app.Get("/api/v1/boom", func(c *fiber.Ctx) error {
		var m map[string]int
		m["x"] = 1 // assignment to entry in nil map
		return nil
	})
	app.Get("/api/v1/fine", func(c *fiber.Ctx) error { return c.SendString("ok") })

	resp, err := app.Test(httptest.NewRequest("GET", "/api/v1/boom", nil), -1)
	if err != nil {
		t.Fatalf("the panicking request: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	var e apiError
	if resp.StatusCode != 500 || json.Unmarshal(body, &e) != nil || e.Error["code"] != "internal" || e.Error["message"] == "" {
		t.Fatalf("panicking handler: %d %s, want 500 with the API's internal error", resp.StatusCode, body)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id on the 500: the clerk cannot point to the log line")
	}
	for _, want := range []string{"request panicked", "assignment to entry in nil map", "middleware_test.go"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
	if resp, err := app.Test(httptest.NewRequest("GET", "/api/v1/fine", nil), -1); err != nil || resp.StatusCode != 200 {
		t.Fatalf("the next request: %v %v, want 200", resp, err)
	}
	if n := s.metrics.inflight.Load(); n != 0 {
		t.Errorf("%d requests still counted in flight", n)
	}
	if got := s.metrics.requests["/api/v1/boom|GET|500"]; got != 1 {
		t.Errorf("the panicking request counted %d times as a 500, want 1", got)
	}
}

// TestRouteTableRecoversPanics: the real route table has the recovery. A
// search on a server whose index is missing (a nil pointer in the
// handler) is a 500, and the server answers the next request.
func TestRouteTableRecoversPanics(t *testing.T) {
	e := newEnv(t)
	u := e.apiUser("vanthu1", archive.RoleClerk, archive.Unclassified)
	ix := e.srv.Index
	e.srv.Index = nil
	status, body := e.call(u, "GET", "/api/v1/search?q=k%E1%BA%BF+ho%E1%BA%A1ch", "", nil)
	e.srv.Index = ix
	if status != 500 || !strings.Contains(body, `"internal"`) {
		t.Fatalf("search with the index gone: %d %s, want the API's 500", status, body)
	}
	if status, body := e.call(u, "GET", "/api/v1/search?q=k%E1%BA%BF+ho%E1%BA%A1ch", "", nil); status != 200 {
		t.Fatalf("the next search: %d %s, want 200", status, body)
	}
}
