// Command vanthu runs the records archive and its maintenance tasks. It is
// the only place that reads flags and the environment and builds the object
// graph (storage, catalog, index, service, HTTP server).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"vanthu/archive"
	"vanthu/cmd/internal/tune"
	"vanthu/ingest"
)

func main() {
	// The extraction child must start before anything else: it limits its
	// own memory and must not open the catalog.
	if len(os.Args) > 1 && os.Args[1] == "__extract" {
		os.Exit(ingest.ChildMain(os.Args[1:]))
	}
	tune.GC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	if err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			if ee.msg != "" {
				fmt.Fprintln(os.Stderr, ee.msg)
			}
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "vanthu:", err)
		os.Exit(1)
	}
}

// exitError ends the program with a status code (e.g. a failed verification).
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

const usage = `vanthu — the records archive (văn thư lưu trữ)

Usage:
  vanthu serve [--addr 127.0.0.1:8080] [--data ./vanthu-data] [--inbox DIR]
  vanthu user add NAME --role clerk|officer|inspector|admin [--clearance none|mat|toi_mat|tuyet_mat] [--unit UNIT] [--password-stdin]
  vanthu user set NAME --clearance LEVEL [--role ROLE]
  vanthu user list
  vanthu user delete NAME
  vanthu token create NAME
  vanthu import PATH...
  vanthu reindex
  vanthu verify [--signatures]
  vanthu rebuild
  vanthu audit verify
  vanthu healthcheck        (for container health checks: GET /healthz on VANTHU_ADDR)

Every command takes --data. Settings also come from the environment:
VANTHU_ADDR, VANTHU_DATA, VANTHU_S3_ENDPOINT, VANTHU_S3_BUCKET, VANTHU_S3_ACCESS_KEY,
VANTHU_S3_SECRET_KEY, VANTHU_S3_SSL, VANTHU_MAX_UPLOAD, VANTHU_MAX_CLASSIFICATION.
`

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, stdout, stderr)
	case "user":
		return cmdUser(ctx, rest, stdin, stdout)
	case "token":
		return cmdToken(ctx, rest, stdout)
	case "import":
		return cmdImport(ctx, rest, stdout, stderr)
	case "reindex":
		return cmdReindex(ctx, rest, stdout)
	case "verify":
		return cmdVerify(ctx, rest, stdout)
	case "rebuild":
		return cmdRebuild(ctx, rest, stdout)
	case "audit":
		return cmdAudit(ctx, rest, stdout)
	case "healthcheck":
		return cmdHealthcheck(ctx)
	}
	return exitError{2, fmt.Sprintf("vanthu: unknown command %q\n\n%s", cmd, usage)}
}

// config is everything the environment and flags decide.
type config struct {
	Addr              string
	Data              string
	Inbox             string
	S3                s3Config
	MaxUpload         int64
	MaxClassification archive.Classification
	FixityInterval    time.Duration
	TrustAnchors      string // folder of PEM roots/intermediates for signature checks
	ExtractTimeout    time.Duration
}

type s3Config struct {
	Endpoint, Bucket, AccessKey, SecretKey string
	SSL, ObjectLock                        bool
}

// flags registers --data (and the service flags when serve is true) over
// defaults from the environment.
func newFlags(name string, cfg *config, serve bool) *flag.FlagSet {
	fs := flag.NewFlagSet("vanthu "+name, flag.ContinueOnError)
	*cfg = config{
		Addr:      env("VANTHU_ADDR", "127.0.0.1:8080"),
		Data:      env("VANTHU_DATA", "./vanthu-data"),
		MaxUpload: 2 << 30,
		S3: s3Config{
			Endpoint:   os.Getenv("VANTHU_S3_ENDPOINT"),
			Bucket:     env("VANTHU_S3_BUCKET", "vanthu"),
			AccessKey:  os.Getenv("VANTHU_S3_ACCESS_KEY"),
			SecretKey:  os.Getenv("VANTHU_S3_SECRET_KEY"),
			SSL:        os.Getenv("VANTHU_S3_SSL") == "true",
			ObjectLock: os.Getenv("VANTHU_S3_OBJECT_LOCK") == "true",
		},
	}
	fs.StringVar(&cfg.Data, "data", cfg.Data, "data directory (catalog, index, and originals when no S3 is set)")
	if serve {
		fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen address")
		fs.StringVar(&cfg.Inbox, "inbox", os.Getenv("VANTHU_INBOX"), "folder watched for scanned files to import (moved to DIR/done or DIR/failed)")
	}
	return fs
}

