package search

import (
	"context"
	"fmt"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	bsearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"
	segment "github.com/blevesearch/scorch_segment_api/v2"
)

// A view is one snapshot of the index for the parts of a search that only
// ask which documents match, never how well: the visibility of the query's
// words, the number check, totals and facets, and the filter of the
// ranking pass. They work on the posting bitmaps of the segments
// directly: a term is one dictionary lookup per segment, read once per
// search however many passes ask for it, and a query's matches are
// bitmap ORs, ANDs and AND-NOTs. Bleve's unscored searchers do the same
// bitmap work for a flat term disjunction, but then hand out every match
// one by one (a DocumentMatch each), which at 80,000 matches was a
// quarter of a broad search.
//
// Every pass of a search uses the same view, so documents are numbered
// the same way in all of them.
type view struct {
	ctx     context.Context // with the index's BM25 statistics, for fallback searchers
	ix      *Index
	r       index.IndexReader
	segs    []*scorch.SegmentSnapshot
	offsets []uint64 // offsets[i] is segs[i]'s first document number; the last entry is the end
	dicts   map[string][]segment.TermDictionary
	terms   map[[2]string]bits
	pls     map[[2]string][]segment.PostingsList // the posting lists behind terms
	evals   map[query.Query]bits
	live    bits
}

// bits are the documents of a view that match something: one bitmap of
// segment-local document numbers per segment, nil for none. They may be
// the segments' own bitmaps and are never modified.
type bits []*roaring.Bitmap

func (ix *Index) view(ctx context.Context) (*view, error) {
	sctx, err := ix.searchContext(ctx)
	if err != nil {
		return nil, err
	}
	r, err := ix.reader()
	if err != nil {
		return nil, err
	}
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok {
		r.Close()
		return nil, fmt.Errorf("index reader is a %T, not a scorch snapshot", r)
	}
	v := &view{ctx: sctx, ix: ix, r: r, segs: snap.Segments(),
		dicts: map[string][]segment.TermDictionary{}, terms: map[[2]string]bits{}, pls: map[[2]string][]segment.PostingsList{}, evals: map[query.Query]bits{}}
	v.offsets = make([]uint64, len(v.segs)+1)
	for i, ss := range v.segs {
		v.offsets[i+1] = v.offsets[i] + ss.Segment().Count() // deleted documents keep their numbers
	}
	return v, nil
}

func (v *view) close() { v.r.Close() }

// term is the documents with term in field.
func (v *view) term(field, term string) (bits, error) {
	k := [2]string{field, term}
	if b, ok := v.terms[k]; ok {
		return b, nil
	}
	dicts, err := v.dictionaries(field)
	if err != nil {
		return nil, err
	}
	b := make(bits, len(v.segs))
	pls := make([]segment.PostingsList, len(v.segs))
	for i, ss := range v.segs {
		pl, err := dicts[i].PostingsList([]byte(term), ss.Deleted(), nil)
		if err != nil {
			return nil, err
		}
		pls[i] = pl
		it := pl.Iterator(false, false, false, nil)
		oi, ok := it.(segment.OptimizablePostingsIterator)
		if !ok {
			return nil, fmt.Errorf("segment %T has no posting bitmaps", ss.Segment())
		}
		if n, one := oi.DocNum1Hit(); one {
			b[i] = roaring.BitmapOf(uint32(n))
		} else if bm := oi.ActualBitmap(); bm != nil && !bm.IsEmpty() {
			b[i] = bm
		}
	}
	v.terms[k] = b
	v.pls[k] = pls
	return b, nil
}

// dictionaries are field's term dictionaries, one per segment.
func (v *view) dictionaries(field string) ([]segment.TermDictionary, error) {
	if dicts, ok := v.dicts[field]; ok {
		return dicts, nil
	}
	dicts := make([]segment.TermDictionary, len(v.segs))
	for i, ss := range v.segs {
		d, err := ss.Segment().Dictionary(field)
		if err != nil {
			return nil, err
		}
		dicts[i] = d
	}
	v.dicts[field] = dicts
	return dicts, nil
}

