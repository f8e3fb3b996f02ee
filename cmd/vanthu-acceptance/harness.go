package main

// The harness: it builds the real vanthu binary, starts `vanthu serve` and a
// private versitygw as child processes, talks to them over HTTP only, and
// keeps a registry of every process and mount it made so that a failure,
// the end of a scenario or a Ctrl-C removes them all.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"vanthu/archive/archivetest"
)

// Options choose the variant of the scenarios.
type Options struct {
	Short        bool          // the CI variant: fewer rounds, smaller numbers
	LoadDocs     int           // documents in the load scenario's archive
	LoadDuration time.Duration // how long the load runs
	Verbose      bool          // log progress lines as they happen
}

// Env is what every scenario shares: the repository, the built binary, the
// corpus and the S3 server binary.
type Env struct {
	Root   string // module root (holds go.mod of module vanthu)
	Corpus string // ../shared/corpus from the root; "" when absent
	Bin    string // the built vanthu binary
	VGW    string // versitygw binary; "" when absent
	Work   string // scratch directory of this run
	Opt    Options
	Log    io.Writer
}

// findRoot walks up from the working directory to the go.mod of module vanthu.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && regexp.MustCompile(`(?m)^module vanthu\s*$`).Match(b) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the vanthu module (no go.mod with `module vanthu` above the working directory)")
		}
		dir = parent
	}
}

// NewEnv builds the binary into a fresh scratch directory.
func NewEnv(opt Options, log io.Writer) (*Env, error) {
	root, err := findRoot()
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "vanthu-acceptance-")
	if err != nil {
		return nil, err
	}
	e := &Env{Root: root, Work: work, Opt: opt, Log: log}
	if c := filepath.Join(root, "..", "shared", "corpus"); dirExists(filepath.Join(c, "pdf")) {
		e.Corpus = filepath.Clean(c)
	}
	e.VGW = findVersitygw()
	e.Bin = filepath.Join(work, "vanthu")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", e.Bin, "./cmd/vanthu")
	cmd.Dir = root
	// The binary is the product under test; never build it with -race
	// (GOFLAGS from a `go test -race` parent would).
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(work)
		return nil, fmt.Errorf("go build ./cmd/vanthu: %v\n%s", err, out)
	}
	fmt.Fprintf(log, "built %s in %v\n", e.Bin, time.Since(start).Round(time.Millisecond))
	return e, nil
}

// Close removes the scratch directory (after every process is gone).
func (e *Env) Close() {
	KillAll()
	os.RemoveAll(e.Work)
}

func dirExists(p string) bool { fi, err := os.Stat(p); return err == nil && fi.IsDir() }

func fileExists(p string) bool { fi, err := os.Stat(p); return err == nil && fi.Mode().IsRegular() }

func findVersitygw() string {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	cands := []string{"/root/go/bin/versitygw"}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, d := range filepath.SplitList(strings.TrimSpace(string(out))) {
			cands = append(cands, filepath.Join(d, "bin", "versitygw"))
		}
	}
	for _, c := range cands {
		if fileExists(c) {
			return c
		}
	}
	return ""
}

// s3Required is VANTHU_TEST_S3_REQUIRED=1: S3 scenarios must run, never skip.
func s3Required() bool { return os.Getenv("VANTHU_TEST_S3_REQUIRED") == "1" }

// ---------------------------------------------------------------------------
// The registry of what must be undone.

var reg struct {
	mu     sync.Mutex
	procs  map[int]string // pid (also its process group) → name
	mounts []string
}

func registerProc(pid int, name string) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if reg.procs == nil {
		reg.procs = map[int]string{}
	}
	reg.procs[pid] = name
}

func unregisterProc(pid int) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	delete(reg.procs, pid)
}

func registerMount(dir string) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	reg.mounts = append(reg.mounts, dir)
}

func unregisterMount(dir string) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	for i, m := range reg.mounts {
		if m == dir {
			reg.mounts = append(reg.mounts[:i], reg.mounts[i+1:]...)
			return
		}
	}
}

// KillAll ends every process group this run started (resuming stopped ones
// first) and unmounts its file systems. It is what Ctrl-C runs.
func KillAll() {
	reg.mu.Lock()
	procs := make([]int, 0, len(reg.procs))
	for pid := range reg.procs {
		procs = append(procs, pid)
	}
	mounts := append([]string(nil), reg.mounts...)
	reg.procs, reg.mounts = nil, nil
	reg.mu.Unlock()
	for _, pid := range procs {
		killTree(pid)
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		_ = syscall.Unmount(mounts[i], syscall.MNT_DETACH)
	}
}

