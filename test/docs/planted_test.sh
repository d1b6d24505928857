#!/usr/bin/env bash
# The docs' code check must fail on a copy of the real docs with a block
# edited away from its snippet, and with a ```cpp block that has no marker,
# and name the file and line.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/docs"
cp "$src/README.md" "$tmp/"
cp -r "$src/docs/." "$tmp/docs/"
python3 "$src/test/docs/check_snippets.py" "$tmp" >/dev/null  # the copy is clean
# An edited block: a call the snippet does not make.
sed -i 's/auto desc = co_await repo.async_resolve("v1");            \/\/ HEAD with the Accept list/auto desc = co_await repo.async_resolve("v2");            \/\/ HEAD with the Accept list/' "$tmp/docs/remote.md"
grep -q 'async_resolve("v2")' "$tmp/docs/remote.md" || { echo "FAIL: the plant did not take"; exit 1; }
# A block without a marker.
printf '\nMore:\n\n```cpp\nint unchecked = 0;\n```\n' >> "$tmp/docs/core.md"
if out=$(python3 "$src/test/docs/check_snippets.py" "$tmp"); then
  echo "FAIL: the planted blocks passed the check"; exit 1
fi
grep -q 'docs/remote.md:[0-9]*: differs from docs/snippets/remote.cpp#quick-start' <<<"$out" || { echo "FAIL: $out"; exit 1; }
grep -q 'docs/core.md:[0-9]*: a ```cpp block without a marker' <<<"$out" || { echo "FAIL: $out"; exit 1; }
echo "planted doc blocks rejected: ok"
