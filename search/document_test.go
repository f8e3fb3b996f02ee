package search

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/mapping"
	index "github.com/blevesearch/bleve_index_api"

	"vanthu/archive"
	"vanthu/ingest/vietnamese"
)

// The documents Index builds are the ones Bleve's mapping builds from
// fields() — the way documents were indexed before documents.go — field
// for field after analysis: names, array positions, options, values,
// lengths, and every term with its frequency and locations.
func TestDocumentMatchesMapping(t *testing.T) {
	im, ds := testDocuments(t)
	docs := documentCases()
	texts := corpusTexts(t)
	for i, text := range texts {
		subject, _, _ := strings.Cut(text, "\n")
		docs = append(docs, Doc{
			ID: fmt.Sprintf("corpus-%d", i), Number: fmt.Sprintf("%d/KH-UBND", i), Type: "KH", Issuer: "UBND tỉnh",
			Level: "provincial", Classification: []archive.Classification{archive.Unclassified, archive.Mat, archive.ToiMat}[i%3], Subject: subject, Body: text,
			IssuedAt: time.Date(2018+i%8, 3, 1+i%27, 0, 0, 0, 0, time.UTC), Tags: []string{"a", "b"}, Cites: []string{"25-CT/TW"},
		})
	}
	for i := range docs {
		d := &docs[i]
		want := document.NewDocument(d.ID)
		if err := im.MapDocument(want, fields(d)); err != nil {
			t.Fatal(err)
		}
		got, texts := ds.build(d)
		analyseLikeScorch(want)
		analyseLikeScorch(got)
		w, g := describeDocument(want), describeDocument(got)
		if !reflect.DeepEqual(w, g) {
			for k := range w {
				if !reflect.DeepEqual(w[k], g[k]) {
					t.Errorf("%s: field %s:\nmapping %s\nbuilt   %s", d.ID, k, short(w[k]), short(g[k]))
				}
			}
			for k := range g {
				if _, ok := w[k]; !ok {
					t.Errorf("%s: field %s only in the built document", d.ID, k)
				}
			}
			continue
		}
		for j, f := range []string{fSubject, fBody} {
			if n := fieldLength(want, f); n != texts[j].length {
				t.Errorf("%s: %s has %d tokens, the analysis counted %d", d.ID, f, n, texts[j].length)
			}
		}
	}
	if len(texts) > 0 && !t.Failed() {
		t.Logf("%d documents (%d corpus texts) identical", len(docs), len(texts))
	}
}

func short(s string) string {
	if len(s) > 600 {
		return s[:600] + "…"
	}
	return s
}

func documentCases() []Doc {
	at := time.Date(2024, 5, 17, 9, 30, 0, 0, time.FixedZone("ICT", 7*3600))
	return []Doc{
		{ID: "empty"},
		{ID: "subject-only", Subject: "Kế hoạch đối ngoại năm 2024"},
		{ID: "nfd", Subject: vietnamese.Fold("x") + "Ke\u0302\u0301 hoa\u0323ch", Body: "Hoà bình, hòa bình, HOÀ BÌNH; Đà Nẵng đ Đ"},
		{ID: "plain", Subject: "ke hoach doi ngoai", Body: "van ban khong dau cua so ngoai vu tinh, bao cao ket qua"},
		{ID: "full", Number: "1623/KH-UBND", Type: "KH", TypeName: "Kế hoạch", Issuer: "UBND tỉnh Lạng Sơn", Level: "provincial",
			Classification: archive.TuyetMat, IssuedAt: at, RegisteredAt: at.Add(48 * time.Hour),
			Subject: "Triển khai Nghị quyết 30/2020/NĐ-CP", Body: "Căn cứ Chỉ thị 25-CT/TW; 1. Sở Ngoại vụ chủ trì.\n2. Các sở phối hợp.",
			Signer: "Nguyễn Văn A", Direction: "incoming", Status: "active", Tags: []string{"đối ngoại", "", "ASEAN"},
			Tasks: []string{"t1", "t2"}, Cites: []string{"25-CT/TW", "  ", "30/2020/NĐ-CP"}},
		{ID: "symbols", Subject: "QĐ và QyĐ; e-mail: so@langson.gov.vn 12.5% ½ ①", Body: strings.Repeat("an toàn hóa chất ", 50) + "\u200b\ufeff😀 tiếng Việt"},
		{ID: "old-date", IssuedAt: time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC)},
	}
}

