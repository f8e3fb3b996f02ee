package web

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"vanthu/archive"
	"vanthu/archive/records"
	"vanthu/archive/sqlite"
)

// Multipart limits: an upload has one file and a handful of short fields.
const (
	maxParts      = 64
	maxFieldBytes = 64 << 10
)

// uploadDocument streams a multipart upload into the archive: fields before
// the file are read first, the file part goes straight to the blob store
// (never buffered whole), and fields after the file are read after it.
func (s *Server) uploadDocument(c *fiber.Ctx) error {
	a := s.actor(c)
	if !a.Can("write") {
		return archive.Errorf(archive.ErrForbidden, "forbidden", "only clerks (văn thư) may upload documents")
	}
	d, err := s.receiveUpload(c, a)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderLocation, "/api/v1/documents/"+d.ID)
	return c.Status(fiber.StatusCreated).JSON(s.documentJSON(c, d))
}

// receiveUpload reads a multipart upload and registers it; the API and the
// upload page share it.
func (s *Server) receiveUpload(c *fiber.Ctx, a records.Actor) (*archive.Document, error) {
	staged, fields, err := s.readUpload(c)
	if err != nil {
		return nil, err
	}
	return s.Records.Register(c.UserContext(), a, staged, fields)
}

// readUpload streams the file part of a multipart upload into staging and
// collects the other fields.
func (s *Server) readUpload(c *fiber.Ctx) (*records.Staged, map[string]string, error) {
	mr, err := multipartReader(c)
	if err != nil {
		return nil, nil, err
	}
	// A failed upload must not leave the rest of the body for the next
	// request on this connection.
	fail := func(err error) (*records.Staged, map[string]string, error) {
		c.Set(fiber.HeaderConnection, "close")
		return nil, nil, err
	}
	fields := map[string]string{}
	var staged *records.Staged
	for parts := 0; ; parts++ {
		if parts >= maxParts {
			s.Records.Discard(staged)
			return fail(archive.Errorf(archive.ErrInvalid, "too_many_parts", "the upload has more than %d parts; send one file and the metadata fields", maxParts))
		}
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			s.Records.Discard(staged)
			return fail(archive.Errorf(archive.ErrInvalid, "bad_multipart", "the multipart body is malformed or truncated: %v", err))
		}
		name := p.FormName()
		if name == "file" {
			if staged != nil {
				s.Records.Discard(staged)
				return fail(archive.Errorf(archive.ErrInvalid, "one_file", "send one file per upload"))
			}
			staged, err = s.Records.Stage(c.UserContext(), p.FileName(), p)
			if err != nil {
				return fail(err)
			}
			continue
		}
		b, err := io.ReadAll(io.LimitReader(p, maxFieldBytes+1))
		if err != nil || len(b) > maxFieldBytes {
			s.Records.Discard(staged)
			return fail(archive.Errorf(archive.ErrInvalid, "bad_field", "field %q is malformed or longer than %d bytes", name, maxFieldBytes))
		}
		if name == "" || name == "csrf" {
			continue
		}
		fields[name] = string(b)
	}
	if staged == nil {
		return fail(archive.Errorf(archive.ErrInvalid, "no_file", "the upload has no file: send it in a multipart field named \"file\""))
	}
	if staged.Size == 0 {
		s.Records.Discard(staged)
		return fail(archive.Errorf(archive.ErrInvalid, "empty_file", "the file is empty (0 bytes)"))
	}
	return staged, fields, nil
}

func multipartReader(c *fiber.Ctx) (*multipart.Reader, error) {
	ct := c.Get(fiber.HeaderContentType)
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "multipart/form-data" {
		return nil, archive.Errorf(archive.ErrInvalid, "not_multipart", "send the document as multipart/form-data with a \"file\" field")
	}
	b := params["boundary"]
	if b == "" || len(b) > 70 {
		return nil, archive.Errorf(archive.ErrInvalid, "bad_multipart", "the multipart body has no valid boundary")
	}
	stream := c.Context().RequestBodyStream()
	if stream == nil {
		stream = strings.NewReader(string(c.Body()))
	}
	return multipart.NewReader(stream, b), nil
}

