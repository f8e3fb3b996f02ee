package search

import (
	"math"

	bsearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/blevesearch/bleve/v2/search/scorer"
	index "github.com/blevesearch/bleve_index_api"
	segment "github.com/blevesearch/scorch_segment_api/v2"
)

// clauseCursor walks one optional clause of a topK search in document
// order. A term clause reads the posting lists the view already looked up
// and scores them itself, with Bleve's BM25 formula and statistics
// (termCursor); any other clause (a prefix, a filtered disjunction) runs
// its Bleve searcher. Going through Bleve's term searchers cost a second
// dictionary lookup per term and segment, and a DocumentMatch per
// posting.
type clauseCursor struct {
	doc   uint64  // the current document (global number); meaningless when done
	done  bool    // no further documents
	score float64 // the clause's score at doc
	ub    float64 // the most the clause adds to a raw sum (+Inf: unknown)
	b     bits    // the documents it matches

	t *termCursor

	s    bsearch.Searcher
	sctx *bsearch.SearchContext
	dm   *bsearch.DocumentMatch
}

func (v *view) clauseCursor(q query.Query) (*clauseCursor, error) {
	b, err := v.eval(q)
	if err != nil {
		return nil, err
	}
	c := &clauseCursor{b: b, ub: math.Inf(1)}
	if tq, ok := q.(*query.TermQuery); ok {
		if c.t, err = v.termCursor(tq); err != nil {
			return nil, err
		}
		if c.t != nil {
			return c, nil
		}
	}
	if c.s, err = q.Searcher(v.ctx, v.r, v.ix.bi.Mapping(), bsearch.SearcherOptions{}); err != nil {
		return nil, err
	}
	c.sctx = &bsearch.SearchContext{DocumentMatchPool: bsearch.NewDocumentMatchPool(c.s.DocumentMatchPoolSize()+1, 0), IndexReader: v.r}
	return c, nil
}

// clauseCursors opens a cursor for each clause of a flat disjunction, with
// the query norm Bleve's disjunction searcher gives them (their weights
// summed in clause order, as Bleve sums), each at its first document. The
// caller closes them with closeAll.
func (v *view) clauseCursors(clauses []query.Query) ([]*clauseCursor, error) {
	cs := make([]*clauseCursor, 0, len(clauses))
	sumW := 0.0
	for _, q := range clauses {
		c, err := v.clauseCursor(q)
		if err != nil {
			closeAll(cs)
			return nil, err
		}
		cs = append(cs, c)
		sumW += c.weight()
	}
	qnorm := 1 / math.Sqrt(sumW)
	for _, c := range cs {
		c.setQueryNorm(qnorm)
		if err := c.next(); err != nil {
			closeAll(cs)
			return nil, err
		}
	}
	return cs, nil
}

func closeAll(cs []*clauseCursor) {
	for _, c := range cs {
		c.close()
	}
}

func (c *clauseCursor) close() {
	if c.s != nil {
		c.s.Close()
	}
}

func (c *clauseCursor) weight() float64 {
	if c.t != nil {
		return c.t.weight()
	}
	return c.s.Weight()
}

// setQueryNorm passes on the query norm, and sets the score bound of a
// term clause: BM25's tf part is below k1, so a score is below
// idf · k1 · (boost · idf · qnorm).
func (c *clauseCursor) setQueryNorm(qnorm float64) {
	if c.t == nil {
		c.s.SetQueryNorm(qnorm)
		return
	}
	c.t.qw = c.t.boost * c.t.idf * qnorm
	if c.t.boost > 0 {
		c.ub = bsearch.BM25_k1 * qnorm * c.t.weight() / c.t.boost * (1 + 1e-9)
	}
}

// at reports whether the clause is at document g.
func (c *clauseCursor) at(g uint64) bool { return !c.done && c.doc == g }

func (c *clauseCursor) next() error {
	if c.t != nil {
		return c.set(c.t.next())
	}
	if c.dm != nil {
		c.sctx.DocumentMatchPool.Put(c.dm)
	}
	var err error
	c.dm, err = c.s.Next(c.sctx)
	return c.setMatch(err)
}

// probe reports whether the clause has document cand (number local in
// segment seg), moving to it when its bitmap says it does: a clause
// without the document is not moved, so its postings are not decoded.
func (c *clauseCursor) probe(cand uint64, seg int, local uint32) (bool, error) {
	if bm := c.b[seg]; bm == nil || !bm.Contains(local) {
		return false, nil
	}
	if err := c.advance(cand); err != nil {
		return false, err
	}
	return c.at(cand), nil
}

