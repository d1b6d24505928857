#!/usr/bin/env bash
# The layer check must fail on an upward include planted in a copy of the real
# tree (http including auth, the cycle the check was written against; content
# including remote; a public header including Beast), and name the file and line.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$src/lib" "$src/include" "$tmp/"
python3 "$src/test/layers/check_layers.py" "$tmp" >/dev/null  # the copy is clean
echo '#include "auth/authorizer.hpp"' >> "$tmp/lib/http/client.cpp"
echo '#include <coras/remote/repository.hpp>' >> "$tmp/include/coras/content/store.hpp"
echo '#include <boost/beast/http.hpp>' >> "$tmp/include/coras/core/digest.hpp"
if out=$(python3 "$src/test/layers/check_layers.py" "$tmp"); then
  echo "FAIL: the planted upward includes passed the layer check"; exit 1
fi
grep -q 'lib/http/client.cpp:[0-9]*: http includes auth/authorizer.hpp' <<<"$out" || { echo "FAIL: $out"; exit 1; }
grep -q 'include/coras/content/store.hpp:[0-9]*: content includes coras/remote/repository.hpp' <<<"$out" || { echo "FAIL: $out"; exit 1; }
grep -q 'include/coras/core/digest.hpp:[0-9]*: a public header includes boost/beast/http.hpp' <<<"$out" || { echo "FAIL: $out"; exit 1; }
echo "planted upward includes rejected: ok"
