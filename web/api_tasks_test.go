package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"vanthu/archive"
	"vanthu/archive/sqlite"
)

// The worked example (a plan modelled on 1623/KH-UBND of Quảng Nam, the
// directive it implements, departments' reports) lives with the records
// tests that own it.
func exampleFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "archive", "records", "testdata", "links", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// apiUser is a user with an API token.
type apiUser struct {
	u     *archive.User
	token string
}

func (e *testEnv) apiUser(name string, role archive.Role, cl archive.Classification) apiUser {
	e.t.Helper()
	u := e.addUser(name, role, cl)
	tok := "tok-" + name
	if err := e.cat.Update(context.Background(), func(tx *sqlite.Tx) error {
		return tx.AddToken(context.Background(), u.ID, archive.TokenHash(tok))
	}); err != nil {
		e.t.Fatal(err)
	}
	return apiUser{u: u, token: tok}
}

func (e *testEnv) uploadExample(u apiUser, name string, fields map[string]string) *archive.Document {
	e.t.Helper()
	d := e.upload(u.u, name, exampleFile(e.t, name), fields)
	if d.TextStatus != archive.TextOK {
		e.t.Fatalf("%s: text_status %s", name, d.TextStatus)
	}
	return d
}

// call makes one API request and decodes the JSON answer into out (when
// not nil); it returns the status and the raw body.
func (e *testEnv) call(u apiUser, method, path, body string, out any) (int, string) {
	e.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, path, r)
	req.Header.Set("Authorization", "Bearer "+u.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.app.Test(req, -1)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return resp.StatusCode, string(b)
}

type taskJSON struct {
	ID        int64  `json:"id"`
	Seq       int    `json:"seq"`
	Title     string `json:"title"`
	Status    string `json:"status"`
	Reports   int    `json:"reports"`
	Documents []struct {
		DocumentID string `json:"document_id"`
		Relation   string `json:"relation"`
	} `json:"documents"`
}

