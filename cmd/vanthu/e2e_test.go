package main

// End-to-end acceptance tests of the archive core against the real binary:
// `vanthu serve` in its own process, users and tokens made with the CLI, and
// every check made through the HTTP API, the data directory, the bucket or
// the CLI, as an operator would.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// 1. The run command serves /healthz with nothing else running.
func TestE2EHealthz(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	vanthuBin(t)
	start := time.Now()
	s := startServer(t, data)
	r := s.call(t, http.MethodGet, "/healthz", "", nil, nil)
	t.Logf("GET /healthz → %v, %v after the process started", r, time.Since(start).Round(time.Millisecond))
	if r.status != http.StatusOK {
		t.Fatalf("GET /healthz = %v, want 200", r)
	}
	var body struct{ Status string }
	if err := json.Unmarshal(r.body, &body); err != nil || body.Status != "ok" {
		t.Errorf("GET /healthz body %q, want {\"status\":\"ok\"}", r.body)
	}
	if r := s.call(t, http.MethodGet, "/readyz", "", nil, nil); r.status != http.StatusOK {
		t.Errorf("GET /readyz = %v, want 200 with the embedded store", r)
	}
	if _, err := os.Stat(filepath.Join(data, "catalog.db")); err != nil {
		t.Errorf("the data directory has no catalog: %v", err)
	}
}

// 2. No token, a bad token, and a deleted user's token are all 401 with the
// JSON error shape.
func TestE2EAuth(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	tok := addUser(t, data, "vanthu_lan", "clerk")
	s := startServer(t, data)

	r := s.call(t, http.MethodGet, "/api/v1/documents", "", nil, nil)
	code, msg := apiErr(t, r)
	t.Logf("no token → %d %s: %s", r.status, code, msg)
	if r.status != http.StatusUnauthorized {
		t.Errorf("no token: %v, want 401", r)
	}
	if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("no token: WWW-Authenticate %q, want a Bearer challenge", r.header.Get("WWW-Authenticate"))
	}
	r = s.call(t, http.MethodGet, "/api/v1/documents", "not-a-token", nil, nil)
	code, msg = apiErr(t, r)
	t.Logf("unknown token → %d %s: %s", r.status, code, msg)
	if r.status != http.StatusUnauthorized {
		t.Errorf("unknown token: %v, want 401", r)
	}

	if r := s.call(t, http.MethodGet, "/api/v1/documents", tok, nil, nil); r.status != http.StatusOK {
		t.Fatalf("valid token: %v, want 200", r)
	}
	doc := s.mustUpload(t, tok, "to-trinh.txt", []byte("Tờ trình về việc phê duyệt kế hoạch năm 2026.\n"), nil)

	out := mustCLI(t, nil, "user", "delete", "vanthu_lan", "--data", data)
	t.Logf("vanthu user delete: %s", strings.TrimSpace(out))
	for _, p := range []string{"/api/v1/documents", "/api/v1/documents/" + doc.ID, "/api/v1/documents/" + doc.ID + "/original"} {
		r := s.call(t, http.MethodGet, p, tok, nil, nil)
		code, msg := apiErr(t, r)
		t.Logf("deleted user's token, GET %s → %d %s: %s", p, r.status, code, msg)
		if r.status != http.StatusUnauthorized {
			t.Errorf("deleted user's token, GET %s: %v, want 401", p, r)
		}
	}
	ct, body := multipartBody("x.txt", []byte("Công văn số 12/CV-UBND.\n"), nil)
	r = s.call(t, http.MethodPost, "/api/v1/documents", tok, bytes.NewReader(body), map[string]string{"Content-Type": ct})
	apiErr(t, r)
	if r.status != http.StatusUnauthorized {
		t.Errorf("deleted user's token, upload: %v, want 401", r)
	}
	if r := cli(t, nil, "token", "create", "vanthu_lan", "--data", data); r.code == 0 {
		t.Errorf("token create for a deleted user succeeded: %q", r.stdout)
	}
}

