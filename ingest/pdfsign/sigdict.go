package pdfsign

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
)

// Signature dictionaries are found by scanning the raw bytes for /ByteRange
// rather than by walking the document's cross-reference structure. That is
// sound for signatures in particular: a /Contents hole excluded by a ByteRange
// must be literal bytes of the file, so a signature dictionary can never be
// hidden inside a compressed object stream, and scanning also finds the
// signatures of earlier revisions that a later incremental update may have
// unlinked. Each hit is checked against the file (the gap must be exactly one
// hex string) before it is believed.

// sigDict is one signature dictionary as found in the file.
type sigDict struct {
	byteRange [4]int64
	// holeOK: the ByteRange gap is exactly one <hex> string within the file;
	// contents then holds its decoded bytes (the CMS blob with its padding).
	holeOK   bool
	contents []byte
	// problem explains why the dictionary cannot be trusted as found.
	problem string

	subFilter string
	m         string // /M, the signing time the software wrote
}

func (s sigDict) end() int64 { return s.byteRange[2] + s.byteRange[3] }

const (
	scanChunk = 1 << 20
	// dictWindow is how far before its /ByteRange key (or /Contents hole)
	// the start of a signature dictionary is looked for. Real dictionaries
	// keep /Reason, /Location, /Prop_Build… there: a few hundred bytes.
	dictWindow = 16 << 10
	// maxContents bounds a /Contents hole; real ones are 8–64 KB of hex.
	maxContents = 4 << 20
)

var byteRangeKey = []byte("/ByteRange")

// findByteRangeKeys returns the offsets of every "/ByteRange" in the file,
// reading it in chunks so that a large original is never held in memory.
func findByteRangeKeys(r io.ReaderAt, size int64) ([]int64, error) {
	var offs []int64
	overlap := int64(len(byteRangeKey) - 1)
	buf := make([]byte, scanChunk+overlap)
	for base := int64(0); base < size; base += scanChunk {
		n := int64(len(buf))
		if base+n > size {
			n = size - base
		}
		got, err := r.ReadAt(buf[:n], base)
		if err != nil && !(errors.Is(err, io.EOF) && int64(got) == n) {
			return nil, fmt.Errorf("pdfsign: read at %d: %w", base, err)
		}
		chunk := buf[:got]
		for i := 0; ; {
			j := bytes.Index(chunk[i:], byteRangeKey)
			if j < 0 {
				break
			}
			off := base + int64(i+j)
			// The overlap region is scanned twice; keep each offset once.
			if len(offs) == 0 || offs[len(offs)-1] != off {
				offs = append(offs, off)
			}
			i += j + 1
		}
	}
	return offs, nil
}

func readRange(r io.ReaderAt, size, from, to int64) ([]byte, error) {
	if from < 0 {
		from = 0
	}
	if to > size {
		to = size
	}
	if to <= from {
		return nil, nil
	}
	b := make([]byte, to-from)
	n, err := r.ReadAt(b, from)
	if err != nil && !(errors.Is(err, io.EOF) && n == len(b)) {
		return nil, fmt.Errorf("pdfsign: read %d-%d: %w", from, to, err)
	}
	return b, nil
}

// findSignatures returns the signature dictionaries in the file, one per
// distinct ByteRange, ordered by where their signed range ends (the order
// in which they were applied).
func findSignatures(r io.ReaderAt, size int64) ([]sigDict, error) {
	offs, err := findByteRangeKeys(r, size)
	if err != nil {
		return nil, err
	}
	seen := map[[4]int64]bool{}
	var sigs []sigDict
	for _, off := range offs {
		head, err := readRange(r, size, off, off+256)
		if err != nil {
			return nil, err
		}
		br, ok := parseByteRangeAt(head)
		if !ok || seen[br] {
			continue
		}
		sd, ok, err := readSigDict(r, size, off, br)
		if err != nil {
			return nil, err
		}
		if !ok {
			// "/ByteRange" in some text or stream, not a signature.
			continue
		}
		seen[br] = true
		sigs = append(sigs, sd)
	}
	sort.SliceStable(sigs, func(i, j int) bool { return sigs[i].end() < sigs[j].end() })
	return sigs, nil
}

// parseByteRangeAt reads "/ByteRange [a b c d]" at the start of b.
func parseByteRangeAt(b []byte) ([4]int64, bool) {
	var br [4]int64
	l := &lexer{b: b}
	if t := l.next(); t.kind != tokName || t.s != "ByteRange" {
		return br, false
	}
	return byteRangeOf(l.value(l.next(), 0))
}

