package search

import (
	"context"

	"github.com/blevesearch/bleve/v2/mapping"
	bsearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"
)

// filteredQuery is a query restricted to the documents of a filter that
// does not score. Bleve's BooleanQuery.Filter reads every match of the
// scoring part and then checks it against the filter, so "kế hoạch" in
// 2020 walks the posting lists of all years. filteredQuery leapfrogs
// instead: whichever side is behind skips ahead to the other's document,
// so a selective filter (a year, a type, an issuer) bounds the work and a
// broad one (the clearance of most users) costs what the check did before.
type filteredQuery struct {
	q, filter query.Query
}

func (f *filteredQuery) Searcher(ctx context.Context, i index.IndexReader, m mapping.IndexMapping, options bsearch.SearcherOptions) (bsearch.Searcher, error) {
	main, err := f.q.Searcher(ctx, i, m, options)
	if err != nil {
		return nil, err
	}
	filter, err := f.filter.Searcher(ctx, i, m, bsearch.SearcherOptions{Score: "none"})
	if err != nil {
		main.Close()
		return nil, err
	}
	lf := &leapfrog{main: main, filter: filter}
	// A filter much sparser than the query (a year, a type) leads: the
	// query is then only asked about the filter's documents, instead of
	// finding each of its own matches (for a phrase, checking positions)
	// and asking the filter. Bleve's counts are upper bounds, hence the
	// margin.
	if est, ok := estimate(ctx, i, f.filter); ok && est*4 < main.Count() {
		lf.filterLeads = true
	}
	return lf, nil
}

// estimate is an upper bound of the documents a filter matches, from the
// document frequencies of its terms; ok is false when it cannot tell.
func estimate(ctx context.Context, r index.IndexReader, q query.Query) (n uint64, ok bool) {
	switch q := q.(type) {
	case *query.TermQuery:
		tfr, err := r.TermFieldReader(ctx, []byte(q.Term), q.FieldVal, false, false, false)
		if err != nil {
			return 0, false
		}
		defer tfr.Close()
		return tfr.Count(), true
	case *query.ConjunctionQuery:
		for _, c := range q.Conjuncts {
			if m, ok2 := estimate(ctx, r, c); ok2 && (!ok || m < n) {
				n, ok = m, true
			}
		}
		return n, ok
	case *query.DisjunctionQuery:
		for _, c := range q.Disjuncts {
			m, ok := estimate(ctx, r, c)
			if !ok {
				return 0, false
			}
			n += m
		}
		return n, true
	case *query.MatchNoneQuery:
		return 0, true
	}
	return 0, false
}

// leapfrog yields the documents of main that filter also has, with main's
// score and term locations.
type leapfrog struct {
	main, filter bsearch.Searcher
	cur          *bsearch.DocumentMatch // filter's current document
	started, end bool
	filterLeads  bool
}

func (l *leapfrog) Next(ctx *bsearch.SearchContext) (*bsearch.DocumentMatch, error) {
	if l.end {
		return nil, nil
	}
	if l.filterLeads {
		// Both sides stand on the last match (or nowhere yet): move the
		// filter on, then bring the query to it. Neither goes backwards.
		if l.cur != nil {
			ctx.DocumentMatchPool.Put(l.cur)
		}
		l.started = true
		var err error
		if l.cur, err = l.filter.Next(ctx); err != nil {
			return nil, err
		}
		if l.cur == nil {
			l.end = true
			return nil, nil
		}
		d, err := l.main.Advance(ctx, l.cur.IndexInternalID)
		if err != nil {
			return nil, err
		}
		return l.align(ctx, d)
	}
	d, err := l.main.Next(ctx)
	if err != nil {
		return nil, err
	}
	return l.align(ctx, d)
}

func (l *leapfrog) Advance(ctx *bsearch.SearchContext, id index.IndexInternalID) (*bsearch.DocumentMatch, error) {
	if l.end {
		return nil, nil
	}
	d, err := l.main.Advance(ctx, id)
	if err != nil {
		return nil, err
	}
	return l.align(ctx, d)
}

// align moves both sides forward from main's document d until they agree.
func (l *leapfrog) align(ctx *bsearch.SearchContext, d *bsearch.DocumentMatch) (*bsearch.DocumentMatch, error) {
	var err error
	for d != nil {
		if !l.started || (l.cur != nil && l.cur.IndexInternalID.Compare(d.IndexInternalID) < 0) {
			if l.cur != nil {
				ctx.DocumentMatchPool.Put(l.cur)
			}
			l.started = true
			if l.cur, err = l.filter.Advance(ctx, d.IndexInternalID); err != nil {
				return nil, err
			}
		}
		if l.cur == nil {
			// The filter is exhausted: nothing after this can match.
			ctx.DocumentMatchPool.Put(d)
			l.end = true
			return nil, nil
		}
		c := l.cur.IndexInternalID.Compare(d.IndexInternalID)
		if c == 0 {
			return d, nil
		}
		// The filter is ahead: skip main to it.
		ctx.DocumentMatchPool.Put(d)
		if d, err = l.main.Advance(ctx, l.cur.IndexInternalID); err != nil {
			return nil, err
		}
	}
	l.end = true
	return nil, nil
}

func (l *leapfrog) Close() error {
	err := l.main.Close()
	if e := l.filter.Close(); err == nil {
		err = e
	}
	return err
}

func (l *leapfrog) Weight() float64        { return l.main.Weight() }
func (l *leapfrog) SetQueryNorm(n float64) { l.main.SetQueryNorm(n) }
func (l *leapfrog) Count() uint64          { return l.main.Count() }
func (l *leapfrog) Min() int               { return l.main.Min() }
func (l *leapfrog) Size() int              { return l.main.Size() + l.filter.Size() + 64 }
func (l *leapfrog) DocumentMatchPoolSize() int {
	return l.main.DocumentMatchPoolSize() + l.filter.DocumentMatchPoolSize() + 1
}
