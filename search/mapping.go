package search

import (
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/token/shingle"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/registry"
	index "github.com/blevesearch/bleve_index_api"

	"vanthu/ingest/vietnamese"
)

// mappingVersion is stored inside the index. Open refuses an index built by
// another version of this file (ErrCorrupt), so a changed analysis never
// silently mixes with terms produced by the old one: the caller rebuilds.
const mappingVersion = "vanthu-search-5"

// Analyzer and token filter names as they appear in the stored mapping.
const (
	foldFilterName = "vanthu_fold"    // registered token filter type
	shingleFilter  = "vanthu_shingle" // configured instance of bleve's shingle filter

	analyzerAccented      = "vi"         // syllables, lower-cased, diacritics kept
	analyzerFolded        = "vi_fold"    // syllables, lower-cased, diacritics removed
	analyzerShingle       = "vi_shingle" // two-syllable shingles of the accented form
	analyzerFoldedShingle = "vi_fold_shingle"
)

// Index field names. Text is indexed three ways (accented, folded,
// shingled) under one source property, so a document is sent once.
const (
	fSubject       = "subject"
	fSubjectFold   = "subject_f"
	fSubjectSh     = "subject_sh"
	fSubjectFoldSh = "subject_fsh"
	fSubjectShown  = "subject_shown" // original subject, stored only when normalisation changed it
	fBody          = "body"
	fBodyFold      = "body_f"
	fBodySh        = "body_sh"
	fBodyFoldSh    = "body_fsh"

	fNumber     = "number"      // số, ký hiệu: whitespace removed, case kept (QĐ ≠ QyĐ)
	fNumberFold = "number_fold" // lower-cased, folded, punctuation removed: "1623khubnd"
	fType       = "type"
	fIssuer     = "issuer"
	fLevel      = "level"
	fClass      = "classification"
	fYear       = "year"
	fTasks      = "tasks"
	fCites      = "cites" // cited numbers, same key as fNumber
	fIssuedAt   = "issued_at"
	fIssuedKey  = "issued_key" // "2006-01-02", the sort key and the hit's date
	fRegistered = "registered_at"
	fSigner     = "signer"
	fTags       = "tags"
	fStatus     = "status"
	fDirection  = "direction"
	fPlain      = "plain"  // "1" for a text written without diacritics (isPlain)
	fFacets     = "facets" // doc values only: every facet value, see facetTerm
)

func init() {
	// Bleve rebuilds analyzers from names stored in the index mapping, so
	// the filter type must be in its registry before any index is opened.
	if err := registry.RegisterTokenFilter(foldFilterName, func(map[string]interface{}, *registry.Cache) (analysis.TokenFilter, error) {
		return foldFilter{}, nil
	}); err != nil {
		panic(err)
	}
}

// foldFilter replaces each token's term with its folded form (no
// diacritics, đ→d) and leaves Start/End alone. Folding the terms rather
// than the text (bleve's asciifolding char filter) is what keeps the
// offsets pointing into the original accented text, so highlights of a
// folded match mark whole, valid UTF-8 words.
type foldFilter struct{}

