#!/usr/bin/env bash
# Interop: `coras copy` against skopeo 1.9 and Debian's docker-registry
# (distribution 2.8) in plain-HTTP mode, on 127.0.0.1 only.
#
#   skopeo_copy.sh PATH/TO/coras
#
# Runs itself under test/fixtures/with-docker-registry plain. skopeo pushes a
# three-layer image (an OCI layout made here: real gzip layers) and a
# two-platform index; coras copies the image to an OCI layout and to a
# second repository, and skopeo reads both back with the manifest digest
# unchanged; skopeo pushes the layout coras wrote to a third repository and
# `coras resolve` sees the same digest. A second copy moves no blob; a copy
# between two repositories mounts every blob; --platform picks one manifest
# of the index (by default this machine's; --all-platforms copies the whole
# index). Exit 77 (skipped) when skopeo or docker-registry is missing.
set -euo pipefail

coras=${1:?usage: skopeo_copy.sh PATH/TO/coras}
coras=$(realpath "$coras")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

for tool in skopeo docker-registry; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
if [ -z "${CORAS_TEST_REGISTRY:-}" ]; then
  exec "$here/../fixtures/with-docker-registry" plain -- bash "${BASH_SOURCE[0]}" "$coras"
fi
[ "$CORAS_TEST_SCHEME" = http ] || { echo "FAIL: needs the plain mode" >&2; exit 1; }
reg=$CORAS_TEST_REGISTRY

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() {
  echo "FAIL: $*" >&2
  local f
  for f in out err; do
    if [ -s "$work/$f" ]; then sed "s/^/  $f: /" "$work/$f" >&2; fi
  done
  exit 1
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
now() { date +%s.%N; }
# took START: seconds since START, 3 decimals.
took() { python3 -c 'import sys, time; print("%.3f" % (time.time() - float(sys.argv[1])))' "$1"; }

# coras_ ARGS...: coras --plain-http ARGS, stdout in $work/out, stderr in
# $work/err; fails unless it exits 0.
coras_() {
  "$coras" --plain-http "$@" >"$work/out" 2>"$work/err" </dev/null || fail "coras $* exited $?"
}
out() { cat "$work/out"; }

cat >"$work/policy.json" <<'JSON'
{"default":[{"type":"insecureAcceptAnything"}]}
JSON
skopeo_() { skopeo --policy "$work/policy.json" "$@"; }
# raw_digest IMAGE [OPTIONS...]: the digest of the manifest skopeo reads for IMAGE.
raw_digest() {
  local image=$1
  shift
  skopeo_ inspect --raw "$@" "$image" >"$work/raw" || fail "skopeo inspect --raw $image"
  echo "sha256:$(sha "$work/raw")"
}

# ---- an OCI layout: an image of three gzip layers (v1), and an index of two
# platforms (multi) ----
layout=$work/layout
python3 - "$layout" >"$work/digests" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile

root = sys.argv[1]
blobs = os.path.join(root, "blobs", "sha256")
os.makedirs(blobs)

def put(data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, d), "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)

def layer(name, size):
    # A tar of one file of random bytes, gzip'd with stored blocks: a real
    # gzip stream (skopeo keeps it as is), cheap to make.
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        info = tarfile.TarInfo(name)
        info.size = size
        info.mtime = 0
        t.addfile(info, io.BytesIO(os.urandom(size)))
    tar = raw.getvalue()
    gz = gzip.compress(tar, compresslevel=0, mtime=0)
    digest, length = put(gz)
    return {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest,
            "size": length}, "sha256:" + hashlib.sha256(tar).hexdigest()

def image(arch, layers):
    descs, diff_ids = zip(*layers)
    config = json.dumps({"architecture": arch, "os": "linux",
                         "config": {"Cmd": ["/bin/true"]},
                         "rootfs": {"type": "layers", "diff_ids": list(diff_ids)}},
                        separators=(",", ":")).encode()
    cd, cs = put(config)
    m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                               "digest": cd, "size": cs},
                    "layers": list(descs)}, separators=(",", ":")).encode()
    md, ms = put(m)
    return {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms}

