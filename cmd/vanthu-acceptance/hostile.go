package main

// Hostile input: malformed multipart, dangerous file names, spoofed types,
// a 10 MB query string and hostile JSON each get a clear 4xx within 5 s,
// leave no goroutine behind, and names are stored sanitised and NFC.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"path/filepath"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// rawRequest writes head+body on a fresh TCP connection while reading the
// answer, so a server that answers before reading everything (as it should
// for a refused body) is heard instead of lost in a broken pipe.
func rawRequest(ctx context.Context, addr string, head []byte, body io.Reader, within time.Duration) (response, error) {
	start := time.Now()
	d := net.Dialer{Timeout: 5 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return response{}, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(within))
	go func() {
		if _, err := conn.Write(head); err != nil {
			return
		}
		if body != nil {
			_, _ = io.Copy(conn, body)
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return response{took: time.Since(start)}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return response{status: resp.StatusCode, header: resp.Header, body: b, took: time.Since(start)}, nil
}

func hostileScenario(r *R) {
	data := filepath.Join(r.TempDir(), "data")
	tok := r.addUser(data, "lan", "clerk")
	s := r.startServer(data)
	addr := strings.TrimPrefix(s.url, "http://")
	within := 5 * time.Second

	// Warm up (lazy pools, the first upload's workers), then count.
	doc := s.mustUpload(tok, "khoi-dong.txt", []byte("CÔNG VĂN\nSố: 1/UBND-VP\nV/v khởi động.\n"), nil)
	time.Sleep(time.Second)
	before := s.goroutines()

	hdr := func(method, path, ct string, length int64, extra ...string) []byte {
		var b bytes.Buffer
		fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n", method, path, addr, tok)
		if ct != "" {
			fmt.Fprintf(&b, "Content-Type: %s\r\n", ct)
		}
		if length >= 0 {
			fmt.Fprintf(&b, "Content-Length: %d\r\n", length)
		}
		for _, e := range extra {
			b.WriteString(e + "\r\n")
		}
		b.WriteString("Connection: close\r\n\r\n")
		return b.Bytes()
	}
	type kase struct {
		name string
		head []byte
		body func() io.Reader
		want []int // acceptable statuses
	}
	var cases []kase
	add := func(name string, want []int, head []byte, body []byte) {
		cases = append(cases, kase{name, head, func() io.Reader { return bytes.NewReader(body) }, want})
	}

	// Malformed multipart.
	ct, good := multipartBody("a.txt", "", []byte("CÔNG VĂN\nnội dung\n"), map[string]string{"subject": "x"})
	add("multipart without boundary", []int{400, 415}, hdr("POST", "/api/v1/documents", "multipart/form-data", int64(len(good))), good)
	trunc := good[:len(good)/2]
	add("truncated multipart body", []int{400}, hdr("POST", "/api/v1/documents", ct, int64(len(trunc))), trunc)
	var many bytes.Buffer
	mw := multipart.NewWriter(&many)
	for i := range 10000 {
		mw.WriteField(fmt.Sprintf("f%d", i), "x")
	}
	mw.Close()
	add("10,000 multipart parts", []int{400, 413}, hdr("POST", "/api/v1/documents", mw.FormDataContentType(), int64(many.Len())), many.Bytes())
	// Content-Type spoofing: an ELF sent as a PDF.
	elf := append([]byte("\x7fELF\x02\x01\x01\x00"), bytes.Repeat([]byte{0}, 2000)...)
	ct2, elfBody := multipartBody("hoa-don.pdf", "application/pdf", elf, nil)
	add("ELF sent as application/pdf", []int{415}, hdr("POST", "/api/v1/documents", ct2, int64(len(elfBody))), elfBody)
	// A 10 MB query string.
	q := "/api/v1/search?q=" + strings.Repeat("a", 10<<20)
	cases = append(cases, kase{"10 MB query string", []byte(fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n", q, addr, tok)), nil, []int{400, 413, 414, 431}})
	// Hostile JSON in PATCH.
	nested := []byte(`{"subject":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`)
	add("100,000-level nested JSON in PATCH", []int{400, 413, 422}, hdr("PATCH", "/api/v1/documents/"+doc.ID, "application/json", int64(len(nested))), nested)
	huge := []byte(`{"subject":"` + strings.Repeat("Trích yếu dài ", 2<<20/len("Trích yếu dài ")) + `"}`)
	add("2 MB JSON in PATCH", []int{400, 413, 422}, hdr("PATCH", "/api/v1/documents/"+doc.ID, "application/json", int64(len(huge))), huge)
	hugeChunked := func() io.Reader { // the same without a Content-Length
		var b bytes.Buffer
		for off := 0; off < len(huge); off += 64 << 10 {
			chunk := huge[off:min(off+64<<10, len(huge))]
			fmt.Fprintf(&b, "%x\r\n%s\r\n", len(chunk), chunk)
		}
		b.WriteString("0\r\n\r\n")
		return &b
	}
	cases = append(cases, kase{"2 MB chunked JSON in PATCH", hdr("PATCH", "/api/v1/documents/"+doc.ID, "application/json", -1, "Transfer-Encoding: chunked"), hugeChunked, []int{400, 413, 422}})

	var worst time.Duration
	okCases := 0
	for _, c := range cases {
		ctx, cancel := context.WithTimeout(r.Ctx, within+5*time.Second)
		var body io.Reader
		if c.body != nil {
			body = c.body()
		}
		resp, err := rawRequest(ctx, addr, c.head, body, within)
		cancel()
		worst = max(worst, resp.took)
		switch {
		case err != nil:
			r.Errorf("%s: no answer within %v: %v", c.name, within, err)
		case !containsInt(c.want, resp.status):
			r.Errorf("%s: %v (after %v), want one of %v", c.name, resp, resp.took.Round(time.Millisecond), c.want)
		case resp.errCode() == "" || resp.errMessage() == "":
			r.Errorf("%s: %d without a {\"error\":{code,message}} body: %q", c.name, resp.status, resp.body)
		default:
			okCases++
			r.Figure("case", "%-36s → %d %s in %v", c.name, resp.status, resp.errCode(), resp.took.Round(time.Millisecond))
		}
	}

	// File names: stored sanitised and NFC.
	nfd := norm.NFD.String("Công văn số 12 về việc đầu tư.txt")
	names := []struct{ name, raw string }{
		{"../ in the name", "../../../etc/cong-van.txt"},
		{"backslash path", `..\..\Windows\cong-van.txt`},
		{"NUL in the name", "cong\x00van.txt"},
		{"RTL override U+202E", "hoa-don-\u202Etxt.exe"},
		{"300-byte name", strings.Repeat("dài", 100) + ".txt"},
		{"NFD Vietnamese", nfd},
	}
	for i, n := range names {
		content := []byte(fmt.Sprintf("CÔNG VĂN\nSố: %d/TEN-VT\nV/v kiểm tra tên tệp %d.\n", 500+i, i))
		// Raw header, so the bytes of the name reach the server as sent.
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		h := make(textproto.MIMEHeader)
		h.Set("Content-Disposition", `form-data; name="file"; filename="`+n.raw+`"`)
		h.Set("Content-Type", "text/plain")
		w, _ := mw.CreatePart(h)
		w.Write(content)
		mw.Close()
		ctx, cancel := context.WithTimeout(r.Ctx, within+5*time.Second)
		resp, err := rawRequest(ctx, addr, hdr("POST", "/api/v1/documents", mw.FormDataContentType(), int64(b.Len())), &b, within)
		cancel()
		worst = max(worst, resp.took)
		if err != nil {
			r.Errorf("file name %s: %v", n.name, err)
			continue
		}
		if resp.status >= 400 && resp.status < 500 && resp.errCode() != "" {
			r.Figure("name", "%-22s → refused %d %s", n.name, resp.status, resp.errCode())
			okCases++
			continue
		}
		if resp.status != http.StatusCreated {
			r.Errorf("file name %s: %v, want 201 (sanitised) or a clear 4xx", n.name, resp)
			continue
		}
		var d document
		_ = json.Unmarshal(resp.body, &d)
		got, gr := s.getDoc(tok, d.ID)
		if gr.status != http.StatusOK {
			r.Errorf("file name %s: GET: %v", n.name, gr)
			continue
		}
		if why := badFilename(got.Filename); why != "" {
			r.Errorf("file name %s: stored as %q: %s", n.name, got.Filename, why)
			continue
		}
		// A cut name keeps its extension, or the download opens with nothing.
		if ext := filepath.Ext(n.raw); len(n.raw) > 200 && !strings.HasSuffix(got.Filename, ext) {
			r.Errorf("file name %s: stored as %q (%d bytes), which lost its extension %q", n.name, got.Filename, len(got.Filename), ext)
			continue
		}
		okCases++
		r.Figure("name", "%-22s → 201, stored as %q (%d bytes)", n.name, got.Filename, len(got.Filename))
	}

	// A PDF sent as text/plain is stored as what it is.
	pdf := []byte("%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n% vanthu-acceptance spoof\n")
	if r.Env.Corpus != "" {
		c := r.loadCorpus(1 << 20)
		for _, f := range c {
			if f.kind == "pdf" {
				pdf = append(bytes.Clone(f.data), "\n% vanthu-acceptance spoof\n"...)
				break
			}
		}
	}
	ct3, pdfBody := multipartBody("cong-van.txt", "text/plain", pdf, nil)
	ctx, cancel := context.WithTimeout(r.Ctx, 30*time.Second)
	resp, err := rawRequest(ctx, addr, hdr("POST", "/api/v1/documents", ct3, int64(len(pdfBody))), bytes.NewReader(pdfBody), 30*time.Second)
	cancel()
	if err != nil || resp.status != http.StatusCreated {
		r.Errorf("PDF sent as text/plain: %v %v, want 201", resp, err)
	} else {
		var d document
		_ = json.Unmarshal(resp.body, &d)
		if d.ContentType != "application/pdf" {
			r.Errorf("PDF sent as text/plain stored as %q, want application/pdf", d.ContentType)
		} else {
			okCases++
			r.Figure("case", "%-36s → 201, content_type %s", "PDF sent as text/plain", d.ContentType)
		}
	}

	// No goroutine leak: after the connections are gone and a moment idle,
	// the count returns near where it was.
	s.http.CloseIdleConnections()
	after := 0
	for range 30 {
		time.Sleep(500 * time.Millisecond)
		if after = s.goroutines(); after <= before+5 {
			break
		}
	}
	if after > before+5 {
		r.Errorf("goroutines: %d before the hostile requests, %d after 15 s idle", before, after)
	}
	r.Figure("goroutines", "before=%d after=%d (tolerance +5)", before, after)
	r.Figure("summary", "%d of %d hostile requests answered as expected; slowest answer %v (bound %v)", okCases, len(cases)+len(names)+1, worst.Round(time.Millisecond), within)
	// Nothing half-registered: every listed document has its original.
	for _, d := range s.listDocs(tok) {
		ctx, cancel := context.WithTimeout(r.Ctx, 30*time.Second)
		resp, err := s.request(ctx, http.MethodGet, "/api/v1/documents/"+d.ID+"/original", tok, nil, nil)
		cancel()
		if err != nil || resp.status != http.StatusOK || sha(resp.body) != d.SHA256 {
			r.Errorf("document %s (%q): original %v %v", d.ID, d.Filename, resp.status, err)
		}
	}
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// badFilename says what is wrong with a stored file name, or "".
func badFilename(n string) string {
	switch {
	case n == "":
		return "empty"
	case strings.ContainsAny(n, `/\`):
		return "contains a path separator"
	case len(n) > 200:
		return fmt.Sprintf("%d bytes, over 200", len(n))
	case !utf8.ValidString(n):
		return "not valid UTF-8"
	case !norm.NFC.IsNormalString(n):
		return "not NFC"
	case n == "." || n == "..":
		return "a path component"
	}
	for _, c := range n {
		if unicode.IsControl(c) || (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069) || c == 0x200E || c == 0x200F || c == 0x061C {
			return fmt.Sprintf("contains %U", c)
		}
	}
	return ""
}
