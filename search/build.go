package search

import (
	"github.com/blevesearch/bleve/v2/search/query"

	"vanthu/archive"
	"vanthu/ingest/vietnamese"
)

// weights are the ranking knobs. They were tuned on ALQAC 2022 with
// cmd/vanthu-relevance, for the corpus as a whole, never per question.
//
// Clauses are one flat disjunction: Bleve multiplies a disjunction's score
// by the share of its clauses that matched, so a flat list rewards
// documents that share more of the query's syllables and pairs (grouping
// clauses per word measured 0.013 lower MRR).
type weights struct {
	// The body is the whole extracted text, trích yếu included, so a
	// subject word already counts once there; subject adds to that. An
	// extra 0.3 (trích yếu words weigh 1.3× other words) measured best:
	// 0.2–0.3 give recall@1 0.908, 0.4 0.898, 0.6 0.887, 1.0 0.871, 2.0
	// 0.842, because a short field's BM25 lets one generic title word
	// outweigh the body.
	subject, body float64
	folded        float64 // folded twin of a required (+) word typed with diacritics
	shingle       float64 // two-syllable shingles, relative to a syllable
	number        float64 // exact số ký hiệu: must beat any text match
	cites         float64 // documents citing that number come next
	sameType      float64 // Similar: same type or issuer as the source
	sameIssuer    float64
}

var defaultWeights = weights{
	subject:    0.3,
	body:       1.0,
	folded:     0.3,
	shingle:    1.5, // 0.5: -0.06 MRR, 1.0: -0.005, 2.0: same
	number:     100,
	cites:      5,
	sameType:   0.5,
	sameIssuer: 0.5,
}

func termQ(term, field string, boost float64) query.Query {
	q := query.NewTermQuery(term)
	q.SetField(field)
	q.SetBoost(boost)
	return q
}

func disj(qs ...query.Query) query.Query {
	if len(qs) == 1 {
		return qs[0]
	}
	return query.NewDisjunctionQuery(qs)
}

func fold(t string) string { return vietnamese.Fold(t) }

// textFields are the four index fields of one text property (accented,
// folded, and the two-syllable pairs of each) and its boost in a query.
type textFields struct {
	acc, fold, sh, fsh string
	boost              float64
}

// names are the four fields in the order of their token streams (see
// documents.analyse).
func (f textFields) names() [4]string { return [4]string{f.acc, f.fold, f.sh, f.fsh} }

// textProps are the index fields of subject and body, in that order.
var textProps = [2]textFields{
	{acc: fSubject, fold: fSubjectFold, sh: fSubjectSh, fsh: fSubjectFoldSh},
	{acc: fBody, fold: fBodyFold, sh: fBodySh, fsh: fBodyFoldSh},
}

func (w weights) fields() []textFields {
	fs := textProps
	fs[0].boost, fs[1].boost = w.subject, w.body
	return fs[:]
}

// wordQueries are the term queries of one syllable over subject and body:
// the accented fields when it was typed with diacritics, the folded ones
// when typed without.
//
// An accented word used to search the folded fields too (at 0.3), so that
// a document written without diacritics was still found. On a large
// archive those clauses were the most expensive part of a search (a folded
// syllable's posting list is the union of all its tones) and they bought
// no ranking: without them ALQAC measured the same recall@1 and MRR (0.908
// and 0.931). The rescue they were for is plainQueries, restricted to the
// documents that need it.
func (w weights) wordQueries(t string, accented bool) []query.Query {
	var qs []query.Query
	for _, f := range w.fields() {
		if accented {
			qs = append(qs, termQ(t, f.acc, f.boost))
		} else {
			qs = append(qs, termQ(fold(t), f.fold, f.boost))
		}
	}
	return qs
}

// plainQueries find an accented word in documents written without
// diacritics (the fPlain flag, see isPlain): the folded fields at full
// weight, since there the folded form is the only one.
func (w weights) plainQueries(t string) []query.Query {
	var qs []query.Query
	for _, f := range w.fields() {
		qs = append(qs, termQ(fold(t), f.fold, f.boost))
	}
	return qs
}

