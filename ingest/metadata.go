package ingest

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"vanthu/archive"
	"vanthu/ingest/vietnamese"
)

// Metadata is what ParseMetadata reads from a document's text. Every field
// is a guess from real-world text; the clerk's values win (see Fields).
type Metadata struct {
	Number         string                 `json:"number"`    // số, ký hiệu: no whitespace, NFC, case kept; "" for drafts
	Type           string                 `json:"type"`      // code from DocTypes: KH, QĐ, CV…
	TypeName       string                 `json:"type_name"` // Kế hoạch, Quyết định, Công văn…
	Issuer         string                 `json:"issuer"`    // cơ quan ban hành, as printed
	ParentIssuer   string                 `json:"parent_issuer"`
	Level          string                 `json:"level"` // central|provincial|district|commune|other
	Place          string                 `json:"place"`
	IssuedAt       string                 `json:"issued_at"` // YYYY-MM-DD
	Subject        string                 `json:"subject"`   // trích yếu
	Signer         Signer                 `json:"signer"`
	Classification archive.Classification `json:"classification"`
	Urgency        string                 `json:"urgency"` // none|khan|thuong_khan|hoa_toc
	Recipients     []string               `json:"recipients"`
	Citations      []Citation             `json:"citations"`
	TaskProposals  []TaskProposal         `json:"task_proposals"`
}

// Signer is the signature block: thẩm quyền ký, chức vụ, họ tên.
type Signer struct {
	Authority string `json:"authority"` // "KT. GIÁM ĐỐC", "TM. ỦY BAN NHÂN DÂN"; "" when signing in one's own name
	Position  string `json:"position"`  // "PHÓ GIÁM ĐỐC"
	Name      string `json:"name"`
}

func (s Signer) String() string {
	var parts []string
	for _, p := range []string{s.Authority, s.Position, s.Name} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " / ")
}

// Citation is a document this one refers to, and how.
type Citation struct {
	Number   string `json:"number,omitempty"`
	Type     string `json:"type,omitempty"`  // type name as written: Luật, Nghị định…
	Title    string `json:"title,omitempty"` // laws cited by name: "Luật Tổ chức chính quyền địa phương"
	IssuedAt string `json:"issued_at,omitempty"`
	Issuer   string `json:"issuer,omitempty"`
	Relation string `json:"relation"` // can_cu|thuc_hien|de_nghi|bai_bo|thay_the|sua_doi|kem_theo|tra_loi|other
}

// TaskProposal is a task a plan or directive assigns, for the officer to
// confirm as a Task.
type TaskProposal struct {
	Title        string   `json:"title"`
	LeadUnit     string   `json:"lead_unit,omitempty"`
	SupportUnits []string `json:"support_units,omitempty"`
	DueDate      string   `json:"due_date,omitempty"` // YYYY-MM-DD
	Period       string   `json:"period,omitempty"`   // "Quý III năm 2024", "năm 2026"
}

// Fields lists the JSON names of the non-empty fields, so the caller can
// record which values were extracted and let the clerk's own values win.
func (m Metadata) Fields() []string {
	var out []string
	add := func(name string, ok bool) {
		if ok {
			out = append(out, name)
		}
	}
	add("number", m.Number != "")
	add("type", m.Type != "")
	add("type_name", m.TypeName != "")
	add("issuer", m.Issuer != "")
	add("parent_issuer", m.ParentIssuer != "")
	add("level", m.Level != "" && m.Level != "other")
	add("place", m.Place != "")
	add("issued_at", m.IssuedAt != "")
	add("subject", m.Subject != "")
	add("signer", m.Signer != Signer{})
	add("classification", m.Classification != "" && m.Classification != archive.Unclassified)
	add("urgency", m.Urgency != "" && m.Urgency != "none")
	add("recipients", len(m.Recipients) > 0)
	add("citations", len(m.Citations) > 0)
	add("task_proposals", len(m.TaskProposals) > 0)
	return out
}

// headerLines is how far down the header (issuer, number, date, type,
// subject) is looked for: long enough for a gazette page header and a
// six-line joint issuer block, short enough that a number cited in the body
// is not taken for the document's own.
const headerLines = 45

// line is one line of text cut into the cells a layout-preserving extractor
// leaves side by side (the issuer column and the motto column).
type line struct {
	text  string
	cells []string
}

var cellSep = regexp.MustCompile(`\t+|\s{3,}`)

func splitLines(text string) []line {
	var out []line
	for _, l := range strings.Split(text, "\n") {
		t := strings.TrimSpace(l)
		var cells []string
		cs := []string{t}
		if strings.ContainsAny(t, "\t\r\f") || strings.Contains(t, "   ") {
			cs = cellSep.Split(t, -1) // only these can match it
		}
		for _, c := range cs {
			// OCR joins the two header columns with one space:
			// "UBND TỈNH LÀO CAI CỘNG HÒA XÃ HỘI …".
			if i := mottoIndex(c); i > 0 {
				cells = append(cells, strings.TrimSpace(c[:i]))
				c = c[i:]
			}
			if c = strings.TrimSpace(c); c != "" {
				cells = append(cells, c)
			}
		}
		out = append(out, line{text: t, cells: cells})
	}
	return out
}

