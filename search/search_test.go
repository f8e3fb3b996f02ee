package search

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	bsearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	"golang.org/x/text/unicode/norm"

	"vanthu/archive"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// fixture is a small archive with the cases the tests need: a plan and a
// report citing it, QĐ and QyĐ with the same number, a secret document, a
// subject with markup, text in NFD and new-style tone placement.
func fixture() []Doc {
	docs := []Doc{
		{ID: "kh1623", Number: "1623/KH-UBND", Type: "KH", TypeName: "Kế hoạch", Issuer: "UBND tỉnh Quảng Nam", Level: "provincial",
			IssuedAt: day("2018-04-10"), Subject: "Kế hoạch công tác đối ngoại năm 2018",
			Body:  "Thực hiện Chỉ thị số 25-CT/TW về đẩy mạnh và nâng tầm đối ngoại đa phương. Ngoại giao kinh tế, ngoại giao văn hóa, công tác người Việt Nam ở nước ngoài, thông tin đối ngoại, biên giới lãnh thổ, lãnh sự và bảo hộ công dân.",
			Tasks: []string{"t1", "t2"}, Cites: []string{"25-CT/TW"}},
		{ID: "bc-kh", Number: "88/BC-SNgV", Type: "BC", Issuer: "Sở Ngoại vụ", Level: "provincial",
			IssuedAt: day("2018-12-20"), Subject: "Báo cáo kết quả thực hiện Kế hoạch số 1623/KH-UBND",
			Body: "Sở Ngoại vụ báo cáo kết quả triển khai các nhiệm vụ đối ngoại trong năm.", Tasks: []string{"t1"},
			Cites: []string{"1623 /KH - UBND"}},
		{ID: "qd30", Number: "30/QĐ-UBND", Type: "QĐ", Issuer: "UBND tỉnh Quảng Nam", Level: "provincial",
			IssuedAt: day("2019-01-05"), Subject: "Quyết định ban hành quy chế làm việc", Body: "Ban hành kèm theo Quyết định này Quy chế làm việc."},
		{ID: "qyd30", Number: "30/QyĐ-UBND", Type: "QyĐ", Issuer: "UBND tỉnh Quảng Nam", Level: "provincial",
			IssuedAt: day("2019-01-06"), Subject: "Quy định về quản lý đoàn ra, đoàn vào", Body: "Quy định này áp dụng đối với các đoàn ra, đoàn vào."},
		{ID: "nd30", Number: "30/2020/NĐ-CP", Type: "NĐ", Issuer: "Chính phủ", Level: "central",
			IssuedAt: day("2020-03-05"), Subject: "Nghị định về công tác văn thư", Body: "Nghị định này quy định về công tác văn thư và quản lý nhà nước về công tác văn thư."},
		{ID: "ct25", Number: "25-CT/TW", Type: "CT", Issuer: "Ban Bí thư", Level: "central",
			IssuedAt: day("2018-08-08"), Subject: "Chỉ thị về đẩy mạnh và nâng tầm đối ngoại đa phương đến năm 2030", Body: "Đối ngoại đa phương là định hướng chiến lược."},
		{ID: "secret", Number: "12/KH-SNgV", Type: "KH", Issuer: "Sở Ngoại vụ", Level: "provincial", Classification: archive.Mat,
			IssuedAt: day("2021-06-01"), Subject: "Phương án bảo vệ đoàn cấp cao zebrakhu",
			Body: "Địa điểm hầmngầm zebrakhu được giữ bí mật."},
		{ID: "script", Number: "5/BC-VP", Type: "BC", Issuer: "Văn phòng", Level: "provincial",
			IssuedAt: day("2022-02-02"), Subject: "Báo cáo <script>alert('x')</script> & đoàn ra", Body: "Nội dung <b>đậm</b> báo cáo."},
		{ID: "nfd", Number: "7/TB-SNgV", Type: "TB", Issuer: "Sở Ngoại vụ", Level: "provincial",
			IssuedAt: day("2023-03-03"), Subject: norm.NFD.String("Thông báo kế hoạch đối ngoại quý II"),
			Body: norm.NFD.String("Triển khai kế hoạch đối ngoại và hoà bình hữu nghị.")},
		{ID: "leave", Type: "CV", Issuer: "Sở Lao động", Level: "provincial", IssuedAt: day("2021-01-01"),
			Subject: "Về chế độ nghỉ phép năm", Body: "Người lao động được nghỉ phép năm 12 ngày làm việc, hưởng nguyên lương; số ngày nghỉ phép tăng theo thâm niên."},
		{ID: "days", Type: "CV", Issuer: "Sở Lao động", Level: "provincial",
			Subject: "Thông báo lịch trực", Body: "Người trực ban làm việc các ngày trong tuần."},
	}
	for i := range 25 {
		docs = append(docs, Doc{
			ID: fmt.Sprintf("hn%02d", i), Number: fmt.Sprintf("%d/GM-SNgV", 100+i), Type: "GM", Issuer: "Sở Ngoại vụ", Level: "provincial",
			IssuedAt: day("2024-01-01").AddDate(0, 0, (i*7)%25), Subject: fmt.Sprintf("Giấy mời dự hội nghị số %d", i),
			Body: "Mời dự hội nghị tổng kết công tác đối ngoại nhân dân.",
		})
	}
	// Two undated invitations: they must sort last and still paginate.
	for i := range 2 {
		docs = append(docs, Doc{ID: fmt.Sprintf("hnx%d", i), Type: "GM", Issuer: "Sở Ngoại vụ", Subject: "Giấy mời dự hội nghị không ngày", Body: "hội nghị"})
	}
	return docs
}

