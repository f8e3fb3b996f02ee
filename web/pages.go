package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"vanthu/archive"
	"vanthu/archive/records"
)

// The server-rendered pages: Vietnamese, usable without JavaScript, styled
// and enhanced only by files under static/ (the CSP forbids inline script
// and style). Templates and static files are embedded and parsed when the
// server is built, so a broken template stops the boot, not a clerk.

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages holds what the page handlers share.
type pages struct {
	tmpl   map[string]*template.Template // page name → layout + page
	static map[string]staticFile         // "/static/app.css" → file

	dummyOnce sync.Once
	dummy     string
}

type staticFile struct {
	body []byte
	ctype,
	etag string
}

func loadPages() (*pages, error) {
	p := &pages{tmpl: map[string]*template.Template{}, static: map[string]staticFile{}}
	err := fs.WalkDir(staticFS, "static", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = "application/octet-stream"
		}
		p.static["/"+name] = staticFile{body: b, ctype: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		return nil, err
	}
	base, err := template.New("layout.html").Funcs(p.funcs()).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", n, err)
		}
		p.tmpl[name] = t
	}
	return p, nil
}

// asset is a static file's URL with a content hash, so browsers may cache
// it for a long time and still see a new version at once.
func (p *pages) asset(name string) string {
	f, ok := p.static["/static/"+name]
	if !ok {
		panic("web: no static file " + name) // caught at boot: every template is rendered by the tests
	}
	return "/static/" + name + "?v=" + strings.Trim(f.etag, `"`)
}

func (s *Server) serveStatic(c *fiber.Ctx) error {
	f, ok := s.pages.static[c.Path()]
	if !ok {
		return fiber.NewError(fiber.StatusNotFound, "no such file")
	}
	c.Set(fiber.HeaderContentType, f.ctype)
	c.Set(fiber.HeaderETag, f.etag)
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	if c.Get(fiber.HeaderIfNoneMatch) == f.etag {
		return c.SendStatus(fiber.StatusNotModified)
	}
	return c.Send(f.body)
}

// pageRoutes registers the server-rendered pages.
func (s *Server) pageRoutes(app *fiber.App) {
	p, err := loadPages()
	if err != nil {
		panic(err) // a broken template or static file fails the boot
	}
	s.pages = p
	app.Get("/static/*", s.serveStatic)
	app.Get("/login", s.loginPage)
	app.Post("/login", s.login)

	in := app.Group("", s.requireSession)
	in.Post("/logout", s.requireCSRF, s.logout)
	in.Get("/", s.searchPage)
	in.Get("/upload", s.uploadPage)
	in.Post("/upload", s.uploadSubmit)
	in.Get("/documents/:id", s.documentPage)
	in.Get("/documents/:id/review", s.reviewPage)
	in.Post("/documents/:id/review", s.requireCSRF, s.reviewSubmit)
	in.Get("/documents/:id/original", s.downloadOriginal)
	in.Get("/documents/:id/text", s.documentText)
	in.Get("/registers", s.registersPage)
	in.Get("/audit", s.requireRole("audit"), s.auditPage)
	in.Get("/audit/export", s.requireRole("audit"), s.auditExport)
	s.taskPageRoutes(in)
}

// page is what every template receives.
type page struct {
	Title   string
	Nav     string // the active menu item
	User    *archive.User
	CSRF    string
	Notice  string // a green confirmation
	Problem string // a red explanation
	Status  int
	D       any // the page's own data
}

// render executes a page template into the response.
func (s *Server) render(c *fiber.Ctx, status int, name string, pg page) error {
	t, ok := s.pages.tmpl[name]
	if !ok {
		return fmt.Errorf("web: no template %q", name)
	}
	if pg.User == nil {
		pg.User, _ = c.Locals("user").(*archive.User)
	}
	if sess := sessionOf(c); sess != nil && pg.CSRF == "" {
		pg.CSRF = sess.CSRF
	}
	pg.Status = status
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", pg); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(status).Send(buf.Bytes())
}

