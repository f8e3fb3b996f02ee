package pdfsign

import (
	"regexp"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// Blanks left for the văn thư in the header of a registered document. A
// blank is white space, dots or underscores; ledongthuc/pdf sometimes breaks
// a header into many short lines, so a blank may span line breaks (bounded,
// so that unrelated text far apart never matches).
const blank = `[\s\x{00a0}._…]{0,80}?`

var (
	// "Số:          /SNNMT-KHTC" → the number goes before the slash.
	numberBlank = regexp.MustCompile(`(?i)(số\s*:)(` + blank + `)(\s*/)`)
	// "ngày      tháng 7 năm 2026", "ngày     tháng     năm 2023".
	dateBlank = regexp.MustCompile(`(?i)(ngày)(` + blank + `|\s*\d{1,2}\s*)(tháng)(` + blank + `|\s*\d{1,2}\s*)(năm)`)

	stampNumber = regexp.MustCompile(`^[0-9]{1,7}[A-Za-z]?$`)
)

// pageMiddle splits a header into its left column (agency, number) and its
// right column (place and date), in points. Half an A4 page: used only when
// there are fewer stamps than blanks and the stamps' side decides what they
// are.
const pageMiddle = 297.0

// MergeStamps fills, in text extracted without the signature widgets, the
// header blanks that the văn thư's registration stamps cover:
//
//   - the first "Số:" followed only by blanks and then "/SYMBOL" receives
//     the number ("Số: 6791/SNNMT-KHTC");
//   - the first "ngày … tháng … năm" whose day and/or month is blank
//     receives the day and month ("ngày 17 tháng 7 năm").
//
// Only stamps whose whole text is a number (optionally with one letter,
// "12a") are candidates; description stamps are left to the caller.
// Candidates are taken left to right, as the header is laid out: the number
// sits in the left column, day and month in the right one. A day must be
// 1–31 and a month 1–12 to be used. When there are fewer candidates than
// blanks, a candidate left of the page middle can only be the number and
// one right of it only a day or month. stamps should be those of the page
// the text comes from. Text without such blanks comes back unchanged but
// for NFC normalisation, which the matching needs.
func MergeStamps(pageText string, stamps []Stamp) string {
	text := norm.NFC.String(pageText)
	var cands []Stamp
	for _, s := range stamps {
		if stampNumber.MatchString(strings.TrimSpace(s.Text)) {
			cands = append(cands, s)
		}
	}
	if len(cands) == 0 {
		return text
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].X < cands[j].X })

	numLoc := numberBlank.FindStringSubmatchIndex(text)
	var dateLoc []int
	for _, loc := range dateBlank.FindAllStringSubmatchIndex(text, -1) {
		// The first date with a blank: a filled-in date cited earlier in
		// the text ("ngày 24 tháng 8 năm 2022") is not the header's.
		if isBlank(text[loc[4]:loc[5]]) || isBlank(text[loc[8]:loc[9]]) {
			dateLoc = loc
			break
		}
	}
	needNum := numLoc != nil
	needDay := dateLoc != nil && isBlank(text[dateLoc[4]:dateLoc[5]])
	needMonth := dateLoc != nil && isBlank(text[dateLoc[8]:dateLoc[9]])
	needs := 0
	for _, b := range []bool{needNum, needDay, needMonth} {
		if b {
			needs++
		}
	}
	short := len(cands) < needs

	used := make([]bool, len(cands))
	take := func(ok func(Stamp) bool) string {
		for i, c := range cands {
			if !used[i] && ok(c) {
				used[i] = true
				return strings.TrimSpace(c.Text)
			}
		}
		return ""
	}
	inRange := func(lo, hi int) func(Stamp) bool {
		return func(c Stamp) bool {
			v, err := strconv.Atoi(strings.TrimSpace(c.Text))
			return err == nil && v >= lo && v <= hi && (!short || c.X >= pageMiddle)
		}
	}
	var number, day, month string
	if needNum {
		number = take(func(c Stamp) bool { return !short || c.X < pageMiddle })
	}
	if needDay {
		day = take(inRange(1, 31))
	}
	if needMonth {
		month = take(inRange(1, 12))
	}

	// Replace from the end of the text backwards so earlier offsets hold.
	type edit struct {
		from, to int
		with     string
	}
	var edits []edit
	if number != "" {
		edits = append(edits, edit{numLoc[2], numLoc[7], text[numLoc[2]:numLoc[3]] + " " + number + "/"})
	}
	if day != "" {
		edits = append(edits, edit{dateLoc[4], dateLoc[5], " " + day + " "})
	}
	if month != "" {
		edits = append(edits, edit{dateLoc[8], dateLoc[9], " " + month + " "})
	}
	sort.Slice(edits, func(i, j int) bool { return edits[i].from > edits[j].from })
	for _, e := range edits {
		text = text[:e.from] + e.with + text[e.to:]
	}
	return text
}

func isBlank(s string) bool {
	return strings.TrimFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\u00a0' || r == '.' || r == '_' || r == '…'
	}) == ""
}