// 3. Every corpus PDF and DOCX uploads with 201 and downloads byte for byte,
// with its ETag, and Range requests answer 206 with the right bytes.
func TestE2ECorpusRoundTrip(t *testing.T) {
	files := corpusFiles(t)
	contents := make([][]byte, len(files))
	var total int64
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		contents[i] = b
		total += int64(len(b))
	}
	t.Logf("corpus: %d files, %.1f MiB", len(files), float64(total)/(1<<20))
	bothStorages(t, true, func(t *testing.T, st *storage) {
		data := filepath.Join(t.TempDir(), "data")
		tok := addUser(t, data, "clerk", "clerk")
		s := startServer(t, data, st.env...)

		docs := make([]document, len(files))
		took := make([]time.Duration, len(files))
		// Four uploads at a time: each waits up to 5 s for its extraction.
		var wg sync.WaitGroup
		sem := make(chan struct{}, 4)
		start := time.Now()
		for i := range files {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
				defer cancel()
				t0 := time.Now()
				r, err := s.upload(ctx, tok, filepath.Base(files[i]), contents[i], nil)
				took[i] = time.Since(t0)
				if err != nil {
					t.Errorf("upload %s: %v", files[i], err)
					return
				}
				if r.status != http.StatusCreated {
					t.Errorf("upload %s: %v, want 201", files[i], r)
					return
				}
				if err := json.Unmarshal(r.body, &docs[i]); err != nil {
					t.Errorf("upload %s: body %q: %v", files[i], r.body, err)
				}
			})
		}
		wg.Wait()
		t.Logf("%s: %d uploads in %v (%.1f MiB/s), slowest %v", st.name, len(files), time.Since(start).Round(time.Millisecond),
			float64(total)/(1<<20)/time.Since(start).Seconds(), slices.Max(took).Round(time.Millisecond))
		if t.Failed() {
			t.FailNow()
		}

		start = time.Now()
		for i, f := range files {
			d, want := docs[i], contents[i]
			name := filepath.Base(f)
			wantSHA := sha(want)
			if d.SHA256 != wantSHA || d.Size != int64(len(want)) {
				t.Errorf("%s: document says sha256 %s size %d, want %s %d", name, d.SHA256, d.Size, wantSHA, len(want))
			}
			wantType := "application/pdf"
			if strings.HasSuffix(name, ".docx") {
				wantType = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
			}
			if d.ContentType != wantType {
				t.Errorf("%s: content_type %q, want %q", name, d.ContentType, wantType)
			}

			r := s.call(t, http.MethodGet, "/api/v1/documents/"+d.ID+"/original", tok, nil, nil)
			if r.status != http.StatusOK || sha(r.body) != wantSHA {
				t.Errorf("%s: GET original = %d, %d bytes sha256 %s; want 200, %d bytes %s", name, r.status, len(r.body), sha(r.body), len(want), wantSHA)
			}
			if et := r.header.Get("ETag"); et != `"`+wantSHA+`"` {
				t.Errorf("%s: ETag %s, want \"%s\"", name, et, wantSHA)
			}
			if cd := r.header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") {
				t.Errorf("%s: Content-Disposition %q, want attachment", name, cd)
			}
			if r.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s: X-Content-Type-Options %q, want nosniff", name, r.header.Get("X-Content-Type-Options"))
			}

			n := int64(len(want))
			from := n / 3
			to := min(from+64<<10-1, n-1)
			for _, rg := range []struct {
				header   string
				from, to int64
			}{
				{fmt.Sprintf("bytes=%d-%d", from, to), from, to},
				{"bytes=-1000", n - 1000, n - 1},
				{fmt.Sprintf("bytes=%d-", n-10), n - 10, n - 1},
			} {
				r := s.call(t, http.MethodGet, "/api/v1/documents/"+d.ID+"/original", tok, nil, map[string]string{"Range": rg.header})
				wantCR := fmt.Sprintf("bytes %d-%d/%d", rg.from, rg.to, n)
				if r.status != http.StatusPartialContent || r.header.Get("Content-Range") != wantCR || !bytes.Equal(r.body, want[rg.from:rg.to+1]) {
					t.Errorf("%s: Range %s = %d, Content-Range %q, %d bytes (equal %v); want 206, %q, %d bytes",
						name, rg.header, r.status, r.header.Get("Content-Range"), len(r.body), bytes.Equal(r.body, want[rg.from:rg.to+1]), wantCR, rg.to-rg.from+1)
				}
			}
			t.Logf("%s: %-70s %9d bytes %-4s text=%-7s upload %v", st.name, name, n, strings.TrimPrefix(filepath.Ext(name), "."), d.TextStatus, took[i].Round(time.Millisecond))
		}
		t.Logf("%s: %d downloads and %d range requests checked in %v", st.name, len(files), 3*len(files), time.Since(start).Round(time.Millisecond))
		if got := len(s.listDocs(t, tok)); got != len(files) {
			t.Errorf("%s: %d documents listed, want %d", st.name, got, len(files))
		}
	})
}