func byteRangeOf(v any) ([4]int64, bool) {
	var br [4]int64
	arr, ok := v.(pdfArray)
	if !ok || len(arr) != 4 {
		return br, false
	}
	for i, x := range arr {
		f, ok := x.(float64)
		if !ok || f < 0 || f > math.MaxInt64/4 || f != math.Trunc(f) {
			return br, false
		}
		br[i] = int64(f)
	}
	return br, true
}

var objHeader = regexp.MustCompile(`(?:^|[^0-9])[0-9]+[ \t\r\n\f\x00]+[0-9]+[ \t\r\n\f\x00]+obj\b`)

// readSigDict reads the dictionary that holds the /ByteRange key at off.
// ok is false when no enclosing signature dictionary can be found: the
// bytes were not a signature.
func readSigDict(r io.ReaderAt, size, off int64, br [4]int64) (sigDict, bool, error) {
	sd := sigDict{byteRange: br}
	holeStart, holeEnd := br[0]+br[1], br[2]
	if br[1] >= 0 && holeEnd > holeStart && holeEnd <= size && holeEnd-holeStart <= maxContents {
		hole, err := readRange(r, size, holeStart, holeEnd)
		if err != nil {
			return sd, false, err
		}
		if len(hole) >= 2 && hole[0] == '<' && hole[len(hole)-1] == '>' && isHex(hole[1:len(hole)-1]) {
			sd.holeOK = true
			l := &lexer{b: hole}
			sd.contents = []byte(l.next().s)
		}
	}

	// The dictionary starts before both its /ByteRange key and, when
	// /Contents comes first, before the hole.
	anchor := off
	if sd.holeOK && holeStart < off {
		anchor = holeStart
	}
	to := off + 512
	if sd.holeOK && holeEnd > off {
		to = holeEnd + 512
	}
	to += dictWindow
	from := anchor - dictWindow
	if from < 0 {
		from = 0
	}
	win, err := readRange(r, size, from, to)
	if err != nil {
		return sd, false, err
	}
	rel := int(off - from) // offset of /ByteRange within win

	d, ok := enclosingSigDict(win, rel, int(anchor-from), br)
	if !ok {
		return sd, false, nil
	}
	sd.subFilter = d.name("SubFilter")
	if s, ok := d.str("M"); ok {
		sd.m = s.s
	}
	contents, hasContents := d.str("Contents")
	switch {
	case !hasContents:
		sd.problem = "the signature dictionary has no /Contents"
	case !sd.holeOK:
		sd.problem = "the ByteRange gap is not a hex string inside the file"
	case int64(contents.start)+from != holeStart || int64(contents.end)+from != holeEnd:
		// Bytes outside every signed range that are not the signature value
		// could be changed freely: refuse to call that intact.
		sd.problem = "the ByteRange gap is not this dictionary's /Contents"
	}
	return sd, true, nil
}

func isHex(b []byte) bool {
	for _, c := range b {
		if _, ok := unhex(c); !ok && !isWhite(c) {
			return false
		}
	}
	return true
}

// enclosingSigDict parses the object around win[rel:] and returns the
// dictionary whose /ByteRange is br. It tries the nearest "N G obj" header
// first (normal files: the signature dictionary is an indirect object), then
// the nearest "<<" openings, so that a dictionary written as a direct object
// inside its field is found too.
func enclosingSigDict(win []byte, rel, anchor int, br [4]int64) (pdfDict, bool) {
	try := func(start int) (pdfDict, bool) {
		l := &lexer{b: win, pos: start}
		v := l.value(l.next(), 0)
		if l.pos <= rel {
			return nil, false // ended before the /ByteRange key
		}
		return findDictWithByteRange(v, br, 0)
	}
	if locs := objHeader.FindAllIndex(win[:anchor], -1); len(locs) > 0 {
		hdr := locs[len(locs)-1][1]
		if d, ok := try(hdr); ok {
			return d, true
		}
	}
	for i, tries := anchor, 0; i > 0 && tries < 64; tries++ {
		j := bytes.LastIndex(win[:i], []byte("<<"))
		if j < 0 {
			break
		}
		if d, ok := try(j); ok {
			return d, true
		}
		i = j
	}
	return nil, false
}

func findDictWithByteRange(v any, br [4]int64, depth int) (pdfDict, bool) {
	if depth > 8 {
		return nil, false
	}
	switch v := v.(type) {
	case pdfDict:
		if got, ok := byteRangeOf(v["ByteRange"]); ok && got == br {
			return v, true
		}
		for _, x := range v {
			if d, ok := findDictWithByteRange(x, br, depth+1); ok {
				return d, true
			}
		}
	case pdfArray:
		for _, x := range v {
			if d, ok := findDictWithByteRange(x, br, depth+1); ok {
				return d, true
			}
		}
	}
	return nil, false
}
