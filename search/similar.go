package search

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"

	"vanthu/archive"
)

// Similar finds precedents: earlier documents on the same matter. It is a
// more-like-this built by hand: the source's most distinctive syllables
// and syllable pairs (tf-idf over subject and body) become an optional
// disjunction, documents of the same type or issuer get a small boost,
// and the source itself, later documents and anything above clearance are
// filtered out. A source the caller may not see is ErrNotFound, exactly
// like a missing one.
func (ix *Index) Similar(ctx context.Context, id string, clearance archive.Classification, size int) (*Result, error) {
	if clearance.Rank() > archive.TuyetMat.Rank() {
		return nil, archive.Errorf(archive.ErrInvalid, "invalid_clearance", "clearance %q is not one of none, mat, toi_mat, tuyet_mat", clearance)
	}
	if size <= 0 {
		size = 10
	}
	size = min(size, maxSize)
	var res *Result
	var serr error
	if err := ix.inTurn(ctx, func() { res, serr = ix.similar(ctx, id, clearance, size) }); err != nil {
		return nil, fmt.Errorf("search: similar %s: %w", id, err)
	}
	return res, serr
}

// similar is Similar on a search worker (see inTurn).
func (ix *Index) similar(ctx context.Context, id string, clearance archive.Classification, size int) (*Result, error) {
	acl := aclFilter(clearance)

	// Load the source through the ACL, never around it.
	src := &filteredQuery{q: query.NewDocIDQuery([]string{id}), filter: acl}
	sreq := bleve.NewSearchRequestOptions(src, 1, 0, false)
	sreq.Fields = []string{fSubject, fBody, fType, fIssuer, fIssuedKey}
	sres, err := ix.run(ctx, sreq)
	if err != nil {
		return nil, fmt.Errorf("search: similar %s: %w", id, err)
	}
	if len(sres.Hits) == 0 {
		return nil, archive.Errorf(archive.ErrNotFound, "not_found", "document %s not found", id)
	}
	doc := sres.Hits[0]
	str := func(f string) string { s, _ := doc.Fields[f].(string); return s }

	key, err := ix.keyTerms(ctx, str(fSubject), str(fBody))
	if err != nil {
		return nil, fmt.Errorf("search: similar %s: %w", id, err)
	}
	if len(key) == 0 {
		return &Result{Hits: []Hit{}}, nil
	}
	w := defaultWeights
	var content []query.Query
	for _, k := range key {
		if k.shingle {
			content = append(content, termQ(k.term, fSubjectSh, k.weight*w.subject), termQ(k.term, fBodySh, k.weight))
		} else {
			content = append(content, termQ(k.term, fSubject, k.weight*w.subject), termQ(k.term, fBody, k.weight))
		}
	}
	bq := query.NewBooleanQuery(nil, nil, nil)
	bq.AddMust(query.NewDisjunctionQuery(content))
	var boosts []query.Query
	if t := str(fType); t != "" {
		boosts = append(boosts, termQ(t, fType, w.sameType))
	}
	if is := str(fIssuer); is != "" {
		boosts = append(boosts, termQ(is, fIssuer, w.sameIssuer))
	}
	bq.AddShould(boosts...)
	bq.AddMustNot(query.NewDocIDQuery([]string{id}))
	filters := []query.Query{acl}
	if d, err := time.Parse(time.DateOnly, str(fIssuedKey)); err == nil {
		// Precedents are earlier (or same-day) documents. Undated ones are
		// left out: nothing says they came first.
		yes := true
		dq := query.NewDateRangeInclusiveQuery(time.Time{}, d.Add(24*time.Hour-time.Nanosecond), nil, &yes)
		dq.SetField(fIssuedAt)
		filters = append(filters, dq)
	}
	q := &filteredQuery{q: bq, filter: query.NewConjunctionQuery(filters)}

	req := bleve.NewSearchRequestOptions(q, size, 0, false)
	req.Fields = []string{fNumber, fType, fIssuer, fIssuedKey, fSubject, fSubjectShown}
	res, err := ix.run(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("search: similar %s: %w", id, err)
	}
	out := &Result{Total: res.Total, Hits: make([]Hit, 0, len(res.Hits))}
	for _, dm := range res.Hits {
		out.Hits = append(out.Hits, hitOf(dm))
	}
	return out, nil
}

type keyTerm struct {
	term    string
	shingle bool
	weight  float64
}

const (
	similarTerms    = 25 // syllables
	similarShingles = 15 // syllable pairs
)

// keyTerms ranks the source's syllables and pairs by tf × idf (document
// frequencies read from the body fields) and keeps the best; the weights
// are normalised so the top term has weight 1.
func (ix *Index) keyTerms(ctx context.Context, subject, body string) ([]keyTerm, error) {
	m := ix.bi.Mapping()
	count := func(analyzer string) map[string]int {
		tf := map[string]int{}
		for _, text := range []string{subject, subject, body} { // the subject counts twice
			for _, t := range m.AnalyzerNamed(analyzer).Analyze([]byte(text)) {
				tf[string(t.Term)]++
			}
		}
		return tf
	}
	r, err := ix.reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	n, err := r.DocCount()
	if err != nil {
		return nil, err
	}
	score := func(tf map[string]int, field string, shingle bool, keep int) ([]keyTerm, error) {
		var out []keyTerm
		for t, c := range tf {
			if utf8.RuneCountInString(t) < 2 || allDigits(t) {
				continue
			}
			tfr, err := r.TermFieldReader(ctx, []byte(t), field, false, false, false)
			if err != nil {
				return nil, err
			}
			df := tfr.Count()
			tfr.Close()
			if df <= 1 || float64(df) > 0.3*float64(n) {
				continue // only the source has it, or nearly everyone does
			}
			idf := math.Log(float64(n) / float64(df))
			out = append(out, keyTerm{t, shingle, (1 + math.Log(float64(c))) * idf})
		}
		sort.Slice(out, func(i, j int) bool {
			if out[i].weight != out[j].weight {
				return out[i].weight > out[j].weight
			}
			return out[i].term < out[j].term
		})
		return out[:min(keep, len(out))], nil
	}
	words, err := score(count(analyzerAccented), fBody, false, similarTerms)
	if err != nil {
		return nil, err
	}
	pairs, err := score(count(analyzerShingle), fBodySh, true, similarShingles)
	if err != nil {
		return nil, err
	}
	all := append(words, pairs...)
	top := 0.0
	for _, k := range all {
		top = max(top, k.weight)
	}
	for i := range all {
		all[i].weight /= top
	}
	return all, nil
}