// 4. Limits: empty → 400; one byte over VANTHU_MAX_UPLOAD → 413 naming the
// limit, leaving no object, row or temp file; an executable → 415; a PDF of
// exactly the limit → 201.
func TestE2EUploadLimits(t *testing.T) {
	const limit = 1 << 20
	elf, err := os.ReadFile(vanthuBin(t))
	if err != nil {
		t.Fatal(err)
	}
	elf = elf[:64<<10]
	bothStorages(t, true, func(t *testing.T, st *storage) {
		data := filepath.Join(t.TempDir(), "data")
		tok := addUser(t, data, "clerk", "clerk")
		s := startServer(t, data, append(st.env, "VANTHU_MAX_UPLOAD="+strconv.Itoa(limit))...)

		nothingStored := func(when string) {
			t.Helper()
			if keys := st.keys(t, data, ""); len(keys) > 0 {
				t.Errorf("%s: the store holds %d objects, want none: %v", when, len(keys), keys)
			}
			if docs := s.listDocs(t, tok); len(docs) > 0 {
				t.Errorf("%s: %d documents listed, want none", when, len(docs))
			}
			if left := st.leftovers(t, data); len(left) > 0 {
				t.Errorf("%s: temp files left: %v", when, left)
			}
		}
		cases := []struct {
			name   string
			file   string
			data   []byte
			status int
			check  func(code, msg string)
		}{
			{"empty", "rong.pdf", nil, http.StatusBadRequest, nil},
			{"one byte over the limit", "qua-lon.pdf", fakePDF(1, limit+1), http.StatusRequestEntityTooLarge, func(code, msg string) {
				if !strings.Contains(msg, strconv.Itoa(limit)) && !strings.Contains(msg, "1.0 MiB") && !strings.Contains(msg, "1 MiB") {
					t.Errorf("413 message %q does not name the limit (%d bytes)", msg, limit)
				}
			}},
			{"far over the limit", "rat-lon.pdf", fakePDF(2, 3*limit), http.StatusRequestEntityTooLarge, nil},
			{"ELF executable", "vanthu.pdf", elf, http.StatusUnsupportedMediaType, nil},
		}
		for _, c := range cases {
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			t0 := time.Now()
			r, err := s.upload(ctx, tok, c.file, c.data, map[string]string{"subject": "thử giới hạn"})
			cancel()
			if err != nil {
				t.Errorf("%s: upload: %v", c.name, err)
				continue
			}
			code, msg := apiErr(t, r)
			t.Logf("%s: %s (%d bytes) → %d %s %q in %v", st.name, c.name, len(c.data), r.status, code, msg, time.Since(t0).Round(time.Millisecond))
			if r.status != c.status {
				t.Errorf("%s: %v, want %d", c.name, r, c.status)
			}
			if c.check != nil {
				c.check(code, msg)
			}
			nothingStored("after " + c.name)
		}
		// The server keeps answering on new connections after refusals.
		exact := fakePDF(3, limit)
		d := s.mustUpload(t, tok, "vua-du.pdf", exact, nil)
		t.Logf("%s: PDF of exactly %d bytes → 201, id %s size %d", st.name, limit, d.ID, d.Size)
		if d.Size != limit || d.SHA256 != sha(exact) {
			t.Errorf("exact-limit upload: size %d sha256 %s, want %d %s", d.Size, d.SHA256, limit, sha(exact))
		}
		r := s.call(t, http.MethodGet, "/api/v1/documents/"+d.ID+"/original", tok, nil, nil)
		if r.status != http.StatusOK || sha(r.body) != sha(exact) {
			t.Errorf("exact-limit download: %d, sha256 %s", r.status, sha(r.body))
		}
		originals := st.keys(t, data, "originals/")
		uploads := st.keys(t, data, "uploads/")
		t.Logf("%s: store after the exact-limit upload: originals %v, staged %v", st.name, originals, uploads)
		if len(originals) != 1 || !strings.HasSuffix(originals[0], d.SHA256) || len(uploads) != 0 {
			t.Errorf("store after one upload: originals %v, staged %v; want one original named by its sha256", originals, uploads)
		}
	})
}

