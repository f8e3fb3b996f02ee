package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"vanthu/archive"
	"vanthu/archive/sqlite"
)

// Web sessions: the pages sign people in with a password and a cookie; the
// API keeps its bearer tokens. The cookie carries 256 random bits; the
// catalog keeps only their SHA-256, with the user's role and clearance as of
// the last rotation. Every request re-reads the user, so a lowered clearance
// or a deleted account takes effect on the next request, and a changed role
// or clearance rotates the session id.
const (
	sessionCookie  = "vanthu_session"
	loginCookie    = "vanthu_login" // pre-session CSRF token of the login form
	sessionIdle    = 30 * time.Minute
	sessionMaxAge  = 12 * time.Hour
	touchEvery     = time.Minute // last_seen is written at most this often
	failureWindow  = 15 * time.Minute
	accountFailCap = 5  // failures per account in the window before backoff
	ipFailCap      = 20 // failures per address in the window before backoff
	maxBackoff     = 15 * time.Minute
	maxNameLen     = 64
)

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// cookie builds a cookie with the flags every vanthu cookie carries:
// HttpOnly, SameSite=Lax, and Secure when the request came over TLS (or
// through a proxy that says so in X-Forwarded-Proto).
func cookie(c *fiber.Ctx, name, value, path string, maxAge int) *fiber.Cookie {
	ck := &fiber.Cookie{Name: name, Value: value, Path: path, HTTPOnly: true,
		Secure: c.Protocol() == "https", SameSite: fiber.CookieSameSiteLaxMode, MaxAge: maxAge}
	if maxAge < 0 {
		ck.Expires = time.Unix(0, 0)
	}
	return ck
}

func (s *Server) setSession(c *fiber.Ctx, id string) {
	c.Cookie(cookie(c, sessionCookie, id, "/", 0))
}

func (s *Server) clearSession(c *fiber.Ctx) {
	c.Cookie(cookie(c, sessionCookie, "", "/", -1))
}

// newSession stores a fresh session for u and returns its cookie value.
func (s *Server) newSession(c *fiber.Ctx, u *archive.User) (string, *sqlite.Session, error) {
	id := randomToken()
	now := s.now()
	sess := &sqlite.Session{IDHash: archive.TokenHash(id), UserID: u.ID, CSRF: randomToken(),
		Role: u.Role, Clearance: u.Clearance, CreatedAt: now, LastSeen: now}
	return id, sess, s.Catalog.CreateSession(c.UserContext(), sess)
}

