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
	return &leapfrog{main: main, filter: filter}, nil
}

// leapfrog yields the documents of main that filter also has, with main's
// score and term locations.
type leapfrog struct {
	main, filter bsearch.Searcher
	cur          *bsearch.DocumentMatch // filter's current document
	started, end bool
}

func (l *leapfrog) Next(ctx *bsearch.SearchContext) (*bsearch.DocumentMatch, error) {
	if l.end {
		return nil, nil
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
