#!/usr/bin/env python3
"""Fails when an #include runs up the layer order of docs/architecture.md.

Usage: check_layers.py [ROOT]   (ROOT defaults to the repository top)

Every file under include/coras/LAYER/ and lib/LAYER/ belongs to LAYER; an
include names a layer when it is <coras/LAYER/...> or "LAYER/..." (lib's
private headers). A layer may include only itself and the layers in
ALLOWED[layer]. `detail` (lib/detail, include/coras/detail) holds the
completion-token and coroutine plumbing every layer shares; it sits on core.
Relative includes that climb out of a folder ("../") are refused in lib/ and
include/, so the rule cannot be walked around. Public headers stay light:
nothing under include/coras/ includes Beast, Boost.JSON, Asio's SSL or
OpenSSL (those are compiled once, in lib/).
"""
import os
import re
import sys

ALLOWED = {
    'core': {'core', 'detail'},
    'detail': {'core', 'detail'},
    'http': {'core', 'detail', 'http'},
    'auth': {'core', 'detail', 'http', 'auth'},
    # content knows no network: stores that are not remote.
    'content': {'core', 'detail', 'content'},
    'remote': {'core', 'detail', 'http', 'auth', 'content', 'remote'},
    # copy speaks to stores through content's interfaces only.
    'copy': {'core', 'detail', 'content', 'copy'},
    # the server shares core and http's grammars, never the client's remote layer.
    'server': {'core', 'detail', 'http', 'server'},
    'mirror': {'core', 'detail', 'http', 'auth', 'content', 'remote', 'copy', 'server', 'mirror'},
}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
HEAVY = ('boost/beast', 'boost/json', 'boost/asio/ssl', 'openssl/')


def layer_named(target, quote):
    parts = target.split('/')
    if quote == '<':
        return parts[1] if len(parts) > 2 and parts[0] == 'coras' else None
    return parts[0] if len(parts) > 1 and parts[0] in ALLOWED else None


def check(root):
    problems = []
    for top in ('lib', os.path.join('include', 'coras')):
        base = os.path.join(root, top)
        for folder, _, files in os.walk(base):
            rel = os.path.relpath(folder, base)
            layer = rel.split(os.sep)[0]
            if layer not in ALLOWED:
                continue  # lib/boost_impl.cpp, the umbrella coras.hpp
            for name in sorted(files):
                path = os.path.join(folder, name)
                with open(path, errors='replace') as f:
                    for n, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        quote, target = m.groups()
                        where = '%s:%d' % (os.path.relpath(path, root), n)
                        if quote == '"' and '..' in target.split('/'):
                            problems.append('%s: "%s" climbs out of its folder' % (where, target))
                            continue
                        if top != 'lib' and target.startswith(HEAVY):
                            problems.append('%s: a public header includes %s (compiled in lib/ only)'
                                            % (where, target))
                            continue
                        named = layer_named(target, quote)
                        if named and named not in ALLOWED[layer]:
                            problems.append('%s: %s includes %s (%s may use: %s)' % (
                                where, layer, target, layer, ', '.join(sorted(ALLOWED[layer]))))
    return problems


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', '..')
    problems = check(os.path.abspath(root))
    for p in problems:
        print('layer check: ' + p)
    if problems:
        print('layer check: %d include(s) against the layer order (docs/architecture.md)' % len(problems))
        return 1
    print('layer check: ok')
    return 0


if __name__ == '__main__':
    sys.exit(main())
