package pdfsign

import (
	"fmt"
	"io"
	"math"
	"strings"
	"unicode"

	"github.com/ledongthuc/pdf"
	"golang.org/x/text/unicode/norm"
)

// Stamp is the text drawn in one signature widget's appearance. The văn
// thư's registration signatures draw the number and the day (and sometimes
// the month) of the document into the blanks of the header ("Số:     /SCT-CN",
// "ngày    tháng 7 năm 2026"); the text exists nowhere else in the file.
// Signatures of organisations often draw a description instead ("Người ký:
// …, Cơ quan: …, Thời gian ký: …"), parsed into Note.
type Stamp struct {
	Page   int         `json:"page"` // 1-based
	X      float64     `json:"x"`    // lower-left corner of the widget /Rect, page coordinates (points)
	Y      float64     `json:"y"`
	Width  float64     `json:"width"`
	Height float64     `json:"height"`
	Field  string      `json:"field,omitempty"` // signature field name, as in Signature.Field
	Text   string      `json:"text"`            // lines separated by "\n", NFC
	Note   *SignerNote `json:"note,omitempty"`
}

// Limits that keep a hostile file from making WidgetTexts run for ever or
// allocate without bound. Real stamps are a few hundred bytes.
const (
	maxStreamBytes = 8 << 20
	maxFormDepth   = 12
	maxTokens      = 2_000_000
	maxPageNodes   = 100_000
	maxAnnots      = 10_000
)

// WidgetTexts returns the text of every signature widget's normal
// appearance, page by page in annotation order. It reads through
// github.com/ledongthuc/pdf (cross-reference streams, object streams and
// filters are its business) but interprets the appearance content streams
// itself, with the fonts' encodings and ToUnicode maps. It never panics: a
// malformed file yields an error, a malformed widget is skipped.
func WidgetTexts(r io.ReaderAt, size int64) (stamps []Stamp, err error) {
	defer func() {
		if p := recover(); p != nil {
			stamps, err = nil, fmt.Errorf("pdfsign: malformed PDF: %v", p)
		}
	}()
	pr, err := pdf.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("pdfsign: %w", err)
	}
	pages := collectPages(pr.Trailer().Key("Root").Key("Pages"))
	for i, page := range pages {
		annots := page.Key("Annots")
		for j := 0; j < annots.Len() && j < maxAnnots; j++ {
			if st, ok := widgetStamp(annots.Index(j)); ok {
				st.Page = i + 1
				stamps = append(stamps, st)
			}
		}
	}
	return stamps, nil
}

// widgetStamp reads one annotation; ok is false when it is not a signature
// widget with text, or when it is malformed.
func widgetStamp(a pdf.Value) (st Stamp, ok bool) {
	defer func() {
		if p := recover(); p != nil {
			ok = false
		}
	}()
	if a.Key("Subtype").Name() != "Widget" || inherited(a, "FT").Name() != "Sig" {
		return Stamp{}, false
	}
	ap := a.Key("AP").Key("N")
	if ap.Kind() == pdf.Dict { // appearance states: pick the current one
		ap = ap.Key(a.Key("AS").Name())
	}
	if ap.Kind() != pdf.Stream {
		return Stamp{}, false
	}
	in := &interp{budget: maxTokens}
	in.form(ap, ap.Key("Resources"), 0)
	text := cleanText(in.out.String())
	if text == "" {
		return Stamp{}, false
	}
	st = Stamp{Field: fieldName(a), Text: text}
	if rect := a.Key("Rect"); rect.Len() == 4 {
		x1, y1, x2, y2 := rect.Index(0).Float64(), rect.Index(1).Float64(), rect.Index(2).Float64(), rect.Index(3).Float64()
		st.X, st.Y = math.Min(x1, x2), math.Min(y1, y2)
		st.Width, st.Height = math.Abs(x2-x1), math.Abs(y2-y1)
	}
	if n, ok := ParseSignerNote(text); ok {
		st.Note = &n
	}
	return st, true
}

// inherited looks key up on a field and its ancestors (FT and V are
// inheritable field attributes).
func inherited(v pdf.Value, key string) pdf.Value {
	for depth := 0; depth < 32 && v.Kind() == pdf.Dict; depth++ {
		if x := v.Key(key); !x.IsNull() {
			return x
		}
		v = v.Key("Parent")
	}
	return pdf.Value{}
}

// fieldName is the fully qualified field name: partial names joined by ".".
func fieldName(v pdf.Value) string {
	var parts []string
	for depth := 0; depth < 32 && v.Kind() == pdf.Dict; depth++ {
		if t := v.Key("T"); t.Kind() == pdf.String {
			parts = append([]string{t.Text()}, parts...)
		}
		v = v.Key("Parent")
	}
	return strings.Join(parts, ".")
}

