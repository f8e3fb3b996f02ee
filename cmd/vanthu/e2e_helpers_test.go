package main

// The harness of the end-to-end tests: it builds the real vanthu binary once,
// runs `vanthu serve` and the CLI as separate processes, and talks to them
// over HTTP only. Nothing here is mocked: the fs mode uses the data
// directory, the s3 mode a real S3 server (versitygw) named by the
// VANTHU_TEST_S3_* variables.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	_ "modernc.org/sqlite"

	"vanthu/archive/archivetest"
)

const (
	testPassword = "mat-khau-e2e-2026"
	// startTimeout bounds a server start (the S3 store retries for up to a
	// minute when its server is not reachable).
	startTimeout = 90 * time.Second
	cliTimeout   = 60 * time.Second
	corpusDir    = "../../../shared/corpus"
)

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// vanthuBin builds the binary once per test run (no -race: the binary is
// the product under test, the test process is what the race detector
// watches).
func vanthuBin(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		start := time.Now()
		binDir, buildErr = os.MkdirTemp("", "vanthu-e2e-bin-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "vanthu")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build -o %s .: %v\n%s", binPath, err, out)
			return
		}
		fmt.Fprintf(os.Stderr, "e2e: built %s in %v\n", binPath, time.Since(start).Round(time.Millisecond))
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// childEnv is the test's environment without any VANTHU_ setting the
// developer may have exported (the test variables excepted), plus extra.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "VANTHU_") && !strings.HasPrefix(kv, "VANTHU_TEST_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// ---------------------------------------------------------------------------
// Storage modes.

// storage is one of the two ways the binary keeps originals.
type storage struct {
	name   string
	env    []string // VANTHU_S3_* for the s3 mode
	client *minio.Client
	bucket string
}

func fsStorage() *storage { return &storage{name: "fs"} }

// s3Storage names a fresh bucket on the S3 server at endpoint; the bucket is
// emptied and removed when the test ends (best effort).
func s3Storage(t *testing.T, endpoint, access, secret string) *storage {
	t.Helper()
	bucket := archivetest.UniqueBucket(t)
	cl, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(access, secret, "")})
	if err != nil {
		t.Fatalf("minio.New(%s): %v", endpoint, err)
	}
	st := &storage{name: "s3", client: cl, bucket: bucket, env: []string{
		"VANTHU_S3_ENDPOINT=" + endpoint, "VANTHU_S3_BUCKET=" + bucket,
		"VANTHU_S3_ACCESS_KEY=" + access, "VANTHU_S3_SECRET_KEY=" + secret,
	}}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		objs := cl.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true, WithVersions: true})
		for e := range cl.RemoveObjects(ctx, bucket, objs, minio.RemoveObjectsOptions{GovernanceBypass: true}) {
			_ = e
		}
		_ = cl.RemoveBucket(ctx, bucket)
	})
	return st
}

// sharedS3 is the S3 server of the test run (.ci/test.sh starts it).
func sharedS3(t *testing.T) *storage {
	t.Helper()
	endpoint, access, secret := archivetest.S3FromEnv(t)
	return s3Storage(t, endpoint, access, secret)
}

// bothStorages runs fn as subtests "fs" and "s3".
func bothStorages(t *testing.T, parallel bool, fn func(t *testing.T, st *storage)) {
	t.Run("fs", func(t *testing.T) {
		if parallel {
			t.Parallel()
		}
		fn(t, fsStorage())
	})
	t.Run("s3", func(t *testing.T) {
		if parallel {
			t.Parallel()
		}
		fn(t, sharedS3(t))
	})
}

