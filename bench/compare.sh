#!/usr/bin/env bash
# bench/compare.sh [options]: coras next to its peers on this machine.
#
# Rows (every server on 127.0.0.1; the tools take turns within each round,
# each round starting with the next tool: coras, skopeo, crane; skopeo,
# crane, coras; ...; a `sync` and a 1 s pause before each run, untimed):
#   pull  COUNTxSIZE  docker-registry -> OCI layout     coras copy vs skopeo copy,
#                                                       crane pull --format=oci
#   push  COUNTxSIZE  OCI layout -> a new repository    coras copy vs skopeo copy,
#                                                       crane push LAYOUT
#   (the same for the image of many small layers, and with --tls over HTTPS;
#   the small image also against `coras serve --root`: rows "coras-serve")
#   ceilings              curl, 8 parallel transfers of the big image's blobs
#                         to /dev/null (plain, and TLS with --tls), with the
#                         registry's CPU; openssl speed -evp sha256 and
#                         aes-128-gcm (16 KiB blocks, one core); from them the
#                         floor of a verified pull of the big image
#   manifest HEAD, GET at concurrency 64 on `coras serve`
#                                                       coras-bench resolve vs wrk,
#                         and for GET `coras-bench floor` (the same request on
#                         Asio and Beast alone: the stack's own cost)
#   10,000 concurrent resolves over 64 connections      coras-bench resolve (RSS)
#   mirror 16 clients COUNTxSIZE (the big image), cold and warm
#                         16 curl clients (each blob checked with openssl dgst)
#                         through a fresh `coras serve --mirror` of
#                         docker-registry, then again through the same (now
#                         warm) mirror, vs the same 16 straight from
#                         docker-registry; the notes give the mirror's upstream
#                         bytes (goal: 1x the image cold, 0 warm)
# and prints the medians, coras's throughput over each peer's and over the
# best peer's, the ceilings and floors, and the machine.
#
# crane (go-containerregistry) runs whenever it is found: --crane PATH, else
# $CRANE, else $PEER_WORK/bin/crane (PEER_WORK default /tmp/oci-peers), else
# the PATH's; absent, its lines say so. compare.sh never builds it
# (docs/benchmarks.md says how).
#
# options:
#   --rounds N            rounds per row (default 3)
#   --tls                 run the registry rows over TLS as well
#   --big COUNTxSIZE      the large image (default 8x128M)
#   --small COUNTxSIZE    the image of many small layers (default 200x64K)
#   --rows LIST           comma-separated subset of big-pull,big-push,small,
#                         small-serve,resolve,mirror (default: all)
#   --mirror-clients N    clients of the mirror row (default 16)
#   --crane PATH          the crane binary (see above)
#   --copy-concurrency N  passed to `coras copy` as --concurrency (default: its own)
#   --requests N          coras-bench requests per resolve round (default 200000:
#                         about as long as wrk's 3 s; 50,000 ran 0.7 s, where the
#                         start (64 connections opened, caches cold) cost coras 10-15 %
#                         of its rate and the floor 4 %, against wrk's steady state)
#   --duration SECONDS    wrk's time per round (default 3)
#   --json FILE           also write the summary as JSON
#
# Needs: BUILD_DIR (default build) with cli/coras and bench/coras-bench;
# docker-registry, skopeo, wrk, curl, openssl, ss, python3 (scripts/run bench
# installs them); crane optional.
# `coras copy` rows are skipped, and marked pending, when `coras copy --help` fails.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
build=${BUILD_DIR:-$top/build}
case "$build" in /*) ;; *) build=$top/$build ;; esac
coras=$build/cli/coras
bench=$build/bench/coras-bench
fixtures=$top/test/fixtures

log() { printf '==> %s\n' "$*" >&2; }
helpers() { python3 "$here/compare_helpers.py" "$@"; }

# The skopeo blob-info cache turns a later push into cross-repository mounts:
# it goes before every skopeo run.
clear_skopeo_cache() {
  rm -f /var/lib/containers/cache/blob-info-cache-v1.boltdb \
    "${HOME:-/root}/.local/share/containers/cache/blob-info-cache-v1.boltdb"
}

# measured SLUG -- CMD...: runs CMD under `compare_helpers.py measure` (output
# to $logs/SLUG.log, killed after $limit seconds) and prints its JSON line.
measured() {
  local slug=$1
  shift
  [ "$1" = -- ] && shift
  helpers measure "$limit" "$logs/$slug.log" -- "$@"
}

# proc_ticks PID: user+system clock ticks of process PID so far (0 when
# there is no such process).
proc_ticks() {
  awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0
}

# openssl_rows: `openssl speed` on one core, 16 KiB blocks: SHA-256 (what a
# verified pull must spend on every byte) and AES-128-GCM (what TLS must).
openssl_rows() {
  local alg round rate
  for alg in sha256 aes-128-gcm; do
    for round in $(seq 1 "$rounds"); do
      rate=$(openssl speed -evp "$alg" -bytes 16384 -seconds 1 2>/dev/null |
        awk 'END {sub(/k$/, "", $2); printf "%.0f", $2 * 1000}')
      helpers record "$results" "" kind=ceiling "row=openssl speed -evp $alg, one core" \
        side=openssl round="$round" rate_bytes_s="${rate:-0}" \
        status="$([ "${rate:-0}" -gt 0 ] && echo ok || echo failed)" >/dev/null
      printf '    %-24s round %d: %s MiB/s\n' "openssl $alg" "$round" \
        "$(awk -v r="${rate:-0}" 'BEGIN {printf "%.0f", r / 1048576}')" >&2
    done
  done
}

# show_failure SLUG: the end of a failed run's output.
show_failure() {
  echo "    (last lines of $1)" >&2
  tail -n 15 "$logs/$1.log" 2>/dev/null | sed 's/^/    | /' >&2 || true
}

# ---------------------------------------------------------------------------
# Registry rows: run inside test/fixtures/with-docker-registry (MODE plain or
# tls), which sets CORAS_TEST_REGISTRY, CORAS_TEST_SCHEME, CORAS_TEST_CERTS.
registry_rows() {
  local mode=$1
  local reg=$CORAS_TEST_REGISTRY
  local suffix="" skopeo_src skopeo_dst coras_flags curl_flags
  if [ "$mode" = tls ]; then
    suffix=" tls"
    # skopeo wants a directory holding only the CA's *.crt.
    local certdir=$work/skopeo-certs
    mkdir -p "$certdir"
    cp "$CORAS_TEST_CERTS/ca.crt" "$certdir/ca.crt"
    skopeo_src=(--src-cert-dir "$certdir")
    skopeo_dst=(--dest-cert-dir "$certdir")
    coras_flags=(--ca-file "$CORAS_TEST_CERTS/ca.crt")
    curl_flags=(--cacert "$CORAS_TEST_CERTS/ca.crt")
  else
    # plain, or serve: `coras serve` over plain HTTP (serve_rows)
    [ "$mode" = serve ] && suffix=" coras-serve"
    skopeo_src=(--src-tls-verify=false)
    skopeo_dst=(--dest-tls-verify=false)
    coras_flags=(--plain-http)
    curl_flags=()
  fi
  [ -n "$copy_concurrency" ] && coras_flags+=(--concurrency "$copy_concurrency")
  local skopeo=(skopeo --insecure-policy copy -q)
  # crane reads no docker config but an empty one of its own; over TLS it
  # trusts the test CA through SSL_CERT_FILE (Go's system pool on Linux).
  local crane_cmd=()
  if [ -n "$crane" ]; then
    mkdir -p "$work/crane-config"
    echo '{}' >"$work/crane-config/config.json"
    crane_cmd=(env "DOCKER_CONFIG=$work/crane-config")
    if [ "$mode" = tls ]; then
      crane_cmd+=("SSL_CERT_FILE=$CORAS_TEST_CERTS/ca.crt" "$crane")
    else
      crane_cmd+=("$crane" --insecure)
    fi
  fi

  local server=docker-registry
  [ "$mode" = serve ] && server="coras serve"
  log "$server ($mode) on $CORAS_TEST_SCHEME://$reg: seeding the images with skopeo"
  local img
  for img in big small; do
    # only the pull rows read them
    case " $rows " in *" $img-pull "*|*" $img "*) ;; *" mirror "*) [ "$img" = big ] || continue ;; *) continue ;; esac
    clear_skopeo_cache
    timeout --foreground 900 "${skopeo[@]}" "${skopeo_dst[@]}" \
      "oci:$work/img-$img:v1" "docker://$reg/bench/$img:v1" >"$logs/seed-$img-$mode.log" 2>&1 ||
      { cat "$logs/seed-$img-$mode.log" >&2; echo "seeding $img failed" >&2; return 1; }
  done

  # ceiling_rows: what the machine allows, measured the way issue 20 states
  # it. curl with 8 parallel transfers GETs the big image's blobs from this
  # registry to /dev/null (no verification, no disk), with docker-registry's
  # CPU during the transfer. HTTP/1.1, 8 connections, as coras: over TLS curl
  # would otherwise take HTTP/2 and multiplex all 8 on one connection, whose
  # flow control made it 7x slower here.
  ceiling_rows() {
    local urls=() d round out spid t0 t1 server
    for d in $big_blobs; do
      urls+=(-o /dev/null "$CORAS_TEST_SCHEME://$reg/v2/bench/big/blobs/$d")
    done
    spid=$(ss -Htlnp "sport = :${reg##*:}" | sed -n 's/.*pid=\([0-9]*\),.*/\1/p' | head -1)
    local limit=300
    for round in $(seq 1 "$rounds"); do
      t0=$(proc_ticks "$spid")
      out=$(measured "ceiling-curl-$mode-$round" -- curl -sf --http1.1 --parallel --parallel-max 8 \
        "${curl_flags[@]}" "${urls[@]}") || true
      t1=$(proc_ticks "$spid")
      server=$(awk -v a="$t0" -v b="$t1" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.3f", (b - a) / hz}')
      [ -n "$out" ] || out='{"rc": 1}'
      read -r status detail < <(helpers record "$results" "$out" kind=ceiling \
        "row=curl 8 parallel -> /dev/null, $mode" side=curl round="$round" \
        bytes="${img_bytes[big]}" mode="$mode" server_cpu_s="$server")
      printf '    %-24s %-6s round %d: %s %s (server CPU %s s)\n' "ceiling $mode" curl "$round" \
        "$status" "$detail" "$server" >&2
    done
  }

  # copy_row IMG DIRECTION: DIRECTION pull (registry -> OCI layout) or push
  # (OCI layout -> a new repository). The tools take turns within each round:
  # coras, skopeo, crane (when present), then the next round.
  copy_row() {
    local img=$1 direction=$2
    local count=${img_count[$img]} bytes=${img_bytes[$img]}
    local row="$direction ${img_label[$img]}$suffix"
    local limit=300
    [ "$img" = big ] && limit=900
    local round side slug dst src_ref out status detail check_note tag
    local sides=(coras skopeo)
    if [ -n "$crane" ]; then
      sides+=(crane)
    else
      helpers record "$results" "" kind=copy "row=$row" side=crane round=1 status=absent \
        bytes="$bytes" >/dev/null
    fi
    local turn order
    for round in $(seq 1 "$rounds"); do
      # Each round starts with the next tool (coras first in round 1, the
      # next peer in round 2, ...): no tool always follows the same one.
      order=()
      for turn in $(seq 0 $((${#sides[@]} - 1))); do
        order+=("${sides[$(((turn + round - 1) % ${#sides[@]}))]}")
      done
      for side in "${order[@]}"; do
        slug="$img-$direction-$mode-$side-$round"
        # Every run starts with no dirty pages of the runs before it (the
        # kernel's writeback of the last tool's gigabyte would otherwise slow
        # whichever tool comes next), and after a pause: a run started right
        # after the last one's check and removal was up to 2 x slower on this
        # machine (before coras wrote files in calls of at most 128 KiB, most
        # runs of its 1 GiB pull were slow even with the pause: large
        # page-cache folios on this VM, docs/benchmarks.md). Untimed.
        sync
        sleep 1
        if [ "$side" = coras ] && [ "$have_copy" != yes ]; then
          helpers record "$results" "" kind=copy "row=$row" side=coras \
            round="$round" status=skipped bytes="$bytes" \
            "note=coras copy: pending (\`coras copy --help\` fails in this build)" >/dev/null
          continue
        fi
        check_note=""
        if [ "$direction" = pull ]; then
          dst=$work/out/$slug
          src_ref="$reg/bench/$img:v1"
          tag=v1
          case "$side" in
            coras)
              out=$(measured "$slug" -- "$coras" copy "$src_ref" "oci:$dst:v1" "${coras_flags[@]}") || true ;;
            skopeo)
              clear_skopeo_cache
              out=$(measured "$slug" -- "${skopeo[@]}" "${skopeo_src[@]}" \
                "docker://$src_ref" "oci:$dst:v1") || true ;;
            crane)
              # crane names the image by its whole reference (--annotate-ref).
              tag=$src_ref
              out=$(measured "$slug" -- "${crane_cmd[@]}" pull --format=oci --annotate-ref \
                "$src_ref" "$dst") || true ;;
          esac
          if ! helpers check "$dst" "$tag" "$count" >>"$logs/$slug.log" 2>&1; then
            check_note="status=failed"
          fi
          rm -rf "$dst"
        else
          local repo="bench/$img-push-$side-$mode-r$round"
          case "$side" in
            coras)
              out=$(measured "$slug" -- "$coras" copy "oci:$work/img-$img:v1" "$reg/$repo:v1" \
                "${coras_flags[@]}") || true ;;
            skopeo)
              clear_skopeo_cache
              out=$(measured "$slug" -- "${skopeo[@]}" "${skopeo_dst[@]}" \
                "oci:$work/img-$img:v1" "docker://$reg/$repo:v1") || true ;;
            crane)
              out=$(measured "$slug" -- "${crane_cmd[@]}" push "$work/img-$img" "$reg/$repo:v1") || true ;;
          esac
          # The pushed manifest must be the source's (no recompression, no conversion).
          local got
          got=$(curl -s -I --max-time 10 "${curl_flags[@]}" \
            -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
            "$CORAS_TEST_SCHEME://$reg/v2/$repo/manifests/v1" |
            tr -d '\r' | awk 'tolower($1) == "docker-content-digest:" {print $2}') || true
          if [ "$got" != "${img_manifest[$img]}" ]; then
            echo "pushed manifest: '$got', source: ${img_manifest[$img]}" >>"$logs/$slug.log"
            check_note="status=failed"
          fi
        fi
        [ -n "$out" ] || out='{"rc": 1}'
        read -r status detail < <(helpers record "$results" "$out" kind=copy "row=$row" \
          side="$side" round="$round" bytes="$bytes" $check_note)
        printf '    %-24s %-6s round %d: %s %s\n' "$row" "$side" "$round" "$status" "$detail" >&2
        [ "$status" = ok ] || show_failure "$slug"
      done
    done
  }

  # mirror_row: N clients pull the big image's blobs (curl | openssl dgst, each
  # checked) through a fresh, cold `coras serve --mirror` of this registry,
  # then again through the same (now warm) mirror, then straight from the
  # registry.
  mirror_row() {
    [ "$mode" = plain ] || return 0
    local count=${img_count[big]} n=$mirror_clients
    local bytes=$((img_bytes[big] * n))
    local row="mirror $n clients ${img_label[big]}"
    local limit=900 round slug out status detail note base blobs=$big_blobs
    cat >"$work/mirror-clients.sh" <<'SH'
#!/usr/bin/env bash
# mirror-clients.sh BASE N DIGEST...: N clients, each GETs every blob and checks its sha256
# (OpenSSL's: coreutils' sha256sum is 3x slower here and made the clients the bottleneck).
set -euo pipefail
base=$1 n=$2
shift 2
client() {
  local d got
  for d in "$@"; do
    got=$(curl -sf "$base/blobs/$d" | openssl dgst -sha256 -r | cut -d' ' -f1)
    [ "sha256:$got" = "$d" ] || { echo "client $1: $d came back as sha256:$got" >&2; return 1; }
  done
}
pids=()
for _ in $(seq 1 "$n"); do client "$@" & pids+=($!); done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
exit $rc
SH
    chmod +x "$work/mirror-clients.sh"
    for round in $(seq 1 "$rounds"); do
      # The mirror, cold (a fresh store), then warm (the same mirror again),
      # then the same clients straight from docker-registry: that run is the
      # peer of both rows.
      slug="mirror-cold-$round"
      local mlog=$work/mirror-$round.log
      : >"$mlog"
      "$coras" serve --listen 127.0.0.1:0 --root "$work/mirror-root-$round" \
        --mirror "http://$reg" >"$mlog" 2>&1 &
      serve_pid=$!
      local murl=""
      for _ in $(seq 1 100); do
        murl=$(sed -n 's/^listening on //p' "$mlog" | head -1)
        [ -n "$murl" ] && break
        sleep 0.1
      done
      base="$murl/v2/bench/big"
      # shellcheck disable=SC2086
      out=$(measured "$slug" -- "$work/mirror-clients.sh" "$base" "$n" $blobs) || true
      local up_cold up_warm
      up_cold=$(curl -s "$murl/metrics" | sed -n 's/^coras_mirror_upstream_bytes_total //p')
      note="note=cold: upstream bytes ${up_cold:-?} for an image of ${img_bytes[big]}"
      [ -n "$out" ] || out='{"rc": 1}'
      read -r status detail < <(helpers record "$results" "$out" kind=copy "row=$row cold" \
        side=coras round="$round" bytes="$bytes" "$note")
      printf '    %-24s %-6s round %d: %s %s %s\n' "$row cold" coras "$round" "$status" "$detail" "${note#note=}" >&2
      [ "$status" = ok ] || show_failure "$slug"

      slug="mirror-warm-$round"
      # shellcheck disable=SC2086
      out=$(measured "$slug" -- "$work/mirror-clients.sh" "$base" "$n" $blobs) || true
      up_warm=$(curl -s "$murl/metrics" | sed -n 's/^coras_mirror_upstream_bytes_total //p')
      note="note=warm: upstream bytes during the warm round $(( ${up_warm:-0} - ${up_cold:-0} )) (goal 0); goal: throughput >= 2x docker-registry's"
      kill "$serve_pid" 2>/dev/null || true
      wait "$serve_pid" 2>/dev/null || true
      serve_pid=
      rm -rf "$work/mirror-root-$round"
      [ -n "$out" ] || out='{"rc": 1}'
      read -r status detail < <(helpers record "$results" "$out" kind=copy "row=$row warm" \
        side=coras round="$round" bytes="$bytes" "$note")
      printf '    %-24s %-6s round %d: %s %s %s\n' "$row warm" coras "$round" "$status" "$detail" "${note#note=}" >&2
      [ "$status" = ok ] || show_failure "$slug"

      slug="mirror-direct-$round"
      base="http://$reg/v2/bench/big"
      # shellcheck disable=SC2086
      out=$(measured "$slug" -- "$work/mirror-clients.sh" "$base" "$n" $blobs) || true
      [ -n "$out" ] || out='{"rc": 1}'
      local which
      for which in cold warm; do
        read -r status detail < <(helpers record "$results" "$out" kind=copy "row=$row $which" \
          side=docker-registry round="$round" bytes="$bytes")
      done
      printf '    %-24s %-6s round %d: %s %s\n' "$row" direct "$round" "$status" "$detail" >&2
      [ "$status" = ok ] || show_failure "$slug"
    done
    : "$count"
  }

  big_blobs=""
  if [ -d "$work/img-big" ]; then
    big_blobs=$(python3 -c 'import json,sys
m=json.load(open(sys.argv[1]+"/blobs/sha256/"+sys.argv[2].split(":")[1]))
print(" ".join([m["config"]["digest"]]+[l["digest"] for l in m["layers"]]))' "$work/img-big" "${img_manifest[big]}")
  fi
  case " $rows " in *" big-pull "*) ceiling_rows ;; esac
  case " $rows " in *" big-pull "*) copy_row big pull ;; esac
  case " $rows " in *" big-push "*) copy_row big push ;; esac
  case " $rows " in *" small "*) copy_row small pull; copy_row small push ;; esac
  case " $rows " in *" mirror "*) mirror_row ;; esac
}

