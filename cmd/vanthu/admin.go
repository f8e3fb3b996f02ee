package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"vanthu/archive"
	"vanthu/archive/records"
	"vanthu/archive/sqlite"
)

func quietLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// openCatalogOnly opens just the catalog (user and audit commands need no
// storage, so they work while S3 is down).
func openCatalogOnly(cfg config) (*sqlite.Catalog, error) {
	if err := os.MkdirAll(cfg.Data, 0o750); err != nil {
		return nil, err
	}
	return sqlite.Open(cfg.Data + "/catalog.db")
}

func cmdUser(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return exitError{2, "usage: vanthu user add|list|delete …"}
	}
	sub, args := args[0], args[1:]
	var cfg config
	fs := newFlags("user "+sub, &cfg, false)
	var role, clearance, unit string
	var pwStdin bool
	if sub == "add" || sub == "set" {
		fs.StringVar(&role, "role", "", "clerk, officer, inspector or admin")
		fs.StringVar(&clearance, "clearance", "none", "none, mat, toi_mat or tuyet_mat")
		fs.StringVar(&unit, "unit", "", "the user's unit (đơn vị)")
		fs.BoolVar(&pwStdin, "password-stdin", false, "read the password from standard input")
	}
	name, rest := "", args
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, rest = args[0], args[1:]
	}
	if err := parse(fs, rest, &cfg); err != nil {
		return err
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	}
	cat, err := openCatalogOnly(cfg)
	if err != nil {
		return err
	}
	defer cat.Close()
	actor := &archive.Event{Actor: "cli:" + osUser(), Role: "admin"}
	switch sub {
	case "add":
		if name == "" {
			return exitError{2, "usage: vanthu user add NAME --role ROLE [--clearance LEVEL] [--unit UNIT] [--password-stdin]"}
		}
		r, err := archive.ParseRole(role)
		if err != nil {
			return exitError{2, err.Error()}
		}
		c, err := archive.ParseClassification(clearance)
		if err != nil {
			return exitError{2, err.Error()}
		}
		pw := os.Getenv("VANTHU_PASSWORD")
		if pwStdin {
			line, err := bufio.NewReader(stdin).ReadString('\n')
			if err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			pw = strings.TrimRight(line, "\r\n")
		}
		hash := ""
		if pw != "" {
			if len(pw) < 8 {
				return exitError{2, "the password must have at least 8 characters"}
			}
			if hash, err = archive.HashPassword(pw); err != nil {
				return err
			}
		}
		u := &archive.User{Name: name, Role: r, Clearance: c, Unit: unit}
		err = cat.Update(ctx, func(tx *sqlite.Tx) error {
			if err := tx.CreateUser(ctx, u, hash); err != nil {
				return err
			}
			e := *actor
			e.Action, e.Details = archive.ActionUserAdd, map[string]any{"user": name, "role": string(r), "clearance": string(c), "unit": unit}
			return tx.AppendEvent(ctx, &e)
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s added (role %s, clearance %s)\n", name, r, c)
		if hash == "" {
			fmt.Fprintln(stdout, "no password set: this user can use API tokens only")
		}
		return nil
	case "list":
		us, err := cat.Users(ctx)
		if err != nil {
			return err
		}
		for _, u := range us {
			state := ""
			if u.Deleted {
				state = " (deleted)"
			}
			fmt.Fprintf(stdout, "%s\t%s\t%s\t%s%s\n", u.Name, u.Role, u.Clearance, u.Unit, state)
		}
		return nil
	case "set":
		u, err := cat.User(ctx, name)
		if err != nil || u.Deleted {
			return exitError{1, fmt.Sprintf("vanthu: no active user named %q", name)}
		}
		r := u.Role
		if role != "" {
			if r, err = archive.ParseRole(role); err != nil {
				return exitError{2, err.Error()}
			}
		}
		c := u.Clearance
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "clearance" {
				c, err = archive.ParseClassification(clearance)
			}
		})
		if err != nil {
			return exitError{2, err.Error()}
		}
		err = cat.Update(ctx, func(tx *sqlite.Tx) error {
			if err := tx.SetClearance(ctx, u.ID, r, c); err != nil {
				return err
			}
			e := *actor
			e.Action, e.Details = archive.ActionUserChange, map[string]any{"user": name,
				"before": map[string]any{"role": string(u.Role), "clearance": string(u.Clearance)},
				"after":  map[string]any{"role": string(r), "clearance": string(c)}}
			return tx.AppendEvent(ctx, &e)
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s: role %s, clearance %s (takes effect on their next request)\n", name, r, c)
		return nil
	case "delete":
		u, err := cat.User(ctx, name)
		if err != nil {
			return err
		}
		err = cat.Update(ctx, func(tx *sqlite.Tx) error {
			if err := tx.DeleteUser(ctx, u.ID); err != nil {
				return err
			}
			e := *actor
			e.Action, e.Details = archive.ActionUserDelete, map[string]any{"user": name}
			return tx.AppendEvent(ctx, &e)
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s deleted; their tokens no longer work\n", name)
		return nil
	}
	return exitError{2, "usage: vanthu user add|set|list|delete …"}
}

func osUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}

func cmdToken(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) < 2 || args[0] != "create" {
		return exitError{2, "usage: vanthu token create NAME"}
	}
	name := args[1]
	var cfg config
	if err := parse(newFlags("token create", &cfg, false), args[2:], &cfg); err != nil {
		return err
	}
	cat, err := openCatalogOnly(cfg)
	if err != nil {
		return err
	}
	defer cat.Close()
	u, err := cat.User(ctx, name)
	if err != nil || u.Deleted {
		return exitError{1, fmt.Sprintf("vanthu: no active user named %q", name)}
	}
	tok, hash, err := archive.NewToken()
	if err != nil {
		return err
	}
	err = cat.Update(ctx, func(tx *sqlite.Tx) error {
		if err := tx.AddToken(ctx, u.ID, hash); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, &archive.Event{Actor: "cli:" + osUser(), Role: "admin", Action: archive.ActionTokenCreate,
			Details: map[string]any{"user": name}})
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

func cmdAudit(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "verify" && args[0] != "checkpoint") {
		return exitError{2, "usage: vanthu audit verify | vanthu audit checkpoint"}
	}
	var cfg config
	if err := parse(newFlags("audit "+args[0], &cfg, false), args[1:], &cfg); err != nil {
		return err
	}
	a, err := openApp(ctx, cfg, quietLog(), false)
	if err != nil {
		return err
	}
	defer a.close()
	if args[0] == "checkpoint" {
		if a.svc.AuditKey == nil {
			return exitError{1, "vanthu: no audit signing key"}
		}
		seq, err := a.svc.Checkpoint(ctx, a.svc.AuditKey)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "audit checkpoint written at event %d\n", seq)
		return nil
	}
	var pub ed25519.PublicKey
	if a.svc.AuditKey != nil {
		pub = a.svc.AuditKey.Public().(ed25519.PublicKey)
	}
	res, cps, err := a.svc.VerifyAudit(ctx, pub)
	if err != nil {
		return err
	}
	if !res.OK {
		fmt.Fprintf(stdout, "audit chain BROKEN at event %d: %s (%d events, %d signed checkpoints checked)\n", res.FirstBadSeq, res.Reason, res.Events, cps)
		return exitError{1, ""}
	}
	fmt.Fprintf(stdout, "audit chain ok: %d events, %d signed checkpoints verified\n", res.Events, cps)
	return nil
}

// cmdVerify is the fixity check: every original is re-hashed against the
// catalog; changed, missing and untracked objects are reported and audited.
func cmdVerify(ctx context.Context, args []string, stdout io.Writer) error {
	var cfg config
	fs := newFlags("verify", &cfg, false)
	sigs := fs.Bool("signatures", false, "verify the digital signatures of every PDF original again (e.g. after adding a trust anchor)")
	if err := parse(fs, args, &cfg); err != nil {
		return err
	}
	a, err := openApp(ctx, cfg, quietLog(), false)
	if err != nil {
		return err
	}
	defer a.close()
	if *sigs {
		bad := 0
		n, err := a.svc.VerifySignatures(ctx, cfg.TrustAnchors, cfg.tempDir(), func(d *archive.Document, n, valid int, modified bool) {
			if n == 0 {
				return
			}
			verdict := "integrity valid"
			if valid < n || modified {
				verdict, bad = "NOT VALID", bad+1
			}
			if modified {
				verdict += ", modified after signing"
			}
			fmt.Fprintf(stdout, "%s  %d/%d signatures valid  %s  %s\n", d.ID, valid, n, verdict, d.Filename)
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "signatures checked on %d PDF originals; %d with a problem\n", n, bad)
		if bad > 0 {
			return exitError{1, ""}
		}
		return nil
	}
	rep, err := a.svc.Fixity(ctx, func(f records.FixityFinding) {
		fmt.Fprintf(stdout, "%-9s %s %s %s\n", f.Kind, f.Key, f.DocumentID, f.Detail)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "checked=%d ok=%d changed=%d missing=%d untracked=%d\n", rep.Checked, rep.OK, rep.Changed, rep.Missing, rep.Untracked)
	if rep.Changed+rep.Missing+rep.Untracked > 0 {
		return exitError{1, ""}
	}
	return nil
}

func cmdReindex(ctx context.Context, args []string, stdout io.Writer) error {
	var cfg config
	if err := parse(newFlags("reindex", &cfg, false), args, &cfg); err != nil {
		return err
	}
	log := quietLog()
	a, err := openApp(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer a.close()
	// A fresh index: a reindex is also the cure for a damaged one.
	if err := os.RemoveAll(a.indexDir()); err != nil {
		return err
	}
	if err := a.openIndex(ctx, false); err != nil {
		return err
	}
	total, _ := a.catalog.CountDocuments(ctx)
	err = a.reindexAll(ctx, reindexBatch, func(done int) {
		fmt.Fprintf(stdout, "indexed %d/%d\n", done, total)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "reindex done: %d documents\n", total)
	return nil
}
