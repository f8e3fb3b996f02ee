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
	if s == "" || normalized(s) {
		// Extracted text is stored normalized, and the index normalizes
		// it again: most calls change nothing.
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

// normalized reports that Normalize would return s unchanged. It may say
// false when it would not (Normalize then does the work), never the other
// way round. It accepts valid UTF-8 made only of ASCII, precomposed
// Vietnamese letters (an ASCII letter with tone and vowel marks, as NFC
// writes them), đ, and runes that neither NFC nor NFD changes or joins to
// a neighbour (“ ” – …, CJK); such a string is NFC. And no word may end in
// oa, oe or uy (not quy) with a tone in the word but not on its o or u:
// the only words whose tone placeTone moves.
func normalized(s string) bool {
	var w wordState
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			if lc := c | 0x20; 'a' <= lc && lc <= 'z' {
				w.add(normEntry{kind: normLetter, base: lc})
			} else if !w.end() {
				return false
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		e := normOf(s[i:i+size], r)
		i += size
		switch e.kind {
		case normSlow:
			return false
		case normLetter:
			w.add(e)
		default:
			if !w.end() {
				return false
			}
		}
	}
	return w.end()
}

// wordState follows the last three letters of the current word.
type wordState struct {
	n                 int
	toned             bool
	prev2, prev, last normEntry
}

func (w *wordState) add(e normEntry) {
	w.n++
	w.toned = w.toned || e.tone
	w.prev2, w.prev, w.last = w.prev, w.last, e
}

// end closes the word; false means placeTone might move its tone.
func (w *wordState) end() bool {
	ok := true
	if w.n >= 2 && w.toned && !w.prev.tone && !w.prev.mark && !w.last.mark {
		p, l := w.prev.base, w.last.base
		pair := p == 'o' && (l == 'a' || l == 'e') || p == 'u' && l == 'y'
		qu := p == 'u' && w.n >= 3 && w.prev2.base == 'q' && !w.prev2.mark && !w.prev2.tone
		ok = !pair || qu
	}
	*w = wordState{}
	return ok
}

// How normalized treats one rune.
const (
	normSlow     = iota // anything else: let Normalize do the work
	normBoundary        // not part of a word, and unchanged
	normLetter          // part of a word, unchanged by NFC
)

type normEntry struct {
	kind uint8
	base byte // a Vietnamese letter's ASCII letter, lower case; 0 for others
	tone bool // it carries a tone mark
	mark bool // it carries another mark (circumflex, breve, horn)
}

var normTable [foldHi - foldLo + 1]normEntry

func init() {
	for r := rune(foldLo); r <= foldHi; r++ {
		normTable[r-foldLo] = classifyNorm(r)
	}
}

// classifyNorm decides a rune of the table's range once, at init.
func classifyNorm(r rune) normEntry {
	enc := string(r)
	if e := plainNorm(enc, r); e.kind != normSlow {
		return e
	}
	// A precomposed letter: NFC's own form of an ASCII letter and marks.
	nfc := norm.NFC.PropertiesString(enc)
	if !norm.NFC.IsNormalString(enc) || !nfc.BoundaryBefore() || !unicode.IsLetter(r) {
		return normEntry{}
	}
	d := []rune(norm.NFD.String(enc))
	c := d[0] | 0x20
	if len(d) < 2 || d[0] >= utf8.RuneSelf || c < 'a' || c > 'z' {
		return normEntry{}
	}
	e := normEntry{kind: normLetter, base: byte(c)}
	for _, m := range d[1:] {
		switch {
		case isTone(m) && !e.tone:
			e.tone = true
		case m == '\u0302' || m == '\u0306' || m == '\u031B':
			e.mark = true
		default:
			return normEntry{}
		}
	}
	return e
}

// plainNorm classifies a rune that no normalization changes or combines:
// no decomposition, combining class 0, not a mark, not joined to the rune
// before it by NFC (Hangul vowels, some Indic vowel signs are).
func plainNorm(enc string, r rune) normEntry {
	if isHangul(r) || unicode.Is(unicode.Mn, r) {
		return normEntry{}
	}
	d := norm.NFD.PropertiesString(enc)
	if d.Decomposition() != nil || d.CCC() != 0 || !d.BoundaryBefore() || !norm.NFC.PropertiesString(enc).BoundaryBefore() {
		return normEntry{}
	}
	if unicode.IsLetter(r) {
		return normEntry{kind: normLetter}
	}
	return normEntry{kind: normBoundary}
}

// normOf classifies a non-ASCII rune r encoded as enc.
func normOf(enc string, r rune) normEntry {
	if foldLo <= r && r <= foldHi {
		return normTable[r-foldLo]
	}
	if r == utf8.RuneError && len(enc) == 1 {
		return normEntry{} // invalid UTF-8 becomes U+FFFD
	}
	return plainNorm(enc, r)
}