# ---------------------------------------------------------------------------
# start_serve LOG [ARGS...]: `coras serve` on a free loopback port; sets
# serve_pid and serve_url (http://127.0.0.1:PORT).
start_serve() {
  local serve_log=$1
  shift
  : >"$serve_log"
  "$coras" serve --listen 127.0.0.1:0 "$@" >"$serve_log" 2>&1 &
  serve_pid=$!
  serve_url=""
  for _ in $(seq 1 100); do
    serve_url=$(sed -n 's/^listening on //p' "$serve_log" | head -1)
    [ -n "$serve_url" ] && break
    kill -0 "$serve_pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$serve_url" ] || { cat "$serve_log" >&2; echo "coras serve did not start" >&2; return 1; }
}

stop_serve() {
  kill "$serve_pid" 2>/dev/null || true
  wait "$serve_pid" 2>/dev/null || true
  serve_pid=
}

# The small image's rows against `coras serve` (content on disk, as
# docker-registry keeps it), whose ~3 ms of CPU per blob GET do not bound
# the client as docker-registry's do (issue 20, item 4).
serve_rows() {
  local root=$work/serve-root
  rm -rf "$root"
  mkdir -p "$root"
  start_serve "$work/serve-small.log" --root "$root" || return 1
  CORAS_TEST_REGISTRY=${serve_url#http://} CORAS_TEST_SCHEME=http \
    "$here/compare.sh" --registry-rows serve || echo "coras serve rows failed" >&2
  stop_serve
  rm -rf "$root"
}

# record_rate ROW SIDE ROUND SLUG OUT: records one run of a request-rate row
# (OUT: the helpers' JSON, empty when the tool failed) and says how it went.
record_rate() {
  local row=$1 side=$2 round=$3 slug=$4 out=${5:-'{"rc": 1}'} status detail
  read -r status detail < <(helpers record "$results" "$out" kind=rate "row=$row" \
    side="$side" round="$round")
  printf '    %-24s %-6s round %d: %s %s\n' "$row" "$side" "$round" "$status" "$detail" >&2
  [ "$status" = ok ] || show_failure "$slug"
}

# Manifest rows: coras-bench resolve and wrk against `coras serve`.
resolve_rows() {
  start_serve "$work/serve.log" || return 1
  local url=$serve_url
  local reg=${url#http://}
  log "coras serve on $url: manifest HEAD and GET at concurrency 64"
  # coras-bench pushes its manifest (coras-bench/resolve:bench) before it times anything.
  timeout --foreground 60 "$bench" resolve --registry "$reg" --plain-http --requests 1 \
    --concurrency 1 --threads 1 --json >/dev/null
  local murl="$url/v2/coras-bench/resolve/manifests/bench"
  local wrk_args=(-t1 -c64 --latency -s "$here/wrk-manifest.lua")

  # wrk 4.1 waits for a body after a HEAD answer; see whether this one does.
  local probe wrk_head=no probed=0
  probe=$(timeout --foreground 30 wrk "${wrk_args[@]}" -d2s --timeout 1s "$murl" -- HEAD 2>&1 |
    helpers wrk) || true
  probed=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["requests"])' "$probe" 2>/dev/null) || probed=0
  if [ "$probed" -ge 1000 ] && [[ "$probe" == *'"rc": 0'* ]]; then
    wrk_head=yes
  fi

  local method row round out slug status detail
  for method in HEAD GET; do
    row="manifest $method c64 (resolve)"
    [ "$method" = GET ] && row="manifest GET c64 (fetch)"
    for round in $(seq 1 "$rounds"); do
      slug="resolve-$method-coras-$round"
      out=$(timeout --foreground 300 "$bench" resolve --method "$method" --registry "$reg" \
        --plain-http --requests "$requests" --concurrency 64 --threads 1 --json 2>"$logs/$slug.log" |
        helpers bench) || true
      record_rate "$row" coras "$round" "$slug" "$out"
      slug="resolve-$method-wrk-$round"
      if [ "$method" = HEAD ] && [ "$wrk_head" != yes ]; then
        helpers record "$results" "" kind=rate "row=$row" side=wrk \
          round="$round" status=skipped \
          "note=wrk 4.1 cannot time HEAD: it waits for a body after each HEAD answer (wg/wrk#198); in a 2 s probe it completed $probed requests" >/dev/null
        continue
      fi
      out=$(timeout --foreground $((duration + 30)) wrk "${wrk_args[@]}" -d"${duration}s" "$murl" \
        -- "$method" 2>&1 | tee "$logs/$slug.log" | helpers wrk) || true
      record_rate "$row" wrk "$round" "$slug" "$out"
      # The same GET on Asio and Beast alone, each request an operation
      # co_spawn'ed onto a strand: what the stack leaves for coras's layers.
      if [ "$method" = GET ]; then
        slug="resolve-$method-floor-$round"
        out=$(timeout --foreground 300 "$bench" floor "$murl" --shape operation \
          --requests "$requests" --concurrency 64 --json 2>"$logs/$slug.log") || true
        record_rate "$row" "asio floor" "$round" "$slug" "$out"
      fi
    done
  done

  # Many operations queued on one io_context: what they cost in memory (no
  # peer does this; the row shows coras's peak RSS and rate).
  row="resolve c10000 over 64 conns"
  for round in $(seq 1 "$rounds"); do
    slug="resolve-queued-coras-$round"
    out=$(timeout --foreground 300 "$bench" resolve --registry "$reg" --plain-http \
      --requests 20000 --concurrency 10000 --connections 64 --threads 1 --json \
      2>"$logs/$slug.log" | helpers bench) || true
    record_rate "$row" coras "$round" "$slug" "$out"
  done
  stop_serve
}

machine_info() {
  echo "nproc: $(nproc)"
  echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
  echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "kernel: $(uname -sr)"
  # shellcheck disable=SC1091
  echo "os: $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "coras: $(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown), $build"
  echo "skopeo: $(skopeo --version | awk '{print $3}')"
  echo "docker-registry: $(docker-registry --version | awk '{print $3}')"
  if [ -n "$crane" ]; then
    # A crane built from Debian's sources (peer-crane.sh) has no module
    # version: the .deb it came from names it.
    local v deb
    v=$("$crane" version 2>/dev/null) || v=""
    case "$v" in *"could not determine"*) v="" ;; esac
    deb=$(compgen -G "$(dirname "$crane")/../trixie/debs/golang-github-google-go-containerregistry-dev_*.deb" | head -1) || true
    [ -n "$v" ] || [ -z "$deb" ] || v="go-containerregistry $(basename "$deb" | cut -d_ -f2) (Debian)"
    echo "crane: ${v:-unknown version}, $crane"
  else
    echo "crane: absent"
  fi
  echo "curl: $(curl --version | awk 'NR == 1 {print $2}'), openssl: $(openssl version | awk '{print $2}')"
  echo "wrk: $(dpkg-query -W -f='${Version}' wrk 2>/dev/null || echo unknown)"
  echo "coras copy: $([ "$have_copy" = yes ] && echo present || echo "absent (rows pending)")"
  echo "run: $rounds rounds, big ${img_label[big]}, small ${img_label[small]}, tls $tls, rows ${rows# }"
  # Other work on the machine skews everything: say how busy it was.
  echo "load average (1/5/15 min): at start $load_start, at end $(cut -d' ' -f1-3 /proc/loadavg)"
}

