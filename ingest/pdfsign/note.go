package pdfsign

import (
	"regexp"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"
)

// SignerNote is the description a signing tool draws into a visible
// signature, e.g. (VGCA, Ban Cơ yếu Chính phủ):
//
//	Người ký: CỔNG THÔNG TIN ĐIỆN TỬ CHÍNH PHỦ
//	Email: thongtinchinhphu@chinhphu.vn
//	Cơ quan: VĂN PHÒNG CHÍNH PHỦ
//	Thời gian ký: 04.05.2026 16:54:57 +07:00
//
// or "Ký bởi: Bộ Công Thương". It is what the signer's software claimed
// when drawing, not a verified fact: compare it with Signature.
type SignerNote struct {
	Signer       string    `json:"signer,omitempty"`
	Email        string    `json:"email,omitempty"`
	Organisation string    `json:"organisation,omitempty"`
	SignedAt     time.Time `json:"signed_at,omitzero"`
	RawTime      string    `json:"raw_time,omitempty"` // as drawn, kept when it cannot be parsed
}

// Labels, lower-case NFC, to the field they fill.
var noteLabels = []struct{ label, field string }{
	{"người ký", "signer"},
	{"ký bởi", "signer"},
	{"được ký bởi", "signer"},
	{"signed by", "signer"},
	{"email", "email"},
	{"cơ quan", "organisation"},
	{"đơn vị", "organisation"},
	{"tổ chức", "organisation"},
	{"thời gian ký", "time"},
	{"ngày ký", "time"},
	{"signing time", "time"},
	{"date", "time"},
}

var vietnamZone = time.FixedZone("+07", 7*3600)

var noteTime = regexp.MustCompile(`(\d{1,2})[./-](\d{1,2})[./-](\d{4})[ ,]+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(?:(?:GMT|UTC)?\s*([+-])(\d{1,2}):?(\d{2}))?`)

// ParseSignerNote reads a description stamp. ok is false when the text has
// neither a signer nor a signing time label: it is then not a description
// (a registration number, say). A time without an offset is taken as
// Vietnam time (+07:00), which is what these tools print.
func ParseSignerNote(text string) (n SignerNote, ok bool) {
	text = norm.NFC.String(text)
	last := ""
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		field, value := "", ""
		if label, rest, found := strings.Cut(line, ":"); found {
			l := strings.ToLower(strings.TrimSpace(label))
			for _, nl := range noteLabels {
				if l == nl.label {
					field, value = nl.field, strings.TrimSpace(rest)
					break
				}
			}
		}
		if field == "" {
			// A long organisation name wraps onto the next line.
			if last == "organisation" || last == "signer" {
				field, value = last, line
				if last == "organisation" {
					n.Organisation += " " + value
				} else {
					n.Signer += " " + value
				}
			}
			continue
		}
		last = field
		switch field {
		case "signer":
			n.Signer = value
		case "email":
			n.Email = value
		case "organisation":
			n.Organisation = value
		case "time":
			n.RawTime = value
			if t, ok := parseNoteTime(value); ok {
				n.SignedAt = t
			}
		}
	}
	if n.Signer == "" && n.RawTime == "" {
		return SignerNote{}, false
	}
	if !n.SignedAt.IsZero() {
		n.RawTime = ""
	}
	return n, true
}

func parseNoteTime(s string) (time.Time, bool) {
	m := noteTime.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, false
	}
	atoi := func(x string) int {
		v := 0
		for _, c := range x {
			v = v*10 + int(c-'0')
		}
		return v
	}
	day, mon, year := atoi(m[1]), atoi(m[2]), atoi(m[3])
	hh, mm, ss := atoi(m[4]), atoi(m[5]), atoi(m[6])
	if mon < 1 || mon > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, false
	}
	loc := vietnamZone
	if m[7] != "" {
		off := atoi(m[8])*3600 + atoi(m[9])*60
		if m[7] == "-" {
			off = -off
		}
		loc = time.FixedZone("", off)
	}
	return time.Date(year, time.Month(mon), day, hh, mm, ss, 0, loc), true
}
