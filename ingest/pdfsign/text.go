package pdfsign

import (
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// textString decodes a PDF text string: UTF-16BE with a byte-order mark
// (what Vietnamese signing software writes for /Reason and /Location),
// UTF-8 with a mark (PDF 2.0), otherwise PDFDocEncoding, which matches
// Latin-1 for the printable characters that matter here.
func textString(s string) string {
	switch {
	case strings.HasPrefix(s, "\xfe\xff"):
		b := s[2:]
		u := make([]uint16, 0, len(b)/2)
		for i := 0; i+1 < len(b); i += 2 {
			u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
		}
		return string(utf16.Decode(u))
	case strings.HasPrefix(s, "\xef\xbb\xbf"):
		return strings.ToValidUTF8(s[3:], "\uFFFD")
	}
	if utf8.ValidString(s) && isASCII(s) {
		return s
	}
	r := make([]rune, 0, len(s))
	for i := 0; i < len(s); i++ {
		r = append(r, rune(s[i]))
	}
	return string(r)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// parsePDFDate parses a PDF date, "D:YYYYMMDDHHmmSSOHH'mm'", where every
// part after the year is optional. Without an offset the time is taken as
// UTC, which is what the specification says for a date with no zone.
func parsePDFDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(textString(s))
	s = strings.TrimPrefix(s, "D:")
	num := func(n int, def int) (int, bool) {
		if len(s) < n {
			return def, len(s) == 0
		}
		v := 0
		for i := 0; i < n; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return def, false
			}
			v = v*10 + int(c-'0')
		}
		s = s[n:]
		return v, true
	}
	year, ok := num(4, 0)
	if !ok || year == 0 {
		return time.Time{}, false
	}
	var f [5]int
	defs := [5]int{1, 1, 0, 0, 0}
	for i := range f {
		if f[i], ok = num(2, defs[i]); !ok {
			return time.Time{}, false
		}
	}
	mon, day, hh, mm, ss := f[0], f[1], f[2], f[3], f[4]
	if mon < 1 || mon > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, false
	}
	loc := time.UTC
	if len(s) > 0 {
		sign := 0
		switch s[0] {
		case '+':
			sign = 1
		case '-':
			sign = -1
		}
		if sign != 0 {
			s = s[1:]
			oh, ok1 := num(2, 0)
			s = strings.TrimPrefix(s, "'")
			om, ok2 := num(2, 0)
			if ok1 && ok2 && oh <= 23 && om <= 59 {
				loc = time.FixedZone("", sign*(oh*3600+om*60))
			}
		}
	}
	return time.Date(year, time.Month(mon), day, hh, mm, ss, 0, loc), true
}