// errorPage renders an error for a person using the pages.
func (s *Server) errorPage(c *fiber.Ctx, status int, msg string) error {
	if s.pages == nil {
		c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
		return c.Status(status).SendString(msg)
	}
	title := map[int]string{
		400: "Yêu cầu không hợp lệ", 401: "Cần đăng nhập", 403: "Không có quyền truy cập",
		404: "Không tìm thấy", 409: "Đã tồn tại", 413: "Tệp quá lớn", 415: "Định dạng không được hỗ trợ",
		422: "Không xử lý được", 429: "Quá nhiều yêu cầu", 503: "Dịch vụ tạm thời gián đoạn",
	}[status]
	if title == "" {
		title = "Không thực hiện được yêu cầu"
	}
	if status == fiber.StatusNotFound && (msg == "" || strings.HasPrefix(msg, "Cannot ") || msg == "no such file") {
		msg = "Trang hoặc văn bản này không tồn tại, hoặc bạn không có quyền xem."
	}
	if status == fiber.StatusForbidden && msg == "your role may not do this" {
		msg = "Vai trò của bạn không được phép thực hiện thao tác này."
	}
	if status >= 500 && status != fiber.StatusServiceUnavailable {
		msg = "Đã xảy ra lỗi phía máy chủ. Vui lòng thử lại; nếu lỗi lặp lại, hãy báo cho quản trị viên kèm mã yêu cầu bên dưới."
	}
	rid, _ := c.Locals("request_id").(string)
	err := s.render(c, status, "error", page{Title: title, D: map[string]any{"Message": msg, "RequestID": rid}})
	if err != nil {
		c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
		return c.Status(status).SendString(msg)
	}
	return nil
}

// userProblem turns an error a person can fix (bad input, duplicate, too
// large…) into a message for the page; other errors are returned as they are.
func userProblem(err error) (int, string, bool) {
	var ae *archive.Error
	if !errors.As(err, &ae) {
		return 0, "", false
	}
	for _, k := range []error{archive.ErrInvalid, archive.ErrConflict, archive.ErrTooLarge, archive.ErrUnsupported, archive.ErrUnprocessable} {
		if errors.Is(err, k) {
			status, _, _, _ := classify(err)
			return status, ae.Message, true
		}
	}
	return 0, "", false
}

// Labels: the Vietnamese words for the codes the archive stores.
var (
	roleLabels = map[archive.Role]string{archive.RoleClerk: "Văn thư", archive.RoleOfficer: "Chuyên viên",
		archive.RoleInspector: "Thanh tra", archive.RoleAdmin: "Quản trị"}
	levelLabels = map[string]string{"central": "Trung ương", "provincial": "Cấp tỉnh", "district": "Cấp huyện",
		"commune": "Cấp xã", "other": "Khác"}
	urgencyLabels   = map[string]string{"none": "Thường", "khan": "Khẩn", "thuong_khan": "Thượng khẩn", "hoa_toc": "Hỏa tốc"}
	directionLabels = map[string]string{"incoming": "Văn bản đến", "outgoing": "Văn bản đi", "internal": "Văn bản nội bộ"}
	// Relations as the ingest parser names them (can_cu, thuc_hien…) and
	// as the task API names a document's link to a task.
	relationLabels = map[string]string{"can_cu": "Căn cứ", "thuc_hien": "Thực hiện", "de_nghi": "Theo đề nghị",
		"bai_bo": "Bãi bỏ", "thay_the": "Thay thế", "sua_doi": "Sửa đổi, bổ sung", "tra_loi": "Trả lời",
		"kem_theo": "Kèm theo", "other": "", "cites": "Viện dẫn",
		"assigns": "Giao nhiệm vụ", "implements": "Thực hiện", "reports_on": "Báo cáo"}
	fieldLabels = map[string]string{"number": "số, ký hiệu", "type": "loại văn bản", "issuer": "cơ quan ban hành",
		"level": "cấp ban hành", "issued_at": "ngày tháng", "subject": "trích yếu", "signer": "người ký",
		"classification": "độ mật", "urgency": "độ khẩn", "direction": "loại sổ", "tags": "từ khóa"}
	actionLabels = map[string]string{
		archive.ActionUpload: "Tải lên", archive.ActionRead: "Xem văn bản", archive.ActionDownload: "Tải bản gốc",
		archive.ActionReadText: "Xem toàn văn", archive.ActionEdit: "Sửa thông tin", archive.ActionExtract: "Trích xuất",
		archive.ActionSearch: "Tìm kiếm", archive.ActionDenied: "Bị từ chối", archive.ActionLogin: "Đăng nhập",
		archive.ActionLogout: "Đăng xuất", archive.ActionUserAdd: "Thêm người dùng", archive.ActionUserChange: "Đổi quyền người dùng",
		archive.ActionUserDelete: "Xóa người dùng", archive.ActionTokenCreate: "Cấp mã API", archive.ActionFixity: "Kiểm tra toàn vẹn",
		archive.ActionAuditExport: "Xuất nhật ký"}
	taskStatusLabels = map[string]string{"open": "Chưa thực hiện", "in_progress": "Đang thực hiện", "done": "Hoàn thành", "overdue": "Quá hạn"}
	outcomeLabels    = map[string]string{"ok": "Thành công", "failed": "Thất bại", "denied": "Bị từ chối"}
)