// df is the number of live documents with term in field, hidden ones
// included.
func (v *view) df(field, term string) (uint64, error) {
	b, err := v.term(field, term)
	if err != nil {
		return 0, err
	}
	return b.count(), nil
}

// exists reports whether q matches any document.
func (v *view) exists(q query.Query) (bool, error) {
	b, err := v.eval(q)
	if err != nil {
		return false, err
	}
	for _, bm := range b {
		if bm != nil && !bm.IsEmpty() {
			return true, nil
		}
	}
	return false, nil
}

// eval is the documents q matches, as Bleve's searcher for q would find
// them. Term queries and their conjunctions, disjunctions and boolean
// combinations are bitmap operations; anything else (phrases, prefixes,
// date ranges) is run as an unscored Bleve searcher and its matches
// collected.
func (v *view) eval(q query.Query) (bits, error) {
	if b, ok := v.evals[q]; ok {
		return b, nil
	}
	if err := v.ctx.Err(); err != nil {
		return nil, err
	}
	b, err := v.evalNew(q)
	if err != nil {
		return nil, err
	}
	v.evals[q] = b
	return b, nil
}

func (v *view) evalNew(q query.Query) (bits, error) {
	switch q := q.(type) {
	case *query.TermQuery:
		return v.term(q.FieldVal, q.Term)
	case *query.MatchNoneQuery:
		return make(bits, len(v.segs)), nil
	case *query.MatchAllQuery:
		return v.all(), nil
	case *query.ConjunctionQuery:
		return v.and(q.Conjuncts)
	case *query.DisjunctionQuery:
		if q.Min <= 1 {
			return v.or(q.Disjuncts)
		}
	case *filteredQuery:
		return v.and([]query.Query{q.q, q.filter})
	case *query.BooleanQuery:
		return v.boolean(q)
	}
	return v.collect(q)
}

func (v *view) and(qs []query.Query) (bits, error) {
	if len(qs) == 0 {
		return make(bits, len(v.segs)), nil // Bleve: an empty conjunction matches nothing
	}
	return v.combine(qs, true)
}

func (v *view) or(qs []query.Query) (bits, error) { return v.combine(qs, false) }

// combine is the intersection (all) or the union of the queries' matches,
// segment by segment.
func (v *view) combine(qs []query.Query, all bool) (bits, error) {
	parts := make([]bits, len(qs))
	for i, c := range qs {
		b, err := v.eval(c)
		if err != nil {
			return nil, err
		}
		parts[i] = b
	}
	out := make(bits, len(v.segs))
	for s := range v.segs {
		bms := make([]*roaring.Bitmap, 0, len(parts))
		for _, p := range parts {
			if p[s] == nil {
				if all {
					bms = nil // one part has nothing here: nor has the intersection
					break
				}
				continue
			}
			bms = append(bms, p[s])
		}
		switch {
		case len(bms) == 0:
		case len(bms) == 1:
			out[s] = bms[0]
		case all:
			out[s] = roaring.FastAnd(bms...)
		default:
			out[s] = roaring.FastOr(bms...)
		}
	}
	return out, nil
}

// and2 is the intersection of two evaluated sets.
func (v *view) and2(a, b bits) bits {
	out := make(bits, len(v.segs))
	for s := range v.segs {
		if a[s] != nil && b[s] != nil {
			out[s] = roaring.And(a[s], b[s])
		}
	}
	return out
}

// boolean follows Bleve's BooleanSearcher: with a must part, the should
// part is optional unless it asks for a minimum; without one, a should
// clause must match; only must-not clauses mean everything but them.
func (v *view) boolean(q *query.BooleanQuery) (bits, error) {
	var parts []query.Query
	if q.Must != nil {
		parts = append(parts, q.Must)
	}
	if q.Should != nil {
		if d, ok := q.Should.(*query.DisjunctionQuery); !ok || q.Must == nil || d.Min > 0 {
			parts = append(parts, q.Should)
		}
	}
	if q.Filter != nil {
		parts = append(parts, q.Filter)
	}
	var out bits
	switch {
	case len(parts) > 0:
		b, err := v.and(parts)
		if err != nil {
			return nil, err
		}
		out = b
	case q.MustNot != nil:
		out = v.all()
	default:
		return make(bits, len(v.segs)), nil
	}
	if q.MustNot == nil {
		return out, nil
	}
	not, err := v.eval(q.MustNot)
	if err != nil {
		return nil, err
	}
	res := make(bits, len(v.segs))
	for s := range v.segs {
		switch {
		case out[s] == nil:
		case not[s] == nil:
			res[s] = out[s]
		default:
			res[s] = roaring.AndNot(out[s], not[s])
		}
	}
	return res, nil
}

