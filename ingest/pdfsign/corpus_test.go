package pdfsign

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ledongthuc/pdf"
)

// The real signed originals of the shared corpus (Lào Cai province and
// central bodies). Nobody here made them: what they contain is what real
// signing software writes.
const corpusDir = "../../../shared/corpus/pdf"

func corpusFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.pdf"))
	if err != nil || len(files) == 0 {
		t.Skipf("corpus not found at %s: these tests need the shared corpus", corpusDir)
	}
	return files
}

func readCorpus(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir, name))
	if os.IsNotExist(err) {
		t.Skipf("corpus file %s not found", name)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func verifyBytes(t *testing.T, b []byte, opts Options) Report {
	t.Helper()
	rep, err := Verify(bytes.NewReader(b), int64(len(b)), opts)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return rep
}

// pdfsigSig is one signature as Poppler's pdfsig reports it.
type pdfsigSig struct {
	field, cn, validation string
	end                   int64 // end of the last signed range
	total                 bool
}

var rangeEnd = regexp.MustCompile(`\[(\d+) - (\d+)\]\s*$`)

func runPdfsig(t *testing.T, path string) []pdfsigSig {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// pdfsig exits non-zero for files without signatures; its output says
	// so, and that is what is compared.
	out, _ := exec.CommandContext(ctx, "pdfsig", path).Output()
	var sigs []pdfsigSig
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "Signature #") {
			sigs = append(sigs, pdfsigSig{})
			continue
		}
		if len(sigs) == 0 {
			continue
		}
		cur := &sigs[len(sigs)-1]
		key, val, _ := strings.Cut(strings.TrimPrefix(line, "- "), ": ")
		switch {
		case key == "Signature Field Name":
			cur.field = val
		case key == "Signer Certificate Common Name":
			cur.cn = val
		case key == "Signature Validation":
			cur.validation = val
		case key == "Signed Ranges":
			if m := rangeEnd.FindStringSubmatch(val); m != nil {
				cur.end, _ = strconv.ParseInt(m[2], 10, 64)
			}
		case line == "- Total document signed":
			cur.total = true
		}
	}
	return sigs
}

// pdfsigVerdict maps Poppler's validation message to our integrity verdict.
func pdfsigVerdict(msg string) string {
	switch msg {
	case "Signature is Valid.":
		return IntegrityValid
	case "Signature is Invalid.", "Digest Mismatch.", "Document isn't signed or corrupted with data.":
		return IntegrityInvalid
	}
	return IntegrityError
}

// TestCorpusAgainstPdfsig compares every signature of every corpus PDF
// with Poppler: same signatures, same field, signer, signed range and
// integrity verdict.
func TestCorpusAgainstPdfsig(t *testing.T) {
	files := corpusFiles(t)
	if _, err := exec.LookPath("pdfsig"); err != nil {
		t.Skip("pdfsig (poppler-utils) not installed: apt-get install -y poppler-utils")
	}
	var table strings.Builder
	fmt.Fprintf(&table, "\n%-28s %-3s %-12s %-40s %-9s %-9s %-6s %s\n", "file", "#", "field", "signer", "ours", "pdfsig", "whole", "modified")
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			ours := verifyBytes(t, b, Options{}).Signatures
			theirs := runPdfsig(t, path)
			if len(ours) != len(theirs) {
				t.Fatalf("%d signatures, pdfsig finds %d", len(ours), len(theirs))
			}
			for i, s := range ours {
				p := theirs[i]
				fmt.Fprintf(&table, "%-28.28s %-3d %-12s %-40.40s %-9s %-9s %-6v %v\n", name, i+1, s.Field, s.Signer, s.Integrity, pdfsigVerdict(p.validation), s.CoversWholeFile, s.ModifiedAfter)
				if s.Integrity != pdfsigVerdict(p.validation) {
					t.Errorf("signature %d: integrity %q (%s), pdfsig %q", i+1, s.Integrity, s.Reason, p.validation)
				}
				if s.Signer != p.cn || s.Field != p.field {
					t.Errorf("signature %d: signer %q in %q, pdfsig %q in %q", i+1, s.Signer, s.Field, p.cn, p.field)
				}
				if s.ByteRange[2]+s.ByteRange[3] != p.end || s.CoversWholeFile != p.total {
					t.Errorf("signature %d: range ends at %d (whole file %v), pdfsig %d (%v)", i+1, s.ByteRange[2]+s.ByteRange[3], s.CoversWholeFile, p.end, p.total)
				}
				if s.Chain == ChainValid {
					t.Errorf("signature %d: chain %q without any anchor configured", i+1, s.Chain)
				}
			}
		})
	}
	t.Log(table.String())
}

