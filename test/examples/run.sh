#!/usr/bin/env bash
# Runs one example of examples/ against `coras serve` on 127.0.0.1 (a free
# port) and checks that it exits 0 and prints what it promises, the way
# oras-go's example tests check their `// Output:`.
#
#   run.sh NAME PATH/TO/coras PATH/TO/example_NAME [PATH/TO/example_http_ping]
#
# The registry content an example needs (an image to copy, a blob to
# download) is put there first with the coras command. serve_registry runs
# the embedded registry itself; example_http_ping pings it, then SIGINT stops
# it and it must report what it served.
# start_server takes coras serve's options; these examples need none.
# shellcheck disable=SC2119
set -euo pipefail

name=${1:?usage: run.sh NAME PATH/TO/coras PATH/TO/example_NAME [PATH/TO/example_http_ping]}
coras=$(realpath "${2:?}")
example=$(realpath "${3:?}")
ping=${4:+$(realpath "$4")}
# shellcheck source-path=SCRIPTDIR source=../fixtures/coras-serve.sh
source "$(dirname "${BASH_SOURCE[0]}")/../fixtures/coras-serve.sh"

# No docker credentials or helpers from the machine running the tests.
export HOME=$work/home DOCKER_CONFIG=$work/home/.docker
mkdir -p "$DOCKER_CONFIG"

# run_example ARGS...: runs the example, stdout to $work/out and stderr to
# $work/err; fails unless it exits 0.
run_example() {
  local rc=0
  "$example" "$@" >"$work/out" 2>"$work/err" </dev/null || rc=$?
  [ "$rc" -eq 0 ] || fail "example_$name $* exited $rc"
}

# expect PATTERN...: fails unless each extended regular expression matches a
# line of $work/out.
expect() {
  local p
  for p in "$@"; do
    grep -Eq -- "$p" "$work/out" || fail "example_$name printed no line matching '$p'"
  done
}

# seed_image REPO:TAG: pushes a one-file artifact (an image manifest) there.
seed_image() {
  mkdir -p "$work/files"
  printf 'hello from the examples test\n' >"$work/files/hello.txt"
  "$coras" --plain-http push "$1" "$work/files/hello.txt" >"$work/out" 2>"$work/err" ||
    fail "coras push $1 failed"
}

digest='sha256:[0-9a-f]{64}'

case $name in
parse_reference)
  run_example localhost:5000/library/alpine:3.19
  expect '^registry: +localhost:5000$' '^tag: +3\.19$'
  ;;
oci_layout)
  run_example "$work/layout" v1 "hello from the examples test"
  expect "^wrote $digest as .*:v1" 'hello from the examples test'
  [ -f "$work/layout/oci-layout" ] || fail "no oci-layout file in $work/layout"
  ;;
http_ping)
  start_server
  run_example "$url"
  expect '^status 200$' '^callback: 200$' '^connections opened [0-9]+, reused [0-9]+'
  ;;
push_pull)
  start_server
  run_example "$reg" --plain-http --blobs 3 --size 100000
  expect "^pushed 3 blobs of 100000 bytes and manifest $digest as .*coras-demo/app:v1$" \
    '^pulled .*: 3 layers, each verified \(sha256\), 0 differing from what was pushed$'
  ;;
authenticated_pull)
  start_server
  seed_image "$reg/examples/app:v1"
  run_example "$reg/examples/app:v1" --plain-http
  expect "^$reg/examples/app:v1 is $digest " '^tokens fetched: 0$'
  ;;
copy_image)
  start_server
  seed_image "$reg/examples/app:v1"
  run_example "$reg/examples/app:v1" "$work/layout" --plain-http
  expect "^copying $digest " "^$digest: [1-9][0-9]* copied, "
  [ -f "$work/layout/index.json" ] || fail "no index.json in $work/layout"
  grep -q '"org.opencontainers.image.ref.name":"v1"' "$work/layout/index.json" ||
    fail "the layout's index.json does not tag v1"
  ;;
referrers)
  start_server
  seed_image "$reg/examples/app:v1"
  run_example "$reg/examples/app:v1" --plain-http
  expect "^attached $digest to $digest$" "^$digest application/spdx\+json$" \
    '^\(Referrers API\)$'
  ;;
pull_through_mirror)
  start_server
  seed_image "$reg/examples/app:v1"
  run_example "$reg" examples/app:v1 --plain-http
  expect '^mirror http://127\.0\.0\.1:[0-9]+ of http://' \
    "^8 clients pulled examples/app:v1 \($digest\): 2 blobs each, 2 fetched upstream$"
  ;;
resumable_download)
  start_server
  head -c $((3 * 1024 * 1024 + 17)) /dev/urandom >"$work/blob.bin"
  blob=sha256:$(sha "$work/blob.bin")
  "$coras" --plain-http blob put "$reg/examples/blobs" "$work/blob.bin" >"$work/out" \
    2>"$work/err" || fail "coras blob put failed"
  run_example "$reg/examples/blobs@$blob" "$work/blob.back" --plain-http
  expect ": $((3 * 1024 * 1024 + 17)) bytes, $blob$"
  cmp -s "$work/blob.bin" "$work/blob.back" || fail "the downloaded blob differs"
  ;;
serve_registry)
  [ -n "$ping" ] || fail "serve_registry needs PATH/TO/example_http_ping"
  "$example" >"$work/serve.out" 2>"$work/serve.err" &
  pid=$!
  for _ in $(seq 1 100); do
    grep -q '^serving ' "$work/serve.out" && break
    kill -0 "$pid" 2>/dev/null || fail "example_serve_registry exited"
    sleep 0.1
  done
  served=$(sed -n 's/^serving \([^ ]*\) .*/\1/p' "$work/serve.out")
  [[ "$served" == http://127.0.0.1:* ]] || fail "no serving line (got '$served')"
  "$ping" "$served" >"$work/out" 2>"$work/err" || fail "example_http_ping $served failed"
  expect '^status 200$'
  kill -INT "$pid"
  rc=0
  wait "$pid" || rc=$?
  cp "$work/serve.out" "$work/out"
  [ "$rc" -eq 0 ] || fail "example_serve_registry exited $rc on SIGINT"
  expect '^[1-9][0-9]* connections, [1-9][0-9]* requests$' '^  200 GET /v2/$'
  ;;
*)
  fail "no such example: $name"
  ;;
esac
stop_server || fail "coras serve did not exit 0 on SIGTERM"
echo "example_$name: ok"
