package main

// HTTP calls to vanthu serve, and the invariants checked after a crash or a
// stop: every acknowledged upload is downloadable and searchable, no catalog
// row lacks its object, no object or staged upload is left unreferenced,
// the catalog is intact and the audit chain verifies.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	_ "modernc.org/sqlite"
)

type httpClient struct{ *http.Client }

func newHTTPClient() *httpClient {
	return &httpClient{&http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32, DisableCompression: true}}}
}

func httpUp(u string) bool {
	c := &http.Client{Timeout: time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}

func freeAddr(r *R) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		r.Fatalf("%v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

type response struct {
	status int
	header http.Header
	body   []byte
	took   time.Duration
}

func (r response) String() string {
	b := r.body
	if len(b) > 300 {
		b = b[:300]
	}
	return fmt.Sprintf("%d %s", r.status, bytes.TrimSpace(b))
}

// errCode is the "code" of an API error body, or "".
func (r response) errCode() string {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.body, &e)
	return e.Error.Code
}

func (r response) errMessage() string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.body, &e)
	return e.Error.Message
}

// request sends one request; transport errors are returned, not fatal.
func (s *server) request(ctx context.Context, method, path, token string, body io.Reader, hdr map[string]string) (response, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.url+path, body)
	if err != nil {
		return response{}, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if rd, ok := body.(*bytes.Reader); ok {
		req.ContentLength = int64(rd.Len())
	}
	start := time.Now()
	resp, err := s.http.Do(req)
	if err != nil {
		return response{took: time.Since(start)}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	if err != nil {
		return response{status: resp.StatusCode, took: took}, fmt.Errorf("%s %s: reading the %d response: %w", method, path, resp.StatusCode, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b, took: took}, nil
}

// call is request bounded to 60 s; transport errors end the scenario.
func (s *server) call(method, path, token string, body io.Reader, hdr map[string]string) response {
	ctx, cancel := context.WithTimeout(s.r.Ctx, 60*time.Second)
	defer cancel()
	resp, err := s.request(ctx, method, path, token, body, hdr)
	if err != nil {
		s.r.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

func multipartBody(filename, partType string, data []byte, fields map[string]string) (string, []byte) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename="%s"`, strings.ReplaceAll(filename, `"`, "_")))
	if partType == "" {
		partType = "application/octet-stream"
	}
	h.Set("Content-Type", partType)
	w, _ := mw.CreatePart(h)
	w.Write(data)
	for _, k := range sortedKeys(fields) {
		mw.WriteField(k, fields[k])
	}
	mw.Close()
	return mw.FormDataContentType(), b.Bytes()
}

func (s *server) upload(ctx context.Context, token, filename string, data []byte, fields map[string]string) (response, error) {
	ct, body := multipartBody(filename, "", data, fields)
	return s.request(ctx, http.MethodPost, "/api/v1/documents", token, bytes.NewReader(body), map[string]string{"Content-Type": ct})
}

type document struct {
	ID          string   `json:"id"`
	Number      string   `json:"number"`
	Subject     string   `json:"subject"`
	SHA256      string   `json:"sha256"`
	Size        int64    `json:"size"`
	ContentType string   `json:"content_type"`
	Filename    string   `json:"filename"`
	TextStatus  string   `json:"text_status"`
	Tags        []string `json:"tags"`
}

func (s *server) mustUpload(token, filename string, data []byte, fields map[string]string) document {
	ctx, cancel := context.WithTimeout(s.r.Ctx, 60*time.Second)
	defer cancel()
	resp, err := s.upload(ctx, token, filename, data, fields)
	if err != nil || resp.status != http.StatusCreated {
		s.r.Fatalf("upload %s: %v %v, want 201", filename, resp, err)
	}
	var d document
	if err := json.Unmarshal(resp.body, &d); err != nil || d.ID == "" {
		s.r.Fatalf("upload %s: body %q: %v", filename, resp.body, err)
	}
	return d
}

func (s *server) getDoc(token, id string) (document, response) {
	resp := s.call(http.MethodGet, "/api/v1/documents/"+id, token, nil, nil)
	var d document
	if resp.status == http.StatusOK {
		if err := json.Unmarshal(resp.body, &d); err != nil {
			s.r.Errorf("GET document %s: %v", id, err)
		}
	}
	return d, resp
}

// listDocs lists every document the token may see.
func (s *server) listDocs(token string) []document {
	var out []document
	after := ""
	for range 10000 {
		resp := s.call(http.MethodGet, "/api/v1/documents?size=200&after="+url.QueryEscape(after), token, nil, nil)
		if resp.status != http.StatusOK {
			s.r.Fatalf("GET /api/v1/documents: %v", resp)
		}
		var page struct {
			Items []document `json:"items"`
			Next  *string    `json:"next"`
		}
		if err := json.Unmarshal(resp.body, &page); err != nil {
			s.r.Fatalf("GET /api/v1/documents: %v", err)
		}
		out = append(out, page.Items...)
		if page.Next == nil || *page.Next == "" {
			return out
		}
		after = *page.Next
	}
	s.r.Fatalf("GET /api/v1/documents: pagination does not end")
	return nil
}

type searchHit struct {
	ID     string `json:"id"`
	Number string `json:"number"`
}

type searchResult struct {
	Total int         `json:"total"`
	Hits  []searchHit `json:"hits"`
}

func (s *server) search(ctx context.Context, token, q string, size int) (searchResult, response, error) {
	resp, err := s.request(ctx, http.MethodGet, fmt.Sprintf("/api/v1/search?size=%d&q=%s", size, url.QueryEscape(q)), token, nil, nil)
	var sr searchResult
	if err == nil && resp.status == http.StatusOK {
		err = json.Unmarshal(resp.body, &sr)
	}
	return sr, resp, err
}

// metrics reads /metrics into series → value.
func (s *server) metrics() (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(s.r.Ctx, 30*time.Second)
	defer cancel()
	resp, err := s.request(ctx, http.MethodGet, "/metrics", "", nil, nil)
	if err != nil {
		return nil, err
	}
	if resp.status != http.StatusOK {
		return nil, fmt.Errorf("/metrics: %v", resp)
	}
	m := map[string]float64{}
	for _, l := range strings.Split(string(resp.body), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(l[i+1:], 64)
		if err == nil {
			m[l[:i]] = v
		}
	}
	return m, nil
}

// queueByKind is vanthu_queue_jobs per kind.
func (s *server) queueByKind() map[string]int {
	m, err := s.metrics()
	out := map[string]int{}
	if err != nil {
		return out
	}
	for k, v := range m {
		if kind, ok := strings.CutPrefix(k, `vanthu_queue_jobs{kind="`); ok {
			out[strings.TrimSuffix(kind, `"}`)] = int(v)
		}
	}
	return out
}

// queueJobs is the sum of vanthu_queue_jobs over its kinds.
func (s *server) queueJobs() (int, error) {
	m, err := s.metrics()
	if err != nil {
		return -1, err
	}
	n, seen := 0.0, false
	for k, v := range m {
		if strings.HasPrefix(k, "vanthu_queue_jobs") {
			n += v
			seen = true
		}
	}
	if !seen {
		return -1, errors.New("/metrics has no vanthu_queue_jobs")
	}
	return int(n), nil
}

func (s *server) goroutines() int {
	m, err := s.metrics()
	if err != nil {
		s.r.Fatalf("/metrics: %v", err)
	}
	return int(m["go_goroutines"])
}

// drainQueue waits until the queue is empty and reports how long it took.
func (s *server) drainQueue(within time.Duration) (time.Duration, bool) {
	start := time.Now()
	for time.Since(start) < within && s.r.Ctx.Err() == nil {
		n, err := s.queueJobs()
		if err == nil && n == 0 {
			return time.Since(start), true
		}
		time.Sleep(250 * time.Millisecond)
	}
	return time.Since(start), false
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// ---------------------------------------------------------------------------
// Storage seen from outside the server.

// storage is the fs store under DATA/objects or a bucket on a versitygw.
type storage struct {
	name   string
	env    []string
	client *minio.Client
	bucket string
}

func fsStorage() *storage { return &storage{name: "fs"} }

func (r *R) s3Storage(v *vgw, bucket string) *storage {
	cl, err := minio.New(v.addr, &minio.Options{Creds: credentials.NewStaticV4(v.access, v.sk, "")})
	if err != nil {
		r.Fatalf("minio.New: %v", err)
	}
	return &storage{name: "s3", env: v.env(bucket), client: cl, bucket: bucket}
}

func (st *storage) keys(r *R, data, prefix string) []string {
	var out []string
	if st.client == nil {
		root := filepath.Join(data, "objects")
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			rel, _ := filepath.Rel(root, p)
			rel = filepath.ToSlash(rel)
			if d.IsDir() {
				if rel == ".tmp" {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasPrefix(rel, prefix) {
				out = append(out, rel)
			}
			return nil
		})
		if err != nil {
			r.Fatalf("walking %s: %v", root, err)
		}
		sort.Strings(out)
		return out
	}
	ctx, cancel := context.WithTimeout(r.Ctx, 60*time.Second)
	defer cancel()
	for o := range st.client.ListObjects(ctx, st.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			r.Fatalf("listing bucket %s: %v", st.bucket, o.Err)
		}
		out = append(out, o.Key)
	}
	sort.Strings(out)
	return out
}

func (st *storage) exists(r *R, data, key string) bool {
	if st.client == nil {
		fi, err := os.Stat(filepath.Join(data, "objects", filepath.FromSlash(key)))
		return err == nil && fi.Mode().IsRegular()
	}
	ctx, cancel := context.WithTimeout(r.Ctx, 30*time.Second)
	defer cancel()
	_, err := st.client.StatObject(ctx, st.bucket, key, minio.StatObjectOptions{})
	if err != nil && minio.ToErrorResponse(err).Code != "NoSuchKey" {
		r.Fatalf("stat %s: %v", key, err)
	}
	return err == nil
}

// incompleteUploads lists unfinished multipart uploads (s3 only).
func (st *storage) incompleteUploads(r *R) []string {
	if st.client == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(r.Ctx, 30*time.Second)
	defer cancel()
	var out []string
	for u := range st.client.ListIncompleteUploads(ctx, st.bucket, "", true) {
		if u.Err != nil {
			r.Fatalf("listing incomplete uploads: %v", u.Err)
		}
		out = append(out, u.Key)
	}
	return out
}

// ---------------------------------------------------------------------------
// The catalog, read-only.

func openCatalogRO(r *R, data string) *sql.DB {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "catalog.db")+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		r.Fatalf("opening the catalog read-only: %v", err)
	}
	return db
}

// catalogState is the catalog's document count, version keys and
// PRAGMA integrity_check answer.
func catalogState(r *R, data string) (docs int, keys map[string]string, integrity string) {
	db := openCatalogRO(r, data)
	defer db.Close()
	ctx, cancel := context.WithTimeout(r.Ctx, 60*time.Second)
	defer cancel()
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&integrity); err != nil {
		r.Fatalf("PRAGMA integrity_check: %v", err)
	}
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM documents").Scan(&docs); err != nil {
		r.Fatalf("counting documents: %v", err)
	}
	rows, err := db.QueryContext(ctx, "SELECT key, sha256 FROM versions")
	if err != nil {
		r.Fatalf("reading versions: %v", err)
	}
	defer rows.Close()
	keys = map[string]string{}
	for rows.Next() {
		var k, h string
		if err := rows.Scan(&k, &h); err != nil {
			r.Fatalf("%v", err)
		}
		keys[k] = h
	}
	return docs, keys, integrity
}

