#!/usr/bin/env bash
# Install test: coras as a product people install and build against.
#
#   test/install/run.sh BUILD_DIR
#
# BUILD_DIR is a configured and built coras build directory (scripts/run test
# passes build/). The script installs it with `meson install --destdir` into
# BUILD_DIR/install-test/destdir, starts BUILD_DIR/cli/coras serve on a free
# loopback port, pushes a manifest under install/app:v1 with `coras manifest
# put`, and builds and runs three consumers, each resolving that tag and
# printing the digest, which must be what `coras resolve` prints:
#
#   pkgconfig  g++ with `pkg-config --cflags --libs coras`; a callback token
#   cmake      find_package(coras CONFIG REQUIRED) + coras::coras; use_awaitable
#   meson      coras under subprojects/ (a symlink to this source tree),
#              dependency('coras'); use_future. Built as the README says
#              (static), then again with -Dcoras:default_library=shared, which
#              relinks libcoras.so.0 through the version script and nothing
#              else, and must still resolve.
#
# Each consumer is test/install/NAME/app.cpp plus the build files and commands
# of README.md's "Use it in your project", copied out of README.md verbatim
# (the fenced block after each `<!-- install-test: NAME/FILE -->` line), so
# the README's instructions are what is tested. Then the examples/ programs
# are built against the installed package (pkg-config, through meson), unless
# CORAS_INSTALL_EXAMPLES=0.
#
# Prints one line per check ("install: NAME ok (build N s)") and closes with
# "install: N passed, N failed"; exits 1 if any failed. Work files stay in
# BUILD_DIR/install-test (a fixed place, so ccache hits on the next run).
set -euo pipefail

build=$(realpath "${1:?usage: test/install/run.sh BUILD_DIR}")
top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/test/install
coras=$build/cli/coras
[ -x "$coras" ] || { echo "install: $coras not built (configure with -Dcli=true)" >&2; exit 1; }

# coras-serve.sh gives start_server, fail and its own $work (server log,
# removed on exit); the consumers are built under $tdir.
# shellcheck source-path=SCRIPTDIR source=../fixtures/coras-serve.sh
source "$top/test/fixtures/coras-serve.sh"
require_tools pkg-config cmake meson ninja g++
tdir=$build/install-test
rm -rf "$tdir"
mkdir -p "$tdir"

passed=0
failed=0
result() {  # result NAME STATUS DETAIL
  if [ "$2" = ok ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
  echo "install: $1 $2${3:+ ($3)}"
}

# blocks NAME DIR: writes each README block tagged NAME/FILE to DIR/FILE.
blocks() {
  python3 - "$top/README.md" "$1" "$2" <<'PY'
import sys
readme, name, dest = sys.argv[1:]
lines = open(readme).read().splitlines()
prefix = f"<!-- install-test: {name}/"
found = 0
for i, line in enumerate(lines):
    if not line.startswith(prefix):
        continue
    path = line[len(prefix):].removesuffix(" -->")
    i += 1
    while not lines[i].startswith("```"):
        i += 1
    j = i + 1
    while not lines[j].startswith("```"):
        j += 1
    with open(f"{dest}/{path}", "w") as f:
        f.write("\n".join(lines[i + 1:j]) + "\n")
    found += 1
if not found:
    sys.exit(f"README.md has no install-test block for {name}")
PY
}

# timed LOG COMMAND...: runs COMMAND with its output in LOG and sets $secs to
# the wall-clock seconds it took.
timed() {
  local log=$1 start rc=0
  shift
  start=$(date +%s%N)
  "$@" >"$log" 2>&1 || rc=$?
  secs=$(awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
  return $rc
}

# check NAME LOG APP [DETAIL]: runs APP on the test reference and compares the
# digest it prints with `coras resolve`'s.
check() {
  local name=$1 log=$2 app=$3 detail=${4:-build $secs s} got
  # A shared libcoras in a prefix the dynamic linker does not search is found
  # the way a user would find it (CMake's and meson's programs carry an rpath).
  if ! got=$(LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    "$app" "$reg/install/app:v1" 2>>"$log"); then
    sed 's/^/  /' "$log" >&2
    result "$name" FAILED "the program failed"
    return 1
  fi
  if [ "$got" != "$expected" ]; then
    result "$name" FAILED "printed '$got', coras resolve printed '$expected'"
    return 1
  fi
  result "$name" ok "$detail"
}

# consumer NAME APP [ENV=VALUE | -u VAR]...: copies NAME/app.cpp and README's
# NAME/ blocks into $tdir/NAME, runs its build.sh there with that environment,
# then checks APP (relative to that directory).
consumer() {
  local name=$1 app=$2
  shift 2
  local d=$tdir/$name
  mkdir -p "$d"
  cp "$here/$name/app.cpp" "$d/"
  blocks "$name" "$d"
  if [ "$name" = meson ]; then
    mkdir -p "$d/subprojects"
    ln -s "$top" "$d/subprojects/coras"
  fi
  if ! timed "$d/build.log" env -C "$d" "$@" bash build.sh; then
    sed 's/^/  /' "$d/build.log" >&2
    result "$name" FAILED "build failed"
    return 1
  fi
  check "$name" "$d/build.log" "$d/$app"
}

# ---- install ----
if ! timed "$tdir/install.log" meson install -C "$build" --destdir "$tdir/destdir"; then
  cat "$tdir/install.log" >&2
  fail "meson install failed"
fi
pc=$(find "$tdir/destdir" -name coras.pc | head -1)
config=$(find "$tdir/destdir" -name corasConfig.cmake | head -1)
[ -n "$pc" ] || fail "no coras.pc installed"
[ -n "$config" ] || fail "no corasConfig.cmake installed"
[ -f "$(find "$tdir/destdir" -path '*/include/coras/version.hpp' | head -1)" ] ||
  fail "no coras/version.hpp installed"
# The prefix inside DESTDIR: the .pc file is in PREFIX/LIBDIR/pkgconfig.
prefix=$(pkg-config --variable=prefix "$pc")
libdir=$tdir/destdir$(pkg-config --variable=libdir "$pc")
echo "install: installed into $tdir/destdir$prefix ($secs s)"

# ---- the registry and the reference ----
start_server
printf '{}' >"$work/config.json"
"$coras" --plain-http blob put "$reg/install/app" "$work/config.json" >/dev/null 2>"$work/err" ||
  fail "coras blob put"
config_digest=sha256:$(sha "$work/config.json")
cat >"$work/manifest.json" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"$config_digest","size":2},"layers":[]}
EOF
"$coras" --plain-http manifest put "$reg/install/app:v1" "$work/manifest.json" >/dev/null \
  2>"$work/err" || fail "coras manifest put"
