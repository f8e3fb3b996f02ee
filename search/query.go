package search

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"vanthu/archive"
	"vanthu/ingest/vietnamese"
)

// The query language, for people, not for Bleve's query-string syntax:
//
//	kế hoạch đối ngoại     words, with or without diacritics; none is mandatory
//	"đối ngoại"            a phrase; quoted phrases are mandatory
//	+biên giới             a mandatory word (or +"phrase")
//	-lãnh sự               an exclusion (or -"phrase")
//	trien*                 a prefix of at least two letters
//	1623/KH-UBND           a số ký hiệu, also spaced: 1623 /KH - UBND
//
// Anything the parser cannot read is an ErrInvalid with a sentence that
// says how to fix it; the web layer shows it as a 400.

// Limits keep one request from building a query that costs seconds: each
// word becomes several term searchers over several fields.
const (
	maxQueryBytes = 2000
	maxQueryTerms = 128
	minPrefixLen  = 2
)

type clauseKind int

const (
	kindWord clauseKind = iota
	kindPhrase
	kindPrefix
	kindNumber
)

// clause is one unit of the query as the user typed it.
type clause struct {
	kind  clauseKind
	terms []string // analysed: lower-cased syllables, diacritics kept
	must  bool     // +
	not   bool     // -
	// kindNumber only
	number, numberFold string
}

// parsedQuery is the parser's output: clauses plus whether the user typed
// with diacritics (decides accented or folded fields for plain words).
type parsedQuery struct {
	clauses  []clause
	accented bool
	// numberFolds are "1623khubnd"-style keys guessed from a typed
	// "1623 kh ubnd": a number followed by short letter groups.
	numberFolds []string
}

func (p *parsedQuery) empty() bool { return len(p.clauses) == 0 }

// A số ký hiệu: digits, then groups joined by / or -, with stray spaces as
// in "1623 /KH - UBND". parse accepts a match only if it has a '/', which
// leaves "2018 - 2020" to the word rules.
var numberRE = regexp.MustCompile(`^\p{N}+(?:\s*[/\-]\s*[\p{L}\p{N}]+)+`)

func invalid(format string, args ...any) error {
	return archive.Errorf(archive.ErrInvalid, "invalid_query", format, args...)
}