// keys lists every object key the store holds under prefix, including
// staged uploads; in fs mode the store's own .tmp directory is not a key.
func (st *storage) keys(t *testing.T, data, prefix string) []string {
	t.Helper()
	var out []string
	if st.client == nil {
		root := filepath.Join(data, "objects")
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			rel, _ := filepath.Rel(root, p)
			rel = filepath.ToSlash(rel)
			if d.IsDir() {
				if rel == ".tmp" {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasPrefix(rel, prefix) {
				out = append(out, rel)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("walking %s: %v", root, err)
		}
		return out
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for o := range st.client.ListObjects(ctx, st.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("listing bucket %s: %v", st.bucket, o.Err)
		}
		out = append(out, o.Key)
	}
	sort.Strings(out)
	return out
}

// exists reports whether the store holds key.
func (st *storage) exists(t *testing.T, data, key string) bool {
	t.Helper()
	if st.client == nil {
		fi, err := os.Stat(filepath.Join(data, "objects", filepath.FromSlash(key)))
		return err == nil && fi.Mode().IsRegular()
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, err := st.client.StatObject(ctx, st.bucket, key, minio.StatObjectOptions{})
	if err != nil && minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Fatalf("stat %s in bucket %s: %v", key, st.bucket, err)
	}
	return err == nil
}

// leftovers lists temp files: the data directory's tmp/ (extraction), the
// fs store's objects/.tmp, and in s3 mode incomplete multipart uploads.
func (st *storage) leftovers(t *testing.T, data string) []string {
	t.Helper()
	var out []string
	for _, dir := range []string{filepath.Join(data, "tmp"), filepath.Join(data, "objects", ".tmp")} {
		es, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("reading %s: %v", dir, err)
		}
		for _, e := range es {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	if st.client != nil {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		for u := range st.client.ListIncompleteUploads(ctx, st.bucket, "", true) {
			if u.Err != nil {
				t.Fatalf("listing incomplete uploads in %s: %v", st.bucket, u.Err)
			}
			out = append(out, "multipart upload of "+u.Key)
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// The server process.

type server struct {
	t      *testing.T
	cmd    *exec.Cmd
	pid    int
	url    string
	data   string
	logf   string
	client *http.Client
	done   chan struct{} // closed when the process has exited
	mu     sync.Mutex
	exit   error
}

// startServer runs `vanthu serve --addr 127.0.0.1:0 --data data` with env and
// waits for its listening line. It is stopped (SIGTERM, then SIGKILL) when
// the test ends.
func startServer(t *testing.T, data string, env ...string) *server {
	t.Helper()
	bin := vanthuBin(t)
	logFile, err := os.CreateTemp(filepath.Dir(data), "serve-*.log")
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", data)
	cmd.Env = childEnv(env...)
	cmd.Stdout, cmd.Stderr = pw, logFile
	// Its own process group, so the extraction children can be ended with
	// it and never outlive the test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		t.Fatalf("starting %s serve: %v", bin, err)
	}
	pw.Close()
	s := &server{t: t, cmd: cmd, pid: cmd.Process.Pid, data: data, logf: logFile.Name(), done: make(chan struct{}),
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}
	go func() {
		err := cmd.Wait()
		s.mu.Lock()
		s.exit = err
		s.mu.Unlock()
		close(s.done)
	}()
	t.Cleanup(s.stop)

	line := make(chan string, 1)
	go func() {
		defer pr.Close()
		sc := bufio.NewScanner(pr)
		sent := false
		for sc.Scan() {
			if !sent && strings.HasPrefix(sc.Text(), "vanthu listening on ") {
				line <- sc.Text()
				sent = true
			}
		}
	}()
	re := regexp.MustCompile(`^vanthu listening on (http://\S+) \(data (.*)\)$`)
	select {
	case l := <-line:
		m := re.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("serve printed %q, want \"vanthu listening on http://ADDR (data DIR)\"", l)
		}
		if m[2] != data {
			t.Errorf("listening line names data %q, want %q", m[2], data)
		}
		s.url = m[1]
	case <-s.done:
		t.Fatalf("vanthu serve exited before listening (%v); log:\n%s", s.exitErr(), s.log())
	case <-time.After(startTimeout):
		t.Fatalf("vanthu serve printed no listening line within %v; log:\n%s", startTimeout, s.log())
	}
	t.Logf("server pid %d listening on %s after %v (data %s)", s.pid, s.url, time.Since(start).Round(time.Millisecond), data)
	return s
}

func (s *server) exitErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exit
}

func (s *server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// log is the server's stderr so far (its last 8 KiB).
func (s *server) log() string {
	b, _ := os.ReadFile(s.logf)
	if len(b) > 8<<10 {
		b = b[len(b)-8<<10:]
	}
	return string(b)
}

// stop ends the server gracefully (SIGTERM, 30 s), then by force, and ends
// whatever is left of its process group.
func (s *server) stop() {
	defer s.client.CloseIdleConnections()
	if !s.exited() {
		_ = syscall.Kill(s.pid, syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			s.t.Errorf("vanthu serve (pid %d) did not stop within 30s of SIGTERM; killing it", s.pid)
			_ = syscall.Kill(s.pid, syscall.SIGKILL)
			<-s.done
		}
	}
	_ = syscall.Kill(-s.pid, syscall.SIGKILL) // extraction children, if any
}

// kill9 ends the server with SIGKILL, as a crash would, then its children.
func (s *server) kill9() {
	_ = syscall.Kill(s.pid, syscall.SIGKILL)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.t.Fatalf("vanthu serve (pid %d) still running 10s after SIGKILL", s.pid)
	}
	_ = syscall.Kill(-s.pid, syscall.SIGKILL)
	s.client.CloseIdleConnections()
}

// vmHWM is the server's peak resident set size, from /proc/PID/status.
func (s *server) vmHWM(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.pid))
	if err != nil {
		t.Fatalf("reading the server's /proc status: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			f := strings.Fields(v)
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil || len(f) != 2 || f[1] != "kB" {
				t.Fatalf("unexpected VmHWM line %q", l)
			}
			return n << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", s.pid)
	return 0
}

// ---------------------------------------------------------------------------
// The CLI.

type cliResult struct {
	stdout, stderr string
	code           int
}

// cli runs the binary with args and env, bounded in time.
func cli(t *testing.T, env []string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, vanthuBin(t), args...)
	cmd.Env = childEnv(env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := cliResult{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("vanthu %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("vanthu %s did not finish within %v", strings.Join(args, " "), cliTimeout)
	}
	return r
}

// mustCLI runs a command that must succeed.
func mustCLI(t *testing.T, env []string, args ...string) string {
	t.Helper()
	r := cli(t, env, args...)
	if r.code != 0 {
		t.Fatalf("vanthu %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// addUser creates a user with the CLI and returns a fresh API token.
func addUser(t *testing.T, data, name, role string, env ...string) string {
	t.Helper()
	env = append(env, "VANTHU_PASSWORD="+testPassword)
	mustCLI(t, env, "user", "add", name, "--role", role, "--data", data)
	tok := mustCLI(t, env, "token", "create", name, "--data", data)
	if strings.Count(tok, "\n") != 1 || strings.TrimSpace(tok) == "" {
		t.Fatalf("token create printed %q, want one line", tok)
	}
	return strings.TrimSpace(tok)
}

// ---------------------------------------------------------------------------
// HTTP.

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) String() string {
	b := r.body
	if len(b) > 500 {
		b = b[:500]
	}
	return fmt.Sprintf("%d %s", r.status, b)
}

// request sends one request; it returns an error instead of failing so that
// goroutines and tests that expect broken connections can use it.
func (s *server) request(ctx context.Context, method, path, token string, body io.Reader, hdr map[string]string) (response, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.url+path, body)
	if err != nil {
		return response{}, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if rd, ok := body.(*bytes.Reader); ok {
		req.ContentLength = int64(rd.Len())
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: reading the %d response: %w", method, path, resp.StatusCode, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// call is request with a 60 s bound that fails the test on transport errors.
func (s *server) call(t *testing.T, method, path, token string, body io.Reader, hdr map[string]string) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	r, err := s.request(ctx, method, path, token, body, hdr)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// multipartBody builds an upload: the file part, then the fields.
func multipartBody(filename string, data []byte, fields map[string]string) (string, []byte) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename="%s"`, strings.ReplaceAll(filename, `"`, "_")))
	h.Set("Content-Type", "application/octet-stream")
	w, _ := mw.CreatePart(h)
	w.Write(data)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		mw.WriteField(k, fields[k])
	}
	mw.Close()
	return mw.FormDataContentType(), b.Bytes()
}

// upload posts one file as multipart/form-data.
func (s *server) upload(ctx context.Context, token, filename string, data []byte, fields map[string]string) (response, error) {
	ct, body := multipartBody(filename, data, fields)
	return s.request(ctx, http.MethodPost, "/api/v1/documents", token, bytes.NewReader(body), map[string]string{"Content-Type": ct})
}

// mustUpload uploads and requires 201.
func (s *server) mustUpload(t *testing.T, token, filename string, data []byte, fields map[string]string) document {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	r, err := s.upload(ctx, token, filename, data, fields)
	if err != nil {
		t.Fatalf("upload %s: %v", filename, err)
	}
	if r.status != http.StatusCreated {
		t.Fatalf("upload %s: %v, want 201", filename, r)
	}
	return decodeDoc(t, r.body)
}

type document struct {
	ID          string   `json:"id"`
	SHA256      string   `json:"sha256"`
	Size        int64    `json:"size"`
	ContentType string   `json:"content_type"`
	Filename    string   `json:"filename"`
	TextStatus  string   `json:"text_status"`
	Subject     string   `json:"subject"`
	Extracted   []string `json:"extracted"`
}

func decodeDoc(t *testing.T, b []byte) document {
	t.Helper()
	var d document
	if err := json.Unmarshal(b, &d); err != nil || d.ID == "" {
		t.Fatalf("document body %q: %v", b, err)
	}
	return d
}

// apiErr checks the error shape {"error":{"code":…,"message":…}} and
// returns the code and message.
func apiErr(t *testing.T, r response) (code, msg string) {
	t.Helper()
	var e struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error == nil {
		t.Fatalf("error body %q is not {\"error\":{\"code\",\"message\"}}: %v", r.body, err)
	}
	if e.Error.Code == "" || e.Error.Message == "" || !regexp.MustCompile(`^[a-z][a-z0-9_]*$`).MatchString(e.Error.Code) {
		t.Errorf("error body %s: want a snake_case code and a message", r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("error Content-Type %q, want application/json", ct)
	}
	return e.Error.Code, e.Error.Message
}

// listDocs lists every document the token may see, following next.
func (s *server) listDocs(t *testing.T, token string) []document {
	t.Helper()
	var out []document
	after := ""
	for range 10000 {
		r := s.call(t, http.MethodGet, "/api/v1/documents?size=200&after="+after, token, nil, nil)
		if r.status != http.StatusOK {
			t.Fatalf("GET /api/v1/documents: %v", r)
		}
		var page struct {
			Items []document `json:"items"`
			Next  *string    `json:"next"`
		}
		if err := json.Unmarshal(r.body, &page); err != nil {
			t.Fatalf("GET /api/v1/documents body %q: %v", r.body, err)
		}
		out = append(out, page.Items...)
		if page.Next == nil || *page.Next == "" {
			return out
		}
		after = *page.Next
	}
	t.Fatal("GET /api/v1/documents: pagination does not end")
	return nil
}

// original downloads a document's original and returns its SHA-256.
func (s *server) original(ctx context.Context, token, id string) (response, string, error) {
	r, err := s.request(ctx, http.MethodGet, "/api/v1/documents/"+id+"/original", token, nil, nil)
	if err != nil {
		return r, "", err
	}
	return r, sha(r.body), nil
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// freePort returns a port nobody listens on right now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// catalogKeys reads versions.key from the catalog, read-only, with
// database/sql and the same SQLite driver the service uses.
func catalogKeys(t *testing.T, data string) (docs int, keys map[string]string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "catalog.db")+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM documents").Scan(&docs); err != nil {
		t.Fatalf("catalog: counting documents: %v", err)
	}
	rows, err := db.QueryContext(ctx, "SELECT key, sha256 FROM versions")
	if err != nil {
		t.Fatalf("catalog: reading versions: %v", err)
	}
	defer rows.Close()
	keys = map[string]string{}
	for rows.Next() {
		var k, h string
		if err := rows.Scan(&k, &h); err != nil {
			t.Fatal(err)
		}
		keys[k] = h
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return docs, keys
}

// corpusFiles lists the PDF and DOCX corpus, skipping when it is absent.
func corpusFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, sub := range []string{"pdf", "docx"} {
		m, err := filepath.Glob(filepath.Join(corpusDir, sub, "*."+sub))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Skipf("no corpus under %s (pdf/*.pdf, docx/*.docx): the corpus tests need /work/shared/corpus", corpusDir)
	}
	sort.Strings(files)
	return files
}

// fakePDF is n bytes: a PDF header and deterministic noise; the type sniffer
// takes it for a PDF.
func fakePDF(seed byte, n int) []byte {
	b := make([]byte, n)
	copy(b, "%PDF-1.7\n")
	x := uint64(seed)*0x9E3779B97F4A7C15 + 1
	for i := 9; i < n; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	return b
}

// execCombined runs a tool other than vanthu (sqlite3) and returns its output.
func execCombined(ctx context.Context, name string, args ...string) ([]byte, error) {
	return exec.CommandContext(ctx, name, args...).CombinedOutput()
}
