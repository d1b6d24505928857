#!/usr/bin/env bash
# An interrupted `coras blob get -o FILE` resumes from the file it staged in
# .coras-staging/ beside FILE (only from a file coras wrote: a record beside
# it names the blob and its size).
#
#   resume.sh PATH/TO/coras
#
# `coras serve --stall-blob-gets` pauses every blob GET half-way, so the
# first download can be killed with half the blob staged; the second
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
# staged NAME: where a blob get -o $work/NAME of $digest stages its bytes
# (content::staging_for: the digest, then the first 16 hex digits of the
# SHA-256 of the file name).
staged() {
  echo "$work/.coras-staging/sha256-${digest#sha256:}-$(printf %s "$1" | sha256sum | cut -c1-16)"
}
size=0
for _ in $(seq 1 100); do
  size=$(stat -c %s "$(staged big.back).partial" 2>/dev/null || echo 0)
  [ "$size" -ge $((12 * 1024 * 1024)) ] && break
  sleep 0.05
done
{ kill -KILL "$pid" && wait "$pid"; } 2>/dev/null || true
[ "$size" -ge $((12 * 1024 * 1024)) ] || fail "the first run wrote only $size bytes"
[ ! -e "$work/big.back" ] || fail "the interrupted run left FILE, not only its staged file"
[ -f "$(staged big.back).coras" ] || fail "no record beside the staged file"
[ ! -e "$work/big.back.partial" ] || fail "the download wrote FILE.partial"

# Second run: continues from the partial file.
"$coras" --plain-http blob get "$repo@$digest" -o "$work/big.back" >"$work/out" 2>"$work/err" ||
  fail "the second blob get failed"
grep -q "resuming from byte $((12 * 1024 * 1024))" "$work/err" ||
  fail "the second run did not say it resumes from the partial file"
cmp -s "$work/big.bin" "$work/big.back" || fail "resumed download differs"
[ ! -e "$work/.coras-staging" ] || fail "staging left behind: $(find "$work/.coras-staging")"

# FILE.partial is not coras's: a planted one is neither read nor removed.
head -c 1000 /dev/urandom >"$work/planted.partial"
cp "$work/planted.partial" "$work/planted.keep"
"$coras" --plain-http blob get "$repo@$digest" -o "$work/planted" >"$work/out" 2>"$work/err" ||
  fail "a planted FILE.partial made blob get fail: $(cat "$work/err")"
! grep -q "resuming" "$work/err" || fail "blob get resumed from a planted FILE.partial"
cmp -s "$work/big.bin" "$work/planted" || fail "blob get next to a planted FILE.partial differs"
cmp -s "$work/planted.keep" "$work/planted.partial" || fail "the planted FILE.partial was touched"

# A staged file without coras's record (planted) is started over.
mkdir "$work/.coras-staging"
head -c $((12 * 1024 * 1024)) "$work/big.bin" >"$(staged norecord).partial"
"$coras" --plain-http blob get "$repo@$digest" -o "$work/norecord" >"$work/out" 2>"$work/err" ||
  fail "blob get over a staged file without a record failed"
! grep -q "resuming" "$work/err" || fail "blob get resumed a staged file without a record"
cmp -s "$work/big.bin" "$work/norecord" || fail "blob get over a staged file without a record differs"

# coras's own staged file whose bytes went bad: digest mismatch, removed.
mkdir "$work/.coras-staging"
head -c 1000 /dev/urandom >"$(staged bad).partial"
printf 'coras staged download 1\n%s\n%s\n' "$digest" $((24 * 1024 * 1024)) >"$(staged bad).coras"
rc=0
"$coras" --plain-http blob get "$repo@$digest" -o "$work/bad" >"$work/out" 2>"$work/err" || rc=$?
[ "$rc" = 1 ] || fail "a corrupt staged file: exit $rc, expected 1"
grep -q "resuming from byte 1000" "$work/err" || fail "coras's own staged file was not continued"
grep -q "digest" "$work/err" || fail "no digest error reported"
[ ! -e "$work/bad" ] && [ ! -e "$work/.coras-staging" ] || fail "corrupt staged data kept"

stop_server || fail "coras serve did not exit 0 on SIGTERM"
echo "resume: ok"
