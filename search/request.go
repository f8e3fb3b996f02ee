package search

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	bsearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"

	"vanthu/archive"
)

// Request is one search as the API receives it.
type Request struct {
	Q                         string
	Type, Issuer, Level, Task string
	Year                      int
	From, To                  time.Time // issued between, inclusive; zero is open
	Sort                      string    // "relevance" (default), "issued_at", "-issued_at"
	Size                      int       // default 20, at most 100
	After                     string    // opaque cursor from a previous Result.Next
	Clearance                 archive.Classification
	Facets                    bool
	Highlight                 bool
}

// Result is one page of hits.
type Result struct {
	Total  uint64                 `json:"total"`
	Hits   []Hit                  `json:"hits"`
	Facets map[string][]FacetTerm `json:"facets,omitempty"`
	Next   string                 `json:"next,omitempty"`
}

// Hit is a document in a result; the rest of its metadata is the catalog's.
type Hit struct {
	ID         string              `json:"id"`
	Number     string              `json:"number"`
	Type       string              `json:"type"`
	Issuer     string              `json:"issuer"`
	IssuedAt   string              `json:"issued_at"` // YYYY-MM-DD or ""
	Subject    string              `json:"subject"`
	Score      float64             `json:"score"`
	Highlights map[string][]string `json:"highlights,omitempty"` // field → HTML fragments, <mark> only
}

// FacetTerm is one value of a facet and how many matching documents have it.
type FacetTerm struct {
	Term  string `json:"term"`
	Count int    `json:"count"`
}

const (
	defaultSize = 20
	maxSize     = 100
	facetSize   = 20
)

// Sort orders.
const (
	SortRelevance = "relevance"
	SortIssued    = "issued_at"
	SortIssuedDsc = "-issued_at"
)

var facetFields = []string{fType, fIssuer, fYear, fLevel}

// Check reports whether r is a search this index can run as far as can
// be told without searching: valid filters and a query that parses (a
// stale cursor is still only found by Search).
func (ix *Index) Check(r Request) error {
	if err := r.validate(); err != nil {
		return err
	}
	_, err := parse(r.Q, ix.analyze)
	return err
}

// Search runs a user query. A query or cursor it cannot read is an error
// wrapping archive.ErrInvalid whose message is a hint for the user.
func (ix *Index) Search(ctx context.Context, r Request) (*Result, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	p, err := parse(r.Q, ix.analyze)
	if err != nil {
		return nil, err
	}
	var res *Result
	var serr error
	if err := ix.inTurn(ctx, func() { res, serr = ix.search(ctx, r, p) }); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	return res, serr
}

