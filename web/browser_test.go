package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"vanthu/archive"
	"vanthu/archive/records"
)

// Browser tests: the real server in-process, driven by headless Chromium.
// They skip when Chromium is missing, unless VANTHU_TEST_BROWSER_REQUIRED=1
// (the CI script installs Debian's chromium).

const corpusPDF = "../../shared/corpus/pdf"

type browser struct {
	t       *testing.T
	ctx     context.Context
	base    string
	dialogs atomic.Int32
}

func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("VANTHU_TEST_BROWSER_REQUIRED") == "1" {
		t.Fatal("chromium is not installed and VANTHU_TEST_BROWSER_REQUIRED=1")
	}
	t.Skip("chromium is not installed: skipping the browser tests (set VANTHU_TEST_BROWSER_REQUIRED=1 to make this a failure)")
	return ""
}

func newBrowser(t *testing.T, base string) *browser {
	exe := chromium(t)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "vi-VN"),
		chromedp.UserDataDir(t.TempDir()),
		// Chromium's singleton socket directory goes to TMPDIR and is not
		// removed when the browser is killed at the end of a test (the dev
		// machine had one in /tmp per browser test run).
		chromedp.Env("TMPDIR="+t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 150*time.Second)
	t.Cleanup(func() { cancelTime(); cancel(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, base: base}
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	// Any alert(), confirm() or prompt() means a script ran that should not
	// have: count it and close it so the page goes on.
	dialogs := chromedp.Events(ctx, cdppage.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.dialogs.Add(1)
			t.Logf("JavaScript dialog opened: %q", ev.Message)
			_, _ = chromedp.Call(ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	return b
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatal(err)
	}
}

func run[T any](b *browser, a chromedp.Action[T]) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, a)
	if err != nil {
		b.t.Fatal(err)
	}
	return v
}

func (b *browser) open(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base+path), chromedp.WaitReady(chromedp.CSS("body")))
}

func (b *browser) text() string {
	b.t.Helper()
	return run(b, chromedp.Evaluate[string](`document.body.innerText`))
}

func (b *browser) html() string {
	b.t.Helper()
	return run(b, chromedp.OuterHTML(chromedp.CSS("html")))
}

func (b *browser) location() string {
	b.t.Helper()
	return run(b, chromedp.Location())
}

func (b *browser) login(name string) {
	b.t.Helper()
	if _, err := chromedp.Call(b.ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		b.t.Fatal(err)
	}
	b.open("/login")
	b.do(
		chromedp.SendKeys(chromedp.CSS("#name"), name),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Submit(chromedp.CSS("form[action='/login']")),
		chromedp.WaitVisible(chromedp.CSS(".who-name")),
	)
}

// uploadFile goes through the upload page (with its script: XHR, progress,
// then the review page) and returns the new document's id.
func (b *browser) uploadFile(path string) string {
	b.t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		b.t.Fatal(err)
	}
	b.open("/upload")
	b.do(
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{abs}),
		chromedp.Click(chromedp.CSS("#upload-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("form.review-form")),
	)
	loc := b.location()
	id := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(loc, b.base), "/documents/"), "/review")
	if strings.Contains(id, "/") || id == "" {
		b.t.Fatalf("after upload the browser is at %s, not a review page", loc)
	}
	return id
}

