package pdfsign

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"github.com/smallstep/pkcs7"
)

// Integrity verdicts.
const (
	IntegrityValid   = "valid"   // digest and signature both check out
	IntegrityInvalid = "invalid" // the signed bytes or the signature value do not match
	IntegrityError   = "error"   // no verdict: unsupported algorithm, unreadable file…
)

// Chain verdicts.
const (
	ChainValid = "valid"
	// ChainIssuerNotVerified: no configured anchor vouches for the issuer.
	// Never read it as "valid": anyone can make a certificate that says
	// "Sở Công thương".
	ChainIssuerNotVerified = "issuer_not_verified"
	ChainInvalid           = "invalid" // a chain to an anchor exists but fails (expired at signing, bad signature…)
)

// Where Signature.SignedAt comes from, most trustworthy first.
const (
	TimeFromTimestamp     = "timestamp"            // RFC 3161 token of a timestamp authority
	TimeFromDictionary    = "signature_dictionary" // /M, written by the signing software
	TimeFromSigningTime   = "signing_time"         // CMS signingTime, written by the signing software
	SubFilterPKCS7        = "adbe.pkcs7.detached"
	SubFilterCAdES        = "ETSI.CAdES.detached"
	SubFilterDocTimeStamp = "ETSI.RFC3161"
)

// Options configure Verify.
type Options struct {
	// Roots is a folder of PEM files holding the trust anchors the operator
	// accepts (self-signed roots, e.g. the Root CA of the Government PKI)
	// and any intermediates. Empty means no anchor: every chain verdict is
	// then issuer_not_verified. Nothing is ever fetched from the network.
	Roots string
}

// Report is the outcome of Verify for one file.
type Report struct {
	Signatures []Signature `json:"signatures"`
}

// Signature is what can be said about one signature of a PDF.
type Signature struct {
	Field     string   `json:"field,omitempty"` // form field name, e.g. "Signature2"
	ByteRange [4]int64 `json:"byte_range"`

	Signer       string    `json:"signer"`                // subject CN: the person or the body whose seal it is
	SubjectDN    string    `json:"subject_dn"`            // most-specific first, e.g. "UID=MST:…,CN=…,O=…,C=VN"
	Organisation string    `json:"organisation"`          // subject O
	Unit         string    `json:"unit,omitempty"`        // subject OU (the department under O)
	Email        string    `json:"email,omitempty"`       // subject E
	TaxCode      string    `json:"tax_code,omitempty"`    // UID=MST:… (mã số thuế)
	BudgetCode   string    `json:"budget_code,omitempty"` // UID=MNS:… (mã quan hệ ngân sách)
	Issuer       string    `json:"issuer,omitempty"`      // issuer CN
	Serial       string    `json:"serial,omitempty"`      // certificate serial, upper-case hex
	NotBefore    time.Time `json:"not_before,omitzero"`
	NotAfter     time.Time `json:"not_after,omitzero"`

	SignedAt   time.Time `json:"signed_at,omitzero"` // UTC
	TimeSource string    `json:"time_source"`        // timestamp, signature_dictionary, signing_time or ""
	TSA        string    `json:"tsa,omitempty"`      // timestamp authority
	// The three claims SignedAt is chosen from, kept so that a reader can
	// see when they disagree (signingTime is sometimes local time written
	// as UTC).
	TimestampTime   time.Time `json:"timestamp_time,omitzero"`
	DictionaryTime  time.Time `json:"dictionary_time,omitzero"`
	SigningTimeAttr time.Time `json:"signing_time_attr,omitzero"`

	SubFilter       string `json:"sub_filter"`
	DigestAlgorithm string `json:"digest_algorithm,omitempty"`

	Integrity   string `json:"integrity"`
	Reason      string `json:"reason,omitempty"` // why integrity is not valid
	Chain       string `json:"chain"`
	ChainReason string `json:"chain_reason,omitempty"`

	// CoversWholeFile: the signed ranges end at the end of the file. Only
	// the last signature can; earlier ones are followed by later signatures.
	CoversWholeFile bool `json:"covers_whole_file"`
	// ModifiedAfter: something other than white space was appended after
	// the last signature (an incremental update: annotations, form data, a
	// new page…). The signature still verifies, but the file shown is not
	// the file signed.
	ModifiedAfter bool `json:"modified_after"`

	Notes []string `json:"notes,omitempty"` // lesser findings, in English for logs
}

