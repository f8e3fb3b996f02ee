package main

import (
	"encoding/json"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vanthu/ingest/ingesttest"
)

// Hostile originals through the running server: each is stored (201), then
// marked failed with a reason within the extraction time limit, while the
// server keeps answering other requests and its own memory stays bounded
// (the parsers run in a child process).
func TestE2EHostileOriginals(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	env := []string{"VANTHU_EXTRACT_TIMEOUT=8s"}
	clerk := addUser(t, data, "lan", "clerk", env...)
	srv := startServer(t, data, env...)
	defer srv.stop()

	hello := ingesttest.HelloPDF()
	zipBomb, err := ingesttest.DOCX(ingesttest.ZipBombXML(65), false)
	if err != nil {
		t.Fatal(err)
	}
	entities, err := ingesttest.DOCX(ingesttest.EntityXML(), false)
	if err != nil {
		t.Fatal(err)
	}
	files := []struct {
		name string
		data []byte
	}{
		{"chu-trinh.pdf", ingesttest.CyclePDF()},
		{"bi-cat.pdf", hello[:len(hello)/2]},
		{"bom-giai-nen.pdf", ingesttest.BombPDF(48)}, // 3 GiB of zeros in 3 MiB
		{"bom-zip.docx", zipBomb},
		{"thuc-the.docx", entities},
	}

	// Meanwhile, the server must keep answering.
	stop := make(chan struct{})
	var probes, slow atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			start := time.Now()
			r, err := srv.request(t.Context(), "GET", "/healthz", "", nil, nil)
			probes.Add(1)
			if err != nil || r.status != 200 || time.Since(start) > 2*time.Second {
				slow.Add(1)
			}
		}
	}()

	ids := map[string]string{}
	for _, f := range files {
		d := srv.mustUpload(t, clerk, f.name, f.data, nil)
		ids[f.name] = d.ID
	}
	deadline := time.Now().Add(2 * time.Minute)
	pending := len(files)
	for pending > 0 && time.Now().Before(deadline) {
		pending = 0
		for _, f := range files {
			var d struct {
				TextStatus string `json:"text_status"`
				TextReason string `json:"text_reason"`
			}
			json.Unmarshal(srv.call(t, "GET", "/api/v1/documents/"+ids[f.name], clerk, nil, nil).body, &d)
			if d.TextStatus == "pending" {
				pending++
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	for _, f := range files {
		var d struct {
			TextStatus string `json:"text_status"`
			TextReason string `json:"text_reason"`
			SHA256     string `json:"sha256"`
		}
		json.Unmarshal(srv.call(t, "GET", "/api/v1/documents/"+ids[f.name], clerk, nil, nil).body, &d)
		t.Logf("%s: stored, text_status=%s: %s", f.name, d.TextStatus, d.TextReason)
		if d.TextStatus != "failed" || d.TextReason == "" {
			t.Errorf("%s: text_status %q (%q), want failed with a reason", f.name, d.TextStatus, d.TextReason)
		}
		if _, got, err := srv.original(t.Context(), clerk, ids[f.name]); err != nil || got != d.SHA256 {
			t.Errorf("%s: original not kept intact: %s %v", f.name, got, err)
		}
	}
	hwm := srv.vmHWM(t)
	t.Logf("server answered %d health probes meanwhile (%d slow or failed); peak RSS %.1f MiB", probes.Load(), slow.Load(), float64(hwm)/(1<<20))
	if slow.Load() > 0 {
		t.Errorf("%d health probes failed or took over 2 s while hostile files were extracted", slow.Load())
	}
	if hwm > 150<<20 {
		t.Errorf("server peak RSS %d MiB, want under 150 MiB", hwm>>20)
	}
}
