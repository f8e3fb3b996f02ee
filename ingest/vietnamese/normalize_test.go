package vietnamese

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// oldNormalize is Normalize as it was before its fast path (normalized),
// kept verbatim as the reference and the benchmarks' baseline.
func oldNormalize(s string) string {
	if s == "" {
		return s
	}
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

func checkNormalize(t *testing.T, s string) {
	if got, want := Normalize(s), oldNormalize(s); got != want {
		t.Helper()
		t.Errorf("Normalize(%+q) = %+q, want %+q (normalized: %v)", s, got, want, normalized(s))
	}
}

// Every code point alone; and where its neighbours decide whether a tone
// moves (as the o or the a of "hoa", the q of "quý", after a toned o,
// beside another toned letter), every one below U+3000 and a sample
// beyond.
func TestNormalizeEveryRune(t *testing.T) {
	contexts := []string{"ho%s", "h%sa", "%suý", "hò%s", "ố%soa", "%s hoà", "t%sy", "Q%sY"}
	for r := rune(0); r <= unicode.MaxRune; r++ {
		checkNormalize(t, string(r))
		if r < 0x3000 || r%97 == 0 {
			for _, c := range contexts {
				checkNormalize(t, fmt.Sprintf(c, string(r)))
			}
		}
		if t.Failed() {
			return
		}
	}
}

// Every canonical composition, split after each of its runes with the head
// recomposed (가 as ᄀ+ᅡ, 각 as 가+ᆨ, ố as ô+◌́…): NFC joins what the fast path
// must not take for finished text.
func TestNormalizeCompositions(t *testing.T) {
	n := 0
	for r := rune(0); r <= unicode.MaxRune; r++ {
		d := []rune(norm.NFD.String(string(r)))
		for k := 1; k < len(d); k++ {
			checkNormalize(t, norm.NFC.String(string(d[:k]))+string(d[k:]))
			checkNormalize(t, "h"+string(d[:k])+string(d[k:])+"a")
			n++
		}
		if t.Failed() {
			return
		}
	}
	t.Logf("%d splits", n)
}

// Random strings over the letters tone placement turns on, in both styles,
// precomposed and combining, with the runes that end or join words.
func TestNormalizeRandomStrings(t *testing.T) {
	pool := []string{
		"h", "o", "O", "a", "A", "e", "E", "u", "U", "y", "Y", "q", "Q", "g", "i", "t", "đ", "Đ",
		"ò", "Ò", "ó", "ỏ", "õ", "ọ", "à", "á", "ả", "ã", "ạ", "À", "è", "é", "ẻ", "ẽ", "ẹ", "ù", "ú", "ủ", "ũ", "ụ", "Ủ",
		"ỳ", "ý", "ỷ", "ỹ", "ỵ", "Ý", "ô", "ơ", "ư", "ă", "â", "ê", "ố", "ờ", "ừ", "ặ", "ệ", "ö", "ǒ", "ŏ",
		"\u0300", "\u0301", "\u0303", "\u0309", "\u0323", "\u0302", "\u0306", "\u031B", "\u0308",
		" ", "-", "/", "1", ".", "“", "”", "–", "…", "中", "가", "\u1161", "≠", "K", "\uFFFD", "\xff", "\xe1\xbb",
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var b strings.Builder
	for i := 0; i < 200000; i++ {
		b.Reset()
		for n := 1 + rng.IntN(7); n > 0; n-- {
			b.WriteString(pool[rng.IntN(len(pool))])
		}
		checkNormalize(t, b.String())
		if t.Failed() {
			return
		}
	}
}

// The corpus texts, raw and normalized (what the index gets), whole and
// word by word.
func TestNormalizeCorpus(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "corpus", "text", "*.txt"))
	if len(files) == 0 {
		t.Skip("corpus not found at ../shared/corpus/text")
	}
	fast, words := 0, map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n := oldNormalize(string(b))
		checkNormalize(t, string(b))
		checkNormalize(t, n)
		if normalized(n) {
			fast++
		}
		for _, w := range strings.Fields(string(b)) {
			words[w] = true
		}
	}
	for w := range words {
		checkNormalize(t, w)
	}
	t.Logf("%d files (%d normalized texts take the fast path), %d distinct words", len(files), fast, len(words))
	if fast < len(files)/2 {
		t.Errorf("only %d of %d normalized texts take the fast path", fast, len(files))
	}
}

func TestNormalizeAllocations(t *testing.T) {
	for _, s := range []string{"Ủy ban nhân dân tỉnh Quảng Nam", "hòa bình, quy định, quý II, khỏe, thủy", "“Đảng” – 1623/KH-UBND …"} {
		if !normalized(s) {
			t.Errorf("normalized(%q) = false, want true", s)
		}
		if n := testing.AllocsPerRun(100, func() { Normalize(s) }); n != 0 {
			t.Errorf("Normalize(%q) allocates %v times, want 0", s, n)
		}
	}
	for _, s := range []string{"hoà", "uỷ", "khoẻ", "ÝOA", norm.NFD.String("hòa"), "a\xff"} {
		if normalized(s) {
			t.Errorf("normalized(%q) = true, want false", s)
		}
	}
}

func benchTexts(b *testing.B) []string {
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "corpus", "text", "*.txt"))
	if len(files) == 0 {
		b.Skip("corpus not found")
	}
	var texts []string
	for _, f := range files[:min(len(files), 20)] {
		t, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		texts = append(texts, oldNormalize(string(t)))
	}
	return texts
}

// go test -bench Normalize -benchmem ./ingest/vietnamese/: old and new on
// stored (already normalized) corpus texts, as the index gets them; one op
// is one text, MB/s is of text.
func BenchmarkNormalize(b *testing.B) {
	texts := benchTexts(b)
	size := 0
	for _, t := range texts {
		size += len(t)
	}
	for _, bc := range []struct {
		name string
		fn   func(string) string
	}{{"old", oldNormalize}, {"new", Normalize}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(size / len(texts)))
			for i := 0; b.Loop(); i++ {
				bc.fn(texts[i%len(texts)])
			}
		})
	}
}
