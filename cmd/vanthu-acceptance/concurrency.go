package main

// Concurrency: identical uploads at once, and concurrent edits of one
// document, must serialise cleanly: one object, no 5xx, no "database is
// locked", every edit audited in order.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

func concurrencyScenario(r *R) {
	st := fsStorage()
	data := filepath.Join(r.TempDir(), "data")
	tok := r.addUser(data, "lan", "clerk")
	insp := r.addUser(data, "hoa", "inspector")
	s := r.startServer(data)

	// 1. Twenty uploads of the same bytes at once.
	corpus := r.loadCorpus(1 << 20)
	body := append(bytes.Clone(corpus[0].data), "\n% vanthu-acceptance concurrency\n"...)
	const n = 20
	resps := make([]response, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(r.Ctx, 2*time.Minute)
			defer cancel()
			<-gate
			resps[i], errs[i] = s.upload(ctx, tok, corpus[0].name, body, map[string]string{"subject": fmt.Sprintf("Tải đồng thời %d", i)})
		})
	}
	close(gate)
	wg.Wait()
	counts := map[string]int{}
	var created document
	var lat []time.Duration
	for i := range n {
		if errs[i] != nil {
			counts["transport_error"]++
			r.Errorf("identical upload %d: %v", i, errs[i])
			continue
		}
		lat = append(lat, resps[i].took)
		counts[fmt.Sprint(resps[i].status)]++
		if bytes.Contains(bytes.ToLower(resps[i].body), []byte("database is locked")) {
			r.Errorf("identical upload %d mentions a locked database: %v", i, resps[i])
		}
		if resps[i].status == http.StatusCreated {
			_ = json.Unmarshal(resps[i].body, &created)
		}
	}
	for i := range n {
		if errs[i] == nil && resps[i].status == http.StatusConflict {
			var e struct {
				Error struct {
					Code       string `json:"code"`
					ExistingID string `json:"existing_id"`
				} `json:"error"`
				ExistingID string `json:"existing_id"`
			}
			_ = json.Unmarshal(resps[i].body, &e)
			if id := e.Error.ExistingID + e.ExistingID; id != created.ID {
				r.Errorf("409 names existing_id %q, want %q: %v", id, created.ID, resps[i])
			}
		}
	}
	if counts["201"] != 1 || counts["409"] != n-1 {
		r.Errorf("20 identical uploads: %v, want exactly one 201 and nineteen 409", fmtCounts(counts))
		for i := range n {
			if errs[i] == nil && resps[i].status != http.StatusCreated && resps[i].status != http.StatusConflict {
				r.Errorf("  upload %d: %v", i, resps[i])
			}
		}
	}
	objs := st.keys(r, data, "originals/")
	if len(objs) != 1 {
		r.Errorf("20 identical uploads left %d objects under originals/: %v", len(objs), objs)
	}
	r.Figure("identical_uploads", "20 at once → %s; objects under originals/=%d; latency max=%v", fmtCounts(counts), len(objs), percentile(lat, 1).Round(time.Millisecond))
	if created.ID == "" {
		r.Fatalf("no upload was created")
	}

	// 2. Twenty concurrent edits of that document.
	edits := make([]response, n)
	errs = make([]error, n)
	gate = make(chan struct{})
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(r.Ctx, time.Minute)
			defer cancel()
			b, _ := json.Marshal(map[string]string{"subject": fmt.Sprintf("Trích yếu sửa lần %02d", i), "signer": fmt.Sprintf("Người ký %02d", i)})
			<-gate
			edits[i], errs[i] = s.request(ctx, http.MethodPatch, "/api/v1/documents/"+created.ID, tok, bytes.NewReader(b), map[string]string{"Content-Type": "application/json"})
		})
	}
	close(gate)
	wg.Wait()
	ecounts := map[string]int{}
	lat = lat[:0]
	for i := range n {
		if errs[i] != nil {
			ecounts["transport_error"]++
			r.Errorf("edit %d: %v", i, errs[i])
			continue
		}
		lat = append(lat, edits[i].took)
		ecounts[fmt.Sprint(edits[i].status)]++
		if edits[i].status != http.StatusOK {
			r.Errorf("edit %d: %v", i, edits[i])
		}
	}
	type event struct {
		Seq        int64  `json:"seq"`
		Action     string `json:"action"`
		DocumentID string `json:"document_id"`
		Details    struct {
			Before map[string]any `json:"before"`
			After  map[string]any `json:"after"`
		} `json:"details"`
	}
	resp := s.call(http.MethodGet, "/api/v1/audit?action=document.edit&document="+created.ID+"&size=1000", insp, nil, nil)
	if resp.status != http.StatusOK {
		r.Fatalf("GET /api/v1/audit: %v", resp)
	}
	var page struct {
		Items []event `json:"items"`
	}
	if err := json.Unmarshal(resp.body, &page); err != nil {
		r.Fatalf("audit body: %v", err)
	}
	var evs []event
	for _, e := range page.Items {
		if e.Action == "document.edit" && e.DocumentID == created.ID {
			evs = append(evs, e)
		}
	}
	// The API may list newest first; order by seq.
	for i := 1; i < len(evs); i++ {
		for j := i; j > 0 && evs[j].Seq < evs[j-1].Seq; j-- {
			evs[j], evs[j-1] = evs[j-1], evs[j]
		}
	}
	if len(evs) != n {
		r.Errorf("%d document.edit events for %d edits", len(evs), n)
	}
	chained := 0
	for i, e := range evs {
		if e.Details.Before == nil || e.Details.After == nil || e.Details.After["subject"] == nil {
			r.Errorf("edit event seq %d lacks before/after: %+v", e.Seq, e.Details)
		}
		if i > 0 {
			if e.Seq <= evs[i-1].Seq {
				r.Errorf("edit events not in increasing seq: %d after %d", e.Seq, evs[i-1].Seq)
			}
			// Serialised edits: each one's before is the previous one's after.
			if fmt.Sprint(e.Details.Before["subject"]) == fmt.Sprint(evs[i-1].Details.After["subject"]) {
				chained++
			} else {
				r.Errorf("edit seq %d: before.subject %q is not the previous edit's after.subject %q (lost update)", e.Seq, e.Details.Before["subject"], evs[i-1].Details.After["subject"])
			}
		}
	}
	final, fr := s.getDoc(tok, created.ID)
	if fr.status != http.StatusOK {
		r.Errorf("GET document: %v", fr)
	}
	if len(evs) > 0 {
		last := evs[len(evs)-1].Details.After
		if fmt.Sprint(last["subject"]) != final.Subject {
			r.Errorf("final subject %q differs from the last edit event's after.subject %q", final.Subject, last["subject"])
		}
	}
	if strings.Contains(string(resp.body), "database is locked") {
		r.Errorf("audit mentions a locked database")
	}
	r.Figure("concurrent_edits", "20 PATCH at once → %s; audited document.edit events=%d, in increasing seq, before=previous after for %d of %d; latency max=%v",
		fmtCounts(ecounts), len(evs), chained, max(0, len(evs)-1), percentile(lat, 1).Round(time.Millisecond))
	r.Figure("final_subject", "%q (last event's after: equal=%v)", final.Subject, len(evs) > 0 && fmt.Sprint(evs[len(evs)-1].Details.After["subject"]) == final.Subject)
	if res := r.cli(nil, "audit", "verify", "--data", data); res.code != 0 {
		r.Errorf("audit verify: exit %d: %s", res.code, res.out)
	}
}