// plainShingles are plainQueries' two-syllable pairs.
func (w weights) plainShingles(a, b string) []query.Query {
	var qs []query.Query
	for _, f := range w.fields() {
		if f.acc == fSubject {
			continue // as in shingleQueries
		}
		qs = append(qs, termQ(fold(a)+" "+fold(b), f.fsh, f.boost*w.shingle))
	}
	return qs
}

// requiredWord is a +word: typed with diacritics it still accepts the
// folded form (at a lower weight), because a required word must not lose
// the documents written without them.
func (w weights) requiredWord(t string, accented bool) query.Query {
	qs := w.wordQueries(t, accented)
	if accented {
		for _, f := range w.fields() {
			qs = append(qs, termQ(fold(t), f.fold, f.boost*w.folded))
		}
	}
	return disj(qs...)
}

// shingleQueries score two adjacent syllables typed together: Vietnamese
// words are mostly two syllables, and this is what recovers most of what a
// word segmenter would give.
//
// Pairs are searched in the body only: the body holds the trích yếu too,
// and subject pairs bought nothing on ALQAC (without them: recall@1 0.908,
// MRR 0.932 accented; 0.913, 0.934 unaccented) while they were a quarter
// of a query's clauses.
func (w weights) shingleQueries(a, b string, accented bool) []query.Query {
	var qs []query.Query
	for _, f := range w.fields() {
		if f.acc == fSubject {
			continue
		}
		boost := f.boost * w.shingle
		if accented {
			qs = append(qs, termQ(a+" "+b, f.sh, boost))
		} else {
			qs = append(qs, termQ(fold(a)+" "+fold(b), f.fsh, boost))
		}
	}
	return qs
}

// phraseQuery is a phrase in subject or body. A phrase of common syllables
// ("an toàn hóa chất") has posting lists as long as the archive, and
// Bleve's phrase searcher checks positions in every document that has all
// of them, moving on to its next match whenever it is asked about a
// document that is not one. So the phrase is leapfrogged against the
// two-syllable shingles it implies (rare: "toàn hóa") and the search's
// filter, unscored: positions are then checked only in documents that
// pass both, and scores are the phrase's own.
func (w weights) phraseQuery(terms []string, accented bool, filter query.Query) query.Query {
	var qs []query.Query
	for _, f := range w.fields() {
		field, sh, ts := f.acc, f.sh, terms
		if !accented {
			field, sh, ts = f.fold, f.fsh, foldAll(terms)
		}
		pq := query.NewPhraseQuery(ts, field)
		pq.SetBoost(f.boost)
		var parts []query.Query
		for i := 0; i+1 < len(ts); i++ {
			parts = append(parts, termQ(ts[i]+" "+ts[i+1], sh, 1))
		}
		if filter != nil {
			parts = append(parts, filter)
		}
		if len(parts) == 0 {
			qs = append(qs, pq)
		} else {
			qs = append(qs, &filteredQuery{q: pq, filter: conj(parts...)})
		}
	}
	return disj(qs...)
}

func (w weights) prefixQuery(stem string, accented bool) query.Query {
	var qs []query.Query
	for _, f := range w.fields() {
		field, s := f.acc, stem
		if !accented {
			field, s = f.fold, fold(stem)
		}
		pq := query.NewPrefixQuery(s)
		pq.SetField(field)
		pq.SetBoost(f.boost)
		qs = append(qs, pq)
	}
	return disj(qs...)
}

func foldAll(ts []string) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = fold(t)
	}
	return out
}

// numberHits tells build whether an exact số ký hiệu matches a visible
// document; see build.
type numberHits func(key string) bool

