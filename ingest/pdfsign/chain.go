package pdfsign

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// trust holds the operator's anchors. A nil *trust means none configured.
type trust struct {
	roots         *x509.CertPool
	intermediates []*x509.Certificate
	nroots        int
}

// loadRoots reads every PEM certificate in dir (not recursive). Self-signed
// certificates become anchors; the rest are offered as intermediates, since
// CMS blobs from Vietnamese signing software often carry only the leaf.
// A missing or unreadable folder is an error: a typo in the configuration
// must not silently downgrade every verdict.
func loadRoots(dir string) (*trust, error) {
	if dir == "" {
		return nil, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("pdfsign: roots: %w", err)
	}
	t := &trust{roots: x509.NewCertPool()}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("pdfsign: roots: %w", err)
		}
		for {
			var block *pem.Block
			block, data = pem.Decode(data)
			if block == nil {
				break
			}
			if block.Type != "CERTIFICATE" {
				continue
			}
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("pdfsign: roots: %s: %w", path, err)
			}
			if isSelfSigned(c) {
				t.roots.AddCert(c)
				t.nroots++
			} else {
				t.intermediates = append(t.intermediates, c)
			}
		}
	}
	return t, nil
}

func isSelfSigned(c *x509.Certificate) bool {
	return string(c.RawIssuer) == string(c.RawSubject) && c.CheckSignatureFrom(c) == nil
}

// verdict checks the signer's chain at the signing time: a certificate that
// has expired since but was valid when signed (by a timestamp, preferably)
// is valid. Without a known signing time the present is used. Revocation is
// not checked: that needs the network (OCSP, CRLs) and the verifier has none.
func (t *trust) verdict(leaf *x509.Certificate, bundled []*x509.Certificate, at time.Time) (string, string) {
	if t == nil || t.nroots == 0 {
		return ChainIssuerNotVerified, "no trust anchors configured"
	}
	if at.IsZero() {
		at = time.Now()
	}
	inter := x509.NewCertPool()
	for _, c := range t.intermediates {
		inter.AddCert(c)
	}
	for _, c := range bundled {
		if c != leaf {
			inter.AddCert(c)
		}
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:         t.roots,
		Intermediates: inter,
		CurrentTime:   at,
		// Document-signing certificates carry emailProtection, codeSigning
		// or no EKU at all; the key usage is not what is being judged here.
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	var unknown x509.UnknownAuthorityError
	switch {
	case err == nil:
		return ChainValid, ""
	case errors.As(err, &unknown):
		return ChainIssuerNotVerified, "the configured anchors do not contain the issuer"
	}
	return ChainInvalid, err.Error()
}
