package search

import (
	"slices"

	"github.com/blevesearch/bleve/v2"
	bsearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/collector"
	"github.com/blevesearch/bleve/v2/search/facet"
	"github.com/blevesearch/bleve/v2/search/query"
	segment "github.com/blevesearch/scorch_segment_api/v2"
)

// The first page of a topK search is read from the view's snapshot
// directly: each hit's stored fields are visited once by its segment and
// number (not found again by id through a Bleve query), and term
// locations for highlights come from the posting lists the view already
// holds, read with locations only at the page's documents. Only clauses
// that are not terms (a prefix) still go through a Bleve query restricted
// to the page.

// ranked runs q through Bleve's collector on the view's snapshot (so hits
// carry the view's document numbers): the top size hits in sort order
// after the cursor values, the total, and Bleve's facet counts of the
// combined facet column when facets is set.
func (v *view) ranked(q query.Query, sort bsearch.SortOrder, after []string, size int, facets bool) (bsearch.DocumentMatchCollection, uint64, bsearch.FacetResults, error) {
	s, err := q.Searcher(v.ctx, v.r, v.ix.bi.Mapping(), bsearch.SearcherOptions{})
	if err != nil {
		return nil, 0, nil, err
	}
	defer s.Close()
	var coll *collector.TopNCollector
	if after != nil {
		coll = collector.NewTopNCollectorAfter(size, sort, after)
	} else {
		coll = collector.NewTopNCollector(size, 0, sort)
	}
	if facets {
		fb := bsearch.NewFacetsBuilder(v.r)
		fb.Add(fFacets, facet.NewTermsFacetBuilder(fFacets, maxFacetTerms))
		coll.SetFacetsBuilder(fb)
	}
	if err := coll.Collect(v.ctx, s, v.r); err != nil {
		return nil, 0, nil, err
	}
	return coll.Results(), coll.Total(), coll.FacetResults(), nil
}

// hitFields are the stored fields a hit shows.
var hitFields = []string{fNumber, fType, fIssuer, fIssuedKey, fSubject, fSubjectShown}

// pageHits turns a topK page into hits, with highlights from clauses when
// highlight is set.
func (v *view) pageHits(page []scoredDoc, clauses []query.Query, highlight bool) ([]Hit, error) {
	dms := make([]*bsearch.DocumentMatch, len(page))
	for i, d := range page {
		seg, local := v.locate(d.internal.Value())
		fields := make(map[string]interface{}, len(hitFields)+1)
		err := v.segs[seg].VisitDocument(uint64(local), func(field string, _ byte, value []byte, _ []uint64) bool {
			if slices.Contains(hitFields, field) || (highlight && field == fBody) {
				fields[field] = string(value)
			}
			return true
		})
		if err != nil {
			return nil, err
		}
		dms[i] = &bsearch.DocumentMatch{ID: d.id, Score: d.score, Fields: fields, IndexInternalID: d.internal}
	}
	if highlight && len(dms) > 0 {
		if err := v.locations(dms, clauses); err != nil {
			return nil, err
		}
	}
	hits := make([]Hit, len(dms))
	for i, dm := range dms {
		hits[i] = hitOf(dm)
		if highlight {
			hits[i].Highlights = highlights(dm)
		}
	}
	return hits, nil
}

// mark is a term whose locations a highlight shows, in the documents of
// only (nil: in any document).
type mark struct {
	field, term string
	only        bits
}

// locations fills dms' term locations for the clauses that mark text.
func (v *view) locations(dms []*bsearch.DocumentMatch, clauses []query.Query) error {
	var marks []mark
	var other []query.Query
	var walk func(q query.Query, only bits) error
	walk = func(q query.Query, only bits) error {
		switch q := q.(type) {
		case *query.TermQuery:
			if hasVectors[q.FieldVal] {
				marks = append(marks, mark{q.FieldVal, q.Term, only})
			}
			return nil // a term without vectors (pairs, numbers) marks nothing
		case *query.DisjunctionQuery:
			for _, c := range q.Disjuncts {
				if err := walk(c, only); err != nil {
					return err
				}
			}
			return nil
		case *filteredQuery:
			f, err := v.eval(q.filter)
			if err != nil {
				return err
			}
			if only != nil {
				f = v.and2(only, f)
			}
			return walk(q.q, f)
		}
		other = append(other, q)
		return nil
	}
	for _, q := range clauses {
		if err := walk(q, nil); err != nil {
			return err
		}
	}
	// The page in document order, so each posting list is read forwards.
	order := make([]int, len(dms))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		return dms[a].IndexInternalID.Compare(dms[b].IndexInternalID)
	})
	for _, m := range marks {
		if _, err := v.term(m.field, m.term); err != nil {
			return err
		}
		pls := v.pls[[2]string{m.field, m.term}]
		itSeg := -1
		var it segment.PostingsIterator
		var p segment.Posting // the iterator's current posting; it may be ahead of the page
		for _, i := range order {
			dm := dms[i]
			seg, local := v.locate(dm.IndexInternalID.Value())
			if m.only != nil && (m.only[seg] == nil || !m.only[seg].Contains(local)) {
				continue
			}
			if seg != itSeg {
				itSeg, it, p = seg, pls[seg].Iterator(false, false, true, nil), nil
			}
			if p == nil || p.Number() < uint64(local) {
				var err error
				if p, err = it.Advance(uint64(local)); err != nil {
					return err
				}
			}
			if p == nil || p.Number() != uint64(local) {
				continue
			}
			if dm.Locations == nil {
				dm.Locations = bsearch.FieldTermLocationMap{}
			}
			tl := dm.Locations[m.field]
			if tl == nil {
				tl = bsearch.TermLocationMap{}
				dm.Locations[m.field] = tl
			}
			for _, l := range p.Locations() {
				tl[m.term] = append(tl[m.term], &bsearch.Location{Pos: l.Pos(), Start: l.Start(), End: l.End()})
			}
		}
	}
	if len(other) > 0 {
		return v.bleveLocations(dms, other)
	}
	return nil
}

// bleveLocations adds the locations of clauses that are not plain terms,
// from a Bleve query restricted to the page.
func (v *view) bleveLocations(dms []*bsearch.DocumentMatch, clauses []query.Query) error {
	ids := make([]string, len(dms))
	for i, dm := range dms {
		ids[i] = dm.ID
	}
	q := query.NewConjunctionQuery([]query.Query{query.NewDocIDQuery(ids), disj(clauses...)})
	req := bleve.NewSearchRequestOptions(q, len(ids), 0, false)
	req.IncludeLocations = true
	res, err := v.ix.run(v.ctx, req)
	if err != nil {
		return err
	}
	byID := make(map[string]*bsearch.DocumentMatch, len(dms))
	for _, dm := range dms {
		byID[dm.ID] = dm
	}
	for _, h := range res.Hits {
		dm := byID[h.ID]
		if dm == nil {
			continue
		}
		if dm.Locations == nil {
			dm.Locations = bsearch.FieldTermLocationMap{}
		}
		for f, tl := range h.Locations {
			if dm.Locations[f] == nil {
				dm.Locations[f] = bsearch.TermLocationMap{}
			}
			for t, ls := range tl {
				dm.Locations[f][t] = append(dm.Locations[f][t], ls...)
			}
		}
	}
	return nil
}
