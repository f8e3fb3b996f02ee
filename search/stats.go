package search

import (
	"encoding/json"
	"fmt"
	"math"
	"sync"

	bsearch "github.com/blevesearch/bleve/v2/search"
)

// Bleve 2.6's BM25 takes the "average field length" to be the number of
// distinct terms in a field's dictionary divided by the number of
// documents: about 4 for a body that is really 150 syllables long. Every
// long document is then punished as if it were 40 times the average, and
// ranking degrades to "short documents first". Bleve accepts the
// statistics from the caller (PreSearchData, meant for index aliases), so
// the index keeps its own token totals per text field and passes real
// averages with every search.
//
// The totals only grow: an upsert adds the new version, a delete removes
// nothing. BM25 needs the average to be about right, not exact, and a
// rebuild starts afresh.

const statsKey = "vanthu_field_lengths"

type fieldStats struct {
	mu     sync.Mutex
	Docs   uint64            `json:"docs"`
	Tokens map[string]uint64 `json:"tokens"` // per text field
}

// textFieldNames are the analysed fields whose lengths vary per document;
// shingle fields have one token less than their syllable field.
var textFieldNames = func() []string {
	var names []string
	for _, f := range textProps {
		n := f.names()
		names = append(names, n[:]...)
	}
	return names
}()

// allFields is every field a document can carry (documents builds them;
// the _all composite leaves all of them out).
var allFields = append(append([]string(nil), textFieldNames...), fSubjectShown,
	fNumber, fNumberFold, fType, fIssuer, fLevel, fClass, fYear, fTasks, fCites,
	fIssuedAt, fIssuedKey, fRegistered, fSigner, fTags, fStatus, fDirection, fPlain, fFacets)

// allFieldNames lists every field a search may touch: Bleve refuses a
// search that touches a field missing from caller-provided statistics
// ("*" is what a match-all or doc-id searcher asks for).
var allFieldNames = append(append([]string(nil), allFields...), "_id", "_all", "*")

func (ix *Index) loadStats() error {
	ix.stats = &fieldStats{Tokens: map[string]uint64{}}
	b, err := ix.bi.GetInternal([]byte(statsKey))
	if err != nil || b == nil {
		return err
	}
	if err := json.Unmarshal(b, ix.stats); err != nil {
		return fmt.Errorf("%w: field statistics: %v", ErrCorrupt, err)
	}
	if ix.stats.Tokens == nil {
		ix.stats.Tokens = map[string]uint64{}
	}
	return nil
}

// saveStats adds a batch's syllable counts (subject, body) to the totals
// and saves them. It runs after the batch is written (the counts come from
// its analysis): a crash in between loses the batch's documents and tokens
// from the totals alike, and the average stays right. Saves are taken one
// at a time, so batches indexed side by side (vanthu reindex) leave the
// latest totals saved.
func (ix *Index) saveStats(lengths [][2]int) error {
	ix.statsSave.Lock()
	defer ix.statsSave.Unlock()
	s := ix.stats
	s.mu.Lock()
	for _, l := range lengths {
		s.Docs++
		for i, f := range textProps {
			n := uint64(l[i])
			s.Tokens[f.acc] += n
			s.Tokens[f.fold] += n
			if n > 0 {
				s.Tokens[f.sh] += n - 1
				s.Tokens[f.fsh] += n - 1
			}
		}
	}
	b, err := json.Marshal(s)
	s.mu.Unlock() // searches read the totals; they do not wait for the disk
	if err != nil {
		return err
	}
	batch := ix.bi.NewBatch()
	batch.SetInternal([]byte(statsKey), b)
	return ix.commit(batch)
}

// bm25Stats are the statistics a search runs with: the real document
// count, and per field a "cardinality" that Bleve divides by it to get the
// average length.
func (ix *Index) bm25Stats() (map[string]interface{}, error) {
	n, err := ix.bi.DocCount()
	if err != nil {
		return nil, err
	}
	s := ix.stats
	s.mu.Lock()
	defer s.mu.Unlock()
	card := make(map[string]int, len(allFieldNames))
	for _, f := range allFieldNames {
		card[f] = int(n) // keyword fields: one term per document
	}
	if s.Docs > 0 {
		for _, f := range textFieldNames {
			avg := math.Max(1, float64(s.Tokens[f])/float64(s.Docs))
			card[f] = int(math.Round(avg * float64(n)))
		}
	}
	return map[string]interface{}{
		bsearch.BM25PreSearchDataKey: &bsearch.BM25Stats{DocCount: float64(n), FieldCardinality: card},
	}, nil
}
