#!/usr/bin/env bash
# Smoke test of `coras attach` and `coras referrers` against `coras serve` on
# 127.0.0.1, once with the Referrers API and once without it (--no-referrers:
# the library falls back to the referrers tag schema, a "sha256-<hex>" tag).
#
#   referrers.sh PATH/TO/coras
#
# In each mode: pushes an image, attaches two SBOMs and a signature to it,
# lists them (all, by artifact type, as JSON), reads an attached manifest
# back, and checks which endpoint or tag the library used. Then the usage
# errors (exit 2), failures (exit 1) and --help.
set -euo pipefail

coras=${1:?usage: referrers.sh PATH/TO/coras}
coras=$(realpath "$coras")
ONE_LINE_ERRORS=1
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_tools sha256sum python3

manifest_type=application/vnd.oci.image.manifest.v1+json
sbom_type=application/vnd.example.sbom
sig_type=application/vnd.example.sig

printf 'layer of the subject image' >"$work/layer.bin"
printf '{}' >"$work/config.json"
mkdir -p "$work/files"
printf '{"spdxVersion":"SPDX-2.3"}' >"$work/files/sbom.spdx.json"
printf '{"bomFormat":"CycloneDX"}' >"$work/files/sbom.cdx.json"
printf 'extra notes\n' >"$work/files/notes.txt"
head -c 64 /dev/urandom >"$work/files/sig.bin"

