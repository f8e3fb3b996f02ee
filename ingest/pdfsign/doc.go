// Package pdfsign verifies the digital signatures of PDF originals and reads
// the text that signatures stamp onto the page.
//
// Official PDFs in the province are signed as Decree 30/2020/NĐ-CP,
// Phụ lục I, prescribes: the signer's signature, then the văn thư's small
// signatures that stamp the registration number and the day (and month) into
// the header's blanks, then the organisation's seal signature. Verify says,
// for each, whether the signed bytes are intact, who signed, when (a
// timestamp authority's time when there is one), whether the chain reaches
// an anchor the operator trusts, and whether the file was changed after the
// last signature. WidgetTexts reads the stamped text, which lives only in
// the signature widgets' appearance streams, and MergeStamps puts the number
// and date back into text extracted without it.
//
// Nothing here uses the network: no OCSP, no CRL, no AIA fetching. A verdict
// is only as good as the anchors in Options.Roots.
package pdfsign
