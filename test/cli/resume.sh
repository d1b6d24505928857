#!/usr/bin/env bash
# An interrupted `coras blob get -o FILE` resumes from FILE.partial.
#
#   resume.sh PATH/TO/coras
#
# `coras serve --stall-blob-gets` pauses every blob GET half-way, so the
# first download can be killed with half the blob in FILE.partial; the second
# run must say it resumes, ask only for the rest, and produce the blob.
set -euo pipefail

coras=${1:?usage: resume.sh PATH/TO/coras}
coras=$(realpath "$coras")
# shellcheck source-path=SCRIPTDIR source=../fixtures/coras-serve.sh
source "$(dirname "${BASH_SOURCE[0]}")/../fixtures/coras-serve.sh"
require_tools sha256sum cmp stat

start_server --stall-blob-gets 2000
repo=$reg/resume/app
head -c $((24 * 1024 * 1024)) /dev/urandom >"$work/big.bin"
digest=sha256:$(sha "$work/big.bin")
"$coras" --plain-http blob put "$repo" "$work/big.bin" >"$work/out" 2>"$work/err" ||
  fail "blob put failed"

# First run: killed while the server stalls half-way.
"$coras" --plain-http blob get "$repo@$digest" -o "$work/big.back" >"$work/out" 2>"$work/err" &
pid=$!
size=0
for _ in $(seq 1 100); do
  size=$(stat -c %s "$work/big.back.partial" 2>/dev/null || echo 0)
  [ "$size" -ge $((12 * 1024 * 1024)) ] && break
  sleep 0.05
done
{ kill -KILL "$pid" && wait "$pid"; } 2>/dev/null || true
[ "$size" -ge $((12 * 1024 * 1024)) ] || fail "the first run wrote only $size bytes"
[ ! -e "$work/big.back" ] || fail "the interrupted run left FILE, not only FILE.partial"

# Second run: continues from the partial file.
"$coras" --plain-http blob get "$repo@$digest" -o "$work/big.back" >"$work/out" 2>"$work/err" ||
  fail "the second blob get failed"
grep -q "resuming from byte $((12 * 1024 * 1024))" "$work/err" ||
  fail "the second run did not say it resumes from the partial file"
cmp -s "$work/big.bin" "$work/big.back" || fail "resumed download differs"
[ ! -e "$work/big.back.partial" ] || fail "FILE.partial left behind"

# A partial file that is not a prefix of the blob: digest mismatch, removed.
head -c 1000 /dev/urandom >"$work/bad.partial"
rc=0
"$coras" --plain-http blob get "$repo@$digest" -o "$work/bad" >"$work/out" 2>"$work/err" || rc=$?
[ "$rc" = 1 ] || fail "a corrupt partial file: exit $rc, expected 1"
grep -q "digest" "$work/err" || fail "no digest error reported"
[ ! -e "$work/bad" ] && [ ! -e "$work/bad.partial" ] || fail "corrupt partial data kept"

stop_server || fail "coras serve did not exit 0 on SIGTERM"
echo "resume: ok"