// 7. Each upload, download and edit writes exactly one audit event; the
// chain verifies; a changed event row is found by `vanthu audit verify`.
func TestE2EAuditTrail(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	const clerk = "vt_hoa"
	tok := addUser(t, data, clerk, "clerk")
	insp := addUser(t, data, "tt_minh", "inspector")
	s := startServer(t, data)

	type event struct {
		Seq        int64          `json:"seq"`
		Actor      string         `json:"actor"`
		Action     string         `json:"action"`
		DocumentID string         `json:"document_id"`
		Outcome    string         `json:"outcome"`
		Details    map[string]any `json:"details"`
	}
	// clerkEvents lists every event of the clerk through the API.
	clerkEvents := func() []event {
		t.Helper()
		var out []event
		after := ""
		for {
			r := s.call(t, http.MethodGet, "/api/v1/audit?size=1000&actor="+clerk+"&after="+after, insp, nil, nil)
			if r.status != http.StatusOK {
				t.Fatalf("GET /api/v1/audit: %v", r)
			}
			var page struct {
				Items []event `json:"items"`
				Next  *string `json:"next"`
			}
			if err := json.Unmarshal(r.body, &page); err != nil {
				t.Fatalf("audit body %q: %v", r.body, err)
			}
			out = append(out, page.Items...)
			if page.Next == nil {
				return out
			}
			after = *page.Next
		}
	}
	// one runs op and requires exactly one new event of the clerk: action on
	// document id (id "" = the document op reports).
	one := func(what, action string, op func() string) event {
		t.Helper()
		before := clerkEvents()
		id := op()
		after := clerkEvents()
		counts := map[string]int{}
		for _, e := range before {
			counts[e.Action+" "+e.DocumentID]--
		}
		var added []event
		for _, e := range after {
			counts[e.Action+" "+e.DocumentID]++
			if !slices.ContainsFunc(before, func(b event) bool { return b.Seq == e.Seq }) {
				added = append(added, e)
			}
		}
		t.Logf("%s: clerk events %d → %d; new: %+v", what, len(before), len(after), added)
		if len(added) != 1 || added[0].Action != action || added[0].DocumentID != id || added[0].Outcome != "ok" {
			t.Fatalf("%s: new audit events %+v, want exactly one %s of %s with outcome ok", what, added, action, id)
		}
		for k, n := range counts {
			if want := 0; k == action+" "+id {
				want = 1
				if n != want {
					t.Errorf("%s: events (action, document) %q changed by %d, want %d", what, k, n, want)
				}
			} else if n != want {
				t.Errorf("%s: events (action, document) %q changed by %d, want %d", what, k, n, want)
			}
		}
		return added[0]
	}

	content := []byte("KẾ HOẠCH\nTriển khai công tác văn thư, lưu trữ năm 2026\nSố: 15/KH-UBND\n")
	var doc document
	up := one("upload", "document.upload", func() string {
		doc = s.mustUpload(t, tok, "ke-hoach-15.txt", content, map[string]string{"subject": "Kế hoạch công tác văn thư"})
		return doc.ID
	})
	if up.Details["sha256"] != sha(content) {
		t.Errorf("upload event details %v, want sha256 %s", up.Details, sha(content))
	}
	one("download", "document.download", func() string {
		r := s.call(t, http.MethodGet, "/api/v1/documents/"+doc.ID+"/original", tok, nil, nil)
		if r.status != http.StatusOK || sha(r.body) != sha(content) {
			t.Fatalf("download: %d sha256 %s", r.status, sha(r.body))
		}
		return doc.ID
	})
	one("range download", "document.download", func() string {
		r := s.call(t, http.MethodGet, "/api/v1/documents/"+doc.ID+"/original", tok, nil, map[string]string{"Range": "bytes=0-9"})
		if r.status != http.StatusPartialContent || !bytes.Equal(r.body, content[:10]) {
			t.Fatalf("range download: %v", r)
		}
		return doc.ID
	})
	ed := one("edit", "document.edit", func() string {
		r := s.call(t, http.MethodPatch, "/api/v1/documents/"+doc.ID, tok, strings.NewReader(`{"subject":"Kế hoạch công tác văn thư, lưu trữ năm 2026"}`),
			map[string]string{"Content-Type": "application/json"})
		if r.status != http.StatusOK {
			t.Fatalf("PATCH: %v", r)
		}
		if d := decodeDoc(t, r.body); d.Subject != "Kế hoạch công tác văn thư, lưu trữ năm 2026" {
			t.Errorf("PATCH answered subject %q", d.Subject)
		}
		return doc.ID
	})
	if b, _ := json.Marshal(ed.Details); !strings.Contains(string(b), "before") || !strings.Contains(string(b), "Kế hoạch công tác văn thư, lưu trữ năm 2026") {
		t.Errorf("edit event details %s, want before and after", b)
	}

	out := mustCLI(t, nil, "audit", "verify", "--data", data)
	t.Logf("audit verify while serving: %s", strings.TrimSpace(out))
	s.stop()
	if err := s.exitErr(); err != nil {
		t.Errorf("vanthu serve after SIGTERM: %v", err)
	}
	out = mustCLI(t, nil, "audit", "verify", "--data", data)
	t.Logf("audit verify after stop: %s", strings.TrimSpace(out))
	if !strings.Contains(out, "ok") {
		t.Errorf("audit verify printed %q", out)
	}

	n := up.Seq
	sqlCmd := fmt.Sprintf("DROP TRIGGER audit_no_update; UPDATE audit SET actor='x' WHERE seq=%d", n)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if out, err := execCombined(ctx, "sqlite3", filepath.Join(data, "catalog.db"), sqlCmd); err != nil {
		t.Fatalf("sqlite3 %q: %v\n%s", sqlCmd, err, out)
	}
	r := cli(t, nil, "audit", "verify", "--data", data)
	t.Logf("audit verify after changing event %d: exit %d, %s%s", n, r.code, strings.TrimSpace(r.stdout), strings.TrimSpace(r.stderr))
	if r.code == 0 {
		t.Errorf("audit verify exited 0 after event %d was changed", n)
	}
	if !regexp.MustCompile(`\b` + strconv.FormatInt(n, 10) + `\b`).MatchString(r.stdout + r.stderr) {
		t.Errorf("audit verify output does not name sequence number %d: %q", n, r.stdout+r.stderr)
	}
}

