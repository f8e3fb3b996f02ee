package records

import (
	"context"
	"reflect"
	"testing"

	"vanthu/archive"
	"vanthu/search"
)

// SearchDocs (reindex: two queries per batch) must give every document the
// entry SearchDoc (the index worker: four queries per document) gives it:
// citations, task links, signatures and dates included, disposed documents
// left out but counted. Batches of 2 put a plan and its linked documents in
// different batches.
func TestSearchDocsMatchSearchDoc(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	clerk := e.user(t, "vanthu", archive.RoleClerk, archive.Unclassified)
	officer := e.user(t, "chuyenvien", archive.RoleOfficer, archive.Unclassified)
	admin := e.user(t, "quantri", archive.RoleAdmin, archive.Unclassified)
	_, tasks := e.plan(t, clerk)
	report := e.upload(t, clerk, example("bc-snv-doan-ra-doan-vao-quy-ii-2018.txt"), nil)
	for _, tk := range []TaskView{tasks[6], tasks[2], tasks[6]} {
		if _, err := e.s.LinkTask(ctx, officer, tk.ID, report.ID, "reports_on"); err != nil && !isKind(err, archive.ErrConflict) {
			t.Fatal(err)
		}
	}
	upload(t, e.s, clerk, "Công văn số 12/SNV về việc lưu trữ", map[string]string{"tags": "lưu trữ,hồ sơ"})
	old := upload(t, e.s, clerk, "Công văn cũ về lưu trữ", map[string]string{"issued_at": "2010-03-01", "retention": "10"})
	if err := e.s.RequestDisposal(ctx, clerk, old.ID, "hết thời hạn bảo quản"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.ApproveDisposal(ctx, admin, old.ID); err != nil {
		t.Fatal(err)
	}

	want := map[string]*search.Doc{}
	var ids []string
	err := e.s.Catalog.AllDocumentIDs(ctx, func(batch []string) error {
		for _, id := range batch {
			ids = append(ids, id)
			d, err := e.s.SearchDoc(ctx, id)
			if isKind(err, archive.ErrNotFound) {
				continue // disposed
			}
			if err != nil {
				return err
			}
			want[id] = d
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != len(ids)-1 {
		t.Fatalf("%d documents, %d with an entry: want exactly the disposed one without", len(ids), len(want))
	}
	rows, got := 0, 0
	err = e.s.SearchDocs(ctx, 2, func(docs []search.Doc, n int) error {
		if n > 2 {
			t.Errorf("batch of %d rows, want at most 2", n)
		}
		rows += n
		for _, d := range docs {
			got++
			if d.ID == old.ID {
				t.Errorf("disposed document %s has an entry", d.ID)
			} else if !reflect.DeepEqual(&d, want[d.ID]) {
				t.Errorf("SearchDocs entry of %s:\n%+v\nSearchDoc:\n%+v", d.ID, d, want[d.ID])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if rows != len(ids) || got != len(want) {
		t.Errorf("SearchDocs covered %d rows with %d entries, want %d and %d", rows, got, len(ids), len(want))
	}
	if r := want[report.ID]; len(r.Tasks) != 2 || len(r.Cites) == 0 {
		t.Errorf("the report's entry has tasks %v and cites %v: the test lost its links", r.Tasks, r.Cites)
	}
}