// ParseMetadata reads the register fields out of a document's text. It
// never fails: what it cannot find stays empty.
func ParseMetadata(text string) Metadata {
	text = vietnamese.Normalize(strings.ReplaceAll(text, "\r\n", "\n"))
	text = strings.ReplaceAll(text, "\f", "\n")
	lines := splitLines(text)
	var m Metadata
	m.Classification, m.Urgency = archive.Unclassified, "none"

	hdr := headerZone(lines)
	numAt := -1
	var symbol string
	for i, l := range hdr {
		if isGazetteLine(l.text) {
			continue
		}
		found := false
		for _, c := range append([]string{l.text}, l.cells...) {
			if n, s, ok := findNumber(c, symbolTail(hdr, i)); ok {
				m.Number, symbol, numAt, found = n, s, i, true
				break
			}
		}
		if found {
			break
		}
	}
	if d, place, ok := findHeaderDate(hdr); ok {
		m.IssuedAt, m.Place = d, place
	}
	// The type: a code in the symbol (QĐ in 16/2026/QĐ-UBND) is the most
	// reliable, then the heading (THÔNG BÁO), then a symbol without a code
	// or a "V/v" line, which is what a công văn looks like.
	typ, subjAt, rest := findHeading(hdr)
	t, explicit := typeOfSymbol(symbol)
	switch {
	case explicit:
		typ = t
	case typ.Code != "":
	case symbol != "" && t.Code != "":
		typ = t
	case hasVv(hdr):
		typ = typeByCode["CV"]
	}
	// A văn bản hợp nhất is headed like the document it consolidates; its
	// own number, issuer and date are in the authentication block near the
	// end, and its header has none or only the consolidated law's.
	if n, s, d, iss := consolidationBlock(lines); n != "" {
		m.Number, symbol, typ = n, s, typeByCode["VBHN"]
		m.IssuedAt, m.Place = d, ""
		if iss != "" || numAt < 0 {
			m.Issuer = iss
		}
	}
	// Laws and resolutions of the National Assembly carry their date in
	// the closing "thông qua ngày …" sentence; a biên bản in its opening
	// "Hôm nay, ngày …".
	if m.IssuedAt == "" {
		m.IssuedAt = passedDate(text)
	}
	if m.IssuedAt == "" && typ.Code == "BB" {
		m.IssuedAt = todayDate(text)
	}
	m.Type, m.TypeName = typ.Code, typ.Name
	if m.Issuer == "" {
		m.Issuer, m.ParentIssuer = findIssuer(hdr, numAt)
	}
	m.Level = guessLevel(m.Issuer, m.ParentIssuer)
	m.Subject = findSubject(hdr, subjAt)
	if rest != "" {
		// Under a run-on heading the next line is often the authority
		// ("CHỦ TỊCH ỦY BAN NHÂN DÂN TỈNH"), not more subject.
		if isUpper(m.Subject) || m.Subject == "" {
			m.Subject = rest
		} else {
			m.Subject = rest + " " + m.Subject
		}
	}
	m.Classification, m.Urgency = findStamps(hdr)
	m.Signer = findSigner(lines)
	m.Recipients = findRecipients(lines)
	m.Citations = findCitations(text, m.Number)
	m.TaskProposals = findTasks(text, lines)
	return m
}

// symbolTail finds the rest of a symbol broken by the layout: the next
// line that is nothing but upper-case letters, digits and hyphens
// ("ВСТ-ВТC-VKSNDTC-TANDTC"). Reading-order extraction may put the date
// line between the two halves.
func symbolTail(ls []line, i int) string {
	for j := i + 1; j < len(ls) && j < i+15; j++ {
		if c := ls[j].cells0(); strings.Contains(c, "-") && isSymbolPart(c) {
			return c
		}
	}
	return ""
}

func nextText(ls []line, i int) string {
	for j := i + 1; j < len(ls); j++ {
		if ls[j].text != "" {
			return ls[j].text
		}
	}
	return ""
}

var bodyStart = regexp.MustCompile(`^(Căn cứ|Kính gửi|Điều 1[.:]|Chương I\b|Thực hiện|Hôm nay|Phần I)`)

// headerZone is the top of the document, up to the first body line.
func headerZone(lines []line) []line {
	n := 0
	for i, l := range lines {
		if l.text != "" {
			n++
		}
		if n > headerLines || (i > 0 && bodyStart.MatchString(l.text)) {
			return lines[:i]
		}
	}
	return lines
}

func isGazetteLine(s string) bool {
	return strings.HasPrefix(strings.ToUpper(s), "CÔNG BÁO")
}

// numberRe finds "Số:" and its symbol, with the spacing of real files:
// "Số: 4280 /SCT - CN", "Số:1629 /SCT-CN", Party "Số 2449 -CV/ĐU",
// legislative "Luật số: 51/2024/QH15", and drafts "Số:      /KH-UBND".
var numberRe = regexp.MustCompile(`^\s*(?:S[ốóôòo6]|SỐ|[Ss]ố hiệu|Luật số|Nghị quyết số|Pháp lệnh số)\s*:?\s*` +
	`(\d*[a-zA-Z]?(?:\.\d+)?)\s*([/-])\s*` +
	`((?:\d{4}\s*/\s*)?[\p{L}][\p{L}\d]*(?:\s*[-/]\s*[\p{L}][\p{L}\d]*|\s*[-/]\s*\d+[\p{L}][\p{L}\d]*)*(?:\s*-\s*$)?)`)

// findNumber returns the normalised number/symbol (empty number for a
// draft, but the symbol still gives the type) from one header line. A
// symbol broken over two lines ("…-BYT-" / "BTC-VKSNDTC") is joined.
func findNumber(s, next string) (number, symbol string, ok bool) {
	m := numberRe.FindStringSubmatch(s)
	if m == nil {
		return "", "", false
	}
	num, sep, sym := m[1], m[2], m[3]
	sym = strings.Join(strings.Fields(sym), "")
	if strings.HasSuffix(sym, "-") {
		if f := strings.Fields(next); len(f) > 0 && isSymbolPart(f[0]) {
			sym += f[0]
		}
		sym = strings.TrimRight(sym, "-")
	}
	symbol = sep + latinSymbol(sym)
	if num == "" || !strings.ContainsAny(num, "0123456789") {
		return "", symbol, true // draft: number left blank until registration
	}
	return num + symbol, symbol, true
}

// latinSymbol maps Cyrillic capitals that OCR puts in place of their Latin
// look-alikes ("ВСТ" for BCT): a symbol is written in Vietnamese letters only.
func latinSymbol(s string) string {
	return strings.Map(func(r rune) rune {
		if l, ok := cyrillicLookalike[r]; ok {
			return l
		}
		return r
	}, s)
}

var cyrillicLookalike = map[rune]rune{'А': 'A', 'В': 'B', 'С': 'C', 'Е': 'E', 'Н': 'H', 'К': 'K', 'М': 'M', 'О': 'O', 'Р': 'P', 'Т': 'T', 'Х': 'X', 'У': 'Y'}

