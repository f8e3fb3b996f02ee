package web

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"vanthu/archive"
)

const loginFailed = "Tên đăng nhập hoặc mật khẩu không đúng."

type loginData struct {
	Name, Next string
}

// loginPage shows the sign-in form. Before a session exists the form is
// protected by a token in a short-lived cookie (double submit), so another
// site cannot sign a browser in to an account of its choosing.
func (s *Server) loginPage(c *fiber.Ctx) error {
	if sess, _, err := s.currentSession(c); err == nil && sess != nil {
		return c.Redirect(safeNext(c.Query("next")), fiber.StatusSeeOther)
	}
	pg := page{Title: "Đăng nhập", D: loginData{Next: safeNext(c.Query("next"))}}
	switch {
	case c.Query("expired") != "":
		pg.Problem = "Phiên làm việc đã hết hạn do không hoạt động. Vui lòng đăng nhập lại."
	case c.Query("bye") != "":
		pg.Notice = "Bạn đã đăng xuất."
	}
	return s.renderLogin(c, fiber.StatusOK, pg)
}

func (s *Server) renderLogin(c *fiber.Ctx, status int, pg page) error {
	tok := c.Cookies(loginCookie)
	if len(tok) != 43 {
		tok = randomToken()
	}
	c.Cookie(cookie(c, loginCookie, tok, "/login", 3600))
	pg.CSRF = tok
	return s.render(c, status, "login", pg)
}

// login checks a name and password. Every failure reads the same; a name
// that does not exist costs the same argon2id work as one that does.
func (s *Server) login(c *fiber.Ctx) error {
	ctx := c.UserContext()
	name := strings.TrimSpace(c.FormValue("name"))
	password := c.FormValue("password")
	next := safeNext(c.FormValue("next"))
	pg := page{Title: "Đăng nhập", D: loginData{Name: name, Next: next}}
	if len(name) > maxNameLen {
		name = name[:maxNameLen]
	}
	tok, form := c.Cookies(loginCookie), c.FormValue("csrf")
	if tok == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(form)) != 1 {
		pg.Problem = "Biểu mẫu đăng nhập đã hết hạn. Vui lòng thử lại."
		return s.renderLogin(c, fiber.StatusForbidden, pg)
	}
	rid, _ := c.Locals("request_id").(string)
	audit := func(u *archive.User, outcome, reason string) error {
		e := &archive.Event{Actor: name, Action: archive.ActionLogin, Outcome: outcome, IP: c.IP(), RequestID: rid}
		if u != nil {
			e.Role = string(u.Role)
		}
		if reason != "" {
			e.Details = map[string]any{"reason": reason}
		}
		return s.Catalog.Record(ctx, e)
	}
	if name == "" || password == "" {
		pg.Problem = "Vui lòng nhập tên đăng nhập và mật khẩu."
		return s.renderLogin(c, fiber.StatusBadRequest, pg)
	}
	until, err := s.lockedUntil(c, name, c.IP())
	if err != nil {
		return err
	}
	if wait := until.Sub(s.now()); wait > 0 {
		if err := audit(nil, "denied", "backoff"); err != nil {
			return err
		}
		mins := int(math.Ceil(wait.Minutes()))
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		pg.Problem = fmt.Sprintf("Đăng nhập không thành công quá nhiều lần. Vui lòng thử lại sau %d phút.", mins)
		return s.renderLogin(c, fiber.StatusTooManyRequests, pg)
	}
	u, hash, err := s.Catalog.PasswordHash(ctx, name)
	if err != nil && !errors.Is(err, archive.ErrNotFound) {
		return err
	}
	if u == nil || hash == "" {
		archive.CheckPassword(s.dummyHash(), password)
		u = nil
	} else if !archive.CheckPassword(hash, password) {
		u = nil
	}
	if u == nil {
		if err := s.Catalog.AddLoginFailure(ctx, name, c.IP(), s.now()); err != nil {
			return err
		}
		if err := audit(nil, "failed", "bad_credentials"); err != nil {
			return err
		}
		pg.Problem = loginFailed
		return s.renderLogin(c, fiber.StatusUnauthorized, pg)
	}
	if err := s.Catalog.ClearLoginFailures(ctx, name); err != nil {
		return err
	}
	// A new id at every login: an id planted before login is worthless.
	if old := c.Cookies(sessionCookie); old != "" {
		_ = s.Catalog.DeleteSession(ctx, archive.TokenHash(old))
	}
	id, _, err := s.newSession(c, u)
	if err != nil {
		return err
	}
	if err := audit(u, "ok", ""); err != nil {
		return err
	}
	now := s.now()
	_, _ = s.Catalog.DeleteIdleSessions(ctx, now.Add(-sessionIdle), now.Add(-24*failureWindow))
	s.setSession(c, id)
	c.Cookie(cookie(c, loginCookie, "", "/login", -1))
	return c.Redirect(next, fiber.StatusSeeOther)
}

// logout ends the session on the server, not only in the browser.
func (s *Server) logout(c *fiber.Ctx) error {
	sess := sessionOf(c)
	if err := s.Catalog.DeleteSession(c.UserContext(), sess.IDHash); err != nil {
		return err
	}
	a := s.actor(c)
	e := &archive.Event{Actor: a.User.Name, Role: string(a.User.Role), Action: archive.ActionLogout, Outcome: "ok", IP: a.IP, RequestID: a.RequestID}
	if err := s.Catalog.Record(c.UserContext(), e); err != nil {
		return err
	}
	s.clearSession(c)
	return c.Redirect("/login?bye=1", fiber.StatusSeeOther)
}