// currentSession resolves the session cookie to a live session and its
// user, or nil when there is none (absent, unknown, expired, user gone).
func (s *Server) currentSession(c *fiber.Ctx) (*sqlite.Session, *archive.User, error) {
	raw := c.Cookies(sessionCookie)
	if raw == "" {
		return nil, nil, nil
	}
	if len(raw) > 128 {
		s.clearSession(c)
		return nil, nil, nil
	}
	ctx := c.UserContext()
	hash := archive.TokenHash(raw)
	sess, err := s.Catalog.Session(ctx, hash)
	if errors.Is(err, archive.ErrNotFound) {
		s.clearSession(c)
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	now := s.now()
	if now.Sub(sess.LastSeen) > sessionIdle || now.Sub(sess.CreatedAt) > sessionMaxAge {
		_ = s.Catalog.DeleteSession(ctx, hash)
		s.clearSession(c)
		c.Locals("expired", true)
		return nil, nil, nil
	}
	u, err := s.Catalog.UserByID(ctx, sess.UserID)
	if errors.Is(err, archive.ErrNotFound) || (err == nil && u.Deleted) {
		_ = s.Catalog.DeleteSession(ctx, hash)
		s.clearSession(c)
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if u.Role != sess.Role || u.Clearance != sess.Clearance {
		// The user's rights changed: a new id (and form token), so that a
		// copy of the old cookie does not carry over to the new rights.
		id := randomToken()
		fresh := &sqlite.Session{IDHash: archive.TokenHash(id), UserID: u.ID, CSRF: randomToken(),
			Role: u.Role, Clearance: u.Clearance, CreatedAt: sess.CreatedAt, LastSeen: now}
		if err := s.Catalog.RotateSession(ctx, hash, fresh); err != nil {
			if errors.Is(err, archive.ErrNotFound) {
				s.clearSession(c)
				return nil, nil, nil
			}
			return nil, nil, err
		}
		s.setSession(c, id)
		sess = fresh
	} else if now.Sub(sess.LastSeen) > touchEvery {
		if err := s.Catalog.TouchSession(ctx, hash, now); err != nil {
			return nil, nil, err
		}
		sess.LastSeen = now
	}
	return sess, u, nil
}

// requireSession lets signed-in people through and sends everyone else to
// the login page, remembering where they were going.
func (s *Server) requireSession(c *fiber.Ctx) error {
	sess, u, err := s.currentSession(c)
	if err != nil {
		return err
	}
	if sess == nil {
		target := "/login"
		if c.Method() == fiber.MethodGet && c.OriginalURL() != "/" {
			target += "?next=" + url.QueryEscape(c.OriginalURL())
		}
		if c.Locals("expired") == true {
			if strings.Contains(target, "?") {
				target += "&expired=1"
			} else {
				target += "?expired=1"
			}
		}
		return c.Redirect(target, fiber.StatusSeeOther)
	}
	c.Locals("user", u)
	c.Locals("session", sess)
	return c.Next()
}

func sessionOf(c *fiber.Ctx) *sqlite.Session {
	sess, _ := c.Locals("session").(*sqlite.Session)
	return sess
}

var errCSRF = archive.Errorf(archive.ErrForbidden, "csrf",
	"Biểu mẫu đã hết hạn hoặc không hợp lệ (thiếu mã bảo vệ). Vui lòng tải lại trang rồi thử lại.")

// checkCSRF compares a form's token with the session's in constant time.
func checkCSRF(c *fiber.Ctx, token string) error {
	sess := sessionOf(c)
	if sess == nil || token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(sess.CSRF)) != 1 {
		return errCSRF
	}
	return nil
}

// requireCSRF guards url-encoded form posts: the hidden field "csrf", or the
// X-CSRF-Token header for script requests.
func (s *Server) requireCSRF(c *fiber.Ctx) error {
	tok := c.Get("X-CSRF-Token")
	if tok == "" {
		tok = c.FormValue("csrf")
	}
	if err := checkCSRF(c, tok); err != nil {
		return err
	}
	return c.Next()
}

// safeNext keeps a post-login redirect on this site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n") || strings.HasPrefix(next, "/login") {
		return "/"
	}
	return next
}

// backoff is how long to wait after n failures when cap are free.
func backoff(n, cap int) time.Duration {
	if n < cap {
		return 0
	}
	d := 30 * time.Second << min(n-cap, 10)
	return min(d, maxBackoff)
}

// lockedUntil says until when logins for account from ip are refused.
func (s *Server) lockedUntil(c *fiber.Ctx, account, ip string) (time.Time, error) {
	now := s.now()
	f, err := s.Catalog.RecentLoginFailures(c.UserContext(), account, ip, now.Add(-failureWindow))
	if err != nil {
		return time.Time{}, err
	}
	var until time.Time
	if d := backoff(f.Account, accountFailCap); d > 0 {
		until = f.AccountLast.Add(d)
	}
	if d := backoff(f.IP, ipFailCap); d > 0 && f.IPLast.Add(d).After(until) {
		until = f.IPLast.Add(d)
	}
	return until, nil
}

// dummyHash is checked for unknown names and password-less accounts, so a
// failed login takes as long whether or not the name exists.
func (s *Server) dummyHash() string {
	s.pages.dummyOnce.Do(func() {
		s.pages.dummy, _ = archive.HashPassword(randomToken())
	})
	return s.pages.dummy
}
