#!/usr/bin/env python3
"""The public headers under INCLUDE_DIR/coras (detail/ excluded), one per line,
as they are included ("coras/core/digest.hpp").

With --check NAME...: exits 1 when the headers on disk differ from NAME...
(the list meson configured from), so a header added without re-running
meson setup is noticed instead of silently not compiled alone."""
import pathlib
import sys


def public_headers(include_dir):
    root = pathlib.Path(include_dir)
    return sorted(
        p.relative_to(root).as_posix()
        for p in (root / "coras").rglob("*.hpp")
        if "detail" not in p.relative_to(root).parts
    )


def main(argv):
    found = public_headers(argv[1])
    if len(argv) > 2 and argv[2] == "--check":
        configured = sorted(argv[3:])
        if found != configured:
            print("public headers changed since meson setup; re-run it (meson setup --reconfigure)")
            for h in sorted(set(found) - set(configured)):
                print("  not compiled alone:", h)
            for h in sorted(set(configured) - set(found)):
                print("  gone:", h)
            return 1
        print(len(found), "public headers, each compiled alone")
        return 0
    print("\n".join(found))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