// collectPages walks the page tree in order. It does not use
// pdf.Reader.Page, which loops for ever on a page tree whose Kids point
// back up. Intermediate nodes are recognised by their printed form (their
// Kids and Parent references make it unique), leaves stop at the declared
// page count, and a node budget bounds the rest.
func collectPages(root pdf.Value) []pdf.Value {
	var out []pdf.Value
	budget := maxPageNodes
	limit := int(root.Key("Count").Int64())
	if limit <= 0 || limit > maxPageNodes {
		limit = maxPageNodes
	}
	seen := map[string]bool{}
	var walk func(n pdf.Value, depth int)
	walk = func(n pdf.Value, depth int) {
		if budget <= 0 || depth > 64 || len(out) >= limit || n.Kind() != pdf.Dict {
			return
		}
		budget--
		kids := n.Key("Kids")
		if n.Key("Type").Name() == "Page" || kids.Kind() != pdf.Array {
			out = append(out, n)
			return
		}
		if key := n.String(); seen[key] {
			return
		} else {
			seen[key] = true
		}
		for i := 0; i < kids.Len() && budget > 0; i++ {
			walk(kids.Index(i), depth+1)
		}
	}
	walk(root, 0)
	return out
}

// sigFieldNames maps each signature's ByteRange to its field name, from the
// AcroForm. Best effort: a file ledongthuc/pdf cannot read simply gets no
// names.
func sigFieldNames(r io.ReaderAt, size int64) (names map[[4]int64]string) {
	names = map[[4]int64]string{}
	defer func() {
		if recover() != nil {
			return // keep what was found
		}
	}()
	pr, err := pdf.NewReader(r, size)
	if err != nil {
		return names
	}
	budget := maxPageNodes
	var walk func(f pdf.Value, prefix string, depth int)
	walk = func(f pdf.Value, prefix string, depth int) {
		if budget <= 0 || depth > 32 || f.Kind() != pdf.Dict {
			return
		}
		budget--
		name := prefix
		if t := f.Key("T"); t.Kind() == pdf.String {
			if name != "" {
				name += "."
			}
			name += t.Text()
		}
		if brv := f.Key("V").Key("ByteRange"); brv.Len() == 4 {
			var br [4]int64
			for i := range br {
				br[i] = brv.Index(i).Int64()
			}
			if _, dup := names[br]; !dup {
				names[br] = name
			}
		}
		kids := f.Key("Kids")
		for i := 0; i < kids.Len() && budget > 0; i++ {
			walk(kids.Index(i), name, depth+1)
		}
	}
	fields := pr.Trailer().Key("Root").Key("AcroForm").Key("Fields")
	for i := 0; i < fields.Len() && budget > 0; i++ {
		walk(fields.Index(i), "", 0)
	}
	return names
}

// interp runs the text operators of appearance content streams. It tracks
// only what decides where lines break: the text matrix's vertical position.
// Glyph widths are not needed for that, so fonts are used only to decode.
type interp struct {
	out    strings.Builder
	budget int
	// active holds the forms being drawn (a stream prints as its header and
	// file offset, which identifies it): a form that draws itself, directly
	// or through others, is drawn once.
	active map[string]bool

	lastY   float64
	haveY   bool
	tm, tlm [6]float64
	leading float64
	enc     pdf.TextEncoding
}

var identity = [6]float64{1, 0, 0, 1, 0, 0}

// mul returns m × n for PDF's row-vector matrices [a b c d e f].
func mul(m, n [6]float64) [6]float64 {
	return [6]float64{
		m[0]*n[0] + m[1]*n[2], m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2], m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4], m[4]*n[1] + m[5]*n[3] + n[5],
	}
}

