package search

import (
	"fmt"
	"strconv"
	"time"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/mapping"
	index "github.com/blevesearch/bleve_index_api"

	"vanthu/ingest/vietnamese"
)

// documents builds Bleve documents without the mapping's walk and with one
// analysis of each text.
//
// Through the mapping, subject and body were each tokenized five times: by
// the four analyzers of their index fields (accented, folded, and the
// two-syllable shingles of each) and once more to count their lengths for
// the BM25 statistics. The unicode tokenizer is the expensive part of an
// analysis, and the five runs produce the same tokens: the folded stream is
// the accented one with each term folded, the shingles are pairs of
// either. So a text is tokenized and lower-cased once, and the other
// streams are derived from it with the same filter objects the mapping's
// analyzers use; the index fields are handed the finished streams. The
// result is the document the mapping would have built, field for field
// (TestDocumentMatchesMapping compares them after analysis).
type documents struct {
	tokenizer analysis.Tokenizer
	lower     analysis.TokenFilter
	fold      analysis.TokenFilter
	shingle   analysis.TokenFilter

	// options of each field, as the mapping gives them
	options map[string]index.FieldIndexingOptions
}

func newDocuments(im *mapping.IndexMappingImpl) (*documents, error) {
	chain := func(name string) (*analysis.DefaultAnalyzer, error) {
		a, ok := im.AnalyzerNamed(name).(*analysis.DefaultAnalyzer)
		if !ok || a == nil || a.CharFilters != nil {
			return nil, fmt.Errorf("search: analyzer %s is not a plain tokenizer chain", name)
		}
		return a, nil
	}
	acc, err := chain(analyzerAccented)
	if err != nil {
		return nil, err
	}
	fsh, err := chain(analyzerFoldedShingle)
	if err != nil {
		return nil, err
	}
	if len(acc.TokenFilters) != 1 || len(fsh.TokenFilters) != 3 {
		return nil, fmt.Errorf("search: analyzers %s and %s do not have the filters documents expects", analyzerAccented, analyzerFoldedShingle)
	}
	ds := &documents{
		tokenizer: acc.Tokenizer,
		lower:     acc.TokenFilters[0],
		fold:      fsh.TokenFilters[1],
		shingle:   fsh.TokenFilters[2],
		options:   map[string]index.FieldIndexingOptions{},
	}
	for _, prop := range im.DefaultMapping.Properties {
		for _, fm := range prop.Fields {
			ds.options[fm.Name] = fm.Options()
		}
	}
	for _, name := range allFields {
		if _, ok := ds.options[name]; !ok {
			return nil, fmt.Errorf("search: field %s is not in the mapping", name)
		}
	}
	return ds, nil
}

// analyse returns the four token streams of a text, in the order of
// textFields.names: accented, folded, and the pairs of each.
func (ds *documents) analyse(text string) [4]analysis.TokenStream {
	acc := ds.lower.Filter(ds.tokenizer.Tokenize([]byte(text)))
	// The folded stream shares the tokens the fold filter leaves alone
	// (ASCII) and copies the others, which it rewrites.
	n := 0
	for _, t := range acc {
		if !isASCII(t.Term) {
			n++
		}
	}
	folded := make(analysis.TokenStream, len(acc))
	copies := make([]analysis.Token, 0, n)
	for i, t := range acc {
		if isASCII(t.Term) {
			folded[i] = t
			continue
		}
		copies = append(copies, *t)
		folded[i] = &copies[len(copies)-1]
	}
	fold := ds.fold.Filter(folded)
	return [4]analysis.TokenStream{acc, fold, ds.pairs(acc), ds.pairs(fold)}
}

// pairs is the shingle filter's output (two-syllable shingles joined by a
// space) built in two allocations instead of three per shingle. It covers
// the streams the tokenizer makes, positions 1, 2, 3… without gaps; any
// other stream goes to the filter itself, which inserts fillers at gaps.
func (ds *documents) pairs(ts analysis.TokenStream) analysis.TokenStream {
	size := 0
	for i, t := range ts {
		if t.Position != i+1 {
			return ds.shingle.Filter(ts)
		}
		size += 2*len(t.Term) + 1
	}
	if len(ts) < 2 {
		return analysis.TokenStream{}
	}
	buf := make([]byte, 0, size)
	tokens := make([]analysis.Token, len(ts)-1)
	out := make(analysis.TokenStream, len(ts)-1)
	for i := range tokens {
		a, b := ts[i], ts[i+1]
		start := len(buf)
		buf = append(buf, a.Term...)
		buf = append(buf, ' ')
		buf = append(buf, b.Term...)
		tokens[i] = analysis.Token{Type: analysis.Shingle, Term: buf[start:len(buf):len(buf)], Position: a.Position, Start: a.Start, End: b.End}
		out[i] = &tokens[i]
	}
	return out
}

