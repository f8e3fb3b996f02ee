package search

import (
	"container/heap"
	"math"
	"runtime"
	"slices"
	"strings"

	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"
)

// The first page of a relevance-ranked search of free words is the common
// search, and the expensive one: officers type common syllables, so the
// optional clauses match most of the archive, and Bleve scores every match
// (it has no dynamic pruning). topK finds the same page while scoring only
// the documents that can still enter it, with the MaxScore algorithm
// (Turtle & Flood 1995): clauses are ordered by the most they can add to a
// score; once the page is full, the clauses whose bounds together cannot
// lift a document to the page's lowest score are no longer walked, only
// probed for documents the other clauses found.
//
// Scores are Bleve's own, computed by the same term searchers: the flat
// disjunction's sum times the share of clauses matched (Bleve's coord),
// rounded by quantize. Totals and facets still count every match, in a
// separate pass that does not score (Bleve ORs the posting bitmaps).

// scoredDoc is one document of a topK page.
type scoredDoc struct {
	internal index.IndexInternalID
	id       string
	score    float64
}

// topKApplies reports whether a query can take the topK path: optional
// clauses without required ones (exclusions the caller adds to the
// filter). Term
// clauses get a score bound and can be passed over; any other clause (a
// prefix, a filtered disjunction) is always walked.
func topKApplies(must, should []query.Query) bool {
	return len(must) == 0 && len(should) > 0
}

// topK returns the k best documents of the disjunction of clauses within
// filter, ordered by score (descending) and id, exactly as the Bleve query
// filteredQuery{disj(clauses), filter} under quantize would rank them;
// matches are the documents that query matches (from the counting pass).
func (v *view) topK(clauses []query.Query, filter query.Query, matches bits, k int) ([]scoredDoc, error) {
	ctx, r := v.ctx, v.r
	cs, err := v.clauseCursors(clauses)
	if err != nil {
		return nil, err
	}
	defer closeAll(cs)
	fb, err := v.eval(filter)
	if err != nil {
		return nil, err
	}
	// Lowest bound first: the non-essential clauses are a prefix.
	slices.SortStableFunc(cs, func(a, b *clauseCursor) int {
		switch {
		case a.ub < b.ub:
			return -1
		case a.ub > b.ub:
			return 1
		}
		return 0
	})
	prefixUB := make([]float64, len(cs)+1) // prefixUB[i] = Σ ub of cs[:i]
	for i, c := range cs {
		prefixUB[i+1] = prefixUB[i] + c.ub
	}
	// When few documents match (a year, a type, a rare word), they are
	// taken one by one from the counting pass's bitmap, and only the
	// clauses that have each are moved to it. Otherwise the essential
	// clauses are walked, and the filter (a clearance, mostly) is asked
	// only about documents that would enter the page.
	sparse := false
	if docs, err := r.DocCount(); err == nil && matches.count()*4 < docs {
		sparse = true
	}
	mcur := v.cursor(matches)
	var next uint64 // sparse: the next candidate is the first match from here
	n := float64(len(cs))

	page := newPageHeap(r)
	theta := math.Inf(-1) // the page's lowest score once it is full
	ne := 0               // cs[:ne] are non-essential
	var partial []int
	checked := 0

	// When searches can hold every processor, a search yields now and
	// then to let the short work of other requests run (an audit commit, a
	// response being written), which would otherwise wait until Go
	// preempts it, 10 ms later. Workers with threads of their own (a
	// processor to spare, see startWorkers) leave that work the spare
	// processor, and a yield buys nothing: runtime.Gosched only wakes the
	// idle processor's thread (about 30 yields per search at 100,000
	// documents; BENCHMARKS.md, eighth session).
	yield := !v.ix.dedicated
	for {
		if checked++; checked&1023 == 0 {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if yield {
				runtime.Gosched()
			}
		}
		var cand uint64
		var seg int
		var local uint32
		sum, matched := 0.0, 0
		partial = partial[:0]
		if sparse {
			g, ok := mcur.seek(next)
			if !ok {
				break
			}
			next, cand = g+1, g
			seg, local = v.locate(g)
			for _, c := range cs[ne:] {
				if hit, err := c.probe(cand, seg, local); err != nil {
					return nil, err
				} else if hit {
					sum += c.score
					matched++
				}
			}
			if matched == 0 {
				continue // only non-essential clauses have it: it cannot reach the page
			}
		} else {
			// The next candidate: the smallest current document of the
			// essential clauses; score them there, and move them on.
			found := false
			for _, c := range cs[ne:] {
				if !c.done && (!found || c.doc < cand) {
					cand, found = c.doc, true
				}
			}
			if !found {
				break
			}
			for i := ne; i < len(cs); i++ {
				if c := cs[i]; c.at(cand) {
					sum += c.score
					matched++
					partial = append(partial, i)
				}
			}
			seg, local = v.locate(cand)
		}
		// Probe the non-essential clauses, highest bound first, while
		// the document can still reach the page. A clause whose posting
		// bitmap does not have the document is passed over without moving
		// it (a lookup instead of decoding postings).
		for i := ne - 1; i >= 0; i-- {
			if page.Len() == k {
				best := float64(matched+i+1) / n * (sum + prefixUB[i+1])
				if best*slack < theta {
					break
				}
			}
			if hit, err := cs[i].probe(cand, seg, local); err != nil {
				return nil, err
			} else if hit {
				sum += cs[i].score
				matched++
			}
		}
		score := float64(float32(sum * float64(matched) / n)) // quantize
		enters := page.Len() < k || score >= theta
		if enters && !sparse {
			enters = v.contains(fb, cand)
		}
		if enters {
			d := scoredDoc{internal: index.NewIndexInternalID(nil, cand), score: score}
			if page.Len() < k {
				heap.Push(page, d)
			} else if page.worse(&page.docs[0], &d) {
				page.docs[0] = d
				heap.Fix(page, 0)
			}
			if page.err != nil {
				return nil, page.err
			}
			if page.Len() == k {
				theta = page.docs[0].score
				for ne < len(cs) && float64(ne+1)/n*prefixUB[ne+1]*slack < theta {
					ne++
				}
			}
		}
		for _, i := range partial {
			if err := cs[i].next(); err != nil {
				return nil, err
			}
		}
	}
	out := make([]scoredDoc, page.Len())
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = heap.Pop(page).(scoredDoc)
		page.id(&out[i])
	}
	return out, page.err
}

