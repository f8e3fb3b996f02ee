package pdfsign

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"
)

// A self-made PKI and a PDF signed with it, built from scratch so that the
// verifier is tested against files whose every byte we know.

type testCA struct {
	root, inter, leaf, expired, tsa, other *x509.Certificate
	rootKey, interKey, leafKey, tsaKey     *rsa.PrivateKey
}

var (
	caOnce sync.Once
	ca     testCA
)

var (
	oidUID   = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}
	oidEmail = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
	oidTST   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
)

func newKey(t testing.TB) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func issue(t testing.TB, tmpl, parent *x509.Certificate, pub *rsa.PublicKey, parentKey *rsa.PrivateKey) *x509.Certificate {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testPKI builds root → intermediate → leaf (and an already expired leaf,
// a timestamp authority, and an unrelated root) once per test binary: RSA
// key generation is slow under -race.
func testPKI(t testing.TB) testCA {
	caOnce.Do(func() {
		from := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)
		to := time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC)
		ca.rootKey, ca.interKey, ca.leafKey, ca.tsaKey = newKey(t), newKey(t), newKey(t), newKey(t)
		rootT := &x509.Certificate{
			SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test Root CA vanthu", Country: []string{"VN"}},
			NotBefore: from, NotAfter: to, IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		}
		ca.root = issue(t, rootT, rootT, &ca.rootKey.PublicKey, ca.rootKey)
		interT := &x509.Certificate{
			SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "Test CA phục vụ cơ quan", Country: []string{"VN"}},
			NotBefore: from, NotAfter: to, IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		}
		ca.inter = issue(t, interT, ca.root, &ca.interKey.PublicKey, ca.rootKey)
		subject := pkix.Name{
			Country: []string{"VN"}, Organization: []string{"ỦY BAN NHÂN DÂN TỈNH THỬ"}, Locality: []string{"Lào Cai"},
			CommonName: "Sở Ngoại vụ",
			ExtraNames: []pkix.AttributeTypeAndValue{{Type: oidUID, Value: "MST:5300000001"}, {Type: oidEmail, Value: "snv@example.gov.vn"}},
		}
		leafT := &x509.Certificate{
			SerialNumber: big.NewInt(0x2EF2AC), Subject: subject,
			NotBefore: from, NotAfter: to, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		}
		ca.leaf = issue(t, leafT, ca.inter, &ca.leafKey.PublicKey, ca.interKey)
		expT := *leafT
		expT.SerialNumber = big.NewInt(0x2EF2AD)
		expT.NotBefore = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
		expT.NotAfter = time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
		ca.expired = issue(t, &expT, ca.inter, &ca.leafKey.PublicKey, ca.interKey)
		tsaT := &x509.Certificate{
			SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "Máy chủ cấp dấu thời gian thử", Country: []string{"VN"}},
			NotBefore: from, NotAfter: to, KeyUsage: x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
		}
		ca.tsa = issue(t, tsaT, ca.inter, &ca.tsaKey.PublicKey, ca.interKey)
		otherKey := newKey(t)
		otherT := &x509.Certificate{
			SerialNumber: big.NewInt(99), Subject: pkix.Name{CommonName: "Unrelated Root"},
			NotBefore: from, NotAfter: to, IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		}
		ca.other = issue(t, otherT, otherT, &otherKey.PublicKey, otherKey)
	})
	if ca.root == nil {
		t.Fatal("test PKI could not be built")
	}
	return ca
}

