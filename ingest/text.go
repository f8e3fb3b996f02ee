package ingest

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"

	"vanthu/ingest/vietnamese"
)

// extractText decodes a plain-text original. UTF-8 (with or without BOM)
// and UTF-16 with a BOM are certain; anything else is a legacy code page,
// and for Vietnamese the candidates that matter are Windows-1258 and what
// the WHATWG sniffer guesses (usually Windows-1252): the one that reads as
// better Vietnamese wins.
func extractText(b []byte, mime string) Result {
	text, how := decodeText(b, mime)
	res := textResult(text, EngineText, "the text file is empty")
	if how != "" && res.Status == StatusOK {
		res.Reason = how
	}
	return res
}

func decodeText(b []byte, contentType string) (text, how string) {
	if bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}) {
		return string(b[3:]), ""
	}
	if bytes.HasPrefix(b, []byte{0xFF, 0xFE}) || bytes.HasPrefix(b, []byte{0xFE, 0xFF}) {
		dec := unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder()
		if out, err := dec.Bytes(b); err == nil {
			return string(out), "decoded from UTF-16"
		}
	}
	if utf8.Valid(b) {
		return string(b), ""
	}
	guess, name, _ := charset.DetermineEncoding(b, contentType)
	candidates := []struct {
		enc  encoding.Encoding
		name string
	}{{charmap.Windows1258, "windows-1258"}, {guess, name}}
	best, bestName, bestGood := "", "", -1<<31
	for _, c := range candidates {
		out, err := c.enc.NewDecoder().Bytes(b)
		if err != nil {
			continue
		}
		s := string(out)
		if g := vietnamese.ScoreText(vietnamese.Normalize(s)).Good(); g > bestGood {
			best, bestName, bestGood = s, c.name, g
		}
	}
	if bestName == "" {
		return strings.ToValidUTF8(string(b), ""), "not valid UTF-8; invalid bytes dropped"
	}
	return best, "decoded from " + bestName
}

// extractHTML decodes with the charset the document declares (BOM, <meta>,
// then the sniffer) and keeps the text of the body: scripts, styles and
// markup go; block elements end lines so headers stay on their own lines.
func extractHTML(b []byte, contentType string) Result {
	enc, _, certain := charset.DetermineEncoding(b, contentType)
	var src []byte
	if !certain && utf8.Valid(b) {
		src = b // the sniffer's default is windows-1252; valid UTF-8 is far likelier
	} else if out, err := enc.NewDecoder().Bytes(b); err == nil {
		src = out
	} else {
		src = bytes.ToValidUTF8(b, nil)
	}
	z := html.NewTokenizer(bytes.NewReader(src))
	var out strings.Builder
	skip := 0
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return textResult(out.String(), EngineHTML, "the HTML document has no text")
		case html.TextToken:
			if skip == 0 {
				out.Write(z.Text())
			}
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			tag, _ := z.TagName()
			switch string(tag) {
			case "script", "style", "title", "noscript", "template":
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
			case "br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "td", "th", "section", "article", "blockquote", "pre", "hr":
				out.WriteByte('\n')
			}
		}
	}
}