func isSymbolPart(s string) bool {
	for _, r := range s {
		if !(unicode.IsUpper(r) || unicode.IsDigit(r) || r == '-' || r == 'Đ') {
			return false
		}
	}
	return s != ""
}

var dateRe = regexp.MustCompile(`ngay\s*(\d{1,2})\s*thang\s*(\d{1,2})\s*nam\s*(\d{4})`)

// findHeaderDate finds "Lào Cai, ngày 06 tháng 4 năm 2026". Matching runs
// on the folded, lower-cased line so that OCR without diacritics ("ngay",
// "thang") still counts; the fold keeps rune positions, so the place is cut
// from the original.
func findHeaderDate(hdr []line) (date, place string, ok bool) {
	for _, l := range hdr {
		if isGazetteLine(l.text) {
			continue
		}
		for _, c := range append(l.cells, l.text) {
			folded, runes := foldLine(c)
			loc := dateRe.FindStringSubmatchIndex(folded)
			if loc == nil {
				continue
			}
			d, ok := validDate(folded[loc[6]:loc[7]], folded[loc[4]:loc[5]], folded[loc[2]:loc[3]])
			if !ok {
				continue
			}
			before := strings.TrimSpace(string(runes[:len([]rune(folded[:loc[0]]))]))
			before = strings.TrimSpace(strings.TrimSuffix(before, ","))
			if i := strings.LastIndex(before, "  "); i >= 0 {
				before = strings.TrimSpace(before[i:])
			}
			raw := strings.TrimSpace(string(runes[:len([]rune(folded[:loc[0]]))]))
			if raw != "" && !strings.HasSuffix(raw, ",") {
				continue // a date cited inside a subject line
			}
			if len([]rune(before)) > 40 || strings.ContainsAny(before, "0123456789:") {
				before = ""
			}
			return d, before, true
		}
	}
	return "", "", false
}

// foldLine lower-cases and folds s rune by rune, keeping positions.
func foldLine(s string) (string, []rune) {
	runes := []rune(s)
	out := make([]rune, len(runes))
	for i, r := range runes {
		f := []rune(vietnamese.Fold(string(r)))
		if len(f) == 1 {
			r = f[0]
		}
		out[i] = unicode.ToLower(r)
	}
	return string(out), runes
}

// validDate checks the calendar (tháng 54 and 31/02 occur in real text).
func validDate(y, mo, d string) (string, bool) {
	yi, _ := strconv.Atoi(y)
	mi, _ := strconv.Atoi(mo)
	di, _ := strconv.Atoi(d)
	if yi < 1945 || yi > 2100 || mi < 1 || mi > 12 || di < 1 || di > 31 {
		return "", false
	}
	t := time.Date(yi, time.Month(mi), di, 0, 0, 0, 0, time.UTC)
	if t.Day() != di {
		return "", false
	}
	return t.Format("2006-01-02"), true
}

// findHeading finds the type heading ("KẾ HOẠCH", "NGHỊ ĐỊNH") standing
// alone in a cell, and returns the index of the line after it.
// A heading may run on into its subject ("GIẤY PHÉP SỬ DỤNG VẬT LIỆU
// NỔ", "BIÊN BẢN KIỂM TRA"); rest is that run-on, in sentence case.
func findHeading(hdr []line) (t DocType, next int, rest string) {
	for i, l := range hdr {
		for _, c := range l.cells {
			c = strings.Join(strings.Fields(strings.Trim(c, " .:")), " ")
			if !isUpper(c) {
				continue
			}
			if t, ok := typeByName[c]; ok {
				return t, i + 1, ""
			}
		}
	}
	// OCR gets a diacritic wrong ("PHIẾU CHUYÊN", "GIẦY PHÉP"): compare folded.
	for i, l := range hdr {
		for _, c := range l.cells {
			c = strings.Join(strings.Fields(strings.Trim(c, " .:")), " ")
			if t, ok := typeByFolded[vietnamese.Fold(c)]; ok && isUpper(c) {
				return t, i + 1, ""
			}
		}
	}
	for i, l := range hdr {
		for _, c := range l.cells {
			c = strings.Join(strings.Fields(strings.Trim(c, " .:")), " ")
			if !isUpper(c) || len(strings.Fields(c)) > 12 {
				continue
			}
			for _, dt := range DocTypes {
				name := vietnamese.Fold(strings.ToUpper(dt.Name))
				if fc := vietnamese.Fold(c); strings.HasPrefix(fc, name+" ") && dt.Code != "QĐi" {
					r := []rune(strings.ToLower(strings.TrimSpace(string([]rune(c)[len([]rune(name)):]))))
					r[0] = unicode.ToUpper(r[0])
					return dt, i + 1, string(r)
				}
			}
		}
	}
	return DocType{}, -1, ""
}

var todayRe = regexp.MustCompile(`Hôm nay,?\s*(?:hồi[^,]{0,20},\s*)?ngày\s*(\d{1,2})\s*tháng\s*(\d{1,2})\s*năm\s*(\d{4})`)

func todayDate(text string) string {
	m := todayRe.FindStringSubmatch(strings.Join(strings.Fields(text), " "))
	if m == nil {
		return ""
	}
	d, _ := validDate(m[3], m[2], m[1])
	return d
}

// isHeading: a type heading, possibly running on ("BIÊN BẢN THẨM ĐỊNH").
func isHeading(c string) bool {
	c = vietnamese.Fold(strings.Trim(c, " .:"))
	if _, ok := typeByFolded[c]; ok {
		return true
	}
	for f := range typeByFolded {
		if strings.HasPrefix(c, f+" ") && len(strings.Fields(c)) <= 8 && f != "CONG VAN" {
			return true
		}
	}
	return false
}

var passedRe = regexp.MustCompile(`thông qua ngày\s*(\d{1,2})\s*tháng\s*(\d{1,2})\s*năm\s*(\d{4})`)

func passedDate(text string) string {
	all := passedRe.FindAllStringSubmatch(strings.Join(strings.Fields(text), " "), -1)
	if len(all) == 0 {
		return ""
	}
	m := all[len(all)-1]
	d, _ := validDate(m[3], m[2], m[1])
	return d
}

