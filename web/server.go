// Package web is vanthu's HTTP face: the JSON API under /api/v1, the
// server-rendered pages, and the operational endpoints. Handlers parse the
// request, make one call into the archive service or the search index, and
// render; every error goes through one renderer (errors.go).
package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"

	"vanthu/archive/records"
	"vanthu/archive/sqlite"
	"vanthu/search"
)

// Server serves the API and pages.
type Server struct {
	Records *records.Service
	Catalog *sqlite.Catalog
	Index   *search.Index
	Log     *slog.Logger
	// Ready reports whether the search index is usable (false while it is
	// rebuilt at start); nil means always ready.
	IndexReady func() bool
	// Ping checks the blob store for /readyz.
	StoragePing func(ctx context.Context) error
	// Now is the clock of web sessions and login backoff; nil is time.Now.
	Now func() time.Time

	pages    *pages // templates and static files of the pages (pages.go)
	app      *fiber.App
	metrics  metrics
	draining atomic.Bool
}

// Body limit for everything but uploads (JSON, forms, queries).
const smallBodyLimit = 1 << 20

// New builds the Fiber app and its routes.
func (s *Server) New() *fiber.App {
	if s.Log == nil {
		s.Log = slog.Default()
	}
	s.app = fiber.New(fiber.Config{
		// Uploads stream: with both settings fasthttp hands the handler the
		// body as a reader after 8 KiB, instead of buffering or spooling it.
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		BodyLimit:                    smallBodyLimit,
		ReadBufferSize:               16 << 10, // long query strings and cookies
		ReadTimeout:                  0,        // uploads may take minutes; idle connections are cut below
		IdleTimeout:                  2 * time.Minute,
		WriteTimeout:                 0,
		ErrorHandler:                 s.renderError,
		DisableStartupMessage:        true,
		AppName:                      "vanthu",
	})
	s.routes(s.app)
	return s.app
}

// Serve serves on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.app.Listener(ln) }

// Shutdown stops accepting requests, answers new ones with 503, and waits for
// in-flight ones until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	return s.app.ShutdownWithContext(ctx)
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
