// Package vietnamese normalises Vietnamese text the one way every part of
// vanthu agrees on: Unicode NFC, one tone-placement style, and a folded form
// without diacritics (đ→d) for search. Index time and query time must call the
// same functions, or accented and unaccented searches drift apart.
package vietnamese

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Combining tone marks (dấu thanh) in NFD.
const (
	grave = '\u0300' // huyền
	acute = '\u0301' // sắc
	tilde = '\u0303' // ngã
	hook  = '\u0309' // hỏi
	dot   = '\u0323' // nặng
)

func isTone(r rune) bool {
	switch r {
	case grave, acute, tilde, hook, dot:
		return true
	}
	return false
}

// Normalize returns s in NFC with tone marks placed in the old style that
// dominates government text: hòa, khỏe, thủy, ủy (not hoà, khoẻ, thuỷ, uỷ).
// Only open syllables ending in oa, oe, uy move their tone; quý keeps it on y,
// and closed syllables (hoàng, thuyền) are the same in both styles.
func Normalize(s string) string {
	if s == "" {
		return s
	}
	// Invalid UTF-8 becomes U+FFFD here, once, so that Normalize and Fold
	// (and the index and the query) see the same runes.
	d := norm.NFD.String(strings.ToValidUTF8(s, "\uFFFD"))
	if !needsTonePass(d) {
		return norm.NFC.String(d)
	}
	var b strings.Builder
	b.Grow(len(d))
	start := -1
	for i, r := range d {
		letter := unicode.IsLetter(r) || unicode.Is(unicode.Mn, r)
		if letter {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			b.WriteString(placeTone(d[start:i]))
			start = -1
		}
		b.WriteRune(r)
	}
	if start >= 0 {
		b.WriteString(placeTone(d[start:]))
	}
	return norm.NFC.String(b.String())
}

func needsTonePass(d string) bool {
	for _, r := range d {
		if isTone(r) {
			return true
		}
	}
	return false
}

// placeTone moves the tone of one NFD syllable to the old-style position.
func placeTone(syl string) string {
	runes := []rune(syl)
	toneAt, tone := -1, rune(0)
	base := make([]rune, 0, len(runes)) // letters with their non-tone marks
	for _, r := range runes {
		if isTone(r) {
			if toneAt >= 0 {
				return syl // two tones: not a Vietnamese syllable, leave it
			}
			tone, toneAt = r, len(base)
			continue
		}
		base = append(base, r)
	}
	if toneAt < 0 || len(base) < 2 || len(base) > 8 {
		return syl
	}
	n := len(base)
	last, prev := unicode.ToLower(base[n-1]), unicode.ToLower(base[n-2])
	// The pair must be plain letters: "ưa", "ôe" etc. are other rimes.
	pair := (prev == 'o' && (last == 'a' || last == 'e')) || (prev == 'u' && last == 'y')
	if !pair {
		return syl
	}
	if prev == 'u' && n >= 3 && unicode.ToLower(base[n-3]) == 'q' {
		return syl // quý: u belongs to qu
	}
	// base must not contain marks between the pair letters (e.g. o + circumflex).
	out := make([]rune, 0, len(runes))
	for i, r := range base {
		out = append(out, r)
		if i == n-2 {
			out = append(out, tone)
		}
	}
	return string(out)
}

// Fold removes every diacritic and maps đ→d, Đ→D, after Normalize. Case is
// kept; callers lower-case as they need. A string Fold does not change is
// returned as it is, without allocating.
//
// Fold runs once or twice for every non-ASCII token the index analyses, so
// it looks each rune up in a table (foldTable, built at init from foldNFD,
// the definition) and takes the NFD path only for input a table cannot fold
// rune by rune: invalid UTF-8, combining marks, and the rare runes outside
// the table that decompose.
func Fold(s string) string {
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch k, _ := foldRune(s[i:i+size], r); k {
		case foldSame:
			i += size
		case foldSlow:
			return foldNFD(s)
		default:
			return foldFrom(s, i)
		}
	}
	return s
}