// isDateLine: the "Hà Nội, ngày …" line, not a subject that cites a date.
func isDateLine(c string) bool {
	folded := mustFold(c)
	loc := dateRe.FindStringIndex(folded)
	if loc == nil || len([]rune(c)) > 80 {
		return false
	}
	before := strings.TrimSpace(folded[:loc[0]])
	return before == "" || strings.HasSuffix(before, ",")
}

func hasVv(hdr []line) bool {
	for _, l := range hdr {
		if vvRe.MatchString(l.text) {
			return true
		}
	}
	return false
}

var vvRe = regexp.MustCompile(`(?:^|\s)[Vv]/[vV]\s*[:.]?\s*`)

// findSubject reads the trích yếu: the lines under the type heading, or a
// công văn's "V/v …" lines, up to a blank line or the body.
func findSubject(hdr []line, from int) string {
	start, vv := from, false
	if start < 0 {
		for i, l := range hdr {
			if loc := vvRe.FindStringIndex(l.cells0()); loc != nil {
				start, vv = i, true
				break
			}
		}
	}
	if start < 0 {
		return ""
	}
	var parts []string
	for i := start; i < len(hdr); i++ {
		c := hdr[i].cells0()
		if i == start && vv {
			loc := vvRe.FindStringIndex(c)
			c = c[loc[1]:]
		}
		if c == "" {
			if len(parts) > 0 {
				break
			}
			continue
		}
		if isMotto(c) || isSeparator(c) || strings.HasPrefix(c, "Kính gửi") || isDateLine(c) || bodyStart.MatchString(c) {
			if len(parts) > 0 {
				break
			}
			continue
		}
		// Under a heading, an upper-case authority line ("ỦY BAN THƯỜNG VỤ
		// QUỐC HỘI", "BỘ TRƯỞNG BỘ CÔNG THƯƠNG") ends the subject.
		if len(parts) > 0 && !vv && isUpper(c) && !isUpper(parts[0]) {
			break
		}
		parts = append(parts, c)
		if len(parts) == 6 {
			break
		}
	}
	return strings.TrimSpace(strings.Join(parts, " "))
}

// cells0 is the first (left) cell, where the subject sits in layout text.
func (l line) cells0() string {
	if len(l.cells) == 0 {
		return ""
	}
	return l.cells[0]
}

func mustFold(s string) string { f, _ := foldLine(s); return f }

var mottoRe = regexp.MustCompile(`\s(CỘNG HÒA XÃ|CỘNG HOÀ XÃ|CONG HOA XA|CONG HÒA XÃ|Độc lập - Tự do|ĐẢNG CỘNG SẢN)`)

func mottoIndex(s string) int {
	// Every alternative of mottoRe has one of these.
	if !strings.Contains(s, "CỘNG") && !strings.Contains(s, "CONG") && !strings.Contains(s, "Độc lập") {
		return -1
	}
	loc := mottoRe.FindStringIndex(s)
	if loc == nil {
		return -1
	}
	return loc[0]
}

func isMotto(s string) bool {
	u := strings.ToUpper(vietnamese.Fold(s))
	return strings.Contains(u, "CONG HOA XA HOI") || strings.Contains(u, "CONG HOA") && strings.Contains(u, "VIET NAM") ||
		strings.HasPrefix(u, "DOC LAP") || strings.Contains(u, "TU DO - HANH PHUC") ||
		strings.Contains(u, "DANG CONG SAN VIET NAM")
}