# check_mode LABEL: the attach/list checks against the running server. With
# the Referrers API when LABEL is "api", through the tag schema otherwise.
check_mode() {
  local label=$1 repo=$reg/ref/app

  # The subject: an image manifest tagged v1.
  ok blob put "$repo" "$work/layer.bin"
  local layer
  layer=$(out)
  ok blob put "$repo" "$work/config.json"
  printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%d}]}' \
    "$manifest_type" "$(out)" "$layer" "$(wc -c <"$work/layer.bin")" >"$work/image.json"
  ok manifest put "$repo:v1" "$work/image.json"
  local subject
  subject=$(out)

  # Nothing refers to it yet.
  ok referrers "$repo:v1"
  [ ! -s "$work/out" ] || fail "$label: referrers before attach listed '$(out)'"
  ok referrers "$repo:v1" --format json
  [ "$(out)" = "[]" ] || fail "$label: referrers --format json before attach printed '$(out)'"

  # Two SBOMs (by tag and by digest) and a signature.
  ok attach "$repo:v1" --artifact-type "$sbom_type" "$work/files/sbom.spdx.json" \
    --annotation org.example.kind=spdx --annotation 'org.example.note=a b=c'
  local sbom1
  sbom1=$(out)
  [[ "$sbom1" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "$label: attach printed '$sbom1'"
  ok attach "$repo@$subject" --artifact-type="$sbom_type" "$work/files/sbom.cdx.json" \
    "$work/files/notes.txt"
  local sbom2
  sbom2=$(out)
  ok attach "$repo:v1" "$work/files/sig.bin" --artifact-type "$sig_type"
  local sig
  sig=$(out)
  [ "$(printf '%s\n' "$sbom1" "$sbom2" "$sig" | sort -u | wc -l)" = 3 ] ||
    fail "$label: attach printed the same digest twice"

  # All three, one line each.
  ok referrers "$repo:v1"
  [ "$(lines)" = 3 ] || fail "$label: referrers listed $(lines) lines, expected 3"
  for want in "$sbom1 $sbom_type $manifest_type" "$sbom2 $sbom_type $manifest_type" \
    "$sig $sig_type $manifest_type"; do
    out | grep -qxF "$want" || fail "$label: referrers does not list '$want'"
  done
  ok referrers "$repo@$subject"
  [ "$(lines)" = 3 ] || fail "$label: referrers by digest listed $(lines) lines"

  # Filtered by artifact type.
  ok referrers "$repo:v1" --artifact-type "$sbom_type"
  [ "$(lines)" = 2 ] || fail "$label: --artifact-type sbom listed $(lines) lines, expected 2"
  out | grep -q "^$sbom1 " || fail "$label: --artifact-type sbom lacks $sbom1"
  out | grep -q "^$sbom2 " || fail "$label: --artifact-type sbom lacks $sbom2"
  ok referrers "$repo:v1" --artifact-type "$sig_type"
  [ "$(out)" = "$sig $sig_type $manifest_type" ] || fail "$label: --artifact-type sig"
  ok referrers "$repo:v1" --artifact-type application/vnd.example.none
  [ ! -s "$work/out" ] || fail "$label: an unused artifact type listed '$(out)'"

  # JSON: one line, an array of the three descriptors.
  ok referrers "$repo:v1" --format json
  [ "$(lines)" = 1 ] || fail "$label: --format json printed $(lines) lines"
  py '
refs = json.load(sys.stdin)
assert isinstance(refs, list) and len(refs) == 3, refs
assert sorted(r["digest"] for r in refs) == sorted(sys.argv[1:4]), refs
for r in refs:
    assert r["mediaType"] == sys.argv[4] and r["size"] > 0, r
by = {r["digest"]: r for r in refs}
assert by[sys.argv[1]]["artifactType"] == sys.argv[5], by
assert by[sys.argv[3]]["artifactType"] == sys.argv[6], by
assert by[sys.argv[1]].get("annotations", {}).get("org.example.kind") == "spdx", by
' "$sbom1" "$sbom2" "$sig" "$manifest_type" "$sbom_type" "$sig_type"
  ok referrers "$repo:v1" --format json --artifact-type "$sbom_type"
  py 'assert len(json.load(sys.stdin)) == 2'

  # The attached manifest: subject, artifactType, empty config, titled layers.
  ok manifest get "$repo@$sbom1" -o "$work/sbom1.json"
  [ "sha256:$(sha "$work/sbom1.json")" = "$sbom1" ] || fail "$label: attach printed a wrong digest"
  ok manifest get "$repo@$sbom2"
  grep -qF "\"digest\":\"$subject\"" "$work/out" ||
    fail "$label: the attached manifest does not name its subject $subject"
  grep -qF "\"artifactType\":\"$sbom_type\"" "$work/out" ||
    fail "$label: the attached manifest has no artifactType"
  py '
m = json.load(sys.stdin)
assert m["schemaVersion"] == 2 and m["mediaType"] == sys.argv[1], m
assert m["artifactType"] == sys.argv[2], m
assert m["subject"] == {"mediaType": sys.argv[1], "digest": sys.argv[3], "size": int(sys.argv[4])}, m
assert m["config"] == {"mediaType": "application/vnd.oci.empty.v1+json",
    "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
    "size": 2}, m["config"]
layers = m["layers"]
assert [l["annotations"]["org.opencontainers.image.title"] for l in layers] == \
    ["sbom.cdx.json", "notes.txt"], layers
assert all(l["mediaType"] == "application/octet-stream" for l in layers), layers
assert [l["digest"] for l in layers] == sys.argv[5:7], layers
assert "annotations" not in m, m
' "$manifest_type" "$sbom_type" "$subject" "$(wc -c <"$work/image.json")" \
    "sha256:$(sha "$work/files/sbom.cdx.json")" "sha256:$(sha "$work/files/notes.txt")"
  ok manifest get "$repo@$sbom1"
  py '
m = json.load(sys.stdin)
assert m["annotations"] == {"org.example.kind": "spdx", "org.example.note": "a b=c"}, m
'
  # The files and the empty config are blobs of the repository.
  ok blob get "$repo@sha256:$(sha "$work/files/sig.bin")" -o "$work/sig.back"
  cmp -s "$work/files/sig.bin" "$work/sig.back" || fail "$label: the attached file differs"
  ok blob get "$repo@sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a" -o -
  [ "$(out)" = "{}" ] || fail "$label: the empty config blob is '$(out)'"

  # A manifest nothing refers to has no referrers.
  ok referrers "$repo@$sig"
  [ ! -s "$work/out" ] || fail "$label: referrers of the signature listed '$(out)'"

  # Which mechanism: the Referrers API, or the tag schema's sha256-<hex> tag.
  local schema_tag=sha256-${subject#sha256:}
  run 0 --plain-http -v referrers "$repo:v1"
  [ "$(lines)" = 3 ] || fail "$label: -v changed the listing"
  cp "$work/err" "$work/requests"
  ok tags "$repo"
  if [ "$label" = api ]; then
    grep -Eq "^GET http://$reg/v2/ref/app/referrers/${subject}(\?[^ ]*)? 200 " "$work/requests" ||
      fail "$label: -v shows no Referrers API request: $(cat "$work/requests")"
    [ "$(out)" = v1 ] || fail "$label: tags are '$(out | tr '\n' ' ')', expected only v1"
  else
    grep -q "^GET http://$reg/v2/ref/app/manifests/$schema_tag 200 " "$work/requests" ||
      fail "$label: -v shows no GET of the referrers tag: $(cat "$work/requests")"
    out | grep -qx "$schema_tag" || fail "$label: tags lack $schema_tag: $(out | tr '\n' ' ')"
    [ "$(lines)" = 2 ] || fail "$label: tags are '$(out | tr '\n' ' ')', expected v1 and $schema_tag"
    # The tag holds an index of the three referrers.
    ok manifest get "$repo:$schema_tag"
    py '
i = json.load(sys.stdin)
assert i["mediaType"] == "application/vnd.oci.image.index.v1+json", i
assert sorted(m["digest"] for m in i["manifests"]) == sorted(sys.argv[1:4]), i
' "$sbom1" "$sbom2" "$sig"
  fi
  echo "$label: attach, referrers: ok"
}

# ---- with the Referrers API ----
start_server
check_mode api

# ---- usage errors, failures, help (against the running server) ----
repo=$reg/ref/app
file=$work/files/sig.bin
run 2 --plain-http attach "$repo:v1" "$file"                   # no --artifact-type
grep -q -- '--artifact-type' "$work/err" || fail "missing --artifact-type: unclear message"
grep -q '^usage: coras attach' "$work/err" || fail "attach usage error without the usage"
run 2 --plain-http attach "$repo:v1" --artifact-type "$sbom_type"   # no FILE
grep -q 'FILE' "$work/err" || fail "attach without files: unclear message"
run 2 --plain-http attach --artifact-type "$sbom_type"
run 2 --plain-http attach "$repo:v1" --artifact-type "$sbom_type" "$file" --annotation novalue
grep -q 'KEY=VALUE' "$work/err" || fail "malformed annotation: unclear message"
run 2 --plain-http attach "$repo:v1" --artifact-type "$sbom_type" "$file" --annotation =v
run 2 --plain-http attach "$repo:v1" --artifact-type "$sbom_type" "$file" --annotation a=1 \
  --annotation a=2
run 2 --plain-http attach "$repo:v1" --artifact-type "$sbom_type" "$file" --annotation
run 2 --plain-http attach "$repo:v1" --artifact-type "" "$file"
run 2 --plain-http attach "$repo:v1" --artifact-type sbom "$file"
run 2 --plain-http attach "$repo:v1" --artifact-type "$sbom_type" --artifact-type "$sig_type" "$file"
run 2 --plain-http attach "$repo" --artifact-type "$sbom_type" "$file"   # no tag or digest
run 2 --plain-http attach "$repo:v1" --artifact-type "$sbom_type" "$file" --frobnicate
run 2 --plain-http referrers
run 2 --plain-http referrers "$repo"
run 2 --plain-http referrers "$repo:v1" extra
run 2 --plain-http referrers "$repo:v1" --format xml
run 2 --plain-http referrers "$repo:v1" --artifact-type
run 2 --plain-http referrers "$repo:v1" --artifact-type notatype
grep -q '^usage: coras referrers' "$work/err" || fail "referrers usage error without the usage"

ok referrers "$repo:v1" --format text
[ "$(lines)" = 3 ] || fail "--format text listed $(lines) lines"
expect_error attach "$repo:v1" --artifact-type "$sbom_type" "$work/files/no-such-file"
grep -q 'no-such-file' "$work/err" || fail "attach of a missing file: unclear message"
expect_error attach "$repo:v1" --artifact-type "$sbom_type" "$work/files"
expect_error attach "$repo:nope" --artifact-type "$sbom_type" "$file"
expect_error referrers "$repo:nope"
grep -q '404' "$work/err" || fail "referrers of a missing tag: no 404 in '$(cat "$work/err")'"
ok referrers "$repo:v1"
[ "$(lines)" = 3 ] || fail "failed attaches added referrers"

for cmd in referrers attach; do
  run 0 "$cmd" --help
  grep -q "^usage: coras $cmd" "$work/out" || fail "coras $cmd --help printed no usage"
  grep -q -- '--plain-http' "$work/out" || fail "coras $cmd --help lacks the global options"
  [ ! -s "$work/err" ] || fail "coras $cmd --help wrote to stderr"
  run 0 "$cmd" -h
done
run 0 attach "$repo:v1" --help     # --help wins over the missing --artifact-type
run 0 --help
out | grep -q '^  attach REF' || fail "top-level usage lacks attach"
out | grep -q '^  referrers REF' || fail "top-level usage lacks referrers"
echo "usage errors, failures, help: ok"
stop_server || fail "coras serve did not exit 0 on SIGTERM"

# ---- without the Referrers API: the referrers tag schema ----
start_server --no-referrers
check_mode tag-schema
stop_server || fail "coras serve --no-referrers did not exit 0 on SIGTERM"
echo "PASS"
