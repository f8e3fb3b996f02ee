package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"vanthu/archive"
	"vanthu/archive/records"
	"vanthu/archive/sqlite"
)

func TestLogin(t *testing.T) {
	e := newEnv(t)
	e.addUser("vanthu1", archive.RoleClerk, archive.Unclassified)

	for _, tc := range []struct{ name, password string }{
		{"vanthu1", "sai mật khẩu"},
		{"khongtontai", testPassword},
	} {
		c := e.client()
		resp, b := c.login(tc.name, tc.password)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(b, loginFailed) {
			t.Errorf("login(%q, %q) = %d, want 401 with %q", tc.name, tc.password, resp.StatusCode, loginFailed)
		}
		if c.cookies[sessionCookie] != "" {
			t.Errorf("login(%q, %q) set a session cookie", tc.name, tc.password)
		}
	}

	c := e.client()
	resp, _ := c.login("vanthu1", testPassword)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("login = %d to %q, want 303 to /", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body := c.get("/")
	for _, want := range []string{"vanthu1", "Văn thư", "Độ mật: Thường", "Đăng xuất"} {
		if !strings.Contains(body, want) {
			t.Errorf("search page header lacks %q", want)
		}
	}
	evs, err := e.cat.Events(context.Background(), sqlite.AuditFilter{Action: archive.ActionLogin})
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	for _, ev := range evs {
		outcomes = append(outcomes, ev.Actor+":"+ev.Outcome)
	}
	if got, want := strings.Join(outcomes, " "), "vanthu1:failed khongtontai:failed vanthu1:ok"; got != want {
		t.Errorf("login audit = %q, want %q", got, want)
	}
}

func TestLoginWithoutFormToken(t *testing.T) {
	e := newEnv(t)
	e.addUser("vanthu1", archive.RoleClerk, archive.Unclassified)
	c := e.client()
	resp, _ := c.post("/login", url.Values{"name": {"vanthu1"}, "password": {testPassword}})
	if resp.StatusCode != http.StatusForbidden || c.cookies[sessionCookie] != "" {
		t.Errorf("login without the form token = %d (session %v), want 403 and no session", resp.StatusCode, c.cookies[sessionCookie] != "")
	}
}

func TestLoginBackoff(t *testing.T) {
	e := newEnv(t)
	e.addUser("vanthu1", archive.RoleClerk, archive.Unclassified)
	c := e.client()
	for i := 0; i < accountFailCap; i++ {
		if resp, _ := c.login("vanthu1", "đoán sai"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d = %d, want 401", i+1, resp.StatusCode)
		}
	}
	// Even the right password waits out the backoff.
	resp, _ := c.login("vanthu1", testPassword)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("login during backoff = %d (Retry-After %q), want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Another person from another address is not locked out of their account.
	e.addUser("vanthu2", archive.RoleClerk, archive.Unclassified)
	if resp, _ := e.client().login("vanthu2", testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("other account during backoff = %d, want 303", resp.StatusCode)
	}
	e.clock.Advance(backoff(accountFailCap, accountFailCap) + time.Second)
	if resp, _ := c.login("vanthu1", testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login after the backoff = %d, want 303", resp.StatusCode)
	}
	// The wait grows with further failures.
	if backoff(accountFailCap+2, accountFailCap) <= backoff(accountFailCap, accountFailCap) {
		t.Errorf("backoff does not grow")
	}
	evs, _ := e.cat.Events(context.Background(), sqlite.AuditFilter{Action: archive.ActionLogin, Actor: "vanthu1"})
	denied := 0
	for _, ev := range evs {
		if ev.Outcome == "denied" {
			denied++
		}
	}
	if denied != 1 {
		t.Errorf("audit has %d denied logins, want 1", denied)
	}
}

func TestCookieFlags(t *testing.T) {
	e := newEnv(t)
	e.addUser("vanthu1", archive.RoleClerk, archive.Unclassified)
	for _, https := range []bool{false, true} {
		c := e.client()
		c.https = https
		resp, _ := c.login("vanthu1", testPassword)
		var found bool
		for _, ck := range resp.Cookies() {
			if ck.Name != sessionCookie {
				continue
			}
			found = true
			if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure != https || ck.Path != "/" {
				t.Errorf("https=%v: session cookie HttpOnly=%v SameSite=%v Secure=%v Path=%q", https, ck.HttpOnly, ck.SameSite, ck.Secure, ck.Path)
			}
		}
		if !found {
			t.Errorf("https=%v: no session cookie", https)
		}
	}
}

func TestSecurityHeadersOnPages(t *testing.T) {
	e := newEnv(t)
	e.addUser("vanthu1", archive.RoleClerk, archive.Unclassified)
	c := e.client()
	c.login("vanthu1", testPassword)
	for _, p := range []string{"/login", "/", "/upload", "/registers", "/nope"} {
		cl := c
		if p == "/login" {
			cl = e.client()
		}
		resp, _ := cl.get(p)
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP = %q", p, csp)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: missing nosniff or X-Frame-Options", p)
		}
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: Content-Type = %q", p, resp.Header.Get("Content-Type"))
		}
	}
}