func isSeparator(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

// isUpper: at least two letters and no lower-case ones (abbreviations such
// as "UBND TỈNH" count).
func isUpper(s string) bool {
	n := 0
	for _, r := range s {
		if unicode.IsLower(r) {
			return false
		}
		if unicode.IsLetter(r) {
			n++
		}
	}
	return n >= 2
}

// issuerHeads start a new body inside one line of a joint header
// ("BỘ CÔNG AN BỘ QUỐC PHÒNG").
var issuerHead = regexp.MustCompile(` (BỘ|VIỆN|TÒA ÁN|TOÀ ÁN|UBND|SỞ|CỤC) `)

// continues reports whether header line cur continues the body started
// on prev ("ỦY BAN NHÂN DÂN" / "TỈNH LÀO CAI"; "CỤC ĐỔI MỚI SÁNG TẠO," /
// "CHUYỂN ĐỔI XANH VÀ" / "KHUYẾN CÔNG").
func continues(prev, cur string) bool {
	if strings.HasSuffix(prev, ",") || strings.HasSuffix(prev, " VÀ") || cur == "VIỆT NAM" {
		return true
	}
	for _, p := range []string{"TỈNH ", "THÀNH PHỐ ", "HUYỆN ", "QUẬN ", "THỊ XÃ ", "XÃ ", "PHƯỜNG ", "THỊ TRẤN ", "NHÂN DÂN ", "VÀ ", "CỦA "} {
		if strings.HasPrefix(cur+" ", p) && !strings.Contains(prev, "TỈNH") {
			return strings.HasSuffix(prev, "NHÂN DÂN") || strings.HasSuffix(prev, "KIỂM SÁT") || p == "NHÂN DÂN " || p == "VÀ " || p == "CỦA "
		}
	}
	return false
}

// findIssuer reads the issuer column: upper-case lines above the number
// (or in the header when there is no number), motto and separators left
// out. The last body is the issuer, the one above it its parent
// ("UBND TỈNH LÀO CAI" / "SỞ CÔNG THƯƠNG").
func findIssuer(hdr []line, numAt int) (issuer, parent string) {
	end := numAt
	if end < 0 {
		end = len(hdr)
	}
	var bodies []string
	prevLine := -2
	for i := 0; i < end; i++ {
		l := hdr[i]
		if isGazetteLine(l.text) || len(l.cells) == 0 {
			continue
		}
		c := strings.Join(strings.Fields(strings.Trim(l.cells[0], "-_–—")), " ")
		if isMotto(c) || isSeparator(c) || !isUpper(c) {
			continue
		}
		if isHeading(c) {
			break // the heading: the issuer column is above it
		}
		if c == "VĂN BẢN QUY PHẠM PHÁP LUẬT" || c == "VĂN BẢN HỢP NHẤT" || strings.HasPrefix(c, "SỐ:") {
			continue
		}
		if len([]rune(c)) < 3 {
			continue
		}
		for _, part := range splitJoint(c) {
			part = strings.TrimSpace(strings.TrimRight(part, " -–"))
			n := len(bodies)
			switch {
			case n > 0 && bodies[n-1] == part:
			case n > 0 && (prevLine >= i-2 || strings.HasSuffix(bodies[n-1], "NHÂN DÂN")) && continues(bodies[n-1], part):
				bodies[n-1] += " " + part
			default:
				bodies = append(bodies, part)
			}
		}
		prevLine = i
	}
	// Gazette texts print the issuer twice, once wrapped differently.
	var uniq []string
	for _, b := range bodies {
		if len(uniq) == 0 || uniq[len(uniq)-1] != b {
			uniq = append(uniq, b)
		}
	}
	bodies = uniq
	switch len(bodies) {
	case 0:
		return "", ""
	case 1:
		return bodies[0], ""
	}
	// A joint document prints several issuers side by side; the first is
	// the lead. A hierarchy prints the parent first.
	if jointHead(bodies[0]) && jointHead(bodies[1]) {
		return bodies[0], ""
	}
	return bodies[len(bodies)-1], bodies[len(bodies)-2]
}

func jointHead(s string) bool {
	for _, p := range []string{"BỘ ", "VIỆN ", "TÒA ÁN", "TOÀ ÁN"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func splitJoint(s string) []string {
	var out []string
	for {
		loc := issuerHead.FindStringIndex(s)
		if loc == nil || loc[0] < 4 {
			break
		}
		before := strings.TrimSpace(s[:loc[0]])
		// "ỦY BAN NHÂN DÂN TỈNH" is one body; split only after a complete one.
		if strings.HasSuffix(before, "THƯỜNG VỤ") || before == "VĂN PHÒNG" || strings.HasSuffix(before, "NHÂN DÂN") {
			break
		}
		out = append(out, before)
		s = strings.TrimSpace(s[loc[0]:])
	}
	return append(out, s)
}

// guessLevel places the issuer in the administrative hierarchy.
func isASCIIUpper(c byte) bool { return 'A' <= c && c <= 'Z' }

func guessLevel(issuer, parent string) string {
	if issuer == "" {
		return ""
	}
	all := strings.ToUpper(vietnamese.Fold(issuer + " | " + parent))
	is := strings.ToUpper(vietnamese.Fold(issuer))
	// has reports w as a whole word of s (s and w upper-case, folded).
	has := func(s, w string) bool {
		for i := 0; ; {
			j := strings.Index(s[i:], w)
			if j < 0 {
				return false
			}
			start, end := i+j, i+j+len(w)
			if (start == 0 || !isASCIIUpper(s[start-1])) && (end == len(s) || !isASCIIUpper(s[end])) {
				return true
			}
			i = start + 1
		}
	}
	switch {
	case has(is, "XA") && !has(is, "XA HOI") || has(is, "PHUONG") || has(is, "THI TRAN"):
		return "commune"
	case has(is, "HUYEN") || has(is, "QUAN") || has(is, "THI XA"):
		return "district"
	case has(all, "TINH") || has(all, "THANH PHO") || strings.HasPrefix(is, "SO ") || has(all, "UBND") || has(all, "HDND"):
		return "provincial"
	case strings.HasPrefix(is, "BO ") || has(is, "CHINH PHU") || has(is, "THU TUONG") || has(is, "QUOC HOI") ||
		strings.HasPrefix(is, "CUC ") || strings.HasPrefix(is, "TONG CUC") || has(is, "NGAN HANG NHA NUOC") ||
		has(is, "TOI CAO") || has(is, "TRUNG UONG") || has(all, "BO ") || has(is, "KIEM TOAN NHA NUOC"):
		return "central"
	}
	return "other"
}

// Stamps are standalone upper-case cells of the header. Go's \b is
// ASCII-only, so the boundaries are explicit letter classes; and a stamp
// is a whole cell, so "BAN BẢO VỆ BÍ MẬT" and "bí mật nhà nước" in the
// body are not stamps.
var (
	secrecyRe = regexp.MustCompile(`^[^\p{L}]*(TUYỆT MẬT|TỐI MẬT|MẬT)[^\p{L}]*$`)
	urgencyRe = regexp.MustCompile(`^[^\p{L}]*(THƯỢNG KHẨN|HỎA TỐC|HOẢ TỐC|KHẨN)[^\p{L}]*$`)
)

func findStamps(hdr []line) (archive.Classification, string) {
	cls, urg := archive.Unclassified, "none"
	for _, l := range hdr {
		for _, c := range l.cells {
			if m := secrecyRe.FindStringSubmatch(c); m != nil {
				switch m[1] {
				case "TUYỆT MẬT":
					cls = archive.TuyetMat
				case "TỐI MẬT":
					cls = archive.ToiMat
				default:
					if cls == archive.Unclassified {
						cls = archive.Mat
					}
				}
			}
			if m := urgencyRe.FindStringSubmatch(c); m != nil {
				switch m[1] {
				case "THƯỢNG KHẨN":
					urg = "thuong_khan"
				case "HỎA TỐC", "HOẢ TỐC":
					urg = "hoa_toc"
				default:
					if urg == "none" {
						urg = "khan"
					}
				}
			}
		}
	}
	return cls, urg
}

var (
	authorityRe = regexp.MustCompile(`^(TM|KT|TL|TUQ|Q|T/M|K/T|T/L)\s*[.:]?\s+(\p{Lu}.*)$`)
	positionRe  = regexp.MustCompile(`^(PHÓ |QUYỀN )?(CHỦ TỊCH|GIÁM ĐỐC|BỘ TRƯỞNG|THỦ TƯỚNG|CỤC TRƯỞNG|VỤ TRƯỞNG|CHÁNH VĂN PHÒNG|CHÁNH THANH TRA|TRƯỞNG BAN|TRƯỞNG PHÒNG|BÍ THƯ|TỔNG CỤC TRƯỞNG|THỐNG ĐỐC|TỔNG KIỂM TOÁN|VIỆN TRƯỞNG|CHÁNH ÁN|CHỦ NHIỆM|TRƯỞNG ĐOÀN|ĐẠI DIỆN|THỦ TRƯỞNG|TỔNG GIÁM ĐỐC|GIÁM ĐỐC SỞ)(?:[^\p{L}]|$)`)
	nameRe      = regexp.MustCompile(`^(\p{Lu}[\p{Ll}]*)(\s+\p{Lu}[\p{Ll}]*){1,4}$`)
)

// findSigner reads the last signature block: authority lines (TM./KT./…),
// the signer's position, then a name in title case.
func findSigner(lines []line) Signer {
	from := len(lines) - 80
	if from < 0 {
		from = 0
	}
	var best Signer
	for i := from; i < len(lines); i++ {
		var auth, pos []string
		j := i
		for ; j < len(lines) && j < i+4; j++ {
			c := rightCell(lines[j])
			if c == "" {
				continue
			}
			if m := authorityRe.FindStringSubmatch(c); m != nil && isUpper(m[2]) {
				auth = append(auth, normAuthority(m[1])+". "+strings.TrimSpace(m[2]))
				continue
			}
			if positionRe.MatchString(c) && isUpper(c) {
				pos = append(pos, c)
				continue
			}
			break
		}
		if len(auth) == 0 && len(pos) == 0 {
			continue
		}
		for k := j; k < len(lines) && k < j+8; k++ {
			c := rightCell(lines[k])
			if nameRe.MatchString(c) && !strings.HasPrefix(c, "Nơi") {
				s := Signer{Name: c}
				// KT. GIÁM ĐỐC / PHÓ GIÁM ĐỐC: the last upper-case line is the position.
				all := append(auth, pos...)
				s.Position = all[len(all)-1]
				if len(all) > 1 {
					s.Authority = strings.Join(all[:len(all)-1], " ")
				} else if len(auth) == 1 {
					s.Authority, s.Position = all[0], ""
				}
				best = s
				break
			}
		}
		i = j
	}
	return best
}

func normAuthority(a string) string {
	return strings.ReplaceAll(a, "/", "")
}

// rightCell is the last cell: the signature block sits on the right,
// beside "Nơi nhận" in layout text.
func rightCell(l line) string {
	if len(l.cells) == 0 {
		return ""
	}
	return l.cells[len(l.cells)-1]
}

// findRecipients reads "Kính gửi:" and the "Nơi nhận:" list (without
// "Như trên" and the archive copy "Lưu: VT").
func findRecipients(lines []line) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		s = strings.TrimSpace(strings.TrimLeft(s, "-–+•* "))
		s = strings.TrimRight(s, ";.,: ")
		low := strings.ToLower(s)
		if s == "" || strings.HasPrefix(low, "như trên") || strings.HasPrefix(low, "lưu") || seen[s] || len([]rune(s)) > 150 {
			return
		}
		seen[s] = true
		out = append(out, s)
	}
	for i, l := range lines {
		c := l.cells0()
		if strings.HasPrefix(c, "Kính gửi") {
			rest := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(c, "Kính gửi"), ":"))
			if rest != "" && !strings.HasPrefix(rest, "-") {
				add(rest)
			}
			for j := i + 1; j < len(lines) && j < i+12; j++ {
				d := lines[j].cells0()
				if !strings.HasPrefix(d, "-") && !strings.HasPrefix(d, "+") {
					break
				}
				add(d)
			}
			if rest != "" && strings.HasPrefix(rest, "-") {
				add(rest)
			}
		}
		if strings.HasPrefix(c, "Nơi nhận") {
			rest := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(c, "Nơi nhận"), ":"))
			if rest != "" {
				add(rest)
			}
			for j := i + 1; j < len(lines) && j < i+25; j++ {
				d := lines[j].cells0()
				if d == "" {
					continue
				}
				if !strings.HasPrefix(d, "-") && !strings.HasPrefix(d, "+") {
					break
				}
				add(d)
			}
		}
	}
	return out
}

