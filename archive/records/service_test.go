package records

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vanthu/archive"
	"vanthu/archive/fsstore"
	"vanthu/archive/sqlite"
)

// newService builds the real service over a filesystem store and a SQLite
// catalog in a temporary directory.
func newService(t *testing.T) *Service {
	t.Helper()
	dir := t.TempDir()
	st, err := fsstore.New(filepath.Join(dir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := sqlite.Open(filepath.Join(dir, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close(); st.Close() })
	return &Service{Blobs: st, Catalog: cat, MaxUpload: 1 << 20, MaxClassification: archive.Mat}
}

func actorOf(name string, role archive.Role, c archive.Classification) Actor {
	return Actor{User: &archive.User{Name: name, Role: role, Clearance: c}}
}

func upload(t *testing.T, s *Service, a Actor, body string, fields map[string]string) *archive.Document {
	t.Helper()
	ctx := context.Background()
	st, err := s.Stage(ctx, "vb.txt", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.Register(ctx, a, st, fields)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func countEvents(t *testing.T, s *Service, docID, action string) int {
	t.Helper()
	evs, err := s.Catalog.Events(context.Background(), sqlite.AuditFilter{DocumentID: docID, Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

func TestDisposition(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	clerk := actorOf("lan", archive.RoleClerk, archive.Unclassified)
	admin := actorOf("minh", archive.RoleAdmin, archive.Unclassified)
	old := upload(t, s, clerk, "Công văn cũ về lưu trữ", map[string]string{"issued_at": "2010-03-01", "retention": "10", "retention_basis": "Thông tư 10/2022/TT-BNV"})
	held := upload(t, s, clerk, "Hồ sơ đang giữ", map[string]string{"issued_at": "2010-03-01", "retention": "10", "legal_hold": "true"})
	young := upload(t, s, clerk, "Kế hoạch năm nay", map[string]string{"issued_at": "2025-03-01", "retention": "10"})
	forever := upload(t, s, clerk, "Nghị quyết", map[string]string{"retention": "permanent", "retention_basis": "Thông tư 10/2022/TT-BNV"})

	for _, tt := range []struct {
		doc  *archive.Document
		code string
	}{{held, "legal_hold"}, {young, "retention"}, {forever, "retention"}} {
		err := s.RequestDisposal(ctx, clerk, tt.doc.ID, "hết hạn")
		var ae *archive.Error
		if !errors.As(err, &ae) || ae.Code != tt.code || !errors.Is(err, archive.ErrConflict) {
			t.Errorf("RequestDisposal(%s) = %v, want conflict %s", tt.doc.Subject, err, tt.code)
		} else {
			t.Logf("refused: %s", ae.Message)
		}
		if n := countEvents(t, s, tt.doc.ID, archive.ActionDisposition); n != 1 {
			t.Errorf("refusal of %s audited %d times, want 1", tt.doc.Subject, n)
		}
	}

	if err := s.RequestDisposal(ctx, clerk, old.ID, "hết thời hạn bảo quản"); err != nil {
		t.Fatal(err)
	}
	// The requester may not approve, and only an admin approves.
	if _, err := s.ApproveDisposal(ctx, actorOf("lan", archive.RoleAdmin, archive.Unclassified), old.ID); !errors.Is(err, archive.ErrConflict) {
		t.Errorf("approval by the requester = %v, want conflict", err)
	}
	if _, err := s.ApproveDisposal(ctx, clerk, old.ID); !errors.Is(err, archive.ErrForbidden) {
		t.Errorf("approval by a clerk = %v, want forbidden", err)
	}
	d, err := s.ApproveDisposal(ctx, admin, old.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.DisposedAt == "" {
		t.Error("approved disposition left no disposal date")
	}
	if _, err := s.Blobs.Stat(ctx, archive.OriginalKey(old.SHA256)); !errors.Is(err, archive.ErrNotFound) {
		t.Errorf("original still stored after disposition: %v", err)
	}
	// The residual record stays, with its metadata and history.
	res, err := s.Catalog.Document(ctx, old.ID)
	if err != nil || res.RetentionBasis != "Thông tư 10/2022/TT-BNV" {
		t.Errorf("residual record = %+v, %v", res, err)
	}
	if _, _, err := s.Original(ctx, clerk, old.ID, nil); !errors.Is(err, archive.ErrGone) {
		t.Errorf("download after disposition = %v, want gone", err)
	}
	evs, _ := s.Catalog.Events(ctx, sqlite.AuditFilter{DocumentID: old.ID, Action: archive.ActionDisposition})
	var approved bool
	for _, e := range evs {
		if e.Details["step"] == "approve" && e.Outcome == "ok" && e.Actor == "minh" && e.Details["requested_by"] == "lan" {
			approved = true
		}
	}
	if !approved {
		t.Errorf("no audited approval naming requester and approver in %+v", evs)
	}
}

func TestVersions(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	clerk := actorOf("lan", archive.RoleClerk, archive.Unclassified)
	d := upload(t, s, clerk, "Bản dự thảo", nil)
	st, err := s.Stage(ctx, "ban-chinh-thuc.txt", strings.NewReader("Bản chính thức"))
	if err != nil {
		t.Fatal(err)
	}
	d2, err := s.AddVersion(ctx, clerk, d.ID, st)
	if err != nil {
		t.Fatal(err)
	}
	if d2.Version != 2 || d2.SHA256 == d.SHA256 {
		t.Fatalf("after AddVersion: version %d sha %s", d2.Version, d2.SHA256)
	}
	vs, _ := s.Catalog.Versions(ctx, d.ID)
	if len(vs) != 2 {
		t.Fatalf("versions = %d, want 2", len(vs))
	}
	// Both originals are still there, byte for byte.
	for _, v := range vs {
		rc, _, err := s.Blobs.Get(ctx, v.Key)
		if err != nil {
			t.Fatalf("version %d: %v", v.N, err)
		}
		var b bytes.Buffer
		b.ReadFrom(rc)
		rc.Close()
		if b.Len() != int(v.Size) {
			t.Errorf("version %d: %d bytes, want %d", v.N, b.Len(), v.Size)
		}
	}
}

func TestCheckpoints(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	key, err := LoadOrCreateAuditKey(filepath.Join(t.TempDir(), "k.pem"))
	if err != nil {
		t.Fatal(err)
	}
	s.AuditKey = key
	clerk := actorOf("lan", archive.RoleClerk, archive.Unclassified)
	for i := 0; i < 3; i++ {
		upload(t, s, clerk, "văn bản "+time.Now().String(), nil)
	}
	seq, err := s.Checkpoint(ctx, key)
	if err != nil || seq == 0 {
		t.Fatalf("Checkpoint = %d, %v", seq, err)
	}
	pub := key.Public().(ed25519.PublicKey)
	res, n, err := s.VerifyAudit(ctx, pub)
	if err != nil || !res.OK || n != 1 {
		t.Fatalf("VerifyAudit = %+v, %d, %v", res, n, err)
	}
	// A different key's view: the checkpoint's signature does not verify.
	other, _ := LoadOrCreateAuditKey(filepath.Join(t.TempDir(), "other.pem"))
	res, _, _ = s.VerifyAudit(ctx, other.Public().(ed25519.PublicKey))
	if res.OK {
		t.Error("checkpoint verified under a foreign key")
	}
}

func TestDuplicateRegistration(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	clerk := actorOf("lan", archive.RoleClerk, archive.Unclassified)
	first := upload(t, s, clerk, "Kế hoạch đối ngoại 2018", map[string]string{"number": "1623/KH-UBND", "issuer": "UBND tỉnh Quảng Nam", "issued_at": "2018-04-10"})
	st, _ := s.Stage(ctx, "ban-sao.txt", strings.NewReader("Kế hoạch đối ngoại 2018 (bản scan khác)"))
	_, err := s.Register(ctx, clerk, st, map[string]string{"number": "1623 /KH-UBND", "issuer": "UBND tỉnh Quảng Nam", "issued_at": "2018-04-10"})
	var ae *archive.Error
	if !errors.As(err, &ae) || ae.Code != "duplicate_registration" || ae.Extra["existing_id"] != first.ID {
		t.Fatalf("second registration of 1623/KH-UBND (2018) = %v, want duplicate_registration naming %s", err, first.ID)
	}
	// Numbers restart each year: the same number in 2019 is another document.
	upload(t, s, clerk, "Kế hoạch đối ngoại 2019", map[string]string{"number": "1623/KH-UBND", "issuer": "UBND tỉnh Quảng Nam", "issued_at": "2019-05-02"})
	// A confirmed duplicate is stored, and shows the collision.
	st, _ = s.Stage(ctx, "ban-sao.txt", strings.NewReader("Kế hoạch đối ngoại 2018 (bản scan khác)"))
	d, err := s.Register(ctx, clerk, st, map[string]string{"number": "1623/KH-UBND", "issuer": "UBND tỉnh Quảng Nam", "issued_at": "2018-04-10", "allow_duplicate": "true"})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.PossibleDuplicates(ctx, clerk, d); len(got) != 1 || got[0] != first.ID {
		t.Errorf("PossibleDuplicates = %v, want [%s]", got, first.ID)
	}
}
