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
// kept; callers lower-case as they need.
func Fold(s string) string {
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
// Fold would change it.
func HasDiacritics(s string) bool {
	for _, r := range s {
		if r < utf8.RuneSelf {
			continue
		}
		if r == 'đ' || r == 'Đ' {
			return true
		}
		if unicode.IsLetter(r) || unicode.Is(unicode.Mn, r) {
			if Fold(string(r)) != string(r) {
				return true
			}
		}
	}
	return false
}