// Verify checks every signature of the PDF read from r (size bytes). An
// error is returned only when the file cannot be read or the configured
// roots cannot be loaded; a broken signature is a verdict in the report.
// A file without signatures gives an empty report.
func Verify(r io.ReaderAt, size int64, opts Options) (rep Report, err error) {
	defer func() {
		// The caller runs extraction in a child process anyway, but a
		// malformed original should cost one error, not the worker.
		if p := recover(); p != nil {
			rep, err = Report{}, fmt.Errorf("pdfsign: malformed PDF: %v", p)
		}
	}()
	anchors, err := loadRoots(opts.Roots)
	if err != nil {
		return Report{}, err
	}
	sigs, err := findSignatures(r, size)
	if err != nil {
		return Report{}, err
	}
	if len(sigs) == 0 {
		return Report{}, nil
	}
	fields := sigFieldNames(r, size)
	for i, sd := range sigs {
		s := verifyOne(r, size, sd, anchors)
		s.Field = fields[sd.byteRange]
		if i == len(sigs)-1 {
			s.CoversWholeFile = sd.end() == size
			if sd.end() < size {
				s.ModifiedAfter, err = appendedContent(r, size, sd.end())
				if err != nil {
					return Report{}, err
				}
			}
		}
		rep.Signatures = append(rep.Signatures, s)
	}
	return rep, nil
}

// appendedContent reports whether anything but white space follows off.
// Some producers end the file with a stray newline after the last %%EOF:
// that changes nothing a reader sees.
func appendedContent(r io.ReaderAt, size, off int64) (bool, error) {
	const look = 4096
	if size-off > look {
		return true, nil
	}
	b, err := readRange(r, size, off, size)
	if err != nil {
		return false, err
	}
	return len(bytes.TrimLeft(b, "\x00\t\n\f\r ")) > 0, nil
}

func verifyOne(r io.ReaderAt, size int64, sd sigDict, anchors *trust) (s Signature) {
	s = Signature{ByteRange: sd.byteRange, SubFilter: sd.subFilter, Chain: ChainInvalid}
	if t, ok := parsePDFDate(sd.m); ok && sd.m != "" {
		s.DictionaryTime = t.UTC()
	}
	defer func() {
		// pkcs7 and encoding/asn1 are not hardened against every hostile
		// blob; a panic there is a verdict on this signature, not the file.
		if p := recover(); p != nil {
			s.Integrity, s.Reason = IntegrityError, fmt.Sprintf("malformed signature: %v", p)
		}
		s.pickSigningTime()
	}()
	fail := func(verdict, reason string) Signature {
		s.Integrity, s.Reason = verdict, reason
		if s.ChainReason == "" && s.Chain == ChainInvalid {
			s.ChainReason = "no signer certificate to check"
		}
		return s
	}
	br := sd.byteRange
	switch {
	case sd.problem != "":
		return fail(IntegrityInvalid, sd.problem)
	case br[0] != 0:
		return fail(IntegrityInvalid, "the signed ranges do not start at the beginning of the file")
	case sd.end() > size:
		return fail(IntegrityInvalid, "the signed ranges run past the end of the file")
	}
	n, err := berLength(sd.contents)
	if err != nil {
		return fail(IntegrityInvalid, "malformed CMS signature: "+err.Error())
	}
	p7, err := pkcs7.Parse(sd.contents[:n])
	if err != nil {
		return fail(IntegrityInvalid, "malformed CMS signature: "+err.Error())
	}
	if len(p7.Signers) == 0 {
		return fail(IntegrityInvalid, "the CMS signature has no signer")
	}
	signer := p7.Signers[0]
	if h, ok := hashForOID(signer.DigestAlgorithm.Algorithm); ok {
		s.DigestAlgorithm = h.String()
		if h.String() == "SHA-1" {
			s.Notes = append(s.Notes, "SHA-1 digest: no longer collision-resistant")
		}
	}
	cert := signerCert(p7.Certificates, signer.IssuerAndSerialNumber.IssuerName.FullBytes, signer.IssuerAndSerialNumber.SerialNumber)
	if cert != nil {
		s.describeCert(cert)
	}
	for _, a := range signer.AuthenticatedAttributes {
		if a.Type.Equal(oidSigningTime) {
			var t time.Time
			if _, err := asn1.Unmarshal(a.Value.Bytes, &t); err == nil {
				s.SigningTimeAttr = t.UTC()
			}
		}
	}
	ranges := [][2]int64{{br[0], br[1]}, {br[2], br[3]}}

	if sd.subFilter == SubFilterDocTimeStamp {
		s.verifyDocTimestamp(r, p7, ranges)
	} else {
		s.verifyDetached(r, p7, ranges)
		if s.Integrity == IntegrityInvalid && cert != nil {
			if why := malformedSignatureValue(cert, signer.EncryptedDigest); why != "" {
				s.Reason = why
			}
		}
		for _, a := range signer.UnauthenticatedAttributes {
			if a.Type.Equal(oidTimeStampToken) {
				tok, err := verifyToken(a.Value.Bytes, signer.EncryptedDigest)
				if err != nil {
					s.Notes = append(s.Notes, "timestamp token not used: "+err.Error())
					continue
				}
				// With anchors configured, a timestamp counts only if its
				// authority chains to them: otherwise anyone could backdate
				// a signature into an expired certificate's validity.
				if anchors != nil && anchors.nroots > 0 {
					if tok.cert == nil {
						s.Notes = append(s.Notes, "timestamp token not used: it does not carry the authority's certificate")
						continue
					}
					if v, why := anchors.verdict(tok.cert, tok.certs, tok.genTime); v != ChainValid {
						s.Notes = append(s.Notes, "timestamp token not used: authority "+v+": "+why)
						continue
					}
				}
				s.TimestampTime, s.TSA = tok.genTime.UTC(), tok.tsa
			}
		}
	}
	s.pickSigningTime()
	if cert == nil {
		s.Chain, s.ChainReason = ChainInvalid, "the CMS signature does not include the signer's certificate"
		if s.Integrity == IntegrityValid {
			s.Integrity, s.Reason = IntegrityError, "signer certificate missing"
		}
		return s
	}
	s.Chain, s.ChainReason = anchors.verdict(cert, p7.Certificates, s.SignedAt)
	if !s.SignedAt.IsZero() && (s.SignedAt.Before(cert.NotBefore) || s.SignedAt.After(cert.NotAfter)) {
		// Said even without anchors, where the chain verdict cannot say it.
		s.Notes = append(s.Notes, "the certificate was not valid at the signing time")
	}
	return s
}