func (in *interp) form(strm pdf.Value, res pdf.Value, depth int) {
	if depth > maxFormDepth || in.budget <= 0 {
		return
	}
	key := strm.String()
	if in.active[key] {
		return
	}
	if in.active == nil {
		in.active = map[string]bool{}
	}
	in.active[key] = true
	defer delete(in.active, key)
	data, err := io.ReadAll(io.LimitReader(strm.Reader(), maxStreamBytes))
	if err != nil && len(data) == 0 {
		return
	}
	// A nested form has its own coordinate system: its first text starts a
	// new line rather than being compared with the parent's positions.
	in.haveY = false
	fonts := map[string]pdf.TextEncoding{}
	l := &lexer{b: data}
	var args []any
	for in.budget > 0 {
		in.budget--
		tok := l.next()
		if tok.kind == tokEOF {
			return
		}
		if tok.kind != tokKeyword {
			if len(args) < 64 {
				args = append(args, l.value(tok, 0))
			}
			continue
		}
		op := tok.s
		switch op {
		case "BI":
			skipInlineImage(l)
		case "BT":
			in.tm, in.tlm = identity, identity
		case "Tf":
			if len(args) >= 2 {
				if n, ok := args[len(args)-2].(pdfName); ok {
					in.enc = fontEncoding(fonts, res, string(n))
				}
			}
		case "Td", "TD":
			if x, y, ok := nums2(args); ok {
				if op == "TD" {
					in.leading = -y
				}
				in.tlm = mul([6]float64{1, 0, 0, 1, x, y}, in.tlm)
				in.tm = in.tlm
			}
		case "Tm":
			if len(args) >= 6 {
				var m [6]float64
				ok := true
				for i := range m {
					f, isNum := args[len(args)-6+i].(float64)
					ok = ok && isNum
					m[i] = f
				}
				if ok {
					in.tm, in.tlm = m, m
				}
			}
		case "TL":
			if len(args) >= 1 {
				if f, ok := args[len(args)-1].(float64); ok {
					in.leading = f
				}
			}
		case "T*":
			in.nextLine()
		case "Tj":
			if len(args) >= 1 {
				in.show(args[len(args)-1])
			}
		case "'", "\"":
			in.nextLine()
			if len(args) >= 1 {
				in.show(args[len(args)-1])
			}
		case "TJ":
			if len(args) >= 1 {
				if arr, ok := args[len(args)-1].(pdfArray); ok {
					for _, x := range arr {
						switch x := x.(type) {
						case pdfStr:
							in.show(x)
						case float64:
							// A kern wider than a quarter em is a word gap.
							if x < -250 {
								in.out.WriteByte(' ')
							}
						}
					}
				}
			}
		case "Do":
			if len(args) >= 1 {
				if n, ok := args[len(args)-1].(pdfName); ok {
					xo := res.Key("XObject").Key(string(n))
					if xo.Kind() == pdf.Stream && xo.Key("Subtype").Name() == "Form" {
						sub := xo.Key("Resources")
						if sub.IsNull() {
							sub = res // PDF 1.1 forms share the parent's resources
						}
						in.form(xo, sub, depth+1)
						in.haveY = false
					}
				}
			}
		}
		args = args[:0]
	}
}

func nums2(args []any) (float64, float64, bool) {
	if len(args) < 2 {
		return 0, 0, false
	}
	x, ok1 := args[len(args)-2].(float64)
	y, ok2 := args[len(args)-1].(float64)
	return x, y, ok1 && ok2
}

func (in *interp) nextLine() {
	in.tlm = mul([6]float64{1, 0, 0, 1, 0, -in.leading}, in.tlm)
	in.tm = in.tlm
}

func (in *interp) show(v any) {
	s, ok := v.(pdfStr)
	if !ok {
		return
	}
	y := in.tm[5]
	if in.haveY && math.Abs(y-in.lastY) > 1 {
		in.out.WriteByte('\n')
	} else if !in.haveY && in.out.Len() > 0 {
		in.out.WriteByte('\n')
	}
	in.lastY, in.haveY = y, true
	if in.enc == nil {
		in.out.WriteString(textString(s.s))
		return
	}
	in.out.WriteString(in.enc.Decode(s.s))
}

// fontEncoding returns the decoder of font name in res, cached per form.
// ledongthuc/pdf builds it from /Encoding or /ToUnicode; a font it cannot
// read decodes as PDFDocEncoding rather than stopping the stamp.
func fontEncoding(cache map[string]pdf.TextEncoding, res pdf.Value, name string) (enc pdf.TextEncoding) {
	if e, ok := cache[name]; ok {
		return e
	}
	defer func() {
		if recover() != nil {
			enc = nil
		}
		cache[name] = enc
	}()
	fv := res.Key("Font").Key(name)
	if fv.Kind() != pdf.Dict {
		return nil
	}
	f := pdf.Font{V: fv}
	return f.Encoder()
}

// skipInlineImage moves past "ID <binary data> EI": the data is not PDF
// syntax and would otherwise be read as operators.
func skipInlineImage(l *lexer) {
	for l.pos < len(l.b) {
		t := l.next()
		if t.kind == tokEOF {
			return
		}
		if t.kind == tokKeyword && t.s == "ID" {
			break
		}
	}
	for i := l.pos; i+2 <= len(l.b); i++ {
		if l.b[i] == 'E' && l.b[i+1] == 'I' && (i == 0 || isWhite(l.b[i-1])) && (i+2 == len(l.b) || isWhite(l.b[i+2])) {
			l.pos = i + 2
			return
		}
	}
	l.pos = len(l.b)
}

// cleanText drops control characters and undecodable glyphs, trims every
// line and removes empty ones, and normalises to NFC.
func cleanText(s string) string {
	s = norm.NFC.String(s)
	var lines []string
	for _, line := range strings.Split(s, "\n") {
		line = strings.Map(func(r rune) rune {
			if r == unicode.ReplacementChar || (unicode.IsControl(r) && r != '\t') {
				return -1
			}
			if r == '\t' || r == '\u00a0' {
				return ' '
			}
			return r
		}, line)
		line = strings.Join(strings.Fields(line), " ")
		if line != "" {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "\n")
}
