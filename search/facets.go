package search

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/blevesearch/bleve/v2/index/scorch"
	bsearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"
	segment "github.com/blevesearch/scorch_segment_api/v2"
)

// Counting facets through Bleve reads each matching document's doc values
// (a chunk lookup and a decode per document): after ranking stopped
// scoring every match, that was the largest cost of a broad search.
// Segments never change once written, so each segment's facet values are
// read once, into one small integer per facet per document, and a search
// counts by array lookups. The cache follows the segments: entries of
// segments merged away are dropped.

// facetOrder is the order of the facets in a segment's ordinals.
var facetOrder = [...]string{fType, fIssuer, fYear, fLevel}

type facetCache struct {
	mu    sync.Mutex
	segs  map[uint64]*segFacets // by segment id
	dict  [len(facetOrder)]map[string]uint32
	terms [len(facetOrder)][]string // ordinal-1 → value
}

type segFacets struct {
	once sync.Once
	ords []uint32 // len(facetOrder) per document: 0 none, else ordinal
	// dates are the documents' issued_key as YYYYMMDD, 0 when missing; nil
	// when a key is not a date (then date sorts are left to Bleve)
	dates []uint32
	err   error
}

func newFacetCache() *facetCache {
	c := &facetCache{segs: map[uint64]*segFacets{}}
	for i := range c.dict {
		c.dict[i] = map[string]uint32{}
	}
	return c
}

// segment returns the ordinals of a segment, reading them on first use.
func (c *facetCache) segment(ss *scorch.SegmentSnapshot) ([]uint32, error) {
	sf := c.entry(ss)
	return sf.ords, sf.err
}

// dates returns the issued dates of a segment's documents (see segFacets),
// reading them on first use.
func (c *facetCache) dates(ss *scorch.SegmentSnapshot) ([]uint32, error) {
	sf := c.entry(ss)
	return sf.dates, sf.err
}

func (c *facetCache) entry(ss *scorch.SegmentSnapshot) *segFacets {
	c.mu.Lock()
	sf := c.segs[ss.Id()]
	if sf == nil {
		sf = &segFacets{}
		c.segs[ss.Id()] = sf
	}
	c.mu.Unlock()
	sf.once.Do(func() { sf.ords, sf.dates, sf.err = c.read(ss.Segment()) })
	return sf
}

func (c *facetCache) read(seg segment.Segment) (ords, dates []uint32, err error) {
	dv, ok := seg.(segment.DocValueVisitable)
	if !ok {
		return nil, nil, fmt.Errorf("segment %T has no doc values", seg)
	}
	n := seg.Count()
	ords = make([]uint32, n*uint64(len(facetOrder)))
	dates = make([]uint32, n)
	datesOK := true
	fields := []string{fFacets, fIssuedKey}
	var state segment.DocVisitState
	for doc := uint64(0); doc < n; doc++ {
		base := doc * uint64(len(facetOrder))
		state, err = dv.VisitDocValues(doc, fields, func(field string, term []byte) {
			if field == fIssuedKey {
				d, ok := dateKey(term)
				datesOK = datesOK && ok
				dates[doc] = d
				return
			}
			code, value, ok := strings.Cut(string(term), ":")
			if !ok {
				return
			}
			for i, f := range facetOrder {
				if facetCode[f] == code {
					ords[base+uint64(i)] = c.ordinal(i, value)
				}
			}
		}, state)
		if err != nil {
			return nil, nil, err
		}
	}
	if !datesOK {
		dates = nil
	}
	return ords, dates, nil
}

// dateKey reads an issued_key "YYYY-MM-DD" as the number YYYYMMDD, which
// sorts as the key does; ok is false for anything else.
func dateKey(b []byte) (uint32, bool) {
	if len(b) != 10 || b[4] != '-' || b[7] != '-' {
		return 0, false
	}
	var n uint32
	for i, c := range b {
		if i == 4 || i == 7 {
			continue
		}
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint32(c-'0')
	}
	return n, n > 0
}

func (c *facetCache) ordinal(facet int, value string) uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	o, ok := c.dict[facet][value]
	if !ok {
		c.terms[facet] = append(c.terms[facet], value)
		o = uint32(len(c.terms[facet]))
		c.dict[facet][value] = o
	}
	return o
}

// retain drops the entries of segments the snapshot no longer has, once
// the cache holds noticeably more than the snapshot.
func (c *facetCache) retain(segs []*scorch.SegmentSnapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.segs) <= 2*len(segs)+8 {
		return
	}
	live := make(map[uint64]bool, len(segs))
	for _, ss := range segs {
		live[ss.Id()] = true
	}
	for id := range c.segs {
		if !live[id] {
			delete(c.segs, id)
		}
	}
}

// countMatches counts the documents q matches and, when facets is true,
// their facet values, without scoring.
func (v *view) countMatches(q query.Query, facets bool) (total uint64, out map[string][]FacetTerm, err error) {
	b, err := v.eval(q)
	if err != nil {
		return 0, nil, err
	}
	total = b.count()
	if !facets {
		return total, nil, nil
	}
	fc := v.ix.facets
	ords := make([][]uint32, len(v.segs))
	for i, ss := range v.segs {
		if b[i] == nil {
			continue
		}
		if ords[i], err = fc.segment(ss); err != nil {
			return 0, nil, err
		}
	}
	fc.retain(v.segs)

	var counts [len(facetOrder)][]int
	fc.mu.Lock()
	for i := range counts {
		counts[i] = make([]int, len(fc.terms[i])+1)
	}
	fc.mu.Unlock()
	buf := make([]uint32, 256)
	const nf = uint32(len(facetOrder))
	for s, bm := range b {
		if bm == nil {
			continue
		}
		segOrds := ords[s]
		it := bm.ManyIterator()
		for n := it.NextMany(buf); n > 0; n = it.NextMany(buf) {
			for _, d := range buf[:n] {
				o := segOrds[d*nf : d*nf+nf]
				for i := range counts {
					counts[i][o[i]]++
				}
			}
		}
		if err := v.ctx.Err(); err != nil {
			return 0, nil, err
		}
	}
	out = make(map[string][]FacetTerm, len(facetOrder))
	fc.mu.Lock()
	for i, f := range facetOrder {
		ts := []FacetTerm{}
		for o := 1; o < len(counts[i]); o++ {
			if counts[i][o] > 0 {
				ts = append(ts, FacetTerm{Term: fc.terms[i][o-1], Count: counts[i][o]})
			}
		}
		out[f] = ts
	}
	fc.mu.Unlock()
	topFacets(out)
	return total, out, nil
}

// topFacets orders each facet by count (then value) and keeps facetSize.
func topFacets(fs map[string][]FacetTerm) {
	for f, ts := range fs {
		slices.SortFunc(ts, func(a, b FacetTerm) int {
			if a.Count != b.Count {
				return b.Count - a.Count
			}
			return strings.Compare(a.Term, b.Term)
		})
		fs[f] = ts[:min(len(ts), facetSize)]
	}
}

// searchContext is what Bleve's SearchInContext gives its searchers: the
// scoring model and this index's BM25 statistics (see run).
func (ix *Index) searchContext(ctx context.Context) (context.Context, error) {
	stats, err := ix.bm25Stats()
	if err != nil {
		return nil, err
	}
	ctx = context.WithValue(ctx, bsearch.GetScoringModelCallbackKey,
		bsearch.GetScoringModelCallbackFn(func() string { return index.BM25Scoring }))
	return context.WithValue(ctx, bsearch.BM25StatsKey, stats[bsearch.BM25PreSearchDataKey]), nil
}
