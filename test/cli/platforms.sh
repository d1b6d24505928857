#!/usr/bin/env bash
# `coras pull` and `coras copy` of a multi-platform index against `coras
# serve` on 127.0.0.1.
#
#   platforms.sh PATH/TO/coras
#
# Pushes three artifacts with a file tool.txt each (different bytes) and an
# index naming them linux/amd64, linux/arm64/v8 and linux/arm/v7. Pull takes
# this machine's platform by default, --platform's when given (linux/arm64
# meaning linux/arm64/v8), every platform into DIR/OS_ARCH[_VARIANT] with
# --all-platforms; a platform the index lacks is an error listing those it
# has. Copy does the same with the graph; --all-platforms copies the index.
# A sparse index (a manifest absent) is refused by default, naming
# --allow-sparse-index, and accepted with it.
set -euo pipefail

coras=${1:?usage: platforms.sh PATH/TO/coras}
coras=$(realpath "$coras")
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_tools cmp uname

manifest_type=application/vnd.oci.image.manifest.v1+json
index_type=application/vnd.oci.image.index.v1+json

start_server
repo=$reg/multi/tool

# artifact NAME: pushes files/NAME/tool.txt to $repo:NAME; sets $digest and $size.
artifact() {
  mkdir -p "$work/files/$1"
  printf 'tool for %s\n' "$1" >"$work/files/$1/tool.txt"
  ok push "$repo:$1" "$work/files/$1/tool.txt"
  digest=$(out)
  ok manifest get "$repo:$1" -o "$work/$1.json"
  size=$(stat -c %s "$work/$1.json")
}
artifact amd64
amd=$digest amd_size=$size
artifact arm64
arm64=$digest arm64_size=$size
artifact arm
arm=$digest arm_size=$size
entry() { printf '{"mediaType":"%s","digest":"%s","size":%d,"platform":%s}' "$manifest_type" "$@"; }
printf '{"schemaVersion":2,"mediaType":"%s","manifests":[%s,%s,%s]}' "$index_type" \
  "$(entry "$amd" "$amd_size" '{"architecture":"amd64","os":"linux"}')" \
  "$(entry "$arm64" "$arm64_size" '{"architecture":"arm64","os":"linux","variant":"v8"}')" \
  "$(entry "$arm" "$arm_size" '{"architecture":"arm","os":"linux","variant":"v7"}')" \
  >"$work/index.json"
ok manifest put "$repo:v1" "$work/index.json"
index=$(out)

# This machine's platform, as coras names it; empty when the index lacks it.
case "$(uname -s)/$(uname -m)" in
  Linux/x86_64) host=amd64 host_digest=$amd ;;
  Linux/aarch64 | Linux/arm64) host=arm64 host_digest=$arm64 ;;
  Linux/armv7l) host=arm host_digest=$arm ;;
  *) host= host_digest= ;;
esac

# ---- pull ----
if [ -n "$host" ]; then
  ok pull "$repo:v1" -o "$work/default"
  [ "$(out)" = "$work/default/tool.txt" ] || fail "pull of the index printed '$(out)'"
  cmp -s "$work/files/$host/tool.txt" "$work/default/tool.txt" ||
    fail "pull of the index did not take this machine's ($host) manifest"
else
  expect_error pull "$repo:v1" -o "$work/default"
fi
ok pull "$repo:v1" -o "$work/arm64" --platform linux/arm64/v8
cmp -s "$work/files/arm64/tool.txt" "$work/arm64/tool.txt" || fail "--platform linux/arm64/v8"
ok pull "$repo:v1" -o "$work/arm64-bare" --platform linux/arm64
cmp -s "$work/files/arm64/tool.txt" "$work/arm64-bare/tool.txt" ||
  fail "--platform linux/arm64 did not mean linux/arm64/v8"