// Citations.

var (
	refTypeRe = regexp.MustCompile(`(Hiến pháp|Bộ luật|Luật|Pháp lệnh|Nghị định|Nghị quyết|Quyết định|Thông tư liên tịch|Thông tư|Chỉ thị|Công văn|Văn bản|Kế hoạch|Tờ trình|Báo cáo|Thông báo|Hướng dẫn|Chương trình|Công điện|Giấy phép|Giấy đề nghị|Kết luận)`)
	refNumRe  = regexp.MustCompile(`(\d{1,5}[a-zA-Z]?)\s*([/-])\s*((?:\d{4}\s*/\s*)?\p{Lu}[\p{L}\d]*(?:\s?-\s?[\p{L}\d]+)*(?:/[\p{Lu}][\p{L}\d]*)?)`)
	refDateRe = regexp.MustCompile(`^\s*,?\s*(?:ngày|Ngày)\s*(\d{1,2})\s*(?:/|-|\.|\s*tháng\s*)(\d{1,2})\s*(?:/|-|\.|\s*năm\s*)(\d{4})`)
	issuerRe  = regexp.MustCompile(`^\s*,?\s*của\s+([^;,()]{2,80}?)(?:\s+(?:về|quy định|hướng dẫn|ban hành|sửa đổi|phê duyệt|v/v|V/v)(?:[^\p{L}]|$)|[;,.(]|$)`)
	lawNameRe = regexp.MustCompile(`((?:Bộ luật|Luật|Pháp lệnh)\s+(?:\p{Lu}[\p{L}]*)(?:[\s,]+[\p{L}]+){0,12}?)\s*(?:ngày\s*(\d{1,2})\s*tháng\s*(\d{1,2})\s*năm\s*(\d{4})|số\s)`)
)

