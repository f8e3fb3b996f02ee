package vietnamese

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// oldFold and oldHasDiacritics are Fold and HasDiacritics as they were
// before the folding table, kept verbatim as the reference the table must
// agree with, and as the baseline of the benchmarks.
func oldFold(s string) string {
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

func oldHasDiacritics(s string) bool {
	for _, r := range s {
		if r < utf8.RuneSelf {
			continue
		}
		if r == 'đ' || r == 'Đ' {
			return true
		}
		if unicode.IsLetter(r) || unicode.Is(unicode.Mn, r) {
			if oldFold(string(r)) != string(r) {
				return true
			}
		}
	}
	return false
}

// checkFold fails the test when Fold disagrees with the reference on s.
func checkFold(t *testing.T, s string) {
	if got, want := Fold(s), oldFold(s); got != want {
		t.Helper()
		t.Errorf("Fold(%+q) = %+q, want %+q", s, got, want)
	}
}

// checkBoth checks HasDiacritics too.
func checkBoth(t *testing.T, s string) {
	checkFold(t, s)
	if got, want := HasDiacritics(s), oldHasDiacritics(s); got != want {
		t.Helper()
		t.Errorf("HasDiacritics(%+q) = %v, want %v", s, got, want)
	}
}

// Every code point, surrogates included (string(r) makes them U+FFFD), alone
// and after a letter that carries marks of its own (ệ: e, U+0302, U+0323),
// so that a mark that NFD would sort among them is caught. HasDiacritics
// judges rune by rune, so the runes alone settle it.
func TestFoldEveryRune(t *testing.T) {
	buf := []byte("ệ")
	for r := rune(0); r <= unicode.MaxRune; r++ {
		checkBoth(t, string(r))
		checkFold(t, string(utf8.AppendRune(buf[:len("ệ")], r)))
		if t.Failed() {
			return
		}
	}
}

// Random strings over the runes where folding is subtle: Vietnamese letters
// in NFC and NFD, combining marks of every class, marks that are spacing
// (Mc) yet reordered, Hangul, letters that decompose outside the table,
// starters that combine backwards, and invalid bytes.
func TestFoldRandomStrings(t *testing.T) {
	pool := []string{
		"a", "Z", " ", "-", "/", "1", "đ", "Đ", "ệ", "Ệ", "ư", "ơ", "ă", "â", "ỹ", "À", "ỳ", "Ǹ",
		"\u0300", "\u0301", "\u0302", "\u0303", "\u0306", "\u0309", "\u031B", "\u0323", "\u0327", "\u034F", "\u0344", "\u0345",
		"\u05B0", "\u0E31", "\u0F73", "\u0F75", "\u0F81", "\u1DC0", "\u20D0", "\uFE0F", "\uFE20",
		"\U0001D165", "\U0001D16D", "\U0001D15E", "\U0001D160", "\u0F39", "\u0F7F",
		"가", "각", "\u1100", "\u1161", "\u11A8", "ᾂ", "ῼ", "Ω", "Å", "≠", "≮", "\uF900", "\U0002F800",
		"\u0CD5", "\u0DCF", "\u0BBE", "\u0CC2", "\U00011127",
		"“", "”", "–", "…", "\uFFFD", "\xff", "\xc3", "\xe1\xbb", "\xed\xa0\x80",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for i := 0; i < 100000; i++ {
		b.Reset()
		for n := 1 + rng.IntN(8); n > 0; n-- {
			b.WriteString(pool[rng.IntN(len(pool))])
		}
		checkBoth(t, b.String())
		if t.Failed() {
			return
		}
	}
	// Long runs of marks: NFD inserts U+034F after 30 non-starters.
	checkBoth(t, "a"+strings.Repeat("\u0301\u0323", 40)+"ệ")
	checkBoth(t, "ệ"+strings.Repeat("\u0F73", 40))
}

// The corpus texts, whole and word by word as the index's fold filter sees
// them, raw and after Normalize.
func TestFoldCorpus(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "corpus", "text", "*.txt"))
	if len(files) == 0 {
		t.Skip("corpus not found at ../shared/corpus/text")
	}
	words := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range []string{string(b), Normalize(string(b))} {
			checkFold(t, text)
			for _, w := range strings.Fields(text) {
				words[w] = true
			}
		}
	}
	for w := range words {
		checkBoth(t, w)
	}
	t.Logf("%d files, %d distinct words", len(files), len(words))
}

func TestFoldAllocations(t *testing.T) {
	for _, s := range []string{"ke hoach", "1623/KH-UBND", "“UBND” – …", "가a"[3:]} {
		if n := testing.AllocsPerRun(100, func() { Fold(s) }); n != 0 {
			t.Errorf("Fold(%q) allocates %v times, want 0", s, n)
		}
	}
	if n := testing.AllocsPerRun(100, func() { Fold("kế hoạch đối ngoại") }); n != 1 {
		t.Errorf("Fold of an accented phrase allocates %v times, want 1", n)
	}
	if n := testing.AllocsPerRun(100, func() { HasDiacritics("Quảng Nam ≠ 가") }); n != 0 {
		t.Errorf("HasDiacritics allocates %v times, want 0", n)
	}
}

// benchWords are the words of a corpus text, as the fold filter gets them.
func benchWords(b *testing.B) []string {
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "corpus", "text", "*.txt"))
	var words []string
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		words = append(words, strings.Fields(Normalize(string(text)))...)
		if len(words) > 20000 {
			break
		}
	}
	if len(words) == 0 {
		words = strings.Fields("Cộng hòa xã hội chủ nghĩa Việt Nam Độc lập Tự do Hạnh phúc kế hoạch 1623/KH-UBND")
	}
	return words
}

// go test -bench Fold -benchmem ./ingest/vietnamese/: old (NFD for every
// word) and new (the table) on the same words, one op = one word.
func BenchmarkFold(b *testing.B) {
	words := benchWords(b)
	for _, bc := range []struct {
		name string
		fn   func(string) string
	}{{"old", oldFold}, {"new", Fold}} {
		b.Run(bc.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				bc.fn(words[i%len(words)])
			}
		})
	}
}

func BenchmarkHasDiacritics(b *testing.B) {
	words := benchWords(b)
	for _, bc := range []struct {
		name string
		fn   func(string) bool
	}{{"old", oldHasDiacritics}, {"new", HasDiacritics}} {
		b.Run(bc.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				bc.fn(words[i%len(words)])
			}
		})
	}
}
