package main

// `go test ./cmd/vanthu-acceptance/` runs the short (CI) variant of every
// scenario against the real binary, versitygw and the corpus. Scenarios
// that need versitygw skip with a message when it is absent, unless
// VANTHU_TEST_S3_REQUIRED=1. The long variants run from the command, or
// with -tags acceptance (acceptance_long_test.go).

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
)

var testEnv *Env

func TestMain(m *testing.M) {
	code := func() int {
		env, err := NewEnv(Options{Short: true}, os.Stderr)
		if err != nil {
			fmt.Fprintf(os.Stderr, "vanthu-acceptance: %v\n", err)
			return 1
		}
		testEnv = env
		defer env.Close()
		return m.Run()
	}()
	os.Exit(code)
}

// runScenario runs the scenario named name with opt and reports it to t.
func runScenario(t *testing.T, name string, opt Options) {
	t.Helper()
	var sc *Scenario
	for i := range Scenarios {
		if Scenarios[i].Name == name {
			sc = &Scenarios[i]
		}
	}
	if sc == nil {
		t.Fatalf("no scenario %q", name)
	}
	opt.defaults()
	env := *testEnv
	env.Opt = opt
	var log strings.Builder
	logw := &testLog{t: t}
	res := RunScenario(context.Background(), &env, *sc, scenarioTimeout(opt, name), logw)
	res.Print(&log)
	t.Log("\n" + log.String())
	switch res.Status {
	case "SKIP":
		t.Skip(res.Skip)
	case "FAIL":
		for _, e := range res.Errors {
			t.Error(e)
		}
	}
}

type testLog struct{ t *testing.T }

func (l *testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func short() Options { return Options{Short: true} }

// The load scenario runs alone first (its latency bound would measure the
// other scenarios otherwise); the rest run in parallel after it.
func TestLoad(t *testing.T) { runScenario(t, "load", short()) }

func TestCrash(t *testing.T)         { t.Parallel(); runScenario(t, "crash", short()) }
func TestCrashS3(t *testing.T)       { t.Parallel(); runScenario(t, "crash-s3", short()) }
func TestStorageFaults(t *testing.T) { t.Parallel(); runScenario(t, "storage-faults", short()) }
func TestDiskFull(t *testing.T)      { t.Parallel(); runScenario(t, "disk-full", short()) }
func TestConcurrency(t *testing.T)   { t.Parallel(); runScenario(t, "concurrency", short()) }
func TestGracefulStop(t *testing.T)  { t.Parallel(); runScenario(t, "graceful-stop", short()) }
func TestHostileInput(t *testing.T)  { t.Parallel(); runScenario(t, "hostile-input", short()) }

// TestEveryScenarioHasATest keeps this file in step with Scenarios.
func TestEveryScenarioHasATest(t *testing.T) {
	b, err := os.ReadFile("acceptance_test.go")
	if err != nil {
		t.Skip(err)
	}
	for _, sc := range Scenarios {
		if !strings.Contains(string(b), fmt.Sprintf("%q", sc.Name)) {
			t.Errorf("scenario %s has no test here", sc.Name)
		}
	}
}