// writeRoots writes certificates as PEM into a fresh folder, the way an
// operator would configure Options.Roots.
func writeRoots(t *testing.T, certs ...*x509.Certificate) string {
	dir := t.TempDir()
	for i, c := range certs {
		b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("ca%d.pem", i)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// pdfBuilder assembles a PDF from numbered objects and writes a correct
// cross-reference table.
type pdfBuilder struct {
	buf  bytes.Buffer
	offs []int
}

func (b *pdfBuilder) obj(body string) {
	b.offs = append(b.offs, b.buf.Len())
	fmt.Fprintf(&b.buf, "%d 0 obj\n%s\nendobj\n", len(b.offs), body)
}

func stream(dict, data string) string {
	return fmt.Sprintf("<<%s/Length %d>>\nstream\n%s\nendstream", dict, len(data), data)
}

func (b *pdfBuilder) finish() []byte {
	xref := b.buf.Len()
	fmt.Fprintf(&b.buf, "xref\n0 %d\n0000000000 65535 f \n", len(b.offs)+1)
	for _, o := range b.offs {
		fmt.Fprintf(&b.buf, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b.buf, "trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n", len(b.offs)+1, xref)
	return b.buf.Bytes()
}

const (
	placeholderBR = "/ByteRange [0 0000000000 0000000000 0000000000]"
	contentsHex   = 24 << 10 // hex digits reserved for the CMS blob
)

// unsignedPDF is one page whose header has a blank number, and a signature
// field whose appearance (nested like iText's n0/n2 layers) stamps stamp.
func unsignedPDF(stamp, m string) []byte { return buildPDF(stamp, m, contentsHex) }

// buildPDF is unsignedPDF with hexDigits reserved for the signature.
func buildPDF(stamp, m string, hexDigits int) []byte {
	var b pdfBuilder
	b.buf.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	b.obj("<</Type/Catalog/Pages 2 0 R/AcroForm <</Fields [4 0 R]/SigFlags 3>>>>")
	b.obj("<</Type/Pages/Kids [3 0 R]/Count 1>>")
	b.obj("<</Type/Page/Parent 2 0 R/MediaBox [0 0 595 842]/Contents 6 0 R/Resources <</Font <</F1 7 0 R>>>>/Annots [4 0 R]>>")
	b.obj("<</Type/Annot/Subtype/Widget/FT/Sig/T (Signature1)/Rect [120 730 160 750]/V 5 0 R/P 3 0 R/F 4/AP <</N 8 0 R>>>>")
	b.obj("<</Type/Sig/Filter/Adobe.PPKLite/SubFilter/adbe.pkcs7.detached/M (" + m + ")/Reason (test)" +
		placeholderBR + "/Contents <" + strings.Repeat("0", hexDigits) + ">>>")
	b.obj(stream("", "BT /F1 12 Tf 72 740 Td (So:          /SNV-VP) Tj ET"))
	b.obj("<</Type/Font/Subtype/Type1/BaseFont/Helvetica/Encoding/WinAnsiEncoding>>")
	b.obj(stream("/Type/XObject/Subtype/Form/BBox [0 0 40 20]/Resources <</XObject <</FRM 9 0 R>>>>", "q /FRM Do Q"))
	b.obj(stream("/Type/XObject/Subtype/Form/BBox [0 0 40 20]/Resources <</Font <</F1 7 0 R>>>>", "q BT /F1 12 Tf 2 5 Td ("+stamp+") Tj ET Q"))
	return b.finish()
}

type signOpts struct {
	cert      *x509.Certificate // defaults to the valid leaf
	tsaAt     time.Time         // when set, a timestamp token with this genTime is attached
	badDigest bool              // sign a digest of other bytes
}

// signPDF fills the ByteRange and Contents placeholders of doc with a
// detached CMS signature made with smallstep/pkcs7, as signing software
// does.
func signPDF(t testing.TB, doc []byte, o signOpts) []byte {
	pki := testPKI(t)
	if o.cert == nil {
		o.cert = pki.leaf
	}
	doc = bytes.Clone(doc)
	start := bytes.Index(doc, []byte("/Contents <")) + len("/Contents ")
	end := bytes.IndexByte(doc[start:], '>') + start + 1
	br := fmt.Sprintf("/ByteRange [0 %-10d %-10d %-10d]", start, end, len(doc)-end)
	if len(br) != len(placeholderBR) {
		t.Fatalf("byte range %q does not fit the placeholder", br)
	}
	p := bytes.Index(doc, []byte(placeholderBR))
	copy(doc[p:], br)

	signed := append(bytes.Clone(doc[:start]), doc[end:]...)
	if o.badDigest {
		signed = append(signed, 'x')
	}
	sd, err := pkcs7.NewSignedData(signed)
	if err != nil {
		t.Fatal(err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSignerChain(o.cert, pki.leafKey, []*x509.Certificate{pki.inter}, pkcs7.SignerInfoConfig{}); err != nil {
		t.Fatal(err)
	}
	if !o.tsaAt.IsZero() {
		si := &sd.GetSignedData().SignerInfos[0]
		token := timestampToken(t, si.EncryptedDigest, o.tsaAt)
		if err := si.SetUnauthenticatedAttributes([]pkcs7.Attribute{{Type: oidTimeStampToken, Value: asn1.RawValue{FullBytes: token}}}); err != nil {
			t.Fatal(err)
		}
	}
	sd.Detach()
	der, err := sd.Finish()
	if err != nil {
		t.Fatal(err)
	}
	h := strings.ToUpper(hex.EncodeToString(der))
	if len(h) > end-start-2 {
		t.Fatalf("CMS of %d hex digits does not fit %d", len(h), end-start-2)
	}
	copy(doc[start+1:], h)
	return doc
}

// timestampToken is an RFC 3161 token from the test TSA over signature.
func timestampToken(t testing.TB, signature []byte, at time.Time) []byte {
	pki := testPKI(t)
	sum := sha256.Sum256(signature)
	info, err := asn1.Marshal(struct {
		Version        int
		Policy         asn1.ObjectIdentifier
		MessageImprint messageImprint
		SerialNumber   *big.Int
		GenTime        time.Time `asn1:"generalized"`
	}{1, asn1.ObjectIdentifier{1, 2, 3, 4}, messageImprint{pkix.AlgorithmIdentifier{Algorithm: oidSHA256}, sum[:]}, big.NewInt(42), at.UTC()})
	if err != nil {
		t.Fatal(err)
	}
	sd, err := pkcs7.NewSignedData(info)
	if err != nil {
		t.Fatal(err)
	}
	sd.GetSignedData().ContentInfo.ContentType = oidTST
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSignerChain(pki.tsa, pki.tsaKey, []*x509.Certificate{pki.inter}, pkcs7.SignerInfoConfig{}); err != nil {
		t.Fatal(err)
	}
	der, err := sd.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// appendUpdate adds an incremental update (a new /Info dictionary), the way
// a viewer saving an annotation would.
func appendUpdate(doc []byte) []byte {
	out := bytes.Clone(doc)
	off := len(out)
	out = append(out, "10 0 obj\n<</Producer (someone else)>>\nendobj\n"...)
	xref := len(out)
	prev := bytes.LastIndex(doc, []byte("startxref\n"))
	var prevXref int
	fmt.Sscanf(string(doc[prev+len("startxref\n"):]), "%d", &prevXref)
	out = fmt.Appendf(out, "xref\n10 1\n%010d 00000 n \ntrailer\n<</Size 11/Root 1 0 R/Info 10 0 R/Prev %d>>\nstartxref\n%d\n%%%%EOF\n", off, prevXref, xref)
	return out
}
