package sqlite

import (
	"context"
	"errors"
	"testing"
	"time"

	"vanthu/archive"
)

func addDoc(t *testing.T, c *Catalog, id, number string) {
	t.Helper()
	ctx := context.Background()
	at := time.Now()
	d := &archive.Document{ID: id, Number: number, SHA256: id, CreatedAt: at, UpdatedAt: at, CreatedBy: "test", Classification: archive.Unclassified}
	v := &archive.Version{DocumentID: id, N: 1, SHA256: id, Key: "originals/" + id, CreatedAt: at, CreatedBy: "test"}
	if err := c.Update(ctx, func(tx *Tx) error { return tx.InsertDocument(ctx, d, v, nil) }); err != nil {
		t.Fatal(err)
	}
}

// Numbers match without whitespace or leading zeros, and without regard to
// ASCII case only as candidates (the caller prefers exact case); letters
// that differ (QĐ, QyĐ) never match.
func TestDocumentsMatching(t *testing.T) {
	c := openTest(t)
	ctx := context.Background()
	for id, n := range map[string]string{"a": "07/2026/TT-BNV", "b": "104-CTr/TU", "c": "12/2020/QĐ-UBND", "d": "12/2020/QyĐ-UBND"} {
		addDoc(t, c, id, n)
	}
	for _, tc := range []struct {
		number string
		want   string
	}{
		{"7/2026/TT-BNV", "a"},
		{"07 /2026/TT-BNV", "a"},
		{"104-CTr/Tu", "b"},
		{"12/2020/QĐ-UBND", "c"},
		{"12/2020/QyĐ-UBND", "d"},
		{"12/2021/QĐ-UBND", ""},
		{"", ""},
	} {
		ds, err := c.DocumentsMatching(ctx, tc.number)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, d := range ds {
			got += d.ID
		}
		if got != tc.want {
			t.Errorf("DocumentsMatching(%q) = %q, want %q", tc.number, got, tc.want)
		}
	}
}

func TestCitationsAndTaskLinks(t *testing.T) {
	c := openTest(t)
	ctx := context.Background()
	addDoc(t, c, "plan", "1623/KH-UBND")
	addDoc(t, c, "report", "412/BC-SNgV")
	cs := []Citation{{Number: "1623/KH-UBND", Type: "Kế hoạch", Relation: "thuc_hien"}, {Title: "Luật Tổ chức chính quyền địa phương", IssuedAt: "2015-06-19", Relation: "can_cu"}}
	if err := c.Update(ctx, func(tx *Tx) error { return tx.ReplaceCitations(ctx, "report", cs) }); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.CitationsOfNumber(ctx, "1623/KH-UBND"); len(got) != 1 || got[0].DocumentID != "report" || got[0].Seq != 1 {
		t.Errorf("CitationsOfNumber = %+v", got)
	}
	if got, _ := c.CitationsByNameOn(ctx, "2015-06-19"); len(got) != 1 || got[0].Seq != 2 {
		t.Errorf("CitationsByNameOn = %+v", got)
	}
	task := &Task{PlanID: "plan", Title: "quản lý đoàn ra, đoàn vào", CreatedBy: "test"}
	link := &TaskLink{DocumentID: "report", Relation: "reports_on", CreatedBy: "test"}
	err := c.Update(ctx, func(tx *Tx) error {
		if err := tx.InsertTask(ctx, task); err != nil {
			return err
		}
		link.TaskID = task.ID
		return tx.LinkTask(ctx, link)
	})
	if err != nil || task.Seq != 1 {
		t.Fatalf("insert task: %v, seq %d", err, task.Seq)
	}
	err = c.Update(ctx, func(tx *Tx) error { return tx.LinkTask(ctx, link) })
	if !errors.Is(err, archive.ErrConflict) {
		t.Errorf("linking twice: %v, want conflict", err)
	}
	ls, _ := c.DocumentTaskLinks(ctx, "report")
	if len(ls) != 1 || ls[0].TaskID != task.ID {
		t.Errorf("DocumentTaskLinks = %+v", ls)
	}
	if _, err := c.Task(ctx, task.ID+1); !errors.Is(err, archive.ErrNotFound) {
		t.Errorf("missing task: %v", err)
	}
}