// TestCorpusVerdicts pins what is known about each signed original, so a
// regression shows without Poppler installed.
func TestCorpusVerdicts(t *testing.T) {
	corpusFiles(t)
	tests := []struct {
		file     string
		sigs     int
		invalid  []int // 1-based signatures that must be invalid
		modified bool  // content appended after the last signature
		taxCode  string
		reason   string // for the invalid ones
	}{
		{file: "1178-DCK-CTT-huong-dan-CCN-dia-gioi-moi.pdf", sigs: 4},
		{file: "2826_SCT-CN_VB01__kho_VLNCN_moMongSon_BaoAi_19.5.2026.pdf", sigs: 4, taxCode: "5300132743"},
		{file: "CV-4280-tra-ho-so-Thanh-Huong-2026.pdf", sigs: 4, taxCode: "5300132743"},
		{file: "CV-6791-SNNMT-17-7-2026-y-kien-tham-dinh-CCN-Bao-Dap.pdf", sigs: 4, taxCode: "5300148662"},
		{file: "CV-SCT-tham-gia-y-kien-PANM-Xuan-Hoa.pdf", sigs: 4},
		{file: "NQ-19-2026-NQ-CP.pdf", sigs: 1, taxCode: "0102357802"},
		{file: "VB-giao-tham-gia-phoi-hop.pdf", sigs: 5, taxCode: "5300522870"},
		// Its signature value is not an RSA signature but a whole nested
		// CMS SignedData: Poppler says "Signature is Invalid." too.
		{file: "CV-2265-BCT-ATMT-trien-khai.pdf", sigs: 1, invalid: []int{1}, reason: "malformed signature value"},
		// Six signatures, then rectangle annotations saved as an
		// incremental update in October 2025.
		{file: "TT-37-BGTVT.pdf", sigs: 6, modified: true},
		{file: "3036_SCT_CN_KHKTNT_Kho_VLCN_tam_Thuydien_MongSen1_3.6.2026.pdf"},
		{file: "CV-813-CucHoaChat.pdf"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			rep := verifyBytes(t, readCorpus(t, tt.file), Options{})
			if len(rep.Signatures) != tt.sigs {
				t.Fatalf("%d signatures, want %d", len(rep.Signatures), tt.sigs)
			}
			taxCodes := map[string]bool{}
			for i, s := range rep.Signatures {
				wantInvalid := false
				for _, n := range tt.invalid {
					wantInvalid = wantInvalid || n == i+1
				}
				switch {
				case wantInvalid && (s.Integrity != IntegrityInvalid || !strings.Contains(s.Reason, tt.reason)):
					t.Errorf("signature %d: %q (%s), want invalid: %s", i+1, s.Integrity, s.Reason, tt.reason)
				case !wantInvalid && s.Integrity != IntegrityValid:
					t.Errorf("signature %d: %q (%s), want valid", i+1, s.Integrity, s.Reason)
				}
				if s.Chain != ChainIssuerNotVerified {
					t.Errorf("signature %d: chain %q without anchors, want %q", i+1, s.Chain, ChainIssuerNotVerified)
				}
				if s.Signer == "" || s.Serial == "" || s.NotAfter.IsZero() || s.SignedAt.IsZero() || s.SignedAt.Location() != time.UTC {
					t.Errorf("signature %d: incomplete %+v", i+1, s)
				}
				taxCodes[s.TaxCode] = true
				last := i == len(rep.Signatures)-1
				if last && (s.ModifiedAfter != tt.modified || s.CoversWholeFile == tt.modified) {
					t.Errorf("last signature: modified after %v, covers whole file %v; want modified %v", s.ModifiedAfter, s.CoversWholeFile, tt.modified)
				}
				if !last && (s.ModifiedAfter || s.CoversWholeFile) {
					t.Errorf("signature %d of %d: modified after %v, covers whole file %v", i+1, len(rep.Signatures), s.ModifiedAfter, s.CoversWholeFile)
				}
			}
			if tt.taxCode != "" && !taxCodes[tt.taxCode] {
				t.Errorf("no signature with tax code %s; got %v", tt.taxCode, taxCodes)
			}
		})
	}
}

// TestCorpusSigningTimeDisagrees shows the case the timestamp is preferred
// for: the Government portal's software writes local time into signingTime
// and labels it UTC, seven hours off the timestamp authority's genTime.
func TestCorpusSigningTimeDisagrees(t *testing.T) {
	rep := verifyBytes(t, readCorpus(t, "NQ-19-2026-NQ-CP.pdf"), Options{})
	if len(rep.Signatures) != 1 {
		t.Fatalf("%d signatures, want 1", len(rep.Signatures))
	}
	s := rep.Signatures[0]
	t.Logf("signingTime attribute %s, timestamp genTime %s (%s), /M %s, budget code %s",
		s.SigningTimeAttr.Format(time.RFC3339), s.TimestampTime.Format(time.RFC3339), s.TSA, s.DictionaryTime.Format(time.RFC3339), s.BudgetCode)
	if s.TimeSource != TimeFromTimestamp || !s.SignedAt.Equal(s.TimestampTime) {
		t.Errorf("signed at %v from %q, want the timestamp %v", s.SignedAt, s.TimeSource, s.TimestampTime)
	}
	if d := s.SigningTimeAttr.Sub(s.TimestampTime); d < 6*time.Hour+50*time.Minute || d > 7*time.Hour+10*time.Minute {
		t.Errorf("signingTime - genTime = %v, want about 7h (local time labelled UTC)", d)
	}
	if d := s.DictionaryTime.Sub(s.TimestampTime); d < -time.Minute || d > time.Minute {
		t.Errorf("/M - genTime = %v, want under a minute: /M carries its +07'00' offset", d)
	}
	if s.TaxCode != "0102357802" || s.BudgetCode != "1032158" {
		t.Errorf("tax code %q, budget code %q", s.TaxCode, s.BudgetCode)
	}
}

