package pdfsign

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestVerifyGenerated(t *testing.T) {
	pki := testPKI(t)
	trusted := writeRoots(t, pki.root)
	untrusted := writeRoots(t, pki.other)
	signedAt := time.Date(2026, 5, 4, 9, 54, 57, 0, time.UTC)
	base := unsignedPDF("2826", "D:20260504165457+07'00'")
	good := signPDF(t, base, signOpts{})

	flipped := bytes.Clone(good)
	i := bytes.Index(flipped, []byte("SNV-VP"))
	flipped[i] ^= 0x01 // 'S' → 'R': one bit of page content, inside the signed range

	tests := []struct {
		name       string
		doc        []byte
		roots      string
		integrity  string
		chain      string
		whole      bool
		modified   bool
		timeSource string
		signedAt   time.Time
		reasonHas  string
	}{
		{name: "trusted root", doc: good, roots: trusted, integrity: IntegrityValid, chain: ChainValid, whole: true,
			timeSource: TimeFromDictionary, signedAt: signedAt},
		{name: "roots without the issuer", doc: good, roots: untrusted, integrity: IntegrityValid, chain: ChainIssuerNotVerified, whole: true,
			timeSource: TimeFromDictionary, signedAt: signedAt},
		{name: "no roots configured", doc: good, integrity: IntegrityValid, chain: ChainIssuerNotVerified, whole: true,
			timeSource: TimeFromDictionary, signedAt: signedAt},
		{name: "one signed byte flipped", doc: flipped, roots: trusted, integrity: IntegrityInvalid, chain: ChainValid, whole: true,
			timeSource: TimeFromDictionary, signedAt: signedAt, reasonHas: "digest mismatch"},
		{name: "digest of other bytes", doc: signPDF(t, base, signOpts{badDigest: true}), roots: trusted, integrity: IntegrityInvalid,
			chain: ChainValid, whole: true, timeSource: TimeFromDictionary, signedAt: signedAt, reasonHas: "digest mismatch"},
		{name: "incremental update appended", doc: appendUpdate(good), roots: trusted, integrity: IntegrityValid, chain: ChainValid,
			modified: true, timeSource: TimeFromDictionary, signedAt: signedAt},
		{name: "trailing newline is not a modification", doc: append(bytes.Clone(good), '\n'), roots: trusted,
			integrity: IntegrityValid, chain: ChainValid, timeSource: TimeFromDictionary, signedAt: signedAt},
		{
			// Expired today, valid when the timestamp authority saw it:
			// valid at signing time.
			name:  "expired certificate, timestamp inside its validity",
			doc:   signPDF(t, unsignedPDF("2826", "D:20260504165457+07'00'"), signOpts{cert: pki.expired, tsaAt: time.Date(2020, 6, 1, 8, 0, 0, 0, time.UTC)}),
			roots: trusted, integrity: IntegrityValid, chain: ChainValid, whole: true,
			timeSource: TimeFromTimestamp, signedAt: time.Date(2020, 6, 1, 8, 0, 0, 0, time.UTC),
		},
		{
			// A timestamp whose authority the anchors do not vouch for
			// could be backdated by anyone: only /M is left.
			name:  "timestamp from an authority outside the anchors",
			doc:   signPDF(t, base, signOpts{tsaAt: time.Date(2020, 6, 1, 8, 0, 0, 0, time.UTC)}),
			roots: untrusted, integrity: IntegrityValid, chain: ChainIssuerNotVerified, whole: true,
			timeSource: TimeFromDictionary, signedAt: signedAt,
		},
		{
			name:  "expired certificate, signed after it expired",
			doc:   signPDF(t, base, signOpts{cert: pki.expired}),
			roots: trusted, integrity: IntegrityValid, chain: ChainInvalid, whole: true,
			timeSource: TimeFromDictionary, signedAt: signedAt,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Verify(bytes.NewReader(tt.doc), int64(len(tt.doc)), Options{Roots: tt.roots})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if len(rep.Signatures) != 1 {
				t.Fatalf("Verify found %d signatures, want 1", len(rep.Signatures))
			}
			s := rep.Signatures[0]
			if s.Integrity != tt.integrity || s.Chain != tt.chain {
				t.Errorf("integrity, chain = %q (%s), %q (%s); want %q, %q", s.Integrity, s.Reason, s.Chain, s.ChainReason, tt.integrity, tt.chain)
			}
			if !strings.Contains(s.Reason, tt.reasonHas) {
				t.Errorf("reason = %q, want it to mention %q", s.Reason, tt.reasonHas)
			}
			if s.CoversWholeFile != tt.whole || s.ModifiedAfter != tt.modified {
				t.Errorf("covers whole file, modified after = %v, %v; want %v, %v", s.CoversWholeFile, s.ModifiedAfter, tt.whole, tt.modified)
			}
			if s.TimeSource != tt.timeSource || !s.SignedAt.Equal(tt.signedAt) || s.SignedAt.Location() != time.UTC {
				t.Errorf("signed at %v from %q, want %v from %q", s.SignedAt, s.TimeSource, tt.signedAt, tt.timeSource)
			}
			if s.Signer != "Sở Ngoại vụ" || s.Organisation != "ỦY BAN NHÂN DÂN TỈNH THỬ" || s.TaxCode != "5300000001" || s.Field != "Signature1" {
				t.Errorf("signer %q, organisation %q, tax code %q, field %q", s.Signer, s.Organisation, s.TaxCode, s.Field)
			}
			if s.SubFilter != SubFilterPKCS7 || s.Issuer != "Test CA phục vụ cơ quan" {
				t.Errorf("sub-filter %q, issuer %q", s.SubFilter, s.Issuer)
			}
		})
	}
}