// 3b. An upload sent with Transfer-Encoding: chunked (what a streaming
// client sends when it does not know the length) leaves the keep-alive
// connection clean: the next request on it gets its own answer.
func TestE2EChunkedUploadKeepAlive(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	tok := addUser(t, data, "clerk", "clerk")
	s := startServer(t, data)
	host := strings.TrimPrefix(s.url, "http://")

	conn, err := net.DialTimeout("tcp", host, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Minute))
	br := bufio.NewReader(conn)
	roundTrip := func(what, raw string) *http.Response {
		t.Helper()
		if _, err := io.WriteString(conn, raw); err != nil {
			t.Fatalf("%s: writing the request: %v", what, err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: reading the response: %v", what, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s: reading the response body: %v", what, err)
		}
		t.Logf("%s → %d %.200s", what, resp.StatusCode, bytes.TrimSpace(b))
		resp.Body = io.NopCloser(bytes.NewReader(b))
		return resp
	}
	for i, c := range []struct {
		size     int
		chunked  bool
		epilogue string
		token    string
		status   int
	}{
		{2 << 10, true, "", tok, http.StatusCreated},
		{3 << 20, true, "", tok, http.StatusCreated},
		{3 << 20, true, "epilogue\r\n", tok, http.StatusCreated},
		// RFC 2046 allows an epilogue after the closing boundary.
		{3 << 20, false, strings.Repeat("phần kết sau ranh giới cuối\r\n", 400), tok, http.StatusCreated},
		// Refused before a byte of the body is read.
		{3 << 20, true, "", "not-a-token", http.StatusUnauthorized},
		{3 << 20, false, "", "not-a-token", http.StatusUnauthorized},
	} {
		size := c.size
		ct, body := multipartBody(fmt.Sprintf("bao-cao-%d.pdf", i), fakePDF(byte(40+i), size), map[string]string{"subject": "Báo cáo gửi theo từng khúc"})
		body = append(body, c.epilogue...)
		var req strings.Builder
		fmt.Fprintf(&req, "POST /api/v1/documents HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\n", host, c.token, ct)
		if c.chunked {
			req.WriteString("Transfer-Encoding: chunked\r\n\r\n")
			for off := 0; off < len(body); off += 64 << 10 {
				chunk := body[off:min(off+64<<10, len(body))]
				fmt.Fprintf(&req, "%x\r\n%s\r\n", len(chunk), chunk)
			}
			req.WriteString("0\r\n\r\n")
		} else {
			fmt.Fprintf(&req, "Content-Length: %d\r\n\r\n%s", len(body), body)
		}
		resp := roundTrip(fmt.Sprintf("upload of %d bytes, chunked %v, epilogue %d bytes", size, c.chunked, len(c.epilogue)), req.String())
		if resp.StatusCode != c.status {
			t.Fatalf("upload %d: %d, want %d", i, resp.StatusCode, c.status)
		}
		if resp.Close {
			t.Fatalf("upload %d: the server closed the connection after a %d", i, resp.StatusCode)
		}
		resp = roundTrip("GET /healthz on the same connection", "GET /healthz HTTP/1.1\r\nHost: "+host+"\r\n\r\n")
		if b, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte(`"ok"`)) {
			t.Fatalf("the request after a chunked upload of %d bytes got %d %s, want 200 {\"status\":\"ok\"}: the upload left bytes of its body on the connection", size, resp.StatusCode, b)
		}
	}
}