// relationOf reads the relation from the start of the clause holding a
// reference.
func relationOf(clause string) string {
	c := strings.ToLower(strings.TrimSpace(clause))
	switch {
	case strings.HasPrefix(c, "căn cứ"):
		return "can_cu"
	case strings.HasPrefix(c, "thực hiện"), strings.HasPrefix(c, "triển khai"):
		return "thuc_hien"
	case strings.Contains(c, "theo đề nghị"), strings.Contains(c, "xét đề nghị"), strings.Contains(c, "tờ trình số"):
		return "de_nghi"
	case strings.Contains(c, "bãi bỏ"):
		return "bai_bo"
	case strings.Contains(c, "thay thế"):
		return "thay_the"
	case strings.Contains(c, "sửa đổi, bổ sung") || strings.Contains(c, "sửa đổi bổ sung"):
		return "sua_doi"
	case strings.Contains(c, "trả lời") || strings.Contains(c, "phúc đáp"):
		return "tra_loi"
	case strings.Contains(c, "kèm theo") || strings.Contains(c, "gửi kèm"):
		return "kem_theo"
	}
	return "other"
}

// findCitations lists the documents cited by number (with the type word
// before "số", the date and issuer after) and laws cited by name and date.
func findCitations(text, own string) []Citation {
	var out []Citation
	seen := map[string]bool{}
	// Clauses end at ";" or a sentence end; "Căn cứ" lines end with ";".
	for _, clause := range splitClauses(text) {
		// Most clauses cite nothing. refNumRe needs a digit followed by
		// "/" or "-", lawNameRe one of its three words: clauses without
		// them are skipped before the regular expressions run.
		nums := strings.ContainsAny(clause, "/-") && strings.ContainsAny(clause, "0123456789")
		laws := strings.Contains(clause, "Luật") || strings.Contains(clause, "luật") || strings.Contains(clause, "Pháp lệnh")
		if !nums && !laws {
			continue
		}
		rel := relationOf(clause)
		var refs [][]int
		if nums {
			refs = refNumRe.FindAllStringSubmatchIndex(clause, -1)
		}
		for _, loc := range refs {
			before := clause[max(0, loc[0]-60):loc[0]]
			tm := refTypeRe.FindAllString(before, -1)
			if len(tm) == 0 {
				continue // a number/symbol with no document word before it: a code, not a citation
			}
			num := clause[loc[2]:loc[3]] + clause[loc[4]:loc[5]] + strings.Join(strings.Fields(clause[loc[6]:loc[7]]), "")
			num = strings.TrimRight(num, "-")
			if num == own {
				continue
			}
			c := Citation{Number: num, Type: tm[len(tm)-1], Relation: rel}
			after := clause[loc[1]:]
			if d := refDateRe.FindStringSubmatchIndex(after); d != nil {
				if iso, ok := validDate(after[d[6]:d[7]], after[d[4]:d[5]], after[d[2]:d[3]]); ok {
					c.IssuedAt = iso
				}
				after = after[d[1]:]
			}
			if m := issuerRe.FindStringSubmatch(after); m != nil {
				c.Issuer = strings.TrimSpace(m[1])
			}
			key := c.Number + "|" + c.Relation
			if !seen[key] {
				seen[key] = true
				out = append(out, c)
			}
		}
		if !laws {
			continue
		}
		for _, m := range lawNameRe.FindAllStringSubmatch(clause, -1) {
			title := strings.TrimSpace(strings.TrimRight(m[1], " ,"))
			c := Citation{Type: strings.Fields(title)[0], Title: title, Relation: rel}
			if c.Type == "Bộ" {
				c.Type = "Bộ luật"
			}
			if m[2] != "" {
				c.IssuedAt, _ = validDate(m[4], m[3], m[2])
			}
			key := title + "|" + rel
			if !seen[key] {
				seen[key] = true
				out = append(out, c)
			}
		}
	}
	return out
}

// splitClauses joins wrapped lines and cuts at ";" and line-final ".".
func splitClauses(text string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			flush()
			continue
		}
		if bodyStart.MatchString(l) || strings.HasPrefix(l, "Theo đề nghị") {
			flush()
		}
		for {
			i := strings.IndexByte(l, ';')
			if i < 0 {
				break
			}
			cur.WriteString(l[:i])
			flush()
			l = strings.TrimSpace(l[i+1:])
		}
		cur.WriteString(l)
		cur.WriteByte(' ')
		if strings.HasSuffix(l, ".") || strings.HasSuffix(l, ":") {
			flush()
		}
	}
	flush()
	return out
}

// Tasks.

var (
	giaoRe     = regexp.MustCompile(`Giao\s+(.{2,120}?)\s+(?:chủ trì|làm đầu mối|là cơ quan đầu mối)(?:,?\s*phối hợp(?: với)?\s+(.{2,200}?))?(?:\s+(?:tổ chức|triển khai|thực hiện|tham mưu|xây dựng|nghiên cứu|rà soát|hướng dẫn|kiểm tra|theo dõi|báo cáo|đề xuất)(?:[^\p{L}]|$)|[,:;.]|$)`)
	dueRe      = regexp.MustCompile(`(?:trước|chậm nhất|không quá|hạn chót|trong)\s+ngày\s*(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4})|(?:trước|chậm nhất)\s+ngày\s*(\d{1,2})\s*tháng\s*(\d{1,2})\s*năm\s*(\d{4})`)
	periodRe   = regexp.MustCompile(`(Quý\s+(?:I{1,3}|IV|[1-4])\s+năm\s+\d{4}|(?:6|06|9|09)\s+tháng\s+(?:đầu|cuối)\s+năm\s+\d{4}|[Tt]háng\s+\d{1,2}\s*(?:năm|/)\s*\d{4})`)
	itemRe     = regexp.MustCompile(`^(?:\d{1,2}|[a-zđ])[.)]\s+(\p{Lu}.{5,})$`)
	inlineList = regexp.MustCompile(`(?i)(?:nhiệm vụ|nội dung)[^:;]{0,80}:\s*(.+)$`)
	taskHeadRe = regexp.MustCompile(`^(?:[IVX]+|\d+)[.)]\s`)
	leadRe     = regexp.MustCompile(`(?:Cơ quan|Đơn vị)\s+chủ trì\s*:\s*([^;.\n]+)`)
)