// ---------------------------------------------------------------------------
// The invariants.

// acked is an upload answered 201.
type acked struct {
	id, sha, number, name string
}

type invariantFigures struct {
	acked, downloaded, searchable, rows, keys, missing, originals, orphans, staged, multipart int
	drain                                                                                     time.Duration
}

func (f invariantFigures) String() string {
	return fmt.Sprintf("acked=%d downloaded_ok=%d searchable=%d catalog_rows=%d version_keys=%d missing_objects=%d originals=%d unreferenced=%d staged=%d multipart=%d queue_drained_in=%v",
		f.acked, f.downloaded, f.searchable, f.rows, f.keys, f.missing, f.originals, f.orphans, f.staged, f.multipart, f.drain.Round(100*time.Millisecond))
}

// checkInvariants checks, on a freshly (re)started server:
//   - the queue drains (vanthu_queue_jobs reaches 0);
//   - every acknowledged upload downloads with its SHA-256 and is found by a
//     search for its number/symbol (a clerk-supplied field, unique per
//     upload, indexed whatever the extraction makes of the file: so the
//     criterion does not depend on OCR or on a text layer);
//   - every catalog version key has its object; every object under
//     originals/ is referenced by a version row; uploads/ is empty;
//   - PRAGMA integrity_check is ok; `vanthu audit verify` passes.
func (r *R) checkInvariants(label string, s *server, st *storage, tok string, ack []acked, drainWithin time.Duration) invariantFigures {
	f := invariantFigures{acked: len(ack)}
	var ok bool
	f.drain, ok = s.drainQueue(drainWithin)
	if !ok {
		n, err := s.queueJobs()
		r.Errorf("%s: the index queue still holds %d jobs (%v) after %v", label, n, err, drainWithin)
	}
	ctx, cancel := context.WithTimeout(r.Ctx, 5*time.Minute)
	defer cancel()
	for _, a := range ack {
		resp, err := s.request(ctx, http.MethodGet, "/api/v1/documents/"+a.id+"/original", tok, nil, nil)
		if err != nil || resp.status != http.StatusOK || sha(resp.body) != a.sha {
			r.Errorf("%s: acknowledged upload %s (%s) not downloadable intact: %v %v", label, a.id, a.name, resp.status, err)
		} else {
			f.downloaded++
		}
		if a.number == "" {
			continue
		}
		found := false
		// The index job runs after the queue count drops; give it a moment.
		for attempt := 0; attempt < 20 && !found; attempt++ {
			sr, resp, err := s.search(ctx, tok, a.number, 5)
			if err != nil || resp.status != http.StatusOK {
				r.Errorf("%s: search %q: %v %v", label, a.number, resp, err)
				break
			}
			for _, h := range sr.Hits {
				if h.ID == a.id {
					found = true
				}
			}
			if !found {
				time.Sleep(250 * time.Millisecond)
			}
		}
		if found {
			f.searchable++
		} else {
			r.Errorf("%s: acknowledged upload %s (%s) is not found by a search for its number %q", label, a.id, a.name, a.number)
		}
	}
	rows, keys, integrity := catalogState(r, s.data)
	f.rows = rows
	f.keys = len(keys)
	for k := range keys {
		if !st.exists(r, s.data, k) {
			f.missing++
			r.Errorf("%s: catalog version key %s has no object", label, k)
		}
	}
	originals := st.keys(r, s.data, "originals/")
	f.originals = len(originals)
	for _, k := range originals {
		if _, ok := keys[k]; !ok {
			f.orphans++
			r.Errorf("%s: original %s is referenced by no version row (the start-up sweep should remove it)", label, k)
		}
	}
	staged := st.keys(r, s.data, "uploads/")
	f.staged = len(staged)
	if len(staged) > 0 {
		r.Errorf("%s: staged uploads left after the start-up sweep: %v", label, staged)
	}
	f.multipart = len(st.incompleteUploads(r))
	if integrity != "ok" {
		r.Errorf("%s: PRAGMA integrity_check = %q", label, integrity)
	}
	res := r.cli(st.env, "audit", "verify", "--data", s.data)
	if res.code != 0 {
		r.Errorf("%s: vanthu audit verify: exit %d: %s", label, res.code, res.out)
	}
	return f
}