// search runs a parsed query on a search worker (see inTurn).
func (ix *Index) search(ctx context.Context, r Request, p *parsedQuery) (*Result, error) {
	filter := r.filter()
	v, err := ix.view(ctx)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	defer v.close()
	exact := func(key string) bool {
		ok, err := v.exists(conj(termQ(key, fNumber, 1), filter))
		return err == nil && ok
	}
	must, should, not, plain := defaultWeights.build(p, exact, filter)
	sortBy := r.Sort
	if sortBy == "" {
		sortBy = SortRelevance
	}
	if sortBy == SortRelevance && len(must)+len(should) == 0 {
		// Without words every score is equal; newest first is what a
		// clerk browsing a filter expects.
		sortBy = SortIssuedDsc
	}
	key := r.cursorKey(sortBy)
	var after []string
	if r.After != "" {
		if after, err = decodeCursor(r.After, key); err != nil {
			return nil, err
		}
	}
	if len(should) > 0 {
		vis, err := v.visibility(r.Clearance)
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		should = vis.prune(should)
		if n, err := ix.bi.DocCount(); err == nil {
			should = vis.dropCommon(should, n)
		}
		if plain = vis.prune(plain); len(plain) > 0 {
			should = append(should, &filteredQuery{q: disj(plain...), filter: termQ("1", fPlain, 1)})
		}
		if len(should) == 0 && len(must) == 0 {
			// Every word is absent from what the caller may see. Without
			// this, an empty query would list everything.
			return r.empty(), nil
		}
	}
	var text query.Query = query.NewMatchAllQuery()
	if len(must)+len(should)+len(not) > 0 {
		bq := query.NewBooleanQuery(nil, nil, nil)
		bq.AddMust(must...)
		bq.AddShould(should...)
		bq.AddMustNot(not...)
		text = bq
	}
	q := &filteredQuery{q: text, filter: filter}

	if sortBy == SortRelevance && after == nil && topKApplies(must, should) {
		// Exclusions only narrow the documents: Bleve's boolean searcher
		// leaves them out of the query norm and the score, so they are
		// part of the filter here.
		kept := filter
		if len(not) > 0 {
			kept = &query.BooleanQuery{Must: filter, MustNot: disj(not...)}
		}
		out, err := v.searchTopK(r, should, kept, key)
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		return out, nil
	}

	// Facets: from the segment ordinals in an unscored pass (cheap: the
	// pass is bitmap work) unless the query has a phrase, whose positions
	// would be checked twice; phrases match few documents, so Bleve's
	// collector counts those cheaply.
	var facets map[string][]FacetTerm
	counted := conj(text, filter) // one query object, so the view evaluates it once
	bleveFacets := r.Facets && hasPhrase(append(must, not...))
	if r.Facets && !bleveFacets {
		if _, facets, err = v.countMatches(counted, true); err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
	}
	if len(must)+len(not) == 0 && (sortBy == SortIssued || sortBy == SortIssuedDsc) {
		out, ok, err := v.browsePage(r, counted, should, sortBy == SortIssuedDsc, after, key, facets)
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		if ok {
			return out, nil
		}
	}
	ranked, total, fres, err := v.ranked(query.NewCustomScoreQueryWithScorer(q, quantize, nil, nil), sortOrder(sortBy), after, r.Size+1, bleveFacets)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	out := &Result{Total: total}
	page := make([]scoredDoc, 0, min(len(ranked), r.Size))
	for i, dm := range ranked {
		if i == r.Size {
			out.Next = encodeCursor(key, cursorValues(sortBy, ranked[i-1]))
			break
		}
		page = append(page, scoredDoc{internal: slices.Clone(dm.IndexInternalID), id: dm.ID, score: dm.Score})
	}
	highlight := r.Highlight && len(must)+len(should) > 0
	if out.Hits, err = v.pageHits(page, append(slices.Clip(must), should...), highlight); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	switch {
	case bleveFacets:
		out.Facets = splitFacets(fres[fFacets])
	case r.Facets:
		out.Facets = facets
	}
	return out, nil
}

// maxFacetTerms bounds the distinct values of all facets together that
// one search counts; far above what an archive has (a few hundred issuers).
const maxFacetTerms = 100000

// splitFacets turns the combined facet column's counts into the four
// facets of the API, each ordered by count (then value) and cut to
// facetSize values.
func splitFacets(fr *bsearch.FacetResult) map[string][]FacetTerm {
	out := make(map[string][]FacetTerm, len(facetFields))
	byCode := make(map[string]string, len(facetCode))
	for f, c := range facetCode {
		byCode[c] = f
		out[f] = []FacetTerm{}
	}
	if fr != nil && fr.Terms != nil {
		for _, t := range fr.Terms.Terms() {
			code, value, ok := strings.Cut(t.Term, ":")
			if f, known := byCode[code]; ok && known {
				out[f] = append(out[f], FacetTerm{Term: value, Count: t.Count})
			}
		}
	}
	topFacets(out)
	return out
}

// searchTopK is the first page of a relevance search of optional clauses:
// the page from topK, the total and facets from a pass that counts every
// match without scoring it.
func (v *view) searchTopK(r Request, should []query.Query, filter query.Query, key uint64) (*Result, error) {
	present := map[[2]string]bool{}
	for _, q := range should {
		if tq, ok := q.(*query.TermQuery); ok {
			present[[2]string{tq.FieldVal, tq.Term}] = true
		}
	}
	var counted []query.Query
	for _, q := range should {
		if tq, ok := q.(*query.TermQuery); ok && impliedPair(tq, present) {
			continue // its documents are already counted through its words
		}
		counted = append(counted, q)
	}
	cq := conj(disj(counted...), filter)
	total, facets, err := v.countMatches(cq, r.Facets)
	if err != nil {
		return nil, err
	}
	out := &Result{Total: total, Hits: []Hit{}}
	if r.Facets {
		out.Facets = facets
	}
	if total == 0 {
		return out, nil
	}
	matches, err := v.eval(cq) // kept by the view since the count
	if err != nil {
		return nil, err
	}
	page, err := v.topK(should, filter, matches, r.Size+1)
	if err != nil {
		return nil, err
	}
	if len(page) > r.Size {
		last := page[r.Size-1]
		out.Next = encodeCursor(key, []string{strconv.FormatFloat(last.score, 'g', -1, 64), last.id})
		page = page[:r.Size]
	}
	if out.Hits, err = v.pageHits(page, should, r.Highlight); err != nil {
		return nil, err
	}
	return out, nil
}

