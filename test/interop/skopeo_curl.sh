#!/usr/bin/env bash
# Interop: `coras serve` against skopeo and curl, on 127.0.0.1 only.
#
#   skopeo_curl.sh PATH/TO/coras
#
# Builds a small OCI image layout by hand (a real gzip layer, config, manifest,
# index.json, oci-layout), pushes it with skopeo, pulls it back with skopeo and
# checks every blob is byte-identical; then uploads blobs with curl
# (monolithic POST, POST+PUT, POST+PATCH+PUT) and reads them back; restarts the
# registry on the same --root and pulls again; finally pushes and pulls over
# TLS with token auth (skopeo trusting the certificate through --*-cert-dir).
set -euo pipefail

coras=${1:?usage: skopeo_curl.sh PATH/TO/coras}
coras=$(realpath "$coras")
# shellcheck source-path=SCRIPTDIR source=../fixtures/coras-serve.sh
source "$(dirname "${BASH_SOURCE[0]}")/../fixtures/coras-serve.sh"
require_tools skopeo curl python3 sha256sum tar gzip

# skopeo's trust policy, so the host's /etc/containers does not matter.
cat >"$work/policy.json" <<'JSON'
{"default":[{"type":"insecureAcceptAnything"}]}
JSON
skopeo_() { skopeo --policy "$work/policy.json" "$@"; }

# ---- a small OCI image layout, by hand ----
layout=$work/layout
mkdir -p "$layout/blobs/sha256" "$work/rootfs/etc"
echo "hello from coras interop" >"$work/rootfs/hello.txt"
head -c 65536 /dev/urandom | base64 >"$work/rootfs/etc/random.txt"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/rootfs" -cf "$work/layer.tar" .
gzip -n -9 <"$work/layer.tar" >"$work/layer.tar.gz"
diff_id=$(sha "$work/layer.tar")
layer=$(sha "$work/layer.tar.gz")
layer_size=$(stat -c %s "$work/layer.tar.gz")
cp "$work/layer.tar.gz" "$layout/blobs/sha256/$layer"

printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["/hello.txt"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
  "$diff_id" >"$work/config.json"
config=$(sha "$work/config.json")
config_size=$(stat -c %s "$work/config.json")
cp "$work/config.json" "$layout/blobs/sha256/$config"

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
  "$config" "$config_size" "$layer" "$layer_size" >"$work/manifest.json"
manifest=$(sha "$work/manifest.json")
manifest_size=$(stat -c %s "$work/manifest.json")
cp "$work/manifest.json" "$layout/blobs/sha256/$manifest"

printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"v1"}}]}' \
  "$manifest" "$manifest_size" >"$layout/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"

start_server --root "$work/root"
echo "registry at $url"

# ---- skopeo push, then pull back ----
skopeo_ copy -q --dest-tls-verify=false --preserve-digests \
  "oci:$layout:v1" "docker://$reg/interop/app:v1" || fail "skopeo push"

got=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  "http://$reg/v2/interop/app/manifests/v1" | sha256sum | cut -d' ' -f1)
[ "$got" = "$manifest" ] || fail "pushed manifest is sha256:$got, expected sha256:$manifest"
[ -f "$work/root/blobs/sha256/$layer" ] || fail "layer not stored under --root"

tags=$(skopeo_ list-tags --tls-verify=false "docker://$reg/interop/app")
echo "$tags" | grep -q '"v1"' || fail "list-tags: $tags"

pull() {
  local out=$1 blob_digest
  rm -rf "$out"
  skopeo_ copy -q --src-tls-verify=false --preserve-digests \
    "docker://$reg/interop/app:v1" "oci:$out:v1" || fail "skopeo pull"
  for blob_digest in "$manifest" "$config" "$layer"; do
    local f=$out/blobs/sha256/$blob_digest
    [ -f "$f" ] || fail "pulled layout lacks sha256:$blob_digest"
    cmp -s "$layout/blobs/sha256/$blob_digest" "$f" || fail "sha256:$blob_digest differs after pull"
    [ "$(sha "$f")" = "$blob_digest" ] || fail "sha256:$blob_digest does not hash to its name"
  done
}
pull "$work/out"
echo "skopeo push/pull: blobs identical"

# ---- curl uploads ----
blob=$work/blob.bin
head -c 3000000 /dev/urandom >"$blob"
d=$(sha "$blob")

# Monolithic POST ?digest= with the body.
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/octet-stream' \
  --data-binary @"$blob" "http://$reg/v2/interop/curl/blobs/uploads/?digest=sha256:$d")
[ "$code" = 201 ] || fail "monolithic POST answered $code"
curl -sf -o "$work/blob.back" "http://$reg/v2/interop/curl/blobs/sha256:$d" || fail "GET blob"
[ "$(sha "$work/blob.back")" = "$d" ] || fail "GET after monolithic POST returned other bytes"