// parse reads a user query. analyze must be the index's accented analyzer,
// so query terms are cut exactly like indexed ones.
func parse(q string, analyze func(string) []string) (*parsedQuery, error) {
	if len(q) > maxQueryBytes {
		return nil, invalid("The search text is too long (%d characters); use at most %d characters, the key words are enough.", utf8.RuneCountInString(q), maxQueryBytes)
	}
	if !utf8.ValidString(q) {
		return nil, invalid("The search text is not valid UTF-8 text; retype it.")
	}
	q = vietnamese.Normalize(q)
	p := &parsedQuery{}
	nterms := 0
	add := func(c clause) error {
		nterms += len(c.terms)
		if nterms > maxQueryTerms {
			return invalid("The search has too many words; use at most %d.", maxQueryTerms)
		}
		p.clauses = append(p.clauses, c)
		return nil
	}
	for i := 0; i < len(q); {
		r, w := utf8.DecodeRuneInString(q[i:])
		if unicode.IsSpace(r) {
			i += w
			continue
		}
		var c clause
		if r == '-' || r == '+' {
			next, nw := utf8.DecodeRuneInString(q[i+w:]) // RuneError, 0 at the end
			if nw != 0 && unicode.IsSpace(next) && strings.TrimSpace(q[i+w:]) != "" {
				// A dash between words is punctuation in Vietnamese text
				// ("lịch sử - văn hóa"), not an exclusion.
				i += w
				continue
			}
			if nw == 0 || unicode.IsSpace(next) || next == '-' || next == '+' {
				return nil, invalid("A %q must be written directly before a word or a \"phrase\", as in %slãnh; remove the lone %q.", string(r), string(r), string(r))
			}
			c.must, c.not = r == '+', r == '-'
			i += w
			r, w = next, nw
		}
		switch {
		case r == '"':
			end := strings.IndexByte(q[i+1:], '"')
			if end < 0 {
				return nil, invalid("A quotation mark is not closed; close the phrase with a second \" or remove it.")
			}
			text := q[i+1 : i+1+end]
			i += end + 2
			c.terms = analyze(text)
			if len(c.terms) == 0 {
				return nil, invalid("A quoted phrase is empty; put words between the quotation marks.")
			}
			c.kind = kindPhrase
			if len(c.terms) == 1 {
				c.kind = kindWord
			}
		case numberRE.MatchString(q[i:]) && strings.Contains(numberRE.FindString(q[i:]), "/"):
			m := numberRE.FindString(q[i:])
			i += len(m)
			c.kind = kindNumber
			c.number, c.numberFold = numberKey(m), numberFoldKey(m)
			c.terms = analyze(m)
		default:
			j := i
			for j < len(q) {
				r, w := utf8.DecodeRuneInString(q[j:])
				if unicode.IsSpace(r) || r == '"' {
					break
				}
				j += w
			}
			tok := q[i:j]
			i = j
			if strings.Contains(tok, "*") {
				stem, ok := strings.CutSuffix(tok, "*")
				if !ok || strings.Contains(stem, "*") {
					return nil, invalid("A * may only end a word, as in trien*; %q is not accepted.", tok)
				}
				terms := analyze(stem)
				if len(terms) != 1 || utf8.RuneCountInString(terms[0]) < minPrefixLen {
					return nil, invalid("A * needs at least %d letters before it, as in trien*.", minPrefixLen)
				}
				c.kind, c.terms = kindPrefix, terms
				break
			}
			c.kind = kindWord
			c.terms = analyze(tok)
			if len(c.terms) == 0 {
				continue // punctuation only, like a trailing "?"
			}
		}
		if err := add(c); err != nil {
			return nil, err
		}
	}
	p.accented = typedAccented(p.clauses)
	p.numberFolds = typedNumbers(p.clauses)
	return p, nil
}

// typedAccented reports whether the user types Vietnamese with diacritics.
// About three syllables in four carry a mark, so when at least a third of
// the words have one, the plain ones ("lao" in "người lao động") are taken
// as exact accented words too instead of matching lão, láo, lào at full weight.
func typedAccented(cs []clause) bool {
	var words, marked int
	for _, c := range cs {
		if c.kind == kindNumber {
			continue
		}
		for _, t := range c.terms {
			if !hasLetter(t) {
				continue
			}
			words++
			if vietnamese.HasDiacritics(t) {
				marked++
			}
		}
	}
	return marked > 0 && 3*marked >= words
}

// typedNumbers finds a số ký hiệu typed without its punctuation, as in
// "1623 kh ubnd": digits followed by one to three short letter groups.
// Each candidate becomes a folded-number key; one that matches nothing
// costs a single term lookup.
func typedNumbers(cs []clause) []string {
	var seq []string
	var out []string
	flush := func() {
		for i, t := range seq {
			if !allDigits(t) {
				continue
			}
			key := t
			for k := 1; k <= 3 && i+k < len(seq); k++ {
				g := seq[i+k]
				if allDigits(g) || utf8.RuneCountInString(g) > 6 {
					break
				}
				key += strings.ToLower(vietnamese.Fold(g))
				out = append(out, key)
			}
		}
		seq = seq[:0]
	}
	for _, c := range cs {
		if c.kind != kindWord || c.must || c.not {
			flush()
			continue
		}
		seq = append(seq, c.terms...)
	}
	flush()
	return out
}

func allDigits(s string) bool {
	for _, r := range s {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return s != ""
}

func hasLetter(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) {
			return true
		}
	}
	return false
}