big = [layer("big.bin", 24 << 20), layer("mid.bin", 4 << 20), layer("small.bin", 64 << 10)]
v1 = image("amd64", big)
amd = image("amd64", [layer("amd.bin", 1 << 20)])
arm = image("arm64", [layer("arm.bin", 1 << 20)])
index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                    "manifests": [dict(amd, platform={"architecture": "amd64", "os": "linux"}),
                                  dict(arm, platform={"architecture": "arm64", "os": "linux",
                                                      "variant": "v8"})]},
                   separators=(",", ":")).encode()
idx, idx_size = put(index)

top = {"schemaVersion": 2, "manifests": [
    dict(v1, annotations={"org.opencontainers.image.ref.name": "v1"}),
    {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": idx, "size": idx_size,
     "annotations": {"org.opencontainers.image.ref.name": "multi"}}]}
with open(os.path.join(root, "index.json"), "w") as f:
    json.dump(top, f)
with open(os.path.join(root, "oci-layout"), "w") as f:
    f.write('{"imageLayoutVersion":"1.0.0"}')
print(v1["digest"], idx, amd["digest"], arm["digest"])
PY
read -r manifest index amd arm <"$work/digests"
echo "registry at $reg; image $manifest, index $index"

# ---- skopeo pushes the image and the index ----
skopeo_ copy -q --dest-tls-verify=false --preserve-digests \
  "oci:$layout:v1" "docker://$reg/interop/src:v1" || fail "skopeo push of the image"
skopeo_ copy -q --all --dest-tls-verify=false --preserve-digests \
  "oci:$layout:multi" "docker://$reg/interop/multi:v1" || fail "skopeo push of the index"