ok pull "$repo:v1" -o "$work/arm" --platform linux/arm
cmp -s "$work/files/arm/tool.txt" "$work/arm/tool.txt" || fail "--platform linux/arm (v7)"
ok pull "$repo:v1" -o "$work/all" --all-platforms
[ "$(out)" = "$work/all/linux_amd64/tool.txt
$work/all/linux_arm64_v8/tool.txt
$work/all/linux_arm_v7/tool.txt" ] || fail "pull --all-platforms printed '$(out)'"
for p in amd64:linux_amd64 arm64:linux_arm64_v8 arm:linux_arm_v7; do
  cmp -s "$work/files/${p%%:*}/tool.txt" "$work/all/${p#*:}/tool.txt" ||
    fail "pull --all-platforms: ${p#*:}/tool.txt differs"
done
[ "$(find "$work/all" -type f | wc -l)" = 3 ] || fail "pull --all-platforms left $(find "$work/all")"
expect_error pull "$repo:v1" -o "$work/none" --platform linux/s390x
grep -qF "has no manifest for platform linux/s390x; it has linux/amd64, linux/arm64/v8, linux/arm/v7" \
  "$work/err" || fail "a missing platform: the error does not list the index's platforms"
[ ! -e "$work/none/tool.txt" ] || fail "a missing platform wrote a file"
# A symbolic link DIR/linux_amd64 leading out of DIR is refused like any title.
mkdir -p "$work/outside" "$work/linked"
ln -s "$work/outside" "$work/linked/linux_amd64"
expect_error pull "$repo:v1" -o "$work/linked" --all-platforms
[ -z "$(ls -A "$work/outside")" ] || fail "pull --all-platforms wrote through a symbolic link"
echo "pull: ok"

# ---- copy ----
if [ -n "$host" ]; then
  ok copy "$repo:v1" "oci:$work/layout:default"
  [ "$(out)" = "$host_digest" ] || fail "copy of the index printed '$(out)', not the $host manifest"
fi
ok copy "$repo:v1" "oci:$work/layout:arm64" --platform linux/arm64/v8
[ "$(out)" = "$arm64" ] || fail "copy --platform linux/arm64/v8 printed '$(out)', expected $arm64"
ok copy "$repo:v1" "$reg/multi/all:v1" --all-platforms
[ "$(out)" = "$index" ] || fail "copy --all-platforms printed '$(out)', expected the index $index"
for d in "$amd" "$arm64" "$arm"; do ok resolve "$reg/multi/all@$d"; done
expect_error copy "$repo:v1" "$reg/multi/none:v1" --platform windows/amd64
grep -qF "has no manifest for platform windows/amd64; it has linux/amd64, linux/arm64/v8, linux/arm/v7" \
  "$work/err" || fail "copy: a missing platform's error does not list the index's platforms"
echo "copy: ok"

# ---- usage ----
for cmd in pull copy; do
  args=("$repo:v1" "oci:$work/never:v1")
  [ "$cmd" = pull ] && args=("$repo:v1" -o "$work/never")
  usage "$cmd" "${args[@]}" --platform linux/amd64 --all-platforms
  grep -q 'give --platform or --all-platforms, not both' "$work/err" || fail "$cmd: both: unclear"
  usage "$cmd" "${args[@]}" --platform linux
  grep -q 'platform "linux": give OS/ARCH' "$work/err" || fail "$cmd --platform linux: unclear"
  usage "$cmd" "${args[@]}" --platform "linux/amd 64"
  grep -q 'holds a character' "$work/err" || fail "$cmd --platform 'linux/amd 64': unclear"
done
[ ! -e "$work/never" ] || fail "a usage error wrote something"
echo "usage: ok"

# ---- a sparse index: refused, naming the option; accepted with it ----
absent=sha256:$(printf 'never pushed' | sha256sum | cut -d' ' -f1)
printf '{"schemaVersion":2,"mediaType":"%s","manifests":[%s,%s]}' "$index_type" \
  "$(entry "$amd" "$amd_size" '{"architecture":"amd64","os":"linux"}')" \
  "$(entry "$absent" 12 '{"architecture":"s390x","os":"linux"}')" >"$work/sparse.json"
expect_error manifest put "$repo:sparse" "$work/sparse.json"
grep -q -- '--allow-sparse-index' "$work/err" || fail "a sparse index's refusal does not name the option"
stop_server || fail "coras serve did not exit 0 on SIGTERM"
start_server --allow-sparse-index
repo=$reg/multi/tool
ok push "$repo:amd64" "$work/files/amd64/tool.txt"
[ "$(out)" = "$amd" ] || fail "the amd64 artifact changed digest: $(out)"
ok manifest put "$repo:sparse" "$work/sparse.json"
ok pull "$repo:sparse" -o "$work/sparse" --platform linux/amd64
cmp -s "$work/files/amd64/tool.txt" "$work/sparse/tool.txt" || fail "pull from a sparse index"
echo "sparse index: ok"

stop_server || fail "coras serve did not exit 0 on SIGTERM"
echo "PASS"
