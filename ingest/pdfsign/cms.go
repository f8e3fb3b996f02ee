package pdfsign

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"github.com/smallstep/pkcs7"
)

var (
	oidTimeStampToken = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}
	oidSigningTime    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}

	oidSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA224 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 4}
	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
)

func hashForOID(oid asn1.ObjectIdentifier) (crypto.Hash, bool) {
	switch {
	case oid.Equal(oidSHA1):
		return crypto.SHA1, true
	case oid.Equal(oidSHA224):
		return crypto.SHA224, true
	case oid.Equal(oidSHA256):
		return crypto.SHA256, true
	case oid.Equal(oidSHA384):
		return crypto.SHA384, true
	case oid.Equal(oidSHA512):
		return crypto.SHA512, true
	}
	return 0, false
}

// berLength returns the length of the first BER element of b. /Contents is
// zero-padded to its reserved size and pkcs7.Parse refuses trailing bytes,
// so the blob is cut to its encoded length first. Indefinite lengths (some
// signing software writes BER) are followed to their end-of-contents marker.
func berLength(b []byte) (int, error) {
	return berLen(b, 0)
}

func berLen(b []byte, depth int) (int, error) {
	if depth > 32 {
		return 0, errors.New("BER nested too deeply")
	}
	if len(b) < 2 {
		return 0, errors.New("BER element truncated")
	}
	i := 1
	if b[0]&0x1f == 0x1f { // high tag number form
		for i < len(b) && b[i]&0x80 != 0 {
			i++
		}
		i++
	}
	if i >= len(b) {
		return 0, errors.New("BER tag truncated")
	}
	l := int(b[i])
	i++
	switch {
	case l < 0x80:
		if i+l > len(b) {
			return 0, errors.New("BER length past the end")
		}
		return i + l, nil
	case l == 0x80: // indefinite
		if b[0]&0x20 == 0 {
			return 0, errors.New("indefinite length on a primitive BER element")
		}
		for {
			if i+2 > len(b) {
				return 0, errors.New("BER end-of-contents missing")
			}
			if b[i] == 0 && b[i+1] == 0 {
				return i + 2, nil
			}
			n, err := berLen(b[i:], depth+1)
			if err != nil {
				return 0, err
			}
			i += n
		}
	default:
		n := l & 0x7f
		if n > 4 || i+n > len(b) {
			return 0, errors.New("BER length too large")
		}
		v := 0
		for k := 0; k < n; k++ {
			v = v<<8 | int(b[i+k])
		}
		i += n
		if v < 0 || i+v > len(b) {
			return 0, errors.New("BER length past the end")
		}
		return i + v, nil
	}
}

// rangeHasher hashes the signed byte ranges straight from the file, so the
// signed content (the whole PDF but the signature) is never copied into
// memory. pkcs7 calls it in place of hashing PKCS7.Content.
type rangeHasher struct {
	r      io.ReaderAt
	ranges [][2]int64 // offset, length
}

func (h rangeHasher) Hash(fn crypto.Hash, _ io.Reader) ([]byte, error) {
	if !fn.Available() {
		return nil, fmt.Errorf("hash %v not available", fn)
	}
	d := fn.New()
	for _, rg := range h.ranges {
		if _, err := io.Copy(d, io.NewSectionReader(h.r, rg[0], rg[1])); err != nil {
			return nil, fmt.Errorf("read signed range at %d: %w", rg[0], err)
		}
	}
	return d.Sum(nil), nil
}

type messageImprint struct {
	HashAlgorithm pkix.AlgorithmIdentifier
	HashedMessage []byte
}

// tstTSA reads the optional tsa [0] GeneralName that follows genTime,
// accuracy, ordering and nonce in a TSTInfo, when it is a directory name.
func tstTSA(raw []byte) string {
	var seq asn1.RawValue
	if _, err := asn1.Unmarshal(raw, &seq); err != nil {
		return ""
	}
	rest := seq.Bytes
	for len(rest) > 0 {
		var v asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &v); err != nil {
			return ""
		}
		if v.Class == asn1.ClassContextSpecific && v.Tag == 0 {
			var gn asn1.RawValue
			if _, err := asn1.Unmarshal(v.Bytes, &gn); err != nil {
				return ""
			}
			if gn.Class == asn1.ClassContextSpecific && gn.Tag == 4 { // directoryName
				var rdn pkix.RDNSequence
				if _, err := asn1.Unmarshal(gn.Bytes, &rdn); err == nil {
					var n pkix.Name
					n.FillFromRDNSequence(&rdn)
					return commonNameOr(n)
				}
			}
			return ""
		}
	}
	return ""
}

func commonNameOr(n pkix.Name) string {
	if n.CommonName != "" {
		return n.CommonName
	}
	return formatDN(n)
}

// Short names for the attributes seen in Vietnamese certificates, in the
// spelling Poppler and OpenSSL print, so a DN reads the same in every tool.
var attrNames = map[string]string{
	"2.5.4.3":                    "CN",
	"2.5.4.6":                    "C",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "ST",
	"2.5.4.9":                    "STREET",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"2.5.4.12":                   "T",
	"2.5.4.5":                    "SERIALNUMBER",
	"2.5.4.4":                    "SN",
	"2.5.4.42":                   "GN",
	"0.9.2342.19200300.100.1.1":  "UID",
	"1.2.840.113549.1.9.1":       "E",
	"0.9.2342.19200300.100.1.25": "DC",
}