// score sets the scores of docs under the flat disjunction of clauses, as
// topK (and Bleve) computes them: each clause's score at the document,
// summed, times the share of clauses that have it, rounded by quantize.
func (v *view) score(clauses []query.Query, docs []scoredDoc) error {
	cs, err := v.clauseCursors(clauses)
	if err != nil {
		return err
	}
	defer closeAll(cs)
	order := make([]int, len(docs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return docs[a].internal.Compare(docs[b].internal) })
	n := float64(len(cs))
	for _, i := range order {
		g := docs[i].internal.Value()
		seg, local := v.locate(g)
		sum, matched := 0.0, 0
		for _, c := range cs {
			if hit, err := c.probe(g, seg, local); err != nil {
				return err
			} else if hit {
				sum += c.score
				matched++
			}
		}
		docs[i].score = float64(float32(sum * float64(matched) / n))
	}
	return nil
}

// slack covers rounding: a raw score just under the page's lowest score
// may round (quantize, float32) to equal it and then win on its id.
const slack = 1 + 1e-6

// idReader reads documents' external ids, remembering the first error. A
// page's documents enter it by internal number; their ids, which break
// ties, are read only when a tie needs one (reading an id touches the
// document's stored fields).
type idReader struct {
	r   index.IndexReader
	err error
}

// id fills in and returns d's external id.
func (h *idReader) id(d *scoredDoc) string {
	if d.id == "" && h.err == nil {
		d.id, h.err = h.r.ExternalID(d.internal)
	}
	return d.id
}

// worstFirst is a heap of a page's documents whose root is the one that
// leaves first when a better one comes; worse(a, b) reports whether a
// ranks below b.
type worstFirst[T any] struct {
	docs  []T
	worse func(a, b *T) bool
}

func (h *worstFirst[T]) Len() int           { return len(h.docs) }
func (h *worstFirst[T]) Less(i, j int) bool { return h.worse(&h.docs[i], &h.docs[j]) }
func (h *worstFirst[T]) Swap(i, j int)      { h.docs[i], h.docs[j] = h.docs[j], h.docs[i] }
func (h *worstFirst[T]) Push(x any)         { h.docs = append(h.docs, x.(T)) }
func (h *worstFirst[T]) Pop() any {
	x := h.docs[len(h.docs)-1]
	h.docs = h.docs[:len(h.docs)-1]
	return x
}

// pageHeap is the page of a relevance search: score descending, then id.
type pageHeap struct {
	idReader
	worstFirst[scoredDoc]
}

func newPageHeap(r index.IndexReader) *pageHeap {
	h := &pageHeap{idReader: idReader{r: r}}
	h.worstFirst.worse = func(a, b *scoredDoc) bool {
		if a.score != b.score {
			return a.score < b.score
		}
		return strings.Compare(h.id(a), h.id(b)) > 0
	}
	return h
}
