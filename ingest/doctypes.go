package ingest

import (
	"strings"

	"vanthu/ingest/vietnamese"
)

// DocType is one kind of document and the code its symbol carries.
type DocType struct {
	Code string // as written in the symbol, case kept: QĐ ≠ QyĐ
	Name string // as written in Vietnamese prose
}

// DocTypes is Decree 30/2020/NĐ-CP Phụ lục III, plus the legal, legislative
// and Party codes seen in real files (VIETNAMESE.md). Kept as data so a
// new code is a line here, not a regular expression. Luật and Pháp lệnh
// carry no code in their symbol (51/2024/QH15); "L" and "PL" are ours.
// Longer names come first: the heading "THÔNG TƯ LIÊN TỊCH" must not be
// taken for "THÔNG TƯ".
var DocTypes = []DocType{
	{"TTLT", "Thông tư liên tịch"},
	{"HDLN", "Hướng dẫn liên ngành"},
	{"VBHN", "Văn bản hợp nhất"},
	{"NQ", "Nghị quyết"},
	{"QĐ", "Quyết định"},
	{"CT", "Chỉ thị"},
	{"QC", "Quy chế"},
	{"QyĐ", "Quy định"},
	{"TC", "Thông cáo"},
	{"TB", "Thông báo"},
	{"HD", "Hướng dẫn"},
	{"CTr", "Chương trình"},
	{"KH", "Kế hoạch"},
	{"PA", "Phương án"},
	{"ĐA", "Đề án"},
	{"DA", "Dự án"},
	{"BC", "Báo cáo"},
	{"BB", "Biên bản"},
	{"TTr", "Tờ trình"},
	{"HĐ", "Hợp đồng"},
	{"CĐ", "Công điện"},
	{"BGN", "Bản ghi nhớ"},
	{"BTT", "Bản thỏa thuận"},
	{"GUQ", "Giấy ủy quyền"},
	{"GM", "Giấy mời"},
	{"GGT", "Giấy giới thiệu"},
	{"GNP", "Giấy nghỉ phép"},
	{"PG", "Phiếu gửi"},
	{"PC", "Phiếu chuyển"},
	{"PB", "Phiếu báo"},
	{"SY", "Bản sao y"},
	{"TrS", "Bản trích sao"},
	{"SL", "Bản sao lục"},
	{"NĐ", "Nghị định"},
	{"TT", "Thông tư"},
	{"GP", "Giấy phép"},
	{"KL", "Kết luận"},
	{"QĐi", "Quy định"}, // Party regulation (36-HD/VPTW)
	{"L", "Luật"},
	{"PL", "Pháp lệnh"},
	{"CV", "Công văn"},
}

// Codes that only make sense as headings or symbols of their own kind and
// are never the first part of a công văn's "issuer-unit" symbol.
var typeByCode = func() map[string]DocType {
	m := make(map[string]DocType, len(DocTypes))
	for _, t := range DocTypes {
		if _, dup := m[t.Code]; !dup {
			m[t.Code] = t
		}
	}
	return m
}()

// typeByName maps the upper-case heading ("QUYẾT ĐỊNH") to its type.
var typeByName = func() map[string]DocType {
	m := make(map[string]DocType, len(DocTypes))
	for _, t := range DocTypes {
		if t.Code == "QĐi" {
			continue
		}
		m[strings.ToUpper(t.Name)] = t
	}
	m["BẢN THOẢ THUẬN"] = typeByCode["BTT"]
	m["GIẤY UỶ QUYỀN"] = typeByCode["GUQ"]
	return m
}()

// typeByFolded is typeByName without diacritics, for OCR'd headings.
var typeByFolded = func() map[string]DocType {
	m := make(map[string]DocType, len(typeByName))
	for name, t := range typeByName {
		m[vietnamese.Fold(name)] = t
	}
	return m
}()

// typeOfSymbol reads the type from a symbol: "KH-SCT" → KH; legal ones put
// the year first ("2020/NĐ-CP"); a công văn starts with its issuer
// ("UBND-KT") and has no type code; Party ones end "-CT/TW".
func typeOfSymbol(symbol string) (DocType, bool) {
	s := strings.TrimLeft(symbol, "0123456789")
	if i := strings.IndexAny(s, "/-"); i >= 0 && i <= 2 { // "123/…", "12a/…", Party "25-CT/TW"
		s = s[i+1:]
	}
	if len(s) > 5 && s[4] == '/' && isDigits(s[:4]) { // 2020/NĐ-CP
		s = s[5:]
	}
	code := s
	if i := strings.IndexAny(code, "-/"); i >= 0 {
		code = code[:i]
	}
	if t, ok := typeByCode[code]; ok {
		return t, true
	}
	// Legislative symbols: 51/2024/QH15 (Luật), 17/2022/UBTVQH15 (Nghị quyết or Pháp lệnh: the heading decides).
	if strings.HasPrefix(code, "QH") && isDigits(code[2:]) {
		return DocType{}, false
	}
	return typeByCode["CV"], false
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
