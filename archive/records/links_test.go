package records

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"vanthu/archive"
	"vanthu/archive/sqlite"
	"vanthu/ingest"
	"vanthu/search"
)

// env is a real archive: filesystem blob store, SQLite catalog, Bleve index
// and the queue workers, with extraction in this process.
type env struct {
	s *Service
}

func newEnv(t *testing.T) *env {
	t.Helper()
	w := newWorkers(t)
	w.S.ExtractWait = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	// Registered after newWorkers': runs first, before the index and the
	// catalog close.
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return &env{s: w.S}
}

// newWorkers is a service and its workers, not running: filesystem blob
// store, SQLite catalog, Bleve index, extraction in this process.
func newWorkers(t *testing.T) *Workers {
	t.Helper()
	s := newService(t)
	s.MaxUpload, s.MaxClassification = 64<<20, archive.TuyetMat
	return workersFor(t, s)
}

// workersFor is s's workers, not running: a Bleve index, extraction in
// this process; s logs nowhere.
func workersFor(t *testing.T, s *Service) *Workers {
	t.Helper()
	s.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	ix, err := search.Open(filepath.Join(dir, "index"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() }) // before newService's: the catalog closes last
	return &Workers{S: s, Extractor: &ingest.Extractor{OCRMaxPages: -1}, Index: ix, TempDir: dir}
}

func (e *env) user(t *testing.T, name string, role archive.Role, c archive.Classification) Actor {
	t.Helper()
	u := &archive.User{Name: name, Role: role, Clearance: c}
	if err := e.s.Catalog.Update(context.Background(), func(tx *sqlite.Tx) error { return tx.CreateUser(context.Background(), u, "") }); err != nil {
		t.Fatal(err)
	}
	return Actor{User: u, IP: "127.0.0.1", RequestID: "test"}
}

// upload registers a file through the real path and waits for extraction.
func (e *env) upload(t *testing.T, a Actor, path string, fields map[string]string) *archive.Document {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx := context.Background()
	st, err := e.s.Stage(ctx, filepath.Base(path), f)
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.s.Register(ctx, a, st, fields)
	if err != nil {
		t.Fatalf("upload %s: %v", path, err)
	}
	if d.TextStatus != archive.TextOK {
		t.Fatalf("upload %s: text_status %s (%s)", path, d.TextStatus, d.TextReason)
	}
	return d
}

func example(name string) string { return filepath.Join("testdata", "links", name) }

// The 13 tasks of the example plan, in the plan's words and order.
var planTasks = []string{
	"quán triệt và triển khai các văn bản chỉ đạo của Trung ương, của tỉnh về công tác đối ngoại",
	"thúc đẩy và mở rộng hội nhập quốc tế, hợp tác quốc tế",
	"ngoại giao kinh tế",
	"ngoại giao văn hóa",
	"đối ngoại nhân dân",
	"công tác đối với người Việt Nam ở nước ngoài",
	"quản lý đoàn ra, đoàn vào",
	"công tác thông tin đối ngoại",
	"công tác quản lý biên giới, lãnh thổ quốc gia",
	"công tác phi chính phủ nước ngoài",
	"công tác lãnh sự và bảo hộ công dân",
	"công tác thanh tra đối ngoại và dịch vụ tư vấn đối ngoại",
	"công tác đào tạo, bồi dưỡng",
}