// analyseLikeScorch does what scorch's analyze does with a document.
func analyseLikeScorch(d *document.Document) {
	d.VisitFields(func(f index.Field) {
		if !f.Options().IsIndexed() {
			return
		}
		f.Analyze()
		if f.Name() != "_id" {
			d.VisitComposite(func(cf index.CompositeField) {
				cf.Compose(f.Name(), f.AnalyzedLength(), f.AnalyzedTokenFrequencies())
			})
		}
	})
}

func fieldLength(d *document.Document, name string) int {
	n := -1
	d.VisitFields(func(f index.Field) {
		if f.Name() == name {
			n = f.AnalyzedLength()
		}
	})
	return n
}

// describeDocument renders every field of an analysed document, keyed by
// name and array positions (the mapping walks a map, in random order).
func describeDocument(d *document.Document) map[string]string {
	out := map[string]string{"id": d.ID()}
	describe := func(f index.Field) {
		key := f.Name() + fmt.Sprint(f.ArrayPositions())
		var b strings.Builder
		fmt.Fprintf(&b, "options=%v len=%d bytes=%d", f.Options(), f.AnalyzedLength(), f.NumPlainTextBytes())
		if _, text := f.(*document.TextField); f.Options().IsStored() || !text {
			// Only stored values are kept; an analyzer may rewrite the
			// bytes of one that is not (the lower-case filter works in
			// place).
			fmt.Fprintf(&b, " value=%q", f.Value())
		}
		tf := f.AnalyzedTokenFrequencies()
		terms := make([]string, 0, len(tf))
		for k := range tf {
			terms = append(terms, k)
		}
		sort.Strings(terms)
		for _, k := range terms {
			v := tf[k]
			fmt.Fprintf(&b, "\n  %q %q freq=%d", k, v.Term, v.Frequency())
			for _, l := range v.Locations {
				fmt.Fprintf(&b, " [%s %d %d %d %v]", l.Field, l.Start, l.End, l.Position, l.ArrayPositions)
			}
		}
		if out[key] != "" {
			key += "#" + strconv.Itoa(len(out))
		}
		out[key] = b.String()
	}
	d.VisitFields(describe)
	d.VisitComposite(func(f index.CompositeField) { describe(f) })
	return out
}

// fields flattens a Doc into the properties the mapping indexes: how
// documents were built before documents.go, kept as its reference. Text is
// normalised here, not in an analyzer char filter: NFC and tone placement
// change byte lengths, and the stored text must be the exact text the
// offsets of term vectors point into.
func fields(d *Doc) map[string]interface{} {
	subject := vietnamese.Normalize(d.Subject)
	body := vietnamese.Normalize(d.Body)
	m := map[string]interface{}{
		fSubject: subject,
		fBody:    body,
		fClass:   classKey(d.Classification),
	}
	if isPlain(subject, body) {
		m[fPlain] = "1"
	}
	if subject != d.Subject {
		m[fSubjectShown] = d.Subject
	}
	put := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	put(fNumber, numberKey(d.Number))
	put(fNumberFold, numberFoldKey(d.Number))
	put(fType, d.Type)
	put(fIssuer, d.Issuer)
	put(fLevel, d.Level)
	put(fSigner, d.Signer)
	put(fDirection, d.Direction)
	put(fStatus, d.Status)
	if !d.IssuedAt.IsZero() {
		m[fIssuedAt] = d.IssuedAt.UTC()
		m[fIssuedKey] = d.IssuedAt.Format(time.DateOnly)
		m[fYear] = strconv.Itoa(d.IssuedAt.Year())
	}
	if !d.RegisteredAt.IsZero() {
		m[fRegistered] = d.RegisteredAt.UTC()
	}
	var facets []string
	for _, kv := range [][2]string{{fType, d.Type}, {fIssuer, d.Issuer}, {fLevel, d.Level}} {
		if kv[1] != "" {
			facets = append(facets, facetTerm(kv[0], kv[1]))
		}
	}
	if y, ok := m[fYear].(string); ok {
		facets = append(facets, facetTerm(fYear, y))
	}
	if len(facets) > 0 {
		m[fFacets] = facets
	}
	if len(d.Tags) > 0 {
		m[fTags] = d.Tags
	}
	if len(d.Tasks) > 0 {
		m[fTasks] = d.Tasks
	}
	if len(d.Cites) > 0 {
		cites := make([]string, 0, len(d.Cites))
		for _, c := range d.Cites {
			if k := numberKey(c); k != "" {
				cites = append(cites, k)
			}
		}
		m[fCites] = cites
	}
	return m
}

