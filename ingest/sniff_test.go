package ingest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"vanthu/archive"
)

func TestSniff(t *testing.T) {
	tests := []struct {
		name string
		head []byte
		want string
		err  error
	}{
		{"pdf", []byte("%PDF-1.7\n%\xe2\xe3"), MimePDF, nil},
		{"pdf after junk", append([]byte("garbage\r\n"), "%PDF-1.4"...), MimePDF, nil},
		{"docx", []byte("PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml"), MimeDOCX, nil},
		{"odt", []byte("PK\x03\x04\x14\x00\x00\x08\x00\x00mimetypeapplication/vnd.oasis.opendocument.text"), MimeODT, nil},
		{"plain zip", []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00photo.jpg"), "", archive.ErrUnsupported},
		{"elf", []byte("\x7fELF\x02\x01\x01\x00"), "", archive.ErrUnsupported},
		{"text", []byte("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc\n"), MimeText, nil},
		{"html", []byte("<!DOCTYPE html><html><body>Kế hoạch</body></html>"), MimeHTML, nil},
		{"png", []byte("\x89PNG\r\n\x1a\n\x00\x00"), MimePNG, nil},
		{"jpeg", []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10}, MimeJPEG, nil},
		{"binary", []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, "", archive.ErrUnsupported},
		{"empty", nil, "", archive.ErrInvalid},
	}
	for _, tt := range tests {
		got, err := Sniff(tt.head)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("%s: Sniff = %q, %v; want %q, %v", tt.name, got, err, tt.want, tt.err)
		}
	}
}

// Every real original in the corpus must be accepted with the right type.
func TestSniffCorpus(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "corpus")
	for sub, want := range map[string]string{"pdf": MimePDF, "docx": MimeDOCX, "text": MimeText} {
		files, _ := filepath.Glob(filepath.Join(dir, sub, "*"))
		if len(files) == 0 {
			t.Skipf("corpus not found at %s", dir)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > SniffLen {
				b = b[:SniffLen]
			}
			if got, err := Sniff(b); got != want {
				t.Errorf("Sniff(%s) = %q, %v; want %q", filepath.Base(f), got, err, want)
			}
		}
	}
}