// plan uploads the example plan and confirms its proposals.
func (e *env) plan(t *testing.T, clerk Actor) (*archive.Document, []TaskView) {
	t.Helper()
	plan := e.upload(t, clerk, example("kh-1623-ubnd-2018-doi-ngoai.txt"), nil)
	created, _, err := e.s.ConfirmProposals(context.Background(), clerk, plan.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	return plan, created
}

func TestPlanProposesAndConfirmsItsTasks(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	clerk := e.user(t, "vanthu", archive.RoleClerk, archive.Unclassified)
	officer := e.user(t, "chuyenvien", archive.RoleOfficer, archive.Unclassified)
	plan := e.upload(t, clerk, example("kh-1623-ubnd-2018-doi-ngoai.txt"), nil)
	if plan.Number != "1623/KH-UBND" || plan.IssuedAt != "2018-04-10" {
		t.Fatalf("plan read as %q of %q", plan.Number, plan.IssuedAt)
	}

	props, err := e.s.TaskProposals(ctx, officer, plan.ID)
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, p := range props {
		titles = append(titles, p.Title)
	}
	if !slices.Equal(titles, planTasks) {
		t.Fatalf("TaskProposals = %d tasks:\n%s\nwant the plan's 13:\n%s", len(titles), strings.Join(titles, "\n"), strings.Join(planTasks, "\n"))
	}

	if _, _, err := e.s.ConfirmProposals(ctx, officer, plan.ID, nil); !isKind(err, archive.ErrForbidden) {
		t.Fatalf("officer confirming tasks: err = %v, want forbidden", err)
	}
	created, skipped, err := e.s.ConfirmProposals(ctx, clerk, plan.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != 13 || skipped != 0 {
		t.Fatalf("ConfirmProposals created %d, skipped %d; want 13, 0", len(created), skipped)
	}
	for i, v := range created {
		if v.Seq != i+1 || v.Title != planTasks[i] || v.PlanID != plan.ID || v.Status != "open" {
			t.Errorf("task %d = seq %d %q plan %s status %s", i+1, v.Seq, v.Title, v.PlanID, v.Status)
		}
	}
	// Confirming again adds nothing.
	again, skipped, err := e.s.ConfirmProposals(ctx, clerk, plan.ID, nil)
	if err != nil || len(again) != 0 || skipped != 13 {
		t.Fatalf("second confirmation: created %d, skipped %d, err %v; want 0, 13", len(again), skipped, err)
	}
	listed, err := e.s.Tasks(ctx, officer, TaskQuery{PlanID: plan.ID})
	if err != nil || len(listed) != 13 {
		t.Fatalf("Tasks(plan) = %d, %v; want 13", len(listed), err)
	}
	dt, err := e.s.DocumentTasks(ctx, officer, plan)
	if err != nil || len(dt) != 13 || dt[0].Relation != "assigns" {
		t.Fatalf("plan's tasks = %+v, %v; want 13 assigned", dt, err)
	}
	props, _ = e.s.TaskProposals(ctx, officer, plan.ID)
	if props[6].TaskID == nil || *props[6].TaskID != created[6].ID {
		t.Errorf("proposal 7 does not point at its saved task")
	}
	// One audit event for the bulk confirmation, none for the refused one.
	evs, err := e.s.Catalog.Events(ctx, sqlite.AuditFilter{Action: ActionTaskConfirm})
	if err != nil || len(evs) != 1 || evs[0].DocumentID != plan.ID || evs[0].Actor != "vanthu" {
		t.Fatalf("task.confirm events = %+v, %v; want one by the clerk on the plan", evs, err)
	}
}

func isKind(err, kind error) bool { return err != nil && errors.Is(err, kind) }

func TestCitationsResolveWhateverTheUploadOrder(t *testing.T) {
	for _, order := range [][]string{
		{"qd-215-snv-2021-quy-che-van-thu.txt", "nd-30-2020-cong-tac-van-thu.txt"},
		{"nd-30-2020-cong-tac-van-thu.txt", "qd-215-snv-2021-quy-che-van-thu.txt"},
	} {
		t.Run(order[0]+" first", func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			clerk := e.user(t, "vanthu", archive.RoleClerk, archive.Unclassified)
			docs := map[string]*archive.Document{}
			for _, f := range order {
				docs[f] = e.upload(t, clerk, example(f), nil)
			}
			qd, nd := docs["qd-215-snv-2021-quy-che-van-thu.txt"], docs["nd-30-2020-cong-tac-van-thu.txt"]
			refs, err := e.s.References(ctx, clerk, qd.ID)
			if err != nil {
				t.Fatal(err)
			}
			c := findCite(refs, "30/2020/NĐ-CP")
			if c == nil || c.DocumentID != nd.ID || c.Relation != "can_cu" || c.IssuedAt != "2020-03-05" {
				t.Fatalf("cite of 30/2020/NĐ-CP = %+v, want document %s", c, nd.ID)
			}
			back, err := e.s.References(ctx, clerk, nd.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(back.CitedBy) != 1 || back.CitedBy[0].DocumentID != qd.ID || back.CitedBy[0].Number != "215/QĐ-SNgV" {
				t.Fatalf("decree cited_by = %+v, want the decision", back.CitedBy)
			}
		})
	}
}

func findCite(r *References, number string) *Reference {
	for i := range r.Cites {
		if r.Cites[i].Number == number {
			return &r.Cites[i]
		}
	}
	return nil
}

func TestReferenceResolution(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	clerk := e.user(t, "vanthu", archive.RoleClerk, archive.Unclassified)
	up := func(f string) *archive.Document { return e.upload(t, clerk, example(f), nil) }
	plan := up("kh-1623-ubnd-2018-doi-ngoai.txt")
	ct2019 := up("ct-05-ttg-2019-khac.txt") // same number, wrong year: must not be taken
	ct2018 := up("ct-05-ttg-2018-doi-ngoai-dia-phuong.txt")
	law := up("luat-77-2015-qh13-to-chuc-chinh-quyen-dia-phuong.txt")
	newQD := up("qd-215-snv-2021-quy-che-van-thu.txt")
	oldQD := up("qd-96-snv-2016-quy-che-van-thu.txt")

	refs, err := e.s.References(ctx, clerk, plan.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		number, title, want, relation string
	}{
		{"05/CT-TTg", "", ct2018.ID, "thuc_hien"},                     // year from the citation's date
		{"", "Luật Tổ chức chính quyền địa phương", law.ID, "can_cu"}, // by name and date
		{"67/2011/QĐ-TTg", "", "", "can_cu"},                          // not archived: kept, unresolved
	} {
		var got *Reference
		for i, c := range refs.Cites {
			if c.Number == tc.number && c.Title == tc.title {
				got = &refs.Cites[i]
			}
		}
		if got == nil || got.DocumentID != tc.want || got.Relation != tc.relation {
			t.Errorf("cite %q%q = %+v, want document %q relation %s", tc.number, tc.title, got, tc.want, tc.relation)
		}
	}
	if r, _ := e.s.References(ctx, clerk, ct2019.ID); len(r.CitedBy) != 0 {
		t.Errorf("the 2019 directive with the same number is cited by %+v", r.CitedBy)
	}
	if r, _ := e.s.References(ctx, clerk, law.ID); len(r.CitedBy) != 1 || r.CitedBy[0].DocumentID != plan.ID {
		t.Errorf("law cited_by = %+v, want the plan", r.CitedBy)
	}

	// Replacement marks the old decision, with a link to the new one.
	old, err := e.s.References(ctx, clerk, oldQD.ID)
	if err != nil {
		t.Fatal(err)
	}
	if old.Status.State != "repealed" || len(old.Status.RepealedBy) != 1 || old.Status.RepealedBy[0].DocumentID != newQD.ID ||
		!strings.Contains(old.Status.Note, "Bị thay thế bởi") {
		t.Errorf("old decision status = %+v, want replaced by %s", old.Status, newQD.ID)
	}
	if nw, _ := e.s.References(ctx, clerk, newQD.ID); nw.Status.State != "" {
		t.Errorf("the replacing decision has status %+v", nw.Status)
	}

	// A number set by a clerk later resolves pending references too.
	orphan := e.upload(t, clerk, example("nd-30-2020-cong-tac-van-thu.txt"), map[string]string{"number": ""})
	if r, _ := e.s.References(ctx, clerk, newQD.ID); findCite(r, "30/2020/NĐ-CP").DocumentID != "" {
		t.Fatalf("decree without a number resolved")
	}
	if _, err := e.s.Edit(ctx, clerk, orphan.ID, map[string]string{"number": "30/2020/NĐ-CP"}); err != nil {
		t.Fatal(err)
	}
	if r, _ := e.s.References(ctx, clerk, newQD.ID); findCite(r, "30/2020/NĐ-CP").DocumentID != orphan.ID {
		t.Errorf("after the clerk set the decree's number, the cite is %+v", findCite(r, "30/2020/NĐ-CP"))
	}
}

func TestEffectOf(t *testing.T) {
	for _, tc := range []struct {
		text, number, relation, want string
	}{
		{"Điều 2. Quyết định này có hiệu lực kể từ ngày ký và thay thế Quyết định số 96/QĐ-SNgV ngày 15/5/2016.", "96/QĐ-SNgV", "thay_the", "replaces"},
		{"Bãi bỏ Quyết định số 12/2015/QĐ-UBND ngày 01/6/2015 của UBND tỉnh.", "12/2015/QĐ-UBND", "bai_bo", "repeals"},
		{"Bãi bỏ khoản 3 Điều 5 của Quyết định số 12/2015/QĐ-UBND.", "12/2015/QĐ-UBND", "bai_bo", "amends"},
		{"Thông tư sửa đổi, bổ sung một số điều của Thông tư số 43/2025/TT-BCT ngày 04 tháng 7 năm 2025.", "43/2025/TT-BCT", "sua_doi", "amends"},
		{"Thông tư số 23/2024/TT-BCT (được sửa đổi, bổ sung tại Thông tư số 38/2025/TT-BCT);", "38/2025/TT-BCT", "sua_doi", ""},
		{"UBND tỉnh đã ban hành Quyết định số 20/2019/QĐ-UBND thay thế Quyết định số 12/2015/QĐ-UBND.", "12/2015/QĐ-UBND", "thay_the", ""},
		{"Căn cứ Nghị định số 30/2020/NĐ-CP ngày 05/3/2020 của Chính phủ;", "30/2020/NĐ-CP", "can_cu", ""},
		{"Quyết định số 12/2015/QĐ-UBND hết hiệu lực kể từ ngày Quyết định này có hiệu lực.", "12/2015/QĐ-UBND", "other", ""},
		// From the corpus: a rule the verb follows, and a table of amendments made by others.
		{"Điều chỉnh, bãi bỏ Quyết định thành lập, mở rộng cụm công nghiệp thực hiện theo quy định tại khoản 2 Điều 12 Nghị định số 32/2024/NĐ-CP.", "32/2024/NĐ-CP", "bai_bo", ""},
		{"khoản 1 Điều 20 | Được sửa đổi, bổ sung, bãi bỏ một phần | bởi Thông tư số 10/2024/TT-BLĐTBXH | ngày 25/10/2024", "10/2024/TT-BLĐTBXH", "bai_bo", ""},
	} {
		got := effectOf(tc.text, ingest.Citation{Number: tc.number, Relation: tc.relation})
		if got != tc.want {
			t.Errorf("effectOf(%q, %s) = %q, want %q", tc.text, tc.number, got, tc.want)
		}
	}
}

func TestPeriodEnd(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Quý III năm 2024", "2024-09-30"},
		{"quý 2 năm 2018", "2018-06-30"},
		{"6 tháng đầu năm 2018", "2018-06-30"},
		{"6 tháng cuối năm 2018", "2018-12-31"},
		{"tháng 2/2024", "2024-02-29"},
		{"năm 2018", "2018-12-31"},
		{"hằng quý", ""},
		{"", ""},
	} {
		if got := periodEnd(tc.in); got != tc.want {
			t.Errorf("periodEnd(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMatrixAndOverdue(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	clerk := e.user(t, "vanthu", archive.RoleClerk, archive.Unclassified)
	officer := e.user(t, "chuyenvien", archive.RoleOfficer, archive.Unclassified)
	plan, tasks := e.plan(t, clerk)
	report := e.upload(t, clerk, example("bc-snv-doan-ra-doan-vao-quy-ii-2018.txt"), nil) // 18/6/2018: Quý II
	task7 := tasks[6]
	if _, err := e.s.LinkTask(ctx, officer, task7.ID, report.ID, "reports_on"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.LinkTask(ctx, officer, task7.ID, report.ID, "reports_on"); !isKind(err, archive.ErrConflict) {
		t.Errorf("linking twice: err = %v, want conflict", err)
	}
	// Task 13 was due at the end of 2018 and nobody reported on it.
	due := "2018-12-31"
	if _, err := e.s.EditTask(ctx, officer, tasks[12].ID, TaskPatch{DueDate: &due}); !isKind(err, archive.ErrForbidden) {
		t.Errorf("officer editing a task: err = %v, want forbidden", err)
	}
	if _, err := e.s.EditTask(ctx, clerk, tasks[12].ID, TaskPatch{DueDate: &due}); err != nil {
		t.Fatal(err)
	}
	// Task 1 is due in the future: open, not overdue.
	future := time.Now().AddDate(1, 0, 0).Format("2006-01-02")
	if _, err := e.s.EditTask(ctx, clerk, tasks[0].ID, TaskPatch{DueDate: &future}); err != nil {
		t.Fatal(err)
	}

	m, err := e.s.PlanMatrix(ctx, officer, plan.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if m.Year != 2018 || len(m.Periods) != 4 || len(m.Rows) != 13 {
		t.Fatalf("matrix: year %d, %d periods, %d rows; want 2018, 4, 13", m.Year, len(m.Periods), len(m.Rows))
	}
	for i, row := range m.Rows {
		for q, cell := range row.Cells {
			want := 0
			if i == 6 && q == 1 {
				want = 1
			}
			if len(cell) != want {
				t.Errorf("task %d, %s: %d reports, want %d", i+1, m.Periods[q].Label, len(cell), want)
			}
		}
	}
	if c := m.Rows[6].Cells[1]; len(c) == 1 && c[0].DocumentID != report.ID {
		t.Errorf("task 7, Quý II holds %+v, want the report", c)
	}

	for _, tc := range []struct {
		task   int
		status string
	}{{1, "open"}, {7, "in_progress"}, {13, "overdue"}, {2, "open"}} {
		v, err := e.s.TaskOf(ctx, officer, tasks[tc.task-1].ID)
		if err != nil || v.Status != tc.status {
			t.Errorf("task %d status = %q (%v), want %s", tc.task, v.Status, err, tc.status)
		}
	}
	over, err := e.s.Tasks(ctx, officer, TaskQuery{Status: "overdue"})
	if err != nil || len(over) != 1 || over[0].ID != tasks[12].ID {
		t.Errorf("overdue tasks = %d (%v), want task 13 only", len(over), err)
	}
	done := "done"
	if _, err := e.s.EditTask(ctx, clerk, tasks[12].ID, TaskPatch{Status: &done}); err != nil {
		t.Fatal(err)
	}
	if v, _ := e.s.TaskOf(ctx, officer, tasks[12].ID); v.Status != "done" {
		t.Errorf("task 13 after PATCH done: %s", v.Status)
	}
	// Every write left one event.
	for action, n := range map[string]int{ActionTaskConfirm: 1, ActionTaskLink: 1, ActionTaskEdit: 3} {
		evs, _ := e.s.Catalog.Events(ctx, sqlite.AuditFilter{Action: action})
		if len(evs) != n {
			t.Errorf("%s events = %d, want %d", action, len(evs), n)
		}
	}
}

func TestUnitFilter(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	clerk := e.user(t, "vanthu", archive.RoleClerk, archive.Unclassified)
	plan := e.upload(t, clerk, example("kh-1623-ubnd-2018-doi-ngoai.txt"), nil)
	v, err := e.s.CreateTask(ctx, clerk, TaskInput{PlanID: plan.ID, Title: "Tổng hợp báo cáo định kỳ", LeadUnit: "Sở Ngoại vụ",
		SupportUnits: []string{"Công an tỉnh", "Sở Tài chính"}, Period: "Quý II năm 2018"})
	if err != nil {
		t.Fatal(err)
	}
	if v.Deadline != "2018-06-30" || v.Status != "overdue" {
		t.Errorf("task from a period: deadline %s status %s", v.Deadline, v.Status)
	}
	for _, tc := range []struct {
		unit string
		n    int
	}{{"so ngoai vu", 1}, {"Công an", 1}, {"Sở Nội vụ", 0}} {
		got, err := e.s.Tasks(ctx, clerk, TaskQuery{Unit: tc.unit})
		if err != nil || len(got) != tc.n {
			t.Errorf("Tasks(unit=%q) = %d, %v; want %d", tc.unit, len(got), err, tc.n)
		}
	}
	for _, bad := range []TaskInput{
		{PlanID: plan.ID},
		{PlanID: plan.ID, Title: "x", DueDate: "30/6/2018"},
		{PlanID: plan.ID, Title: "x", Status: "overdue"},
		{Title: "x"},
	} {
		if _, err := e.s.CreateTask(ctx, clerk, bad); !isKind(err, archive.ErrInvalid) {
			t.Errorf("CreateTask(%+v): err = %v, want invalid", bad, err)
		}
	}
}

func TestSuggestions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	clerk := e.user(t, "vanthu", archive.RoleClerk, archive.Unclassified)
	officer := e.user(t, "chuyenvien", archive.RoleOfficer, archive.Unclassified)
	e.upload(t, clerk, example("ct-05-ttg-2018-doi-ngoai-dia-phuong.txt"), nil)
	e.plan(t, clerk)
	for _, tc := range []struct{ report, want string }{
		{"bc-snv-doan-ra-doan-vao-quy-ii-2018.txt", "quản lý đoàn ra, đoàn vào"},
		{"bc-svhttdl-ngoai-giao-van-hoa-quy-iii-2018.txt", "ngoại giao văn hóa"},
		{"bc-snv-phi-chinh-phu-quy-iii-2018.txt", "công tác phi chính phủ nước ngoài"},
	} {
		d := e.upload(t, clerk, example(tc.report), nil)
		got, err := e.s.TaskSuggestions(ctx, officer, d.ID, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 || got[0].Task.Title != tc.want {
			var s []string
			for _, g := range got {
				s = append(s, g.Task.Title)
			}
			t.Errorf("suggestions for %s = %q, want %q first", tc.report, s, tc.want)
			continue
		}
		t.Logf("%s → %q (%.2f), then %q (%.2f)", tc.report, got[0].Task.Title, got[0].Score, got[1].Task.Title, got[1].Score)
	}
}

// Everything respects clearance: a secret report, a secret citer and a
// secret cited document leave no trace for a reader without clearance.
func TestLinksRespectClearance(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	secretClerk := e.user(t, "vanthu-mat", archive.RoleClerk, archive.Mat)
	clerk := e.user(t, "vanthu", archive.RoleClerk, archive.Unclassified)
	officer := e.user(t, "chuyenvien", archive.RoleOfficer, archive.Unclassified)
	cleared := e.user(t, "chuyenvien-mat", archive.RoleOfficer, archive.Mat)

	// The directive the plan implements is secret; the plan cites it.
	ct := e.upload(t, secretClerk, example("ct-05-ttg-2018-doi-ngoai-dia-phuong.txt"), map[string]string{"classification": "mat"})
	plan, tasks := e.plan(t, clerk)
	// A secret report on task 7, and a secret document citing the plan.
	report := e.upload(t, secretClerk, example("bc-snv-doan-ra-doan-vao-quy-ii-2018.txt"), map[string]string{"classification": "mat"})
	if _, err := e.s.LinkTask(ctx, cleared, tasks[6].ID, report.ID, "reports_on"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.LinkTask(ctx, officer, tasks[6].ID, report.ID, "reports_on"); !isKind(err, archive.ErrNotFound) {
		t.Errorf("uncleared officer linking the secret report: err = %v, want not found", err)
	}

	// Cites: the secret directive looks exactly like a document not in
	// the archive.
	refs, err := e.s.References(ctx, officer, plan.ID)
	if err != nil {
		t.Fatal(err)
	}
	c := findCite(refs, "05/CT-TTg")
	if c == nil || c.DocumentID != "" || c.Subject != "" {
		t.Errorf("uncleared view of the secret directive's cite = %+v", c)
	}
	notArchived := findCite(refs, "67/2011/QĐ-TTg")
	if c != nil && notArchived != nil && (c.Subject != notArchived.Subject || (c.DocumentID == "") != (notArchived.DocumentID == "")) {
		t.Errorf("an invisible target differs from a missing one: %+v vs %+v", c, notArchived)
	}
	if r, _ := e.s.References(ctx, cleared, plan.ID); findCite(r, "05/CT-TTg").DocumentID != ct.ID {
		t.Errorf("cleared reader does not see the directive resolved")
	}
	// cited_by: the secret report cites the plan; the uncleared reader
	// does not see it.
	if len(refs.CitedBy) != 0 {
		t.Errorf("uncleared reader sees citers %+v", refs.CitedBy)
	}
	if r, _ := e.s.References(ctx, cleared, plan.ID); len(r.CitedBy) != 1 || r.CitedBy[0].DocumentID != report.ID {
		t.Errorf("cleared reader's cited_by = %+v", r.CitedBy)
	}
	if _, err := e.s.References(ctx, officer, ct.ID); !isKind(err, archive.ErrNotFound) {
		t.Errorf("references of the secret directive: err = %v, want not found", err)
	}

	// Tasks: the secret report is neither listed nor counted.
	for _, tc := range []struct {
		who     Actor
		docs    int
		reports int
		status  string
		cell    int
	}{{officer, 1, 0, "open", 0}, {cleared, 2, 1, "in_progress", 1}} {
		v, err := e.s.TaskOf(ctx, tc.who, tasks[6].ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Documents) != tc.docs || v.Reports != tc.reports || v.Status != tc.status {
			t.Errorf("%s sees task 7 with %d documents, %d reports, %s; want %d, %d, %s", tc.who.User.Name,
				len(v.Documents), v.Reports, v.Status, tc.docs, tc.reports, tc.status)
		}
		for _, d := range v.Documents {
			if tc.who.User == officer.User && (d.DocumentID == report.ID || d.Number == report.Number) {
				t.Errorf("uncleared officer sees the secret report in the task")
			}
		}
		m, err := e.s.PlanMatrix(ctx, tc.who, plan.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(m.Rows[6].Cells[1]); got != tc.cell {
			t.Errorf("%s: task 7, Quý II has %d reports, want %d", tc.who.User.Name, got, tc.cell)
		}
		dt, _ := e.s.DocumentTasks(ctx, tc.who, plan)
		if len(dt) != 13 {
			t.Errorf("%s: plan lists %d tasks", tc.who.User.Name, len(dt))
		}
	}
	// A task of a secret plan is not there at all.
	secretPlan := e.upload(t, secretClerk, example("ct-05-ttg-2019-khac.txt"), map[string]string{"classification": "mat"})
	st, err := e.s.CreateTask(ctx, secretClerk, TaskInput{PlanID: secretPlan.ID, Title: "Rà soát thủ tục hành chính"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.TaskOf(ctx, officer, st.ID); !isKind(err, archive.ErrNotFound) {
		t.Errorf("task of a secret plan: err = %v, want not found", err)
	}
	if all, _ := e.s.Tasks(ctx, officer, TaskQuery{}); len(all) != 13 {
		t.Errorf("uncleared officer lists %d tasks, want the plan's 13", len(all))
	}
	if _, err := e.s.CreateTask(ctx, clerk, TaskInput{PlanID: secretPlan.ID, Title: "x"}); !isKind(err, archive.ErrNotFound) {
		t.Errorf("uncleared clerk adding a task to a secret plan: err = %v, want not found", err)
	}
	sugg, err := e.s.TaskSuggestions(ctx, officer, plan.ID, 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sugg {
		if s.Task.ID == st.ID {
			t.Errorf("suggestions offer the secret plan's task")
		}
	}
}

// TestCorpusResolution loads every real document of shared/corpus/text
// through the real upload path and checks that the citations whose target
// is also in the folder resolve to that document. The targets are judged by
// testdata/corpus-numbers.tsv, the numbers the documents print in their
// headers, read by hand, not by the parser.
func TestCorpusResolution(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "corpus", "text")
	files, _ := filepath.Glob(filepath.Join(dir, "*.txt"))
	if len(files) == 0 {
		t.Skipf("no corpus at %s", dir)
	}
	if testing.Short() {
		t.Skip("loads the whole corpus")
	}
	if raceEnabled {
		// Four minutes under the race detector for code the other tests
		// of this package already run with it; the plain run checks it.
		t.Skip("the corpus resolution figure is measured without -race")
	}
	own := map[string]string{} // file → number it prints
	byKey := map[string][]string{}
	f, err := os.Open(filepath.Join("testdata", "corpus-numbers.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); l != "" && !strings.HasPrefix(l, "#") {
			name, num, _ := strings.Cut(l, "\t")
			own[name] = num
			byKey[sqlite.MatchKey(num)] = append(byKey[sqlite.MatchKey(num)], name)
		}
	}
	f.Close()

	e := newEnv(t)
	ctx := context.Background()
	clerk := e.user(t, "vanthu", archive.RoleClerk, archive.Unclassified)
	ids := map[string]string{} // file → document id
	names := map[string]string{}
	for _, p := range files {
		d := e.upload(t, clerk, p, nil)
		ids[filepath.Base(p)], names[d.ID] = d.ID, filepath.Base(p)
	}
	total, right := 0, 0
	var misses []string
	statuses := map[string]string{}
	for _, p := range files {
		name := filepath.Base(p)
		refs, err := e.s.References(ctx, clerk, ids[name])
		if err != nil {
			t.Fatal(err)
		}
		if st := refs.Status; st.State != "" {
			t.Logf("status: %s is %s: %s", name, st.State, st.Note)
			statuses[name] = st.State
		}
		seen := map[string]bool{}
		for _, c := range refs.Cites {
			targets := byKey[sqlite.MatchKey(c.Number)]
			if c.Number == "" || len(targets) == 0 || seen[c.Number] || slices.Contains(targets, name) {
				continue // not in the folder, counted once per citing document, or itself
			}
			seen[c.Number] = true
			total++
			if slices.Contains(targets, names[c.DocumentID]) {
				right++
				continue
			}
			misses = append(misses, name+": "+c.Number+" "+c.IssuedAt+" → "+names[c.DocumentID]+" (want "+strings.Join(targets, ", ")+")")
		}
	}
	rate := float64(right) / float64(max(total, 1))
	t.Logf("corpus: %d documents; %d citations whose target is in the folder; %d resolved to it (%.1f%%)", len(files), total, right, 100*rate)
	for _, m := range misses {
		t.Logf("miss: %s", m)
	}
	// The one amendment in the folder: Thông tư 67/2025 amends 43/2025.
	// Decisions that merely apply a decree, and consolidated texts and
	// lists that report amendments made by others, mark nothing.
	if want := map[string]string{"qlks-sct-vn__TT-43-2025-TT-BCT-ky-thuat-an-toan-khai-thac-KS.txt": "amended"}; !maps.Equal(statuses, want) {
		t.Errorf("legal statuses = %v, want %v", statuses, want)
	}
	if total == 0 || rate < 0.8 {
		t.Errorf("resolution rate %.1f%% of %d, want at least 80%%", 100*rate, total)
	}
}
