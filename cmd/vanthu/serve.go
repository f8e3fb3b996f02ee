package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // only served when VANTHU_PPROF names a loopback address
	"os"
	"sync"
	"time"

	"vanthu/cmd/internal/tune"
	"vanthu/web"
)

// drainTimeout is how long in-flight requests may run after SIGTERM.
const drainTimeout = 25 * time.Second

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg config
	fs := newFlags("serve", &cfg, true)
	if err := parse(fs, args, &cfg); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	tune.Serving() // before the index is opened: it sizes the search queue
	a, err := openApp(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer a.close()
	staged, orphans, err := a.sweep(ctx)
	if err != nil {
		log.Warn("start-up sweep failed; it will run again at the next start", "err", err)
	} else if staged+orphans > 0 {
		log.Info("start-up sweep", "staged_uploads_removed", staged, "orphan_originals_removed", orphans)
	}

	if addr := os.Getenv("VANTHU_PPROF"); addr != "" {
		if err := servePprof(addr, log); err != nil {
			return err
		}
	}
	srv := &web.Server{Records: a.svc, Catalog: a.catalog, Index: a.index, Log: log,
		IndexReady: a.ready.Load, StoragePing: a.ping}
	srv.New()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	// The address line is what scripts and tests wait for (with --addr :0
	// it names the port that was picked).
	fmt.Fprintf(stdout, "vanthu listening on http://%s (data %s)\n", ln.Addr(), cfg.Data)

	workCtx, stopWork := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); a.workers.Run(workCtx) }()
	wg.Add(2)
	go func() { defer wg.Done(); a.svc.RunFixity(workCtx, cfg.FixityInterval) }()
	go func() { defer wg.Done(); a.svc.RunCheckpoints(workCtx, a.svc.AuditKey, 100, 5*time.Minute) }()
	if cfg.Inbox != "" {
		wg.Add(1)
		go func() { defer wg.Done(); watchInbox(workCtx, a, cfg.Inbox, log) }()
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		stopWork()
		wg.Wait()
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight", "timeout", drainTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	stopWork()
	wg.Wait()
	log.Info("stopped")
	return nil
}

// servePprof serves Go's profiler (net/http/pprof) for performance work,
// on a loopback address only: profiles show queries and document text.
func servePprof(addr string, log *slog.Logger) error {
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("VANTHU_PPROF=%q: give a loopback address such as 127.0.0.1:6060", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("VANTHU_PPROF: %w", err)
	}
	log.Info("profiler listening", "addr", ln.Addr().String())
	go func() { _ = http.Serve(ln, http.DefaultServeMux) }()
	return nil
}