func (s *Server) getDocument(c *fiber.Ctx) error {
	d, err := s.Records.Document(c.UserContext(), s.actor(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(s.documentJSON(c, d))
}

// documentJSON renders a document as API.md describes it.
func (s *Server) documentJSON(c *fiber.Ctx, d *archive.Document) map[string]any {
	b, _ := json.Marshal(d)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	m["references"] = s.references(c, d)
	if dups := s.Records.PossibleDuplicates(c.UserContext(), s.actor(c), d); len(dups) > 0 {
		m["possible_duplicates"] = dups
	}
	s.documentLinks(c, d, m)
	return m
}

func (s *Server) listDocuments(c *fiber.Ctx) error {
	f := sqlite.ListFilter{Type: c.Query("type"), Issuer: c.Query("issuer"), After: c.Query("after")}
	if y := c.Query("year"); y != "" {
		n, err := strconv.Atoi(y)
		if err != nil || n < 1900 || n > 2200 {
			return archive.Errorf(archive.ErrInvalid, "bad_year", "year must be a four-digit year")
		}
		f.Year = n
	}
	if v := c.Query("signed"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return archive.Errorf(archive.ErrInvalid, "bad_signed", "signed must be true or false")
		}
		f.Signed = b
	}
	if t := c.Query("task"); t != "" {
		n, err := strconv.ParseInt(t, 10, 64)
		if err != nil || n <= 0 {
			return archive.Errorf(archive.ErrInvalid, "bad_task", "task must be a task id")
		}
		f.Task = n
	}
	size, err := querySize(c, 50, 200)
	if err != nil {
		return err
	}
	f.Size = size
	docs, err := s.Records.List(c.UserContext(), s.actor(c), f)
	if err != nil {
		return err
	}
	items := make([]map[string]any, 0, len(docs))
	for _, d := range docs {
		items = append(items, s.documentJSON(c, d))
	}
	var next any
	if len(docs) == size {
		next = docs[len(docs)-1].ID
	}
	return c.JSON(fiber.Map{"items": items, "next": next})
}

func querySize(c *fiber.Ctx, def, max int) (int, error) {
	v := c.Query("size")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, archive.Errorf(archive.ErrInvalid, "bad_size", "size must be a number from 1 to %d", max)
	}
	return n, nil
}

// editDocument applies a JSON object of metadata fields.
func (s *Server) editDocument(c *fiber.Ctx) error {
	fields, err := decodeFields(c.Body())
	if err != nil {
		return err
	}
	d, err := s.Records.Edit(c.UserContext(), s.actor(c), c.Params("id"), fields)
	if err != nil {
		return err
	}
	return c.JSON(s.documentJSON(c, d))
}

// decodeFields reads a flat JSON object of string fields (tags may be a list).
// Anything nested deeper is refused before it is decoded.
func decodeFields(body []byte) (map[string]string, error) {
	bad := func(why string) error {
		return archive.Errorf(archive.ErrInvalid, "bad_json", "the body must be a JSON object of metadata fields, e.g. {\"subject\": \"…\"}: %s", why)
	}
	if depth(body) > 3 {
		return nil, bad("it is nested too deeply")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, bad(err.Error())
	}
	if len(raw) > len(records.EditableFields) {
		return nil, bad("it has too many fields")
	}
	out := map[string]string{}
	for k, v := range raw {
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			out[k] = s
			continue
		}
		var list []string
		if k == "tags" && json.Unmarshal(v, &list) == nil {
			out[k] = strings.Join(list, ",")
			continue
		}
		return nil, bad(fmt.Sprintf("field %q must be a string", k))
	}
	return out, nil
}

// depth is the maximum nesting of JSON arrays and objects, counted without
// decoding so a hostile body cannot exhaust the stack.
func depth(b []byte) int {
	d, max, inString, esc := 0, 0, false, false
	for _, c := range b {
		switch {
		case esc:
			esc = false
		case inString && c == '\\':
			esc = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			d++
			if d > max {
				max = d
			}
		case c == '}' || c == ']':
			d--
		}
	}
	return max
}

// downloadOriginal serves the exact bytes uploaded, with Range support.
func (s *Server) downloadOriginal(c *fiber.Ctx) error {
	rng := c.Get(fiber.HeaderRange)
	details := map[string]any{}
	if rng != "" {
		details["range"] = rng
	}
	d, rc, err := s.Records.Original(c.UserContext(), s.actor(c), c.Params("id"), details)
	if err != nil {
		return err
	}
	etag := `"` + d.SHA256 + `"`
	c.Set(fiber.HeaderETag, etag)
	c.Set(fiber.HeaderAcceptRanges, "bytes")
	c.Set(fiber.HeaderContentDisposition, contentDisposition(d.Filename))
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set(fiber.HeaderCacheControl, "private, no-cache")
	c.Set(fiber.HeaderContentType, d.ContentType)
	if inm := c.Get(fiber.HeaderIfNoneMatch); inm != "" && strings.Contains(inm, etag) {
		rc.Close()
		return c.SendStatus(fiber.StatusNotModified)
	}
	start, length, partial, ok := parseRange(rng, d.Size)
	if !ok || (c.Get(fiber.HeaderIfRange) != "" && c.Get(fiber.HeaderIfRange) != etag) {
		partial, start, length = false, 0, d.Size
		if !ok && rng != "" && c.Get(fiber.HeaderIfRange) == "" {
			rc.Close()
			c.Set(fiber.HeaderContentRange, fmt.Sprintf("bytes */%d", d.Size))
			return c.Status(fiber.StatusRequestedRangeNotSatisfiable).JSON(apiError{Error: map[string]any{
				"code": "bad_range", "message": fmt.Sprintf("the requested range is not within the file's %d bytes", d.Size)}})
		}
	}
	if partial {
		if _, err := rc.Seek(start, io.SeekStart); err != nil {
			rc.Close()
			return archive.Errorf(archive.ErrUnavailable, "storage_unavailable", "the original could not be read from storage")
		}
		c.Set(fiber.HeaderContentRange, fmt.Sprintf("bytes %d-%d/%d", start, start+length-1, d.Size))
		c.Status(fiber.StatusPartialContent)
		return c.SendStream(readCloser{io.LimitReader(rc, length), rc}, int(length))
	}
	return c.SendStream(rc, int(d.Size))
}