func newIndex(t testing.TB, docs []Doc) *Index {
	t.Helper()
	ix, err := Open(filepath.Join(t.TempDir(), "index"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	if err := ix.Index(docs); err != nil {
		t.Fatal(err)
	}
	return ix
}

var ctx = context.Background()

func ids(r *Result) []string {
	out := make([]string, len(r.Hits))
	for i, h := range r.Hits {
		out[i] = h.ID
	}
	return out
}

func TestFoldedAccentedAndNFDQueriesAgree(t *testing.T) {
	ix := newIndex(t, fixture())
	accented := "kế hoạch đối ngoại"
	var want []string
	for _, q := range []string{accented, "ke hoach doi ngoai", norm.NFD.String(accented), "KẾ HOẠCH ĐỐI NGOẠI"} {
		res, err := ix.Search(ctx, Request{Q: q, Highlight: true, Size: 100})
		if err != nil {
			t.Fatalf("Search(%q): %v", q, err)
		}
		got := ids(res)
		slices.Sort(got)
		if want == nil {
			want = got
		} else if !slices.Equal(got, want) {
			t.Errorf("Search(%q) = %v, want %v", q, got, want)
		}
		if !slices.Contains(got, "kh1623") || !slices.Contains(got, "nfd") {
			t.Errorf("Search(%q) = %v, want kh1623 and nfd", q, got)
		}
		for _, h := range res.Hits {
			for f, frags := range h.Highlights {
				for _, fr := range frags {
					if !utf8.ValidString(fr) {
						t.Errorf("Search(%q) %s %s: invalid UTF-8 %q", q, h.ID, f, fr)
					}
				}
			}
			if h.ID == "kh1623" {
				want := "<mark>Kế</mark> <mark>hoạch</mark> công tác <mark>đối</mark> <mark>ngoại</mark> năm 2018"
				if got := h.Highlights["subject"]; len(got) != 1 || got[0] != want {
					t.Errorf("Search(%q) subject highlight = %q, want %q", q, got, want)
				}
			}
			if h.ID == "nfd" && !strings.Contains(strings.Join(h.Highlights["body"], ""), "<mark>đối</mark>") {
				t.Errorf("Search(%q) nfd body highlight = %q, want a marked NFC đối", q, h.Highlights["body"])
			}
		}
	}
}

func TestTonePlacement(t *testing.T) {
	ix := newIndex(t, fixture())
	for _, q := range []string{"hòa bình", "hoà bình", "hoa binh"} {
		res, err := ix.Search(ctx, Request{Q: q})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Hits) == 0 || res.Hits[0].ID != "nfd" {
			t.Errorf("Search(%q) = %v, want nfd first", q, ids(res))
		}
	}
}

func TestNumberRanksFirst(t *testing.T) {
	ix := newIndex(t, fixture())
	tests := []struct {
		q          string
		first      string
		second     string // "" when not checked
		notInFirst string
	}{
		{"1623/KH-UBND", "kh1623", "bc-kh", ""},
		{"1623 /KH - UBND", "kh1623", "bc-kh", ""},
		{"Số: 1623/KH-UBND", "kh1623", "", ""},
		{"1623 kh ubnd", "kh1623", "", ""},
		{"1623/kh-ubnd", "kh1623", "", ""}, // exact key misses, folded key stands in
		{"30/QĐ-UBND", "qd30", "", "qyd30"},
		{"30/QyĐ-UBND", "qyd30", "", "qd30"},
		{"30/2020/NĐ-CP", "nd30", "", ""},
		{"25-CT/TW", "ct25", "kh1623", ""},
		{"kế hoạch 1623/KH-UBND đối ngoại", "kh1623", "", ""},
	}
	for _, tt := range tests {
		res, err := ix.Search(ctx, Request{Q: tt.q})
		if err != nil {
			t.Fatalf("Search(%q): %v", tt.q, err)
		}
		got := ids(res)
		if len(got) == 0 || got[0] != tt.first {
			t.Errorf("Search(%q) = %v, want %s first", tt.q, got, tt.first)
			continue
		}
		if tt.second != "" && (len(got) < 2 || got[1] != tt.second) {
			t.Errorf("Search(%q) = %v, want %s second", tt.q, got, tt.second)
		}
		if tt.notInFirst != "" && len(got) > 1 && res.Hits[1].Score*10 > res.Hits[0].Score && got[1] == tt.notInFirst {
			t.Errorf("Search(%q): %s scores close to %s: %v", tt.q, tt.notInFirst, tt.first, res.Hits[:2])
		}
	}
}

func TestLongQuestionRanksByOverlap(t *testing.T) {
	ix := newIndex(t, fixture())
	q := "người lao động được nghỉ phép bao nhiêu ngày"
	for _, q := range []string{q, foldQ(q)} {
		res, err := ix.Search(ctx, Request{Q: q})
		if err != nil {
			t.Fatal(err)
		}
		got := ids(res)
		if len(got) < 2 || got[0] != "leave" || !slices.Contains(got, "days") {
			t.Errorf("Search(%q) = %v, want leave first and days among the hits (no word is mandatory)", q, got)
		}
	}
}

func foldQ(s string) string { return strings.ToLower(fold(s)) }

func TestQueryOperators(t *testing.T) {
	ix := newIndex(t, fixture())
	tests := []struct {
		q       string
		want    []string // must be present
		notWant []string // must be absent
	}{
		{`"đa phương"`, []string{"kh1623", "ct25"}, []string{"nfd", "qyd30"}},
		{`"da phuong"`, []string{"kh1623", "ct25"}, []string{"nfd"}},
		{`đối ngoại -"đa phương"`, []string{"nfd", "bc-kh"}, []string{"kh1623", "ct25"}},
		{`đối ngoại -lãnh`, []string{"ct25"}, []string{"kh1623"}},
		{`doi ngoai -lanh`, []string{"ct25"}, []string{"kh1623"}},
		{`+"văn thư" nghị định`, []string{"nd30"}, []string{"kh1623"}},
		{`trien*`, []string{"nfd", "bc-kh"}, []string{"kh1623"}},
		{`triển*`, []string{"nfd", "bc-kh"}, []string{"kh1623"}},
		{`-hội`, []string{"kh1623"}, []string{"hn00", "hnx0"}},
	}
	for _, tt := range tests {
		res, err := ix.Search(ctx, Request{Q: tt.q, Size: 100})
		if err != nil {
			t.Fatalf("Search(%q): %v", tt.q, err)
		}
		got := ids(res)
		for _, w := range tt.want {
			if !slices.Contains(got, w) {
				t.Errorf("Search(%q) = %v, want %s", tt.q, got, w)
			}
		}
		for _, w := range tt.notWant {
			if slices.Contains(got, w) {
				t.Errorf("Search(%q) = %v, want no %s", tt.q, got, w)
			}
		}
	}
}

func TestBadQueries(t *testing.T) {
	ix := newIndex(t, fixture())
	many := strings.Repeat("từ ", 1000)
	tests := []struct {
		name string
		r    Request
	}{
		{"unbalanced quote", Request{Q: `"kế hoạch`}},
		{"lone minus", Request{Q: `đối ngoại -`}},
		{"double minus", Request{Q: `đối --ngoại`}},
		{"lone plus", Request{Q: `+`}},
		{"star alone", Request{Q: `*`}},
		{"one-letter prefix", Request{Q: `t*`}},
		{"inner star", Request{Q: `tr*en`}},
		{"empty phrase", Request{Q: `""`}},
		{"10 MB", Request{Q: strings.Repeat("a", 10<<20)}},
		{"1000 terms", Request{Q: many}},
		{"invalid UTF-8", Request{Q: "k\xffe"}},
		{"sort", Request{Q: "a", Sort: "date"}},
		{"cursor", Request{Q: "a", After: "not-a-cursor"}},
		{"clearance", Request{Q: "a", Clearance: "secret"}},
		{"dates", Request{From: day("2020-01-02"), To: day("2020-01-01")}},
	}
	for _, tt := range tests {
		res, err := ix.Search(ctx, tt.r)
		if !errors.Is(err, archive.ErrInvalid) {
			t.Errorf("%s: Search = %v, %v; want ErrInvalid", tt.name, res, err)
			continue
		}
		var ae *archive.Error
		if !errors.As(err, &ae) || len(ae.Message) < 20 || len(ae.Message) > 200 {
			t.Errorf("%s: error %q is not a short hint", tt.name, err)
		}
	}
}

// A caller never learns anything about a document above clearance: a word
// found only in a secret document gives the same result as nonsense.
func TestClearanceIsInsideTheQuery(t *testing.T) {
	ix := newIndex(t, fixture())
	for _, tt := range []struct{ q, nonsense string }{
		{"zebrakhu", "qwxzzyvv"},
		{"hầmngầm", "qwxzzyvv"},
		{"zebrakhu hội nghị", "qwxzzyvv hội nghị"},
		// The number's syllables still match words in visible documents,
		// so its twin is a number of the same shape that exists nowhere.
		{"12/KH-SNgV", "12/KH-SNgX"},
		{"12 kh sngv", "12 kh sngx"},
		{`"bảo vệ đoàn cấp cao"`, `"bảo vệ đoàn cấp thấp"`},
	} {
		q := tt.q
		r := Request{Q: q, Facets: true, Highlight: true, Clearance: archive.Unclassified}
		got, err := ix.Search(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		r.Q = tt.nonsense
		nonsense, err := ix.Search(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		// The cursor is bound to its query text, so it differs by design.
		got.Next, nonsense.Next = "", ""
		if !reflect.DeepEqual(got, nonsense) {
			t.Errorf("Search(%q, none) = %+v, want the nonsense result %+v", q, got, nonsense)
		}
		cleared, err := ix.Search(ctx, Request{Q: q, Clearance: archive.Mat})
		if err != nil {
			t.Fatal(err)
		}
		if ids := ids(cleared); !strings.Contains(q, "hội") && (len(ids) == 0 || ids[0] != "secret") {
			t.Errorf("Search(%q, mat) = %v, want secret first", q, ids)
		}
	}
	// Facets over everything: the secret KH is counted only with clearance.
	for _, c := range []struct {
		clearance archive.Classification
		kh        int
	}{{archive.Unclassified, 1}, {archive.Mat, 2}, {archive.TuyetMat, 2}} {
		res, err := ix.Search(ctx, Request{Facets: true, Clearance: c.clearance})
		if err != nil {
			t.Fatal(err)
		}
		if got := facetCount(res, "type", "KH"); got != c.kh {
			t.Errorf("clearance %s: facet type KH = %d, want %d", c.clearance, got, c.kh)
		}
	}
	if _, err := ix.Similar(ctx, "secret", archive.Unclassified, 5); !errors.Is(err, archive.ErrNotFound) {
		t.Errorf("Similar(secret, none) error = %v, want ErrNotFound", err)
	}
	res, err := ix.Similar(ctx, "kh1623", archive.Unclassified, 50)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(ids(res), "secret") {
		t.Errorf("Similar(kh1623, none) = %v, includes secret", ids(res))
	}
}

func facetCount(r *Result, facet, term string) int {
	for _, ft := range r.Facets[facet] {
		if ft.Term == term {
			return ft.Count
		}
	}
	return 0
}

func TestFacetsAndFilters(t *testing.T) {
	ix := newIndex(t, fixture())
	res, err := ix.Search(ctx, Request{Q: "hội nghị", Type: "GM", Facets: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 27 {
		t.Errorf("Total = %d, want 27", res.Total)
	}
	wantFacets := map[string][]FacetTerm{
		"type":   {{"GM", 27}},
		"issuer": {{"Sở Ngoại vụ", 27}},
		"year":   {{"2024", 25}},
		"level":  {{"provincial", 25}},
	}
	if !reflect.DeepEqual(res.Facets, wantFacets) {
		t.Errorf("Facets = %v, want %v", res.Facets, wantFacets)
	}
	tests := []struct {
		r     Request
		total uint64
	}{
		{Request{Type: "KH"}, 1},
		{Request{Type: "QyĐ"}, 1},
		{Request{Issuer: "Sở Ngoại vụ"}, 29}, // and the secret one
		{Request{Level: "central"}, 2},
		{Request{Year: 2019}, 2},
		{Request{Task: "t1"}, 2},
		{Request{Task: "t2"}, 1},
		{Request{From: day("2019-01-06"), To: day("2020-03-05")}, 2},
		{Request{Q: "quy", Year: 2019}, 2},
		{Request{Q: "đối ngoại", Level: "central"}, 1},
	}
	for _, tt := range tests {
		res, err := ix.Search(ctx, tt.r)
		if err != nil {
			t.Fatal(err)
		}
		if res.Total != tt.total {
			t.Errorf("Search(%+v).Total = %d, want %d (%v)", tt.r, res.Total, tt.total, ids(res))
		}
	}
}

func TestSortByDate(t *testing.T) {
	ix := newIndex(t, fixture())
	for _, sort := range []string{SortIssued, SortIssuedDsc} {
		res, err := ix.Search(ctx, Request{Q: "hội nghị", Type: "GM", Sort: sort, Size: 100})
		if err != nil {
			t.Fatal(err)
		}
		var dates []string
		for _, h := range res.Hits {
			dates = append(dates, h.IssuedAt)
		}
		n := len(dates)
		if n != 27 || dates[n-1] != "" || dates[n-2] != "" {
			t.Fatalf("sort %s: dates %v, want 27 with the two undated last", sort, dates)
		}
		dated := dates[:n-2]
		want := slices.Clone(dated)
		slices.Sort(want)
		if sort == SortIssuedDsc {
			slices.Reverse(want)
		}
		if !slices.Equal(dated, want) {
			t.Errorf("sort %s: dates %v, want %v", sort, dated, want)
		}
	}
}

// Pages chained through Next cover every hit exactly once, in every sort.
func TestPagination(t *testing.T) {
	ix := newIndex(t, fixture())
	for _, r := range []Request{
		{Q: "hội nghị đối ngoại"},
		{Q: "hội nghị", Sort: SortIssued},
		{Q: "hội nghị", Sort: SortIssuedDsc},
		{Issuer: "Sở Ngoại vụ"},
	} {
		all := r
		all.Size = 100
		full, err := ix.Search(ctx, all)
		if err != nil {
			t.Fatal(err)
		}
		for _, size := range []int{1, 4, 7, int(full.Total)} {
			page := r
			page.Size = size
			var got []string
			for n := 0; ; n++ {
				res, err := ix.Search(ctx, page)
				if err != nil {
					t.Fatalf("%+v: %v", page, err)
				}
				if res.Total != full.Total {
					t.Errorf("%+v: Total = %d, want %d", page, res.Total, full.Total)
				}
				got = append(got, ids(res)...)
				if res.Next == "" || n > 100 {
					break
				}
				page.After = res.Next
			}
			if want := ids(full); !slices.Equal(got, want) {
				t.Errorf("%+v size %d: pages = %v, want %v", r, size, got, want)
			}
		}
	}
	// A cursor replayed with another query is refused, not misapplied.
	res, err := ix.Search(ctx, Request{Q: "hội nghị", Size: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Search(ctx, Request{Q: "đối ngoại", Size: 2, After: res.Next}); !errors.Is(err, archive.ErrInvalid) {
		t.Errorf("foreign cursor: err = %v, want ErrInvalid", err)
	}
}

func TestHighlightEscapesMarkup(t *testing.T) {
	ix := newIndex(t, fixture())
	for _, q := range []string{"báo cáo đoàn ra", "script alert", "bao cao dam"} {
		res, err := ix.Search(ctx, Request{Q: q, Highlight: true, Size: 100})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, h := range res.Hits {
			if h.ID != "script" {
				continue
			}
			found = true
			all := strings.Join(append(h.Highlights["subject"], h.Highlights["body"]...), "\n")
			stripped := strings.NewReplacer("<mark>", "", "</mark>", "").Replace(all)
			if strings.ContainsAny(stripped, "<>") {
				t.Errorf("Search(%q) highlights %q carry markup other than <mark>", q, all)
			}
			if !strings.Contains(all, "&lt;") || !strings.Contains(all, "<mark>") {
				t.Errorf("Search(%q) highlights %q: want escaped text and marks", q, all)
			}
			if h.Subject != "Báo cáo <script>alert('x')</script> & đoàn ra" {
				t.Errorf("Hit.Subject = %q, want the stored original (the web layer escapes it)", h.Subject)
			}
		}
		if !found {
			t.Errorf("Search(%q) = %v, want the script document", q, ids(res))
		}
	}
}

func TestFragmentsOfLongBody(t *testing.T) {
	body := strings.Repeat("Mở đầu văn bản không liên quan. ", 40) + "Công tác đối ngoại nhân dân. " +
		strings.Repeat("Đoạn giữa dài dòng. ", 40) + "Lãnh sự và bảo hộ công dân."
	ix := newIndex(t, []Doc{{ID: "long", Subject: "Tổng hợp", Body: body}})
	res, err := ix.Search(ctx, Request{Q: "đối ngoại lãnh sự", Highlight: true})
	if err != nil || len(res.Hits) != 1 {
		t.Fatal(res, err)
	}
	frags := res.Hits[0].Highlights["body"]
	if len(frags) != 2 {
		t.Fatalf("fragments = %q, want 2", frags)
	}
	for _, f := range frags {
		if !utf8.ValidString(f) || len(f) > 2*fragmentBytes || !strings.HasPrefix(f, "…") {
			t.Errorf("fragment %q: want valid UTF-8, bounded, starting with an ellipsis", f)
		}
	}
	if !strings.Contains(frags[0], "<mark>đối</mark> <mark>ngoại</mark>") || !strings.Contains(frags[1], "<mark>Lãnh</mark> <mark>sự</mark>") {
		t.Errorf("fragments = %q", frags)
	}
}

func TestSimilar(t *testing.T) {
	ix := newIndex(t, fixture())
	res, err := ix.Similar(ctx, "bc-kh", archive.Unclassified, 5)
	if err != nil {
		t.Fatal(err)
	}
	got := ids(res)
	if len(got) == 0 || got[0] != "kh1623" {
		t.Errorf("Similar(bc-kh) = %v, want kh1623 (earlier, same matter) first", got)
	}
	for _, id := range got {
		if id == "bc-kh" || id == "nfd" || id == "script" {
			t.Errorf("Similar(bc-kh) = %v: %s is the source itself or later", got, id)
		}
	}
	if _, err := ix.Similar(ctx, "nope", archive.Unclassified, 5); !errors.Is(err, archive.ErrNotFound) {
		t.Errorf("Similar(nope) err = %v, want ErrNotFound", err)
	}
}

func TestUpsertDeleteCount(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ix")
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	docs := fixture()
	if err := ix.Index(docs); err != nil {
		t.Fatal(err)
	}
	docs[0].Subject = "Kế hoạch sửa lại thủy lợi"
	if err := ix.Index(docs[:1]); err != nil {
		t.Fatal(err)
	}
	if err := ix.Delete([]string{"qd30", "unknown"}); err != nil {
		t.Fatal(err)
	}
	n, err := ix.Count()
	if err != nil || n != uint64(len(docs)-1) {
		t.Errorf("Count = %d, %v; want %d", n, err, len(docs)-1)
	}
	// Reopen: the index persists, the upsert replaced the subject.
	ix = reopen(t, ix, dir)
	defer ix.Close()
	res, err := ix.Search(ctx, Request{Q: "thuỷ lợi"})
	if err != nil || len(res.Hits) != 1 || res.Hits[0].ID != "kh1623" {
		t.Errorf("Search after upsert = %v, %v", res, err)
	}
	res, err = ix.Search(ctx, Request{Q: "30/QĐ-UBND"})
	if err != nil || slices.Contains(ids(res), "qd30") {
		t.Errorf("Search after delete = %v, %v", res, err)
	}
}

func TestOpenCorruptIndex(t *testing.T) {
	tests := []struct {
		name  string
		setup func(dir string) error
	}{
		{"garbage meta", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "index_meta.json"), []byte("\x00garbage{"), 0o644)
		}},
		{"garbage files", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "store"), []byte("garbage"), 0o644)
		}},
		{"damaged store", func(dir string) error {
			ix, err := create(dir, 0)
			if err != nil {
				return err
			}
			ix.Close()
			return filepath.WalkDir(filepath.Join(dir, "store"), func(p string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				return os.WriteFile(p, []byte("garbage garbage garbage"), 0o644)
			})
		}},
	}
	for _, tt := range tests {
		dir := filepath.Join(t.TempDir(), "index")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := tt.setup(dir); err != nil {
			t.Fatal(err)
		}
		ix, err := Open(dir)
		if !errors.Is(err, ErrCorrupt) {
			if ix != nil {
				ix.Close()
			}
			t.Errorf("%s: Open = %v, want ErrCorrupt", tt.name, err)
		}
	}
	// A missing directory and an empty one are created.
	for _, dir := range []string{filepath.Join(t.TempDir(), "a", "b"), t.TempDir()} {
		ix, err := Open(dir)
		if err != nil {
			t.Fatalf("Open(%s) = %v", dir, err)
		}
		ix.Close()
	}
}

func TestPlainDocumentsFoundByAccentedQuery(t *testing.T) {
	docs := append(fixture(),
		Doc{ID: "plain", Type: "CV", Issuer: "So Ngoai vu", Subject: "Ve ke hoach doi ngoai nam 2019",
			Body: "So Ngoai vu de nghi cac don vi xay dung ke hoach doi ngoai va gui ve truoc ngay 15."},
		Doc{ID: "tones", Type: "CV", Issuer: "Sở Ngoại vụ", Subject: "Kể chuyện đời người",
			Body: "Kẻ hoặc định đổi ngôi nhà cũ."})
	ix := newIndex(t, docs)
	res, err := ix.Search(ctx, Request{Q: "kế hoạch đối ngoại", Size: 100, Highlight: true})
	if err != nil {
		t.Fatal(err)
	}
	got := ids(res)
	if !slices.Contains(got, "plain") {
		t.Errorf("accented query = %v, want the document written without diacritics", got)
	}
	if slices.Contains(got, "tones") {
		t.Errorf("accented query = %v: a document with other tones (kể, kẻ, đổi) must not match", got)
	}
	for _, h := range res.Hits {
		if h.ID == "plain" && !strings.Contains(strings.Join(h.Highlights["subject"], ""), "<mark>ke</mark> <mark>hoach</mark>") {
			t.Errorf("plain highlights = %v", h.Highlights)
		}
	}
	// Typed without diacritics, every spelling matches, as before.
	res, err = ix.Search(ctx, Request{Q: "ke hoach doi ngoai", Size: 100})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(res); !slices.Contains(got, "plain") || !slices.Contains(got, "tones") || !slices.Contains(got, "kh1623") {
		t.Errorf("unaccented query = %v", got)
	}
}

func TestIsPlain(t *testing.T) {
	for _, tt := range []struct {
		text string
		want bool
	}{
		{"Ke hoach cong tac doi ngoai nam 2018 cua tinh Quang Nam", true},
		{"Annual report on foreign affairs of the province", true},
		{"Kế hoạch công tác đối ngoại năm 2018 của tỉnh Quảng Nam", false},
		{norm.NFD.String("Kế hoạch công tác đối ngoại"), false},
		{"Ke hoach cong tac doi ngoai nam 2018 cua tinh Quảng Nam và", false}, // 2 of 12 words marked
		{"", false},
		{"12/2020 - 15", false},
	} {
		if got := isPlain(tt.text); got != tt.want {
			t.Errorf("isPlain(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}

// TestLeapfrogFilterMatchesBleveFilter checks Search (leapfrogged filters,
// and topK's pruned ranking for free words) against Bleve's own
// BooleanQuery filter scoring every match: same total, same documents in
// the same order with the same relative scores, for selective and broad
// filters and pages small enough for pruning to skip most documents.
func TestLeapfrogFilterMatchesBleveFilter(t *testing.T) {
	docs := syntheticDocs()
	// Several segments, updated and deleted documents: what the facet
	// cache and the internal ids of a live index look like.
	ix := newIndex(t, docs[:100])
	for from := 100; from < len(docs); from += 125 {
		if err := ix.Index(docs[from:min(from+125, len(docs))]); err != nil {
			t.Fatal(err)
		}
	}
	var changed []Doc
	for i := 0; i < len(docs); i += 13 {
		d := docs[i]
		d.Type, d.Issuer = "TB", "Sở Ngoại vụ"
		changed = append(changed, d)
	}
	if err := ix.Index(changed); err != nil {
		t.Fatal(err)
	}
	var gone []string
	for i := 5; i < len(docs); i += 31 {
		gone = append(gone, docs[i].ID)
	}
	if err := ix.Delete(gone); err != nil {
		t.Fatal(err)
	}
	filters := []Request{{}, {Year: 2017}, {Type: "KH"}, {Type: "BC", Year: 2019}, {Issuer: "Sở 3"}, {Clearance: archive.Mat},
		{From: day("2016-03-01"), To: day("2016-09-30")}}
	for _, q := range []string{"kế hoạch đối ngoại", "báo cáo kết quả kiểm tra", "xu phat", `"hóa chất" -người`, "quyết*", "", "người lao động được nghỉ phép bao nhiêu ngày"} {
		for _, f := range filters {
			for _, size := range []int{3, 20, 100} {
				r := f
				r.Q, r.Size, r.Facets = q, size, true
				if r.Clearance == "" {
					r.Clearance = archive.Unclassified
				}
				got, err := ix.Search(ctx, r)
				if err != nil {
					t.Fatal(err)
				}
				p, err := parse(r.Q, ix.analyze)
				if err != nil {
					t.Fatal(err)
				}
				must, should, not, _ := defaultWeights.build(p, func(string) bool { return true }, nil)
				ref := query.NewBooleanQuery(nil, nil, nil) // the query as it was before leapfrog
				ref.AddMust(must...)
				ref.AddShould(should...)
				ref.AddMustNot(not...)
				ref.AddFilter(r.filter())
				req := bleve.NewSearchRequestOptions(query.NewCustomScoreQueryWithScorer(ref, quantize, nil, nil), 101, 0, false)
				req.SortByCustom(sortOrder(map[bool]string{true: SortIssuedDsc, false: SortRelevance}[q == ""]))
				req.AddFacet(fFacets, bleve.NewFacetRequest(fFacets, maxFacetTerms))
				want, err := ix.run(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				if wf := splitFacets(want.Facets[fFacets]); !reflect.DeepEqual(got.Facets, wf) {
					t.Errorf("%q %+v: facets %v, Bleve %v", q, f, got.Facets, wf)
				}
				if got.Total != want.Total {
					t.Errorf("%q %+v: total %d, Bleve filter %d", q, f, got.Total, want.Total)
					continue
				}
				// Bleve's BooleanSearcher normalises scores by a query norm
				// that a lone disjunction computes differently: scores may
				// differ by one factor for the whole query, never in order.
				ratio := 0.0
				if len(got.Hits) > 0 && want.Hits[0].Score != 0 {
					ratio = got.Hits[0].Score / want.Hits[0].Score
				}
				for i, h := range got.Hits {
					if h.ID != want.Hits[i].ID || math.Abs(h.Score-ratio*want.Hits[i].Score) > 1e-5*h.Score {
						t.Errorf("%q %+v: hit %d = %s %v, Bleve filter %s %v", q, f, i, h.ID, h.Score, want.Hits[i].ID, want.Hits[i].Score)
						break
					}
				}
				if len(got.Hits) != min(size, len(want.Hits)) {
					t.Errorf("%q %+v size %d: %d hits, Bleve filter %d", q, f, size, len(got.Hits), len(want.Hits))
				}
			}
		}
	}
}

// syntheticDocs are 600 documents made of a few common syllables in
// varying order, so that phrases, pairs and filters all have work to do.
func syntheticDocs() []Doc {
	words := strings.Fields("kế hoạch đối ngoại báo cáo kết quả kiểm tra hóa chất người lao động nghỉ phép quyết định xử phạt vi phạm hành chính giấy chứng nhận")
	types := []string{"KH", "BC", "QĐ", "CV"}
	var docs []Doc
	for i := range 600 {
		var b strings.Builder
		for j := range 5 + i%17 {
			b.WriteString(words[(i*7+j*j*3+j)%len(words)])
			b.WriteByte(' ')
		}
		c := archive.Unclassified
		if i%9 == 0 {
			c = archive.Mat
		}
		docs = append(docs, Doc{ID: fmt.Sprintf("d%03d", i), Type: types[i%len(types)], Issuer: fmt.Sprintf("Sở %d", i%5),
			Classification: c, IssuedAt: day("2015-01-01").AddDate(0, i%97, i%13),
			Subject: words[i%len(words)] + " " + words[(i/3)%len(words)], Body: b.String()})
	}
	return docs
}

// TestPhraseMatchesBlevePhrase: a phrase leapfrogged against its shingles
// and the filter finds exactly what Bleve's phrase query alone finds.
func TestPhraseMatchesBlevePhrase(t *testing.T) {
	docs := syntheticDocs()
	ix := newIndex(t, docs)
	type phrase struct {
		q     string
		terms []string
		acc   bool
	}
	var cases []phrase
	for _, n := range []int{10, 77, 301, 555} { // phrases that occur: cut from bodies
		w := strings.Fields(docs[n].Body)[1 : 2+n%3]
		cases = append(cases, phrase{`"` + strings.Join(w, " ") + `"`, w, true})
	}
	w := strings.Fields(docs[123].Body)[2:4]
	cases = append(cases, phrase{`"` + foldQ(strings.Join(w, " ")) + `"`, strings.Fields(foldQ(strings.Join(w, " "))), false})
	for _, tc := range cases {
		for _, f := range []Request{{}, {Year: 2016}, {Type: "BC"}} {
			r := f
			r.Q, r.Size, r.Clearance = tc.q, 100, archive.Mat
			got, err := ix.Search(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			var ps []query.Query
			for _, fld := range []string{fSubject, fBody} {
				if !tc.acc {
					fld += "_f"
				}
				ps = append(ps, query.NewPhraseQuery(tc.terms, fld))
			}
			ref := query.NewBooleanQuery([]query.Query{query.NewDisjunctionQuery(ps)}, nil, nil)
			ref.AddFilter(r.filter())
			want, err := ix.run(ctx, bleve.NewSearchRequestOptions(ref, 100, 0, false))
			if err != nil {
				t.Fatal(err)
			}
			gotIDs, wantIDs := ids(got), []string{}
			for _, h := range want.Hits {
				wantIDs = append(wantIDs, h.ID)
			}
			slices.Sort(gotIDs)
			slices.Sort(wantIDs)
			if got.Total != want.Total || (want.Total <= 100 && !slices.Equal(gotIDs, wantIDs)) {
				t.Errorf("%s %+v: %d %v, Bleve phrase %d %v", tc.q, f, got.Total, gotIDs, want.Total, wantIDs)
			}
			if want.Total == 0 && f.Year == 0 && f.Type == "" {
				t.Errorf("%s: no match at all; the test needs one", tc.q)
			}
		}
	}
}

// TestViewMatchesBleve checks the bitmap evaluation of queries (view.eval)
// against Bleve's own searchers, document for document, on an index of
// several segments with updated and deleted documents, for every query
// shape the package builds and a few it does not (those are collected
// from Bleve's searcher).
func TestViewMatchesBleve(t *testing.T) {
	docs := syntheticDocs()
	ix := newIndex(t, docs[:150])
	if err := ix.Index(docs[150:400]); err != nil {
		t.Fatal(err)
	}
	var gone []string
	for i := 3; i < 400; i += 17 {
		gone = append(gone, docs[i].ID)
	}
	if err := ix.Delete(gone); err != nil {
		t.Fatal(err)
	}
	if err := ix.Index(docs[400:]); err != nil {
		t.Fatal(err)
	}
	w := func(t string) query.Query { return termQ(t, fBody, 1) }
	// Words that occur together: from the bodies of live documents.
	body := func(i int) []string { return strings.Fields(docs[i].Body) }
	b21, b24, b30 := body(21), body(24), body(30) // docs[24] is a KH
	two := query.NewDisjunctionQuery([]query.Query{w("hóa"), w("chất"), w("động")})
	two.SetMin(2)
	mustNot := query.NewBooleanQuery(nil, nil, []query.Query{w("kế")})
	mustShould := query.NewBooleanQuery([]query.Query{w("báo")}, []query.Query{w("quyết")}, []query.Query{w("hành")})
	shouldMin := query.NewBooleanQuery([]query.Query{w(b30[0])}, []query.Query{w(b30[1]), w("không-có")}, nil)
	shouldMin.SetMinShould(1)
	withFilter := query.NewBooleanQuery(nil, []query.Query{w(b24[0]), w(b24[1])}, nil)
	withFilter.AddFilter(termQ("KH", fType, 1))
	prefix := query.NewPrefixQuery("quy")
	prefix.SetField(fBody)
	queries := map[string]query.Query{
		"term":              w("tra"),
		"absent":            w("không-có"),
		"none":              query.NewMatchNoneQuery(),
		"all":               query.NewMatchAllQuery(),
		"or":                disj(w("hóa"), w("tra"), termQ("QĐ", fType, 1)),
		"and":               conj(w(b21[0]), w(b21[1]), aclFilter(archive.Mat)),
		"min two":           two,
		"must not only":     mustNot,
		"must should not":   mustShould,
		"should min":        shouldMin,
		"boolean filter":    withFilter,
		"filtered":          &filteredQuery{q: disj(w("vi"), w("hành")), filter: termQ("2017", fYear, 1)},
		"prefix":            prefix,
		"phrase":            query.NewPhraseQuery(strings.Fields(docs[10].Body)[:2], fBody),
		"dates":             (&Request{From: day("2016-03-01"), To: day("2016-09-30"), Clearance: archive.Unclassified}).filter(),
		"empty conjunction": query.NewConjunctionQuery(nil),
	}
	v, err := ix.view(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer v.close()
	if len(v.segs) < 2 {
		t.Fatalf("%d segments: the test wants several", len(v.segs))
	}
	for name, q := range queries {
		b, err := v.eval(q)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got []uint64
		for s, bm := range b {
			if bm != nil {
				for _, d := range bm.ToArray() {
					got = append(got, v.offsets[s]+uint64(d))
				}
			}
		}
		var want []uint64
		// Scored: unscored, Bleve turns a disjunction into one bitmap
		// searcher that forgets a minimum of should clauses.
		s, err := q.Searcher(v.ctx, v.r, ix.bi.Mapping(), bsearch.SearcherOptions{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sctx := &bsearch.SearchContext{DocumentMatchPool: bsearch.NewDocumentMatchPool(s.DocumentMatchPoolSize()+1, 0), IndexReader: v.r}
		for {
			d, err := s.Next(sctx)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if d == nil {
				break
			}
			want = append(want, d.IndexInternalID.Value())
			sctx.DocumentMatchPool.Put(d)
		}
		s.Close()
		if !slices.Equal(got, want) {
			t.Errorf("%s: view has %d documents, Bleve %d", name, len(got), len(want))
		}
		if name != "none" && name != "absent" && name != "empty conjunction" && len(want) == 0 {
			t.Errorf("%s: matches nothing; the comparison proves little", name)
		}
		// The cursor and membership test agree with the list.
		c := v.cursor(b)
		for i, g := range got {
			if !v.contains(b, g) {
				t.Errorf("%s: contains(%d) is false", name, g)
			}
			from := uint64(0)
			if i > 0 {
				from = got[i-1] + 1
			}
			if next, ok := c.seek(from); !ok || next != g {
				t.Errorf("%s: seek(%d) = %d %v, want %d", name, from, next, ok, g)
				break
			}
		}
		if len(got) > 0 {
			if _, ok := c.seek(got[len(got)-1] + 1); ok {
				t.Errorf("%s: seek past the last document found one", name)
			}
		}
	}
}

// TestTopKScoresEqualBleve checks topK, which scores term clauses itself
// (cursor.go), against Bleve scoring the same flat disjunction within the
// same filter: the same documents in the same order with the same
// (quantized) scores, bit for bit, on several segments with deletions.
func TestTopKScoresEqualBleve(t *testing.T) {
	ix := segmentedIndex(t, syntheticDocs(), 200, 0, 11)
	checked := 0
	for _, q := range []string{"kế hoạch đối ngoại", "ke hoach doi ngoai", "báo cáo kết quả kiểm tra hóa chất", "quyết*", "người lao động được nghỉ phép bao nhiêu ngày", "xu phat vi pham"} {
		for _, r := range []Request{{Clearance: archive.Unclassified}, {Clearance: archive.Mat, Year: 2015}, {Clearance: archive.Unclassified, Type: "BC"}} {
			p, err := parse(q, ix.analyze)
			if err != nil {
				t.Fatal(err)
			}
			filter := r.filter()
			must, should, _, _ := defaultWeights.build(p, func(string) bool { return true }, filter)
			if !topKApplies(must, should) {
				t.Fatalf("%q does not take the topK path", q)
			}
			v, err := ix.view(ctx)
			if err != nil {
				t.Fatal(err)
			}
			matches, err := v.eval(conj(disj(should...), filter))
			if err != nil {
				t.Fatal(err)
			}
			page, err := v.topK(should, filter, matches, 20)
			v.close()
			if err != nil {
				t.Fatal(err)
			}
			req := bleve.NewSearchRequestOptions(query.NewCustomScoreQueryWithScorer(&filteredQuery{q: disj(should...), filter: filter}, quantize, nil, nil), 20, 0, false)
			req.SortByCustom(sortOrder(SortRelevance))
			want, err := ix.run(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) != len(want.Hits) || len(page) == 0 {
				t.Fatalf("%q %+v: topK %d hits, Bleve %d", q, r, len(page), len(want.Hits))
			}
			for i, d := range page {
				if d.id != want.Hits[i].ID || d.score != want.Hits[i].Score {
					t.Errorf("%q %+v: hit %d = %s %v, Bleve %s %v", q, r, i, d.id, d.score, want.Hits[i].ID, want.Hits[i].Score)
					break
				}
			}
			checked++
		}
	}
	t.Logf("%d searches compared", checked)
}

// TestPageHighlightsMatchBleve checks the highlights of the topK path,
// whose term locations are read from the view's posting lists (page.go),
// against Bleve's locations for the same clauses (highlightHits, which the
// other paths use), hit for hit.
func TestPageHighlightsMatchBleve(t *testing.T) {
	docs := append(fixture(), syntheticDocs()...)
	docs = append(docs, Doc{ID: "plain", Type: "CV", Issuer: "So Ngoai vu", Subject: "Ve ke hoach doi ngoai nam 2019",
		Body: "So Ngoai vu de nghi cac don vi xay dung ke hoach doi ngoai va gui ve truoc ngay 15."})
	ix := newIndex(t, docs[:300])
	if err := ix.Index(docs[300:]); err != nil {
		t.Fatal(err)
	}
	compared := 0
	for _, q := range []string{"kế hoạch đối ngoại", "ke hoach doi ngoai", "báo cáo kết quả kiểm tra hóa chất", "quyết*", "1623/KH-UBND", "người lao động nghỉ phép",
		// and queries ranked by Bleve's collector: a phrase, an exclusion, a required word
		`"kế hoạch" -năm`, "+kế hoạch năm", "kiểm tra -hóa"} {
		res, err := ix.Search(ctx, Request{Q: q, Size: 40, Highlight: true, Clearance: archive.Unclassified})
		if err != nil {
			t.Fatal(err)
		}
		p, err := parse(q, ix.analyze)
		if err != nil {
			t.Fatal(err)
		}
		must, should, _, plain := defaultWeights.build(p, func(string) bool { return true }, nil)
		if len(plain) > 0 {
			should = append(should, &filteredQuery{q: disj(plain...), filter: termQ("1", fPlain, 1)})
		}
		ref := slices.Clone(res.Hits)
		for i := range ref {
			ref[i].Highlights = nil
		}
		if err := ix.highlightHits(ctx, ref, must, should); err != nil {
			t.Fatal(err)
		}
		marked := 0
		for i, h := range res.Hits {
			if len(must) > 0 {
				// With a required word, Bleve's boolean searcher leaves out
				// the locations of optional words in some documents (d340
				// of "+kế hoạch năm": "hoạch" in its subject is not marked).
				// Here every word Bleve marks is marked, and nothing that is
				// not a query word.
				got, want := markedWords(h.Highlights), markedWords(ref[i].Highlights)
				for w := range want {
					if !got[w] {
						t.Errorf("%q %s: %q not marked; highlights %q, Bleve's %q", q, h.ID, w, h.Highlights, ref[i].Highlights)
					}
				}
				for w := range got {
					if !strings.Contains(fold(strings.ToLower(q)), fold(w)) {
						t.Errorf("%q %s: %q marked, not a query word", q, h.ID, w)
					}
				}
			} else if !reflect.DeepEqual(h.Highlights, ref[i].Highlights) {
				t.Errorf("%q %s: highlights %q, Bleve's locations give %q", q, h.ID, h.Highlights, ref[i].Highlights)
			}
			if len(h.Highlights) > 0 {
				marked++
			}
			compared++
		}
		if marked == 0 {
			t.Errorf("%q: no hit has a highlight", q)
		}
	}
	t.Logf("%d hits compared", compared)
}

// markedWords are the lowercased words inside <mark> in highlights.
func markedWords(hl map[string][]string) map[string]bool {
	out := map[string]bool{}
	for _, frags := range hl {
		for _, f := range frags {
			for _, part := range strings.Split(f, "<mark>")[1:] {
				w, _, _ := strings.Cut(part, "</mark>")
				out[strings.ToLower(w)] = true
			}
		}
	}
	return out
}

// highlightHits is how highlights were made before page.go: a Bleve query
// restricted to the page, with term locations. Kept as the reference of
// TestPageHighlightsMatchBleve.
// (its original comment:) highlightHits fills the highlights of a page of hits. Term locations are
// asked for only for these documents, in a second query restricted to their
// ids: collecting locations while scoring every match of a broad query cost
// more than the search itself. Fragments are cut by this package from the
// locations, because Bleve's HTML formatter does not escape the text around
// the marks.
func (ix *Index) highlightHits(ctx context.Context, hits []Hit, must, should []query.Query) error {
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	text := query.NewBooleanQuery(nil, nil, nil)
	text.AddMust(must...)
	// Only fields with term vectors give locations; the shingle clauses
	// would cost their posting lists and mark nothing.
	var marking []query.Query
	for _, q := range should {
		if tq, ok := q.(*query.TermQuery); ok && !hasVectors[tq.FieldVal] {
			continue
		}
		marking = append(marking, q)
	}
	if len(marking) == 0 && len(must) == 0 {
		return nil
	}
	text.AddShould(marking...)
	q := query.NewConjunctionQuery([]query.Query{query.NewDocIDQuery(ids), text})
	req := bleve.NewSearchRequestOptions(q, len(ids), 0, false)
	req.Fields = []string{fSubject, fBody}
	req.IncludeLocations = true
	res, err := ix.run(ctx, req)
	if err != nil {
		return err
	}
	byID := make(map[string]map[string][]string, len(res.Hits))
	for _, dm := range res.Hits {
		byID[dm.ID] = highlights(dm)
	}
	for i := range hits {
		hits[i].Highlights = byID[hits[i].ID]
	}
	return nil
}

// TestBrowseMatchesBleve checks browsing (a search without words in date
// order, browse.go) against Bleve's collector with the same sort, page by
// page through the cursors: the same documents in the same order with the
// same scores and totals, on several segments with deletions, dates that
// tie, and documents without a date.
func TestBrowseMatchesBleve(t *testing.T) {
	docs := syntheticDocs()
	for i := 0; i < len(docs); i += 9 {
		docs[i].IssuedAt = time.Time{} // no date: last either way
	}
	ix := segmentedIndex(t, docs, 250, 4, 23)
	pages := 0
	for _, f := range []Request{{Clearance: archive.Unclassified}, {Clearance: archive.Mat, Type: "KH"}, {Clearance: archive.Unclassified, Year: 2016},
		// words in date order: the page's scores are computed for it
		{Q: "kế hoạch đối ngoại", Clearance: archive.Unclassified}, {Q: "xu phat vi pham", Clearance: archive.Mat, Year: 2016}} {
		for _, sortBy := range []string{SortIssuedDsc, SortIssued} {
			for _, size := range []int{7, 50} {
				r := f
				r.Sort, r.Size = sortBy, size
				var after []string
				seen := 0
				for {
					got, err := ix.Search(ctx, r)
					if err != nil {
						t.Fatal(err)
					}
					v, err := ix.view(ctx)
					if err != nil {
						t.Fatal(err)
					}
					var text query.Query = query.NewMatchAllQuery()
					if r.Q != "" {
						_, should, _ := searchClauses(t, ix, r.Q, r)
						text = disj(should...)
					}
					q := query.NewCustomScoreQueryWithScorer(&filteredQuery{q: text, filter: r.filter()}, quantize, nil, nil)
					want, total, _, err := v.ranked(q, sortOrder(sortBy), after, size+1, false)
					v.close()
					if err != nil {
						t.Fatal(err)
					}
					if got.Total != total {
						t.Fatalf("%+v: total %d, Bleve %d", r, got.Total, total)
					}
					n := min(len(want), size)
					if len(got.Hits) != n {
						t.Fatalf("%+v after %q: %d hits, Bleve %d", r, after, len(got.Hits), n)
					}
					for i, h := range got.Hits {
						if h.ID != want[i].ID || h.Score != want[i].Score {
							t.Fatalf("%+v after %q: hit %d = %s %v, Bleve %s %v", r, after, i, h.ID, h.Score, want[i].ID, want[i].Score)
						}
					}
					pages++
					seen += len(got.Hits)
					if len(want) <= size {
						if got.Next != "" {
							t.Fatalf("%+v: a cursor after the last page", r)
						}
						break
					}
					wantAfter := cursorValues(sortBy, want[size-1])
					if after, err = decodeCursor(got.Next, r.cursorKey(sortBy)); err != nil || !slices.Equal(after, wantAfter) {
						t.Fatalf("%+v: cursor %q (%v), Bleve's values %q", r, after, err, wantAfter)
					}
					r.After = got.Next
				}
				if uint64(seen) != func() uint64 {
					res, _ := ix.Search(ctx, Request{Q: f.Q, Clearance: f.Clearance, Type: f.Type, Year: f.Year})
					return res.Total
				}() {
					t.Errorf("%+v: pages held %d documents", r, seen)
				}
			}
		}
	}
	t.Logf("%d pages compared", pages)
}

// TestExclusionsRankAsBleve checks free words with exclusions, which take
// the topK path with the exclusions in the filter, against Bleve's boolean
// query of the same clauses: ids, scores (bit for bit), totals and facets.
func TestExclusionsRankAsBleve(t *testing.T) {
	docs := append(fixture(), syntheticDocs()...)
	ix := newIndex(t, docs[:300])
	if err := ix.Index(docs[300:]); err != nil {
		t.Fatal(err)
	}
	compared := 0
	for _, q := range []string{"kiểm tra -hóa", "kế hoạch đối ngoại -năm", "xu phat -vi -pham", "quyết* -định"} {
		for _, f := range []Request{{Clearance: archive.Unclassified}, {Clearance: archive.Mat, Year: 2015}} {
			r := f
			r.Q, r.Size, r.Facets = q, 20, true
			got, err := ix.Search(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			must, should, not := searchClauses(t, ix, q, r)
			if len(must) > 0 || len(not) == 0 {
				t.Fatalf("%q: want optional words and exclusions", q)
			}
			v, err := ix.view(ctx)
			if err != nil {
				t.Fatal(err)
			}
			bq := query.NewBooleanQuery(nil, should, not)
			want, total, fr, err := v.ranked(query.NewCustomScoreQueryWithScorer(&filteredQuery{q: bq, filter: r.filter()}, quantize, nil, nil), sortOrder(SortRelevance), nil, 20, true)
			v.close()
			if err != nil {
				t.Fatal(err)
			}
			if got.Total != total || len(got.Hits) != len(want) || total == 0 {
				t.Fatalf("%q %+v: total %d, %d hits; Bleve %d, %d", q, f, got.Total, len(got.Hits), total, len(want))
			}
			if wf := splitFacets(fr[fFacets]); !reflect.DeepEqual(got.Facets, wf) {
				t.Errorf("%q %+v: facets %v, Bleve %v", q, f, got.Facets, wf)
			}
			for i, h := range got.Hits {
				if h.ID != want[i].ID || h.Score != want[i].Score {
					t.Errorf("%q %+v: hit %d = %s %v, Bleve %s %v", q, f, i, h.ID, h.Score, want[i].ID, want[i].Score)
					break
				}
			}
			compared++
		}
	}
	t.Logf("%d searches compared", compared)
}

// segmentedIndex indexes docs in two batches (split at split) and deletes
// every step-th document from first: several segments with deletions,
// what the internal numbers of a live index look like.
func segmentedIndex(t *testing.T, docs []Doc, split, first, step int) *Index {
	t.Helper()
	ix := newIndex(t, docs[:split])
	if err := ix.Index(docs[split:]); err != nil {
		t.Fatal(err)
	}
	var gone []string
	for i := first; i < len(docs); i += step {
		gone = append(gone, docs[i].ID)
	}
	if err := ix.Delete(gone); err != nil {
		t.Fatal(err)
	}
	return ix
}

// searchClauses are the clauses of q as Search prepares them for r's
// clearance: words no visible document has are dropped, and the clauses
// for documents written without diacritics added to the optional ones.
func searchClauses(t *testing.T, ix *Index, q string, r Request) (must, should, not []query.Query) {
	t.Helper()
	p, err := parse(q, ix.analyze)
	if err != nil {
		t.Fatal(err)
	}
	must, should, not, plain := defaultWeights.build(p, func(string) bool { return true }, r.filter())
	v, err := ix.view(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer v.close()
	vis, err := v.visibility(r.Clearance)
	if err != nil {
		t.Fatal(err)
	}
	should = vis.prune(should)
	if plain = vis.prune(plain); len(plain) > 0 {
		should = append(should, &filteredQuery{q: disj(plain...), filter: termQ("1", fPlain, 1)})
	}
	return must, should, not
}

// TestSetConcurrency: the search queue of an index opened after
// SetConcurrency has that many places; by default, GOMAXPROCS.
func TestSetConcurrency(t *testing.T) {
	defer SetConcurrency(0)
	for _, c := range []struct{ set, want int }{{0, runtime.GOMAXPROCS(0)}, {3, 3}, {1, 1}} {
		SetConcurrency(c.set)
		ix, err := Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if got := ix.workers; got != c.want {
			t.Errorf("SetConcurrency(%d): %d searches at once, want %d", c.set, got, c.want)
		}
		ix.Close()
	}
}
