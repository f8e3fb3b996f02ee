package vietnamese

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Vietnamese is written one syllable per space-separated token, and the set
// of syllables is closed: an onset from a short list, a rime from a known set,
// one tone, and the rule that rimes ending in -p, -t, -c, -ch take only the
// sắc or nặng tone. A text layer whose tokens mostly fail that test is
// mojibake (TCVN3/VNI fonts, broken ToUnicode maps) or diacritic-less OCR,
// however "readable" its letters look to a byte-level heuristic.

var onsets = []string{"ngh", "ng", "nh", "ch", "gh", "gi", "kh", "ph", "qu", "th", "tr",
	"b", "c", "d", "đ", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "x", ""}

// openRimes end in a vowel; closedNuclei take a final consonant.
var openRimes = set("a e ê i o ô ơ u ư y ai ao au ay âu ây eo êu ia iu iêu oa oai oao oay oe oeo " +
	"oi ôi ơi ua uây ui uê uy uya uyu uôi ưa ưi ưu ươi ươu yêu uơ oo ê")

var closedNuclei = set("a ă â e ê i o ô ơ u ư y oa oă oe uâ uê uy iê yê uô ươ uyê oo")

var finals = set("c ch m n ng nh p t")

func set(words string) map[string]bool {
	m := make(map[string]bool)
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// IsSyllable reports whether word (one token, any case, NFC or NFD) is a
// well-formed Vietnamese syllable. ASCII-only words such as "ban", "xa" are
// syllables too; whether their diacritics were lost is for TextScore to judge.
func IsSyllable(word string) bool {
	base, tone, ok := splitTone(word)
	if !ok || base == "" || len([]rune(base)) > 7 {
		return false
	}
	for _, on := range onsets {
		if !strings.HasPrefix(base, on) {
			continue
		}
		rime := base[len(on):]
		if on == "gi" && rime == "" {
			rime = "i" // gì: the i is the nucleus
		}
		if on == "qu" && rime == "" {
			continue
		}
		if rimeOK(rime, tone) {
			return true
		}
	}
	return false
}

func rimeOK(rime string, tone rune) bool {
	if rime == "" {
		return false
	}
	if openRimes[rime] {
		return true
	}
	for f := range finals {
		if !strings.HasSuffix(rime, f) {
			continue
		}
		nucleus := rime[:len(rime)-len(f)]
		if !closedNuclei[nucleus] {
			continue
		}
		stop := f == "c" || f == "ch" || f == "p" || f == "t"
		if stop && tone != 0 && tone != acute && tone != dot {
			continue
		}
		return true
	}
	return false
}

// splitTone lower-cases word, removes its single tone mark and returns the
// base letters in NFC (with their circumflex, breve and horn).
func splitTone(word string) (base string, tone rune, ok bool) {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(word)) {
		switch {
		case isTone(r):
			if tone != 0 {
				return "", 0, false
			}
			tone = r
		case r == '\u0302' || r == '\u0306' || r == '\u031B': // â ă ơ: part of the letter
			b.WriteRune(r)
		case unicode.Is(unicode.Mn, r):
			return "", 0, false
		case r == 'đ' || ('a' <= r && r <= 'z'):
			b.WriteRune(r)
		default:
			return "", 0, false
		}
	}
	base = norm.NFC.String(b.String())
	for _, r := range base {
		if !isVietLetter(r) {
			return "", 0, false
		}
	}
	return base, tone, true
}

func isVietLetter(r rune) bool {
	if 'a' <= r && r <= 'z' {
		return r != 'f' && r != 'j' && r != 'w' && r != 'z'
	}
	return strings.ContainsRune("ăâêôơưđ", r)
}

// TextScore summarises how Vietnamese a text looks, token by token.
type TextScore struct {
	Tokens  int // letter tokens
	Valid   int // tokens that are well-formed syllables
	Marked  int // valid tokens carrying a Vietnamese diacritic or đ
	Foreign int // tokens with letters outside Latin (Cyrillic, Latin Extended-B…): mojibake
	Fused   int // long invalid tokens: words run together by a layout-blind extractor
}

// ScoreText scores text (after Normalize). Numbers and punctuation are not
// tokens; upper-case abbreviations (UBND, SCT) count as tokens but not as
// valid, which costs real documents a few points only.
func ScoreText(text string) TextScore {
	var s TextScore
	for _, tok := range strings.FieldsFunc(text, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.Is(unicode.Mn, r))
	}) {
		s.Tokens++
		foreign := false
		for _, r := range tok {
			if r > 0x24F && !(r >= 0x1E00 && r <= 0x1EFF) && !unicode.Is(unicode.Mn, r) {
				foreign = true // Cyrillic, Greek…: what TCVN3 glyph maps turn into
			}
			if r >= 0x180 && r <= 0x24F && r != 'ơ' && r != 'ư' && r != 'Ơ' && r != 'Ư' {
				foreign = true // Latin Extended-B other than ơ, ư
			}
		}
		switch {
		case foreign:
			s.Foreign++
		case IsSyllable(tok):
			s.Valid++
			if HasDiacritics(tok) {
				s.Marked++
			}
		case len([]rune(tok)) > 8:
			s.Fused++
		}
	}
	return s
}

// Good is the number of tokens that read as Vietnamese, less penalties for
// mojibake and fused words: the quantity two extractors are compared on, so
// that an engine that drops text loses as surely as one that garbles it.
func (s TextScore) Good() int { return s.Valid - 2*s.Foreign - 2*s.Fused }

// Readable reports whether a text with this score is worth keeping as
// Vietnamese text: most tokens valid syllables, few mojibake tokens, and
// diacritics present (real Vietnamese prose marks about half its syllables;
// OCR that lost them marks almost none).
func (s TextScore) Readable() bool {
	if s.Tokens == 0 {
		return false
	}
	t := float64(s.Tokens)
	return float64(s.Valid)/t >= 0.6 && float64(s.Foreign)/t <= 0.03 && float64(s.Marked)/t >= 0.2
}
