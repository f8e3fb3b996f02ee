package main

// The heavy end-to-end tests: a 1 GiB upload under a memory ceiling, an S3
// outage, and kill -9 during a stream of uploads.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// noise is n bytes of deterministic, incompressible data: a 1 MiB random
// block, each repetition stamped with its number.
type noise struct {
	left  int64
	block []byte
	off   int
	n     uint64
}

func newNoise(seed byte, n int64) *noise {
	return &noise{left: n, block: fakePDF(seed, 1<<20), off: 1 << 20}
}

func (r *noise) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	if r.off == len(r.block) {
		r.n++
		binary.LittleEndian.PutUint64(r.block, r.n)
		r.off = 0
	}
	n := copy(p, r.block[r.off:])
	if int64(n) > r.left {
		n = int(r.left)
	}
	r.off += n
	r.left -= int64(n)
	return n, nil
}

// 5. A 1 GiB upload and its download keep the server's peak RSS under
// 150 MiB. The fs run streams the body chunked through an io.Pipe multipart
// writer; the s3 run sends it with a Content-Length, as curl and browsers
// do, so both ways fasthttp can receive a body are covered.
func TestE2ELargeUploadMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the 1 GiB upload")
	}
	const size = 1 << 30
	const maxRSS = 150 << 20
	bothStorages(t, false, func(t *testing.T, st *storage) {
		data := filepath.Join(t.TempDir(), "data")
		tok := addUser(t, data, "clerk", "clerk")
		s := startServer(t, data, st.env...)
		hwmStart := s.vmHWM(t)

		ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
		defer cancel()
		h := sha256.New()
		src := io.TeeReader(io.MultiReader(strings.NewReader("%PDF-1.7\n"), newNoise(7, size-9)), h)
		var body io.Reader
		var length int64 = -1
		var ct string
		if st.name == "fs" {
			pr, pw := io.Pipe()
			defer pr.Close()
			mw := multipart.NewWriter(pw)
			ct = mw.FormDataContentType()
			go func() {
				part, err := mw.CreateFormFile("file", "ho-so-lon-1GiB.pdf")
				if err == nil {
					_, err = io.Copy(part, src)
				}
				if err == nil {
					err = mw.WriteField("subject", "Hồ sơ quét khổ lớn")
				}
				if err == nil {
					err = mw.Close()
				}
				pw.CloseWithError(err)
			}()
			body = pr
		} else {
			var env bytes.Buffer
			mw := multipart.NewWriter(&env)
			ct = mw.FormDataContentType()
			if _, err := mw.CreateFormFile("file", "ho-so-lon-1GiB.pdf"); err != nil {
				t.Fatal(err)
			}
			prefix := bytes.Clone(env.Bytes())
			env.Reset()
			mw.Close()
			suffix := env.Bytes()
			body = io.MultiReader(bytes.NewReader(prefix), src, bytes.NewReader(suffix))
			length = int64(len(prefix)) + size + int64(len(suffix))
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/api/v1/documents", body)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = length
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", "Bearer "+tok)
		start := time.Now()
		resp, err := s.client.Do(req)
		if err != nil {
			t.Fatalf("1 GiB upload: %v", err)
		}
		rb, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		hwmUp := s.vmHWM(t)
		t.Logf("%s: 1 GiB upload (Content-Length %d) → %d in %v (%.0f MiB/s); server VmHWM %.1f MiB at start, %.1f MiB after the upload",
			st.name, length, resp.StatusCode, took.Round(time.Millisecond), size/(1<<20)/took.Seconds(), float64(hwmStart)/(1<<20), float64(hwmUp)/(1<<20))
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("1 GiB upload: %d %s\nserver log:\n%s", resp.StatusCode, rb, s.log())
		}
		d := decodeDoc(t, rb)
		want := hex.EncodeToString(h.Sum(nil))
		if d.SHA256 != want || d.Size != size {
			t.Errorf("1 GiB upload: document sha256 %s size %d, want %s %d", d.SHA256, d.Size, want, size)
		}
		if hwmUp > maxRSS {
			t.Errorf("server peak RSS after a 1 GiB upload is %.1f MiB, over %d MiB", float64(hwmUp)/(1<<20), maxRSS>>20)
		}

		req, _ = http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/api/v1/documents/"+d.ID+"/original", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		start = time.Now()
		resp, err = s.client.Do(req)
		if err != nil {
			t.Fatalf("1 GiB download: %v", err)
		}
		dh := sha256.New()
		n, err := io.Copy(dh, resp.Body)
		resp.Body.Close()
		took = time.Since(start)
		hwmDown := s.vmHWM(t)
		got := hex.EncodeToString(dh.Sum(nil))
		t.Logf("%s: 1 GiB download → %d, %d bytes in %v (%.0f MiB/s), sha256 equal %v; server VmHWM %.1f MiB after the download",
			st.name, resp.StatusCode, n, took.Round(time.Millisecond), float64(n)/(1<<20)/took.Seconds(), got == want, float64(hwmDown)/(1<<20))
		if err != nil || resp.StatusCode != http.StatusOK || n != size || got != want {
			t.Errorf("1 GiB download: %d, %d bytes, sha256 %s, err %v; want 200, %d bytes, %s", resp.StatusCode, n, got, err, size, want)
		}
		if et := resp.Header.Get("ETag"); et != `"`+want+`"` {
			t.Errorf("1 GiB download: ETag %s", et)
		}
		if hwmDown > maxRSS {
			t.Errorf("server peak RSS after a 1 GiB download is %.1f MiB, over %d MiB", float64(hwmDown)/(1<<20), maxRSS>>20)
		}
	})
}