// foldFrom folds s whose first rune that changes starts at i.
func foldFrom(s string, i int) string {
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for i < len(s) {
		if c := s[i]; c < utf8.RuneSelf {
			b.WriteByte(c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch k, to := foldRune(s[i:i+size], r); k {
		case foldSame:
			b.WriteString(s[i : i+size])
		case foldSlow:
			return foldNFD(s)
		default:
			b.WriteString(to)
		}
		i += size
	}
	return b.String()
}

// foldNFD is the definition of Fold: decompose (NFD), drop every nonspacing
// mark (Mn), map đ and Đ, which have no decomposition. Invalid UTF-8 becomes
// U+FFFD first, as in Normalize.
func foldNFD(s string) string {
	d := norm.NFD.String(strings.ToValidUTF8(s, "\uFFFD"))
	var b strings.Builder
	b.Grow(len(d))
	for _, r := range d {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r == 'đ':
			b.WriteByte('d')
		case r == 'Đ':
			b.WriteByte('D')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// HasDiacritics reports whether s has any Vietnamese mark or đ, i.e. whether
// Fold would change it. It judges rune by rune, and only letters and
// nonspacing marks: a symbol that Fold changes (≠ decomposes to = and a
// mark) does not count.
func HasDiacritics(s string) bool {
	for _, r := range s {
		if r < utf8.RuneSelf {
			continue
		}
		if foldLo <= r && r <= foldHi {
			if foldTable[r-foldLo].diacritic {
				return true
			}
			continue
		}
		// Outside the table Fold(string(r)) differs from r exactly when r
		// is a nonspacing mark (dropped) or decomposes, Hangul included: a
		// rune that decomposes never appears in NFD, so dropping marks
		// cannot give it back. TestFoldEveryRune checks this on every rune.
		if unicode.Is(unicode.Mn, r) {
			return true
		}
		if unicode.IsLetter(r) && (isHangul(r) || norm.NFD.PropertiesString(string(r)).Decomposition() != nil) {
			return true
		}
	}
	return false
}

// The folding table covers the Latin letters with diacritics (Latin-1
// Supplement to Latin Extended Additional, where every Vietnamese letter
// lives: U+00C0 À to U+1EF9 ỹ) and the scripts in between, and Greek
// Extended after it. Below U+00C0 Fold changes nothing.
const (
	foldLo = 0xC0
	foldHi = 0x1FFF
)

// How Fold treats one rune.
const (
	foldSame    = iota // unchanged
	foldReplace        // replaced by its folded form (possibly empty)
	foldSlow           // only the NFD path over the whole string is exact
)

type foldEntry struct {
	kind      uint8
	diacritic bool   // HasDiacritics counts it
	off, n    uint16 // the folded form is foldData[off : off+n]
}

var (
	foldTable [foldHi - foldLo + 1]foldEntry
	foldData  string
)

func init() {
	var data strings.Builder
	var enc [utf8.UTFMax]byte
	for r := rune(foldLo); r <= foldHi; r++ {
		e := &foldTable[r-foldLo]
		// Most of the range (Cyrillic, Arabic, Indic letters) has nothing
		// for NFD to do; skipping it keeps start-up under a millisecond.
		p := norm.NFD.Properties(utf8.AppendRune(enc[:0], r))
		if p.Decomposition() == nil && p.CCC() == 0 && p.BoundaryBefore() && !unicode.Is(unicode.Mn, r) && r != 'đ' && r != 'Đ' {
			continue
		}
		from := string(r)
		to := foldNFD(from)
		e.diacritic = r == 'đ' || r == 'Đ' || (unicode.IsLetter(r) || unicode.Is(unicode.Mn, r)) && to != from
		if !runeLocal(from) {
			e.kind = foldSlow
			continue
		}
		if to == from {
			continue
		}
		e.kind = foldReplace
		e.off, e.n = uint16(data.Len()), uint16(len(to))
		data.WriteString(to)
	}
	foldData = data.String()
	if len(foldData) > 1<<16-1 {
		panic("vietnamese: fold table overflows")
	}
}

// runeLocal reports whether the NFD of any string is the concatenation of
// the NFD of its runes at the boundary before r, which holds when r's
// decomposition starts with a starter (canonical combining class 0) that
// does not combine backwards: canonical reordering then never moves a mark
// across it. A combining mark (U+0301) fails this: NFD sorts it among the
// marks of the letter before it.
func runeLocal(r string) bool {
	p := norm.NFD.PropertiesString(r)
	return p.LeadCCC() == 0 && p.BoundaryBefore()
}

// isHangul reports whether r is a precomposed Hangul syllable, which NFD
// splits into its jamo.
func isHangul(r rune) bool { return 0xAC00 <= r && r <= 0xD7A3 }

// foldRune says how Fold treats r, whose UTF-8 encoding (or one invalid
// byte) is enc, and for foldReplace gives its folded form.
func foldRune(enc string, r rune) (kind uint8, to string) {
	if foldLo <= r && r <= foldHi {
		e := foldTable[r-foldLo]
		return e.kind, foldData[e.off : e.off+e.n]
	}
	if r == utf8.RuneError && len(enc) == 1 {
		return foldSlow, "" // invalid UTF-8: U+FFFD for a run of bad bytes
	}
	// Punctuation (“ ” – …) and most other runes beyond the table are
	// starters with no decomposition and no mark: Fold keeps them. Hangul
	// syllables decompose by algorithm: Decomposition does not show it.
	if isHangul(r) {
		return foldSlow, ""
	}
	if p := norm.NFD.PropertiesString(enc); p.Decomposition() == nil && p.CCC() == 0 && p.BoundaryBefore() && !unicode.Is(unicode.Mn, r) {
		return foldSame, ""
	}
	return foldSlow, ""
}
