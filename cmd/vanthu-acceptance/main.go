// Command vanthu-acceptance is the acceptance suite that shows nothing is
// lost under faults, hostile input and load. It builds the vanthu binary,
// starts real versitygw and `vanthu serve` processes on 127.0.0.1, runs each
// scenario with bounded loops, prints PASS/FAIL per scenario with its
// figures, exits non-zero on any failure, and stops every process it
// started, also on Ctrl-C.
//
//	go run ./cmd/vanthu-acceptance [-short] [-run REGEX] [-load-docs 100000 -load-minutes 10] [-v]
//
// `go test ./cmd/vanthu-acceptance/` runs the short variants as Go tests.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"syscall"
	"time"
)

// Scenarios in the order they run.
var Scenarios = []Scenario{
	{Name: "crash", Run: crashScenario(false)},
	{Name: "crash-s3", Run: crashScenario(true)},
	{Name: "storage-faults", Run: storageFaultsScenario},
	{Name: "disk-full", Run: diskFullScenario},
	{Name: "concurrency", Run: concurrencyScenario},
	{Name: "graceful-stop", Run: gracefulScenario},
	{Name: "hostile-input", Run: hostileScenario},
	{Name: "load", Run: loadScenario},
}

// scenarioTimeout bounds one scenario run.
func scenarioTimeout(opt Options, name string) time.Duration {
	if name == "load" {
		return opt.LoadDuration + 20*time.Minute
	}
	if opt.Short {
		return 3 * time.Minute
	}
	return 20 * time.Minute
}

func main() {
	short := flag.Bool("short", false, "the short (CI) variant of every scenario")
	run := flag.String("run", "", "run only the scenarios whose name matches this regular expression")
	loadDocs := flag.Int("load-docs", 0, "documents in the load scenario's archive (default 100000, or 2000 with -short)")
	loadMinutes := flag.Float64("load-minutes", 0, "minutes of load (default 10, or 0.5 with -short)")
	verbose := flag.Bool("v", false, "print progress lines while scenarios run")
	flag.Parse()
	opt := Options{Short: *short, LoadDocs: *loadDocs, LoadDuration: time.Duration(*loadMinutes * float64(time.Minute)), Verbose: *verbose}
	opt.defaults()
	var re *regexp.Regexp
	if *run != "" {
		var err error
		if re, err = regexp.Compile(*run); err != nil {
			fmt.Fprintf(os.Stderr, "-run: %v\n", err)
			os.Exit(2)
		}
	}
	os.Exit(runAll(opt, re, os.Stdout))
}

func (o *Options) defaults() {
	if o.LoadDocs <= 0 {
		o.LoadDocs = 100000
		if o.Short {
			o.LoadDocs = 2000
		}
	}
	if o.LoadDuration <= 0 {
		o.LoadDuration = 10 * time.Minute
		if o.Short {
			o.LoadDuration = 30 * time.Second
		}
	}
}

func runAll(opt Options, re *regexp.Regexp, out io.Writer) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	var env *Env
	go func() {
		s := <-sigs
		fmt.Fprintf(out, "\n%v: stopping every process this suite started\n", s)
		cancel()
		KillAll()
		go func() { // a second Ctrl-C does not wait for the clean-up
			<-sigs
			os.Exit(130)
		}()
		if env != nil {
			fmt.Fprintf(out, "removing %s (Ctrl-C again to leave it)\n", env.Work)
			os.RemoveAll(env.Work)
		}
		os.Exit(130)
	}()
	var progress io.Writer = io.Discard
	if opt.Verbose {
		progress = out
	}
	var err error
	env, err = NewEnv(opt, out)
	if err != nil {
		fmt.Fprintf(out, "FAIL setup: %v\n", err)
		return 1
	}
	defer env.Close()
	fmt.Fprintf(out, "vanthu acceptance suite (short=%v, load %d documents for %v); corpus %q, versitygw %q\n",
		opt.Short, opt.LoadDocs, opt.LoadDuration, env.Corpus, env.VGW)
	failed, ran := 0, 0
	var results []Result
	for _, sc := range Scenarios {
		if re != nil && !re.MatchString(sc.Name) {
			continue
		}
		ran++
		fmt.Fprintf(out, "=== %s\n", sc.Name)
		res := RunScenario(ctx, env, sc, scenarioTimeout(opt, sc.Name), progress)
		res.Print(out)
		results = append(results, res)
		if res.Status == "FAIL" {
			failed++
		}
	}
	fmt.Fprintf(out, "\nsummary:")
	for _, r := range results {
		fmt.Fprintf(out, " %s=%s", r.Name, r.Status)
	}
	fmt.Fprintln(out)
	if ran == 0 {
		fmt.Fprintln(out, "no scenario matches -run")
		return 1
	}
	if failed > 0 {
		fmt.Fprintf(out, "FAIL: %d of %d scenarios failed\n", failed, ran)
		return 1
	}
	fmt.Fprintf(out, "PASS: %d scenarios\n", ran)
	return 0
}