// vgw is a private versitygw the test can kill and restart on the same port
// and data directory.
type vgw struct {
	t          *testing.T
	bin, dir   string
	addr       string
	cmd        *exec.Cmd
	done       chan struct{}
	access, sk string
}

func startVGW(t *testing.T) *vgw {
	t.Helper()
	bin, err := exec.LookPath("versitygw")
	if err != nil {
		out, _ := exec.Command("go", "env", "GOPATH").Output()
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			if p := filepath.Join(dir, "bin", "versitygw"); fileExists(p) {
				bin = p
			}
		}
	}
	if bin == "" {
		if os.Getenv("VANTHU_TEST_S3_REQUIRED") == "1" {
			t.Fatal("VANTHU_TEST_S3_REQUIRED=1: versitygw is not in PATH or $(go env GOPATH)/bin")
		}
		t.Skip("versitygw is not installed: go install github.com/versity/versitygw/cmd/versitygw@v1.8.0")
	}
	v := &vgw{t: t, bin: bin, dir: t.TempDir(), addr: freePort(t), access: "vanthu-e2e", sk: "vanthu-e2e-secret"}
	for _, d := range []string{"data", "versions"} {
		if err := os.Mkdir(filepath.Join(v.dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	v.start()
	t.Cleanup(v.kill)
	return v
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func (v *vgw) start() {
	t := v.t
	t.Helper()
	log, err := os.OpenFile(filepath.Join(v.dir, "versitygw.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd := exec.Command(v.bin, "--quiet", "--port", v.addr, "posix", "--versioning-dir", filepath.Join(v.dir, "versions"), filepath.Join(v.dir, "data"))
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+v.access, "ROOT_SECRET_ACCESS_KEY="+v.sk)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting versitygw: %v", err)
	}
	v.cmd, v.done = cmd, make(chan struct{})
	go func(done chan struct{}) { cmd.Wait(); close(done) }(v.done)
	client := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := client.Get("http://" + v.addr + "/"); err == nil {
			resp.Body.Close()
			return
		}
	}
	v.kill()
	b, _ := os.ReadFile(filepath.Join(v.dir, "versitygw.log"))
	t.Fatalf("versitygw on %s did not answer within 20s:\n%s", v.addr, b)
}

func (v *vgw) kill() {
	if v.cmd == nil {
		return
	}
	_ = v.cmd.Process.Signal(syscall.SIGCONT)
	_ = v.cmd.Process.Kill()
	<-v.done
	v.cmd = nil
}

// 6. With the S3 server stopped an upload answers 503 within 30 s and
// leaves no row; once it is back, uploads work without restarting vanthu.
// "Stopped" two ways: killed (connections refused) and frozen with SIGSTOP
// (the kernel still accepts connections, nothing answers), then restarted
// on the same port and data directory, or resumed.
func TestE2ES3Outage(t *testing.T) {
	t.Run("killed", func(t *testing.T) {
		t.Parallel()
		testS3Outage(t, func(v *vgw) { v.kill() }, func(v *vgw) { v.start() })
	})
	t.Run("frozen", func(t *testing.T) {
		if testing.Short() {
			t.Skip("-short: the frozen case waits out the S3 client's timeouts")
		}
		t.Parallel()
		testS3Outage(t, func(v *vgw) { v.signal(syscall.SIGSTOP) }, func(v *vgw) { v.signal(syscall.SIGCONT) })
	})
}

func testS3Outage(t *testing.T, down, up func(*vgw)) {
	const within = 30 * time.Second
	v := startVGW(t)
	st := s3Storage(t, v.addr, v.access, v.sk)
	data := filepath.Join(t.TempDir(), "data")
	tok := addUser(t, data, "clerk", "clerk")
	s := startServer(t, data, st.env...)

	a := []byte("CÔNG VĂN\nSố: 101/UBND-VP\nV/v chuẩn bị họp giao ban tháng 5.\n")
	da := s.mustUpload(t, tok, "cv-101.txt", a, nil)
	t.Logf("before the outage: upload → 201, id %s", da.ID)

	down(v)
	t.Logf("versitygw on %s is down (%s)", v.addr, t.Name())
	b := []byte("BÁO CÁO\nSố: 55/BC-UBND\nKết quả thực hiện nhiệm vụ quý II năm 2026.\n")
	ctx, cancel := context.WithTimeout(t.Context(), 3*within)
	defer cancel()
	// All at once, so a frozen server costs one timeout, not three.
	type outcome struct {
		name string
		r    response
		err  error
		took time.Duration
	}
	ops := []struct {
		name string
		op   func() (response, error)
	}{
		{"upload", func() (response, error) {
			return s.upload(ctx, tok, "bc-55.txt", b, map[string]string{"subject": "Báo cáo quý II"})
		}},
		{"upload of a 20 MiB PDF", func() (response, error) { return s.upload(ctx, tok, "lon.pdf", fakePDF(9, 20<<20), nil) }},
		{"download", func() (response, error) {
			return s.request(ctx, http.MethodGet, "/api/v1/documents/"+da.ID+"/original", tok, nil, nil)
		}},
	}
	outcomes := make([]outcome, len(ops))
	var wg sync.WaitGroup
	for i, o := range ops {
		wg.Go(func() {
			start := time.Now()
			r, err := o.op()
			outcomes[i] = outcome{o.name, r, err, time.Since(start)}
		})
	}
	// The catalog does not depend on S3: listing answers at once.
	start := time.Now()
	docs := s.listDocs(t, tok)
	t.Logf("S3 down: listing documents took %v", time.Since(start).Round(time.Millisecond))
	wg.Wait()
	for _, o := range outcomes {
		if o.err != nil {
			t.Errorf("S3 down: %s: %v after %v", o.name, o.err, o.took)
			continue
		}
		code, msg := apiErr(t, o.r)
		t.Logf("S3 down: %s → %d %s %q in %v (Retry-After %q)", o.name, o.r.status, code, msg, o.took.Round(time.Millisecond), o.r.header.Get("Retry-After"))
		if o.r.status != http.StatusServiceUnavailable || o.took > within {
			t.Errorf("S3 down: %s = %d after %v, want 503 within %v", o.name, o.r.status, o.took, within)
		}
		if o.name == "download" && strings.Contains(msg, "stored") {
			t.Errorf("S3 down: the download's message %q speaks of storing, not reading", msg)
		}
	}
	start = time.Now()
	if r := s.call(t, http.MethodGet, "/readyz", "", nil, nil); r.status != http.StatusServiceUnavailable {
		t.Errorf("S3 down: /readyz = %v, want 503", r)
	}
	t.Logf("S3 down: /readyz answered 503 in %v", time.Since(start).Round(time.Millisecond))
	docs = s.listDocs(t, tok)
	n, keys := catalogKeys(t, data)
	t.Logf("S3 down: %d documents listed, %d catalog rows, %d version keys", len(docs), n, len(keys))
	if len(docs) != 1 || n != 1 || docs[0].ID != da.ID {
		t.Errorf("S3 down: the failed uploads left rows: %d listed, %d in the catalog; want only %s", len(docs), n, da.ID)
	}

	up(v)
	back := time.Now()
	t.Logf("versitygw on %s is back", v.addr)
	var db document
	attempts := 0
	for {
		attempts++
		r, err := s.upload(ctx, tok, "bc-55.txt", b, map[string]string{"subject": "Báo cáo quý II"})
		if err == nil && r.status == http.StatusCreated {
			db = decodeDoc(t, r.body)
			break
		}
		t.Logf("S3 back: upload attempt %d: %v %v", attempts, r, err)
		if time.Since(back) > within {
			t.Fatalf("S3 back for %v: uploads still fail", within)
		}
		time.Sleep(time.Second)
	}
	t.Logf("S3 back: upload → 201 at attempt %d, %v after the S3 server came back, without restarting vanthu", attempts, time.Since(back).Round(time.Millisecond))
	if attempts > 1 {
		t.Errorf("S3 back: the first upload after the S3 server came back failed; it took %d attempts", attempts)
	}
	for _, c := range []struct {
		d    document
		want []byte
	}{{da, a}, {db, b}} {
		r, got, err := s.original(ctx, tok, c.d.ID)
		if err != nil || r.status != http.StatusOK || got != sha(c.want) {
			t.Errorf("S3 back: GET original of %s = %v, sha256 %s, %v; want 200 %s", c.d.ID, r.status, got, err, sha(c.want))
		}
	}
	if r := s.call(t, http.MethodGet, "/readyz", "", nil, nil); r.status != http.StatusOK {
		t.Errorf("S3 back: /readyz = %v, want 200", r)
	}
	if got := len(s.listDocs(t, tok)); got != 2 {
		t.Errorf("S3 back: %d documents, want 2", got)
	}
	// A frozen server runs the PUTs it had queued once it resumes, after
	// vanthu gave up on them (and on deleting them): such staged uploads
	// are the start-up sweep's to remove.
	if staged := st.keys(t, data, "uploads/"); len(staged) > 0 {
		t.Logf("S3 back: %d staged uploads left in the bucket by requests the S3 server ran late: %v; restarting vanthu to sweep them", len(staged), staged)
		s.stop()
		s = startServer(t, data, st.env...)
		if staged := st.keys(t, data, "uploads/"); len(staged) > 0 {
			t.Errorf("after a restart: staged uploads still in the bucket: %v", staged)
		}
		if got := len(s.listDocs(t, tok)); got != 2 {
			t.Errorf("after a restart: %d documents, want 2", got)
		}
	}
}

// 8. kill -9 during a stream of uploads, three times: every upload that was
// answered 201 survives with its bytes, and no catalog row lacks its object.
func TestE2EKillDuringUploads(t *testing.T) {
	var corpus [][]byte
	var names []string
	for _, sub := range []string{"pdf", "docx"} {
		m, _ := filepath.Glob(filepath.Join(corpusDir, sub, "*."+sub))
		for _, f := range m {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			corpus, names = append(corpus, b), append(names, filepath.Base(f))
		}
	}
	if len(corpus) == 0 {
		t.Logf("no corpus under %s: uploading generated text files only", corpusDir)
	}
	bothStorages(t, true, func(t *testing.T, st *storage) {
		data := filepath.Join(t.TempDir(), "data")
		tok := addUser(t, data, "clerk", "clerk")

		type created struct{ id, sha, name string }
		var (
			mu   sync.Mutex
			oks  []created
			next atomic.Int64
		)
		// item i is a corpus file made unique by a trailing comment (PDF
		// readers ignore bytes after %%EOF) or a generated text file.
		item := func(i int64) (string, []byte) {
			tag := fmt.Sprintf("\n%% vanthu-e2e %s upload %d\n", st.name, i)
			if len(corpus) > 0 && i%3 == 0 {
				k := int(i/3) % len(corpus)
				return names[k], append(bytes.Clone(corpus[k]), tag...)
			}
			var sb strings.Builder
			fmt.Fprintf(&sb, "CÔNG VĂN\nSố: %d/UBND-VP\nV/v thử nghiệm khôi phục sau sự cố (%s).\n", i, st.name)
			for j := range 50 + i%200 {
				fmt.Fprintf(&sb, "Dòng %d: nội dung văn bản %x.\n", j, mrand.Uint64())
			}
			return fmt.Sprintf("cv-%d.txt", i), []byte(sb.String())
		}

		s := startServer(t, data, st.env...)
		for round := 1; round <= 3; round++ {
			var (
				stop                      = make(chan struct{})
				killed                    atomic.Bool
				made, dups, broken, other atomic.Int64
				wg                        sync.WaitGroup
			)
			srv := s
			for range 4 {
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						i := next.Add(1)
						name, body := item(i)
						ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
						r, err := srv.upload(ctx, tok, name, body, nil)
						cancel()
						switch {
						case err != nil:
							broken.Add(1)
							if !killed.Load() {
								t.Errorf("round %d: upload %s failed before the kill: %v", round, name, err)
							}
						case r.status == http.StatusCreated:
							var d document
							if e := json.Unmarshal(r.body, &d); e != nil || d.SHA256 != sha(body) {
								t.Errorf("round %d: upload %s: 201 with %q (sha256 want %s)", round, name, r.body, sha(body))
								continue
							}
							made.Add(1)
							mu.Lock()
							oks = append(oks, created{d.ID, d.SHA256, name})
							mu.Unlock()
						case r.status == http.StatusConflict:
							dups.Add(1)
						default:
							other.Add(1)
							t.Errorf("round %d: upload %s: %v", round, name, r)
						}
					}
				})
			}
			// Kill once a few uploads of this round have been acknowledged,
			// at a moment that varies from round to round.
			deadline := time.Now().Add(time.Minute)
			for made.Load() < 3 && time.Now().Before(deadline) && !t.Failed() {
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(time.Duration(mrand.IntN(400)) * time.Millisecond)
			killed.Store(true)
			inflight := next.Load()
			close(stop) // no new uploads; those in flight die with the server
			s.kill9()
			wg.Wait()
			t.Logf("%s round %d: kill -9 of pid %d (uploads started so far %d): this round 201=%d 409=%d broken=%d other=%d",
				st.name, round, s.pid, inflight, made.Load(), dups.Load(), broken.Load(), other.Load())
			if made.Load() < 3 {
				t.Fatalf("round %d: only %d uploads succeeded before the kill", round, made.Load())
			}

			start := time.Now()
			s = startServer(t, data, st.env...)
			t.Logf("%s round %d: restarted in %v", st.name, round, time.Since(start).Round(time.Millisecond))
			mu.Lock()
			acked := append([]created(nil), oks...)
			mu.Unlock()
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			for _, c := range acked {
				r, got, err := s.original(ctx, tok, c.id)
				if err != nil || r.status != http.StatusOK || got != c.sha {
					t.Errorf("round %d: acknowledged upload %s (%s) after restart: %v, sha256 %s, %v; want 200 %s", round, c.id, c.name, r.status, got, err, c.sha)
				}
			}
			docs := s.listDocs(t, tok)
			listed := map[string]bool{}
			for _, d := range docs {
				listed[d.ID] = true
				r, got, err := s.original(ctx, tok, d.ID)
				if err != nil || r.status != http.StatusOK || got != d.SHA256 {
					t.Errorf("round %d: document %s (%s) lacks its original: %v, sha256 %s, %v; want 200 %s", round, d.ID, d.Filename, r.status, got, err, d.SHA256)
				}
			}
			cancel()
			for _, c := range acked {
				if !listed[c.id] {
					t.Errorf("round %d: acknowledged upload %s (%s) is not listed", round, c.id, c.name)
				}
			}
			rows, keys := catalogKeys(t, data)
			missing := 0
			for k := range keys {
				if !st.exists(t, data, k) {
					missing++
					t.Errorf("round %d: catalog version key %s has no object", round, k)
				}
			}
			originals := st.keys(t, data, "originals/")
			var orphans []string
			for _, k := range originals {
				if _, ok := keys[k]; !ok {
					orphans = append(orphans, k)
				}
			}
			staged := st.keys(t, data, "uploads/")
			left := st.leftovers(t, data)
			t.Logf("%s round %d: acknowledged %d, listed %d, catalog rows %d, version keys %d (missing objects %d), originals %d (unreferenced %d), staged %d, temp files/multipart uploads %d %v",
				st.name, round, len(acked), len(docs), rows, len(keys), missing, len(originals), len(orphans), len(staged), len(left), left)
			if rows != len(docs) {
				t.Errorf("round %d: %d catalog rows but %d documents listed", round, rows, len(docs))
			}
			if len(orphans) > 0 || len(staged) > 0 {
				t.Errorf("round %d: after the start-up sweep: unreferenced originals %v, staged uploads %v", round, orphans, staged)
			}
			if t.Failed() {
				t.FailNow()
			}
		}
		r := cli(t, st.env, "audit", "verify", "--data", data)
		t.Logf("%s: audit verify after three crashes: exit %d %s", st.name, r.code, strings.TrimSpace(r.stdout+r.stderr))
		if r.code != 0 {
			t.Errorf("audit verify after the crashes: exit %d", r.code)
		}
	})
}

func (v *vgw) signal(sig syscall.Signal) {
	v.t.Helper()
	if err := v.cmd.Process.Signal(sig); err != nil {
		v.t.Fatalf("sending %v to versitygw: %v", sig, err)
	}
}