func TestAnonymousIsSentToLogin(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	for _, p := range []string{"/", "/upload", "/audit", "/documents/x", "/documents/x/original", "/audit/export"} {
		resp, _ := c.get(p)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
			t.Errorf("GET %s anonymously = %d to %q, want 303 to /login", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

func TestLogoutEndsSessionOnServer(t *testing.T) {
	e := newEnv(t)
	e.addUser("vanthu1", archive.RoleClerk, archive.Unclassified)
	c := e.client()
	c.login("vanthu1", testPassword)
	stolen := c.cookies[sessionCookie]
	_, page := c.get("/")
	// Without the token, logout is refused and the session lives on.
	if resp, _ := c.post("/logout", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("logout without csrf = %d, want 403", resp.StatusCode)
	}
	if resp, _ := c.get("/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("session ended by a logout without csrf")
	}
	resp, _ := c.post("/logout", url.Values{"csrf": {csrfOf(page)}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout = %d, want 303", resp.StatusCode)
	}
	// A copy of the cookie kept elsewhere no longer works.
	replay := e.client()
	replay.cookies[sessionCookie] = stolen
	if resp, _ := replay.get("/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("old session cookie after logout = %d, want 303 to login", resp.StatusCode)
	}
	if _, err := e.cat.Session(context.Background(), archive.TokenHash(stolen)); err == nil {
		t.Errorf("session row still in the catalog after logout")
	}
	evs, _ := e.cat.Events(context.Background(), sqlite.AuditFilter{Action: archive.ActionLogout})
	if len(evs) != 1 || evs[0].Actor != "vanthu1" {
		t.Errorf("logout audit = %+v", evs)
	}
}

func TestIdleTimeout(t *testing.T) {
	e := newEnv(t)
	e.addUser("vanthu1", archive.RoleClerk, archive.Unclassified)
	c := e.client()
	c.login("vanthu1", testPassword)
	e.clock.Advance(sessionIdle - time.Minute)
	if resp, _ := c.get("/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("active session = %d, want 200", resp.StatusCode)
	}
	e.clock.Advance(sessionIdle - time.Minute) // activity above moved last_seen
	if resp, _ := c.get("/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("session used within the idle limit = %d, want 200", resp.StatusCode)
	}
	e.clock.Advance(sessionIdle + time.Minute)
	resp, _ := c.get("/upload")
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "expired=1") {
		t.Errorf("idle session = %d to %q, want 303 to login with expired=1", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestLoweredClearanceTakesEffectAtOnce(t *testing.T) {
	e := newEnv(t)
	clerk := e.addUser("vanthu1", archive.RoleClerk, archive.Mat)
	officer := e.addUser("chuyenvien1", archive.RoleOfficer, archive.Mat)
	d := e.upload(clerk, "mat.txt", []byte("Kế hoạch mật về công tác biên giới năm 2026."), map[string]string{"classification": "mat", "subject": "Kế hoạch mật"})
	c := e.client()
	c.login("chuyenvien1", testPassword)
	before := c.cookies[sessionCookie]
	if resp, _ := c.get("/documents/" + d.ID); resp.StatusCode != http.StatusOK {
		t.Fatalf("cleared officer: document page = %d, want 200", resp.StatusCode)
	}
	e.setClearance(officer, archive.Unclassified)
	resp, body := c.get("/documents/" + d.ID)
	if resp.StatusCode != http.StatusNotFound || strings.Contains(body, "Kế hoạch mật") {
		t.Fatalf("after lowering clearance: document page = %d, want 404 without the subject", resp.StatusCode)
	}
	if c.cookies[sessionCookie] == before || c.cookies[sessionCookie] == "" {
		t.Errorf("session id was not rotated when the clearance changed")
	}
	if !strings.Contains(body, "Độ mật: Thường") {
		t.Errorf("header does not show the new clearance")
	}
	old := e.client()
	old.cookies[sessionCookie] = before
	if resp, _ := old.get("/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("pre-rotation cookie still works: %d", resp.StatusCode)
	}
}

func TestCSRFRequiredAndNothingChanges(t *testing.T) {
	e := newEnv(t)
	clerk := e.addUser("vanthu1", archive.RoleClerk, archive.Unclassified)
	d := e.upload(clerk, "cv.txt", []byte("Công văn về việc tổ chức đoàn công tác."), map[string]string{"subject": "Trích yếu gốc"})
	c := e.client()
	c.login("vanthu1", testPassword)

	// Review form without the token: 403, the subject is unchanged.
	resp, _ := c.post("/documents/"+d.ID+"/review", url.Values{"subject": {"Bị sửa trái phép"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("review without csrf = %d, want 403", resp.StatusCode)
	}
	resp, _ = c.post("/documents/"+d.ID+"/review", url.Values{"subject": {"Bị sửa trái phép"}, "csrf": {"sai"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("review with a wrong csrf = %d, want 403", resp.StatusCode)
	}
	got, _ := e.cat.Document(context.Background(), d.ID)
	if got.Subject != "Trích yếu gốc" {
		t.Errorf("subject changed to %q by a request without csrf", got.Subject)
	}

	// Upload without the token: 403, nothing stored.
	body, ctype := multipartBody(t, "", "moi.txt", []byte("Một văn bản hoàn toàn mới."))
	resp = c.do("POST", "/upload", body, ctype)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("upload without csrf = %d, want 403", resp.StatusCode)
	}
	if n, _ := e.cat.CountDocuments(context.Background()); n != 1 {
		t.Errorf("catalog has %d documents after a refused upload, want 1", n)
	}

	// With the token from the page, the review is saved and audited.
	_, page := c.get("/documents/" + d.ID + "/review")
	resp, _ = c.post("/documents/"+d.ID+"/review", url.Values{"csrf": {csrfOf(page)}, "subject": {"Trích yếu đã sửa"},
		"direction": {"incoming"}, "classification": {"none"}, "urgency": {"none"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("review with csrf = %d, want 303", resp.StatusCode)
	}
	got, _ = e.cat.Document(context.Background(), d.ID)
	if got.Subject != "Trích yếu đã sửa" {
		t.Errorf("subject = %q after review", got.Subject)
	}
}

// multipartBody builds the upload form's body: csrf first, then the file.
func multipartBody(t *testing.T, csrf, filename string, content []byte) (io.Reader, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if csrf != "" {
		_ = w.WriteField("csrf", csrf)
	}
	_ = w.WriteField("direction", "incoming")
	fw, err := w.CreateFormFile("file", filename)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(content)
	w.Close()
	return &buf, w.FormDataContentType()
}

func TestUploadFormWithoutJavaScript(t *testing.T) {
	e := newEnv(t)
	e.addUser("vanthu1", archive.RoleClerk, archive.Unclassified)
	e.addUser("chuyenvien1", archive.RoleOfficer, archive.Unclassified)
	c := e.client()
	c.login("vanthu1", testPassword)
	_, page := c.get("/upload")
	content := []byte("UBND TỈNH QUẢNG NAM\nSố: 1623/KH-UBND\nKẾ HOẠCH\nCông tác đối ngoại năm 2018\n")
	body, ctype := multipartBody(t, csrfOf(page), "kh-1623.txt", content)
	resp := c.do("POST", "/upload", body, ctype)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(loc, "/review") {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("upload = %d to %q, want 303 to the review page\n%s", resp.StatusCode, loc, b)
	}
	resp, review := c.get(loc)
	if resp.StatusCode != http.StatusOK || !strings.Contains(review, "kh-1623.txt") {
		t.Fatalf("review page = %d", resp.StatusCode)
	}
	// The same bytes again: a duplicate, with a link to the first.
	id := strings.TrimSuffix(strings.TrimPrefix(loc, "/documents/"), "/review")
	body, ctype = multipartBody(t, csrfOf(page), "ban-sao.txt", content)
	resp = c.do("POST", "/upload", body, ctype)
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(string(b), `href="/documents/`+id+`"`) {
		t.Errorf("duplicate upload = %d, want 409 with a link to %s", resp.StatusCode, id)
	}
	// Script path: JSON answer, token in a header.
	body, ctype = multipartBody(t, "", "khac.txt", []byte("Báo cáo kết quả công tác lãnh sự quý III."))
	resp = c.do("POST", "/upload", body, ctype, "Accept", "application/json", "X-CSRF-Token", csrfOf(page))
	b, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated || !strings.Contains(string(b), `"review":"/documents/`) {
		t.Errorf("script upload = %d %s", resp.StatusCode, b)
	}
	// Officers may not upload.
	o := e.client()
	o.login("chuyenvien1", testPassword)
	if resp, _ := o.get("/upload"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("officer GET /upload = %d, want 403", resp.StatusCode)
	}
}

func TestEveryPageRenders(t *testing.T) {
	e := newEnv(t)
	clerk := e.addUser("vanthu1", archive.RoleClerk, archive.Unclassified)
	e.addUser("thanhtra1", archive.RoleInspector, archive.Unclassified)
	d := e.upload(clerk, "kh.txt", []byte("UBND TỈNH QUẢNG NAM\nSố: 1623/KH-UBND\nQuảng Nam, ngày 10 tháng 4 năm 2018\nKẾ HOẠCH\nCông tác đối ngoại năm 2018\n"), nil)
	e.waitIndexed(d.ID, archive.Unclassified, "đối ngoại")
	task, err := e.svc.CreateTask(context.Background(), records.Actor{User: clerk}, records.TaskInput{PlanID: d.ID,
		Title: "Ngoại giao kinh tế", LeadUnit: "Sở Ngoại vụ", DueDate: "2018-06-30"})
	if err != nil {
		t.Fatal(err)
	}
	taskPath := fmt.Sprintf("/tasks/%d", task.ID)
	for _, who := range []string{"vanthu1", "thanhtra1"} {
		c := e.client()
		c.login(who, testPassword)
		paths := []string{"/", "/?q=doi+ngoai", "/?q=%22kh%C3%B4ng+c%C3%B3+g%C3%AC%22", "/?q=doi&type=KH", "/documents/" + d.ID,
			"/registers", "/registers?direction=outgoing", "/tasks", "/tasks?plan=" + d.ID, taskPath}
		if who == "vanthu1" {
			paths = append(paths, "/upload", "/documents/"+d.ID+"/review")
		} else {
			paths = append(paths, "/audit", "/audit?actor=vanthu1&from=2020-01-01", "/audit/export")
		}
		for _, p := range paths {
			resp, body := c.get(p)
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s GET %s = %d\n%.400s", who, p, resp.StatusCode, body)
			}
		}
	}
	c := e.client()
	c.login("vanthu1", testPassword)
	report := e.upload(clerk, "bc.txt", []byte("Báo cáo kết quả ngoại giao kinh tế quý II năm 2018."), map[string]string{"issued_at": "2018-05-20", "type": "BC"})
	_, page := c.get(taskPath)
	resp, _ := c.post(taskPath+"/documents", url.Values{"document_id": {report.ID}, "relation": {"reports_on"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("link without csrf = %d, want 403", resp.StatusCode)
	}
	resp, _ = c.post(taskPath+"/documents", url.Values{"csrf": {csrfOf(page)}, "document_id": {"http://x/documents/" + report.ID}, "relation": {"reports_on"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("link = %d, want 303", resp.StatusCode)
	}
	if _, body := c.get("/tasks?plan=" + d.ID); !strings.Contains(body, `class="report" href="/documents/`+report.ID+`"`) {
		t.Errorf("the matrix does not show the linked report")
	}
	_, body := c.get("/?q=doi+ngoai")
	if !strings.Contains(body, "<mark>") || !strings.Contains(body, "/documents/"+d.ID) {
		t.Errorf("search without diacritics does not show the highlighted hit")
	}
	resp = c.do("GET", "/documents/"+d.ID+"/original", nil, "")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") ||
		resp.Header.Get("ETag") != `"`+d.SHA256+`"` || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("download = %d, headers %v", resp.StatusCode, resp.Header)
	}
}
