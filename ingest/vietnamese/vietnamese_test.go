package vietnamese

import (
	"testing"

	"golang.org/x/text/unicode/norm"
)

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"hoà", "hòa"},
		{"hòa", "hòa"},
		{"HOÀ", "HÒA"},
		{"khoẻ", "khỏe"},
		{"thuỷ", "thủy"},
		{"uỷ ban", "ủy ban"},
		{"Uỷ", "Ủy"},
		{"quý", "quý"},
		{"hoàng", "hoàng"},
		{"thuyền", "thuyền"},
		{"hoạ sĩ", "họa sĩ"},
		{"Cộng hoà xã hội chủ nghĩa", "Cộng hòa xã hội chủ nghĩa"},
		{norm.NFD.String("kế hoạch đối ngoại"), "kế hoạch đối ngoại"},
		{norm.NFD.String("hoà bình"), "hòa bình"},
		{"1623/KH-UBND", "1623/KH-UBND"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFold(t *testing.T) {
	tests := []struct{ in, want string }{
		{"kế hoạch đối ngoại", "ke hoach doi ngoai"},
		{"ĐẢNG CỘNG SẢN", "DANG CONG SAN"},
		{norm.NFD.String("Quảng Nam"), "Quang Nam"},
		{"30/2020/NĐ-CP", "30/2020/ND-CP"},
	}
	for _, tt := range tests {
		if got := Fold(tt.in); got != tt.want {
			t.Errorf("Fold(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHasDiacritics(t *testing.T) {
	for in, want := range map[string]bool{"ke hoach": false, "kế": true, "đi": true, "abc-123": false} {
		if got := HasDiacritics(in); got != want {
			t.Errorf("HasDiacritics(%q) = %v, want %v", in, got, want)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	f.Add("hoà thuỷ quý")
	f.Add(norm.NFD.String("Cộng hoà"))
	f.Add("ệ\u0301\u0F73가≠\xff\U0001D165\U0001D16D")
	f.Add("Ủy ban hoà quy quý ÝOA “khoẻ” \u1100\u1161")
	f.Fuzz(func(t *testing.T, s string) {
		// The fast paths must agree with the definitions on any input.
		checkBoth(t, s)
		checkBoth(t, Normalize(s))
		checkNormalize(t, s)
		checkNormalize(t, Normalize(s))
		n := Normalize(s)
		if Normalize(n) != n {
			t.Errorf("Normalize not idempotent on %q", s)
		}
		if Fold(Normalize(s)) != Fold(s) && norm.NFC.String(s) == s {
			t.Errorf("Fold changed by Normalize on %q", s)
		}
	})
}