expected=$("$coras" --plain-http resolve "$reg/install/app:v1" 2>"$work/err") ||
  fail "coras resolve"

# Consumers see the installed package only through these (a staged install:
# pkg-config prefixes the .pc's paths with the sysroot, CMake's package finds
# its prefix from its own location).
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
unset CMAKE_PREFIX_PATH PKG_CONFIG_SYSROOT_DIR

# ---- the consumers ----
# (a) pkg-config and g++: the staged install's .pc paths are rebased on DESTDIR.
consumer pkgconfig app PKG_CONFIG_SYSROOT_DIR="$tdir/destdir" || true
# (b) CMake: the package finds its prefix from its own location.
consumer cmake build/app CMAKE_PREFIX_PATH="$tdir/destdir$prefix" || true
# (c) meson, coras as a subproject: nothing installed may be found instead.
if consumer meson build/app -u PKG_CONFIG_PATH; then
  d=$tdir/meson
  if [ ! -d "$d/build/subprojects/coras" ]; then
    result meson-subproject FAILED "dependency('coras') did not use subprojects/coras"
  # The same consumer with the shared library: a relink, no recompile.
  elif ! timed "$d/shared.log" env -C "$d" -u PKG_CONFIG_PATH \
      sh -c 'meson configure build -Dcoras:default_library=shared && meson compile -C build'; then
    sed 's/^/  /' "$d/shared.log" >&2
    result meson-shared FAILED "build failed"
  elif ! readelf -d "$d/build/app" | grep -q 'NEEDED.*libcoras\.so\.0'; then
    result meson-shared FAILED "app does not load libcoras.so.0"
  else
    check meson-shared "$d/shared.log" "$d/build/app" "relink $secs s" || true
  fi
fi

# ---- examples/, against the installed package ----
if [ "${CORAS_INSTALL_EXAMPLES:-1}" != 0 ]; then
  d=$tdir/examples
  mkdir -p "$d"
  cp "$here/examples/meson.build" "$d/"
  ln -s "$top/examples" "$d/examples"
  if timed "$d/build.log" env -C "$d" PKG_CONFIG_SYSROOT_DIR="$tdir/destdir" \
      sh -c 'meson setup build && meson compile -C build'; then
    # Smoke-run the one that needs no registry.
    if "$d/build/examples/example_parse_reference" "$reg/install/app:v1" >>"$d/build.log" 2>&1; then
      result examples ok "$(find "$d/build/examples" -maxdepth 1 -type f -name 'example_*' | wc -l) programs, build $secs s"
    else
      sed 's/^/  /' "$d/build.log" >&2
      result examples FAILED "example_parse_reference failed"
    fi
  else
    sed 's/^/  /' "$d/build.log" >&2
    result examples FAILED "build failed"
  fi
fi

stop_server || fail "coras serve did not exit 0 on SIGTERM"
echo "install: $passed passed, $failed failed"
[ "$failed" = 0 ]