// waitForHit searches until the document is among the results (indexing
// runs in the background after an edit).
func (b *browser) waitForHit(q, id string) {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b.open("/?q=" + url.QueryEscape(q))
		found := run(b, chromedp.Evaluate[bool](fmt.Sprintf(`!!document.querySelector('.hits a[href="/documents/%s"]')`, id)))
		if found {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("search %q does not find document %s", q, id)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

type fetched struct {
	Status      int    `json:"status"`
	Disposition string `json:"disposition"`
	ETag        string `json:"etag"`
	Nosniff     string `json:"nosniff"`
	SHA256      string `json:"sha256"`
}

// fetchOriginal downloads a document's original in the page, with the
// session cookie, and hashes what arrived.
func (b *browser) fetchOriginal(id string) fetched {
	b.t.Helper()
	js := fmt.Sprintf(`(async () => {
		const r = await fetch('/documents/%s/original');
		const buf = await r.arrayBuffer();
		const h = new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
		return {status: r.status, disposition: r.headers.get('content-disposition') || '', etag: r.headers.get('etag') || '',
			nosniff: r.headers.get('x-content-type-options') || '',
			sha256: Array.from(h).map(x => x.toString(16).padStart(2, '0')).join('')};
	})()`, id)
	return run(b, chromedp.Evaluate[fetched](js, chromedp.EvalAwaitPromise))
}

func fileSHA(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestBrowser(t *testing.T) {
	chromium(t)
	if testing.Short() {
		t.Skip("browser tests take a while; skipped with -short")
	}
	e := newEnv(t)
	base := e.listen()
	clerk := e.addUser("vanthu", archive.RoleClerk, archive.Mat)
	e.addUser("chuyenvien", archive.RoleOfficer, archive.Unclassified)
	e.addUser("thanhtra", archive.RoleInspector, archive.Mat)
	b := newBrowser(t, base)
	var mainDoc, planDoc string

	t.Run("upload, review, search, download, audit", func(t *testing.T) {
		b.t = t
		pdf := filepath.Join(corpusPDF, "CV-6791-SNNMT-17-7-2026-y-kien-tham-dinh-CCN-Bao-Dap.pdf")
		b.login("vanthu")
		id := b.uploadFile(pdf)
		mainDoc = id
		marked := run(b, chromedp.Evaluate[int](`document.querySelectorAll('form.review-form .badge-extracted').length`))
		d, err := e.cat.Document(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("extracted fields: %v (%d marked on the form)", d.Extracted, marked)
		if len(d.Extracted) > 0 && marked == 0 {
			t.Errorf("the review form marks no extracted field; extracted = %v", d.Extracted)
		}
		subject := "Ý kiến thẩm định hồ sơ cụm công nghiệp Bảo Đáp – bản hiệu đính"
		b.do(
			chromedp.SetValue(chromedp.CSS("#f-subject"), subject),
			chromedp.Click(chromedp.CSS("form.review-form button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS(".notice.ok")),
		)
		if got := run(b, chromedp.Text(chromedp.CSS(".doc-head h1"))); got != subject {
			t.Errorf("document title after review = %q, want %q", got, subject)
		}
		// A word of the corrected field, typed without diacritics.
		b.waitForHit("hieu dinh", id)
		b.do(
			chromedp.Click(chromedp.CSS(fmt.Sprintf(`.hits a[href="/documents/%s"]`, id))),
			chromedp.WaitVisible(chromedp.CSS(".doc-head h1")),
		)
		if !strings.Contains(b.html(), "Số, ký hiệu") {
			t.Errorf("document page lacks the register entry")
		}
		got := b.fetchOriginal(id)
		if want := fileSHA(t, pdf); got.Status != 200 || got.SHA256 != want {
			t.Errorf("download = %d with SHA-256 %s, want 200 with %s", got.Status, got.SHA256, want)
		}
		if !strings.HasPrefix(got.Disposition, "attachment") || got.ETag != `"`+d.SHA256+`"` || got.Nosniff != "nosniff" {
			t.Errorf("download headers: %+v", got)
		}

		b.login("thanhtra")
		b.open("/audit?document=" + id)
		text := b.text()
		for _, want := range []string{"Chuỗi nhật ký toàn vẹn", "Tải lên", "Tải bản gốc", "Sửa thông tin", "vanthu"} {
			if !strings.Contains(text, want) {
				t.Errorf("audit page for the document lacks %q", want)
			}
		}
		b.open("/documents/" + id)
		if !strings.Contains(b.text(), "Lịch sử truy cập văn bản") {
			t.Errorf("inspector's document page has no audit history")
		}
	})

	t.Run("hostile file name and subject are text", func(t *testing.T) {
		b.t = t
		script, img := `<script>alert(1)</script>`, `"><img src=x onerror=alert(1)>`
		dir := t.TempDir()
		name := filepath.Join(dir, img+`<script>alert(1)<script>.txt`)
		if err := os.WriteFile(name, []byte("Công văn thử nghiệm về an toàn hiển thị alert trong trang."), 0o600); err != nil {
			t.Fatal(err)
		}
		b.login("vanthu")
		id := b.uploadFile(name)
		subject := script + " và " + img
		b.do(
			chromedp.SetValue(chromedp.CSS("#f-subject"), subject),
			chromedp.Click(chromedp.CSS("form.review-form button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS(".notice.ok")),
		)
		d, _ := e.cat.Document(context.Background(), id)
		// "onerror" is only in the edited subject: once it finds the
		// document, the index has the edit (the body has "alert" too, so a
		// search for that can find the document before the edit is indexed).
		b.waitForHit("onerror", id)
		injected := `document.querySelectorAll('img[src="x"], img[onerror], script:not([src])').length`
		check := func(who, path string, wantText ...string) {
			t.Helper()
			b.open(path)
			text := b.text()
			for _, w := range wantText {
				if !strings.Contains(text, w) {
					t.Errorf("%s %s: text %q not shown", who, path, w)
				}
			}
			if n := run(b, chromedp.Evaluate[int](injected)); n != 0 {
				t.Errorf("%s %s: %d injected elements", who, path, n)
			}
		}
		check("clerk", "/?q=alert", subject)
		check("clerk", "/documents/"+id, subject, d.Filename)
		check("clerk", "/documents/"+id+"/review", d.Filename)
		check("clerk", "/registers", subject)
		b.login("thanhtra")
		check("inspector", "/audit?document="+id)
		check("inspector", "/documents/"+id, subject, d.Filename)
		if n := b.dialogs.Load(); n != 0 {
			t.Errorf("%d JavaScript dialogs opened", n)
		}
	})

	t.Run("officer without clearance sees no trace of a secret document", func(t *testing.T) {
		b.t = t
		public := e.upload(clerk, "kh-45.txt", []byte("UBND TỈNH QUẢNG NAM\nSố: 45/KH-UBND\nKẾ HOẠCH\nTăng cường quản lý biên giới năm 2026\nGiao Sở Ngoại vụ chủ trì.\n"),
			map[string]string{"number": "45/KH-UBND", "type": "KH", "issuer": "UBND tỉnh Quảng Nam", "subject": "Tăng cường quản lý biên giới năm 2026"})
		secret := e.upload(clerk, "pa-07.txt", []byte("BỘ CHỈ HUY BỘ ĐỘI BIÊN PHÒNG TỈNH\nSố: 07/PA-BCH\nPHƯƠNG ÁN\nBảo vệ biên giới trọng điểm\nThực hiện Kế hoạch số 45/KH-UBND về quản lý biên giới.\n"),
			map[string]string{"number": "07/PA-BCH", "type": "PA", "issuer": "Bộ Chỉ huy Bộ đội Biên phòng tỉnh", "subject": "Bảo vệ biên giới trọng điểm", "classification": "mat"})
		e.waitIndexed(public.ID, archive.Unclassified, "biên giới")
		e.waitIndexed(secret.ID, archive.Mat, "biên giới")
		planDoc = public.ID
		ctx, actor := context.Background(), records.Actor{User: clerk}
		task, err := e.svc.CreateTask(ctx, actor, records.TaskInput{PlanID: public.ID, Title: "Quản lý biên giới và lãnh thổ",
			LeadUnit: "Sở Ngoại vụ", SupportUnits: []string{"Bộ Chỉ huy Bộ đội Biên phòng tỉnh"}, Period: "năm 2026"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.LinkTask(ctx, actor, task.ID, secret.ID, "reports_on"); err != nil {
			t.Fatal(err)
		}
		taskPath := fmt.Sprintf("/tasks/%d", task.ID)
		// The issuer's name is also a supporting unit of the public task, so
		// it is not a secret by itself; its subject, number and id are.
		forbidden := []string{secret.ID, "07/PA-BCH", "Bảo vệ biên giới trọng điểm", "pa-07.txt"}
		b.login("chuyenvien")
		for _, p := range []string{"/", "/?q=bien+gioi", "/?q=" + url.QueryEscape("biên giới trọng điểm"), "/?q=07%2FPA-BCH",
			"/?type=PA", "/?issuer=" + url.QueryEscape("Bộ Chỉ huy Bộ đội Biên phòng tỉnh"), "/documents/" + public.ID,
			"/documents/" + secret.ID, "/documents/" + secret.ID + "/review", "/registers", "/tasks", "/tasks?plan=" + public.ID, taskPath} {
			b.open(p)
			html := b.html()
			for _, f := range forbidden {
				if strings.Contains(html, f) && !strings.Contains(p, url.QueryEscape(f)) && !strings.Contains(p, f) {
					t.Errorf("officer %s: page shows %q", p, f)
				}
			}
		}
		count := func() int {
			n := 0
			fmt.Sscanf(run(b, chromedp.Text(chromedp.CSS(".count"))), "%d", &n)
			return n
		}
		b.open("/?q=bien+gioi")
		officer := count()
		if strings.Contains(b.html(), "Phương án") {
			t.Errorf("officer's facets show the secret document's type")
		}
		// The clerk, cleared for mat, sees exactly one more.
		b.login("vanthu")
		b.open("/?q=bien+gioi")
		if clerk := count(); officer < 1 || clerk != officer+1 {
			t.Errorf("'bien gioi' finds %d for the officer and %d for the cleared clerk; want the clerk to see exactly one more", officer, clerk)
		}
	})

	t.Run("screenshots", func(t *testing.T) {
		b.t = t
		dir := filepath.Join(os.TempDir(), "vanthu-screenshots")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"CV-2265-BCT-ATMT-trien-khai.pdf", "QD-26-QD-XPVPHC-2026-Cuc-Hoa-chat-xu-phat-TNHH-TM-Hai-Dang.pdf"} {
			body, err := os.ReadFile(filepath.Join(corpusPDF, f))
			if err != nil {
				t.Fatal(err)
			}
			d := e.upload(clerk, f, body, nil)
			e.waitIndexed(d.ID, archive.Mat, "")
		}
		ctx, actor := context.Background(), records.Actor{User: clerk}
		for i, in := range []records.TaskInput{
			{Title: "Ngoại giao kinh tế: xúc tiến đầu tư, thương mại với các đối tác nước ngoài", LeadUnit: "Sở Ngoại vụ", SupportUnits: []string{"Sở Công Thương"}, DueDate: "2026-03-31"},
			{Title: "Công tác người Việt Nam ở nước ngoài", LeadUnit: "Sở Ngoại vụ", Period: "năm 2026"},
			{Title: "Quản lý đoàn ra, đoàn vào", LeadUnit: "Văn phòng UBND tỉnh", DueDate: "2026-12-15"},
		} {
			in.PlanID = planDoc
			tv, err := e.svc.CreateTask(ctx, actor, in)
			if err != nil {
				t.Fatal(err)
			}
			rep := e.upload(clerk, fmt.Sprintf("bc-%d.txt", i), []byte(fmt.Sprintf("Báo cáo số %d kết quả thực hiện nhiệm vụ %s.", 10+i, in.Title)),
				map[string]string{"number": fmt.Sprintf("%d/BC-SNgV", 10+i), "type": "BC", "issued_at": fmt.Sprintf("2026-0%d-15", 2+3*i)})
			if _, err := e.svc.LinkTask(ctx, actor, tv.ID, rep.ID, "reports_on"); err != nil {
				t.Fatal(err)
			}
		}
		b.login("vanthu")
		shots := []struct{ name, path string }{
			{"matrix", "/tasks?plan=" + planDoc},
			{"search", "/?q=" + url.QueryEscape("cong nghiep hoa chat")},
			{"document", "/documents/" + mainDoc},
			{"tasks", "/tasks"},
			{"upload", "/upload"},
			{"review", "/documents/" + mainDoc + "/review"},
			{"registers", "/registers"},
		}
		for _, vp := range []struct {
			w, h   int64
			mobile bool
		}{{1280, 900, false}, {390, 844, true}} {
			opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
			if vp.mobile {
				opts = append(opts, chromedp.EmulateMobile)
			}
			b.do(chromedp.EmulateViewport(vp.w, vp.h, opts...))
			for _, s := range shots {
				b.open(s.path)
				png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
				if err != nil {
					t.Fatal(err)
				}
				name := filepath.Join(dir, fmt.Sprintf("%s-%d.png", s.name, vp.w))
				if err := os.WriteFile(name, png, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		b.do(chromedp.Navigate(base+"/login"), chromedp.EmulateViewport(1280, 900))
		t.Logf("screenshots written to %s", dir)
	})
}