// findTasks proposes tasks from "Giao … chủ trì" sentences, from items
// under a "nhiệm vụ" heading and from inline lists of three or more tasks
// separated by ";" (the 13 tasks of 1623/KH-UBND fit in one sentence).
func findTasks(text string, lines []line) []TaskProposal {
	var out []TaskProposal
	seen := map[string]bool{}
	add := func(t TaskProposal) {
		t.Title = strings.TrimSpace(strings.TrimRight(t.Title, " ;.,"))
		if len([]rune(t.Title)) < 4 || seen[t.Title] {
			return
		}
		seen[t.Title] = true
		out = append(out, t)
	}
	for _, clause := range splitSentences(text) {
		// giaoRe needs "Giao", inlineList a colon: most sentences have
		// neither and skip the regular expressions.
		if !strings.Contains(clause, "Giao") && !strings.Contains(clause, ":") {
			continue
		}
		if m := giaoRe.FindStringSubmatchIndex(clause); m != nil {
			t := TaskProposal{LeadUnit: strings.TrimSpace(clause[m[2]:m[3]])}
			if m[4] >= 0 {
				t.SupportUnits = splitUnits(clause[m[4]:m[5]])
			}
			t.Title = strings.TrimSpace(clause[m[1]:])
			if t.Title == "" || len([]rune(t.Title)) < 10 {
				t.Title = clause
			}
			t.DueDate, t.Period = dueOf(clause)
			add(t)
			continue
		}
		if m := inlineList.FindStringSubmatch(clause); m != nil && strings.Count(m[1], ";") >= 2 {
			for _, item := range strings.Split(m[1], ";") {
				item = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(item), "và "))
				t := TaskProposal{Title: item}
				t.DueDate, t.Period = dueOf(item)
				add(t)
			}
		}
	}
	// Numbered items under a "NHIỆM VỤ" heading.
	in := false
	for _, l := range lines {
		c := l.text
		up := strings.ToUpper(c)
		if strings.Contains(up, "NHIỆM VỤ") && (isUpper(c) || taskHeadRe.MatchString(c)) && len([]rune(c)) < 120 {
			in = true
			continue
		}
		if in && (isUpper(c) && len([]rune(c)) > 3 && !strings.Contains(up, "NHIỆM VỤ") || strings.HasPrefix(c, "Nơi nhận")) {
			in = false
		}
		if !in {
			continue
		}
		if m := itemRe.FindStringSubmatch(c); m != nil {
			t := TaskProposal{Title: m[1]}
			if lm := leadRe.FindStringSubmatch(c); lm != nil {
				t.LeadUnit = strings.TrimSpace(lm[1])
			}
			t.DueDate, t.Period = dueOf(c)
			add(t)
		}
	}
	out = append(out, tableTasks(lines, seen)...)
	return out
}

// tableTasks reads task tables (DOCX rows are tab-separated cells): a
// header row naming the task and lead-unit columns, then one task per row.
func tableTasks(lines []line, seen map[string]bool) []TaskProposal {
	var out []TaskProposal
	task, lead, due := -1, -1, -1
	for _, l := range lines {
		cells := strings.Split(l.text, "\t")
		if len(cells) < 3 {
			task = -1
			continue
		}
		if task < 0 {
			for i, c := range cells {
				lc := strings.ToLower(c)
				switch {
				case strings.Contains(lc, "nhiệm vụ") || strings.Contains(lc, "nội dung"):
					task = i
				case strings.Contains(lc, "chủ trì"):
					lead = i
				case strings.Contains(lc, "thời hạn") || strings.Contains(lc, "thời gian"):
					due = i
				}
			}
			if lead < 0 {
				task = -1
			}
			continue
		}
		get := func(i int) string {
			if i >= 0 && i < len(cells) {
				return strings.TrimSpace(cells[i])
			}
			return ""
		}
		t := TaskProposal{Title: get(task), LeadUnit: get(lead)}
		t.DueDate, t.Period = dueOf(get(due))
		if t.DueDate == "" && t.Period == "" {
			t.Period = get(due)
		}
		if t.Title != "" && !seen[t.Title] {
			seen[t.Title] = true
			out = append(out, t)
		}
	}
	return out
}

var sentenceEnd = regexp.MustCompile(`\.\s+(\p{Lu}|\d+\.)`)

func splitSentences(text string) []string {
	text = strings.Join(strings.Fields(text), " ")
	var out []string
	// Mark the boundaries first: splitting on the regexp would eat the
	// capital letter that starts the next sentence.
	text = sentenceEnd.ReplaceAllString(text, ".\x00$1")
	for _, s := range strings.Split(text, "\x00") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

var andRe = regexp.MustCompile(`\s+và\s+`)

func splitUnits(s string) []string {
	s = strings.TrimSpace(s)
	s = andRe.ReplaceAllString(s, ", ")
	var out []string
	for _, u := range strings.Split(s, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

func dueOf(s string) (due, period string) {
	if m := dueRe.FindStringSubmatch(s); m != nil {
		if m[1] != "" {
			due, _ = validDate(m[3], m[2], m[1])
		} else {
			due, _ = validDate(m[6], m[5], m[4])
		}
	}
	if m := periodRe.FindString(s); m != "" {
		period = m
	}
	return due, period
}

// consolidationBlock reads the authentication block of a văn bản hợp nhất:
// "Số: 40/VBHN-BCT" then "XÁC THỰC VĂN BẢN HỢP NHẤT", the date and issuer
// near it, at the end of the text.
func consolidationBlock(lines []line) (number, symbol, date, issuer string) {
	for i := len(lines) - 1; i >= 0; i-- {
		if !strings.Contains(strings.ToUpper(lines[i].text), "XÁC THỰC VĂN BẢN HỢP NHẤT") {
			continue
		}
		lo, hi := max(0, i-8), min(len(lines), i+8)
		for j := lo; j < hi; j++ {
			if n, s, ok := findNumber(lines[j].text, nextText(lines, j)); ok && strings.Contains(s, "VBHN") {
				number, symbol = n, s
				break
			}
		}
		if d, _, ok := findHeaderDate(lines[lo:hi]); ok {
			date = d
		}
		issuer, _ = findIssuer(lines[max(0, i-4):i], -1)
		return number, symbol, date, issuer
	}
	return "", "", "", ""
}

var _ = fmt.Sprintf
