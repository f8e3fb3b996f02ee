package main

// Storage faults (S3 frozen or killed mid-upload) and a full disk.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// storageFaultsScenario: the S3 server frozen (SIGSTOP) and killed during
// uploads. The short variant runs only the killed case with a short outage.
func storageFaultsScenario(r *R) {
	r.needS3()
	if !r.Opt.Short {
		s3Outage(r, "frozen", 60*time.Second)
	}
	outage := 60 * time.Second
	if r.Opt.Short {
		outage = 10 * time.Second
	}
	s3Outage(r, "killed", outage)
}

func s3Outage(r *R, mode string, outage time.Duration) {
	const within = 30 * time.Second
	v := r.startVGW()
	st := r.s3Storage(v, "vanthu-"+mode)
	data := filepath.Join(r.TempDir(), "data")
	tok := r.addUser(data, "lan", "clerk", st.env...)
	s := r.startServer(data, st.env...)
	corpus := r.loadCorpus(1 << 20)
	stats := &uploadStats{}
	var next atomic.Int64
	var (
		mu       sync.Mutex
		downAt   time.Time
		upAt     time.Time
		during   = map[string]int{}
		slowest  time.Duration
		firstOK  time.Duration
		stopping atomic.Bool
		bigSent  atomic.Int64
		bigSlow  atomic.Bool
	)
	phase := func() (down, up time.Time) { mu.Lock(); defer mu.Unlock(); return downAt, upAt }
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for !stopping.Load() && r.Ctx.Err() == nil {
				i := next.Add(1)
				name, body, fields := uploadItem(corpus, mode, i)
				ctx, cancel := context.WithTimeout(r.Ctx, 2*time.Minute)
				start := time.Now()
				var resp response
				var err error
				if w == 0 && bigSent.Load() == 0 {
					// Bigger than one 16 MiB part, its tail sent slowly: a
					// multipart upload is open on the S3 server when the
					// outage strikes.
					name, body = fmt.Sprintf("ban-quet-%d.pdf", i), bigPDF(i, 20<<20)
					ct, mp := multipartBody(name, "", body, fields)
					sr := &slowReader{b: mp, fast: 17 << 20, onSlow: func() { bigSlow.Store(true) }}
					resp, err = s.request(ctx, http.MethodPost, "/api/v1/documents", tok, sr, map[string]string{"Content-Type": ct})
					bigSent.Add(1)
				} else {
					resp, err = s.upload(ctx, tok, name, body, fields)
				}
				cancel()
				end := time.Now()
				d, u := phase()
				inOutage := !d.IsZero() && start.After(d) && (u.IsZero() || end.Before(u))
				outcome := fmt.Sprint(resp.status)
				if err != nil {
					outcome = "transport_error"
				}
				if inOutage {
					mu.Lock()
					during[outcome]++
					slowest = max(slowest, end.Sub(start))
					mu.Unlock()
					if resp.status != http.StatusServiceUnavailable || end.Sub(start) > within {
						r.Errorf("%s S3: upload started during the outage: %v %v after %v, want 503 within %v", mode, resp, err, end.Sub(start).Round(time.Millisecond), within)
					}
				}
				switch {
				case err != nil:
					r.Errorf("%s S3: upload %s: %v", mode, name, err)
					time.Sleep(time.Second)
				case resp.status == http.StatusCreated:
					var doc document
					if json.Unmarshal(resp.body, &doc) != nil || doc.SHA256 != sha(body) {
						r.Errorf("upload %s: 201 with %q", name, resp.body)
						continue
					}
					stats.ack(acked{id: doc.ID, sha: doc.SHA256, number: fields["number"], name: name}, end.Sub(start))
					if !u.IsZero() && start.After(u) {
						mu.Lock()
						if firstOK == 0 {
							firstOK = end.Sub(u)
						}
						mu.Unlock()
					}
				case resp.status == http.StatusServiceUnavailable:
					stats.s503.Add(1)
					if d.IsZero() {
						r.Errorf("%s S3: 503 before the outage: %v", mode, resp)
					}
					time.Sleep(500 * time.Millisecond)
				default:
					stats.other.Add(1)
					r.Errorf("%s S3: upload %s: %v", mode, name, resp)
				}
			}
		})
	}
	for (stats.made.Load() < 4 || !bigSlow.Load()) && !r.Failed() && r.Ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second) // the first 16 MiB part is on the S3 server
	if mode == "frozen" {
		v.signal(syscall.SIGSTOP)
	} else {
		v.kill() // returns once the process is gone
	}
	// The outage starts once the server is down: an upload that began
	// while it was still dying may have been stored, and rightly gets 201.
	mu.Lock()
	downAt = time.Now()
	mu.Unlock()
	r.Logf("%s: S3 down for %v", mode, outage)
	// Reads of the catalog do not depend on S3.
	time.Sleep(outage / 2)
	ctx, cancel := context.WithTimeout(r.Ctx, 10*time.Second)
	lr, lerr := s.request(ctx, http.MethodGet, "/api/v1/documents?size=5", tok, nil, nil)
	cancel()
	if lerr != nil || lr.status != http.StatusOK {
		r.Errorf("%s S3: listing documents during the outage: %v %v", mode, lr, lerr)
	}
	rows0, _, _ := catalogState(r, data)
	time.Sleep(outage - outage/2)
	if mode == "frozen" {
		v.signal(syscall.SIGCONT)
	} else {
		v.start()
	}
	mu.Lock()
	upAt = time.Now()
	mu.Unlock()
	r.Logf("%s: S3 back", mode)
	deadline := time.Now().Add(within + 30*time.Second)
	for time.Now().Before(deadline) && r.Ctx.Err() == nil {
		mu.Lock()
		ok := firstOK > 0
		mu.Unlock()
		if ok {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	stopping.Store(true)
	wg.Wait()
	if firstOK == 0 || firstOK > within {
		r.Errorf("%s S3: no upload succeeded within %v of the S3 server's return (without restarting vanthu)", mode, within)
	}
	// Nothing half-written: every catalog row has its object, every
	// acknowledged upload reads back intact (checked by checkInvariants
	// after a restart, which also sweeps staged uploads and aborts
	// multipart uploads the outage interrupted).
	_, keys, _ := catalogState(r, data)
	missing := 0
	for k := range keys {
		if !st.exists(r, data, k) {
			missing++
			r.Errorf("%s S3: catalog key %s has no object after recovery", mode, k)
		}
	}
	mpBefore := len(st.incompleteUploads(r))
	stagedBefore := len(st.keys(r, data, "uploads/"))
	s.stop()
	s2 := r.startServer(data, st.env...)
	fig := r.checkInvariants(mode+" S3, after a restart", s2, st, tok, stats.acked(), 2*time.Minute)
	if fig.multipart > 0 {
		r.Errorf("%s S3: %d incomplete multipart uploads remain after the restart", mode, fig.multipart)
	}
	d, u := phase()
	r.Figure(mode, "S3 %s for %v; uploads started during the outage: %s, slowest answer %v (bound %v); catalog rows during outage=%d",
		map[string]string{"frozen": "SIGSTOPped", "killed": "killed and restarted"}[mode], u.Sub(d).Round(time.Second), fmtCounts(during), slowest.Round(time.Millisecond), within, rows0)
	r.Figure(mode+"_recovery", "first 201 %v after the S3 server came back, without restarting vanthu; missing objects=%d; after recovery staged=%d incomplete multipart=%d",
		firstOK.Round(time.Millisecond), missing, stagedBefore, mpBefore)
	r.Figure(mode+"_totals", "acknowledged=%d 503=%d other=%d", stats.made.Load(), stats.s503.Load(), stats.other.Load())
	r.Figure(mode+"_after_restart", "%v", fig)
}

// bigPDF is n bytes with a PDF header and deterministic noise.
func bigPDF(seed int64, n int) []byte {
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

// diskFullScenario: the data directory on an 8 MiB tmpfs.
func diskFullScenario(r *R) {
	dir := r.TempDir()
	mnt := filepath.Join(dir, "small")
	if err := os.Mkdir(mnt, 0o700); err != nil {
		r.Fatalf("%v", err)
	}
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=8m"); err != nil {
		r.Skipf("cannot mount an 8 MiB tmpfs at %s (needs root or CAP_SYS_ADMIN): %v", mnt, err)
	}
	registerMount(mnt)
	r.Cleanup(func() {
		if err := syscall.Unmount(mnt, 0); err != nil {
			_ = syscall.Unmount(mnt, syscall.MNT_DETACH)
		}
		unregisterMount(mnt)
	})
	data := filepath.Join(mnt, "data")
	tok := r.addUser(data, "lan", "clerk")
	s := r.startServer(data)
	r.Cleanup(s.stop) // before the unmount
	small := func(i int) []byte {
		return fmt.Appendf(nil, "CÔNG VĂN\nSố: %d/DD-VT\nV/v kiểm tra khi đĩa đầy, bản %d.\n", 700+i, i)
	}
	// The clerk's number makes each upload findable by search whatever
	// the extraction makes of it (see checkInvariants).
	number := func(i int) map[string]string { return map[string]string{"number": fmt.Sprintf("%d/DD-VT", 700+i)} }
	var ack []acked
	before := s.mustUpload(tok, "truoc.txt", small(0), number(0))
	ack = append(ack, acked{id: before.ID, sha: before.SHA256, number: "700/DD-VT", name: "truoc.txt"})
	// Fill the file system, leaving nothing.
	filler := filepath.Join(mnt, "filler")
	f, err := os.Create(filler)
	if err != nil {
		r.Fatalf("%v", err)
	}
	buf := make([]byte, 64<<10)
	var filled int64
	for {
		n, err := f.Write(buf)
		filled += int64(n)
		if err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				r.Fatalf("filling the tmpfs: %v", err)
			}
			break
		}
		if filled > 16<<20 {
			r.Fatalf("the tmpfs took more than 16 MiB")
		}
	}
	f.Close()
	rows0, _, _ := catalogState(r, data)
	statuses := map[string]int{}
	var msg string
	var worst time.Duration
	for i, body := range [][]byte{bigPDF(3, 2<<20), small(1), bigPDF(4, 256<<10)} {
		ctx, cancel := context.WithTimeout(r.Ctx, 60*time.Second)
		resp, err := s.upload(ctx, tok, fmt.Sprintf("day-%d.pdf", i), body, nil)
		cancel()
		if err != nil {
			r.Errorf("disk full: upload %d: %v", i, err)
			continue
		}
		worst = max(worst, resp.took)
		statuses[fmt.Sprint(resp.status)]++
		if resp.status != http.StatusInsufficientStorage && resp.status != http.StatusServiceUnavailable {
			r.Errorf("disk full: upload %d: %v, want 507 or 503", i, resp)
			continue
		}
		if resp.errMessage() == "" {
			r.Errorf("disk full: upload %d: %d without a message: %q", i, resp.status, resp.body)
		}
		msg = resp.errCode() + ": " + resp.errMessage()
	}
	ctx, cancel := context.WithTimeout(r.Ctx, 10*time.Second)
	gr, gerr := s.request(ctx, http.MethodGet, "/api/v1/documents?size=10", tok, nil, nil)
	cancel()
	r.Figure("listing_while_full", "%v %v", gr.status, gerr)
	rows1, keys, integrity := catalogState(r, data)
	if rows1 != rows0 {
		r.Errorf("disk full: catalog rows went from %d to %d though every upload was refused", rows0, rows1)
	}
	st := fsStorage()
	for k := range keys {
		if !st.exists(r, data, k) {
			r.Errorf("disk full: catalog key %s has no object", k)
		}
	}
	var tmpLeft []string
	for _, d := range []string{filepath.Join(data, "objects", ".tmp"), filepath.Join(data, "tmp")} {
		es, _ := os.ReadDir(d)
		for _, e := range es {
			tmpLeft = append(tmpLeft, e.Name())
		}
	}
	staged := st.keys(r, data, "uploads/")
	if len(staged) > 0 || len(tmpLeft) > 0 {
		r.Errorf("disk full: partial files left: staged %v, temp %v", staged, tmpLeft)
	}
	// Free the space: uploads work again without a restart.
	if err := os.Remove(filler); err != nil {
		r.Fatalf("%v", err)
	}
	freed := time.Now()
	var after document
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(r.Ctx, 60*time.Second)
		body := small(10 + attempt)
		resp, err := s.upload(ctx, tok, "sau.txt", body, number(10+attempt))
		cancel()
		if err == nil && resp.status == http.StatusCreated {
			_ = json.Unmarshal(resp.body, &after)
			ack = append(ack, acked{id: after.ID, sha: after.SHA256, number: number(10 + attempt)["number"], name: "sau.txt"})
			r.Figure("recovery", "upload → 201 at attempt %d, %v after the filler was deleted (no restart)", attempt, time.Since(freed).Round(time.Millisecond))
			break
		}
		if time.Since(freed) > 30*time.Second {
			r.Errorf("disk full: uploads still fail 30 s after space was freed: %v %v", resp, err)
			break
		}
		time.Sleep(time.Second)
	}
	if after.ID != "" {
		ctx, cancel := context.WithTimeout(r.Ctx, 30*time.Second)
		resp, err := s.request(ctx, http.MethodGet, "/api/v1/documents/"+after.ID+"/original", tok, nil, nil)
		cancel()
		if err != nil || resp.status != http.StatusOK || sha(resp.body) != after.SHA256 {
			r.Errorf("disk full: the upload after recovery does not read back: %v %v", resp.status, err)
		}
	}
	if integrity != "ok" {
		r.Errorf("disk full: PRAGMA integrity_check = %q", integrity)
	}
	r.Figure("filesystem", "tmpfs size=8m; filler %d KiB until ENOSPC", filled>>10)
	r.Figure("uploads_while_full", "%s, slowest %v; message %q", fmtCounts(statuses), worst.Round(time.Millisecond), msg)
	r.Figure("catalog", "rows before=%d while full=%d; integrity_check=%s; staged/temp left=%d", rows0, rows1, integrity, len(staged)+len(tmpLeft))
	// Everything acknowledged before and after is there and searchable:
	// the index writer, refused by the full disk meanwhile, caught up.
	fig := r.checkInvariants("disk full, after space was freed", s, st, tok, ack, time.Minute)
	r.Figure("invariants", "%v", fig)
}

// slowReader gives fast bytes at full speed, then 64 KiB every 100 ms.
type slowReader struct {
	b      []byte
	off    int
	fast   int
	onSlow func()
	slow   bool
}

func (s *slowReader) Read(p []byte) (int, error) {
	if s.off >= len(s.b) {
		return 0, io.EOF
	}
	if s.off >= s.fast {
		if !s.slow {
			s.slow = true
			s.onSlow()
		}
		time.Sleep(100 * time.Millisecond)
		p = p[:min(len(p), 64<<10)]
	}
	n := copy(p, s.b[s.off:])
	s.off += n
	return n, nil
}
