package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"vanthu/archive"
)

func openTest(t *testing.T) *Catalog {
	t.Helper()
	c, err := Open(filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestAuditChain(t *testing.T) {
	ctx := context.Background()
	c := openTest(t)
	// Concurrent appenders must still produce one unbroken chain.
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			e := &archive.Event{Actor: "clerk1", Role: "clerk", Action: archive.ActionEdit, DocumentID: "d1",
				Details: map[string]any{"i": i, "before": map[string]any{"subject": "a"}}}
			if err := c.Record(ctx, e); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	res, err := c.VerifyChain(ctx)
	if err != nil || !res.OK || res.Events != 20 {
		t.Fatalf("VerifyChain = %+v, %v; want ok with 20 events", res, err)
	}

	// The triggers refuse edits and deletions.
	if _, err := c.write.Exec(`UPDATE audit SET actor = 'x' WHERE seq = 3`); err == nil {
		t.Fatal("UPDATE of an audit row succeeded; want the trigger to refuse it")
	}
	if _, err := c.write.Exec(`DELETE FROM audit WHERE seq = 3`); err == nil {
		t.Fatal("DELETE of an audit row succeeded; want the trigger to refuse it")
	}

	// An attacker with file access drops the trigger and edits event 7.
	mustExec(t, c.write, `DROP TRIGGER audit_no_update`)
	mustExec(t, c.write, `UPDATE audit SET actor = 'someone-else' WHERE seq = 7`)
	res, _ = c.VerifyChain(ctx)
	if res.OK || res.FirstBadSeq != 7 {
		t.Fatalf("after editing event 7: VerifyChain = %+v, want first_bad_seq 7", res)
	}
}

func TestAuditChainGap(t *testing.T) {
	ctx := context.Background()
	c := openTest(t)
	for i := 0; i < 5; i++ {
		if err := c.Record(ctx, &archive.Event{Actor: "a", Role: "clerk", Action: archive.ActionUpload}); err != nil {
			t.Fatal(err)
		}
	}
	mustExec(t, c.write, `DROP TRIGGER audit_no_delete`)
	mustExec(t, c.write, `DELETE FROM audit WHERE seq = 2`)
	res, _ := c.VerifyChain(ctx)
	if res.OK || res.FirstBadSeq != 2 {
		t.Fatalf("after deleting event 2: VerifyChain = %+v, want first_bad_seq 2", res)
	}
}

func TestTokens(t *testing.T) {
	ctx := context.Background()
	c := openTest(t)
	u := &archive.User{Name: "lan", Role: archive.RoleClerk, Clearance: archive.Unclassified}
	tok, hash, _ := archive.NewToken()
	err := c.Update(ctx, func(tx *Tx) error {
		if err := tx.CreateUser(ctx, u, ""); err != nil {
			return err
		}
		return tx.AddToken(ctx, u.ID, hash)
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.UserByToken(ctx, archive.TokenHash(tok))
	if err != nil || got.Name != "lan" {
		t.Fatalf("UserByToken = %v, %v; want lan", got, err)
	}
	if err := c.Update(ctx, func(tx *Tx) error { return tx.CreateUser(ctx, &archive.User{Name: "lan", Role: archive.RoleClerk}, "") }); !errors.Is(err, archive.ErrConflict) {
		t.Errorf("CreateUser(duplicate) = %v, want ErrConflict", err)
	}
	if err := c.Update(ctx, func(tx *Tx) error { return tx.DeleteUser(ctx, u.ID) }); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UserByToken(ctx, archive.TokenHash(tok)); !errors.Is(err, archive.ErrNotFound) {
		t.Errorf("UserByToken(deleted user) = %v, want ErrNotFound", err)
	}
}

func TestPassword(t *testing.T) {
	h, err := archive.HashPassword("mật khẩu đúng")
	if err != nil {
		t.Fatal(err)
	}
	if !archive.CheckPassword(h, "mật khẩu đúng") || archive.CheckPassword(h, "sai") || archive.CheckPassword("garbage", "x") {
		t.Error("CheckPassword gave a wrong verdict")
	}
}

func TestRegisterNumbers(t *testing.T) {
	ctx := context.Background()
	c := openTest(t)
	var got []int
	for _, dir := range []string{"incoming", "incoming", "outgoing", "incoming"} {
		c.Update(ctx, func(tx *Tx) error {
			n, err := tx.NextRegisterNumber(ctx, dir, 2026)
			got = append(got, n)
			return err
		})
	}
	if want := []int{1, 2, 1, 3}; len(got) != 4 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] {
		t.Errorf("register numbers = %v, want %v", got, want)
	}
}

func mustExec(t *testing.T, db *sql.DB, q string) {
	t.Helper()
	if _, err := db.Exec(q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// TestRecordGroupCommit: many concurrent events are committed in groups,
// each caller learns its own sequence number, and a closed catalog answers
// instead of hanging.
func TestRecordGroupCommit(t *testing.T) {
	ctx := context.Background()
	c, err := Open(filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	const n = 500
	seqs := make([]int64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := &archive.Event{Actor: "officer", Role: "officer", Action: archive.ActionSearch, Details: map[string]any{"i": i}}
			if err := c.Record(ctx, e); err != nil {
				t.Error(err)
			}
			seqs[i] = e.Seq
		}()
	}
	wg.Wait()
	seen := map[int64]bool{}
	for _, s := range seqs {
		if s < 1 || s > n || seen[s] {
			t.Fatalf("sequence %d repeated or out of range", s)
		}
		seen[s] = true
	}
	if res, err := c.VerifyChain(ctx); err != nil || !res.OK || res.Events != n {
		t.Fatalf("VerifyChain = %+v, %v; want ok with %d events", res, err, n)
	}
	c.Close()
	if err := c.Record(ctx, &archive.Event{Actor: "x", Action: archive.ActionSearch}); err == nil {
		t.Fatal("Record after Close succeeded")
	}
}

// RecordBeside: events of callers working side by side are committed
// together once one of them waits, each caller's wait returns after its
// event is durable, and the chain holds every event once, in order.
func TestRecordBesideGroups(t *testing.T) {
	ctx := context.Background()
	c, err := Open(filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Only a waiting caller may start a commit here: if waiting did not,
	// every wait below would hang and the test time out.
	c.rec.linger = time.Hour
	const callers, rounds = 8, 8
	var wg sync.WaitGroup
	for g := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Arrivals a millisecond apart, each followed by a 20 ms
			// "search": committed at once, as Record commits, nearly every
			// event would be a group of its own.
			time.Sleep(time.Duration(g) * time.Millisecond)
			for i := range rounds {
				e := &archive.Event{Actor: "officer", Role: "officer", Action: archive.ActionSearch, Details: map[string]any{"g": g, "i": i}}
				wait := c.RecordBeside(e)
				time.Sleep(20 * time.Millisecond) // the search
				if err := wait(); err != nil {
					t.Error(err)
					return
				}
				if e.Seq == 0 || e.Hash == "" {
					t.Errorf("wait returned before the event was appended: %+v", e)
				}
			}
		}()
	}
	wg.Wait()
	n := int64(callers * rounds)
	if res, err := c.VerifyChain(ctx); err != nil || !res.OK || res.Events != n {
		t.Fatalf("VerifyChain = %+v, %v; want ok with %d events", res, err, n)
	}
	groups := c.rec.groups.Load()
	t.Logf("%d events in %d commits", n, groups)
	if groups > n/2 {
		t.Errorf("%d events took %d commits: the events of callers side by side were not grouped", n, groups)
	}

	// A caller that never gets to wait: its event is committed by the
	// linger, and at the latest by Close, and wait still answers.
	c.rec.linger = 10 * time.Millisecond
	e := &archive.Event{Actor: "officer", Role: "officer", Action: archive.ActionSearch}
	wait := c.RecordBeside(e)
	time.Sleep(50 * time.Millisecond)
	if err := wait(); err != nil || e.Seq != n+1 {
		t.Fatalf("the lingering event: %v, seq %d, want %d", err, e.Seq, n+1)
	}
	late := &archive.Event{Actor: "officer", Role: "officer", Action: archive.ActionSearch}
	c.rec.linger = time.Hour
	wait = c.RecordBeside(late)
	c.Close()
	if err := wait(); err != nil || late.Seq != n+2 {
		t.Fatalf("an event queued before Close: %v, seq %d, want %d", err, late.Seq, n+2)
	}
}