// text is one text of a document (subject or body), analysed when Bleve
// first asks for one of its four streams. Bleve analyses a document's
// fields one after the other in one of its analysis workers, so that is
// where the tokenizer runs, on all cores, with no locking. Each stream is
// handed over once and dropped: Bleve keeps only the term counts, and the
// token streams of a batch, all alive until the batch was written, were
// most of a reindex's memory.
type text struct {
	ds       *documents
	value    string
	analysed bool
	length   int // tokens, once analysed: the length BM25 statistics add up
	streams  [4]analysis.TokenStream
}

func (t *text) stream(i int) analysis.TokenStream {
	if !t.analysed {
		t.streams = t.ds.analyse(t.value)
		t.length = len(t.streams[0])
		t.analysed = true
	}
	s := t.streams[i]
	t.streams[i] = nil
	return s
}

// textStream is the analyzer of one index field of a text: stream i of it.
type textStream struct {
	t *text
	i int
}

func (a textStream) Analyze([]byte) analysis.TokenStream { return a.t.stream(a.i) }

// build returns d's document and its subject and body, whose lengths are
// known once Bleve has analysed the document.
func (ds *documents) build(d *Doc) (*document.Document, [2]*text) {
	subject := vietnamese.Normalize(d.Subject)
	body := vietnamese.Normalize(d.Body)
	doc := document.NewDocument(d.ID)
	add := func(name string, positions []uint64, value string) {
		doc.AddField(document.NewTextFieldCustom(name, positions, []byte(value), ds.options[name], nil))
	}
	var texts [2]*text
	for i, v := range [2]string{subject, body} {
		f := textProps[i]
		texts[i] = &text{ds: ds, value: v}
		// One copy of the text serves the four fields: their analyzer
		// ignores it, and Bleve copies a stored value before analysing it.
		value := []byte(v)
		for j, name := range f.names() {
			doc.AddField(document.NewTextFieldCustom(name, nil, value, ds.options[name], textStream{texts[i], j}))
		}
	}
	if subject != d.Subject {
		add(fSubjectShown, nil, d.Subject)
	}
	if isPlain(subject, body) {
		add(fPlain, nil, "1")
	}
	add(fClass, nil, classKey(d.Classification))
	keyword := func(name, value string) {
		if value != "" {
			add(name, nil, value)
		}
	}
	keyword(fNumber, numberKey(d.Number))
	keyword(fNumberFold, numberFoldKey(d.Number))
	keyword(fType, d.Type)
	keyword(fIssuer, d.Issuer)
	keyword(fLevel, d.Level)
	keyword(fSigner, d.Signer)
	keyword(fDirection, d.Direction)
	keyword(fStatus, d.Status)
	var year string
	if !d.IssuedAt.IsZero() {
		ds.date(doc, fIssuedAt, d.IssuedAt)
		add(fIssuedKey, nil, d.IssuedAt.Format(time.DateOnly))
		year = strconv.Itoa(d.IssuedAt.Year())
		add(fYear, nil, year)
	}
	if !d.RegisteredAt.IsZero() {
		ds.date(doc, fRegistered, d.RegisteredAt)
	}
	list := func(name string, values []string) {
		for i, v := range values {
			add(name, []uint64{uint64(i)}, v)
		}
	}
	var facets []string
	for _, kv := range [][2]string{{fType, d.Type}, {fIssuer, d.Issuer}, {fLevel, d.Level}, {fYear, year}} {
		if kv[1] != "" {
			facets = append(facets, facetTerm(kv[0], kv[1]))
		}
	}
	list(fFacets, facets)
	list(fTags, d.Tags)
	list(fTasks, d.Tasks)
	var cites []string
	for _, c := range d.Cites {
		if k := numberKey(c); k != "" {
			cites = append(cites, k)
		}
	}
	list(fCites, cites)

	// The mapping adds an _all composite field that every field is left
	// out of; the index keeps it (empty), so a document built here is the
	// one the mapping built.
	doc.AddField(document.NewCompositeFieldWithIndexingOptions("_all", true, []string{}, allFields, index.IndexField|index.IncludeTermVectors))
	doc.SetIndexed()
	return doc, texts
}

func (ds *documents) date(doc *document.Document, name string, t time.Time) {
	f, err := document.NewDateTimeFieldWithIndexingOptions(name, nil, t.UTC(), time.RFC3339, ds.options[name]) // the layout Bleve's mapping records with a time.Time
	if err != nil {
		return // a date Bleve cannot represent: the mapping drops it too
	}
	doc.AddField(f)
}
