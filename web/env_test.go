package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/crypto/argon2"

	"vanthu/archive"
	"vanthu/archive/fsstore"
	"vanthu/archive/records"
	"vanthu/archive/sqlite"
	"vanthu/ingest"
	"vanthu/search"
)

// testEnv is the real object graph of `vanthu serve` (filesystem store,
// SQLite catalog, Bleve index, extraction workers in-process) around a
// web.Server, with a clock the tests can move.
type testEnv struct {
	t     *testing.T
	dir   string
	srv   *Server
	app   *fiber.App
	cat   *sqlite.Catalog
	svc   *records.Service
	ix    *search.Index
	clock *testClock
	base  string // http://127.0.0.1:port once listen was called
}

type testClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

func newEnv(t *testing.T) *testEnv {
	t.Helper()
	dir := t.TempDir()
	store, err := fsstore.New(filepath.Join(dir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cat, err := sqlite.Open(filepath.Join(dir, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	ix, err := search.Open(filepath.Join(dir, "index"))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	svc := &records.Service{Blobs: store, Catalog: cat, Log: log, MaxUpload: 64 << 20,
		MaxClassification: archive.Mat, ExtractWait: 15 * time.Second}
	tmp := filepath.Join(dir, "tmp")
	if err := os.MkdirAll(tmp, 0o750); err != nil {
		t.Fatal(err)
	}
	tools := ingest.LookupTools()
	tools.Tesseract, tools.PDFToPPM = "", "" // no OCR lane: the corpus files used here have text layers
	workers := &records.Workers{S: svc, TempDir: tmp, Index: ix,
		Extractor: &ingest.Extractor{Tools: tools, OCRMaxPages: -1}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); workers.Run(ctx) }()
	clock := &testClock{}
	srv := &Server{Records: svc, Catalog: cat, Index: ix, Log: log, Now: clock.Now}
	e := &testEnv{t: t, dir: dir, srv: srv, app: srv.New(), cat: cat, svc: svc, ix: ix, clock: clock}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = srv.Shutdown(sctx)
		scancel()
		cancel()
		<-done
		ix.Close()
		cat.Close()
	})
	return e
}

// listen serves the app on 127.0.0.1:0 for a browser.
func (e *testEnv) listen() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	go func() { _ = e.srv.Serve(ln) }()
	e.base = "http://" + ln.Addr().String()
	return e.base
}

// cheapHash is an argon2id hash in the format archive.CheckPassword reads,
// with small parameters so that tests under -race stay fast; the server
// code path is the same as for production hashes.
func cheapHash(password string) string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, 1, 1024, 1, 32)
	b := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=1024,t=1,p=1$%s$%s", argon2.Version, b.EncodeToString(salt), b.EncodeToString(key))
}

const testPassword = "mật-khẩu đủ dài 2026"

func (e *testEnv) addUser(name string, role archive.Role, cl archive.Classification) *archive.User {
	e.t.Helper()
	u := &archive.User{Name: name, Role: role, Clearance: cl}
	if err := e.cat.Update(context.Background(), func(tx *sqlite.Tx) error { return tx.CreateUser(context.Background(), u, cheapHash(testPassword)) }); err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *testEnv) setClearance(u *archive.User, cl archive.Classification) {
	e.t.Helper()
	if err := e.cat.Update(context.Background(), func(tx *sqlite.Tx) error { return tx.SetClearance(context.Background(), u.ID, "", cl) }); err != nil {
		e.t.Fatal(err)
	}
}

// upload registers a file through the records service, as a clerk would.
func (e *testEnv) upload(u *archive.User, filename string, body []byte, fields map[string]string) *archive.Document {
	e.t.Helper()
	ctx := context.Background()
	st, err := e.svc.Stage(ctx, filename, strings.NewReader(string(body)))
	if err != nil {
		e.t.Fatal(err)
	}
	d, err := e.svc.Register(ctx, records.Actor{User: u, IP: "127.0.0.1"}, st, fields)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// waitIndexed waits until a search as clearance cl finds document id.
func (e *testEnv) waitIndexed(id string, cl archive.Classification, q string) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		res, err := e.ix.Search(context.Background(), search.Request{Q: q, Clearance: cl, Size: 100})
		if err == nil {
			for _, h := range res.Hits {
				if h.ID == id {
					return
				}
			}
		}
		e.svc.Wake()
		time.Sleep(100 * time.Millisecond)
	}
	e.t.Fatalf("document %s not searchable for %q within 30s", id, q)
}

// A tiny HTTP client over app.Test, with a cookie jar of one session.

type client struct {
	e       *testEnv
	cookies map[string]string
	https   bool
}

func (e *testEnv) client() *client { return &client{e: e, cookies: map[string]string{}} }

func (c *client) do(method, path string, body io.Reader, ctype string, hdr ...string) *http.Response {
	c.e.t.Helper()
	req, _ := http.NewRequest(method, path, body)
	req.Header.Set("Accept", "text/html")
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c.https {
		req.Header.Set("X-Forwarded-Proto", "https")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	var jar []string
	for k, v := range c.cookies {
		jar = append(jar, k+"="+v)
	}
	if len(jar) > 0 {
		req.Header.Set("Cookie", strings.Join(jar, "; "))
	}
	resp, err := c.e.app.Test(req, -1)
	if err != nil {
		c.e.t.Fatal(err)
	}
	for _, ck := range resp.Cookies() {
		if ck.MaxAge < 0 || ck.Value == "" {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck.Value
		}
	}
	return resp
}

func (c *client) get(path string) (*http.Response, string) {
	c.e.t.Helper()
	resp := c.do("GET", path, nil, "")
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (c *client) post(path string, form url.Values) (*http.Response, string) {
	c.e.t.Helper()
	resp := c.do("POST", path, strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(html string) string {
	m := csrfField.FindStringSubmatch(html)
	if m == nil {
		return ""
	}
	return m[1]
}

// login signs in through the form and returns the response and its body.
func (c *client) login(name, password string) (*http.Response, string) {
	c.e.t.Helper()
	_, page := c.get("/login")
	return c.post("/login", url.Values{"csrf": {csrfOf(page)}, "name": {name}, "password": {password}})
}
