package pdfsign

import (
	"bytes"
	"strconv"
)

// A small PDF object lexer. It serves two jobs that a full PDF library does
// not do for us on our terms: reading a signature dictionary straight from the
// file bytes (the byte offsets of /Contents matter, and the dictionary may sit
// in a revision the library's xref no longer points at), and tokenising
// appearance content streams under our own size limits. It never panics and
// never loops without consuming input.

type tokKind int

const (
	tokEOF tokKind = iota
	tokNumber
	tokName
	tokString // literal (…) or hex <…>; s holds the decoded bytes
	tokArrayOpen
	tokArrayClose
	tokDictOpen
	tokDictClose
	tokKeyword // operators and true/false/null/obj/R/stream…
)

type token struct {
	kind  tokKind
	s     string  // name (without '/'), keyword, or decoded string bytes
	num   float64 // tokNumber
	isInt bool
	hex   bool // tokString written as <hex>
	start int  // offset of the first byte of the token
	end   int  // offset just past the token
}

type lexer struct {
	b   []byte
	pos int
}

func isWhite(c byte) bool {
	switch c {
	case 0, '\t', '\n', '\f', '\r', ' ':
		return true
	}
	return false
}

func isDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

// skipSpace skips white space and comments.
func (l *lexer) skipSpace() {
	for l.pos < len(l.b) {
		c := l.b[l.pos]
		if isWhite(c) {
			l.pos++
			continue
		}
		if c == '%' {
			for l.pos < len(l.b) && l.b[l.pos] != '\n' && l.b[l.pos] != '\r' {
				l.pos++
			}
			continue
		}
		return
	}
}

func (l *lexer) next() token {
	l.skipSpace()
	if l.pos >= len(l.b) {
		return token{kind: tokEOF, start: l.pos, end: l.pos}
	}
	start := l.pos
	c := l.b[l.pos]
	switch c {
	case '[':
		l.pos++
		return token{kind: tokArrayOpen, start: start, end: l.pos}
	case ']':
		l.pos++
		return token{kind: tokArrayClose, start: start, end: l.pos}
	case '{', '}':
		// PostScript procedure braces: meaningless here, read as a keyword so
		// the caller can ignore them.
		l.pos++
		return token{kind: tokKeyword, s: string(c), start: start, end: l.pos}
	case '<':
		if l.pos+1 < len(l.b) && l.b[l.pos+1] == '<' {
			l.pos += 2
			return token{kind: tokDictOpen, start: start, end: l.pos}
		}
		return l.hexString()
	case '>':
		l.pos++
		if l.pos < len(l.b) && l.b[l.pos] == '>' {
			l.pos++
			return token{kind: tokDictClose, start: start, end: l.pos}
		}
		// A stray '>' is junk; report it as a keyword the parsers skip.
		return token{kind: tokKeyword, s: ">", start: start, end: l.pos}
	case '(':
		return l.literalString()
	case ')':
		l.pos++
		return token{kind: tokKeyword, s: ")", start: start, end: l.pos}
	case '/':
		l.pos++
		var name []byte
		for l.pos < len(l.b) && !isWhite(l.b[l.pos]) && !isDelim(l.b[l.pos]) {
			ch := l.b[l.pos]
			if ch == '#' && l.pos+2 < len(l.b) {
				if v, err := strconv.ParseUint(string(l.b[l.pos+1:l.pos+3]), 16, 8); err == nil {
					name = append(name, byte(v))
					l.pos += 3
					continue
				}
			}
			name = append(name, ch)
			l.pos++
		}
		return token{kind: tokName, s: string(name), start: start, end: l.pos}
	}
	for l.pos < len(l.b) && !isWhite(l.b[l.pos]) && !isDelim(l.b[l.pos]) {
		l.pos++
	}
	word := string(l.b[start:l.pos])
	if f, isInt, ok := parseNumber(word); ok {
		return token{kind: tokNumber, num: f, isInt: isInt, s: word, start: start, end: l.pos}
	}
	return token{kind: tokKeyword, s: word, start: start, end: l.pos}
}