// procAttr puts a child in its own process group (so its own children end
// with it) and kills it if this process dies without cleaning up.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// childEnv is our environment without VANTHU_ settings (the test variables
// excepted), plus extra.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "VANTHU_") && !strings.HasPrefix(kv, "VANTHU_TEST_") {
			continue
		}
		if strings.HasPrefix(kv, "GOFLAGS=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// ---------------------------------------------------------------------------
// One scenario run.

// R is one scenario's run: its figures, its failures and what to undo.
type R struct {
	Name string
	Env  *Env
	Ctx  context.Context
	Opt  Options

	mu       sync.Mutex
	figures  []string
	errs     []string
	notes    []string
	skip     string
	cleanups []func()
	dir      string
	log      io.Writer
}

type failNow struct{}
type skipNow struct{}

// Errorf records a failure and goes on.
func (r *R) Errorf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.mu.Lock()
	r.errs = append(r.errs, msg)
	r.mu.Unlock()
	r.Logf("FAIL: %s", msg)
}

// Fatalf records a failure and ends the scenario (only from its goroutine).
func (r *R) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	panic(failNow{})
}

// Skipf ends the scenario as skipped.
func (r *R) Skipf(format string, args ...any) {
	r.mu.Lock()
	r.skip = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	panic(skipNow{})
}

// Failed reports whether a failure was recorded.
func (r *R) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.errs) > 0
}

// Logf is a progress line.
func (r *R) Logf(format string, args ...any) {
	if r.log != nil {
		fmt.Fprintf(r.log, "  [%s %s] %s\n", time.Now().Format("15:04:05"), r.Name, fmt.Sprintf(format, args...))
	}
}

// Figure records one measured figure for the summary.
func (r *R) Figure(name string, format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.figures = append(r.figures, name+"="+fmt.Sprintf(format, args...))
}

// Note records a sentence for the summary (e.g. what was checked how).
func (r *R) Note(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

// Cleanup runs fn when the scenario ends, last registered first.
func (r *R) Cleanup(fn func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, fn)
}

// TempDir is a fresh directory of this scenario.
func (r *R) TempDir() string {
	d, err := os.MkdirTemp(r.dir, "t")
	if err != nil {
		r.Fatalf("temp dir: %v", err)
	}
	return d
}

// Result is what a scenario run ends with.
type Result struct {
	Name    string
	Status  string // PASS, FAIL, SKIP
	Took    time.Duration
	Figures []string
	Notes   []string
	Errors  []string
	Skip    string
}

// Scenario is one acceptance scenario.
type Scenario struct {
	Name string
	// Run runs the scenario; r.Opt.Short selects the CI variant.
	Run func(r *R)
	// Long scenarios have no short variant: `go test` leaves them to the
	// command (or to -tags acceptance).
	Long bool
}

// RunScenario runs one scenario with a deadline and undoes what it did.
func RunScenario(ctx context.Context, e *Env, sc Scenario, timeout time.Duration, log io.Writer) (res Result) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dir, err := os.MkdirTemp(e.Work, sc.Name+"-")
	if err != nil {
		return Result{Name: sc.Name, Status: "FAIL", Errors: []string{err.Error()}}
	}
	r := &R{Name: sc.Name, Env: e, Ctx: ctx, Opt: e.Opt, dir: dir, log: log}
	start := time.Now()
	func() {
		defer func() {
			if p := recover(); p != nil {
				switch p.(type) {
				case failNow, skipNow:
				default:
					r.Errorf("panic: %v\n%s", p, debug.Stack())
				}
			}
		}()
		sc.Run(r)
	}()
	r.mu.Lock()
	cl := r.cleanups
	r.cleanups = nil
	r.mu.Unlock()
	for i := len(cl) - 1; i >= 0; i-- {
		func() {
			defer func() {
				if p := recover(); p != nil {
					r.Errorf("cleanup panic: %v", p)
				}
			}()
			cl[i]()
		}()
	}
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		r.Errorf("the scenario did not finish within %v", timeout)
	}
	os.RemoveAll(dir)
	res = Result{Name: sc.Name, Took: time.Since(start), Figures: r.figures, Notes: r.notes, Errors: r.errs, Skip: r.skip}
	switch {
	case len(r.errs) > 0:
		res.Status = "FAIL"
	case r.skip != "":
		res.Status = "SKIP"
	default:
		res.Status = "PASS"
	}
	return res
}

