package search

import (
	"context"

	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"

	"vanthu/archive"
)

// The clearance filter keeps hidden documents out of hits, totals and
// facets, but Bleve's scores would still leak them: every score is scaled
// by a query norm computed from the idf of all query terms, so a word that
// exists only in a secret document changes the scores of everything else.
// visibility prunes such terms from the optional part of the query before
// it runs; then a secret-only word gives exactly the result of a word that
// exists nowhere.
//
// What remains, and is accepted: document frequencies count hidden
// documents (a term in many secret documents weighs a little less), and
// prefix expansions are not pruned.
type visibility struct {
	ctx    context.Context
	ix     *Index
	r      index.IndexReader
	acl    query.Query
	hidden uint64 // documents the caller cannot see, an upper bound
	seen   map[[2]string]bool
	dfs    map[[2]string]uint64
}

func (ix *Index) visibility(ctx context.Context, clearance archive.Classification) (*visibility, error) {
	r, err := ix.reader()
	if err != nil {
		return nil, err
	}
	v := &visibility{ctx: ctx, ix: ix, r: r, acl: aclFilter(clearance), seen: map[[2]string]bool{}}
	dict, err := r.FieldDict(fClass)
	if err != nil {
		r.Close()
		return nil, err
	}
	defer dict.Close()
	for {
		e, err := dict.Next()
		if err != nil {
			r.Close()
			return nil, err
		}
		if e == nil {
			break
		}
		if !clearance.Allows(archive.Classification(e.Term)) {
			v.hidden += e.Count
		}
	}
	return v, nil
}

func (v *visibility) close() { v.r.Close() }

// visible reports whether some document the caller may see has term in
// field. A term in more documents than are hidden is visible without a
// search; only rare terms cost a count.
func (v *visibility) visible(field, term string) bool {
	k := [2]string{field, term}
	if ok, done := v.seen[k]; done {
		return ok
	}
	ok := v.probe(field, term)
	v.seen[k] = ok
	return ok
}

// df is the number of documents with term in field (hidden ones included).
func (v *visibility) df(field, term string) (uint64, error) {
	k := [2]string{field, term}
	if n, ok := v.dfs[k]; ok {
		return n, nil
	}
	tfr, err := v.r.TermFieldReader(v.ctx, []byte(term), field, false, false, false)
	if err != nil {
		return 0, err
	}
	n := tfr.Count()
	tfr.Close()
	if v.dfs == nil {
		v.dfs = map[[2]string]uint64{}
	}
	v.dfs[k] = n
	return n, nil
}

func (v *visibility) probe(field, term string) bool {
	df, err := v.df(field, term)
	if err != nil {
		return true // keep the clause; the search reports the error
	}
	switch {
	case df == 0:
		return false
	case df > v.hidden:
		return true
	}
	ok, err := v.ix.exists(v.ctx, conj(termQ(term, field, 1), v.acl))
	return err != nil || ok
}

// prune drops optional term clauses that match no visible document.
func (v *visibility) prune(qs []query.Query) []query.Query {
	out := qs[:0]
	for _, q := range qs {
		if tq, ok := q.(*query.TermQuery); ok && !v.visible(tq.FieldVal, tq.Term) {
			continue
		}
		out = append(out, q)
	}
	return out
}

// commonShare is the share of the archive above which an optional term is
// too common to help: in Vietnamese, syllables like "của", "và", "công" are
// in most documents. Scoring them means walking most posting lists for a
// few hundredths of a point of BM25 each, which dominated search time at
// 100,000 documents.
const commonShare = 0.5

// dropCommon removes optional term clauses whose term is in more than
// commonShare of the documents, as long as a rarer clause remains to carry
// the query (a query made only of common words keeps them all).
func (v *visibility) dropCommon(qs []query.Query, docs uint64) []query.Query {
	if docs < 1000 {
		return qs // small archives: nothing to gain, and every word counts
	}
	limit := uint64(float64(docs) * commonShare)
	common := make([]bool, len(qs))
	rare := 0
	for i, q := range qs {
		tq, ok := q.(*query.TermQuery)
		if !ok {
			rare++
			continue
		}
		if n, err := v.df(tq.FieldVal, tq.Term); err == nil && n > limit {
			common[i] = true
		} else {
			rare++
		}
	}
	if rare == 0 {
		return qs
	}
	out := qs[:0]
	for i, q := range qs {
		if !common[i] {
			out = append(out, q)
		}
	}
	return out
}
