package s3

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"vanthu/archive"
	"vanthu/archive/archivetest"
)

// failWithin is how long any call may take to report a dead or frozen
// server; the store aims at about 20 s (transport.go).
const failWithin = 30 * time.Second

// TestServerKilled: with the server gone every call fails fast with
// ErrUnavailable, and when it is back on the same port the same Store works
// without being rebuilt.
func TestServerKilled(t *testing.T) {
	srv := startServer(t)
	s := srv.store(t)
	ctx := t.Context()
	const kept = "manifests/kept.json"
	if err := s.Put(ctx, kept, strings.NewReader("{}"), 2); err != nil {
		t.Fatalf("Put(%q) = %v", kept, err)
	}
	srv.kill()

	for _, op := range operations(s) {
		start := time.Now()
		err := op.fn(ctx)
		elapsed := time.Since(start)
		t.Logf("server killed: %s failed after %v: %v", op.name, elapsed.Round(time.Millisecond), err)
		if !errors.Is(err, archive.ErrUnavailable) {
			t.Errorf("server killed: %s = %v, want %v", op.name, err, archive.ErrUnavailable)
		}
		if elapsed > failWithin {
			t.Errorf("server killed: %s took %v to fail, want under %v", op.name, elapsed, failWithin)
		}
	}

	srv.start()
	roundTrip(t, s, "after restart")
	if _, err := s.Stat(ctx, kept); err != nil {
		t.Errorf("after restart: Stat(%q) = %v, want nil", kept, err)
	}
}

// TestServerFrozen: a stopped server process still accepts TCP connections
// (the kernel does) but answers nothing. An upload and a download in
// flight, and new calls, must fail instead of hanging forever; after
// SIGCONT the same Store works.
func TestServerFrozen(t *testing.T) {
	srv := startServer(t)
	s := srv.store(t)
	ctx := t.Context()

	const downloaded, size = "originals/download", archivetest.LargeSize
	if err := s.Put(ctx, downloaded, archivetest.Generate(1, size), size); err != nil {
		t.Fatalf("Put(%q) = %v", downloaded, err)
	}
	rc, _, err := s.Get(ctx, downloaded)
	if err != nil {
		t.Fatalf("Get(%q) = %v", downloaded, err)
	}
	defer rc.Close()
	if _, err := io.CopyN(io.Discard, rc, 1<<20); err != nil {
		t.Fatalf("reading %q: %v", downloaded, err)
	}

	// Freeze the server once the upload is well into its second part.
	const uploaded = "originals/upload"
	midway := make(chan struct{})
	body := &onRead{r: archivetest.Generate(2, 1<<40), after: 24 << 20, fn: func() { close(midway) }}
	type result struct{ err error }
	put := make(chan result, 1)
	go func() { put <- result{s.Put(ctx, uploaded, body, -1)} }()
	select {
	case <-midway:
	case r := <-put:
		t.Fatalf("Put(%q) returned before the server was frozen: %v", uploaded, r.err)
	case <-time.After(time.Minute):
		t.Fatalf("Put(%q) did not read 24 MiB within a minute", uploaded)
	}
	srv.signal(syscall.SIGSTOP)
	frozen := time.Now()

	// Everything runs at once, so the test takes one timeout, not five.
	type outcome struct {
		name string
		err  error
		took time.Duration
	}
	outcomes := make(chan outcome, 8)
	var wg sync.WaitGroup
	check := func(name string, fn func() error) {
		wg.Go(func() {
			err := fn()
			outcomes <- outcome{name, err, time.Since(frozen)}
		})
	}
	check("upload in flight", func() error { return (<-put).err })
	check("download in flight", func() error { _, err := io.Copy(io.Discard, rc); return err })
	for _, op := range operations(s)[:3] {
		check(op.name, func() error { return op.fn(ctx) })
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(outcomes); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * failWithin):
		t.Fatalf("server frozen: calls still blocked %v after SIGSTOP", 2*failWithin)
	}
	for o := range outcomes {
		t.Logf("server frozen: %s failed after %v: %v", o.name, o.took.Round(time.Millisecond), o.err)
		if !errors.Is(o.err, archive.ErrUnavailable) || o.took > failWithin {
			t.Errorf("server frozen: %s = %v after %v, want %v within %v", o.name, o.err, o.took, archive.ErrUnavailable, failWithin)
		}
	}

	srv.signal(syscall.SIGCONT)
	roundTrip(t, s, "after SIGCONT")
	if _, err := s.Stat(ctx, uploaded); !errors.Is(err, archive.ErrNotFound) {
		t.Errorf("after SIGCONT: Stat(%q) of the interrupted upload = %v, want %v", uploaded, err, archive.ErrNotFound)
	}
	// The abort of the interrupted upload may not have reached the frozen
	// server; cleaning at start is what removes it.
	if err := s.AbortIncompleteUploads(ctx, ""); err != nil {
		t.Errorf("after SIGCONT: AbortIncompleteUploads = %v, want nil", err)
	}
	if n := incompleteUploads(t, ctx, s, ""); n != 0 {
		t.Errorf("after AbortIncompleteUploads: %d incomplete uploads, want 0", n)
	}
}

type operation struct {
	name string
	fn   func(ctx context.Context) error
}