// formatDN writes a distinguished name most-specific first (RFC 4514 order)
// with the short attribute names above and UTF-8 values unescaped except
// for the separators, so Vietnamese names stay readable.
func formatDN(n pkix.Name) string {
	var parts []string
	for i := len(n.Names) - 1; i >= 0; i-- {
		a := n.Names[i]
		key, ok := attrNames[a.Type.String()]
		if !ok {
			key = a.Type.String()
		}
		val := fmt.Sprint(a.Value)
		if strings.ContainsAny(val, ",+=\"\\<>;") {
			val = `"` + strings.ReplaceAll(strings.ReplaceAll(val, `\`, `\\`), `"`, `\"`) + `"`
		}
		parts = append(parts, key+"="+val)
	}
	return strings.Join(parts, ",")
}

// attrValues returns the values of one attribute type in subject order.
func attrValues(n pkix.Name, oid string) []string {
	var out []string
	for _, a := range n.Names {
		if a.Type.String() == oid {
			out = append(out, fmt.Sprint(a.Value))
		}
	}
	return out
}

// serialHex prints a certificate serial the way Vietnamese CA portals and
// Windows show it: upper-case hex, no separators.
func serialHex(c *x509.Certificate) string {
	if c.SerialNumber == nil {
		return ""
	}
	b := c.SerialNumber.Bytes()
	if len(b) == 0 {
		return "00"
	}
	return strings.ToUpper(fmt.Sprintf("%x", b))
}

type tst struct {
	MessageImprint messageImprint
	genTime        time.Time
}

// parseTSTInfo reads the parts of a TSTInfo used here. genTime is parsed
// leniently: DER forbids trailing zeros in fractions, but some timestamp
// authorities write them, and encoding/asn1 would then reject the token.
func parseTSTInfo(der []byte) (tst, error) {
	var raw struct {
		Version        int
		Policy         asn1.ObjectIdentifier
		MessageImprint messageImprint
		SerialNumber   *big.Int
		GenTime        asn1.RawValue
	}
	if _, err := asn1.Unmarshal(der, &raw); err != nil {
		return tst{}, fmt.Errorf("malformed TSTInfo: %w", err)
	}
	if raw.GenTime.Tag != asn1.TagGeneralizedTime {
		return tst{}, errors.New("malformed TSTInfo: genTime is not a GeneralizedTime")
	}
	t, err := parseGeneralizedTime(string(raw.GenTime.Bytes))
	if err != nil {
		return tst{}, err
	}
	return tst{MessageImprint: raw.MessageImprint, genTime: t}, nil
}

func parseGeneralizedTime(s string) (time.Time, error) {
	for _, layout := range []string{"20060102150405.999999999Z0700", "20060102150405Z0700", "200601021504Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("malformed TSTInfo: genTime %q", s)
}

// verifyToken checks an RFC 3161 timestamp token from the unsigned
// attributes: its own CMS signature, and that its message imprint is the
// digest of the signature value it timestamps. Only then is its genTime
// worth more than the signer's own clock.
type tsToken struct {
	genTime time.Time
	tsa     string
	cert    *x509.Certificate   // the TSA's certificate, when the token carries it
	certs   []*x509.Certificate // everything the token carries, for the chain
}

func verifyToken(set []byte, signatureValue []byte) (tsToken, error) {
	n, err := berLength(set)
	if err != nil {
		return tsToken{}, fmt.Errorf("malformed token: %w", err)
	}
	tok, err := pkcs7.Parse(set[:n])
	if err != nil {
		return tsToken{}, fmt.Errorf("malformed token: %w", err)
	}
	if len(tok.Signers) == 0 {
		return tsToken{}, errors.New("token has no signer")
	}
	if err := verifyCMS(tok); err != nil {
		return tsToken{}, fmt.Errorf("token signature: %w", err)
	}
	info, err := parseTSTInfo(tok.Content)
	if err != nil {
		return tsToken{}, err
	}
	h, ok := hashForOID(info.MessageImprint.HashAlgorithm.Algorithm)
	if !ok || !h.Available() {
		return tsToken{}, fmt.Errorf("unsupported imprint hash %s", info.MessageImprint.HashAlgorithm.Algorithm)
	}
	d := h.New()
	d.Write(signatureValue)
	if !bytes.Equal(d.Sum(nil), info.MessageImprint.HashedMessage) {
		return tsToken{}, errors.New("token imprint is not the digest of this signature")
	}
	out := tsToken{genTime: info.genTime, tsa: tstTSA(tok.Content), certs: tok.Certificates}
	si := tok.Signers[0]
	out.cert = signerCert(tok.Certificates, si.IssuerAndSerialNumber.IssuerName.FullBytes, si.IssuerAndSerialNumber.SerialNumber)
	if out.tsa == "" && out.cert != nil {
		out.tsa = commonNameOr(out.cert.Subject)
	}
	return out, nil
}
