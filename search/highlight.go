package search

import (
	"html"
	"sort"
	"strings"
	"unicode/utf8"

	bsearch "github.com/blevesearch/bleve/v2/search"
)

// Highlighting is done here, from the term locations Bleve returns, rather
// than with a Bleve highlighter: the HTML fragment formatter does not
// escape the document text around the marks, so a subject containing
// <script> would reach the page as markup. Here every byte outside a
// <mark> is escaped, and spans are checked to fall on rune boundaries, so
// fragments are always valid UTF-8.
//
// The accented and folded fields index the same stored text with the same
// offsets (the fold filter changes terms, never offsets), so a match in
// body_f marks the accented word in body.

const (
	fragmentBytes  = 240 // about 180 Vietnamese characters
	maxFragments   = 3
	maxSpans       = 1000 // enough for any fragment choice; bounds the work on huge bodies
	subjectInFull  = 400  // a subject up to this length is shown whole
	ellipsis       = "…"
	markOpen       = "<mark>"
	markClose      = "</mark>"
	boundarySearch = 24 // bytes to look for a space when cutting a fragment
)

// hasVectors are the fields indexed with term vectors (see newMapping).
var hasVectors = map[string]bool{fSubject: true, fSubjectFold: true, fBody: true, fBodyFold: true}

type span struct{ start, end int }

func highlights(dm *bsearch.DocumentMatch) map[string][]string {
	out := map[string][]string{}
	for _, f := range []struct {
		stored string
		fields []string
		n      int
		full   int
	}{
		{fSubject, []string{fSubject, fSubjectFold}, 1, subjectInFull},
		{fBody, []string{fBody, fBodyFold}, maxFragments, 0},
	} {
		text, _ := dm.Fields[f.stored].(string)
		if text == "" {
			continue
		}
		spans := spansOf(dm.Locations, f.fields, text)
		if len(spans) == 0 {
			continue
		}
		var frags []string
		if len(text) <= f.full {
			frags = []string{render(text, 0, len(text), spans)}
		} else {
			frags = fragments(text, spans, f.n)
		}
		if len(frags) > 0 {
			out[f.stored] = frags
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// spansOf collects the valid match spans of fields, sorted and merged.
func spansOf(locs bsearch.FieldTermLocationMap, fields []string, text string) []span {
	var spans []span
	for _, f := range fields {
		for _, ls := range locs[f] {
			for _, l := range ls {
				s, e := int(l.Start), int(l.End)
				if s < 0 || e > len(text) || s >= e || !utf8.RuneStart(text[s]) || (e < len(text) && !utf8.RuneStart(text[e])) {
					continue // an offset that does not fit this text is dropped, never rendered
				}
				spans = append(spans, span{s, e})
			}
		}
	}
	sort.Slice(spans, func(i, j int) bool {
		if spans[i].start != spans[j].start {
			return spans[i].start < spans[j].start
		}
		return spans[i].end > spans[j].end
	})
	merged := spans[:0]
	for _, s := range spans {
		if n := len(merged); n > 0 && s.start <= merged[n-1].end {
			if s.end > merged[n-1].end {
				merged[n-1].end = s.end
			}
			continue
		}
		merged = append(merged, s)
	}
	if len(merged) > maxSpans {
		merged = merged[:maxSpans]
	}
	return merged
}

// fragments picks up to n windows holding the most matches, greedily, and
// returns them in text order.
func fragments(text string, spans []span, n int) []string {
	type window struct{ start, end int }
	var chosen []window
	used := make([]bool, len(spans))
	for len(chosen) < n {
		best, bestCount := -1, 0
		j := 0
		for i := range spans {
			if used[i] {
				continue
			}
			if j < i {
				j = i
			}
			limit := spans[i].start + fragmentBytes
			for j < len(spans) && spans[j].end <= limit && !used[j] {
				j++
			}
			if c := j - i; c > bestCount {
				best, bestCount = i, c
			}
		}
		if best < 0 {
			break
		}
		// Center a little before the first match so it reads in context.
		start := spans[best].start - fragmentBytes/6
		end := start + fragmentBytes
		for k := best; k < len(spans) && spans[k].end <= spans[best].start+fragmentBytes; k++ {
			used[k] = true
			if spans[k].end > end {
				end = spans[k].end
			}
		}
		start, end = cutStart(text, max(start, 0)), cutEnd(text, min(end, len(text)))
		if start > spans[best].start {
			start = spans[best].start
		}
		chosen = append(chosen, window{start, end})
	}
	sort.Slice(chosen, func(i, j int) bool { return chosen[i].start < chosen[j].start })
	out := make([]string, 0, len(chosen))
	for k, w := range chosen {
		if k > 0 && w.start < chosen[k-1].end {
			w.start = chosen[k-1].end // overlapping windows: do not repeat text
			if w.start >= w.end {
				continue
			}
		}
		out = append(out, render(text, w.start, w.end, spans))
	}
	return out
}

// cutStart moves i back to the start of a word, or at least to a rune start.
func cutStart(text string, i int) int {
	for k := i; k > 0 && k > i-boundarySearch; k-- {
		if text[k-1] == ' ' || text[k-1] == '\n' {
			return k
		}
	}
	for i > 0 && !utf8.RuneStart(text[i]) {
		i--
	}
	return i
}

// cutEnd moves i forward to the end of a word, or at least to a rune start.
func cutEnd(text string, i int) int {
	for k := i; k < len(text) && k < i+boundarySearch; k++ {
		if text[k] == ' ' || text[k] == '\n' {
			return k
		}
	}
	for i < len(text) && !utf8.RuneStart(text[i]) {
		i++
	}
	return i
}

// render escapes text[start:end] and marks the spans inside it.
func render(text string, start, end int, spans []span) string {
	var b strings.Builder
	if start > 0 {
		b.WriteString(ellipsis)
	}
	pos := start
	for _, s := range spans {
		if s.end <= start || s.start < pos {
			continue
		}
		if s.start >= end {
			break
		}
		e := min(s.end, end)
		b.WriteString(html.EscapeString(text[pos:s.start]))
		b.WriteString(markOpen)
		b.WriteString(html.EscapeString(text[s.start:e]))
		b.WriteString(markClose)
		pos = e
	}
	b.WriteString(html.EscapeString(text[pos:end]))
	if end < len(text) {
		b.WriteString(ellipsis)
	}
	return strings.Join(strings.Fields(b.String()), " ")
}