// verifyDetached checks an adbe.pkcs7.detached / ETSI.CAdES.detached
// signature: the messageDigest attribute against the signed ranges, then
// the signature value over the signed attributes.
func (s *Signature) verifyDetached(r io.ReaderAt, p7 *pkcs7.PKCS7, ranges [][2]int64) {
	if len(p7.Signers[0].AuthenticatedAttributes) == 0 {
		// Without signed attributes the signature is over the content
		// itself, which pkcs7 wants in memory. Rare and small enough.
		var buf bytes.Buffer
		for _, rg := range ranges {
			if _, err := io.Copy(&buf, io.NewSectionReader(r, rg[0], rg[1])); err != nil {
				s.Integrity, s.Reason = IntegrityError, "reading the signed ranges: "+err.Error()
				return
			}
		}
		p7.Content = buf.Bytes()
	} else {
		p7.Content = nil
		p7.Hasher = rangeHasher{r: r, ranges: ranges}
	}
	err := verifyCMS(p7)
	s.Integrity, s.Reason = classify(err)
}

// malformedSignatureValue explains a signature value that cannot be an
// RSA signature at all, rather than one that is merely wrong: its length
// must be the modulus length. Some signing software has been seen to put a
// whole CMS SignedData there.
func malformedSignatureValue(cert *x509.Certificate, sig []byte) string {
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok || len(sig) == pub.Size() {
		return ""
	}
	why := fmt.Sprintf("malformed signature value: %d bytes where a %d-bit RSA key signs %d", len(sig), pub.N.BitLen(), pub.Size())
	if bytes.Contains(sig[:min(len(sig), 24)], []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02}) {
		why += " (it holds a nested CMS SignedData)"
	}
	return why
}

// verifyCMS checks digest and signature of every signer of p7, and nothing
// about certificate validity. pkcs7 refuses a signingTime outside the
// certificate's validity before it looks at the signature; whether the
// certificate was valid when signing is the chain verdict's question, judged
// at the best signing time known (a timestamp, not the signer's own clock).
// So the check runs against copies of the certificates whose validity is
// unbounded: only their public keys matter here.
func verifyCMS(p7 *pkcs7.PKCS7) error {
	orig := p7.Certificates
	defer func() { p7.Certificates = orig }()
	p7.Certificates = make([]*x509.Certificate, len(orig))
	for i, c := range orig {
		u := *c
		u.NotBefore, u.NotAfter = time.Time{}, time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
		p7.Certificates[i] = &u
	}
	return p7.VerifyWithChainAtTime(nil, time.Time{})
}

func classify(err error) (string, string) {
	var mismatch *pkcs7.MessageDigestMismatchError
	switch {
	case err == nil:
		return IntegrityValid, ""
	case errors.As(err, &mismatch):
		return IntegrityInvalid, "the signed bytes have changed: message digest mismatch"
	case errors.Is(err, rsa.ErrVerification), strings.Contains(err.Error(), "verification failure"):
		return IntegrityInvalid, "the signature value does not verify with the signer's key"
	case strings.Contains(err.Error(), "attribute type not in attributes"):
		return IntegrityInvalid, "the signed attributes lack a message digest"
	}
	return IntegrityError, err.Error()
}

