package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// registry holds every long-running process the tool started, so that they
// are stopped whatever way the run ends (return, error, Ctrl-C).
type registry struct {
	mu    sync.Mutex
	procs map[*proc]bool
}

var procs = &registry{procs: map[*proc]bool{}}

// proc is a started child in its own process group.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func (r *registry) stopAll() {
	r.mu.Lock()
	var ps []*proc
	for p := range r.procs {
		ps = append(ps, p)
	}
	r.mu.Unlock()
	for _, p := range ps {
		p.stop()
	}
}

// start runs cmd in a process group of its own (Pdeathsig as a last resort
// if this tool is killed with SIGKILL).
func start(name string, cmd *exec.Cmd) (*proc, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	// Pdeathsig fires when the starting thread exits: keep it alive.
	runtime.LockOSThread()
	err := cmd.Start()
	runtime.UnlockOSThread()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	procs.mu.Lock()
	procs.procs[p] = true
	procs.mu.Unlock()
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// stop sends SIGTERM to the group, waits up to 40 s (vanthu drains requests
// for up to 25 s), then SIGKILLs it.
func (p *proc) stop() {
	procs.mu.Lock()
	delete(procs.procs, p)
	procs.mu.Unlock()
	pid := p.cmd.Process.Pid
	_ = syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(40 * time.Second):
		logf("%s did not stop within 40 s; killing it", p.name)
	}
	// Whatever is left in the group (extraction children, tools).
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	<-p.done
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// procStatus reads a "VmHWM:   1234 kB" field of /proc/PID/status in bytes.
func procStatus(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n << 10
			}
		}
	}
	return 0
}

// procCPU reads a process's own CPU time and that of its waited-for
// children (for vanthu serve: the `vanthu __extract` children and their
// pdftotext) from /proc/PID/stat.
func procCPU(pid int) (self, children time.Duration) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // fields from 3 on
	if len(f) < 15 {
		return 0, 0
	}
	tick := func(i int) time.Duration {
		n, _ := strconv.ParseInt(f[i-3], 10, 64)
		return time.Duration(n) * time.Second / 100 // USER_HZ
	}
	return tick(14) + tick(15), tick(16) + tick(17)
}

func buildVanthu(ctx context.Context, work string) (string, error) {
	bin := filepath.Join(work, "bin", "vanthu")
	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/vanthu")
	cmd.Dir = moduleRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/vanthu: %v\n%s", err, out)
	}
	logf("built %s in %v", bin, time.Since(start).Round(time.Millisecond))
	return bin, nil
}

// buildProfiling builds vanthu with serveprof.go.in overlaid into
// cmd/vanthu (the source tree is not touched), for -profile runs.
func buildProfiling(ctx context.Context, work string) (string, error) {
	root := moduleRoot()
	abs, _ := filepath.Abs(root)
	overlay := filepath.Join(work, "bin", "overlay.json")
	if err := os.MkdirAll(filepath.Dir(overlay), 0o750); err != nil {
		return "", err
	}
	js := fmt.Sprintf(`{"Replace":{%q:%q}}`, filepath.Join(abs, "cmd", "vanthu", "zz_benchpprof.go"), filepath.Join(abs, "cmd", "vanthu-bench", "serveprof.go.in"))
	if err := os.WriteFile(overlay, []byte(js), 0o600); err != nil {
		return "", err
	}
	bin := filepath.Join(work, "bin", "vanthu-pprof")
	cmd := exec.CommandContext(ctx, "go", "build", "-overlay", overlay, "-o", bin, "./cmd/vanthu")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build -overlay ./cmd/vanthu: %v\n%s", err, out)
	}
	return bin, nil
}

// profileServer fetches a CPU profile of d from a -profile server; wait
// returns the top of it as text ("" when the server has no pprof).
func (b *bench) profileServer(s *server, name string, d time.Duration) (wait func() string) {
	if s.pprof == "" {
		return func() string { return "" }
	}
	out := filepath.Join(b.o.work, name+"-server-cpu.pprof")
	done := make(chan error, 1)
	go func() {
		resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", s.pprof, int(d.Seconds())))
		if err != nil {
			done <- err
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(out)
		if err == nil {
			_, err = io.Copy(f, resp.Body)
			f.Close()
		}
		done <- err
	}()
	return func() string {
		if err := <-done; err != nil {
			return fmt.Sprintf("(profile failed: %v)\n", err)
		}
		cmd := exec.Command("go", "tool", "pprof", "-top", "-nodecount", "35", b.bin, out)
		txt, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Sprintf("(go tool pprof: %v)\n%s", err, txt)
		}
		return fmt.Sprintf("CPU profile of vanthu serve (%s, %v): `%s`\n\n```\n%s```\n", name, d, out, txt)
	}
}

