#!/usr/bin/env bash
# Smoke test of the coras client commands against `coras serve` on 127.0.0.1.
#
#   smoke.sh PATH/TO/coras
#
# Pushes a blob, a config and an image manifest, reads them back, tags, lists,
# mounts, deletes; checks exit codes (0 ok, 1 failure, 2 usage), the
# "coras: error:" line, --help on every command, -v request lines, and the TLS
# options (--ca-file, --insecure) against a second registry serving HTTPS.
set -euo pipefail

coras=${1:?usage: smoke.sh PATH/TO/coras}
coras=$(realpath "$coras")
ONE_LINE_ERRORS=1
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_tools sha256sum cmp

start_server
repo=$reg/smoke/app

# ---- text from outside never drives the terminal ----
# (a reference, like a registry's message or a Warning, is printed with its
# control characters shown as \xNN; cli/options.cpp one_line)
run 2 resolve $'127.0.0.1:1/repo:\x1b[31mred'
! grep -q $'\x1b' "$work/err" || fail "an escape character reached stderr"
grep -qF '\x1b[31mred' "$work/err" || fail "the escape character is not shown as \\x1b: $(cat "$work/err")"

# ---- blobs ----
head -c 300000 /dev/urandom >"$work/layer.bin"
layer=sha256:$(sha "$work/layer.bin")
ok blob put "$repo" "$work/layer.bin"
[ "$(out)" = "$layer" ] || fail "blob put printed '$(out)', expected $layer"

ok blob get "$repo@$layer" -o "$work/layer.back"
cmp -s "$work/layer.bin" "$work/layer.back" || fail "blob get -o FILE: bytes differ"
[ ! -e "$work/.coras-staging" ] || fail "blob get left its staging directory"
# Global options after the command name; -o - streams to stdout.
run 0 blob get "$repo@$layer" --plain-http -o -
cmp -s "$work/layer.bin" "$work/out" || fail "blob get -o -: bytes differ"

missing=sha256:$(printf 'not pushed' | sha256sum | cut -d' ' -f1)
expect_error blob get "$repo@$missing" -o "$work/missing.bin"
[ ! -e "$work/missing.bin" ] || fail "failed blob get created its file"
expect_error blob get "$repo@$missing" -o -
echo "blob put/get: ok"

# ---- manifests ----
printf '{}' >"$work/config.json"
ok blob put "$repo" "$work/config.json"
config=$(out)
[ "$config" = "sha256:$(sha "$work/config.json")" ] || fail "config digest $config"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":300000}]}' \
  "$config" "$layer" >"$work/manifest.json"
manifest=sha256:$(sha "$work/manifest.json")

ok manifest put "$repo:v1" "$work/manifest.json"  # media type from the JSON
[ "$(out)" = "$manifest" ] || fail "manifest put printed '$(out)', expected $manifest"
ok resolve "$repo:v1"
[ "$(out)" = "$manifest" ] || fail "resolve printed '$(out)', expected $manifest"
ok manifest get "$repo:v1" -o "$work/manifest.back"
cmp -s "$work/manifest.json" "$work/manifest.back" || fail "manifest get -o FILE: bytes differ"
# Written under a private name and renamed: a symbolic link at FILE is
# replaced, not written through, and no temporary file is left behind.
ln -s "$work/elsewhere" "$work/manifest.link"
ok manifest get "$repo:v1" -o "$work/manifest.link"
[ ! -L "$work/manifest.link" ] && [ ! -e "$work/elsewhere" ] || fail "manifest get -o wrote through a symbolic link"
cmp -s "$work/manifest.json" "$work/manifest.link" || fail "manifest get -o over a link: bytes differ"
! ls "$work" | grep -q '\.coras-.*\.tmp$' || fail "manifest get -o left a temporary file"
ok manifest get "$repo@$manifest"
cmp -s "$work/manifest.json" "$work/out" || fail "manifest get to stdout: bytes differ"

# Without a mediaType member: --media-type is needed (usage error without it).
sed 's/"mediaType":"application\/vnd.oci.image.manifest.v1+json",//' "$work/manifest.json" \
  >"$work/bare.json"
run 2 --plain-http manifest put "$repo:bare" "$work/bare.json"
grep -q 'mediaType' "$work/err" || fail "manifest put without a media type: unclear message"
ok manifest put "$repo:bare" "$work/bare.json" --media-type application/vnd.oci.image.manifest.v1+json
[ "$(out)" = "sha256:$(sha "$work/bare.json")" ] || fail "manifest put --media-type digest"
# By digest: the digest must be the file's.
ok manifest put "$repo@$manifest" "$work/manifest.json"
expect_error manifest put "$repo@$layer" "$work/manifest.json"
echo "manifest put/get, resolve: ok"