// hasPhrase reports whether a phrase query is among qs or their
// disjunctions.
func hasPhrase(qs []query.Query) bool {
	for _, q := range qs {
		switch q := q.(type) {
		case *query.PhraseQuery:
			return true
		case *query.DisjunctionQuery:
			if hasPhrase(q.Disjuncts) {
				return true
			}
		case *query.ConjunctionQuery:
			if hasPhrase(q.Conjuncts) {
				return true
			}
		case *filteredQuery:
			if hasPhrase([]query.Query{q.q}) {
				return true
			}
		}
	}
	return false
}

// pairWords maps a shingle field to the field of its single syllables.
var pairWords = map[string]string{fSubjectSh: fSubject, fSubjectFoldSh: fSubjectFold, fBodySh: fBody, fBodyFoldSh: fBodyFold}

// impliedPair reports whether a two-syllable clause can match only
// documents that a clause of one of its syllables, also in the query,
// matches too: the pair "a b" in body_sh means "a" is in body. Such clauses
// add nothing to a count of matches (they still rank). A syllable too
// common to be searched (dropCommon) leaves its pairs in.
func impliedPair(q *query.TermQuery, present map[[2]string]bool) bool {
	words, ok := pairWords[q.FieldVal]
	if !ok {
		return false
	}
	a, b, ok := strings.Cut(q.Term, " ")
	return ok && (present[[2]string{words, a}] || present[[2]string{words, b}])
}

// empty is the result of a search that matches nothing, facets included.
func (r *Request) empty() *Result {
	out := &Result{Hits: []Hit{}}
	if r.Facets {
		out.Facets = make(map[string][]FacetTerm, len(facetFields))
		for _, f := range facetFields {
			out.Facets[f] = []FacetTerm{}
		}
	}
	return out
}

// quantize rounds a score to float32 precision. Bleve sums clause scores
// in an order that depends on segment layout, so the same document can
// score a few ulps apart before and after a background merge; rounding
// keeps search_after cursors and equal-content ties stable.
func quantize(_ context.Context, d *bsearch.DocumentMatch) (float64, error) {
	return float64(float32(d.Score)), nil
}

func (r *Request) validate() error {
	if r.Clearance.Rank() > archive.TuyetMat.Rank() {
		// Allows would let an unknown clearance see everything.
		return archive.Errorf(archive.ErrInvalid, "invalid_clearance", "clearance %q is not one of none, mat, toi_mat, tuyet_mat", r.Clearance)
	}
	switch r.Sort {
	case "", SortRelevance, SortIssued, SortIssuedDsc:
	default:
		return invalid("Sort must be relevance, issued_at or -issued_at, not %q.", r.Sort)
	}
	switch {
	case r.Size < 0:
		return invalid("The page size must be positive.")
	case r.Size == 0:
		r.Size = defaultSize
	case r.Size > maxSize:
		r.Size = maxSize
	}
	if r.Year != 0 && (r.Year < 1900 || r.Year > 2200) {
		return invalid("The year %d is out of range.", r.Year)
	}
	if !r.From.IsZero() && !r.To.IsZero() && r.To.Before(r.From) {
		return invalid("The end date is before the start date.")
	}
	return nil
}

// filter is the non-scoring part of the query: access control and the
// caller's metadata filters.
func (r *Request) filter() query.Query {
	fs := []query.Query{aclFilter(r.Clearance)}
	for _, kv := range [][2]string{{fType, r.Type}, {fIssuer, r.Issuer}, {fLevel, r.Level}, {fTasks, r.Task}} {
		if kv[1] != "" {
			fs = append(fs, termQ(kv[1], kv[0], 1))
		}
	}
	if r.Year != 0 {
		fs = append(fs, termQ(strconv.Itoa(r.Year), fYear, 1))
	}
	if !r.From.IsZero() || !r.To.IsZero() {
		yes := true
		var start, end time.Time
		if !r.From.IsZero() {
			start = r.From.UTC()
		}
		if !r.To.IsZero() {
			// To is a day: include all of it.
			end = r.To.UTC()
			if end.Equal(end.Truncate(24 * time.Hour)) {
				end = end.Add(24*time.Hour - time.Nanosecond)
			}
		}
		dq := query.NewDateRangeInclusiveQuery(start, end, &yes, &yes)
		dq.SetField(fIssuedAt)
		fs = append(fs, dq)
	}
	return conj(fs...)
}

