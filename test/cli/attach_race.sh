#!/usr/bin/env bash
# Concurrent `coras attach` and `coras manifest delete` processes against
# Debian's docker-registry (distribution 2.8: no Referrers API, so every
# process rewrites the referrers tag schema's index `sha256-<hex>`), on
# 127.0.0.1 only (issue 17, item 9).
#
#   attach_race.sh PATH/TO/coras
#
# Runs itself under test/fixtures/with-docker-registry plain. Separate
# processes share no merge queue: only reading the tag back after writing it
# (and merging again when another writer replaced the update) keeps every
# change. Round 1: 20 attaches to one subject at once, then all 20 must be
# listed. Round 2: 10 of them deleted while 10 more are attached, at once;
# then exactly the 20 expected ones must be listed (none lost, none back).
# Exit 77 (skipped) when docker-registry is missing.
set -euo pipefail

coras=${1:?usage: attach_race.sh PATH/TO/coras}
coras=$(realpath "$coras")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

command -v docker-registry >/dev/null || { echo "SKIP: docker-registry not installed"; exit 77; }
if [ -z "${CORAS_TEST_REGISTRY:-}" ]; then
  exec "$here/../fixtures/with-docker-registry" plain -- bash "${BASH_SOURCE[0]}" "$coras"
fi
[ "$CORAS_TEST_SCHEME" = http ] || { echo "FAIL: needs the plain mode" >&2; exit 1; }
reg=$CORAS_TEST_REGISTRY

work=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT

fail() {
  echo "FAIL: $*" >&2
  local f
  for f in "$work"/*.err; do
    if [ -s "$f" ]; then sed "s|^|  $(basename "$f"): |" "$f" >&2; fi
  done
  exit 1
}
coras_() {
  "$coras" --plain-http "$@" >"$work/out" 2>"$work/main.err" </dev/null || fail "coras $* exited $?"
}
out() { cat "$work/out"; }

manifest_type=application/vnd.oci.image.manifest.v1+json
repo=$reg/race/app

# The subject: an image manifest tagged v1.
printf 'layer of the subject image' >"$work/layer.bin"
printf '{}' >"$work/config.json"
coras_ blob put "$repo" "$work/layer.bin"
layer=$(out)
coras_ blob put "$repo" "$work/config.json"
printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%d}]}' \
  "$manifest_type" "$(out)" "$layer" "$(wc -c <"$work/layer.bin")" >"$work/image.json"
coras_ manifest put "$repo:v1" "$work/image.json"
subject=$(out)

# spawn NAME ARGS...: starts `coras --plain-http ARGS` in the background once
# $work/go exists (so that every process of a round starts at the same
# moment), stdout in $work/NAME.out, stderr in $work/NAME.err; its pid goes
# into pids.
pids=()
names=()
spawn() {
  local name=$1
  shift
  (
    while [ ! -e "$work/go" ]; do sleep 0.005; done
    exec "$coras" --plain-http "$@" >"$work/$name.out" 2>"$work/$name.err" </dev/null
  ) &
  pids+=($!)
  names+=("$name")
}
# go: releases the spawned processes and waits for all of them; fails when
# one of them failed.
go() {
  touch "$work/go"
  local i rc failed=()
  for i in "${!pids[@]}"; do
    rc=0
    wait "${pids[$i]}" || rc=$?
    [ "$rc" = 0 ] || failed+=("${names[$i]} (exit $rc)")
  done
  rm -f "$work/go"
  pids=()
  names=()
  [ "${#failed[@]}" = 0 ] || fail "failed: ${failed[*]}"
}
# check_listed ROUND EXPECTED_FILE: `coras referrers` lists exactly the
# digests in EXPECTED_FILE (one a line).
check_listed() {
  local round=$1 expected=$2
  coras_ referrers "$repo:v1"
  cut -d' ' -f1 "$work/out" | sort >"$work/listed"
  sort "$expected" >"$work/expected"
  local want have lost back
  want=$(wc -l <"$work/expected")
  have=$(comm -12 "$work/listed" "$work/expected" | wc -l)
  lost=$(comm -13 "$work/listed" "$work/expected" | wc -l)
  back=$(comm -23 "$work/listed" "$work/expected" | wc -l)
  echo "$round: $have of $want referrers listed ($lost lost, $back that should be gone)"
  [ "$lost" = 0 ] && [ "$back" = 0 ] || fail "$round: $lost of $want referrers lost, $back deleted ones listed"
  [ "$(sort -u "$work/listed" | wc -l)" = "$(wc -l <"$work/listed")" ] || fail "$round: a referrer is listed twice"
}

# Round 1: 20 attaches at once.
for i in $(seq 1 20); do
  printf 'sbom %d\n' "$i" >"$work/sbom$i.txt"
  spawn "attach$i" attach "$repo:v1" --artifact-type application/vnd.example.sbom \
    "$work/sbom$i.txt" --annotation "org.example.n=$i"
done
go
: >"$work/round1"
for i in $(seq 1 20); do
  d=$(cat "$work/attach$i.out")
  [[ "$d" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "attach $i printed '$d'"
  echo "$d" >>"$work/round1"
done
check_listed "20 concurrent attaches" "$work/round1"

# Round 2: delete the first 10 while 10 more are attached.
: >"$work/round2"
for i in $(seq 1 10); do
  spawn "delete$i" manifest delete "$repo@$(sed -n "${i}p" "$work/round1")"
done
for i in $(seq 11 20); do
  sed -n "${i}p" "$work/round1" >>"$work/round2"
done
for i in $(seq 21 30); do
  printf 'sbom %d\n' "$i" >"$work/sbom$i.txt"
  spawn "attach$i" attach "$repo:v1" --artifact-type application/vnd.example.sbom \
    "$work/sbom$i.txt" --annotation "org.example.n=$i"
done
go
for i in $(seq 21 30); do cat "$work/attach$i.out" >>"$work/round2"; done
check_listed "10 concurrent deletes and 10 attaches" "$work/round2"

# The tag schema was used: the repository's tags are v1 and the referrers tag.
coras_ tags "$repo"
[ "$(out | sort | tr '\n' ' ')" = "sha256-${subject#sha256:} v1 " ] ||
  fail "tags are '$(out | tr '\n' ' ')', expected v1 and sha256-${subject#sha256:}"
echo "PASS"
