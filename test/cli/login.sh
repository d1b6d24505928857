#!/usr/bin/env bash
# login, logout and the credential options against `coras serve --basic-auth`
# on 127.0.0.1.
#
#   login.sh PATH/TO/coras
#
# Anonymous access fails; -u with --password-stdin works for any command;
# `coras login` checks the credential, then stores it in the docker config
# file (mode 600) that later commands read without -u (by --registry-config
# or $DOCKER_CONFIG); a wrong password stores nothing; `coras logout` takes it
# out; the same through a fake credential helper (credsStore) on PATH; usage
# errors; no password in any output.
set -euo pipefail

coras=${1:?usage: login.sh PATH/TO/coras}
coras=$(realpath "$coras")
# shellcheck source-path=SCRIPTDIR source=../fixtures/coras-serve.sh
source "$(dirname "${BASH_SOURCE[0]}")/../fixtures/coras-serve.sh"
require_tools sha256sum base64 stat

# Whatever the machine's user has stored must not take part.
export HOME=$work/home
unset DOCKER_CONFIG
mkdir -p "$HOME"

# run WANT_STATUS STDIN ARGS...: runs `coras --plain-http ARGS` with STDIN on
# its stdin, stdout in $work/out, stderr in $work/err.
run() {
  local want=$1 input=$2 rc=0
  shift 2
  printf '%s' "$input" | "$coras" --plain-http "$@" >"$work/out" 2>"$work/err" || rc=$?
  [ "$rc" = "$want" ] || fail "coras $* exited $rc, expected $want"
  # The password never shows, whatever happened.
  ! grep -q 's3cret' "$work/out" "$work/err" || fail "coras $*: the password was printed"
}
ok() { run 0 '' "$@"; }
expect_error() {
  run 1 '' "$@"
  [ "$(wc -l <"$work/err")" = 1 ] || fail "coras $*: stderr is not one line"
  grep -q '^coras: error: ' "$work/err" || fail "coras $*: no 'coras: error:' line"
}
expect_usage() { run 2 "${STDIN:-}" "$@"; }
mode() { stat -c %a "$1"; }

start_server --basic-auth alice:s3cret
repo=$reg/login/app
config=$work/docker/config.json
auth=$(printf 'alice:s3cret' | base64)
printf 'layer bytes' >"$work/layer.bin"
layer=sha256:$(sha256sum "$work/layer.bin" | cut -d' ' -f1)

# ---- anonymous, then -u on the command line ----
expect_error blob put "$repo" "$work/layer.bin" --registry-config "$config"
grep -qi 'unauthorized\|401' "$work/err" || fail "anonymous push: no 401 in the message"
expect_error tags "$repo" --registry-config "$config"
run 0 's3cret' -u alice --password-stdin blob put "$repo" "$work/layer.bin"
[ "$(cat "$work/out")" = "$layer" ] || fail "blob put with -u printed '$(cat "$work/out")'"
run 0 '' -u alice -p s3cret blob get "$repo@$layer" -o "$work/layer.back"
cmp -s "$work/layer.bin" "$work/layer.back" || fail "blob get with -u -p: bytes differ"
run 1 'wrong' -u alice --password-stdin blob get "$repo@$layer" -o -
[ ! -e "$config" ] || fail "a command with -u wrote the config file"
echo "anonymous, -u: ok"

# ---- login, then commands without -u ----
run 0 $'s3cret\n' login "$reg" -u alice --password-stdin --registry-config "$config"
[ "$(cat "$work/out")" = "Login Succeeded" ] || fail "login printed '$(cat "$work/out")'"
[ "$(mode "$config")" = 600 ] || fail "config mode $(mode "$config"), expected 600"
[ "$(mode "$work/docker")" = 700 ] || fail "config directory mode $(mode "$work/docker")"
grep -q "\"$reg\"" "$config" || fail "no auths entry for $reg"
grep -q "\"auth\": \"$auth\"" "$config" || fail "the entry's auth is not base64 alice:s3cret"

ok blob get "$repo@$layer" -o - --registry-config "$config"
cmp -s "$work/layer.bin" "$work/out" || fail "blob get after login: bytes differ"
ok repos "$reg" --registry-config "$config"
grep -qx 'login/app' "$work/out" || fail "repos after login does not list login/app"
# $DOCKER_CONFIG names the directory when --registry-config is not given.
DOCKER_CONFIG=$work/docker ok -v repos "$reg"
grep -qx 'login/app' "$work/out" || fail "repos with DOCKER_CONFIG does not list login/app"
grep -q "GET http://$reg/v2/_catalog.* 200" "$work/err" || fail "-v shows no successful catalog request"
! grep -qi 'authorization\|YWxpY2' "$work/err" || fail "-v shows credentials"
# Other members of the file survive a login.
printf '{"auths": {"other.example": {"auth": "b3RoZXI6cHc="}}, "experimental": "enabled"}\n' \
  >"$work/docker/kept.json"
