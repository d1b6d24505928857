#!/usr/bin/env bash
# `coras push`, `coras pull` and `coras copy` against `coras serve` on
# 127.0.0.1.
#
#   copy.sh PATH/TO/coras
#
# Pushes an artifact of two files and checks its manifest; pulls it back
# (content equal) and pushes it again (no blob uploaded); refuses hostile
# layer titles (`../evil`, absolute, through a symbolic link) without writing
# anything; copies registry -> oci:DIR:v1 -> another repository (digests
# equal, --format json, mounts between repositories, nothing transferred the
# second time); copies one platform of an index (--platform) or all of it
# (--all-platforms); then the usage
# errors (exit 2), failures (exit 1), --progress and --help.
set -euo pipefail

coras=${1:?usage: copy.sh PATH/TO/coras}
coras=$(realpath "$coras")
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_tools sha256sum cmp python3

manifest_type=application/vnd.oci.image.manifest.v1+json
index_type=application/vnd.oci.image.index.v1+json
layer_type=application/vnd.oci.image.layer.v1.tar
empty_digest=sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a

mkdir -p "$work/files"
printf 'hello from coras push\n' >"$work/files/hello.txt"
head -c 300000 /dev/urandom >"$work/files/data.bin"

start_server
repo=$reg/art/app

# ---- push ----
ok push "$repo:v1" "$work/files/hello.txt" "$work/files/data.bin:application/octet-stream" \
  --artifact-type application/vnd.example.art --annotation org.example.k=v
digest=$(out)
is_digest "$digest"
[ ! -s "$work/err" ] || fail "push wrote to stderr on a pipe without --progress: $(cat "$work/err")"
ok resolve "$repo:v1"
[ "$(out)" = "$digest" ] || fail "push printed $digest, v1 resolves to $(out)"
ok manifest get "$repo:v1" -o "$work/pushed.json"
[ "sha256:$(sha "$work/pushed.json")" = "$digest" ] || fail "push printed a wrong digest"
ok manifest get "$repo:v1"
py '
m = json.load(sys.stdin)
assert m["schemaVersion"] == 2 and m["mediaType"] == sys.argv[1], m
assert m["artifactType"] == "application/vnd.example.art", m
assert m["config"] == {"mediaType": "application/vnd.oci.empty.v1+json", "digest": sys.argv[3], "size": 2}, m
layers = m["layers"]
assert [l["annotations"] for l in layers] == [
    {"org.opencontainers.image.title": "hello.txt"},
    {"org.opencontainers.image.title": "data.bin"}], layers
assert [l["mediaType"] for l in layers] == [sys.argv[2], "application/octet-stream"], layers
assert [l["digest"] for l in layers] == sys.argv[4:6], layers
assert m["annotations"] == {"org.example.k": "v"}, m
' "$manifest_type" "$layer_type" "$empty_digest" \
  "sha256:$(sha "$work/files/hello.txt")" "sha256:$(sha "$work/files/data.bin")"

# Without --artifact-type there is none; without a tag, by digest only.
ok push "$reg/art/plain" "$work/files/hello.txt"
plain=$(out)
is_digest "$plain"
ok manifest get "$reg/art/plain@$plain"
py 'm = json.load(sys.stdin); assert "artifactType" not in m and "annotations" not in m, m'
ok tags "$reg/art/plain"
[ ! -s "$work/out" ] || fail "a push without a tag tagged '$(out)'"

# Pushing the same files again uploads nothing (the blobs are there) and
# gives the same digest.
run 0 --plain-http -v push "$repo:v1" "$work/files/hello.txt" \
  "$work/files/data.bin:application/octet-stream" \
  --artifact-type application/vnd.example.art --annotation org.example.k=v
[ "$(out)" = "$digest" ] || fail "the same push gave $(out), not $digest"
if grep -E '^(POST|PUT|PATCH) .*/blobs/' "$work/err"; then fail "a second push uploaded blobs"; fi
grep -q "^PUT http://$reg/v2/art/app/manifests/v1 201 " "$work/err" ||
  fail "-v shows no manifest PUT: $(cat "$work/err")"
