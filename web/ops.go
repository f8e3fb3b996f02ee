package web

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "embed"

	"github.com/gofiber/fiber/v2"

	"vanthu/archive/sqlite"
)

func (s *Server) healthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

// readyz reports whether the catalog, the storage and the index answer.
func (s *Server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 5*time.Second)
	defer cancel()
	checks := fiber.Map{}
	ok := true
	if err := s.Catalog.Ping(ctx); err != nil {
		checks["catalog"], ok = err.Error(), false
	} else {
		checks["catalog"] = "ok"
	}
	if s.StoragePing != nil {
		if err := s.StoragePing(ctx); err != nil {
			checks["storage"], ok = err.Error(), false
		} else {
			checks["storage"] = "ok"
		}
	}
	if s.IndexReady != nil && !s.IndexReady() {
		checks["index"], ok = "rebuilding", false
	} else {
		checks["index"] = "ok"
	}
	status := fiber.StatusOK
	if !ok {
		status = fiber.StatusServiceUnavailable
	}
	return c.Status(status).JSON(fiber.Map{"ready": ok, "checks": checks})
}

// metrics are a few counters in the Prometheus text format; a client
// library would be more code than the handful of series we expose.
type metrics struct {
	inflight atomic.Int64
	mu       sync.Mutex
	requests map[string]uint64  // route|method|status → count
	seconds  map[string]float64 // route|method → total seconds
}

func (m *metrics) observe(route, method string, status int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.requests == nil {
		m.requests, m.seconds = map[string]uint64{}, map[string]float64{}
	}
	m.requests[fmt.Sprintf("%s|%s|%d", route, method, status)]++
	m.seconds[route+"|"+method] += d.Seconds()
}

func (s *Server) metricsHandler(c *fiber.Ctx) error {
	var b strings.Builder
	b.WriteString("# HELP vanthu_http_requests_total HTTP requests by route, method and status.\n# TYPE vanthu_http_requests_total counter\n")
	s.metrics.mu.Lock()
	keys := make([]string, 0, len(s.metrics.requests))
	for k := range s.metrics.requests {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := strings.Split(k, "|")
		fmt.Fprintf(&b, "vanthu_http_requests_total{route=%q,method=%q,status=%q} %d\n", p[0], p[1], p[2], s.metrics.requests[k])
	}
	b.WriteString("# HELP vanthu_http_request_seconds_total Time spent serving requests.\n# TYPE vanthu_http_request_seconds_total counter\n")
	keys = keys[:0]
	for k := range s.metrics.seconds {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := strings.Split(k, "|")
		fmt.Fprintf(&b, "vanthu_http_request_seconds_total{route=%q,method=%q} %g\n", p[0], p[1], s.metrics.seconds[k])
	}
	s.metrics.mu.Unlock()
	fmt.Fprintf(&b, "# TYPE vanthu_http_inflight_requests gauge\nvanthu_http_inflight_requests %d\n", s.metrics.inflight.Load())
	ctx := c.UserContext()
	if n, err := s.Catalog.CountDocuments(ctx); err == nil {
		fmt.Fprintf(&b, "# TYPE vanthu_documents gauge\nvanthu_documents %d\n", n)
	}
	b.WriteString("# TYPE vanthu_queue_jobs gauge\n")
	for _, k := range []string{sqlite.JobExtract, sqlite.JobIndex, sqlite.JobManifest} {
		if n, err := s.Catalog.CountJobs(ctx, k); err == nil {
			fmt.Fprintf(&b, "vanthu_queue_jobs{kind=%q} %d\n", k, n)
		}
	}
	if s.Index != nil {
		unsaved := 0
		if s.Index.SaveError() != nil {
			unsaved = 1
		}
		fmt.Fprintf(&b, "# HELP vanthu_index_unsaved 1 while the search index holds changes the disk refused (searchable, retried; the log says why).\n# TYPE vanthu_index_unsaved gauge\nvanthu_index_unsaved %d\n", unsaved)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(&b, "# TYPE go_goroutines gauge\ngo_goroutines %d\n# TYPE go_memstats_heap_inuse_bytes gauge\ngo_memstats_heap_inuse_bytes %d\n", runtime.NumGoroutine(), ms.HeapInuse)
	c.Set(fiber.HeaderContentType, "text/plain; version=0.0.4; charset=utf-8")
	return c.SendString(b.String())
}

//go:embed openapi.json
var openAPIDoc []byte

func (s *Server) openAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(openAPIDoc)
}
