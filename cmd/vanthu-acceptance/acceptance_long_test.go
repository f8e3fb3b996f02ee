//go:build acceptance

package main

// The long variants, for `go test -tags acceptance -run TestLong -timeout 3h
// ./cmd/vanthu-acceptance/` (the command runs the same with no -short).

import (
	"flag"
	"testing"
	"time"
)

var (
	longDocs    = flag.Int("load-docs", 100000, "documents in the long load scenario")
	longMinutes = flag.Float64("load-minutes", 10, "minutes of the long load scenario")
)

func long() Options {
	return Options{LoadDocs: *longDocs, LoadDuration: time.Duration(*longMinutes * float64(time.Minute))}
}

func TestLongCrash(t *testing.T)         { runScenario(t, "crash", long()) }
func TestLongCrashS3(t *testing.T)       { runScenario(t, "crash-s3", long()) }
func TestLongStorageFaults(t *testing.T) { runScenario(t, "storage-faults", long()) }
func TestLongGracefulStop(t *testing.T)  { runScenario(t, "graceful-stop", long()) }
func TestLongLoad(t *testing.T)          { runScenario(t, "load", long()) }