func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// childEnv is this environment without VANTHU_ settings, plus extra.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VANTHU_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// cli runs a short vanthu command and returns its standard output.
func (b *bench) cli(ctx context.Context, env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.bin, args...)
	cmd.Env = childEnv(env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("vanthu %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// clerkToken adds a clerk to the catalog in data and returns an API token.
func (b *bench) clerkToken(ctx context.Context, data string) (string, error) {
	if _, err := b.cli(ctx, nil, "user", "add", "bench", "--role", "clerk", "--clearance", "none", "--unit", "Văn phòng", "--data", data); err != nil {
		return "", err
	}
	out, err := b.cli(ctx, nil, "token", "create", "bench", "--data", data)
	return strings.TrimSpace(out), err
}

// server is a running `vanthu serve`.
type server struct {
	*proc
	url   string
	data  string
	pprof string // host:port of net/http/pprof in -profile builds
}

var listenRE = regexp.MustCompile(`listening on (http://\S+)`)

// startServer runs `vanthu serve --addr 127.0.0.1:0 --data data` with env
// and waits until it answers /readyz.
func (b *bench) startServer(ctx context.Context, data string, env ...string) (*server, error) {
	logPath := filepath.Join(data, "..", filepath.Base(data)+"-serve.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(b.bin, "serve", "--addr", "127.0.0.1:0", "--data", data)
	cmd.Env = childEnv(env...)
	pprofAddr := ""
	if b.o.profile {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		pprofAddr = fmt.Sprintf("127.0.0.1:%d", port)
		cmd.Env = append(cmd.Env, "VANTHU_BENCH_PPROF="+pprofAddr)
	}
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p, err := start("vanthu serve", cmd)
	if err != nil {
		logf.Close()
		return nil, err
	}
	go func() { <-p.done; logf.Close() }()
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case urlc <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	s := &server{proc: p, data: data, pprof: pprofAddr}
	select {
	case s.url = <-urlc:
	case <-p.done:
		return nil, fmt.Errorf("vanthu serve exited: %v (log %s)", p.err, logPath)
	case <-time.After(2 * time.Minute):
		p.stop()
		return nil, fmt.Errorf("vanthu serve did not start within 2 minutes (log %s)", logPath)
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	}
	if !strings.HasPrefix(s.url, "http://127.0.0.1:") {
		p.stop()
		return nil, fmt.Errorf("vanthu serve listens on %s, not 127.0.0.1", s.url)
	}
	for deadline := time.Now().Add(10 * time.Minute); ; {
		resp, err := http.Get(s.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			p.stop()
			return nil, fmt.Errorf("vanthu serve at %s is not ready", s.url)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// queue reads the vanthu_queue_jobs gauges from /metrics.
func (s *server) queue(ctx context.Context) (map[string]int64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]int64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, `vanthu_queue_jobs{kind="`); ok {
			k, v, _ := strings.Cut(rest, `"} `)
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			out[k] = n
		}
	}
	return out, sc.Err()
}

// drained waits until the extract, index and manifest queues are empty.
func (s *server) drained(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		q, err := s.queue(ctx)
		if err == nil && len(q) >= 3 && q["extract"] == 0 && q["index"] == 0 && q["manifest"] == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("queues not drained after %v: %v (%v)", limit, q, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// s3Server is the S3 endpoint of the run: a versitygw this tool started,
// or the one given with -s3.
type s3Server struct {
	endpoint, access, secret string
	p                        *proc
	client                   *minio.Client
}

func (b *bench) s3Server(ctx context.Context) (*s3Server, error) {
	if b.s3 != nil {
		return b.s3, nil
	}
	s := &s3Server{endpoint: b.o.s3Endpoint, access: b.o.s3Access, secret: b.o.s3Secret}
	if s.endpoint == "" {
		bin, err := exec.LookPath("versitygw")
		if err != nil {
			home, _ := os.UserHomeDir()
			gopath, _ := exec.Command("go", "env", "GOPATH").Output()
			for _, c := range []string{filepath.Join(strings.TrimSpace(string(gopath)), "bin", "versitygw"), filepath.Join(home, "go", "bin", "versitygw")} {
				if _, err := os.Stat(c); err == nil {
					bin = c
					break
				}
			}
		}
		if bin == "" {
			return nil, errors.New("versitygw not found: go install github.com/versity/versitygw/cmd/versitygw@v1.8.0, or pass -s3")
		}
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		dir := filepath.Join(b.o.work, "s3")
		for _, d := range []string{"data", "ver"} {
			if err := os.MkdirAll(filepath.Join(dir, d), 0o750); err != nil {
				return nil, err
			}
		}
		s.endpoint = fmt.Sprintf("127.0.0.1:%d", port)
		logFile, err := os.Create(filepath.Join(dir, "versitygw.log"))
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(bin, "--port", s.endpoint, "posix", "--versioning-dir", filepath.Join(dir, "ver"), filepath.Join(dir, "data"))
		cmd.Env = append(childEnv(), "ROOT_ACCESS_KEY_ID="+s.access, "ROOT_SECRET_ACCESS_KEY="+s.secret)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if s.p, err = start("versitygw", cmd); err != nil {
			return nil, err
		}
		go func() { <-s.p.done; logFile.Close() }()
		for i := 0; ; i++ {
			c, err := net.DialTimeout("tcp", s.endpoint, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-s.p.done:
				return nil, fmt.Errorf("versitygw exited: %v (log %s)", s.p.err, logFile.Name())
			default:
			}
			if i > 300 {
				return nil, errors.New("versitygw did not listen within 30 s")
			}
			time.Sleep(100 * time.Millisecond)
		}
		logf("versitygw on %s (data %s)", s.endpoint, dir)
	}
	cl, err := minio.New(s.endpoint, &minio.Options{Creds: credentials.NewStaticV4(s.access, s.secret, "")})
	if err != nil {
		return nil, err
	}
	s.client = cl
	b.s3 = s
	return s, nil
}

// env names bucket on this server for vanthu serve.
func (s *s3Server) env(bucket string) []string {
	return []string{"VANTHU_S3_ENDPOINT=" + s.endpoint, "VANTHU_S3_BUCKET=" + bucket,
		"VANTHU_S3_ACCESS_KEY=" + s.access, "VANTHU_S3_SECRET_KEY=" + s.secret}
}

// dropBucket removes a bucket and everything in it (best effort), so the
// disk does not fill up over a long run.
func (s *s3Server) dropBucket(ctx context.Context, bucket string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	objs := s.client.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true, WithVersions: true})
	for range s.client.RemoveObjects(ctx, bucket, objs, minio.RemoveObjectsOptions{GovernanceBypass: true}) {
	}
	_ = s.client.RemoveBucket(ctx, bucket)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