// Batches indexed side by side (as vanthu reindex does) leave the final
// totals saved for the next Open.
func TestConcurrentBatchesKeepStats(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "index")
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	const batches, size = 6, 40
	errs := make(chan error, batches)
	for b := range batches {
		go func() {
			docs := make([]Doc, size)
			for i := range docs {
				docs[i] = Doc{ID: fmt.Sprintf("d%d-%d", b, i), Subject: "Kế hoạch số " + strconv.Itoa(i), Body: strings.Repeat("báo cáo kết quả ", 1+i%5)}
			}
			errs <- ix.Index(docs)
		}()
	}
	for range batches {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	want := ix.stats.Tokens[fBody]
	ix = reopen(t, ix, dir)
	defer ix.Close()
	if ix.stats.Docs != batches*size || ix.stats.Tokens[fBody] != want || want == 0 {
		t.Fatalf("after reopening: %d documents, %d body tokens; want %d, %d", ix.stats.Docs, ix.stats.Tokens[fBody], batches*size, want)
	}
	if n, _ := ix.Count(); n != batches*size {
		t.Fatalf("count %d, want %d", n, batches*size)
	}
}

// pairs gives what Bleve's shingle filter gives, token for token
// (positions and offsets included, which the index does not keep for the
// shingle fields), on the corpus texts and on streams with gaps.
func TestPairsMatchShingleFilter(t *testing.T) {
	_, ds := testDocuments(t)
	texts := append([]string{"", "một", "kế hoạch", "Kế hoạch đối ngoại năm 2024, số 1623/KH-UBND."}, corpusTexts(t)...)
	render := func(ts []*analysis.Token) string {
		var b strings.Builder
		for _, tok := range ts {
			fmt.Fprintf(&b, "%q %d %d %d %d\n", tok.Term, tok.Position, tok.Start, tok.End, tok.Type)
		}
		return b.String()
	}
	for i, text := range texts {
		s := ds.analyse(text)
		for _, in := range s[:2] { // accented, folded
			if got, want := render(ds.pairs(in)), render(ds.shingle.Filter(in)); got != want {
				t.Fatalf("text %d: pairs differ from the shingle filter:\n%.400s\nwant\n%.400s", i, got, want)
			}
		}
	}
	gap := analysis.TokenStream{
		{Term: []byte("a"), Position: 1, Start: 0, End: 1},
		{Term: []byte("b"), Position: 3, Start: 4, End: 5},
	}
	if got, want := render(ds.pairs(gap)), render(ds.shingle.Filter(gap)); got != want {
		t.Fatalf("stream with a gap: %s, want %s", got, want)
	}
}

// BenchmarkBuildDocuments: building and analysing the Bleve documents of
// the corpus texts (normalising, tokenizing, deriving the four streams of
// each text, Bleve's term counts).
func BenchmarkBuildDocuments(b *testing.B) {
	_, ds := testDocuments(b)
	var docs []Doc
	for i, text := range corpusTexts(b) {
		docs = append(docs, Doc{ID: strconv.Itoa(i), Subject: "Kế hoạch", Body: text})
	}
	b.ResetTimer()
	for range b.N {
		for i := range docs {
			doc, _ := ds.build(&docs[i])
			analyseLikeScorch(doc)
		}
	}
}

func testDocuments(tb testing.TB) (*mapping.IndexMappingImpl, *documents) {
	im, err := newMapping()
	if err != nil {
		tb.Fatal(err)
	}
	ds, err := newDocuments(im)
	if err != nil {
		tb.Fatal(err)
	}
	return im, ds
}

// corpusTexts are the texts of ../shared/corpus/text; without them (outside
// CI) a benchmark is skipped and a test runs on its own cases only.
func corpusTexts(tb testing.TB) []string {
	files, _ := filepath.Glob(filepath.Join("..", "..", "shared", "corpus", "text", "*.txt"))
	if len(files) == 0 {
		if os.Getenv("CI") != "" {
			tb.Fatal("corpus not found at ../shared/corpus/text")
		}
		if b, ok := tb.(*testing.B); ok {
			b.Skip("corpus not found at ../shared/corpus/text")
		}
	}
	var texts []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		texts = append(texts, string(b))
	}
	return texts
}

// reopen closes ix and opens the index in dir again.
func reopen(t *testing.T, ix *Index, dir string) *Index {
	t.Helper()
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}