// verifyDocTimestamp checks an ETSI.RFC3161 document timestamp: the token
// is the whole signature and its message imprint is the digest of the
// signed ranges.
func (s *Signature) verifyDocTimestamp(r io.ReaderAt, p7 *pkcs7.PKCS7, ranges [][2]int64) {
	if err := verifyCMS(p7); err != nil {
		s.Integrity, s.Reason = classify(err)
		return
	}
	info, err := parseTSTInfo(p7.Content)
	if err != nil {
		s.Integrity, s.Reason = IntegrityInvalid, err.Error()
		return
	}
	h, ok := hashForOID(info.MessageImprint.HashAlgorithm.Algorithm)
	if !ok {
		s.Integrity, s.Reason = IntegrityError, "unsupported imprint hash "+info.MessageImprint.HashAlgorithm.Algorithm.String()
		return
	}
	got, err := rangeHasher{r: r, ranges: ranges}.Hash(h, nil)
	if err != nil {
		s.Integrity, s.Reason = IntegrityError, err.Error()
		return
	}
	if !bytes.Equal(got, info.MessageImprint.HashedMessage) {
		s.Integrity, s.Reason = IntegrityInvalid, "the signed bytes have changed: timestamp imprint mismatch"
		return
	}
	s.Integrity = IntegrityValid
	s.TimestampTime = info.genTime.UTC()
	s.TSA = s.Signer
	if name := tstTSA(p7.Content); name != "" {
		s.TSA = name
	}
}

// pickSigningTime chooses SignedAt: a verified timestamp first (a third
// party vouches for it), then /M, then signingTime. /M comes before
// signingTime because signing software writes it with an explicit offset
// (D:20260504165457+07'00'), whereas signingTime is UTC by definition and
// some Vietnamese software fills it with local time.
func (s *Signature) pickSigningTime() {
	switch {
	case !s.TimestampTime.IsZero():
		s.SignedAt, s.TimeSource = s.TimestampTime, TimeFromTimestamp
	case !s.DictionaryTime.IsZero():
		s.SignedAt, s.TimeSource = s.DictionaryTime, TimeFromDictionary
	case !s.SigningTimeAttr.IsZero():
		s.SignedAt, s.TimeSource = s.SigningTimeAttr, TimeFromSigningTime
	default:
		s.SignedAt, s.TimeSource = time.Time{}, ""
	}
	if !s.TimestampTime.IsZero() && !s.SigningTimeAttr.IsZero() {
		if d := s.SigningTimeAttr.Sub(s.TimestampTime); d > 5*time.Minute || d < -5*time.Minute {
			note := fmt.Sprintf("signingTime %s differs from the timestamp by %s", s.SigningTimeAttr.Format(time.RFC3339), d.Round(time.Second))
			if !containsString(s.Notes, note) {
				s.Notes = append(s.Notes, note)
			}
		}
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func signerCert(certs []*x509.Certificate, issuer []byte, serial *big.Int) *x509.Certificate {
	for _, c := range certs {
		if serial != nil && c.SerialNumber != nil && serial.Cmp(c.SerialNumber) == 0 && bytes.Equal(c.RawIssuer, issuer) {
			return c
		}
	}
	return nil
}

// describeCert fills the signer fields from the certificate subject.
func (s *Signature) describeCert(c *x509.Certificate) {
	s.Signer = commonNameOr(c.Subject)
	s.SubjectDN = formatDN(c.Subject)
	s.Organisation = strings.Join(c.Subject.Organization, ", ")
	s.Unit = strings.Join(c.Subject.OrganizationalUnit, ", ")
	if e := attrValues(c.Subject, "1.2.840.113549.1.9.1"); len(e) > 0 {
		s.Email = e[0]
	}
	// Vietnamese certificates carry the organisation's codes in UID:
	// "MST:5300132743" (tax code), "MNS:1032158" (budget relation code),
	// sometimes "CMND:"/"CCCD:" for persons, which are left alone.
	for _, v := range attrValues(c.Subject, "0.9.2342.19200300.100.1.1") {
		k, val, ok := strings.Cut(v, ":")
		if !ok {
			continue
		}
		switch strings.ToUpper(strings.TrimSpace(k)) {
		case "MST":
			s.TaxCode = strings.TrimSpace(val)
		case "MNS":
			s.BudgetCode = strings.TrimSpace(val)
		}
	}
	s.Issuer = commonNameOr(c.Issuer)
	s.Serial = serialHex(c)
	s.NotBefore, s.NotAfter = c.NotBefore.UTC(), c.NotAfter.UTC()
}