// advance moves the clause to its first document at or after g; one
// already there is left alone (readers restart when sent backwards).
func (c *clauseCursor) advance(g uint64) error {
	if c.done || c.doc >= g {
		return nil
	}
	if c.t != nil {
		return c.set(c.t.advance(g))
	}
	c.sctx.DocumentMatchPool.Put(c.dm)
	var err error
	c.dm, err = c.s.Advance(c.sctx, index.NewIndexInternalID(nil, g))
	return c.setMatch(err)
}

func (c *clauseCursor) set(g uint64, score float64, ok bool, err error) error {
	c.doc, c.score, c.done = g, score, !ok
	return err
}

func (c *clauseCursor) setMatch(err error) error {
	if err != nil || c.dm == nil {
		c.done = true
		return err
	}
	c.doc, c.score = c.dm.IndexInternalID.Value(), c.dm.Score
	return nil
}

// termCursor reads one term's posting lists, segment after segment, and
// scores each posting as Bleve's TermQueryScorer does under BM25 (the same
// statistics, the same operations in the same order).
type termCursor struct {
	v     *view
	pls   []segment.PostingsList
	seg   int
	it    segment.PostingsIterator
	boost float64
	idf   float64
	avg   float64 // average field length
	qw    float64 // boost · idf · query norm
}

// termCursor is nil when Bleve would not score the term with BM25 (an
// empty index has no statistics): the caller then uses Bleve's searcher.
func (v *view) termCursor(q *query.TermQuery) (*termCursor, error) {
	stats, ok := v.ctx.Value(bsearch.BM25StatsKey).(*bsearch.BM25Stats)
	if !ok {
		return nil, nil
	}
	total := uint64(stats.DocCount)
	card, ok := stats.FieldCardinality[q.FieldVal]
	if !ok || total == 0 {
		return nil, nil
	}
	avg := math.Ceil(float64(card) / float64(total))
	if avg <= 0 {
		return nil, nil
	}
	df, err := v.df(q.FieldVal, q.Term)
	if err != nil {
		return nil, err
	}
	return &termCursor{
		v:     v,
		pls:   v.pls[[2]string{q.FieldVal, q.Term}],
		boost: q.Boost(),
		idf:   math.Log(1 + (float64(total)-float64(df)+0.5)/(float64(df)+0.5)),
		avg:   avg,
		qw:    1,
	}, nil
}

func (t *termCursor) weight() float64 {
	w := t.boost * t.idf
	return w * w
}

func (t *termCursor) scoreOf(p segment.Posting) float64 {
	freq := p.Frequency()
	var tf float64
	if freq < scorer.MaxSqrtCache {
		tf = scorer.SqrtCache[int(freq)]
	} else {
		tf = math.Sqrt(float64(freq))
	}
	norm := p.Norm()
	fieldLength := 1 / (norm * norm)
	score := t.idf * (tf * bsearch.BM25_k1) /
		(tf + bsearch.BM25_k1*(1-bsearch.BM25_b+(bsearch.BM25_b*fieldLength/t.avg)))
	if t.qw != 1.0 {
		score = score * t.qw
	}
	return score
}

// next is the following posting: its global document number and score.
func (t *termCursor) next() (uint64, float64, bool, error) {
	for t.seg < len(t.pls) {
		if t.it == nil {
			t.it = t.pls[t.seg].Iterator(true, true, false, nil)
		}
		p, err := t.it.Next()
		if err != nil {
			return 0, 0, false, err
		}
		if p != nil {
			return t.v.offsets[t.seg] + p.Number(), t.scoreOf(p), true, nil
		}
		t.seg, t.it = t.seg+1, nil
	}
	return 0, 0, false, nil
}

// advance is the first posting at or after global document number g.
func (t *termCursor) advance(g uint64) (uint64, float64, bool, error) {
	s := t.v.segment(g)
	if s < 0 {
		t.seg, t.it = len(t.pls), nil
		return 0, 0, false, nil
	}
	if s > t.seg {
		t.seg, t.it = s, nil
	}
	if s == t.seg {
		if t.it == nil {
			t.it = t.pls[t.seg].Iterator(true, true, false, nil)
		}
		p, err := t.it.Advance(g - t.v.offsets[s])
		if err != nil {
			return 0, 0, false, err
		}
		if p != nil {
			return t.v.offsets[s] + p.Number(), t.scoreOf(p), true, nil
		}
		t.seg, t.it = t.seg+1, nil
	}
	return t.next()
}