func parseNumber(w string) (f float64, isInt bool, ok bool) {
	if w == "" {
		return 0, false, false
	}
	digits := 0
	for i := 0; i < len(w); i++ {
		c := w[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
		case (c == '+' || c == '-') && i == 0:
		default:
			return 0, false, false
		}
	}
	if digits == 0 {
		return 0, false, false
	}
	// Producers write things like "--5" or "1.2.3"; ParseFloat rejects them
	// and we treat the word as junk rather than guess.
	f, err := strconv.ParseFloat(w, 64)
	if err != nil {
		return 0, false, false
	}
	return f, !bytes.ContainsRune([]byte(w), '.'), true
}

func (l *lexer) hexString() token {
	start := l.pos
	l.pos++ // '<'
	var out []byte
	var hi byte
	half := false
	for l.pos < len(l.b) {
		c := l.b[l.pos]
		l.pos++
		if c == '>' {
			break
		}
		v, ok := unhex(c)
		if !ok {
			continue // white space (or junk) inside hex strings is ignored
		}
		if half {
			out = append(out, hi<<4|v)
			half = false
		} else {
			hi = v
			half = true
		}
	}
	if half {
		out = append(out, hi<<4) // odd number of digits: the last one is followed by 0
	}
	return token{kind: tokString, s: string(out), hex: true, start: start, end: l.pos}
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func (l *lexer) literalString() token {
	start := l.pos
	l.pos++ // '('
	depth := 1
	var out []byte
	for l.pos < len(l.b) {
		c := l.b[l.pos]
		l.pos++
		switch c {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return token{kind: tokString, s: string(out), start: start, end: l.pos}
			}
		case '\\':
			if l.pos >= len(l.b) {
				continue
			}
			e := l.b[l.pos]
			l.pos++
			switch e {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\r':
				if l.pos < len(l.b) && l.b[l.pos] == '\n' {
					l.pos++
				}
				continue // line continuation
			case '\n':
				continue
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for k := 0; k < 2 && l.pos < len(l.b) && l.b[l.pos] >= '0' && l.b[l.pos] <= '7'; k++ {
						v = v*8 + int(l.b[l.pos]-'0')
						l.pos++
					}
					c = byte(v)
				} else {
					c = e // \( \) \\ and unknown escapes stand for the character
				}
			}
		}
		out = append(out, c)
	}
	return token{kind: tokString, s: string(out), start: start, end: l.pos}
}

// Parsed objects. Only what the signature dictionary and content streams need.
type (
	pdfName  string
	pdfArray []any
	pdfDict  map[string]any
	pdfRef   struct{ num, gen int }
	pdfStr   struct {
		s          string
		start, end int
		hex        bool
	}
	pdfKeyword string
)

// maxDepth bounds nesting so that "[[[[…" cannot exhaust the stack.
const maxDepth = 64

// value parses one object starting with tok. Unexpected tokens come back as
// pdfKeyword so that callers can decide; it never panics.
func (l *lexer) value(tok token, depth int) any {
	switch tok.kind {
	case tokNumber:
		if tok.isInt {
			// Look ahead for "num gen R".
			save := l.pos
			t2 := l.next()
			if t2.kind == tokNumber && t2.isInt {
				t3 := l.next()
				if t3.kind == tokKeyword && t3.s == "R" {
					return pdfRef{int(tok.num), int(t2.num)}
				}
			}
			l.pos = save
		}
		return tok.num
	case tokName:
		return pdfName(tok.s)
	case tokString:
		return pdfStr{s: tok.s, start: tok.start, end: tok.end, hex: tok.hex}
	case tokArrayOpen:
		var arr pdfArray
		for {
			t := l.next()
			if t.kind == tokEOF || t.kind == tokArrayClose {
				return arr
			}
			if depth >= maxDepth {
				continue
			}
			arr = append(arr, l.value(t, depth+1))
		}
	case tokDictOpen:
		d := pdfDict{}
		for {
			t := l.next()
			if t.kind == tokEOF || t.kind == tokDictClose {
				return d
			}
			if t.kind != tokName {
				continue // junk where a key should be: skip it
			}
			v := l.next()
			if v.kind == tokDictClose || v.kind == tokEOF {
				return d
			}
			if depth >= maxDepth {
				continue
			}
			d[t.s] = l.value(v, depth+1)
		}
	case tokKeyword:
		return pdfKeyword(tok.s)
	}
	return nil
}

func (d pdfDict) name(key string) string {
	if n, ok := d[key].(pdfName); ok {
		return string(n)
	}
	return ""
}

func (d pdfDict) str(key string) (pdfStr, bool) {
	s, ok := d[key].(pdfStr)
	return s, ok
}
