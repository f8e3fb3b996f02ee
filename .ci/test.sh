#!/usr/bin/env bash
# The one test command (README, CI): installs what the tests need on a
# machine that has only Go, starts a real S3 server (versitygw) on 127.0.0.1,
# runs gofmt, go vet and go test -race over every package, and stops the
# server again. Extra arguments go to `go test` (e.g. -run TestUpload).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

# --- Debian packages: Poppler (pdftotext, pdfsig), Tesseract with Vietnamese,
# Chromium for the browser tests, the sqlite3 CLI for tamper tests.
need=()
command -v pdftotext >/dev/null || need+=(poppler-utils)
command -v tesseract >/dev/null || need+=(tesseract-ocr)
[ -e /usr/share/tesseract-ocr/5/tessdata/vie.traineddata ] || ls /usr/share/tesseract-ocr/*/tessdata/vie.traineddata >/dev/null 2>&1 || need+=(tesseract-ocr-vie)
command -v chromium >/dev/null || need+=(chromium)
command -v sqlite3 >/dev/null || need+=(sqlite3)
if [ ${#need[@]} -gt 0 ]; then
  log "installing Debian packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# --- The pinned S3 server.
GOBIN_DIR="$(go env GOPATH)/bin"
export PATH="$GOBIN_DIR:$PATH"
VGW_VERSION=v1.8.0
# `go install` binaries carry their module version in the build info.
if ! { command -v versitygw >/dev/null && go version -m "$(command -v versitygw)" | grep -q "mod[[:space:]]*github.com/versity/versitygw[[:space:]]*$VGW_VERSION"; }; then
  log "installing versitygw $VGW_VERSION"
  (cd /tmp && go install "github.com/versity/versitygw/cmd/versitygw@$VGW_VERSION")
fi

work="$(mktemp -d)"
vgw_pid=""
cleanup() {
  if [ -n "$vgw_pid" ]; then kill "$vgw_pid" 2>/dev/null || true; wait "$vgw_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# A port nobody listens on (bash only: the machine may have no python).
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$(( 20000 + RANDOM % 40000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "no free port found" >&2; return 1
}
port="$(free_port)"
mkdir -p "$work/s3/data" "$work/s3/ver"
export ROOT_ACCESS_KEY_ID=vanthutest ROOT_SECRET_ACCESS_KEY=vanthutestsecret
log "starting versitygw on 127.0.0.1:$port"
versitygw --port "127.0.0.1:$port" posix --versioning-dir "$work/s3/ver" "$work/s3/data" >"$work/versitygw.log" 2>&1 &
vgw_pid=$!
for i in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  if ! kill -0 "$vgw_pid" 2>/dev/null; then cat "$work/versitygw.log"; echo "versitygw did not start"; exit 1; fi
  sleep 0.1
done
export VANTHU_TEST_S3_ENDPOINT="127.0.0.1:$port"
export VANTHU_TEST_S3_ACCESS_KEY="$ROOT_ACCESS_KEY_ID" VANTHU_TEST_S3_SECRET_KEY="$ROOT_SECRET_ACCESS_KEY"
export VANTHU_TEST_S3_REQUIRED=1      # S3 tests must run here, never skip
export VANTHU_TEST_BROWSER_REQUIRED=1 # so must the Chromium tests

log "gofmt"
unformatted="$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"
if [ -n "$unformatted" ]; then echo "gofmt would change:"; echo "$unformatted"; exit 1; fi

log "go vet"
go vet ./...

log "go test -race"
go test -race -timeout 25m "$@" ./...

# The two corpus-scale measurements skip themselves under -race (minutes
# each there, for code the race run already covers); they run here without it.
if [ $# -eq 0 ]; then
  log "go test (corpus measurements, without -race)"
  rc=0
  go test -count=1 -run 'TestRelevanceALQAC|TestCorpusResolution' -v ./search/... ./archive/records/ >"$work/measure.log" 2>&1 || rc=$?
  grep -E '^(--- |ok|FAIL)|recall|resolved' "$work/measure.log" || true
  [ "$rc" -eq 0 ] || { cat "$work/measure.log"; exit "$rc"; }
fi
