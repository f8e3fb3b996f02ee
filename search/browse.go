package search

import (
	"container/heap"
	"fmt"
	"strings"

	bsearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"
)

// Browsing — a search without words, newest (or oldest) first, the list a
// clerk opens — used to go through Bleve's collector, which reads every
// match's sort key from doc values and its id from the stored fields:
// 50 ms of CPU at 100,000 documents, linear in the archive. The issued
// dates are read once per segment instead (with the facet columns), and
// a page is chosen by comparing numbers; ids, which break ties of date,
// are read only when two dates tie at the page's edge or at the cursor.
// The order is Bleve's for sortOrder: issued_key descending or ascending,
// documents without a date last, then id.

// browseScore is the score Bleve gives every hit of a query without words
// (match-all, quantized); TestBrowseMatchesBleve checks it.
const browseScore = 1.0

// browseDoc is a candidate of a browse page: rank orders it (smaller
// first), id breaks ties; date is its issued_key as YYYYMMDD (0: none).
type browseDoc struct {
	scoredDoc
	rank, date uint32
}

// browse returns up to size documents of matches in date order, after the
// cursor values (issued_key as Bleve decodes it, id) when after is set; ok
// is false when the dates cannot be compared as numbers (a segment with a
// key that is not a date, or a cursor key that is not one), and the caller
// asks Bleve.
func (v *view) browse(matches bits, desc bool, after []string, size int) (page []browseDoc, ok bool, err error) {
	dates := make([][]uint32, len(v.segs))
	for i, ss := range v.segs {
		if matches[i] == nil {
			continue
		}
		if dates[i], err = v.ix.facets.dates(ss); err != nil {
			return nil, false, err
		}
		if dates[i] == nil {
			return nil, false, nil
		}
	}
	rank := func(date uint32) uint32 {
		switch {
		case date == 0:
			return ^uint32(0) // no date: last either way
		case desc:
			return ^uint32(0) - 1 - date
		}
		return date
	}
	h := newBrowseHeap(v.r)
	var cur *browseDoc // the cursor's position, when after is set
	if after != nil {
		cur = &browseDoc{scoredDoc: scoredDoc{id: after[1]}}
		switch key := after[0]; key {
		case bsearch.LowTerm, bsearch.HighTerm:
			cur.rank = rank(0)
		default:
			d, ok := dateKey([]byte(key))
			if !ok {
				return nil, false, nil
			}
			cur.rank = rank(d)
		}
	}
	buf := make([]uint32, 256)
	for s, bm := range matches {
		if bm == nil {
			continue
		}
		it := bm.ManyIterator()
		for n := it.NextMany(buf); n > 0; n = it.NextMany(buf) {
			for _, local := range buf[:n] {
				date := dates[s][local]
				r := rank(date)
				if cur != nil && r < cur.rank {
					continue // before the cursor
				}
				if h.Len() == size && r > h.docs[0].rank {
					continue // after the page's last
				}
				d := browseDoc{scoredDoc: scoredDoc{internal: index.NewIndexInternalID(nil, v.offsets[s]+uint64(local)), score: browseScore}, rank: r, date: date}
				if cur != nil && r == cur.rank && !h.after(&d, cur) {
					continue
				}
				if h.Len() < size {
					heap.Push(h, d)
				} else if h.before(&d, &h.docs[0]) {
					h.docs[0] = d
					heap.Fix(h, 0)
				}
				if h.err != nil {
					return nil, false, h.err
				}
			}
		}
		if err := v.ctx.Err(); err != nil {
			return nil, false, err
		}
	}
	page = make([]browseDoc, h.Len())
	for i := len(page) - 1; i >= 0; i-- {
		page[i] = heap.Pop(h).(browseDoc)
		h.id(&page[i].scoredDoc)
	}
	return page, true, h.err
}

// browseHeap is a browse page: its root is the page's last document.
type browseHeap struct {
	idReader
	worstFirst[browseDoc]
}

func newBrowseHeap(r index.IndexReader) *browseHeap {
	h := &browseHeap{idReader: idReader{r: r}}
	h.worstFirst.worse = func(a, b *browseDoc) bool { return h.before(b, a) }
	return h
}

// before reports whether a comes before b in the order.
func (h *browseHeap) before(a, b *browseDoc) bool {
	if a.rank != b.rank {
		return a.rank < b.rank
	}
	return strings.Compare(h.id(&a.scoredDoc), h.id(&b.scoredDoc)) < 0
}

// after reports whether d comes after the cursor c (same rank: by id).
func (h *browseHeap) after(d, c *browseDoc) bool {
	return strings.Compare(h.id(&d.scoredDoc), c.id) > 0
}

// cursorKey is the issued_key value a cursor carries for d, as Bleve
// decodes it: the date, or for a document without one the marker Bleve
// sorts it by (missing last).
func (d *browseDoc) cursorKey(desc bool) string {
	switch {
	case d.date != 0:
		y, m, day := d.date/10000, d.date/100%100, d.date%100
		return fmt.Sprintf("%04d-%02d-%02d", y, m, day)
	case desc:
		return bsearch.LowTerm
	}
	return bsearch.HighTerm
}

// browsePage is a page in date order of the documents q matches (the
// search's words within its filter, or the filter alone), see browse; ok
// is false when Bleve must do it. The hits carry the scores Bleve would
// give them: those of the flat disjunction of should (computed for the
// page only, as topK does), or the constant of a search without words.
func (v *view) browsePage(r Request, q query.Query, should []query.Query, desc bool, after []string, key uint64, facets map[string][]FacetTerm) (*Result, bool, error) {
	matches, err := v.eval(q)
	if err != nil {
		return nil, false, err
	}
	page, ok, err := v.browse(matches, desc, after, r.Size+1)
	if err != nil || !ok {
		return nil, ok, err
	}
	out := &Result{Total: matches.count(), Facets: facets}
	if len(page) > r.Size {
		last := &page[r.Size-1]
		out.Next = encodeCursor(key, []string{last.cursorKey(desc), last.id})
		page = page[:r.Size]
	}
	docs := make([]scoredDoc, len(page))
	for i := range page {
		docs[i] = page[i].scoredDoc
	}
	if len(should) > 0 {
		if err := v.score(should, docs); err != nil {
			return nil, false, err
		}
	}
	if out.Hits, err = v.pageHits(docs, should, r.Highlight && len(should) > 0); err != nil {
		return nil, false, err
	}
	return out, true, nil
}
