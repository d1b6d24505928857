#!/usr/bin/env bash
# Interop: skopeo pulling through `coras serve --mirror`, with Debian's
# docker-registry (distribution 2.8) as the upstream, on 127.0.0.1 only.
#
#   skopeo_mirror.sh PATH/TO/coras
#
# Runs itself under test/fixtures/with-docker-registry plain. skopeo pushes a
# small OCI image (a real gzip layer) to docker-registry; then pulls it from
# the mirror, twice, in parallel four times, and compares every blob; the
# mirror's GET /metrics shows each of the two blobs fetched upstream once
# (coras_mirror_upstream_fetches_total 2) and the later pulls served from
# its store (hits). skopeo's push to the mirror is refused, and the mirror's
# tag listing is docker-registry's. Exit 77 (skipped) when skopeo or
# docker-registry is missing.
set -euo pipefail

coras=${1:?usage: skopeo_mirror.sh PATH/TO/coras}
coras=$(realpath "$coras")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

for tool in skopeo docker-registry curl; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
if [ -z "${CORAS_TEST_REGISTRY:-}" ]; then
  exec "$here/../fixtures/with-docker-registry" plain -- bash "${BASH_SOURCE[0]}" "$coras"
fi
[ "$CORAS_TEST_SCHEME" = http ] || { echo "FAIL: needs the plain mode" >&2; exit 1; }
upstream=$CORAS_TEST_REGISTRY

# shellcheck source-path=SCRIPTDIR source=../fixtures/coras-serve.sh
source "$here/../fixtures/coras-serve.sh"
require_tools sha256sum tar gzip cmp

cat >"$work/policy.json" <<'JSON'
{"default":[{"type":"insecureAcceptAnything"}]}
JSON
skopeo_() { skopeo --policy "$work/policy.json" "$@"; }

# ---- a small OCI image layout, by hand ----
layout=$work/layout
mkdir -p "$layout/blobs/sha256" "$work/rootfs"
head -c 200000 /dev/urandom | base64 >"$work/rootfs/random.txt"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/rootfs" -cf "$work/layer.tar" .
gzip -n <"$work/layer.tar" >"$work/layer.tar.gz"
diff_id=$(sha "$work/layer.tar")
layer=$(sha "$work/layer.tar.gz")
cp "$work/layer.tar.gz" "$layout/blobs/sha256/$layer"
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
  "$diff_id" >"$work/config.json"
config=$(sha "$work/config.json")
cp "$work/config.json" "$layout/blobs/sha256/$config"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
  "$config" "$(stat -c %s "$work/config.json")" "$layer" "$(stat -c %s "$work/layer.tar.gz")" >"$work/manifest.json"
manifest=$(sha "$work/manifest.json")
cp "$work/manifest.json" "$layout/blobs/sha256/$manifest"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"v1"}}]}' \
  "$manifest" "$(stat -c %s "$work/manifest.json")" >"$layout/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"

name=mirror/app-$$
skopeo_ copy -q --dest-tls-verify=false --preserve-digests \
  "oci:$layout:v1" "docker://$upstream/$name:v1" || fail "skopeo push to docker-registry"

# A 64 KiB flight window: skopeo's pulls cross it (the blobs are larger).
start_server --mirror "http://$upstream" --registry-config "$work/no-config.json" \
  --mirror-flight-buffer 65536
echo "mirror of $upstream at $url"

pull() {
  local out=$1 d
  rm -rf "$out"
  skopeo_ copy -q --src-tls-verify=false --preserve-digests \
    "docker://$reg/$name:v1" "oci:$out:v1" >"$work/out" 2>"$work/err" || fail "skopeo pull through the mirror"
  for d in "$manifest" "$config" "$layer"; do
    cmp -s "$layout/blobs/sha256/$d" "$out/blobs/sha256/$d" || fail "sha256:$d differs after a pull through the mirror"
  done
}
metric() { curl -sf "$url/metrics" | sed -n "s/^coras_mirror_$1 //p"; }

pull "$work/pull1"
[ "$(metric upstream_fetches_total)" = 2 ] || fail "upstream fetches after one pull: $(metric upstream_fetches_total)"
pull "$work/pull2"
pids=()
for i in 1 2 3 4; do pull "$work/par$i" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p" || fail "a parallel pull failed"; done
[ "$(metric upstream_fetches_total)" = 2 ] || fail "upstream fetches after six pulls: $(metric upstream_fetches_total)"
hits=$(metric hits_total)
[ "$hits" -ge 10 ] || fail "hits after six pulls: $hits"
echo "skopeo through the mirror: 6 pulls, 2 upstream blob fetches, $hits hits"

tags=$(skopeo_ list-tags --tls-verify=false "docker://$reg/$name")
echo "$tags" | grep -q '"v1"' || fail "list-tags through the mirror: $tags"

if skopeo_ copy -q --dest-tls-verify=false "oci:$layout:v1" "docker://$reg/pushed:v1" >"$work/out" 2>"$work/err"; then
  fail "skopeo push to the mirror succeeded"
fi
code=$(curl -s -o "$work/out" -w '%{http_code}' -X POST "$url/v2/pushed/blobs/uploads/")
[ "$code" = 405 ] || fail "POST upload to the mirror answered $code"
grep -q 'allow_push' "$work/out" || fail "the refusal does not name the option"

stop_server || fail "coras serve --mirror did not exit 0 on SIGTERM"
echo "ok"
