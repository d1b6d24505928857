#!/usr/bin/env python3
"""check_sweep.py CORAS_BENCH: runs a tiny `coras-bench sweep` (2 concurrencies
x 2 blob sizes, ranges off, plain, 3 runs per point) in a temporary directory and checks what
it wrote: the CSV has the header and one row per point with sane numbers,
and the SVG parses as XML and has a line per blob size in each panel, the
reference lines and the legend. Fails when the sweep writes nothing."""
import csv
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"


def main(bench):
    with tempfile.TemporaryDirectory(prefix="check-sweep.") as tmp:
        out_csv, out_svg = os.path.join(tmp, "s.csv"), os.path.join(tmp, "s.svg")
        cmd = [bench, "sweep", "--concurrency", "1,2", "--sizes", "4K,64K", "--ranges", "off",
               "--modes", "plain", "--max-bytes", "1M", "--max-blobs", "16", "--memory", "--repeat", "3",
               "--ceiling", "curl plain=1000", "--ceiling", "curl tls=500",
               "--cpu-floor", "sha256=0.7", "--csv", out_csv, "--svg", out_svg]
        subprocess.run(cmd, check=True, timeout=100)
        with open(out_csv, newline="") as f:
            rows = list(csv.DictReader(f))
        want = {(c, s) for c in ("1", "2") for s in ("4096", "65536")}
        got = {(r["concurrency"], r["size_bytes"]) for r in rows}
        assert len(rows) == 4 and got == want, f"CSV points {sorted(got)}, expected {sorted(want)}"
        for r in rows:
            assert r["mode"] == "plain" and r["ranges"] == "off", r
            blobs = 1024 // 4 if r["size_bytes"] == "4096" else 16
            blobs = min(blobs, 16)
            assert int(r["blobs"]) == blobs, r
            assert int(r["bytes"]) == blobs * int(r["size_bytes"]), r
            assert float(r["seconds"]) > 0 and float(r["mib_per_s"]) > 0, r
            assert float(r["client_cpu_s_per_gib"]) > 0, r
            assert int(r["requests"]) >= blobs, r
            assert r["repeats"] == "3", r
        root = ET.parse(out_svg).getroot()
        assert root.tag == SVG + "svg", root.tag
        lines = root.findall(f".//{SVG}polyline")
        # two panels (throughput, CPU per GiB), a line per blob size in each
        assert len(lines) == 4, f"{len(lines)} polylines, expected 4"
        names = sorted(t.text for t in root.findall(f".//{SVG}polyline/{SVG}title"))
        assert names == ["4 KiB blobs"] * 2 + ["64 KiB blobs"] * 2, names
        for line in lines:
            assert len(line.get("points").split()) == 2, line.get("points")
        texts = [t.text or "" for t in root.iter(f"{SVG}text")]
        # the plain ceiling and the CPU floor are drawn; the TLS ceiling is not
        assert "curl plain" in texts and "sha256" in texts, texts
        assert "curl tls" not in texts, texts
        # --from-csv draws the same chart again without running anything
        redraw = os.path.join(tmp, "r.svg")
        subprocess.run([bench, "sweep", "--from-csv", out_csv, "--svg", redraw], check=True,
                       timeout=30)
        again = ET.parse(redraw).getroot()
        assert len(again.findall(f".//{SVG}polyline")) == 4
    print("bench-sweep: 4 points, CSV and SVG checked")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