func (foldFilter) Filter(in analysis.TokenStream) analysis.TokenStream {
	for _, tok := range in {
		if isASCII(tok.Term) {
			continue
		}
		tok.Term = []byte(vietnamese.Fold(string(tok.Term)))
	}
	return in
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// newMapping builds the index mapping. It is code, not JSON, so a change is
// reviewed and versioned with the query code that depends on it.
func newMapping() (*mapping.IndexMappingImpl, error) {
	im := mapping.NewIndexMapping()
	// BM25 is selected per index through the mapping in bleve v2.5+; the
	// default is still tf-idf.
	im.ScoringModel = index.BM25Scoring
	im.StoreDynamic = false
	im.IndexDynamic = false
	im.DocValuesDynamic = false

	if err := im.AddCustomTokenFilter(shingleFilter, map[string]interface{}{
		"type":            shingle.Name,
		"min":             2.0,
		"max":             2.0,
		"output_original": false,
		"separator":       " ",
		"filler":          "",
	}); err != nil {
		return nil, err
	}
	if err := im.AddCustomTokenFilter(foldFilterName, map[string]interface{}{"type": foldFilterName}); err != nil {
		return nil, err
	}
	analyzers := []struct {
		name    string
		filters []string
	}{
		{analyzerAccented, []string{lowercase.Name}},
		{analyzerFolded, []string{lowercase.Name, foldFilterName}},
		{analyzerShingle, []string{lowercase.Name, shingleFilter}},
		{analyzerFoldedShingle, []string{lowercase.Name, foldFilterName, shingleFilter}},
	}
	for _, a := range analyzers {
		if err := im.AddCustomAnalyzer(a.name, map[string]interface{}{
			"type":          custom.Name,
			"tokenizer":     unicode.Name,
			"token_filters": a.filters,
		}); err != nil {
			return nil, err
		}
	}

	dm := mapping.NewDocumentStaticMapping()

	// text returns the field mappings of one text property: accented
	// (stored, with term vectors for highlights), folded (term vectors too:
	// an unaccented query highlights through it), and the two shingle
	// fields used only for ranking (no vectors, nothing stored).
	text := func(prop, acc, fold, sh, fsh string) {
		a := textField(acc, analyzerAccented, true, true)
		f := textField(fold, analyzerFolded, false, true)
		s := textField(sh, analyzerShingle, false, false)
		fs := textField(fsh, analyzerFoldedShingle, false, false)
		dm.AddFieldMappingsAt(prop, a, f, s, fs)
	}
	text(fSubject, fSubject, fSubjectFold, fSubjectSh, fSubjectFoldSh)
	text(fBody, fBody, fBodyFold, fBodySh, fBodyFoldSh)
	dm.AddFieldMappingsAt(fSubjectShown, storedOnly(fSubjectShown))

	// Keyword fields: exact terms, doc values where facets or sorting read them.
	for _, k := range []struct {
		name         string
		store, facet bool
	}{
		{fNumber, true, false},
		{fNumberFold, false, false},
		{fType, true, false},
		{fIssuer, true, false},
		{fLevel, false, false},
		{fClass, false, false},
		{fYear, false, false},
		{fTasks, false, false},
		{fCites, false, false},
		{fIssuedKey, true, true},
		{fSigner, false, false},
		{fTags, false, false},
		{fStatus, false, false},
		{fDirection, false, false},
		{fPlain, false, false},
	} {
		dm.AddFieldMappingsAt(k.name, keywordField(k.name, k.store, k.facet))
	}
	// All facet values of a document in one doc-values field: counting
	// facets reads one column per hit instead of four, which was a third of
	// the time of a broad search. (Bleve keeps doc values only for indexed
	// fields; the filters use the keyword fields above.)
	dm.AddFieldMappingsAt(fFacets, keywordField(fFacets, false, true))
	for _, d := range []string{fIssuedAt, fRegistered} {
		fm := mapping.NewDateTimeFieldMapping()
		fm.Name = d
		fm.Store = false
		fm.IncludeInAll = false
		fm.DocValues = false // ranges read the index; sorting uses issued_key
		dm.AddFieldMappingsAt(d, fm)
	}

	im.DefaultMapping = dm
	im.DefaultAnalyzer = analyzerAccented
	return im, im.Validate()
}

func textField(name, analyzer string, store, vectors bool) *mapping.FieldMapping {
	fm := mapping.NewTextFieldMapping()
	fm.Name = name
	fm.Analyzer = analyzer
	fm.Store = store
	fm.IncludeTermVectors = vectors
	fm.IncludeInAll = false
	fm.DocValues = false
	return fm
}

func keywordField(name string, store, docValues bool) *mapping.FieldMapping {
	fm := mapping.NewKeywordFieldMapping()
	fm.Name = name
	fm.Analyzer = keyword.Name
	fm.Store = store
	fm.IncludeTermVectors = false
	fm.IncludeInAll = false
	fm.DocValues = docValues
	return fm
}

func storedOnly(name string) *mapping.FieldMapping {
	fm := mapping.NewTextFieldMapping()
	fm.Name = name
	fm.Index = false
	fm.Store = true
	fm.IncludeTermVectors = false
	fm.IncludeInAll = false
	fm.DocValues = false
	return fm
}
