#!/usr/bin/env python3
"""Checks that every ```cpp block of README.md and docs/*.md is compiled code.

Each ```cpp block must follow a marker line:

    <!-- snippet: FILE.cpp#NAME -->
        the block is, byte for byte, the region NAME of docs/snippets/FILE.cpp:
        the lines between `// [snippet NAME]` and `// [end]`, dedented (regions
        of one name are joined in order, so an #include at the top of the file
        and the body of a function can make one block);
    <!-- not compiled: WHY -->
        the block is deliberately not compiled code (a signature, pseudo-code),
        and WHY says so.

The snippet files are compiled by the build (docs/snippets/meson.build), so a
block that names an API that changed fails the build, and a block edited
without its snippet fails this check. Usage: check_snippets.py ROOT
(prints FILE:LINE: problem for each failure; exit status 1 if any).
"""
import pathlib
import re
import sys

MARKER = re.compile(r'^<!--\s*snippet:\s*([\w.-]+\.cpp)#([\w-]+)\s*-->\s*$')
NOT_COMPILED = re.compile(r'^<!--\s*not compiled:\s*(\S.*?)\s*-->\s*$')
START = re.compile(r'^\s*// \[snippet ([\w-]+)\]\s*$')
END = re.compile(r'^\s*// \[end\]\s*$')


def dedent(lines):
    indents = [len(l) - len(l.lstrip(' ')) for l in lines if l.strip()]
    cut = min(indents) if indents else 0
    return [l[cut:] if l.strip() else '' for l in lines]


def regions(path):
    """NAME -> dedented lines, for every region of one snippet file."""
    found, current, problems = {}, None, []
    for number, line in enumerate(path.read_text().split('\n'), 1):
        if m := START.match(line):
            if current:
                problems.append(f'{path}:{number}: region {m.group(1)} opens inside {current[0]}')
            current = (m.group(1), [])
        elif END.match(line):
            if not current:
                problems.append(f'{path}:{number}: [end] without a region')
                continue
            found.setdefault(current[0], []).extend(dedent(current[1]))
            current = None
        elif current:
            current[1].append(line)
    if current:
        problems.append(f'{path}: region {current[0]} has no [end]')
    return found, problems


def check(root):
    root = pathlib.Path(root)
    snippets_dir = root / 'docs' / 'snippets'
    cache, problems = {}, []
    pages = [root / 'README.md'] + sorted((root / 'docs').glob('*.md'))
    blocks = 0
    for page in pages:
        lines = page.read_text().split('\n')
        rel = page.relative_to(root)
        i = 0
        while i < len(lines):
            if not lines[i].startswith('```cpp'):
                i += 1
                continue
            start = i
            end = start + 1
            while end < len(lines) and not lines[end].startswith('```'):
                end += 1
            block = lines[start + 1:end]
            blocks += 1
            marker = lines[start - 1] if start > 0 else ''
            where = f'{rel}:{start + 1}'
            if NOT_COMPILED.match(marker):
                pass
            elif m := MARKER.match(marker):
                file, name = m.group(1), m.group(2)
                if file not in cache:
                    path = snippets_dir / file
                    cache[file] = regions(path) if path.exists() else ({}, [f'{where}: no docs/snippets/{file}'])
                    problems += cache[file][1]
                found = cache[file][0]
                if name not in found:
                    problems.append(f'{where}: docs/snippets/{file} has no region "{name}"')
                else:
                    want = found[name]
                    while want and not want[-1]:
                        want = want[:-1]
                    if block != want:
                        for n, (a, b) in enumerate(zip(block + [None] * len(want), want + [None] * len(block))):
                            if a != b:
                                problems.append(f'{rel}:{start + 2 + n}: differs from docs/snippets/{file}#{name}:\n'
                                                f'  doc:     {a!r}\n  snippet: {b!r}')
                                break
            else:
                problems.append(f'{where}: a ```cpp block without a marker line before it '
                                '(<!-- snippet: FILE.cpp#NAME --> or <!-- not compiled: WHY -->)')
            i = end + 1
    return blocks, problems


if __name__ == '__main__':
    blocks, problems = check(sys.argv[1] if len(sys.argv) > 1 else '.')
    for p in problems:
        print(p)
    if problems:
        sys.exit(1)
    print(f'{blocks} ```cpp blocks match their snippets')