// operations lists one call of each kind; the first three are the cheap
// ones the frozen test repeats.
func operations(s *Store) []operation {
	return []operation{
		{"Stat", func(ctx context.Context) error { _, err := s.Stat(ctx, "manifests/kept.json"); return err }},
		{"Put small", func(ctx context.Context) error { return s.Put(ctx, "manifests/new.json", strings.NewReader("{}"), 2) }},
		{"Ping", s.Ping},
		{"Put large, unknown size", func(ctx context.Context) error {
			return s.Put(ctx, "originals/new", archivetest.Generate(3, 20<<20), -1)
		}},
		{"Get", func(ctx context.Context) error {
			rc, _, err := s.Get(ctx, "manifests/kept.json")
			if err == nil {
				rc.Close()
			}
			return err
		}},
		{"List", func(ctx context.Context) error {
			return s.List(ctx, "", func(archive.BlobInfo) error { return nil })
		}},
		{"Move", func(ctx context.Context) error { return s.Move(ctx, "manifests/kept.json", "manifests/moved.json") }},
		{"Delete", func(ctx context.Context) error { return s.Delete(ctx, "manifests/other.json") }},
		{"AbortIncompleteUploads", func(ctx context.Context) error { return s.AbortIncompleteUploads(ctx, "") }},
	}
}

func roundTrip(t *testing.T, s *Store, when string) {
	t.Helper()
	ctx := t.Context()
	const key = "manifests/after.json"
	data := []byte(`{"subject":"Báo cáo công tác đối ngoại"}`)
	if err := s.Put(ctx, key, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("%s: Put(%q) = %v, want nil", when, key, err)
	}
	rc, _, err := s.Get(ctx, key)
	if err != nil {
		t.Fatalf("%s: Get(%q) = %v, want nil", when, key, err)
	}
	defer rc.Close()
	if got, err := io.ReadAll(rc); err != nil || !bytes.Equal(got, data) {
		t.Errorf("%s: Get(%q) = %q, %v; want %q", when, key, got, err, data)
	}
}

// onRead calls fn once, after n bytes were read through it.
type onRead struct {
	r     io.Reader
	after int64
	fn    func()
	once  sync.Once
}

func (o *onRead) Read(p []byte) (int, error) {
	n, err := o.r.Read(p)
	if o.after -= int64(n); o.after <= 0 {
		o.once.Do(o.fn)
	}
	return n, err
}

// server is a private versitygw this test can kill, restart and freeze.
type server struct {
	t    *testing.T
	bin  string
	dir  string
	addr string
	cmd  *exec.Cmd
}

const (
	serverAccess = "vanthu"
	serverSecret = "vanthu-secret"
)

func startServer(t *testing.T) *server {
	t.Helper()
	if testing.Short() {
		t.Skip("skipped with -short: waits out the connection timeouts (about 20 s)")
	}
	srv := &server{t: t, bin: versitygw(t), dir: t.TempDir()}
	for _, d := range []string{"data", "versions"} {
		if err := os.Mkdir(filepath.Join(srv.dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.addr = l.Addr().String()
	l.Close()
	srv.start()
	t.Cleanup(srv.kill)
	return srv
}

func versitygw(t *testing.T) string {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			p := filepath.Join(dir, "bin", "versitygw")
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	archivetest.Unavailable(t, "versitygw not in PATH or $(go env GOPATH)/bin; go install github.com/versity/versitygw/cmd/versitygw@v1.8.0")
	return ""
}

// start runs the server on srv.addr and its data directory, and waits until
// it answers HTTP.
func (srv *server) start() {
	t := srv.t
	t.Helper()
	log, err := os.OpenFile(filepath.Join(srv.dir, "versitygw.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd := exec.Command(srv.bin, "--quiet", "--port", srv.addr,
		"posix", "--versioning-dir", filepath.Join(srv.dir, "versions"), filepath.Join(srv.dir, "data"))
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+serverAccess, "ROOT_SECRET_ACCESS_KEY="+serverSecret)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", srv.bin, err)
	}
	srv.cmd = cmd
	client := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := client.Get("http://" + srv.addr + "/"); err == nil {
			resp.Body.Close()
			return
		}
	}
	out, _ := os.ReadFile(filepath.Join(srv.dir, "versitygw.log"))
	srv.kill()
	t.Fatalf("versitygw on %s did not answer within 20s; its log:\n%s", srv.addr, out)
}

func (srv *server) signal(sig syscall.Signal) {
	if err := srv.cmd.Process.Signal(sig); err != nil {
		srv.t.Fatalf("sending %v to versitygw: %v", sig, err)
	}
	if sig == syscall.SIGSTOP {
		srv.waitStopped()
	}
}

// waitStopped returns once every thread of the server is stopped: in one
// CI run a Ping sent after SIGSTOP was still answered 3.5 ms later.
func (srv *server) waitStopped() {
	took, err := archivetest.WaitStopped(srv.cmd.Process.Pid, 10*time.Second)
	if err != nil {
		srv.t.Fatalf("versitygw: %v", err)
	}
	srv.t.Logf("versitygw: every thread stopped %v after SIGSTOP", took.Round(time.Microsecond))
}

// kill stops the server for good; a frozen one is resumed first so it
// does not linger stopped if the kill is ever delayed.
func (srv *server) kill() {
	if srv.cmd == nil {
		return
	}
	srv.cmd.Process.Signal(syscall.SIGCONT)
	srv.cmd.Process.Kill()
	srv.cmd.Wait()
	srv.cmd = nil
}

func (srv *server) store(t *testing.T) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	s, err := New(ctx, Config{Endpoint: srv.addr, Bucket: "vanthu", AccessKey: serverAccess, SecretKey: serverSecret})
	if err != nil {
		t.Fatalf("New(%s) = %v", srv.addr, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