func TestTaskAPI(t *testing.T) {
	e := newEnv(t)
	clerk := e.apiUser("vanthu", archive.RoleClerk, archive.Unclassified)
	officer := e.apiUser("chuyenvien", archive.RoleOfficer, archive.Unclassified)
	inspector := e.apiUser("thanhtra", archive.RoleInspector, archive.Unclassified)
	plan := e.uploadExample(clerk, "kh-1623-ubnd-2018-doi-ngoai.txt", nil)

	var props struct {
		Proposals []struct{ Title string } `json:"proposals"`
	}
	if st, body := e.call(officer, "GET", "/api/v1/documents/"+plan.ID+"/task-proposals", "", &props); st != 200 || len(props.Proposals) != 13 {
		t.Fatalf("task-proposals: %d, %d proposals: %s", st, len(props.Proposals), body)
	}
	if st, _ := e.call(officer, "POST", "/api/v1/documents/"+plan.ID+"/task-proposals/confirm", "", nil); st != 403 {
		t.Errorf("officer confirming: %d, want 403", st)
	}
	var confirmed struct {
		Created []taskJSON `json:"created"`
	}
	if st, body := e.call(clerk, "POST", "/api/v1/documents/"+plan.ID+"/task-proposals/confirm", "", &confirmed); st != 201 || len(confirmed.Created) != 13 {
		t.Fatalf("confirm: %d, %d created: %s", st, len(confirmed.Created), body)
	}
	task7, task13 := confirmed.Created[6], confirmed.Created[12]
	if task7.Title != "quản lý đoàn ra, đoàn vào" {
		t.Fatalf("task 7 is %q", task7.Title)
	}

	report := e.uploadExample(clerk, "bc-snv-doan-ra-doan-vao-quy-ii-2018.txt", nil)
	var sugg struct {
		Suggestions []struct {
			Task taskJSON `json:"task"`
		} `json:"suggestions"`
	}
	if st, body := e.call(officer, "GET", "/api/v1/documents/"+report.ID+"/task-suggestions", "", &sugg); st != 200 || len(sugg.Suggestions) == 0 ||
		sugg.Suggestions[0].Task.ID != task7.ID {
		t.Fatalf("task-suggestions: %d %s", st, body)
	}

	link := fmt.Sprintf(`{"document_id": %q, "relation": "reports_on"}`, report.ID)
	for _, tc := range []struct {
		who  apiUser
		body string
		want int
	}{
		{inspector, link, 403},
		{officer, `{"document_id": "` + report.ID + `", "relation": "mentions"}`, 400},
		{officer, `{"document_id": "` + report.ID + `", "relaton": "reports_on"}`, 400},
		{officer, `{"document_id": "no-such-document", "relation": "reports_on"}`, 404},
		{officer, link, 201},
		{clerk, link, 409},
	} {
		if st, body := e.call(tc.who, "POST", fmt.Sprintf("/api/v1/tasks/%d/documents", task7.ID), tc.body, nil); st != tc.want {
			t.Errorf("%s links %s: %d, want %d: %s", tc.who.u.Name, tc.body, st, tc.want, body)
		}
	}
	if st, _ := e.call(officer, "PATCH", fmt.Sprintf("/api/v1/tasks/%d", task13.ID), `{"due_date": "2018-12-31"}`, nil); st != 403 {
		t.Errorf("officer PATCH: %d, want 403", st)
	}
	if st, body := e.call(clerk, "PATCH", fmt.Sprintf("/api/v1/tasks/%d", task13.ID), `{"due_date": "2018-12-31"}`, nil); st != 200 {
		t.Fatalf("clerk PATCH: %d %s", st, body)
	}

	var matrix struct {
		Periods []struct{ Key string } `json:"periods"`
		Rows    []struct {
			Cells [][]struct {
				DocumentID string `json:"document_id"`
			} `json:"cells"`
		} `json:"rows"`
	}
	if st, body := e.call(inspector, "GET", "/api/v1/plans/"+plan.ID+"/matrix", "", &matrix); st != 200 || len(matrix.Rows) != 13 {
		t.Fatalf("matrix: %d %s", st, body)
	}
	if got := matrix.Rows[6].Cells[1]; len(got) != 1 || got[0].DocumentID != report.ID || matrix.Periods[1].Key != "2018-Q2" {
		t.Errorf("task 7, %s = %+v, want the report", matrix.Periods[1].Key, got)
	}
	if got := matrix.Rows[6].Cells[2]; len(got) != 0 {
		t.Errorf("task 7, Quý III = %+v, want empty", got)
	}

	var list struct {
		Items []taskJSON `json:"items"`
	}
	for _, tc := range []struct {
		query string
		want  []int64
	}{
		{"?overdue=true", []int64{task13.ID}},
		{"?status=in_progress&plan=" + plan.ID, []int64{task7.ID}},
		{"?unit=S%E1%BB%9F%20N%E1%BB%99i%20v%E1%BB%A5", nil},
	} {
		if st, body := e.call(officer, "GET", "/api/v1/tasks"+tc.query, "", &list); st != 200 || len(list.Items) != len(tc.want) ||
			(len(tc.want) > 0 && list.Items[0].ID != tc.want[0]) {
			t.Errorf("GET /tasks%s: %d %s, want %v", tc.query, st, body, tc.want)
		}
	}
	if st, _ := e.call(officer, "GET", "/api/v1/tasks?status=late", "", nil); st != 400 {
		t.Errorf("bad status filter: %d, want 400", st)
	}
	var one taskJSON
	if st, body := e.call(officer, "GET", fmt.Sprintf("/api/v1/tasks/%d", task7.ID), "", &one); st != 200 || len(one.Documents) != 2 || one.Reports != 1 {
		t.Errorf("GET task 7: %d %s", st, body)
	}
	var doc struct {
		Tasks []struct {
			ID       int64  `json:"id"`
			Relation string `json:"relation"`
		} `json:"tasks"`
		References struct {
			Cites []struct{ Number string } `json:"cites"`
		} `json:"references"`
	}
	if st, body := e.call(officer, "GET", "/api/v1/documents/"+report.ID, "", &doc); st != 200 || len(doc.Tasks) != 1 ||
		doc.Tasks[0].ID != task7.ID || doc.Tasks[0].Relation != "reports_on" || len(doc.References.Cites) != 1 {
		t.Errorf("GET report: %d %s", st, body)
	}
	// Each write left one audit event.
	for action, n := range map[string]int{"task.confirm": 1, "task.link": 1, "task.edit": 1} {
		evs, _ := e.cat.Events(context.Background(), sqlite.AuditFilter{Action: action})
		if len(evs) != n {
			t.Errorf("%s: %d events, want %d", action, len(evs), n)
		}
	}
}

