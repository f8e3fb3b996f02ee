package web

import (
	"html/template"
	"net/url"

	"github.com/gofiber/fiber/v2"

	"vanthu/archive/records"
	"vanthu/search"
)

type searchData struct {
	Q, Sort, From, To string
	Query             url.Values
	Total             uint64
	Hits              []hitView
	Facets            []facetView
	Active            []activeFilter
	Next, First       string
	Paged             bool
	Filtered          bool
}

type hitView struct {
	search.Hit
	TypeName string
	Subject  template.HTML // highlighted subject, or empty
	Snippets []template.HTML
}

type facetView struct {
	Name, Label string
	Terms       []facetTerm
}

type facetTerm struct {
	Label  string
	Count  int
	URL    string
	Active bool
}

type activeFilter struct {
	Label, Remove string
}

// searchPage is the start page: one box, facets, highlighted snippets.
func (s *Server) searchPage(c *fiber.Ctx) error {
	a := s.actor(c)
	q := queryValues(c)
	d := searchData{Q: c.Query("q"), Sort: c.Query("sort"), From: c.Query("from"), To: c.Query("to"), Query: q,
		Paged: c.Query("after") != ""}
	pg := page{Title: "Tra cứu văn bản", Nav: "search", D: &d}
	r, err := searchRequest(c, a.User.Clearance)
	var res *search.Result
	if err == nil {
		res, err = s.search(c, r)
	}
	if err != nil {
		if status, msg, ok := userProblem(err); ok {
			pg.Problem = msg
			return s.render(c, status, "search", pg)
		}
		return err
	}
	d.Total = res.Total
	if res.Next != "" {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("after", res.Next)
		d.Next = "?" + v.Encode()
	}
	d.First = withParams(q)
	for _, h := range res.Hits {
		hv := hitView{Hit: h, TypeName: records.TypeName(h.Type)}
		// The search package escapes every byte outside <mark>: these
		// fragments, and only these, are trusted as HTML.
		if f := h.Highlights["subject"]; len(f) > 0 {
			hv.Subject = template.HTML(f[0])
		}
		for _, f := range h.Highlights["body"] {
			hv.Snippets = append(hv.Snippets, template.HTML(f))
		}
		d.Hits = append(d.Hits, hv)
	}
	facetLabel := map[string]string{"type": "Loại văn bản", "issuer": "Cơ quan ban hành", "year": "Năm ban hành", "level": "Cấp ban hành"}
	termLabel := func(facet, term string) string {
		switch facet {
		case "type":
			if n := records.TypeName(term); n != "" {
				return n
			}
		case "level":
			return labelOr(levelLabels, term)
		}
		return term
	}
	for _, name := range []string{"type", "issuer", "year", "level"} {
		fv := facetView{Name: name, Label: facetLabel[name]}
		for _, t := range res.Facets[name] {
			active := q.Get(name) == t.Term
			link := withParams(q, name, t.Term)
			if active {
				link = withParams(q, name, "")
			}
			fv.Terms = append(fv.Terms, facetTerm{Label: termLabel(name, t.Term), Count: t.Count, URL: link, Active: active})
		}
		if v := q.Get(name); v != "" {
			d.Active = append(d.Active, activeFilter{Label: facetLabel[name] + ": " + termLabel(name, v), Remove: withParams(q, name, "")})
			d.Filtered = true
		}
		if len(fv.Terms) > 0 {
			fv.Terms = fv.Terms[:min(len(fv.Terms), 12)]
			d.Facets = append(d.Facets, fv)
		}
	}
	if d.From != "" || d.To != "" {
		d.Active = append(d.Active, activeFilter{Label: "Ngày ban hành: " + dateSpan(d.From, d.To), Remove: withParams(q, "from", "", "to", "")})
		d.Filtered = true
	}
	return s.render(c, fiber.StatusOK, "search", pg)
}

func dateSpan(from, to string) string {
	switch {
	case from != "" && to != "":
		return viDate(from) + " – " + viDate(to)
	case from != "":
		return "từ " + viDate(from)
	}
	return "đến " + viDate(to)
}