# ---- tags, repos ----
ok tag "$repo:v1" v2 latest
ok resolve "$repo:latest"
[ "$(out)" = "$manifest" ] || fail "tag: latest resolves to '$(out)'"
ok tags "$repo"
[ "$(out | tr '\n' ' ')" = "bare latest v1 v2 " ] || fail "tags listed '$(out | tr '\n' ' ')'"
ok repos "$reg"
out | grep -qx 'smoke/app' || fail "repos does not list smoke/app"
# Several tags go up in one PUT (coras serve creates ?tag= tags).
run 0 --plain-http -v tag "$repo:v1" v3 v4
[ "$(grep -c '^PUT ' "$work/err")" = 1 ] || fail "tag v3 v4: not one PUT: $(cat "$work/err")"
grep -q "^PUT http://$reg/v2/smoke/app/manifests/$manifest?tag=v3&tag=v4 201 " "$work/err" ||
  fail "tag v3 v4: no PUT by digest with ?tag=: $(cat "$work/err")"
ok resolve "$repo:v4"
[ "$(out)" = "$manifest" ] || fail "tag: v4 resolves to '$(out)'"
echo "tag, tags, repos: ok"

# ---- mount ----
ok blob mount --from smoke/app "$reg/smoke/other@$layer"
ok blob get "$reg/smoke/other@$layer" -o -
cmp -s "$work/layer.bin" "$work/out" || fail "blob get after mount: bytes differ"
ok blob mount --from "$reg/smoke/app" "$reg/smoke/third@$config"
ok blob get "$reg/smoke/third@$config" -o "$work/config.back"
cmp -s "$work/config.json" "$work/config.back" || fail "blob get after mount: config differs"
expect_error blob mount --from smoke/nothing "$reg/smoke/other@$layer"
ok repos "$reg"
out | grep -qx 'smoke/other' || fail "repos does not list smoke/other after the mount"
echo "blob mount: ok"

# ---- -v ----
run 0 -v --plain-http resolve "$repo:v1"
grep -Eq "^HEAD http://$reg/v2/smoke/app/manifests/v1 200 [0-9.]+ms$" "$work/err" ||
  fail "-v printed no request line"
[ "$(out)" = "$manifest" ] || fail "-v changed stdout"
run 0 --plain-http tags "$repo" -v
grep -q "^GET http://$reg/v2/smoke/app/tags/list 200 " "$work/err" || fail "-v after the command"
echo "-v: ok"

