package search

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"vanthu/archive"
)

// testAnalyze is the production accented analyzer, from a mapping built
// without an index.
func testAnalyze(t testing.TB) func(string) []string {
	m, err := newMapping()
	if err != nil {
		t.Fatal(err)
	}
	a := m.AnalyzerNamed(analyzerAccented)
	return func(s string) []string {
		var out []string
		for _, tok := range a.Analyze([]byte(s)) {
			out = append(out, string(tok.Term))
		}
		return out
	}
}

func TestParse(t *testing.T) {
	analyze := testAnalyze(t)
	tests := []struct {
		q        string
		want     []clause
		accented bool
		folds    []string
	}{
		{"kế hoạch", []clause{{kind: kindWord, terms: []string{"kế"}}, {kind: kindWord, terms: []string{"hoạch"}}}, true, nil},
		{`"đối ngoại" -lãnh +sự`, []clause{
			{kind: kindPhrase, terms: []string{"đối", "ngoại"}},
			{kind: kindWord, terms: []string{"lãnh"}, not: true},
			{kind: kindWord, terms: []string{"sự"}, must: true}}, true, nil},
		{"trien*", []clause{{kind: kindPrefix, terms: []string{"trien"}}}, false, nil},
		{"1623 /KH - UBND về", []clause{
			{kind: kindNumber, terms: []string{"1623", "kh", "ubnd"}, number: "1623/KH-UBND", numberFold: "1623khubnd"},
			{kind: kindWord, terms: []string{"về"}}}, true, nil},
		{"-25-CT/TW", []clause{{kind: kindNumber, terms: []string{"25", "ct", "tw"}, not: true, number: "25-CT/TW", numberFold: "25cttw"}}, false, nil},
		{"1623 kh ubnd", []clause{{kind: kindWord, terms: []string{"1623"}}, {kind: kindWord, terms: []string{"kh"}}, {kind: kindWord, terms: []string{"ubnd"}}},
			false, []string{"1623kh", "1623khubnd"}},
		{"lịch sử - văn hóa ?", []clause{{kind: kindWord, terms: []string{"lịch"}}, {kind: kindWord, terms: []string{"sử"}},
			{kind: kindWord, terms: []string{"văn"}}, {kind: kindWord, terms: []string{"hóa"}}}, true, nil},
		{"hoà", []clause{{kind: kindWord, terms: []string{"hòa"}}}, true, nil},
		{"", nil, false, nil},
	}
	for _, tt := range tests {
		p, err := parse(tt.q, analyze)
		if err != nil {
			t.Errorf("parse(%q): %v", tt.q, err)
			continue
		}
		if !reflect.DeepEqual(p.clauses, tt.want) || p.accented != tt.accented || !reflect.DeepEqual(p.numberFolds, tt.folds) {
			t.Errorf("parse(%q) = %+v accented=%v folds=%v\nwant %+v accented=%v folds=%v", tt.q, p.clauses, p.accented, p.numberFolds, tt.want, tt.accented, tt.folds)
		}
	}
}

// FuzzParse: no input panics, and every refusal is an ErrInvalid hint.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`"kế hoạch" -đối +ngoại trien* 1623 /KH - UBND`, `"`, `-`, `*`, "a\xffb", `+"" -*`, strings.Repeat("x ", 200)} {
		f.Add(s)
	}
	analyze := testAnalyze(f)
	f.Fuzz(func(t *testing.T, q string) {
		p, err := parse(q, analyze)
		if err != nil {
			if !errors.Is(err, archive.ErrInvalid) {
				t.Fatalf("parse(%q) error %v is not ErrInvalid", q, err)
			}
			return
		}
		for _, c := range p.clauses {
			if len(c.terms) == 0 && c.kind != kindNumber {
				t.Fatalf("parse(%q): clause without terms %+v", q, c)
			}
		}
		defaultWeights.build(p, func(string) bool { return true }, nil)
	})
}
