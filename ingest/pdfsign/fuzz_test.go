package pdfsign

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the fuzz seed files under testdata/fuzz")

// hostilePDF is a well-formed file with the shapes that make naive readers
// loop or recurse: a page tree whose Kids point back at its root, a form
// XObject that draws itself, an inline image whose data looks like
// operators, and every text-showing operator.
func hostilePDF() []byte {
	var b pdfBuilder
	b.buf.WriteString("%PDF-1.7\n")
	b.obj("<</Type/Catalog/Pages 2 0 R/AcroForm <</Fields [4 0 R]>>>>")
	b.obj("<</Type/Pages/Kids [3 0 R 2 0 R]/Count 2>>")
	b.obj("<</Type/Page/Parent 2 0 R/MediaBox [0 0 595 842]/Annots [4 0 R 4 0 R]>>")
	b.obj("<</Type/Annot/Subtype/Widget/FT/Sig/T (Sig\\(1\\))/Rect [300 700 200 650]/AP <</N 5 0 R>>/V <</Type/Sig/ByteRange [0 1 2 3]/Contents <00>>>>>")
	b.obj(stream("/Type/XObject/Subtype/Form/Resources <</XObject <</Me 5 0 R>>/Font <</F1 6 0 R>>>>",
		"BT /F1 9 Tf 1 0 0 1 2 20 Tm (Ng\\341y) Tj 0 -10 Td [(1)-300(2)] TJ 12 TL (a) ' 1 2 (b) \" T* ET "+
			"BI /W 2 /H 1 /BPC 8 /CS /G ID Tj ET Do\nEI /Me Do"))
	b.obj("<</Type/Font/Subtype/Type1/BaseFont/Times-Roman/Encoding <</Differences [65 /Aring]>>>>")
	return b.finish()
}

// tinySigDict is a signature dictionary without a document around it, whose
// ByteRange points at a gap that is not a hex string.
const tinySigDict = "%PDF-1.7\n1 0 obj\n<</Type/Sig/SubFilter/adbe.pkcs7.detached/M(D:20260504165457+07'00')" +
	"/ByteRange [0 90 100 20]/Contents <3003020105>>>\nendobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"

// directSigDict has the signature dictionary written inside its field, with
// /Contents first and a valid gap holding a CMS blob that is not one.
func directSigDict() []byte {
	head := "%PDF-1.4\n1 0 obj\n<</FT/Sig/T(S)/V <</Type/Sig/Contents "
	hole := "<3080300000000000>"
	start := len(head)
	end := start + len(hole)
	tail := fmt.Sprintf("/ByteRange [0 %d %d %d]>>>>\nendobj\n%%%%EOF\n", start, end, 0)
	doc := head + hole + tail
	// Make the last range end exactly at the end of the file.
	tail = fmt.Sprintf("/ByteRange [0 %d %d %d]>>>>\nendobj\n%%%%EOF\n", start, end, len(doc)-end)
	return []byte(head + hole + tail)
}

func fuzzSeeds() map[string][]byte {
	return map[string][]byte{
		"hostile":      hostilePDF(),
		"tiny-sigdict": []byte(tinySigDict),
		"direct":       directSigDict(),
		"unsigned":     buildPDF("2826", "D:20260504165457+07'00'", 64),
		"truncated":    hostilePDF()[:200],
		"empty":        nil,
	}
}

// TestFuzzSeeds keeps the seed files in testdata/fuzz in step with the
// generators above: run with -update after changing them.
func TestFuzzSeeds(t *testing.T) {
	for _, target := range []string{"FuzzVerify", "FuzzWidgetTexts"} {
		for name, data := range fuzzSeeds() {
			path := filepath.Join("testdata", "fuzz", target, name)
			want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != want {
				t.Errorf("%s is stale or missing (%v): run go test -run TestFuzzSeeds -update", path, err)
			}
		}
	}
}

// checkReport holds for any input: verdicts come from the fixed sets, and
// "valid" is never given without the bytes to back it.
func checkReport(t *testing.T, data []byte, rep Report) {
	for i, s := range rep.Signatures {
		switch s.Integrity {
		case IntegrityValid, IntegrityInvalid, IntegrityError:
		default:
			t.Fatalf("signature %d: integrity %q", i, s.Integrity)
		}
		switch s.Chain {
		case ChainIssuerNotVerified, ChainInvalid:
		default:
			t.Fatalf("signature %d: chain %q without anchors", i, s.Chain)
		}
		if s.Integrity == IntegrityValid && (s.ByteRange[0] != 0 || s.ByteRange[2]+s.ByteRange[3] > int64(len(data))) {
			t.Fatalf("signature %d valid with byte range %v over %d bytes", i, s.ByteRange, len(data))
		}
		if (s.CoversWholeFile || s.ModifiedAfter) && i != len(rep.Signatures)-1 {
			t.Fatalf("signature %d of %d claims to be last", i, len(rep.Signatures))
		}
	}
}

// within fails the test when fn runs longer than a real file ever needs:
// the fuzzing engine reports panics by itself, but not loops.
func within(t *testing.T, fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("did not return within 10s")
	}
}

func FuzzVerify(f *testing.F) {
	f.Add(signPDF(f, unsignedPDF("2826", "D:20260504165457+07'00'"), signOpts{}))
	f.Fuzz(func(t *testing.T, data []byte) {
		var rep Report
		var err error
		within(t, func() { rep, err = Verify(bytes.NewReader(data), int64(len(data)), Options{}) })
		if err != nil && strings.Contains(err.Error(), "malformed PDF") {
			// A recovered panic: acceptable to the caller, but a bug here.
			t.Fatalf("Verify panicked: %v", err)
		}
		checkReport(t, data, rep)
	})
}

func FuzzWidgetTexts(f *testing.F) {
	f.Add(signPDF(f, unsignedPDF("2826", "D:20260504165457+07'00'"), signOpts{}))
	f.Fuzz(func(t *testing.T, data []byte) {
		var stamps []Stamp
		var err error
		within(t, func() { stamps, err = WidgetTexts(bytes.NewReader(data), int64(len(data))) })
		if err != nil {
			return // malformed files are allowed to fail, not to panic
		}
		for _, s := range stamps {
			if s.Text == "" || s.Page < 1 {
				t.Fatalf("stamp %+v", s)
			}
			MergeStamps("Số:    /X ngày   tháng   năm", []Stamp{s})
		}
	})
}

// TestHostileInputs runs the seeds through both entry points with a
// deadline, so that a loop shows as a failure in an ordinary test run.
func TestHostileInputs(t *testing.T) {
	for name, data := range fuzzSeeds() {
		t.Run(name, func(t *testing.T) {
			rep, err := Verify(bytes.NewReader(data), int64(len(data)), Options{})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			checkReport(t, data, rep)
			stamps, err := WidgetTexts(bytes.NewReader(data), int64(len(data)))
			if name != "hostile" {
				return
			}
			// One page (the cycle adds none), its widget listed twice, the
			// self-drawing form drawn once each time.
			if err != nil || len(stamps) != 2 || stamps[0].Text != "Ngáy\n1 2\na\nb" {
				t.Errorf("WidgetTexts(hostile) = %+v, %v", stamps, err)
			}
		})
	}
}