run 0 's3cret' login "$reg" -u alice --password-stdin --registry-config "$work/docker/kept.json"
grep -q '"other.example"' "$work/docker/kept.json" || fail "login dropped another registry"
grep -q '"experimental": "enabled"' "$work/docker/kept.json" || fail "login dropped a member"
echo "login: ok"

# ---- a wrong password stores nothing ----
cp "$config" "$work/config.before"
run 1 'wrong' login "$reg" -u alice --password-stdin --registry-config "$config"
grep -q '^coras: error: login to ' "$work/err" || fail "failed login: unclear message"
cmp -s "$config" "$work/config.before" || fail "failed login changed the config file"
run 1 'wrong' login "$reg" -u alice --password-stdin --registry-config "$work/never.json"
[ ! -e "$work/never.json" ] || fail "failed login created a config file"
# -p works, with a warning.
run 0 '' login "$reg" -u alice -p s3cret --registry-config "$work/p.json"
grep -q '^coras: warning: -p ' "$work/err" || fail "login -p: no warning about the process list"
echo "failed login, -p: ok"

# ---- usage errors ----
expect_usage login "$reg" --registry-config "$config"
grep -q -- '-u USER is required' "$work/err" || fail "login without -u: unclear message"
expect_usage login "$reg" -u alice --registry-config "$config"
STDIN=s3cret expect_usage login "$reg" -u alice -p s3cret --password-stdin
expect_usage login "$reg" -u alice --password-stdin
grep -q 'no password' "$work/err" || fail "login with an empty stdin: unclear message"
expect_usage login "https://$reg" -u alice -p s3cret
expect_usage login -u alice -p s3cret
expect_usage tags "$repo" -p s3cret
expect_usage tags "$repo" -u alice
expect_usage logout "$reg" -u alice
run 0 '' login --help
grep -q 'usage: coras login REGISTRY' "$work/out" || fail "login --help"
echo "usage errors: ok"

# ---- logout ----
ok logout "$reg" --registry-config "$config"
! grep -q "\"$reg\"" "$config" || fail "logout left the entry"
[ "$(mode "$config")" = 600 ] || fail "config mode $(mode "$config") after logout"
expect_error repos "$reg" --registry-config "$config"
expect_error logout "$reg" --registry-config "$config"
grep -q 'not logged in' "$work/err" || fail "second logout: unclear message"
expect_error logout "$reg" --registry-config "$work/absent.json"
echo "logout: ok"

# ---- a credential helper (credsStore) ----
mkdir -p "$work/bin" "$work/helper"
cat >"$work/bin/docker-credential-coras-fake" <<'EOF'
#!/usr/bin/env bash
# Keeps one credential per server URL as the JSON `store` was given.
dir=${CORAS_FAKE_HELPER_DIR:?}
input=$(cat)
echo "$1" >>"$dir/calls"
case "$1" in
  store)
    url=$(printf '%s' "$input" | sed 's/.*"ServerURL":"\([^"]*\)".*/\1/')
    printf '%s' "$input" >"$dir/$(printf '%s' "$url" | base64 | tr / _)" ;;
  get)
    f="$dir/$(printf '%s' "$input" | base64 | tr / _)"
    [ -f "$f" ] || { echo "credentials not found in native keychain"; exit 1; }
    cat "$f" ;;
  erase)
    f="$dir/$(printf '%s' "$input" | base64 | tr / _)"
    [ -f "$f" ] || { echo "credentials not found in native keychain"; exit 1; }
    rm "$f" ;;
  *) echo "unknown action $1"; exit 1 ;;
esac
EOF
chmod +x "$work/bin/docker-credential-coras-fake"
export PATH=$work/bin:$PATH CORAS_FAKE_HELPER_DIR=$work/helper
helper_config=$work/helper.json
printf '{"credsStore": "coras-fake"}\n' >"$helper_config"

expect_error repos "$reg" --registry-config "$helper_config"  # the helper has nothing yet
run 0 's3cret' login "$reg" -u alice --password-stdin --registry-config "$helper_config"
[ "$(cat "$work/out")" = "Login Succeeded" ] || fail "login with a helper printed '$(cat "$work/out")'"
grep -qx store "$work/helper/calls" || fail "login did not call the helper's store"
! grep -q 'auth"' "$helper_config" || fail "login with a helper wrote the credential to the file"
ok repos "$reg" --registry-config "$helper_config"
grep -qx 'login/app' "$work/out" || fail "repos through the helper does not list login/app"
grep -qx get "$work/helper/calls" || fail "the helper's get was not called"
ok logout "$reg" --registry-config "$helper_config"
grep -qx erase "$work/helper/calls" || fail "logout did not call the helper's erase"
expect_error repos "$reg" --registry-config "$helper_config"
expect_error logout "$reg" --registry-config "$helper_config"
# A helper that is not there is named in the error.
printf '{"credsStore": "coras-absent"}\n' >"$work/absent-helper.json"
expect_error repos "$reg" --registry-config "$work/absent-helper.json"
grep -q 'docker-credential-coras-absent' "$work/err" || fail "missing helper: not named"
echo "credential helper: ok"

stop_server || true  # its exit status is not checked here
echo "PASS"