# ---- a hostile registry's names, and -v's secrets ----
# A registry (python) that lists tags, repositories and a referrer whose
# names carry terminal controls, and redirects every other request to
# `coras serve` with a pre-signed-looking query (X-Amz-Signature…).
python3 - "$reg" "$work/fake.port" <<'PY' >"$work/fake.log" 2>&1 &
import http.server, json, sys
target, port_file = sys.argv[1], sys.argv[2]
class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass
    def answer(self, body, media_type):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command == "GET":
            self.wfile.write(data)
    def do_HEAD(self):
        self.do_GET()
    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/v2/smoke/app/tags/list":
            self.answer({"name": "smoke/app", "tags": ["ok", "\x1b[31mred", "a\x07b"]},
                        "application/json")
        elif path == "/v2/_catalog":
            self.answer({"repositories": ["\x1b]0;owned\x07x"]}, "application/json")
        elif path.startswith("/v2/smoke/app/referrers/"):
            self.answer({"schemaVersion": 2,
                         "mediaType": "application/vnd.oci.image.index.v1+json",
                         "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json\u009b2J",
                                        "digest": "sha256:" + "a" * 64, "size": 10,
                                        "artifactType": "application/x\x1b[2Jevil"}]},
                        "application/vnd.oci.image.index.v1+json")
        else:
            self.send_response(307)
            self.send_header("Location", "http://" + target + path +
                             "?X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=topsecret&sig=s3cr3t&n=5")
            self.send_header("Content-Length", "0")
            self.end_headers()
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(port_file, "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
PY
fake_pid=$!
for _ in $(seq 1 100); do [ -s "$work/fake.port" ] && break; sleep 0.1; done
[ -s "$work/fake.port" ] || fail "the fake registry did not start: $(cat "$work/fake.log")"
fake=127.0.0.1:$(cat "$work/fake.port")
# no_controls WHAT: neither stdout nor stderr holds a control character
# (ESC, BEL, or the C1 CSI as UTF-8).
no_controls() {
  ! grep -q $'[\x1b\x07]' "$work/out" "$work/err" || fail "$1: a control character was printed"
  ! grep -q $'\xc2\x9b' "$work/out" "$work/err" || fail "$1: a C1 control was printed"
}
ok tags "$fake/smoke/app"
no_controls tags
[ "$(out | tr '\n' ' ')" = 'ok \x1b[31mred a\x07b ' ] || fail "tags printed '$(out)'"
ok repos "$fake"
no_controls repos
[ "$(out)" = '\x1b]0;owned\x07x' ] || fail "repos printed '$(out)'"
ok referrers "$fake/smoke/app@$manifest"
no_controls referrers
[ "$(out)" = "sha256:$(printf 'a%.0s' $(seq 64)) application/x\\x1b[2Jevil application/vnd.oci.image.manifest.v1+json\\x9b2J" ] ||
  fail "referrers printed '$(out)'"
# -v shows the redirect's URL with the values of secret parameters hidden.
run 0 -v --plain-http blob get "$fake/smoke/app@$layer" -o "$work/redirected.bin"
cmp -s "$work/layer.bin" "$work/redirected.bin" || fail "blob get through a redirect: bytes differ"
grep -qF 'X-Amz-Signature=…' "$work/err" || fail "-v did not show the redirected URL: $(cat "$work/err")"
grep -qF 'n=5' "$work/err" || fail "-v hid a parameter that is not secret: $(cat "$work/err")"
! grep -qE 'topsecret|s3cr3t|AKIAEXAMPLE' "$work/err" || fail "-v printed a secret: $(cat "$work/err")"
kill "$fake_pid"
wait "$fake_pid" 2>/dev/null || true
echo "hostile names, -v secrets: ok"

# ---- deletes ----
ok manifest delete "$repo:v2"  # by tag: resolved, deleted by digest, every tag goes
expect_error resolve "$repo:v1"
grep -q '404' "$work/err" || fail "resolve after delete: no 404 in '$(cat "$work/err")'"
ok resolve "$repo:bare"
ok manifest delete "$repo@$(out)"
expect_error manifest delete "$repo:bare"
ok blob delete "$repo@$layer"
expect_error blob get "$repo@$layer" -o -
expect_error blob delete "$repo@$layer"
ok blob get "$reg/smoke/other@$layer" -o - # the mounted copy stays
cmp -s "$work/layer.bin" "$work/out" || fail "mounted blob lost with its source"
echo "manifest delete, blob delete: ok"

# ---- help, usage errors, malformed references ----
for cmd in "" resolve manifest "manifest get" "manifest put" "manifest delete" blob "blob get" \
  "blob put" "blob delete" "blob mount" tags repos tag; do
  # shellcheck disable=SC2086
  run 0 $cmd --help
  grep -q '^usage: coras' "$work/out" || fail "coras $cmd --help printed no usage"
  [ ! -s "$work/err" ] || fail "coras $cmd --help wrote to stderr"
done
run 0 blob -h
run 0 manifest get -h
run 0 --help
out | grep -q 'blob mount' || fail "top-level usage lacks blob mount"

run 2
run 2 frobnicate
run 2 blob
run 2 blob frobnicate
run 2 blob get "$repo@$layer"          # no -o
grep -q '^usage: coras blob get' "$work/err" || fail "usage error without the usage"
run 2 resolve
run 2 resolve "$repo:v1" extra
run 2 tags "$repo" --frobnicate
run 2 tag "$repo:v1"
run 2 tag "$repo:v1" 'bad tag'
run 2 --ca-file
run 2 blob get "$repo:v1" -o -          # a tag where a digest is needed
run 2 blob put "$repo:v1" "$work/layer.bin"
run 2 repos 'not a registry'
run 2 --plain-http serve
run 2 resolve NotAReference
grep -q 'invalid reference "NotAReference"' "$work/err" || fail "malformed reference: unclear"
run 2 resolve "$reg/Smoke/App:v1"
grep -q 'upper-case' "$work/err" || fail "malformed repository: unclear"
run 2 blob get "$repo@sha256:1234" -o -
grep -q 'sha256 needs 64 hex' "$work/err" || fail "malformed digest: unclear"
expect_error blob put "$repo" "$work/no-such-file"
echo "help, usage errors: ok"
stop_server || fail "coras serve did not exit 0 on SIGTERM"

# ---- TLS: --ca-file and --insecure ----
if command -v openssl >/dev/null; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1" \
    -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null || fail "openssl req"
  start_server --tls-cert "$work/tls.crt" --tls-key "$work/tls.key"
  grep -q '^listening on https://' "$work/serve.log" || fail "TLS server did not say https"
  run 0 --ca-file "$work/tls.crt" blob put "$reg/tls/app" "$work/config.json"
  [ "$(out)" = "$config" ] || fail "blob put over TLS printed '$(out)'"
  run 1 blob get "$reg/tls/app@$config" -o -  # not trusted without --ca-file
  grep -q '^coras: error: ' "$work/err" || fail "untrusted TLS: no error line"
  run 0 blob get "$reg/tls/app@$config" -o - --ca-file="$work/tls.crt"
  cmp -s "$work/config.json" "$work/out" || fail "blob get over TLS differs"
  run 0 --insecure blob get "$reg/tls/app@$config" -o -
  cmp -s "$work/config.json" "$work/out" || fail "blob get --insecure differs"
  run 1 --ca-file "$work/no-such.pem" repos "$reg"
  stop_server || fail "coras serve (TLS) did not exit 0 on SIGTERM"
  echo "TLS options: ok"
fi
echo "PASS"