// Print writes a result as the summary shows it.
func (res Result) Print(w io.Writer) {
	fmt.Fprintf(w, "%s %s (%v)\n", res.Status, res.Name, res.Took.Round(100*time.Millisecond))
	if res.Skip != "" {
		fmt.Fprintf(w, "    skipped: %s\n", res.Skip)
	}
	for _, f := range res.Figures {
		fmt.Fprintf(w, "    %s\n", f)
	}
	for _, n := range res.Notes {
		fmt.Fprintf(w, "    note: %s\n", n)
	}
	for i, e := range res.Errors {
		if i == 20 {
			fmt.Fprintf(w, "    … and %d more failures\n", len(res.Errors)-20)
			break
		}
		fmt.Fprintf(w, "    error: %s\n", firstLines(e, 6))
	}
}

func firstLines(s string, n int) string {
	l := strings.SplitN(s, "\n", n+1)
	if len(l) > n {
		l = append(l[:n], "…")
	}
	return strings.Join(l, "\n           ")
}

// ---------------------------------------------------------------------------
// Child processes.

// proc is a started child process in its own process group.
type proc struct {
	name string
	cmd  *exec.Cmd
	pid  int
	done chan struct{}
	mu   sync.Mutex
	err  error
}

func startProc(name string, cmd *exec.Cmd) (*proc, error) {
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, pid: cmd.Process.Pid, done: make(chan struct{})}
	registerProc(p.pid, name)
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// kill ends the process, its group and every descendant at once (the
// extraction children of vanthu serve start process groups of their own,
// so the group alone would leave them running), and waits for it.
func (p *proc) kill() {
	desc := descendants(p.pid)
	_ = syscall.Kill(-p.pid, syscall.SIGCONT)
	_ = syscall.Kill(p.pid, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
	_ = syscall.Kill(-p.pid, syscall.SIGKILL)
	for _, d := range desc {
		_ = syscall.Kill(-d, syscall.SIGKILL)
		_ = syscall.Kill(d, syscall.SIGKILL)
	}
	unregisterProc(p.pid)
}

// killTree ends pid, its group and its descendants.
func killTree(pid int) {
	desc := descendants(pid)
	for _, q := range append([]int{pid}, desc...) {
		_ = syscall.Kill(-q, syscall.SIGCONT)
		_ = syscall.Kill(-q, syscall.SIGKILL)
		_ = syscall.Kill(q, syscall.SIGKILL)
	}
}

// descendants lists the processes below pid, from /proc.
func descendants(pid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range ents {
		var child int
		if _, err := fmt.Sscan(e.Name(), &child); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		var state string
		var ppid int
		if _, err := fmt.Sscan(string(b[i+1:]), &state, &ppid); err == nil {
			children[ppid] = append(children[ppid], child)
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 && len(out) < 10000 {
		c := children[queue[0]]
		queue = append(queue[1:], c...)
		out = append(out, c...)
	}
	return out
}

// term sends SIGTERM and waits up to d, then kills; it reports whether the
// process ended by itself.
func (p *proc) term(d time.Duration) bool {
	desc := descendants(p.pid)
	_ = syscall.Kill(p.pid, syscall.SIGTERM)
	select {
	case <-p.done:
		_ = syscall.Kill(-p.pid, syscall.SIGKILL)
		for _, q := range desc {
			_ = syscall.Kill(-q, syscall.SIGKILL)
			_ = syscall.Kill(q, syscall.SIGKILL)
		}
		unregisterProc(p.pid)
		return true
	case <-time.After(d):
		p.kill()
		return false
	}
}

// ---------------------------------------------------------------------------
// The vanthu CLI.

type cliResult struct {
	out  string // stdout and stderr
	code int
}

// cli runs `vanthu args…` with env, bounded to 2 minutes.
func (r *R) cli(env []string, args ...string) cliResult {
	ctx, cancel := context.WithTimeout(r.Ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.Env.Bin, args...)
	cmd.Env = childEnv(env...)
	cmd.SysProcAttr = procAttr()
	out, err := cmd.CombinedOutput()
	res := cliResult{out: strings.TrimSpace(string(out))}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	default:
		r.Fatalf("vanthu %s: %v", strings.Join(args, " "), err)
	}
	return res
}

func (r *R) mustCLI(env []string, args ...string) string {
	res := r.cli(env, args...)
	if res.code != 0 {
		r.Fatalf("vanthu %s: exit %d: %s", strings.Join(args, " "), res.code, res.out)
	}
	return res.out
}

const password = "mat-khau-nghiem-thu-2026"

// addUser creates a user and returns a fresh API token.
func (r *R) addUser(data, name, role string, env ...string) string {
	env = append(env, "VANTHU_PASSWORD="+password)
	r.mustCLI(env, "user", "add", name, "--role", role, "--data", data)
	tok := strings.TrimSpace(r.mustCLI(env, "token", "create", name, "--data", data))
	if tok == "" || strings.Contains(tok, "\n") {
		r.Fatalf("token create printed %q", tok)
	}
	return tok
}

// ---------------------------------------------------------------------------
// versitygw.

// vgw is a private versitygw that can be killed, frozen and restarted on the
// same port and directories.
type vgw struct {
	r          *R
	bin, dir   string
	addr       string
	p          *proc
	access, sk string
}

// needS3 skips (or fails under VANTHU_TEST_S3_REQUIRED=1) without versitygw.
func (r *R) needS3() {
	if r.Env.VGW != "" {
		return
	}
	if s3Required() {
		r.Fatalf("VANTHU_TEST_S3_REQUIRED=1 but versitygw is not installed (PATH, /root/go/bin, $(go env GOPATH)/bin)")
	}
	r.Skipf("versitygw is not installed: go install github.com/versity/versitygw/cmd/versitygw@v1.8.0")
}

func (r *R) startVGW() *vgw {
	r.needS3()
	v := &vgw{r: r, bin: r.Env.VGW, dir: r.TempDir(), addr: freeAddr(r), access: "vanthuacc", sk: "vanthu-acceptance-secret"}
	for _, d := range []string{"data", "ver"} {
		if err := os.Mkdir(filepath.Join(v.dir, d), 0o700); err != nil {
			r.Fatalf("%v", err)
		}
	}
	v.start()
	r.Cleanup(v.kill)
	return v
}

func (v *vgw) start() {
	r := v.r
	logf, err := os.OpenFile(filepath.Join(v.dir, "versitygw.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		r.Fatalf("%v", err)
	}
	defer logf.Close()
	cmd := exec.Command(v.bin, "--quiet", "--port", v.addr, "posix", "--versioning-dir", filepath.Join(v.dir, "ver"), filepath.Join(v.dir, "data"))
	cmd.Env = append(childEnv(), "ROOT_ACCESS_KEY_ID="+v.access, "ROOT_SECRET_ACCESS_KEY="+v.sk)
	cmd.Stdout, cmd.Stderr = logf, logf
	p, err := startProc("versitygw", cmd)
	if err != nil {
		r.Fatalf("%v", err)
	}
	v.p = p
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if p.exited() {
			break
		}
		if httpUp("http://" + v.addr + "/") {
			return
		}
	}
	v.kill()
	b, _ := os.ReadFile(filepath.Join(v.dir, "versitygw.log"))
	r.Fatalf("versitygw on %s did not answer within 20s:\n%s", v.addr, tail(b, 2000))
}

func (v *vgw) kill() {
	if v.p != nil {
		v.p.kill()
		v.p = nil
	}
}

func (v *vgw) signal(sig syscall.Signal) {
	if v.p == nil {
		v.r.Fatalf("versitygw is not running")
	}
	if err := syscall.Kill(v.p.pid, sig); err != nil {
		v.r.Fatalf("sending %v to versitygw: %v", sig, err)
	}
	if sig == syscall.SIGSTOP {
		// kill(2) returns before the threads stop; the outage starts
		// when they have.
		if _, err := archivetest.WaitStopped(v.p.pid, 10*time.Second); err != nil {
			v.r.Fatalf("versitygw: %v", err)
		}
	}
}

func (v *vgw) env(bucket string) []string {
	return []string{"VANTHU_S3_ENDPOINT=" + v.addr, "VANTHU_S3_BUCKET=" + bucket,
		"VANTHU_S3_ACCESS_KEY=" + v.access, "VANTHU_S3_SECRET_KEY=" + v.sk}
}

// ---------------------------------------------------------------------------
// vanthu serve.

type server struct {
	r    *R
	p    *proc
	url  string
	data string
	logf string
	env  []string
	http *httpClient
}

var listenRE = regexp.MustCompile(`^vanthu listening on (http://\S+) \(data (.*)\)$`)

// startServer runs `vanthu serve --addr 127.0.0.1:0 --data data` and waits
// for its listening line (up to 90 s: the S3 store retries at start).
func (r *R) startServer(data string, env ...string) *server {
	// The log lives apart from the data: a scenario that fills the data's
	// file system must not also lose what the server said about it.
	logFile, err := os.CreateTemp(r.TempDir(), "serve-*.log")
	if err != nil {
		r.Fatalf("%v", err)
	}
	defer logFile.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		r.Fatalf("%v", err)
	}
	cmd := exec.Command(r.Env.Bin, "serve", "--addr", "127.0.0.1:0", "--data", data)
	cmd.Env = childEnv(env...)
	cmd.Stdout, cmd.Stderr = pw, logFile
	start := time.Now()
	p, err := startProc("vanthu serve", cmd)
	pw.Close()
	if err != nil {
		pr.Close()
		r.Fatalf("%v", err)
	}
	s := &server{r: r, p: p, data: data, logf: logFile.Name(), env: env, http: newHTTPClient()}
	r.Cleanup(s.stop)
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
	select {
	case l := <-line:
		m := listenRE.FindStringSubmatch(l)
		if m == nil {
			r.Fatalf("serve printed %q, want \"vanthu listening on http://ADDR (data DIR)\"", l)
		}
		s.url = m[1]
	case <-p.done:
		r.Fatalf("vanthu serve exited before listening (%v); log:\n%s", p.exitErr(), s.log(3000))
	case <-time.After(90 * time.Second):
		r.Fatalf("vanthu serve printed no listening line within 90s; log:\n%s", s.log(3000))
	case <-r.Ctx.Done():
		r.Fatalf("interrupted while starting vanthu serve")
	}
	r.Logf("vanthu serve pid %d on %s after %v", p.pid, s.url, time.Since(start).Round(time.Millisecond))
	return s
}

func (s *server) log(n int) string {
	b, _ := os.ReadFile(s.logf)
	return tail(b, n)
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// stop ends the server gracefully (SIGTERM, 30 s), then by force.
func (s *server) stop() {
	defer s.http.CloseIdleConnections()
	if s.p.exited() {
		// A server that ended on its own with an error (a panic exits with
		// status 2; the harness ends it by signals): say how, for the
		// failures that follow from it.
		var ee *exec.ExitError
		if errors.As(s.p.exitErr(), &ee) && ee.ExitCode() > 0 {
			s.r.Logf("vanthu serve (pid %d) had exited before it was stopped (%v); log:\n%s", s.p.pid, s.p.exitErr(), s.log(4000))
		}
	} else {
		if !s.p.term(30 * time.Second) {
			s.r.Errorf("vanthu serve (pid %d) did not stop within 30s of SIGTERM", s.p.pid)
		}
	}
	s.p.kill()
}

// kill9 ends the server with SIGKILL, as a crash would, then its
// children. It returns how many of the server's descendants were still
// running after the server and its process group were killed: children in
// process groups of their own, which a crash leaves orphaned.
func (s *server) kill9() (orphans int) {
	desc := descendants(s.p.pid)
	_ = syscall.Kill(s.p.pid, syscall.SIGKILL)
	select {
	case <-s.p.done:
	case <-time.After(10 * time.Second):
	}
	_ = syscall.Kill(-s.p.pid, syscall.SIGKILL)
	time.Sleep(100 * time.Millisecond)
	for _, d := range desc {
		if alive(d) {
			orphans++
		}
		_ = syscall.Kill(-d, syscall.SIGKILL)
		_ = syscall.Kill(d, syscall.SIGKILL)
	}
	s.p.kill()
	s.http.CloseIdleConnections()
	return orphans
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && len(b) > i+2 && b[i+2] != 'Z'
}

// procStatus reads a field (in kB) from /proc/PID/status.
func (s *server) procStatus(field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.p.pid))
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			var n int64
			fmt.Sscan(strings.TrimSpace(v), &n)
			return n << 10
		}
	}
	return -1
}

// sortedKeys is a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
