package search

import (
	"github.com/blevesearch/bleve/v2/search/query"

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
	v      *view
	acl    query.Query
	hidden uint64 // documents the caller cannot see, an upper bound
	seen   map[[2]string]bool
}

func (v *view) visibility(clearance archive.Classification) (*visibility, error) {
	vis := &visibility{v: v, acl: aclFilter(clearance), seen: map[[2]string]bool{}}
	// Each segment's dictionary is read here, in the search's goroutine.
	// Bleve's FieldDict would merge them with one new goroutine per
	// segment, a dozen per search at 100,000 documents, each of which
	// wakes vanthu serve's spare processor (see tune.Serving). (No change
	// in the benchmark's latency was visible; it is less work.)
	dicts, err := v.dictionaries(fClass)
	if err != nil {
		return nil, err
	}
	for _, d := range dicts {
		it := d.AutomatonIterator(nil, nil, nil)
		for {
			e, err := it.Next()
			if err != nil {
				return nil, err
			}
			if e == nil {
				break
			}
			if !clearance.Allows(archive.Classification(e.Term)) {
				vis.hidden += e.Count // the segment's postings, deleted documents included, as FieldDict counts
			}
		}
	}
	return vis, nil
}

// visible reports whether some document the caller may see has term in
// field. A term in more documents than are hidden is visible without
// looking further; a rarer one is checked against the clearance's
// documents.
func (vis *visibility) visible(field, term string) bool {
	k := [2]string{field, term}
	if ok, done := vis.seen[k]; done {
		return ok
	}
	ok := vis.probe(field, term)
	vis.seen[k] = ok
	return ok
}

func (vis *visibility) probe(field, term string) bool {
	df, err := vis.v.df(field, term)
	if err != nil {
		return true // keep the clause; the search reports the error
	}
	switch {
	case df == 0:
		return false
	case df > vis.hidden:
		return true
	}
	ok, err := vis.v.exists(conj(termQ(term, field, 1), vis.acl))
	return err != nil || ok
}

// prune drops optional term clauses that match no visible document.
func (vis *visibility) prune(qs []query.Query) []query.Query {
	out := qs[:0]
	for _, q := range qs {
		if tq, ok := q.(*query.TermQuery); ok && !vis.visible(tq.FieldVal, tq.Term) {
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
func (vis *visibility) dropCommon(qs []query.Query, docs uint64) []query.Query {
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
		if n, err := vis.v.df(tq.FieldVal, tq.Term); err == nil && n > limit {
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
