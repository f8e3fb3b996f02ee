package pdfsign

import (
	"testing"
	"time"
)

func TestMergeStamps(t *testing.T) {
	num := Stamp{X: 121, Y: 736, Text: "6791"}
	day := Stamp{X: 416, Y: 734, Text: "17"}
	month := Stamp{X: 470, Y: 734, Text: "12"}
	desc := Stamp{X: 300, Y: 100, Text: "Người ký: Sở X\nThời gian ký: 04.05.2026 16:54:57 +07:00"}
	tests := []struct {
		name   string
		text   string
		stamps []Stamp
		want   string
	}{
		{"number and day", "Số:          /SNNMT-KHTC\nLào Cai, ngày       tháng 7 năm 2026\n",
			[]Stamp{day, num}, "Số: 6791/SNNMT-KHTC\nLào Cai, ngày 17 tháng 7 năm 2026\n"},
		{"number, day and month", "Số:         /2023/TT-BGTVT\n  Hà Nội, ngày       tháng       năm 2023",
			[]Stamp{month, num, day}, "Số: 6791/2023/TT-BGTVT\n  Hà Nội, ngày 17 tháng 12 năm 2023"},
		{"dotted blanks", "Số: ......./QĐ-UBND ngày ....tháng ....năm 2026",
			[]Stamp{num, day, {X: 480, Text: "5"}}, "Số: 6791/QĐ-UBND ngày 17 tháng 5 năm 2026"},
		{"no space after the colon", "Số:/UBND-KT", []Stamp{num}, "Số: 6791/UBND-KT"},
		{"upper case", "SỐ:     /BC-SNV", []Stamp{num}, "SỐ: 6791/BC-SNV"},
		{"number already there", "Số: 12/SCT-CN\nngày 3 tháng 7 năm 2026", []Stamp{num, day}, "Số: 12/SCT-CN\nngày 3 tháng 7 năm 2026"},
		{"description stamps are not numbers", "Số:     /SCT-CN", []Stamp{desc}, "Số:     /SCT-CN"},
		{"no stamps", "Số:     /SCT-CN", nil, "Số:     /SCT-CN"},
		// Only the day stamp exists (the number was not stamped): it is
		// right of the middle, so it cannot be the number.
		{"day only", "Số:     /SCT-CN  Lào Cai, ngày     tháng 7 năm 2026", []Stamp{day},
			"Số:     /SCT-CN  Lào Cai, ngày 17 tháng 7 năm 2026"},
		{"a day stamp out of range is not a day", "ngày     tháng 7 năm 2026", []Stamp{{X: 400, Text: "45"}}, "ngày     tháng 7 năm 2026"},
		{"a filled cited date is skipped", "Căn cứ ngày 24 tháng 8 năm 2022; ngày     tháng 7 năm 2026", []Stamp{day},
			"Căn cứ ngày 24 tháng 8 năm 2022; ngày 17 tháng 7 năm 2026"},
		{"decomposed input is matched after NFC", "So\u0302\u0301:   /SCT-CN", []Stamp{num}, "Số: 6791/SCT-CN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MergeStamps(tt.text, tt.stamps); got != tt.want {
				t.Errorf("MergeStamps(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestParseSignerNote(t *testing.T) {
	tests := []struct {
		text string
		want SignerNote
		ok   bool
	}{
		{"Người ký: CỔNG THÔNG TIN ĐIỆN TỬ CHÍNH PHỦ\nEmail: thongtinchinhphu@chinhphu.vn\nCơ quan: VĂN PHÒNG CHÍNH PHỦ\nThời gian ký: 04.05.2026 16:54:57 +07:00",
			SignerNote{Signer: "CỔNG THÔNG TIN ĐIỆN TỬ CHÍNH PHỦ", Email: "thongtinchinhphu@chinhphu.vn", Organisation: "VĂN PHÒNG CHÍNH PHỦ",
				SignedAt: time.Date(2026, 5, 4, 9, 54, 57, 0, time.UTC)}, true},
		{"Ký bởi: Bộ Công Thương\nCơ quan: Bộ Công thương\nThời gian ký: 02.04.2026 14:24:26 +07:00",
			SignerNote{Signer: "Bộ Công Thương", Organisation: "Bộ Công thương", SignedAt: time.Date(2026, 4, 2, 7, 24, 26, 0, time.UTC)}, true},
		// No offset: Vietnam time. Slashes, and a wrapped organisation.
		{"Ký bởi: Sở Ngoại vụ\nCơ quan: Ủy ban nhân dân\ntỉnh Lào Cai\nNgày ký: 13/03/2026 14:38",
			SignerNote{Signer: "Sở Ngoại vụ", Organisation: "Ủy ban nhân dân tỉnh Lào Cai", SignedAt: time.Date(2026, 3, 13, 7, 38, 0, 0, time.UTC)}, true},
		{"Thời gian ký: hôm qua", SignerNote{RawTime: "hôm qua"}, true},
		{"6791", SignerNote{}, false},
		{"", SignerNote{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseSignerNote(tt.text)
		if ok != tt.ok || got.Signer != tt.want.Signer || got.Email != tt.want.Email || got.Organisation != tt.want.Organisation ||
			!got.SignedAt.Equal(tt.want.SignedAt) || got.RawTime != tt.want.RawTime {
			t.Errorf("ParseSignerNote(%q) = %+v, %v; want %+v, %v", tt.text, got, ok, tt.want, tt.ok)
		}
	}
}