// settle reads the numeric and enumerated settings after flag parsing.
func (cfg *config) settle() error {
	if v := os.Getenv("VANTHU_MAX_UPLOAD"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("VANTHU_MAX_UPLOAD=%q is not a positive number of bytes", v)
		}
		cfg.MaxUpload = n
	}
	c, err := archive.ParseClassification(os.Getenv("VANTHU_MAX_CLASSIFICATION"))
	if err != nil {
		return fmt.Errorf("VANTHU_MAX_CLASSIFICATION: %w", err)
	}
	cfg.MaxClassification = c
	cfg.TrustAnchors = os.Getenv("VANTHU_TRUST_ANCHORS")
	if cfg.TrustAnchors != "" {
		if fi, err := os.Stat(cfg.TrustAnchors); err != nil || !fi.IsDir() {
			return fmt.Errorf("VANTHU_TRUST_ANCHORS=%q must be a folder of PEM certificates", cfg.TrustAnchors)
		}
	}
	cfg.ExtractTimeout = 2 * time.Minute
	if v := os.Getenv("VANTHU_EXTRACT_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			return fmt.Errorf("VANTHU_EXTRACT_TIMEOUT=%q must be a duration of at least 1s (e.g. 2m)", v)
		}
		cfg.ExtractTimeout = d
	}
	cfg.FixityInterval = 24 * time.Hour
	if v := os.Getenv("VANTHU_FIXITY_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute {
			return fmt.Errorf("VANTHU_FIXITY_INTERVAL=%q must be a duration of at least 1m (e.g. 24h)", v)
		}
		cfg.FixityInterval = d
	}
	if v := os.Getenv("VANTHU_S3_SSL"); v != "" && v != "true" && v != "false" {
		return fmt.Errorf("VANTHU_S3_SSL=%q must be true or false", v)
	}
	return nil
}

// tempDir is DATA/tmp: the upload spool in S3 mode, the originals copied
// out for extraction and the extraction children's scratch directories.
// openApp creates it, and the start-up sweep removes what a crash left.
func (cfg config) tempDir() string { return filepath.Join(cfg.Data, "tmp") }

// uploadSpool is where uploads are written while they are received, before
// they are stored (records.Service.SpoolDir): DATA/tmp in S3 mode, so the
// original is put once at its content address in parallel parts; none with
// the filesystem store, whose rename from a temporary key is free. openApp
// creates the directory, and the start-up sweep empties it.
func (cfg config) uploadSpool() string {
	if cfg.S3.Endpoint == "" {
		return ""
	}
	return cfg.tempDir()
}

func env(k, def string) string {
	if v := strings.TrimSpace(os.Getenv(k)); v != "" {
		return v
	}
	return def
}

func parse(fs *flag.FlagSet, args []string, cfg *config) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitError{0, ""}
		}
		return exitError{2, ""}
	}
	return cfg.settle()
}

// cmdHealthcheck asks the running service for /healthz (container images
// have no curl).
func cmdHealthcheck(ctx context.Context) error {
	addr := env("VANTHU_ADDR", "127.0.0.1:8080")
	addr = strings.Replace(addr, "0.0.0.0", "127.0.0.1", 1)
	ctx, cancel := context.WithTimeout(ctx, 4*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return exitError{1, "unhealthy: " + err.Error()}
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return exitError{1, "unhealthy: " + resp.Status}
	}
	return nil
}