# POST then PUT ?digest= with the body.
head -c 100000 /dev/urandom >"$work/blob2.bin"
d2=$(sha "$work/blob2.bin")
location=$(curl -s -D - -o /dev/null -X POST "http://$reg/v2/interop/curl/blobs/uploads/" |
  tr -d '\r' | sed -n 's/^Location: //Ip')
[ -n "$location" ] || fail "POST gave no Location"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/octet-stream' \
  --data-binary @"$work/blob2.bin" "http://$reg$location?digest=sha256:$d2")
[ "$code" = 201 ] || fail "PUT answered $code"
curl -sf "http://$reg/v2/interop/curl/blobs/sha256:$d2" | cmp -s - "$work/blob2.bin" || fail "GET after POST+PUT"

# POST, PATCH two chunks with Content-Range, PUT without body.
head -c 70000 "$blob" >"$work/part1"
tail -c +70001 "$blob" >"$work/part2"
location=$(curl -s -D - -o /dev/null -X POST "http://$reg/v2/interop/chunked/blobs/uploads/" |
  tr -d '\r' | sed -n 's/^Location: //Ip')
location=$(curl -s -D - -o /dev/null -X PATCH -H 'Content-Type: application/octet-stream' \
  -H 'Content-Range: 0-69999' --data-binary @"$work/part1" "http://$reg$location" |
  tr -d '\r' | sed -n 's/^Location: //Ip')
[ -n "$location" ] || fail "PATCH gave no Location"
range=$(curl -s -D - -o /dev/null "http://$reg$location" | tr -d '\r' | sed -n 's/^Range: //Ip')
[ "$range" = "0-69999" ] || fail "upload status Range is '$range'"
last=$((3000000 - 1))
location=$(curl -s -D - -o /dev/null -X PATCH -H 'Content-Type: application/octet-stream' \
  -H "Content-Range: 70000-$last" --data-binary @"$work/part2" "http://$reg$location" |
  tr -d '\r' | sed -n 's/^Location: //Ip')
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "http://$reg$location?digest=sha256:$d")
[ "$code" = 201 ] || fail "final PUT answered $code"
curl -sf "http://$reg/v2/interop/chunked/blobs/sha256:$d" | cmp -s - "$blob" || fail "GET after chunked upload"

# A wrong digest is refused.
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary 'not it' \
  "http://$reg/v2/interop/curl/blobs/uploads/?digest=sha256:$d2")
[ "$code" = 400 ] || fail "wrong digest answered $code"

# Range read.
curl -sf -H 'Range: bytes=10-19' "http://$reg/v2/interop/curl/blobs/sha256:$d" >"$work/range"
[ "$(stat -c %s "$work/range")" = 10 ] && cmp -s "$work/range" <(tail -c +11 "$blob" | head -c 10) ||
  fail "range read"
echo "curl uploads: ok"

# ---- restart on the same root, pull again ----
stop_server || fail "coras serve did not exit 0 on SIGTERM"
start_server --root "$work/root"
echo "registry at $url"
pull "$work/out2"
curl -sf "http://$reg/v2/interop/chunked/blobs/sha256:$d" | cmp -s - "$blob" || fail "blob lost on restart"
echo "restart: content kept"
stop_server || fail "coras serve did not exit 0 on SIGTERM"

# ---- TLS: skopeo trusts a private certificate through --*-cert-dir ----
if command -v openssl >/dev/null; then
  mkdir -p "$work/certs"
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$work/tls.key" -out "$work/certs/ca.crt" \
    2>/dev/null || fail "openssl req"
  start_server --tls-cert "$work/certs/ca.crt" --tls-key "$work/tls.key" --token-auth user:pass
  echo "registry at $url"
  grep -q '^listening on https://' "$work/serve.log" || fail "TLS server did not say https"
  skopeo_ copy -q --dest-cert-dir "$work/certs" --dest-creds user:pass --preserve-digests \
    "oci:$layout:v1" "docker://$reg/tls/app:v1" || fail "skopeo push over TLS with token auth"
  rm -rf "$work/out3"
  skopeo_ copy -q --src-cert-dir "$work/certs" --src-creds user:pass --preserve-digests \
    "docker://$reg/tls/app:v1" "oci:$work/out3:v1" || fail "skopeo pull over TLS"
  cmp -s "$layout/blobs/sha256/$layer" "$work/out3/blobs/sha256/$layer" || fail "TLS pull differs"
  code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$work/certs/ca.crt" \
    "https://$reg/v2/tls/app/manifests/v1")
  [ "$code" = 401 ] || fail "anonymous TLS GET answered $code"
  stop_server || fail "coras serve (TLS) did not exit 0 on SIGTERM"
  echo "TLS + token auth: ok"
fi
echo "PASS"
