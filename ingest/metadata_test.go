package ingest

import (
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
	"vanthu/archive"
)

func TestParseMetadataNumber(t *testing.T) {
	tests := []struct{ text, want string }{
		{"Số: 5973 /UBND-KT", "5973/UBND-KT"},
		{"Số:1629 /SCT-CN", "1629/SCT-CN"},
		{"Số: 2170 /QĐ - UBND", "2170/QĐ-UBND"},
		{"Số: 4280 /SCT - CN", "4280/SCT-CN"},
		{"Số:      /KH-UBND", ""}, // draft: number blank until registration
		{"Số 2449 -CV/ĐU", "2449-CV/ĐU"},
		{"Số 25-CT/TW", "25-CT/TW"},
		{"Số: 104-CTr/Tu", "104-CTr/Tu"}, // OCR case error kept: case is data
		{"Số: 12/2026/QyĐ-UBND", "12/2026/QyĐ-UBND"},
		{"Số: 30/2020/NĐ-CP", "30/2020/NĐ-CP"},
		{"Luật số: 33/2024/QH15", "33/2024/QH15"},
		{" Nghị quyết số: 17/2022/UBTVQH15", "17/2022/UBTVQH15"},
		{"UBND TỈNH      CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nSố: 16/2026/QĐ-UBND       Lào Cai, ngày 25 tháng 2 năm 2026", "16/2026/QĐ-UBND"},
		{"CÔNG BÁO/Số 290/Ngày 29-05-2026\nCHÍNH PHỦ\nSố: 162/2026/NĐ-CP", "162/2026/NĐ-CP"},
		{"ĐOÀN KIỂM TRA THEO QĐ SỐ 2872/QĐ-SCT\nSố:    /ĐKT-SCT", ""}, // a cited number is not the document's
		{norm.NFD.String("Số: 1623/KH-UBND"), "1623/KH-UBND"},
		{"Số: 24 /HDLN-BCA-BQP-\nВСТ-ВТC", "24/HDLN-BCA-BQP-BCT-BTC"}, // broken over lines; OCR Cyrillic look-alikes
	}
	for _, tt := range tests {
		if got := ParseMetadata(tt.text).Number; got != tt.want {
			t.Errorf("ParseMetadata(%q).Number = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestParseMetadataTypeDateIssuer(t *testing.T) {
	tests := []struct {
		text                               string
		typ, name, issuer, parent, date, l string
	}{
		{"UBND TỈNH QUẢNG NAM\nSỞ NGOẠI VỤ\nSố: 1623/KH-UBND\nQuảng Nam, ngày 10 tháng 4 năm 2018\nKẾ HOẠCH\nCông tác đối ngoại năm 2018",
			"KH", "Kế hoạch", "SỞ NGOẠI VỤ", "UBND TỈNH QUẢNG NAM", "2018-04-10", "provincial"},
		{"ỦY BAN NHÂN DÂN\nTỈNH LÀO CAI\nSố: 2496 /UBND-KT\nLào Cai, ngày 06 tháng 4 năm 2026\nV/v triển khai",
			"CV", "Công văn", "ỦY BAN NHÂN DÂN TỈNH LÀO CAI", "", "2026-04-06", "provincial"},
		{"CHÍNH PHỦ\nSố: 30/2020/NĐ-CP\nHà Nội, ngày 05 tháng 3 năm 2020\nNGHỊ ĐỊNH\nVề công tác văn thư",
			"NĐ", "Nghị định", "CHÍNH PHỦ", "", "2020-03-05", "central"},
		{"UBND TỈNH LÀO CAI\nSỞ CÔNG THƯƠNG\nSố:     /SCT-CN\nLào Cai, ngày    tháng 6 năm 2026\nTHÔNG BÁO\nKết quả kiểm tra",
			"TB", "Thông báo", "SỞ CÔNG THƯƠNG", "UBND TỈNH LÀO CAI", "", "provincial"}, // heading beats a code-less symbol
		{"UBND XÃ BẢO AI\nSố: 12/QĐ-UBND\nBảo Ai, ngày 31 tháng 02 năm 2026\nQUYẾT ĐỊNH",
			"QĐ", "Quyết định", "UBND XÃ BẢO AI", "", "", "commune"}, // 31 February is not a date
		{"UBND TỈNH LÀO CAI\nSỞ CÔNG THƯƠNG\nSố: 12/QyĐ-SCT\nLào Cai, ngày15 tháng 6 năm 2026\nQUY ĐỊNH",
			"QyĐ", "Quy định", "SỞ CÔNG THƯƠNG", "UBND TỈNH LÀO CAI", "2026-06-15", "provincial"},
	}
	for _, tt := range tests {
		m := ParseMetadata(tt.text)
		got := []string{m.Type, m.TypeName, m.Issuer, m.ParentIssuer, m.IssuedAt, m.Level}
		want := []string{tt.typ, tt.name, tt.issuer, tt.parent, tt.date, tt.l}
		if !slices.Equal(got, want) {
			t.Errorf("ParseMetadata(%q) type,name,issuer,parent,date,level = %q, want %q", tt.text, got, want)
		}
	}
}

func TestParseMetadataSubjectSignerStamps(t *testing.T) {
	text := `UBND TỈNH LÀO CAI                CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
SỞ CÔNG THƯƠNG                           Độc lập - Tự do - Hạnh phúc
MẬT
HỎA TỐC
Số: 4280 /SCT - CN                        Lào Cai, ngày 16 tháng 7 năm 2026
V/v hoàn thiện hồ sơ đề nghị
cấp Giấy phép sử dụng vật liệu nổ

Kính gửi: Doanh nghiệp tư nhân Thành Hương
Thông tin này là bí mật nhà nước, không phải dấu MẬT.
Nơi nhận:                                       KT. GIÁM ĐỐC
- Như trên;                                     PHÓ GIÁM ĐỐC
- Sở Xây dựng;
- Lưu: VT, CN.
                                                Nguyễn Văn An`
	m := ParseMetadata(text)
	if want := "hoàn thiện hồ sơ đề nghị cấp Giấy phép sử dụng vật liệu nổ"; m.Subject != want {
		t.Errorf("Subject = %q, want %q", m.Subject, want)
	}
	if want := (Signer{Authority: "KT. GIÁM ĐỐC", Position: "PHÓ GIÁM ĐỐC", Name: "Nguyễn Văn An"}); m.Signer != want {
		t.Errorf("Signer = %+v, want %+v", m.Signer, want)
	}
	if m.Classification != archive.Mat || m.Urgency != "hoa_toc" {
		t.Errorf("stamps = %s, %s; want mat, hoa_toc", m.Classification, m.Urgency)
	}
	if want := []string{"Doanh nghiệp tư nhân Thành Hương", "Sở Xây dựng"}; !slices.Equal(m.Recipients, want) {
		t.Errorf("Recipients = %q, want %q", m.Recipients, want)
	}
	for _, f := range []string{"number", "subject", "signer", "classification", "urgency", "recipients"} {
		if !slices.Contains(m.Fields(), f) {
			t.Errorf("Fields() = %v, missing %s", m.Fields(), f)
		}
	}
	// A stamp word in the body, or inside another word, is not a stamp.
	body := "BỘ CÔNG AN\nSố: 1/TB-BCA\nTHÔNG BÁO\nBAN BẢO VỆ BÍ MẬT\nĐMẬT\n" + strings.Repeat("Nội dung.\n", 50) + "MẬT\n"
	if m := ParseMetadata(body); m.Classification != archive.Unclassified {
		t.Errorf("Classification of %q = %s, want none", body, m.Classification)
	}
}

func TestParseMetadataCitationsAndTasks(t *testing.T) {
	text := `ỦY BAN NHÂN DÂN
TỈNH QUẢNG NAM
Số: 1623/KH-UBND
KẾ HOẠCH
Công tác đối ngoại năm 2018
Căn cứ Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ về công tác văn thư;
Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;
Thực hiện Chỉ thị số 25-CT/TW ngày 08/8/2018 của Ban Bí thư;
Theo đề nghị của Sở Ngoại vụ tại Tờ trình số 12/TTr-SNgV ngày 01/4/2018;
Kế hoạch đề ra các nhiệm vụ: ngoại giao kinh tế; ngoại giao văn hóa; công tác người Việt Nam ở nước ngoài; thông tin đối ngoại.
Giao Sở Ngoại vụ chủ trì, phối hợp với Sở Công Thương và Sở Tài chính tổ chức thực hiện, báo cáo trước ngày 05/10/2026.
Giao Sở Văn hóa chủ trì triển khai lễ hội trong Quý III năm 2024.`
	m := ParseMetadata(text)
	want := []Citation{
		{Number: "30/2020/NĐ-CP", Type: "Nghị định", IssuedAt: "2020-03-05", Issuer: "Chính phủ", Relation: "can_cu"},
		{Type: "Luật", Title: "Luật Tổ chức chính quyền địa phương", IssuedAt: "2015-06-19", Relation: "can_cu"},
		{Number: "25-CT/TW", Type: "Chỉ thị", IssuedAt: "2018-08-08", Issuer: "Ban Bí thư", Relation: "thuc_hien"},
		{Number: "12/TTr-SNgV", Type: "Tờ trình", IssuedAt: "2018-04-01", Relation: "de_nghi"},
	}
	if !slices.Equal(m.Citations, want) {
		t.Errorf("Citations =\n%+v\nwant\n%+v", m.Citations, want)
	}
	var titles []string
	for _, tp := range m.TaskProposals {
		titles = append(titles, tp.Title)
	}
	for _, w := range []string{"ngoại giao kinh tế", "ngoại giao văn hóa", "công tác người Việt Nam ở nước ngoài", "thông tin đối ngoại"} {
		if !slices.Contains(titles, w) {
			t.Errorf("TaskProposals titles %q lack %q", titles, w)
		}
	}
	var lead *TaskProposal
	for i := range m.TaskProposals {
		if m.TaskProposals[i].LeadUnit == "Sở Ngoại vụ" {
			lead = &m.TaskProposals[i]
		}
	}
	if lead == nil || lead.DueDate != "2026-10-05" || !slices.Equal(lead.SupportUnits, []string{"Sở Công Thương", "Sở Tài chính"}) {
		t.Errorf("Giao … chủ trì task = %+v", lead)
	}
	found := false
	for _, tp := range m.TaskProposals {
		if tp.LeadUnit == "Sở Văn hóa" && tp.Period == "Quý III năm 2024" {
			found = true
		}
	}
	if !found {
		t.Errorf("no Quý III task in %+v", m.TaskProposals)
	}
}

// TestNormalisedExtraction: NFD input and mixed tone placement (hòa/hoà)
// come out of extraction as one form, so search sees one word.
func TestNormalisedExtraction(t *testing.T) {
	a := extractText([]byte("Cộng hòa xã hội, thủy lợi, hòa bình"), MimeText)
	b := extractText([]byte(norm.NFD.String("Cộng hoà xã hội, thuỷ lợi, hoà bình")), MimeText)
	if a.Text != b.Text || a.Text != "Cộng hòa xã hội, thủy lợi, hòa bình" {
		t.Errorf("NFC/old style %q and NFD/new style %q extract differently", a.Text, b.Text)
	}
	h := extractHTML([]byte("<html><head><meta charset=\"windows-1258\"><title>x</title><script>var a</script></head><body><p>Ho\xcca bi\xccnh</p></body></html>"), "text/html")
	if strings.TrimSpace(h.Text) != "Hòa bình" {
		t.Errorf("HTML windows-1258 text = %q", h.Text)
	}
}