[ "$(raw_digest "docker://$reg/interop/src:v1" --tls-verify=false)" = "$manifest" ] ||
  fail "skopeo pushed another manifest"

# ---- coras copy: registry -> OCI layout, registry -> second repository ----
start=$(now)
coras_ copy "$reg/interop/src:v1" "oci:$work/coras-layout:v1" --format json
echo "coras copy registry -> oci: $(took "$start") s"
python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["digest"] == sys.argv[2] and r["copied"] == 5 and r["skipped"] == 0, r
assert r["bytes"] > 28 << 20, r
' "$work/out" "$manifest" || fail "copy to oci: JSON $(out)"

start=$(now)
coras_ -v copy "$reg/interop/src:v1" "$reg/interop/second:v1"
echo "coras copy registry -> second repository (mounts): $(took "$start") s"
[ "$(out)" = "$manifest" ] || fail "copy to a second repository printed $(out)"
[ "$(grep -c "^POST http://$reg/v2/interop/second/blobs/uploads/?mount=.*&from=interop%2Fsrc 201 " \
  "$work/err")" = 4 ] || fail "-v does not show 4 mounts (201)"
if grep -E '^(GET|PUT|PATCH) .*/blobs/' "$work/err"; then fail "a mounting copy moved blob bytes"; fi

# skopeo reads both back, digests unchanged.
[ "$(raw_digest "oci:$work/coras-layout:v1")" = "$manifest" ] ||
  fail "skopeo reads another manifest from the layout coras wrote"
[ "$(raw_digest "docker://$reg/interop/second:v1" --tls-verify=false)" = "$manifest" ] ||
  fail "skopeo reads another manifest from the second repository"
skopeo_ copy -q --preserve-digests "oci:$work/coras-layout:v1" "oci:$work/skopeo-a:v1" ||
  fail "skopeo copy of the layout coras wrote"
skopeo_ copy -q --src-tls-verify=false --preserve-digests \
  "docker://$reg/interop/second:v1" "oci:$work/skopeo-b:v1" || fail "skopeo pull of second"
for f in "$layout"/blobs/sha256/*; do
  name=$(basename "$f")
  if [ -f "$work/coras-layout/blobs/sha256/$name" ]; then
    cmp -s "$f" "$work/coras-layout/blobs/sha256/$name" || fail "coras-layout: $name differs"
    cmp -s "$f" "$work/skopeo-a/blobs/sha256/$name" || fail "skopeo-a: $name differs"
    cmp -s "$f" "$work/skopeo-b/blobs/sha256/$name" || fail "skopeo-b: $name differs"
  fi
done
[ "$(find "$work/coras-layout/blobs/sha256" -type f | wc -l)" = 5 ] ||
  fail "the coras layout holds $(find "$work/coras-layout/blobs/sha256" -type f | wc -l) blobs, not 5"
echo "skopeo reads what coras copied: same digests"

# ---- the other way: skopeo pushes the layout coras wrote ----
skopeo_ copy -q --dest-tls-verify=false --preserve-digests \
  "oci:$work/coras-layout:v1" "docker://$reg/interop/third:v1" || fail "skopeo push of the coras layout"
coras_ resolve "$reg/interop/third:v1"
[ "$(out)" = "$manifest" ] || fail "third:v1 resolves to $(out), not $manifest"
# and coras copies a layout into the registry, which skopeo reads.
start=$(now)
coras_ copy "oci:$layout:v1" "$reg/interop/fourth"
echo "coras copy oci -> registry: $(took "$start") s"
[ "$(raw_digest "docker://$reg/interop/fourth:v1" --tls-verify=false)" = "$manifest" ] ||
  fail "skopeo reads another manifest from fourth"
echo "coras reads what skopeo pushed: same digest"

# ---- a second copy moves no blob ----
start=$(now)
coras_ -v copy "$reg/interop/src:v1" "oci:$work/coras-layout:v1" --format json
echo "second coras copy registry -> oci: $(took "$start") s"
if grep -E '^(GET|POST|PUT|PATCH) .*/blobs/' "$work/err"; then fail "a second copy to oci: moved blobs"; fi
python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); assert r["copied"] == 0 and r["bytes"] == 0, r' \
  "$work/out" || fail "second copy: $(out)"
coras_ -v copy "$reg/interop/src:v1" "$reg/interop/second:v1"
if grep -E '^(GET|POST|PUT|PATCH) .*/blobs/' "$work/err"; then fail "a second copy between repositories moved blobs"; fi
coras_ -v copy "oci:$layout:v1" "$reg/interop/fourth:v1"
if grep -E '^(POST|PUT|PATCH) .*/blobs/' "$work/err"; then fail "a second copy oci -> registry pushed blobs"; fi
echo "second copies: no blob moved"

# ---- --platform on the index skopeo pushed ----
[ "$(raw_digest "docker://$reg/interop/multi:v1" --tls-verify=false)" = "$index" ] ||
  fail "skopeo pushed another index"
coras_ copy "$reg/interop/multi:v1" "oci:$work/plat:arm" --platform linux/arm64/v8
[ "$(out)" = "$arm" ] || fail "--platform linux/arm64/v8 printed $(out), expected $arm"
[ "$(raw_digest "oci:$work/plat:arm")" = "$arm" ] || fail "skopeo reads another manifest for :arm"
coras_ copy "$reg/interop/multi:v1" "$reg/interop/amd:v1" --platform linux/amd64
[ "$(out)" = "$amd" ] || fail "--platform linux/amd64 printed $(out), expected $amd"
[ "$(raw_digest "docker://$reg/interop/amd:v1" --tls-verify=false)" = "$amd" ] ||
  fail "skopeo reads another manifest for amd:v1"
if [ "$(uname -s)/$(uname -m)" = Linux/x86_64 ]; then  # by default, this machine's platform
  coras_ copy "$reg/interop/multi:v1" "oci:$work/host:v1"
  [ "$(out)" = "$amd" ] || fail "copy of the index without --platform printed $(out), expected $amd"
fi
coras_ copy "$reg/interop/multi:v1" "oci:$work/all:v1" --all-platforms
[ "$(out)" = "$index" ] || fail "copy of the whole index printed $(out)"
skopeo_ copy -q --all --preserve-digests "oci:$work/all:v1" "oci:$work/skopeo-all:v1" ||
  fail "skopeo copy --all of the index coras wrote"
[ "$(raw_digest "oci:$work/skopeo-all:v1")" = "$index" ] || fail "skopeo reads another index"
echo "--platform: ok"
echo "PASS"
