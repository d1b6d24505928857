#!/usr/bin/env bash
# bench/http-head.sh [REQUESTS] [CONCURRENCY]
#
# Small requests to `coras serve` (127.0.0.1, plain HTTP) from coras's client
# (`coras-bench http`, one thread) and from wrk (one thread) at the same
# concurrency, side by side:
#   - HEAD of a 64 KiB blob (coras only: wrk's parser cannot take a HEAD answer
#     that carries Content-Length; it waits for a body that never comes)
#   - GET /v2/ (a 2-byte body), coras and wrk: the like-for-like ratio.
# Bounded: REQUESTS (default 10000) per coras run, 5 seconds for wrk.
# BUILD_DIR (default build) holds cli/coras and bench/coras-bench.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
requests=${1:-10000}
concurrency=${2:-64}

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$build/cli/coras" serve --listen "127.0.0.1:$port" >/dev/null &
pid=$!
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 50); do curl -sf -o /dev/null "http://127.0.0.1:$port/v2/" && break; sleep 0.1; done

head -c 65536 /dev/urandom > "$work/blob"
digest=sha256:$(python3 -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$work/blob")
curl -sf -o /dev/null -X POST --data-binary @"$work/blob" -H 'Content-Type: application/octet-stream' \
  "http://127.0.0.1:$port/v2/bench/blobs/uploads/?digest=$digest"
url="http://127.0.0.1:$port/v2/bench/blobs/$digest"

# coras-bench http URL: one line per run from its --json output.
coras_http() {
  timeout 120 "$build/bench/coras-bench" http "$1" --method "$2" --requests "$requests" \
    --concurrency "$concurrency" --threads 1 --json |
    python3 -c 'import json,sys
p = json.load(sys.stdin)["phases"][0]
print("coras: %d %s requests, %d concurrent, %.2f s, %.0f req/s, %d connections, %d TLS handshakes" % (
    p["items"], sys.argv[1], p["concurrency"], p["wall_s"], p["requests_per_s"],
    p["connections_opened"], p["tls_handshakes"]))' "$2"
}

wrk_out=$(timeout 30 wrk -t1 -c"$concurrency" -d5s "http://127.0.0.1:$port/v2/")
wrk_rps=$(echo "$wrk_out" | awk '/Requests\/sec/ {print $2}')
head_out=$(coras_http "$url" HEAD)
get_out=$(coras_http "http://127.0.0.1:$port/v2/" GET)
get_rps=$(echo "$get_out" | sed -E 's/.* ([0-9]+) req\/s.*/\1/')

echo "$head_out"
echo "$get_out"
echo "wrk:   GET /v2/, 5 s, $concurrency concurrent, one thread, $wrk_rps req/s"
python3 -c "print(f'coras / wrk (GET /v2/) = {float($get_rps)/float($wrk_rps):.2f}')"