// conj is a conjunction that flattens nested conjunctions and does not
// wrap a single query: Bleve turns an unscored conjunction into one bitmap
// AND per segment only when every part is a plain term searcher.
func conj(qs ...query.Query) query.Query {
	var flat []query.Query
	for _, q := range qs {
		if c, ok := q.(*query.ConjunctionQuery); ok {
			flat = append(flat, c.Conjuncts...)
		} else {
			flat = append(flat, q)
		}
	}
	if len(flat) == 1 {
		return flat[0]
	}
	return query.NewConjunctionQuery(flat)
}

// sortOrder always ends with the document id, so equal keys still give a
// total order and search_after never skips or repeats a hit.
//
// Dates sort on the issued_key string ("2006-01-02"), not on the datetime
// field: Bleve's search_after for a typed date sort needs an RFC 3339
// value, and a document without a date has none, so the cursor could not
// pass one. A string key round-trips Bleve's missing-value marker too.
func sortOrder(by string) bsearch.SortOrder {
	id := &bsearch.SortDocID{}
	switch by {
	case SortIssued, SortIssuedDsc:
		return bsearch.SortOrder{&bsearch.SortField{
			Field:   fIssuedKey,
			Desc:    by == SortIssuedDsc,
			Type:    bsearch.SortFieldAsString,
			Missing: bsearch.SortFieldMissingLast,
		}, id}
	}
	return bsearch.SortOrder{&bsearch.SortScore{Desc: true}, id}
}

// cursorValues are the search_after values of a hit: Bleve's decoded sort
// values, except the score, which Bleve reports as the literal "_score".
func cursorValues(by string, dm *bsearch.DocumentMatch) []string {
	vals := append([]string(nil), dm.DecodedSort...)
	if by != SortIssued && by != SortIssuedDsc && len(vals) > 0 {
		vals[0] = strconv.FormatFloat(dm.Score, 'g', -1, 64)
	}
	if n := len(vals); n > 0 {
		vals[n-1] = dm.ID
	}
	return vals
}

type cursor struct {
	Key    uint64   `json:"k"`
	Values []string `json:"v"`
}

// cursorKey ties a cursor to the search it came from: a cursor replayed
// with another query or sort would silently skip documents.
func (r *Request) cursorKey(sortBy string) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%q|%q|%q|%q|%q|%d|%d|%d|%s|%s", r.Q, r.Type, r.Issuer, r.Level, r.Task, r.Year,
		r.From.UnixNano(), r.To.UnixNano(), sortBy, r.Clearance)
	return h.Sum64()
}

func encodeCursor(key uint64, vals []string) string {
	b, _ := json.Marshal(cursor{Key: key, Values: vals})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string, key uint64) ([]string, error) {
	bad := invalid("The page cursor is not valid for this search; start again from the first page.")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil || c.Key != key || len(c.Values) != 2 {
		return nil, bad
	}
	return c.Values, nil
}

func hitOf(dm *bsearch.DocumentMatch) Hit {
	str := func(f string) string {
		s, _ := dm.Fields[f].(string)
		return s
	}
	h := Hit{
		ID:       dm.ID,
		Number:   str(fNumber),
		Type:     str(fType),
		Issuer:   str(fIssuer),
		IssuedAt: str(fIssuedKey),
		Subject:  str(fSubject),
		Score:    dm.Score,
	}
	if s := str(fSubjectShown); s != "" {
		h.Subject = s
	}
	if math.IsNaN(h.Score) || math.IsInf(h.Score, 0) {
		h.Score = 0 // JSON cannot carry them
	}
	return h
}

// analyze cuts text with the index's accented analyzer, so query terms
// are exactly the indexed ones.
func (ix *Index) analyze(s string) []string {
	a := ix.bi.Mapping().AnalyzerNamed(analyzerAccented)
	toks := a.Analyze([]byte(s))
	out := make([]string, 0, len(toks))
	for _, t := range toks {
		out = append(out, string(t.Term))
	}
	return out
}