func labelOr(m map[string]string, k string) string {
	if v, ok := m[k]; ok {
		return v
	}
	return k
}

func (p *pages) funcs() template.FuncMap {
	return template.FuncMap{
		"asset": p.asset,
		"roleLabel": func(r any) string {
			role := archive.Role(fmt.Sprint(r))
			if v, ok := roleLabels[role]; ok {
				return v
			}
			return string(role)
		},
		"classLabel": func(c archive.Classification) string {
			return c.Label()
		},
		"classKey": func(c archive.Classification) string { return string(c) },
		"levelLabel": func(s string) string {
			return labelOr(levelLabels, s)
		},
		"urgencyLabel":   func(s string) string { return labelOr(urgencyLabels, s) },
		"directionLabel": func(s string) string { return labelOr(directionLabels, s) },
		"relationLabel":  func(s string) string { return labelOr(relationLabels, s) },
		"fieldLabel":     func(s string) string { return labelOr(fieldLabels, s) },
		"statusLabel":    func(s string) string { return labelOr(taskStatusLabels, s) },
		"actionLabel":    func(s string) string { return labelOr(actionLabels, s) },
		"outcomeLabel":   func(s string) string { return labelOr(outcomeLabels, s) },
		"typeName": func(code string) string {
			if n := records.TypeName(code); n != "" {
				return n
			}
			return code
		},
		"date":     viDate,
		"datetime": viDateTime,
		"bytes":    humanSize,
		"add":      func(a, b int) int { return a + b },
		"list":     func(s ...string) []string { return s },
		"join":     strings.Join,
		"fieldArgs": func(name, label, value string, extracted []string) map[string]any {
			ex := false
			for _, f := range extracted {
				ex = ex || f == name
			}
			return map[string]any{"Name": name, "Label": label, "Value": value, "Extracted": ex}
		},
		"seq": func(n int64) string { return fmt.Sprintf("%d", n) },
		"has": func(list []string, s string) bool {
			for _, v := range list {
				if v == s {
					return true
				}
			}
			return false
		},
		"short": func(s string, n int) string {
			r := []rune(s)
			if len(r) <= n {
				return s
			}
			return string(r[:n]) + "…"
		},
	}
}

// viDate shows YYYY-MM-DD as DD/MM/YYYY, the Vietnamese way.
func viDate(s string) string {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return s
	}
	return t.Format("02/01/2006")
}

func viDateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(vietnam).Format("15:04 02/01/2006")
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return strings.Replace(fmt.Sprintf("%.1f MB", float64(n)/(1<<20)), ".", ",", 1)
	case n >= 1<<10:
		return strings.Replace(fmt.Sprintf("%.1f KB", float64(n)/(1<<10)), ".", ",", 1)
	}
	return fmt.Sprintf("%d byte", n)
}

// withParams returns the current query string with some parameters set
// (an empty value removes one); the page cursor is always dropped.
func withParams(q url.Values, kv ...string) string {
	v := url.Values{}
	for k, vs := range q {
		v[k] = append([]string(nil), vs...)
	}
	v.Del("after")
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			v.Del(kv[i])
		} else {
			v.Set(kv[i], kv[i+1])
		}
	}
	if len(v) == 0 {
		return "?"
	}
	return "?" + v.Encode()
}

// queryValues is the request's query string as url.Values.
func queryValues(c *fiber.Ctx) url.Values {
	v, _ := url.ParseQuery(string(c.Request().URI().QueryString()))
	return v
}