echo "push: ok"

# ---- pull ----
ok pull "$repo:v1" -o "$work/pulled"
[ "$(out)" = "$work/pulled/hello.txt
$work/pulled/data.bin" ] || fail "pull printed '$(out)'"
cmp -s "$work/files/hello.txt" "$work/pulled/hello.txt" || fail "pulled hello.txt differs"
cmp -s "$work/files/data.bin" "$work/pulled/data.bin" || fail "pulled data.bin differs"
[ "$(find "$work/pulled" -type f | wc -l)" = 2 ] || fail "pull left other files: $(find "$work/pulled")"
ok pull "$repo@$digest" -o "$work/pulled"   # by digest, over existing files
cmp -s "$work/files/data.bin" "$work/pulled/data.bin" || fail "second pull: data.bin differs"
# Without -o: the current directory, paths printed relative to it.
mkdir "$work/here"
(cd "$work/here" && "$coras" --plain-http pull "$repo:v1" >"$work/out" 2>"$work/err") ||
  fail "pull into the current directory"
[ "$(out)" = "hello.txt
data.bin" ] || fail "pull without -o printed '$(out)'"
cmp -s "$work/files/hello.txt" "$work/here/hello.txt" || fail "pull without -o: hello.txt differs"
echo "pull: ok"

# ---- hostile and untitled layers ----
hello=sha256:$(sha "$work/files/hello.txt")
hello_size=$(stat -c %s "$work/files/hello.txt")
# titled_manifest FILE TITLE...: an image manifest whose layers are hello.txt
# under each TITLE ("-": no title annotation).
titled_manifest() {
  local file=$1
  shift
  python3 - "$file" "$hello" "$hello_size" "$empty_digest" "$@" <<'PY'
import json, sys
file, digest, size, config = sys.argv[1:5]
layers = []
for title in sys.argv[5:]:
    layer = {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest, "size": int(size)}
    if title != "-":
        layer["annotations"] = {"org.opencontainers.image.title": title}
    layers.append(layer)
m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
     "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": config, "size": 2},
     "layers": layers}
open(file, "w").write(json.dumps(m))
PY
}
mkdir -p "$work/dest" "$work/outside"
ln -s "$work/outside" "$work/dest/link"
ln -s "$work/outside/planted" "$work/dest/planted"
# refused TAG WHY TITLE...: pushes such a manifest as TAG, and checks that a
# pull of it exits 1 naming WHY and writes nothing.
refused() {
  local tag=$1 why=$2
  shift 2
  titled_manifest "$work/evil.json" "$@"
  ok manifest put "$reg/art/evil:$tag" "$work/evil.json"
  expect_error pull "$reg/art/evil:$tag" -o "$work/dest"
  grep -qF -- "$why" "$work/err" || fail "pull of $tag: '$why' not in '$(cat "$work/err")'"
  [ ! -s "$work/out" ] || fail "pull of $tag printed '$(out)'"
  [ -z "$(find "$work/outside" -mindepth 1)" ] || fail "pull of $tag wrote outside: $(find "$work/outside")"
  [ "$(find "$work/dest" -mindepth 1 | sort)" = "$work/dest/link
$work/dest/planted" ] || fail "pull of $tag wrote into the directory: $(find "$work/dest")"
  if [ -e "$work/evil" ]; then fail "pull of $tag wrote ../evil"; fi
}
ok push "$reg/art/evil:base" "$work/files/hello.txt"   # the blobs those manifests name
ok push "$reg/art/mixed:base" "$work/files/hello.txt"
refused dotdot '".." component' '../evil'
refused dotdot2 '".." component' 'a/../../evil'
refused dotdot3 '".." component' 'ok.txt' '../evil'   # a good title does not go first
refused absolute 'absolute' "$work/outside/abs"
refused symlink-dir 'outside the output directory' 'link/x.txt'
refused symlink-file 'symbolic link' 'planted'
refused empty 'is empty' ''
refused dir 'does not name a file' 'sub/'
refused twice 'two layers' 'same.txt' './same.txt'
refused case 'differ only in case' 'README.md' 'readme.md'
refused file-dir 'needs as a directory' 'a' 'a/b'
refused staging "coras's staging directory" '.coras-staging/x'
# The staging directory a download writes through must not be a link.
ln -s "$work/outside" "$work/dest/.coras-staging"
titled_manifest "$work/evil.json" 'p.txt'
ok manifest put "$reg/art/evil:staging-link" "$work/evil.json"
expect_error pull "$reg/art/evil:staging-link" -o "$work/dest"
grep -qF 'which is not a directory' "$work/err" || fail "staging link: '$(cat "$work/err")'"
[ -z "$(find "$work/outside" -mindepth 1)" ] || fail "pull wrote through a staging directory link"
rm "$work/dest/.coras-staging"
# A layer titled x.partial is a file like any other (staging names are not
# titles), and a planted x.partial is not a resume base.
titled_manifest "$work/partial.json" 'x' 'x.partial'
ok manifest put "$reg/art/evil:partial" "$work/partial.json"
mkdir -p "$work/partial"
ok pull "$reg/art/evil:partial" -o "$work/partial"
cmp -s "$work/files/hello.txt" "$work/partial/x" || fail "x differs"
cmp -s "$work/files/hello.txt" "$work/partial/x.partial" || fail "x.partial differs"
[ "$(find "$work/partial" -mindepth 1 | sort)" = "$work/partial/x
$work/partial/x.partial" ] || fail "pull of x and x.partial left: $(find "$work/partial")"
rm "$work/partial/x"
printf 'not the bytes' >"$work/partial/x.partial"
titled_manifest "$work/partial.json" 'x'
ok manifest put "$reg/art/evil:partial2" "$work/partial.json"
ok pull "$reg/art/evil:partial2" -o "$work/partial"
cmp -s "$work/files/hello.txt" "$work/partial/x" || fail "x next to a planted x.partial differs"
[ "$(cat "$work/partial/x.partial")" = 'not the bytes' ] || fail "the planted x.partial was touched"

# An untitled layer is skipped with a note; titled ones in a subdirectory work.
titled_manifest "$work/mixed.json" - 'sub/dir/kept.txt'
ok manifest put "$reg/art/mixed:v1" "$work/mixed.json"
ok pull "$reg/art/mixed:v1" -o "$work/mixed"
[ "$(out)" = "$work/mixed/sub/dir/kept.txt" ] || fail "mixed pull printed '$(out)'"
grep -q "^coras: note: skipping layer $hello" "$work/err" || fail "no note for the untitled layer"
cmp -s "$work/files/hello.txt" "$work/mixed/sub/dir/kept.txt" || fail "kept.txt differs"
titled_manifest "$work/none.json" - -
ok manifest put "$reg/art/mixed:none" "$work/none.json"
ok pull "$reg/art/mixed:none" -o "$work/none"
[ ! -s "$work/out" ] || fail "a pull of untitled layers printed '$(out)'"
grep -q 'nothing written' "$work/err" || fail "no note that nothing was written"
echo "hostile titles: ok"

# ---- copy: registry -> oci:DIR:v1 -> another repository ----
ok copy "$repo:v1" "oci:$work/layout:v1"
[ "$(out)" = "$digest" ] || fail "copy to oci: printed '$(out)', expected $digest"
[ -f "$work/layout/oci-layout" ] || fail "copy made no oci-layout file"
for d in "$digest" "$empty_digest" "$hello" "sha256:$(sha "$work/files/data.bin")"; do
  f=$work/layout/blobs/sha256/${d#sha256:}
  [ "sha256:$(sha "$f")" = "$d" ] || fail "the layout lacks $d"
done
python3 -c '
import json, sys
i = json.load(open(sys.argv[1] + "/index.json"))
named = [m for m in i["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "v1"]
assert len(named) == 1 and named[0]["digest"] == sys.argv[2], i
' "$work/layout" "$digest" || fail "index.json does not name v1"

ok copy "oci:$work/layout:v1" "$reg/other/app" --format json   # DST without a tag: v1
py '
r = json.load(sys.stdin)
assert set(r) == {"digest", "mediaType", "size", "copied", "skipped", "mounted", "bytes", "seconds"}, r
assert r["digest"] == sys.argv[1] and r["mediaType"] == sys.argv[2], r
assert r["size"] == int(sys.argv[3]) and r["copied"] == 4 and r["skipped"] == 0, r
assert r["mounted"] == 0 and r["bytes"] > 300000 and r["seconds"] >= 0, r
' "$digest" "$manifest_type" "$(stat -c %s "$work/pushed.json")"
ok resolve "$reg/other/app:v1"
[ "$(out)" = "$digest" ] || fail "other/app:v1 resolves to $(out), not $digest"

# Again: everything is there, nothing moves.
run 0 --plain-http -v copy "oci:$work/layout:v1" "$reg/other/app:v1" --format json
py 'r = json.load(sys.stdin); assert r["copied"] == 0 and r["skipped"] == 1 and r["bytes"] == 0, r'
if grep -E '^(GET|POST|PUT|PATCH) .*/blobs/' "$work/err"; then fail "a second copy moved blobs"; fi

# Between two repositories of the registry: blobs are mounted.
run 0 --plain-http -v copy "$reg/other/app:v1" "$reg/third/app:v2"
[ "$(out)" = "$digest" ] || fail "copy between repositories printed '$(out)'"
[ "$(grep -c 'mount=' "$work/err")" = 3 ] || fail "-v shows no 3 mounts: $(cat "$work/err")"
if grep -E '^GET .*/blobs/' "$work/err"; then fail "a copy between repositories fetched blobs"; fi
ok pull "$reg/third/app:v2" -o "$work/third"
cmp -s "$work/files/data.bin" "$work/third/data.bin" || fail "third/app:v2 data.bin differs"
# oci -> oci (another tag in a new layout), by digest.
ok copy "oci:$work/layout@$digest" "oci:$work/layout2:copied"
[ "$(out)" = "$digest" ] || fail "oci->oci printed '$(out)'"
grep -q '"org.opencontainers.image.ref.name":"copied"' "$work/layout2/index.json" ||
  fail "oci->oci: no tag 'copied' in $(cat "$work/layout2/index.json")"
echo "copy: ok"

# ---- copy --platform: one manifest of an index ----
# image ARCH: pushes a tiny image for linux/ARCH to multi/app; sets $image
# and $image_size to its manifest's digest and size.
image() {
  printf '{"architecture":"%s","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' "$1" \
    >"$work/config-$1.json"
  printf 'layer for %s' "$1" >"$work/layer-$1"
  ok blob put "$reg/multi/app" "$work/config-$1.json"
  local config
  config=$(out)
  ok blob put "$reg/multi/app" "$work/layer-$1"
  printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":"%s","digest":"%s","size":%d}]}' \
    "$manifest_type" "$config" "$(stat -c %s "$work/config-$1.json")" "$layer_type" "$(out)" \
    "$(stat -c %s "$work/layer-$1")" >"$work/image-$1.json"
  ok manifest put "$reg/multi/app" "$work/image-$1.json"
  image=$(out)
  image_size=$(stat -c %s "$work/image-$1.json")
}
image amd64
amd=$image amd_size=$image_size
image arm64
arm=$image arm_size=$image_size
printf '{"schemaVersion":2,"mediaType":"%s","manifests":[{"mediaType":"%s","digest":"%s","size":%d,"platform":{"architecture":"amd64","os":"linux"}},{"mediaType":"%s","digest":"%s","size":%d,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}}]}' \
  "$index_type" "$manifest_type" "$amd" "$amd_size" "$manifest_type" "$arm" "$arm_size" \
  >"$work/index.json"
ok manifest put "$reg/multi/app:v1" "$work/index.json"
index=$(out)

ok copy "$reg/multi/app:v1" "$reg/multi/amd:v1" --platform linux/amd64
[ "$(out)" = "$amd" ] || fail "--platform linux/amd64 printed '$(out)', expected $amd"
ok resolve "$reg/multi/amd:v1"
[ "$(out)" = "$amd" ] || fail "multi/amd:v1 names $(out), not the amd64 manifest $amd"
ok copy "$reg/multi/app:v1" "oci:$work/plat:arm" --platform linux/arm64/v8 --format json
py 'r = json.load(sys.stdin); assert r["digest"] == sys.argv[1] and r["mediaType"] == sys.argv[2], r' \
  "$arm" "$manifest_type"
[ -f "$work/plat/blobs/sha256/${arm#sha256:}" ] || fail "the arm64 manifest is not in the layout"
[ ! -e "$work/plat/blobs/sha256/${amd#sha256:}" ] || fail "--platform arm64 copied the amd64 manifest"
expect_error copy "$reg/multi/app:v1" "$reg/multi/none:v1" --platform linux/s390x
grep -q 'linux/s390x' "$work/err" || fail "a missing platform: unclear message"
ok copy "$reg/multi/app:v1" "$reg/multi/all:v1" --all-platforms   # the whole index
[ "$(out)" = "$index" ] || fail "copy of the index printed '$(out)', expected $index"
ok resolve "$reg/multi/all@$arm"
echo "copy --platform: ok"

# ---- --referrers: a signature attached to the image comes along ----
head -c 64 /dev/urandom >"$work/files/sig.bin"
ok attach "$repo:v1" --artifact-type application/vnd.example.sig "$work/files/sig.bin"
sig=$(out)
ok copy "$repo:v1" "oci:$work/norefs:v1"
[ ! -e "$work/norefs/blobs/sha256/${sig#sha256:}" ] || fail "copy without --referrers copied $sig"
ok copy "$repo:v1" "oci:$work/refs:v1" --referrers
[ "$(out)" = "$digest" ] || fail "copy --referrers printed '$(out)'"
[ -f "$work/refs/blobs/sha256/${sig#sha256:}" ] || fail "copy --referrers did not copy $sig"
[ -f "$work/refs/blobs/sha256/$(sha "$work/files/sig.bin")" ] || fail "copy --referrers lacks sig.bin"
grep -qF "\"$sig\"" "$work/refs/index.json" || fail "index.json does not list the referrer"
echo "copy --referrers: ok"

# ---- progress on a terminal (when script(1) can make one) ----
if command -v script >/dev/null; then
  TERM=xterm script -qfec "$(printf '%q ' "$coras" --plain-http pull "$repo:v1" -o "$work/tty")" \
    "$work/typescript" >/dev/null </dev/null || fail "pull on a terminal: $(cat "$work/typescript")"
  grep -q $'\e\\[J' "$work/typescript" || fail "no ANSI erase on a terminal: $(cat -v "$work/typescript")"
  grep -q 'pulled 2 files, ' "$work/typescript" || fail "no summary on a terminal: $(cat -v "$work/typescript")"
  cmp -s "$work/files/data.bin" "$work/tty/data.bin" || fail "pull on a terminal: data.bin differs"
  TERM=xterm script -qfec "$(printf '%q ' "$coras" --plain-http -v pull "$repo:v1" -o "$work/tty")" \
    "$work/typescript" >/dev/null </dev/null || fail "pull -v on a terminal"
  if grep -q $'\e' "$work/typescript"; then fail "-v on a terminal drew the display"; fi
  grep -q "^GET http://$reg/v2/art/app/blobs/" "$work/typescript" || fail "-v lost the request log"
  echo "terminal progress: ok"
fi

# ---- --progress on a pipe: plain lines on stderr ----
ok copy "$repo:v1" "oci:$work/layout3:v1" --progress
[ "$(out)" = "$digest" ] || fail "copy --progress changed stdout"
grep -q '^copied sha256:' "$work/err" || fail "--progress printed no per-blob line: $(cat "$work/err")"
grep -q '^copied 4 items, ' "$work/err" || fail "--progress printed no summary: $(cat "$work/err")"
ok pull "$repo:v1" -o "$work/pulled" --progress
grep -q '^pulled data.bin ' "$work/err" || fail "pull --progress: $(cat "$work/err")"
ok copy "$repo:v1" "oci:$work/layout4:v1" --no-progress
[ ! -s "$work/err" ] || fail "--no-progress wrote to stderr"

# ---- usage errors (exit 2, nothing sent) ----
usage copy "$repo:v1"
usage copy "$repo:v1" "$reg/x/y:v1" extra
usage copy "$repo" "$reg/x/y:v1"                        # SRC without a tag
usage copy "$repo:v1" "$reg/x/y@$digest"                # DST by digest
usage copy "$repo:v1" "oci:$work/l@$digest"
usage copy "$repo@$digest" "oci:$work/l"                 # oci DST needs a tag then
usage copy "oci:" "$reg/x/y:v1"
usage copy "oci:$work/layout:Bad Tag" "$reg/x/y:v1"
usage copy "$repo:v1" "$reg/x/y:v1" --platform linux
usage copy "$repo:v1" "$reg/x/y:v1" --platform linux/amd64/v8/x
usage copy "$repo:v1" "$reg/x/y:v1" --platform /amd64
usage copy "$repo:v1" "$reg/x/y:v1" --concurrency 0
usage copy "$repo:v1" "$reg/x/y:v1" --concurrency many
usage copy "$repo:v1" "$reg/x/y:v1" --format xml
usage copy "$repo:v1" "$reg/x/y:v1" --progress --no-progress
usage copy "$repo:v1" "$reg/x/y:v1" --frobnicate
usage copy "$reg/Bad/x:v1" "$reg/x/y:v1"
usage push "$repo:v1"
usage push
usage push "$repo@$digest" "$work/files/hello.txt"
usage push "$repo:v1" "$work/files/hello.txt" "$work/files/hello.txt:text/plain"
usage push "$repo:v1" "$work/files/hello.txt:text/"
usage push "$repo:v1" "$work/files/hello.txt" --artifact-type nonsense
usage push "$repo:v1" "$work/files/hello.txt" --annotation novalue
usage pull
usage pull "$repo"
usage pull "$repo:v1" extra
usage pull "$repo:v1" -o ""
echo "usage errors: ok"

# ---- failures (exit 1) ----
expect_error copy "$repo:nope" "oci:$work/never:v1"
expect_error copy "oci:$work/no-such-layout:v1" "$reg/x/y:v1"
expect_error copy "oci:$work/layout:nope" "$reg/x/y:v1"
expect_error push "$repo:v1" "$work/files/no-such-file"
expect_error push "$repo:v1" "$work/files"
expect_error pull "$repo:nope" -o "$work/never"
expect_error pull "$reg/multi/app:v1" -o "$work/never" --platform linux/s390x  # not in the index
grep -q 'index.*linux/s390x.*it has linux/amd64, linux/arm64/v8' "$work/err" ||
  fail "pull of an index without the platform: unclear message"
echo "failures: ok"

# ---- help ----
for cmd in copy push pull; do
  run 0 "$cmd" --help
  grep -q "^usage: coras $cmd" "$work/out" || fail "coras $cmd --help printed no usage"
  grep -q -- '--plain-http' "$work/out" || fail "coras $cmd --help lacks the global options"
done
run 0 --help
for cmd in copy push pull; do
  out | grep -q "^  $cmd " || fail "top-level usage lacks $cmd"
done
stop_server || fail "coras serve did not exit 0 on SIGTERM"
echo "PASS"