# The EXIT trap: stops `coras serve` if it runs, removes the temporary
# directory. (set -e is still on here: nothing in it may fail.)
cleanup() {
  if [ -n "${serve_pid:-}" ]; then
    kill "$serve_pid" 2>/dev/null || true
    wait "$serve_pid" 2>/dev/null || true
  fi
  rm -rf "$work" || true
}

# ---------------------------------------------------------------------------
main() {
  rounds=3 tls=no big=8x128M small=200x64K rows="big-pull big-push small small-serve resolve mirror"
  copy_concurrency="" requests=200000 duration=3 json_out="" mirror_clients=16
  crane=${CRANE:-}
  while [ $# -gt 0 ]; do
    case "$1" in
      --rounds) rounds=${2:?}; shift 2 ;;
      --tls) tls=yes; shift ;;
      --big) big=${2:?}; shift 2 ;;
      --small) small=${2:?}; shift 2 ;;
      --rows) rows=" ${2//,/ } "; shift 2 ;;
      --copy-concurrency) copy_concurrency=${2:?}; shift 2 ;;
      --mirror-clients) mirror_clients=${2:?}; shift 2 ;;
      --crane) crane=${2:?}; shift 2 ;;
      --requests) requests=${2:?}; shift 2 ;;
      --duration) duration=${2:?}; shift 2 ;;
      --json) json_out=$(realpath -m "${2:?}"); shift 2 ;;
      -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
      *) echo "unknown option: $1 (--help)" >&2; exit 2 ;;
    esac
  done
  rows=" ${rows# } "
  # crane: --crane, $CRANE, what peer-crane.sh builds, or the PATH's.
  if [ -z "$crane" ] && [ -x "${PEER_WORK:-/tmp/oci-peers}/bin/crane" ]; then
    crane=${PEER_WORK:-/tmp/oci-peers}/bin/crane
  fi
  [ -n "$crane" ] || crane=$(command -v crane || true)
  if [ -n "$crane" ]; then
    [ -x "$crane" ] || { echo "crane: $crane is not an executable" >&2; exit 2; }
    crane=$(realpath "$crane")
  else
    log "crane not found: its columns say absent (--crane PATH; docs/benchmarks.md says how to build it)"
  fi
  load_start=$(cut -d' ' -f1-3 /proc/loadavg)
  local tool
  for tool in docker-registry skopeo wrk curl python3 openssl ss; do
    command -v "$tool" >/dev/null || { echo "$tool is not installed (scripts/run bench installs it)" >&2; exit 1; }
  done
  for tool in "$coras" "$bench"; do
    [ -x "$tool" ] || { echo "$tool is missing: build first (BUILD_DIR=$build)" >&2; exit 1; }
  done

  work=$(mktemp -d /tmp/coras-compare.XXXXXX)
  serve_pid=
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  logs=$work/logs results=$work/results.jsonl
  mkdir -p "$logs" "$work/out"
  : >"$results"

  have_copy=no
  if timeout --foreground 10 "$coras" copy --help >/dev/null 2>&1; then
    have_copy=yes
  else
    log "coras copy is not in this build (\`coras copy --help\` fails): the coras side of the copy rows is skipped and marked pending"
  fi

  declare -gA img_count img_size img_bytes img_label img_manifest
  local img spec
  for img in big small; do
    spec=${!img}
    img_count[$img]=${spec%%x*}
    img_size[$img]=${spec#*x}
    img_label[$img]=$spec
  done
  if [[ "$rows" == *" big-"* || "$rows" == *" small"* || "$rows" == *" mirror "* ]]; then
    for img in big small; do
      case " $rows " in *" $img-"*|*" $img "*) ;; *" mirror "*) [ "$img" = big ] || continue ;; *) continue ;; esac
      log "making the $img image: ${img_count[$img]} gzip layers of ${img_size[$img]} random bytes"
      img_bytes[$img]=$(timeout --foreground 600 python3 "$here/compare_helpers.py" image \
        "$work/img-$img" v1 "${img_count[$img]}" "${img_size[$img]}")
      img_manifest[$img]=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' \
        "$work/img-$img/index.json")
    done
    # The fixture runs this script again with --registry-rows (at the end),
    # which takes its state from the environment.
    CORAS_COMPARE_STATE=$(declare -p work logs results rounds rows copy_concurrency have_copy mirror_clients \
      crane img_count img_size img_bytes img_label img_manifest)
    export CORAS_COMPARE_STATE
    case " $rows " in *" big-pull "*) log "ceilings: openssl speed"; openssl_rows ;; esac
    local mode
    if [[ " $rows " =~ \ (big-pull|big-push|small|mirror)\  ]]; then
      for mode in plain $([ "$tls" = yes ] && echo tls); do
        "$fixtures/with-docker-registry" "$mode" -- "$here/compare.sh" --registry-rows "$mode" || {
          echo "registry rows ($mode) failed" >&2
          exit 1
        }
      done
    fi
    case " $rows " in *" small-serve "*) serve_rows ;; esac
  fi
  case "$rows" in *" resolve "*) resolve_rows ;; esac

  machine_info >"$work/machine.txt"
  helpers report "$results" "$work/machine.txt" ${json_out:+"$json_out"}
}

if [ "${1:-}" = --registry-rows ]; then
  eval "$CORAS_COMPARE_STATE"
  # against `coras serve`: the small image's rows only
  [ "$2" = serve ] && rows=" small "
  registry_rows "$2"
  exit 0
fi
main "$@"