type readCloser struct {
	io.Reader
	io.Closer
}

// parseRange understands one "bytes=" range. ok is false when a Range header
// is present but cannot be satisfied; several ranges are answered whole.
func parseRange(h string, size int64) (start, length int64, partial, ok bool) {
	if h == "" {
		return 0, size, false, true
	}
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, size, false, true // not bytes, or several ranges: answer whole
	}
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false, false
	}
	switch {
	case a == "": // suffix: the last b bytes
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 || size == 0 {
			return 0, 0, false, false
		}
		if n > size {
			n = size
		}
		return size - n, n, true, true
	default:
		s, err := strconv.ParseInt(a, 10, 64)
		if err != nil || s < 0 || s >= size {
			return 0, 0, false, false
		}
		e := size - 1
		if b != "" {
			e, err = strconv.ParseInt(b, 10, 64)
			if err != nil || e < s {
				return 0, 0, false, false
			}
			if e >= size {
				e = size - 1
			}
		}
		return s, e - s + 1, true, true
	}
}

// contentDisposition names the download, with an ASCII fallback and the
// UTF-8 name (RFC 6266) so Vietnamese file names survive.
func contentDisposition(name string) string {
	ascii := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return '_'
		}
		return r
	}, name)
	return fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`, ascii, url.PathEscape(name))
}

func (s *Server) documentText(c *fiber.Ctx) error {
	_, text, err := s.Records.Text(c.UserContext(), s.actor(c), c.Params("id"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/plain; charset=utf-8")
	return c.SendString(text)
}

func (s *Server) documentVersions(c *fiber.Ctx) error {
	vs, err := s.Records.Versions(c.UserContext(), s.actor(c), c.Params("id"))
	if err != nil {
		return err
	}
	out := make([]fiber.Map, 0, len(vs))
	for _, v := range vs {
		out = append(out, fiber.Map{"n": v.N, "sha256": v.SHA256, "size": v.Size, "content_type": v.ContentType,
			"filename": v.Filename, "created_at": v.CreatedAt, "created_by": v.CreatedBy})
	}
	return c.JSON(fiber.Map{"versions": out})
}

// addVersion stores a corrected file as a new version of a document.
func (s *Server) addVersion(c *fiber.Ctx) error {
	a := s.actor(c)
	if !a.Can("write") {
		return archive.Errorf(archive.ErrForbidden, "forbidden", "only clerks (văn thư) may add versions")
	}
	staged, _, err := s.readUpload(c)
	if err != nil {
		return err
	}
	d, err := s.Records.AddVersion(c.UserContext(), a, c.Params("id"), staged)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(s.documentJSON(c, d))
}

// requestDisposal is DELETE on a document: originals are never deleted
// outright; this asks for a disposition that a second person must approve.
func (s *Server) requestDisposal(c *fiber.Ctx) error {
	var body struct {
		Reason string `json:"reason"`
	}
	if len(c.Body()) > 0 {
		if err := json.Unmarshal(c.Body(), &body); err != nil {
			return archive.Errorf(archive.ErrInvalid, "bad_json", "the body must be a JSON object like {\"reason\": \"…\"}")
		}
	}
	if err := s.Records.RequestDisposal(c.UserContext(), s.actor(c), c.Params("id"), body.Reason); err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"status": "pending_approval",
		"message": "the disposition was requested; it takes effect when an administrator other than you approves it"})
}

func (s *Server) approveDisposal(c *fiber.Ctx) error {
	d, err := s.Records.ApproveDisposal(c.UserContext(), s.actor(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(s.documentJSON(c, d))
}

// reextract queues the original for extraction again; 202, the queue does it.
func (s *Server) reextract(c *fiber.Ctx) error {
	if err := s.Records.Reextract(c.UserContext(), s.actor(c), c.Params("id")); err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"status": "queued",
		"message": "the original was queued for extraction; text_status shows the result"})
}