// TestReferencesAPIClearance: a reader without clearance learns nothing of
// secret documents through references, legal status, tasks or the matrix.
func TestReferencesAPIClearance(t *testing.T) {
	e := newEnv(t)
	secretClerk := e.apiUser("vanthu-mat", archive.RoleClerk, archive.Mat)
	clerk := e.apiUser("vanthu", archive.RoleClerk, archive.Unclassified)
	officer := e.apiUser("chuyenvien", archive.RoleOfficer, archive.Unclassified)
	cleared := e.apiUser("chuyenvien-mat", archive.RoleOfficer, archive.Mat)
	secret := map[string]string{"classification": "mat"}

	directive := e.uploadExample(secretClerk, "ct-05-ttg-2018-doi-ngoai-dia-phuong.txt", secret)
	plan := e.uploadExample(clerk, "kh-1623-ubnd-2018-doi-ngoai.txt", nil)
	oldQD := e.uploadExample(clerk, "qd-96-snv-2016-quy-che-van-thu.txt", nil)
	newQD := e.uploadExample(secretClerk, "qd-215-snv-2021-quy-che-van-thu.txt", secret)
	report := e.uploadExample(secretClerk, "bc-snv-doan-ra-doan-vao-quy-ii-2018.txt", secret)
	var confirmed struct {
		Created []taskJSON `json:"created"`
	}
	e.call(clerk, "POST", "/api/v1/documents/"+plan.ID+"/task-proposals/confirm", "", &confirmed)
	task7 := confirmed.Created[6]
	if st, body := e.call(cleared, "POST", fmt.Sprintf("/api/v1/tasks/%d/documents", task7.ID),
		fmt.Sprintf(`{"document_id": %q, "relation": "reports_on"}`, report.ID), nil); st != 201 {
		t.Fatalf("cleared officer links the secret report: %d %s", st, body)
	}

	type refs struct {
		Cites []struct {
			Number     string  `json:"number"`
			DocumentID *string `json:"document_id"`
		} `json:"cites"`
		CitedBy     []struct{ DocumentID string } `json:"cited_by"`
		LegalStatus string                        `json:"legal_status"`
		RepealedBy  []struct {
			DocumentID string `json:"document_id"`
		} `json:"repealed_by"`
	}
	// (newQD's subject is left out: the decision it replaces has the same one.)
	secrets := []string{directive.ID, directive.Subject, newQD.ID, newQD.Number, report.ID, report.Number, report.Subject}
	leaks := func(who, what, body string) {
		for _, s := range secrets {
			if strings.Contains(body, s) {
				t.Errorf("%s: %s shows %q", who, what, s)
			}
		}
	}

	// The plan's cite of the secret directive: unresolved for the
	// uncleared officer, exactly like the cite of a decision not archived.
	var r refs
	_, body := e.call(officer, "GET", "/api/v1/documents/"+plan.ID+"/references", "", &r)
	leaks("officer", "the plan's references", body)
	for _, c := range r.Cites {
		if c.DocumentID != nil {
			t.Errorf("officer sees cite %s resolved", c.Number)
		}
	}
	if len(r.CitedBy) != 0 {
		t.Errorf("officer sees the secret report citing the plan: %+v", r.CitedBy)
	}
	_, body = e.call(cleared, "GET", "/api/v1/documents/"+plan.ID+"/references", "", &r)
	if !strings.Contains(body, directive.ID) || !strings.Contains(body, report.ID) {
		t.Errorf("cleared officer does not see the directive and the report: %s", body)
	}

	// The old decision was replaced by a secret one: no status, no link.
	var doc refs
	_, body = e.call(officer, "GET", "/api/v1/documents/"+oldQD.ID, "", &doc)
	leaks("officer", "the replaced decision", body)
	if doc.LegalStatus != "" || len(doc.RepealedBy) != 0 {
		t.Errorf("officer sees the old decision as %q by %+v", doc.LegalStatus, doc.RepealedBy)
	}
	e.call(cleared, "GET", "/api/v1/documents/"+oldQD.ID, "", &doc)
	if doc.LegalStatus != "repealed" || len(doc.RepealedBy) != 1 || doc.RepealedBy[0].DocumentID != newQD.ID {
		t.Errorf("cleared officer sees the old decision as %q by %+v", doc.LegalStatus, doc.RepealedBy)
	}

	// Task and matrix: the secret report is neither listed nor counted.
	for _, path := range []string{fmt.Sprintf("/api/v1/tasks/%d", task7.ID), "/api/v1/plans/" + plan.ID + "/matrix",
		"/api/v1/tasks?plan=" + plan.ID, "/api/v1/documents/" + plan.ID} {
		st, body := e.call(officer, "GET", path, "", nil)
		if st != 200 {
			t.Errorf("officer GET %s: %d", path, st)
		}
		leaks("officer", path, body)
	}
	var one taskJSON
	e.call(officer, "GET", fmt.Sprintf("/api/v1/tasks/%d", task7.ID), "", &one)
	if one.Reports != 0 || one.Status != "open" {
		t.Errorf("officer sees task 7 with %d reports, %s", one.Reports, one.Status)
	}

	// A secret document's references answer like a missing document's.
	st1, b1 := e.call(officer, "GET", "/api/v1/documents/"+directive.ID+"/references", "", nil)
	st2, b2 := e.call(officer, "GET", "/api/v1/documents/00000000-0000-7000-8000-000000000000/references", "", nil)
	if st1 != 404 || st1 != st2 || b1 != b2 {
		t.Errorf("secret document's references: %d %s; missing one's: %d %s", st1, b1, st2, b2)
	}
}
