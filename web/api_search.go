package web

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"vanthu/archive"
	"vanthu/search"
)

// searchRequest reads the search parameters of API.md; the search page uses
// the same reader.
func searchRequest(c *fiber.Ctx, clearance archive.Classification) (search.Request, error) {
	r := search.Request{
		Q: c.Query("q"), Type: c.Query("type"), Issuer: c.Query("issuer"), Level: c.Query("level"),
		Task: c.Query("task"), Sort: c.Query("sort"), After: c.Query("after"),
		Clearance: clearance, Facets: true, Highlight: true,
	}
	if y := c.Query("year"); y != "" {
		n, err := strconv.Atoi(y)
		if err != nil || n < 1900 || n > 2200 {
			return r, archive.Errorf(archive.ErrInvalid, "bad_year", "year must be a four-digit year")
		}
		r.Year = n
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &r.From}, {"to", &r.To}} {
		if v := c.Query(p.name); v != "" {
			t, err := time.Parse("2006-01-02", v)
			if err != nil {
				return r, archive.Errorf(archive.ErrInvalid, "bad_date", "%s must be a date in the form YYYY-MM-DD", p.name)
			}
			*p.dst = t
		}
	}
	size, err := querySize(c, 20, 100)
	if err != nil {
		return r, err
	}
	r.Size = size
	return r, nil
}

func (s *Server) searchDocuments(c *fiber.Ctx) error {
	a := s.actor(c)
	r, err := searchRequest(c, a.User.Clearance)
	if err != nil {
		return err
	}
	res, err := s.search(c, r)
	if err != nil {
		return err
	}
	return c.JSON(resultJSON(res))
}

// search runs a query and audits it (the query and filters, not the results).
func (s *Server) search(c *fiber.Ctx, r search.Request) (*search.Result, error) {
	if s.IndexReady != nil && !s.IndexReady() {
		return nil, archive.Errorf(archive.ErrUnavailable, "index_rebuilding", "the search index is being rebuilt after a restart; search will be back in a few minutes (documents can still be opened by id)")
	}
	// The audit event (the query and filters, not the results) is queued
	// before the search runs and committed with the events of the searches
	// beside it (RecordBeside); the results go out only once it is durable.
	// A search that cannot run is refused before either starts.
	if err := s.Index.Check(r); err != nil {
		return nil, err
	}
	a := s.actor(c)
	e := &archive.Event{Actor: a.User.Name, Role: string(a.User.Role), Action: archive.ActionSearch, IP: a.IP, RequestID: a.RequestID,
		Details: searchDetails(r)}
	audited := s.Catalog.RecordBeside(e)
	res, err := s.Index.Search(c.UserContext(), r)
	if aerr := audited(); aerr != nil {
		return nil, aerr
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

func searchDetails(r search.Request) map[string]any {
	d := map[string]any{"q": r.Q}
	for k, v := range map[string]string{"type": r.Type, "issuer": r.Issuer, "level": r.Level, "task": r.Task, "sort": r.Sort} {
		if v != "" {
			d[k] = v
		}
	}
	if r.Year > 0 {
		d["year"] = r.Year
	}
	if !r.From.IsZero() {
		d["from"] = r.From.Format("2006-01-02")
	}
	if !r.To.IsZero() {
		d["to"] = r.To.Format("2006-01-02")
	}
	return d
}

// resultJSON fixes the API shape: empty lists, not nulls, and next as null
// when there is no further page.
func resultJSON(res *search.Result) fiber.Map {
	hits := res.Hits
	if hits == nil {
		hits = []search.Hit{}
	}
	for i := range hits {
		if hits[i].Highlights == nil {
			hits[i].Highlights = map[string][]string{}
		}
	}
	facets := map[string][]search.FacetTerm{}
	for _, k := range []string{"type", "issuer", "year", "level"} {
		facets[k] = res.Facets[k]
		if facets[k] == nil {
			facets[k] = []search.FacetTerm{}
		}
	}
	var next any
	if res.Next != "" {
		next = res.Next
	}
	return fiber.Map{"total": res.Total, "hits": hits, "facets": facets, "next": next}
}

func (s *Server) similarDocuments(c *fiber.Ctx) error {
	a := s.actor(c)
	if _, err := s.Records.Check(c.UserContext(), a, c.Params("id"), "document.similar"); err != nil {
		return err
	}
	size, err := querySize(c, 10, 50)
	if err != nil {
		return err
	}
	res, err := s.Index.Similar(c.UserContext(), c.Params("id"), a.User.Clearance, size)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"hits": resultJSON(res)["hits"]})
}
