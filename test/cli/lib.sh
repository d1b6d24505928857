# Shared by the CLI tests (copy.sh, platforms.sh, smoke.sh, referrers.sh):
# the coras-serve fixture, and running coras with its output captured.
# The sourcing script sets `coras` (the binary) first; ONE_LINE_ERRORS=1 makes
# expect_error also require that stderr is that one line.
# shellcheck shell=bash source-path=SCRIPTDIR source=../fixtures/coras-serve.sh
source "$(dirname "${BASH_SOURCE[0]}")/../fixtures/coras-serve.sh"

# run WANT_STATUS ARGS...: runs coras with ARGS (stdin empty), stdout in
# $work/out, stderr in $work/err, and fails unless it exits with WANT_STATUS.
run() {
  local want=$1 rc=0
  shift
  "$coras" "$@" >"$work/out" 2>"$work/err" </dev/null || rc=$?
  [ "$rc" = "$want" ] || fail "coras $* exited $rc, expected $want"
}
# ok ARGS...: runs `coras --plain-http ARGS` and expects success.
ok() { run 0 --plain-http "$@"; }
# Expects exit 1 and a "coras: error: …" line on stderr.
expect_error() {
  run 1 --plain-http "$@"
  if [ "${ONE_LINE_ERRORS:-0}" = 1 ]; then
    [ "$(wc -l <"$work/err")" = 1 ] || fail "coras $*: stderr is not one line"
  fi
  grep -q '^coras: error: ' "$work/err" || fail "coras $*: no 'coras: error:' line"
}
# Expects exit 2 and the command's usage on stderr.
usage() {
  run 2 --plain-http "$@"
  grep -q '^usage: coras ' "$work/err" || fail "coras $*: usage error without the usage"
}
out() { cat "$work/out"; }
lines() { wc -l <"$work/out" | tr -d ' '; }
# py CODE ARGS...: runs python3 on $work/out (as sys.stdin) with ARGS as sys.argv[1:].
py() {
  local code=$1
  shift
  python3 -c "import json, sys
$code" "$@" <"$work/out" || fail "python check failed: $code"
}
is_digest() { [[ "$1" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "'$1' is not a digest"; }