func pageText(t *testing.T, b []byte, page int) string {
	t.Helper()
	r, err := pdf.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	text, err := r.Page(page).GetPlainText(nil)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// TestCorpusMergeStamps: the number and day exist only in the văn thư's
// stamps; ledongthuc/pdf's page text has blanks there. Merged, the header
// reads as pdftotext renders it.
func TestCorpusMergeStamps(t *testing.T) {
	corpusFiles(t)
	tests := []struct {
		file, number, date string
	}{
		{"CV-6791-SNNMT-17-7-2026-y-kien-tham-dinh-CCN-Bao-Dap.pdf", "Số: 6791/SNNMT-KHTC", "ngày 17 tháng 7 năm 2026"},
		{"2826_SCT-CN_VB01__kho_VLNCN_moMongSon_BaoAi_19.5.2026.pdf", "Số: 2826/SCT-CN", "ngày 19 tháng 5 năm 2026"},
		{"CV-4280-tra-ho-so-Thanh-Huong-2026.pdf", "Số: 4280/SCT - CN", "ngày 16 tháng 7 năm 2026"},
		{"VB-giao-tham-gia-phoi-hop.pdf", "Số: 2496/UBND-KT", "ngày 06 tháng 4 năm 2026"},
		{"TT-37-BGTVT.pdf", "Số: 37/2023/TT-BGTVT", "ngày 13 tháng 12 năm 2023"},
		{"CV-SCT-tham-gia-y-kien-PANM-Xuan-Hoa.pdf", "Số: 1103/SXD-QLGT", "ngày 13 tháng 3 năm 2026"},
		// ledongthuc/pdf breaks this header into one fragment per line.
		{"1178-DCK-CTT-huong-dan-CCN-dia-gioi-moi.pdf", "Số: 1178/ ĐCK - CTT", "ngày 09 tháng 7 năm 20 2 5"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b := readCorpus(t, tt.file)
			stamps, err := WidgetTexts(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			var first []Stamp
			for _, s := range stamps {
				if s.Page == 1 {
					first = append(first, s)
				}
			}
			before := pageText(t, b, 1)
			if strings.Contains(oneSpace(before), tt.number) {
				t.Fatalf("page text already has %q: the test would prove nothing", tt.number)
			}
			got := oneSpace(MergeStamps(before, first))
			if !strings.Contains(got, tt.number) || !strings.Contains(got, tt.date) {
				head := got
				if len(head) > 400 {
					head = head[:400]
				}
				t.Errorf("merged text lacks %q or %q; stamps %+v; text %q", tt.number, tt.date, first, head)
			}
		})
	}
}

// oneSpace collapses runs of white space, as a reader of the header would.
func oneSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// TestCorpusDescriptionStamps: the organisation's seal signature of the
// Government portal and of the Ministry draws a description, which must
// agree with the verified signature.
func TestCorpusDescriptionStamps(t *testing.T) {
	tests := []struct {
		file   string
		signer string
		org    string
		at     time.Time
	}{
		{"NQ-19-2026-NQ-CP.pdf", "CỔNG THÔNG TIN ĐIỆN TỬ CHÍNH PHỦ", "VĂN PHÒNG CHÍNH PHỦ", time.Date(2026, 5, 4, 9, 54, 57, 0, time.UTC)},
		{"CV-2265-BCT-ATMT-trien-khai.pdf", "Bộ Công Thương", "Bộ Công thương", time.Date(2026, 4, 2, 7, 24, 26, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b := readCorpus(t, tt.file)
			stamps, err := WidgetTexts(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			if len(stamps) != 1 || stamps[0].Note == nil {
				t.Fatalf("stamps %+v, want one description", stamps)
			}
			n := stamps[0].Note
			if n.Signer != tt.signer || n.Organisation != tt.org || !n.SignedAt.Equal(tt.at) {
				t.Errorf("note %+v, want %s / %s / %v", n, tt.signer, tt.org, tt.at)
			}
			sig := verifyBytes(t, b, Options{}).Signatures[0]
			if sig.Field != stamps[0].Field || sig.Signer != n.Signer || !sig.DictionaryTime.Equal(n.SignedAt) {
				t.Errorf("stamp %q by %q at %v; signature %q by %q at /M %v", stamps[0].Field, n.Signer, n.SignedAt, sig.Field, sig.Signer, sig.DictionaryTime)
			}
		})
	}
}