// all is every live document.
func (v *view) all() bits {
	if v.live == nil {
		v.live = make(bits, len(v.segs))
		for i, ss := range v.segs {
			v.live[i] = ss.DocNumbersLive()
		}
	}
	return v.live
}

// collect runs q as an unscored Bleve searcher and gathers its matches.
func (v *view) collect(q query.Query) (bits, error) {
	s, err := q.Searcher(v.ctx, v.r, v.ix.bi.Mapping(), bsearch.SearcherOptions{Score: "none"})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	sctx := &bsearch.SearchContext{DocumentMatchPool: bsearch.NewDocumentMatchPool(s.DocumentMatchPoolSize()+1, 0), IndexReader: v.r}
	out := make(bits, len(v.segs))
	seg := 0
	for n := 0; ; n++ {
		if n&4095 == 4095 && v.ctx.Err() != nil {
			return nil, v.ctx.Err()
		}
		d, err := s.Next(sctx)
		if err != nil {
			return nil, err
		}
		if d == nil {
			return out, nil
		}
		g := d.IndexInternalID.Value()
		for seg+1 < len(v.segs) && g >= v.offsets[seg+1] {
			seg++
		}
		if out[seg] == nil {
			out[seg] = roaring.New()
		}
		out[seg].Add(uint32(g - v.offsets[seg]))
		sctx.DocumentMatchPool.Put(d)
	}
}

func (b bits) count() uint64 {
	var n uint64
	for _, bm := range b {
		if bm != nil {
			n += bm.GetCardinality()
		}
	}
	return n
}

// contains reports whether the document with global number g is in b.
func (v *view) contains(b bits, g uint64) bool {
	s := v.segment(g)
	return s >= 0 && b[s] != nil && b[s].Contains(uint32(g-v.offsets[s]))
}

// locate is the segment holding global document number g, and g's number
// in it; a g past the end gives an empty segment of the view.
func (v *view) locate(g uint64) (seg int, local uint32) {
	s := v.segment(g)
	if s < 0 {
		return 0, 0
	}
	return s, uint32(g - v.offsets[s])
}

// segment is the index of the segment holding global document number g,
// or -1.
func (v *view) segment(g uint64) int {
	lo, hi := 0, len(v.segs)
	for lo < hi {
		m := (lo + hi) / 2
		if g >= v.offsets[m+1] {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == len(v.segs) {
		return -1
	}
	return lo
}

// bitsCursor walks the documents of b in order, forwards only.
type bitsCursor struct {
	v   *view
	b   bits
	seg int
	it  roaring.IntPeekable
}

func (v *view) cursor(b bits) *bitsCursor { return &bitsCursor{v: v, b: b, seg: -1} }

// seek is the first document at or after global number g; ok is false
// when there is none. Calls must not go backwards.
func (c *bitsCursor) seek(g uint64) (next uint64, ok bool) {
	v := c.v
	first := v.segment(g)
	if first < 0 {
		return 0, false
	}
	for s := max(first, c.seg); s < len(v.segs); s++ {
		if c.b[s] == nil {
			continue
		}
		if s != c.seg {
			c.seg, c.it = s, c.b[s].Iterator()
		}
		if g > v.offsets[s] {
			c.it.AdvanceIfNeeded(uint32(g - v.offsets[s]))
		}
		if c.it.HasNext() {
			return v.offsets[s] + uint64(c.it.PeekNext()), true
		}
	}
	return 0, false
}