func TestVerifyTimestampDetails(t *testing.T) {
	pki := testPKI(t)
	at := time.Date(2026, 5, 4, 9, 55, 5, 0, time.UTC)
	doc := signPDF(t, unsignedPDF("2826", "D:20260504165457+07'00'"), signOpts{tsaAt: at})
	rep, err := Verify(bytes.NewReader(doc), int64(len(doc)), Options{Roots: writeRoots(t, pki.root)})
	if err != nil {
		t.Fatal(err)
	}
	s := rep.Signatures[0]
	if s.TSA != "Máy chủ cấp dấu thời gian thử" || !s.TimestampTime.Equal(at) || s.TimeSource != TimeFromTimestamp {
		t.Errorf("TSA %q at %v (%s), want the test TSA at %v", s.TSA, s.TimestampTime, s.TimeSource, at)
	}
	// smallstep/pkcs7 writes signingTime = now, far from the token's time.
	if len(s.Notes) == 0 || !strings.Contains(strings.Join(s.Notes, ";"), "differs from the timestamp") {
		t.Errorf("notes %q, want the signingTime/timestamp disagreement noted", s.Notes)
	}
}

func TestVerifyNoSignatures(t *testing.T) {
	doc := unsignedPDF("1", "D:2026")
	// An unsigned placeholder is a dictionary with a ByteRange of zeros,
	// whose gap is not a hex string: reported, never "valid".
	rep, err := Verify(bytes.NewReader(doc), int64(len(doc)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rep.Signatures {
		if s.Integrity == IntegrityValid {
			t.Errorf("placeholder reported valid: %+v", s)
		}
	}
	plain := []byte("%PDF-1.4\n1 0 obj <</Type/Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n")
	rep, err = Verify(bytes.NewReader(plain), int64(len(plain)), Options{})
	if err != nil || len(rep.Signatures) != 0 {
		t.Errorf("Verify(unsigned) = %+v, %v; want no signatures", rep, err)
	}
}

func TestVerifyRootsFolderMissing(t *testing.T) {
	doc := signPDF(t, unsignedPDF("1", "D:20260101"), signOpts{})
	_, err := Verify(bytes.NewReader(doc), int64(len(doc)), Options{Roots: filepath.Join(t.TempDir(), "nope")})
	if err == nil {
		t.Fatal("Verify with a missing roots folder succeeded; a typo must not downgrade verdicts silently")
	}
}

func TestWidgetTextsGenerated(t *testing.T) {
	doc := signPDF(t, unsignedPDF("2826", "D:20260504165457+07'00'"), signOpts{})
	stamps, err := WidgetTexts(bytes.NewReader(doc), int64(len(doc)))
	if err != nil {
		t.Fatal(err)
	}
	want := Stamp{Page: 1, X: 120, Y: 730, Width: 40, Height: 20, Field: "Signature1", Text: "2826"}
	if len(stamps) != 1 || stamps[0] != want {
		t.Errorf("WidgetTexts = %+v, want [%+v]", stamps, want)
	}
}

func TestParsePDFDate(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"D:20260504165457+07'00'", time.Date(2026, 5, 4, 9, 54, 57, 0, time.UTC), true},
		{"D:20231213124217+07'00", time.Date(2023, 12, 13, 5, 42, 17, 0, time.UTC), true},
		{"D:20260504165457Z", time.Date(2026, 5, 4, 16, 54, 57, 0, time.UTC), true},
		{"D:2026", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"20260504", time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC), true},
		{"D:20261304", time.Time{}, false},
		{"yesterday", time.Time{}, false},
		{"", time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := parsePDFDate(tt.in)
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("parsePDFDate(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestBERLength(t *testing.T) {
	tests := []struct {
		in      []byte
		want    int
		wantErr bool
	}{
		{[]byte{0x30, 0x03, 0x02, 0x01, 0x05, 0, 0, 0}, 5, false},
		{[]byte{0x30, 0x81, 0x01, 0x00, 0, 0}, 4, false},
		{[]byte{0x30, 0x80, 0x02, 0x01, 0x05, 0x00, 0x00, 0, 0, 0}, 7, false},
		{[]byte{0x30, 0x85, 1, 2, 3, 4, 5}, 0, true},
		{[]byte{0x30, 0x10, 0x00}, 0, true},
		{[]byte{0x04, 0x80, 0x00, 0x00}, 0, true},
		{nil, 0, true},
	}
	for _, tt := range tests {
		got, err := berLength(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("berLength(% x) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// A roots folder with an intermediate only has no anchor.
func TestVerifyIntermediateIsNotAnAnchor(t *testing.T) {
	pki := testPKI(t)
	doc := signPDF(t, unsignedPDF("1", "D:20260101"), signOpts{})
	rep, err := Verify(bytes.NewReader(doc), int64(len(doc)), Options{Roots: writeRoots(t, pki.inter)})
	if err != nil {
		t.Fatal(err)
	}
	if c := rep.Signatures[0].Chain; c != ChainIssuerNotVerified {
		t.Errorf("chain with only an intermediate configured = %q, want %q", c, ChainIssuerNotVerified)
	}
}