// build turns a parsed query into a Bleve query without the filters.
// Free words are all optional (a disjunction), so a long question still
// finds the documents that share most of its words and word pairs; only
// phrases and +words are required; filter (may be nil) is the search's
// filter, which phrases use to check fewer positions. plain are the optional clauses that
// find accented words in documents written without diacritics; the caller
// restricts them to those documents.
func (w weights) build(p *parsedQuery, exactExists numberHits, filter query.Query) (must, should, not, plain []query.Query) {
	var run []string // consecutive optional words, for shingles
	flush := func() {
		for i := 0; i+1 < len(run); i++ {
			acc := p.accented || vietnamese.HasDiacritics(run[i]) || vietnamese.HasDiacritics(run[i+1])
			should = append(should, w.shingleQueries(run[i], run[i+1], acc)...)
			if acc {
				plain = append(plain, w.plainShingles(run[i], run[i+1])...)
			}
		}
		run = run[:0]
	}
	for _, c := range p.clauses {
		acc := p.accented || anyDiacritics(c.terms)
		switch c.kind {
		case kindWord:
			if !c.must && !c.not {
				for _, t := range c.terms {
					acc := p.accented || vietnamese.HasDiacritics(t)
					should = append(should, w.wordQueries(t, acc)...)
					if acc {
						plain = append(plain, w.plainQueries(t)...)
					}
				}
				run = append(run, c.terms...)
				continue
			}
			flush()
			if c.not {
				for _, t := range c.terms {
					not = append(not, w.exactWord(t, acc)...)
				}
				continue
			}
			for _, t := range c.terms {
				must = append(must, w.requiredWord(t, acc))
			}
		case kindPhrase:
			flush()
			pq := w.phraseQuery(c.terms, anyDiacritics(c.terms), filter)
			if c.not {
				not = append(not, pq)
			} else {
				// A phrase is what the user insists on: mandatory.
				must = append(must, pq)
			}
		case kindPrefix:
			flush()
			pq := w.prefixQuery(c.terms[0], vietnamese.HasDiacritics(c.terms[0]))
			switch {
			case c.not:
				not = append(not, pq)
			case c.must:
				must = append(must, pq)
			default:
				should = append(should, pq)
			}
		case kindNumber:
			flush()
			// The exact key is case-sensitive (QĐ ≠ QyĐ). Only when it
			// matches no visible document does the folded key stand in,
			// because that one conflates HD/HĐ and DA/ĐA.
			var nq []query.Query
			if exactExists(c.number) {
				nq = append(nq, termQ(c.number, fNumber, w.number))
			} else {
				nq = append(nq, termQ(c.numberFold, fNumberFold, w.number))
			}
			nq = append(nq, termQ(c.number, fCites, w.cites))
			switch {
			case c.not:
				not = append(not, termQ(c.number, fNumber, 1))
			case c.must:
				must = append(must, disj(nq...))
			default:
				should = append(should, nq...)
				// Its syllables still count as words: a date typed as
				// 10/4/2018 or a number quoted in a body.
				for _, t := range c.terms {
					should = append(should, w.wordQueries(t, acc)...)
				}
			}
		}
	}
	flush()
	for _, k := range p.numberFolds {
		should = append(should, termQ(k, fNumberFold, w.number))
	}
	return must, should, not, plain
}

// exactWord is an exclusion: the word as typed, accented or folded.
func (w weights) exactWord(t string, accented bool) []query.Query {
	var qs []query.Query
	for _, f := range w.fields() {
		if accented && vietnamese.HasDiacritics(t) {
			qs = append(qs, termQ(t, f.acc, 1))
		} else {
			qs = append(qs, termQ(fold(t), f.fold, 1))
		}
	}
	return qs
}

func anyDiacritics(ts []string) bool {
	for _, t := range ts {
		if vietnamese.HasDiacritics(t) {
			return true
		}
	}
	return false
}

// aclFilter lists the classifications the caller may see. It is part of
// every query's filter, so hidden documents never reach hits, totals,
// facets, highlights or precedents.
func aclFilter(clearance archive.Classification) query.Query {
	var qs []query.Query
	for _, c := range archive.Classifications {
		if clearance.Allows(c) {
			qs = append(qs, termQ(string(c), fClass, 1))
		}
	}
	if len(qs) == 0 {
		return query.NewMatchNoneQuery()
	}
	return disj(qs...)
}
