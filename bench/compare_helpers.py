#!/usr/bin/env python3
"""Helpers of bench/compare.sh:

  image DIR TAG COUNT SIZE   an OCI image layout at DIR with one image under TAG:
                             COUNT layers, each a real gzip stream (stored deflate
                             blocks, zlib level 0) of SIZE random bytes, media type
                             application/vnd.oci.image.layer.v1.tar+gzip; prints
                             the total size of the layers in bytes
  check DIR TAG LAYERS       checks a layout a copy wrote: TAG names a manifest with
                             LAYERS layers, and every blob it lists is there with
                             its digest and size
  measure TIMEOUT LOG -- CMD...
                             runs CMD (output to LOG) in its own session, killed
                             with its process group after TIMEOUT seconds, and
                             prints one JSON line: wall_s, cpu_s (user+system of
                             CMD and the children it waited for), max_rss_kib (CMD's
                             VmHWM, sampled every 10 ms), rc
  record RESULTS MEASURED KEY=VALUE...
                             appends a result line (MEASURED: a JSON object or "")
  wrk, bench                 stdin: wrk --latency output, coras-bench --json output;
                             stdout: {rate, requests, p50_ms, p99_ms, rc}
  report RESULTS MACHINE [JSON]
                             the medians of compare.sh's results, coras's ratio
                             to each peer and to the best peer of each row, the
                             ceilings (kind=ceiling) and the floor of a
                             verified pull
"""
import hashlib
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import zlib

LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
CHUNK = 1 << 20


def parse_size(text):
    units = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = text[-1] if text and text[-1] in "KMG" else ""
    return int(text[: len(text) - len(unit)]) * units[unit]


def write_blob(layout, data_or_path, digest_hex):
    path = os.path.join(layout, "blobs", "sha256", digest_hex)
    if isinstance(data_or_path, bytes):
        with open(path, "wb") as f:
            f.write(data_or_path)
    else:
        os.replace(data_or_path, path)


def json_blob(layout, obj):
    data = json.dumps(obj, separators=(",", ":")).encode()
    hexd = hashlib.sha256(data).hexdigest()
    write_blob(layout, data, hexd)
    return hexd, len(data)


def cmd_image(layout, tag, count, size):
    count, size = int(count), parse_size(size)
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    layers, diff_ids, total = [], [], 0
    for i in range(count):
        tmp = os.path.join(layout, f"layer-{i}.tmp")
        gz = zlib.compressobj(0, zlib.DEFLATED, 31)  # level 0: stored blocks; 31: gzip framing
        compressed, uncompressed = hashlib.sha256(), hashlib.sha256()
        n = 0
        with open(tmp, "wb") as f:
            left = size
            while left:
                raw = os.urandom(min(CHUNK, left))
                left -= len(raw)
                uncompressed.update(raw)
                out = gz.compress(raw)
                compressed.update(out)
                f.write(out)
                n += len(out)
            out = gz.flush()
            compressed.update(out)
            f.write(out)
            n += len(out)
        hexd = compressed.hexdigest()
        write_blob(layout, tmp, hexd)
        layers.append({"mediaType": LAYER_GZIP, "digest": "sha256:" + hexd, "size": n})
        diff_ids.append("sha256:" + uncompressed.hexdigest())
        total += n
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    chex, csize = json_blob(layout, config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": "sha256:" + chex,
            "size": csize,
        },
        "layers": layers,
    }
    mhex, msize = json_blob(layout, manifest)
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": "sha256:" + mhex,
                "size": msize,
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump(index, f)
    print(total)


def check_blob(layout, desc):
    alg, hexd = desc["digest"].split(":", 1)
    path = os.path.join(layout, "blobs", alg, hexd)
    h = hashlib.new(alg)
    n = 0
    with open(path, "rb") as f:
        while True:
            b = f.read(CHUNK)
            if not b:
                break
            h.update(b)
            n += len(b)
    if h.hexdigest() != hexd or n != desc["size"]:
        raise SystemExit(f"{path}: content does not match {desc['digest']} ({desc['size']} bytes)")
    with open(path, "rb") as f:
        return f.read() if n < (4 << 20) else None


def cmd_check(layout, tag, want_layers):
    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    found = [
        m
        for m in index.get("manifests", [])
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag
    ]
    if not found:
        raise SystemExit(f"{layout}: no manifest tagged {tag}")
    manifest = json.loads(check_blob(layout, found[0]))
    check_blob(layout, manifest["config"])
    for layer in manifest["layers"]:
        check_blob(layout, layer)
    if len(manifest["layers"]) != int(want_layers):
        raise SystemExit(f"{layout}: {len(manifest['layers'])} layers, expected {want_layers}")


def cmd_measure(timeout, log, cmd):
    timeout = float(timeout)
    with open(log, "ab") as out:
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True)
    timed_out = threading.Event()

    def kill(*_):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def expire():
        timed_out.set()
        kill()

    timer = threading.Timer(timeout, expire)
    timer.start()
    # Peak RSS from VmHWM, sampled: wait4's ru_maxrss cannot go below the
    # RSS this Python process had when it forked the command.
    peak_kib = [0]
    done = threading.Event()

    def sample():
        path = f"/proc/{proc.pid}/status"
        while not done.is_set():
            try:
                with open(path) as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            peak_kib[0] = max(peak_kib[0], int(line.split()[1]))
                            break
            except OSError:
                pass
            done.wait(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    # An interrupted compare.sh must not leave the command running.
    signal.signal(signal.SIGINT, lambda *a: (kill(), sys.exit(130)))
    signal.signal(signal.SIGTERM, lambda *a: (kill(), sys.exit(143)))
    try:
        _, status, ru = os.wait4(proc.pid, 0)
    finally:
        done.set()
        timer.cancel()
        kill()  # anything the command left behind in its group
    wall = time.monotonic() - t0
    rc = os.waitstatus_to_exitcode(status)
    if timed_out.is_set():
        rc = 124
    print(json.dumps({
        "wall_s": round(wall, 4),
        "cpu_s": round(ru.ru_utime + ru.ru_stime, 4),
        "max_rss_kib": peak_kib[0] or ru.ru_maxrss,
        "rc": rc,
    }))


def parse_value(text):
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def cmd_record(results, measured, fields):
    """Appends one result line: the JSON object `measured` (may be empty) plus
    KEY=VALUE fields; status is "ok" when rc is 0 and no status was given.
    Prints the status and a few words (the time or the rate)."""
    entry = json.loads(measured) if measured.strip() else {}
    for field in fields:
        key, _, value = field.partition("=")
        entry[key] = parse_value(value)
    if "status" not in entry:
        entry["status"] = "ok" if entry.get("rc", 1) == 0 else "failed"
    with open(results, "a") as f:
        f.write(json.dumps(entry) + "\n")
    detail = ""
    if entry["status"] == "ok" and "wall_s" in entry:
        detail = f"{entry['wall_s']:.2f} s"
    elif entry["status"] == "ok" and "rate" in entry:
        detail = f"{entry['rate']:.0f} req/s"
    print(entry["status"], detail)


def ms(text):
    """wrk's durations: 812.00us, 1.23ms, 2.00s, 1.00m."""
    for unit, scale in (("us", 1e-3), ("ms", 1.0), ("s", 1e3), ("m", 60e3)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * scale
    return float(text)


def cmd_wrk(text):
    """wrk --latency output -> {rate, requests, p50_ms, p99_ms, errors}."""
    import re
    out = {"rate": 0.0, "requests": 0, "errors": 0}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if m:
        out["rate"] = float(m.group(1))
    m = re.search(r"(\d+) requests in", text)
    if m:
        out["requests"] = int(m.group(1))
    for pct, key in (("50%", "p50_ms"), ("99%", "p99_ms")):
        m = re.search(r"^\s+" + pct + r"\s+(\S+)", text, re.M)
        if m:
            out[key] = ms(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        out["errors"] += sum(int(g) for g in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        out["errors"] += int(m.group(1))
    out["rc"] = 0 if out["requests"] > 0 and out["errors"] == 0 else 1
    print(json.dumps(out))


def cmd_bench(text):
    """coras-bench --json output -> {rate, requests, p50_ms, p99_ms, cpu_s, rss_mib} of its
    last phase."""
    try:
        p = json.loads(text)["phases"][-1]
    except (ValueError, KeyError, IndexError):
        print(json.dumps({"rc": 1}))
        return
    lat = p.get("latency_ms", {})
    print(json.dumps({"rate": p["requests_per_s"], "requests": p["items"],
                      "p50_ms": lat.get("p50"), "p99_ms": lat.get("p99"),
                      "cpu_s": p["client_cpu_s"], "rss_mib": p.get("peak_rss_mib"), "rc": 0}))


def median(values):
    return statistics.median(values) if values else None


def fmt(v, spec):
    """format(v, spec), or "-" as wide as spec's width when v is None."""
    if v is not None:
        return format(v, spec)
    width = spec.split(".")[0]
    return format("-", ">" + width) if width else "-"


def cmd_report(results, machine, json_out=None):
    """Per row: each tool's medians, and coras's throughput over each peer's
    and over the best peer's; the ceilings (curl, openssl speed) and the floor
    of a verified pull beside the big pull rows."""
    rows, order, ceilings, ceiling_order = {}, [], {}, []
    with open(results) as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            if r["kind"] == "ceiling":
                if r["row"] not in ceilings:
                    ceilings[r["row"]] = []
                    ceiling_order.append(r["row"])
                if r["status"] == "ok":
                    ceilings[r["row"]].append(r)
                continue
            row = rows.get(r["row"])
            if row is None:
                row = rows[r["row"]] = {"kind": r["kind"], "bytes": r.get("bytes", 0),
                                        "sides": {}, "notes": [], "failed": {}, "absent": []}
                order.append(r["row"])
            if r.get("note") and r["note"] not in row["notes"]:
                row["notes"].append(r["note"])
            side = r["side"]
            row["sides"].setdefault(side, [])
            if r["status"] == "ok":
                row["sides"][side].append(r)
            elif r["status"] == "failed":
                row["failed"][side] = row["failed"].get(side, 0) + 1
            elif r["status"] == "absent" and side not in row["absent"]:
                row["absent"].append(side)

    print()
    print("machine:")
    with open(machine) as f:
        machine_lines = [line.rstrip() for line in f]
    for line in machine_lines:
        print("  " + line)
    nproc = next((int(m.split(":")[1]) for m in machine_lines if m.startswith("nproc:")), 1)

    summary = {"machine": machine_lines, "rows": [], "ceilings": []}
    notes = []

    def note_marks(row):
        marks = ""
        for note in row["notes"]:
            if note not in notes:
                notes.append(note)
            marks += f" [{notes.index(note) + 1}]"
        return marks

    # The ceilings first: the pull rows' floors use them.
    ceiling_values = {}
    if ceiling_order:
        print()
        print("ceilings of this machine (medians):")
        for key in ceiling_order:
            got = ceilings[key]
            entry = {"row": key, "rounds": len(got)}
            if got and "rate_bytes_s" in got[0]:
                rate = median([r["rate_bytes_s"] for r in got])
                entry["rate_bytes_s"] = rate
                print(f"  {key:<44} {rate / (1 << 30):6.2f} GiB/s")
            elif got:
                wall = median([r["wall_s"] for r in got])
                cpu = median([r["cpu_s"] for r in got])
                server = median([r.get("server_cpu_s", 0.0) for r in got])
                mibs = got[0]["bytes"] / (1 << 20) / wall if wall else None
                entry.update(wall_s=wall, cpu_s=cpu, server_cpu_s=server, mib_s=mibs,
                             mode=got[0].get("mode"), bytes=got[0]["bytes"])
                print(f"  {key:<44} {wall:6.2f} s {fmt(mibs, '6.0f')} MiB/s, curl CPU "
                      f"{cpu:.2f} s, server CPU {server:.2f} s")
            else:
                print(f"  {key:<44} failed")
            ceiling_values[key] = entry
            summary["ceilings"].append(entry)

    sha = next((v.get("rate_bytes_s") for k, v in ceiling_values.items() if "sha256" in k), None)

    def floor_of(row_key, nbytes):
        """Floor of a verified pull: every byte hashed once on one core while
        it is received; on nproc cores the hash, curl's receive and the
        server's send share the CPUs: max(hash, curl wall, (hash + curl CPU +
        server CPU) / nproc)."""
        mode = "tls" if row_key.endswith(" tls") else "plain"
        curl = next((v for v in ceiling_values.values() if v.get("mode") == mode
                     and "wall_s" in v), None)
        if not sha or not curl or curl.get("bytes") != nbytes:
            return None
        hash_s = nbytes / sha
        return max(hash_s, curl["wall_s"],
                   (hash_s + curl["cpu_s"] + curl["server_cpu_s"]) / max(nproc, 1))

    copies = [k for k in order if rows[k]["kind"] == "copy"]
    rates = [k for k in order if rows[k]["kind"] == "rate"]
    if copies:
        print()
        print("copies: median wall time, MiB/s of the layers, client CPU s, client peak RSS MiB;")
        print("c/x = coras throughput / x's (above 1: coras is faster)")
        head = (f"{'row':<32} {'tool':<18} {'s':>7} {'MiB/s':>7} {'CPU s':>6} {'RSS':>5} "
                f"{'c/x':>6}")
        print(head)
        print("-" * len(head))
        for key in copies:
            row = rows[key]
            mib = row["bytes"] / (1 << 20)
            entry = {"row": key, "kind": "copy", "bytes": row["bytes"], "tools": {},
                     "notes": row["notes"]}
            walls = {}
            for side, runs in row["sides"].items():
                walls[side] = median([r["wall_s"] for r in runs])
            cw = walls.get("coras")
            first = True
            # coras, the peers that ran, then the absent ones
            others = [s for s in row["sides"] if s != "coras"]
            others.sort(key=lambda s: s in row["absent"])
            for side in ["coras"] + others:
                label = key + note_marks(row) if first else ""
                first = False
                if side in row["absent"]:
                    print(f"{label:<32} {side:<18} {'absent':>7}")
                    entry["tools"][side] = "absent"
                    continue
                runs = row["sides"].get(side, [])
                w = walls.get(side)
                cpu = median([r["cpu_s"] for r in runs])
                rss = median([r["max_rss_kib"] / 1024 for r in runs])
                thru = mib / w if w else None
                ratio = w / cw if side != "coras" and w and cw else None
                fails = row["failed"].get(side, 0)
                print(f"{label:<32} {side:<18} {fmt(w, '7.2f')} {fmt(thru, '7.0f')} "
                      f"{fmt(cpu, '6.2f')} {fmt(rss, '5.0f')} {fmt(ratio, '6.2f')}"
                      + (f" ({fails} run(s) failed)" if fails else ""))
                entry["tools"][side] = {"rounds": len(runs), "wall_s": w, "mib_s": thru,
                                        "cpu_s": cpu, "rss_mib": rss, "coras_ratio": ratio,
                                        "failed": fails}
            peers = {s: w for s, w in walls.items() if s != "coras" and w}
            if len(peers) > 1 and cw:
                best = min(peers, key=peers.get)
                ratio = peers[best] / cw
                print(f"{'':<32} {'best peer: ' + best:<18} {peers[best]:7.2f} "
                      f"{mib / peers[best]:7.0f} {'':>6} {'':>5} {ratio:6.2f}")
                entry["best_peer"] = best
                entry["best_peer_ratio"] = ratio
            fl = floor_of(key, row["bytes"]) if key.startswith("pull ") else None
            if fl:
                ratio = cw / fl if cw else None
                print(f"{'':<32} {'floor (verified)':<18} {fl:7.2f} {mib / fl:7.0f} "
                      f"{'':>6} {'':>5} {'':>6}  coras time / floor {fmt(ratio, '.2f')}")
                entry["floor_s"] = fl
                entry["coras_over_floor"] = ratio
            summary["rows"].append(entry)
    if rates:
        print()
        print("requests: median requests/s, latency (ms), client CPU per request (us, where")
        print("the tool reports it) and coras's peak RSS (MiB), one client thread, concurrency")
        print("as the row says; c/x = coras requests/s / x's")
        head = (f"{'row':<32} {'tool':<10} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
                f"{'CPU us':>6} {'RSS':>5} {'c/x':>6}")
        print(head)
        print("-" * len(head))
        for key in rates:
            row = rows[key]
            entry = {"row": key, "kind": "rate", "tools": {}, "notes": row["notes"]}
            crs = median([r["rate"] for r in row["sides"].get("coras", [])])
            first = True
            for side in ["coras"] + [s for s in row["sides"] if s != "coras"]:
                label = key + note_marks(row) if first else ""
                first = False
                runs = row["sides"].get(side, [])
                rps = median([r["rate"] for r in runs])
                p50 = median([r["p50_ms"] for r in runs])
                p99 = median([r["p99_ms"] for r in runs])
                rss = median([r["rss_mib"] for r in runs if r.get("rss_mib") is not None])
                cpu_us = median([r["cpu_s"] / r["requests"] * 1e6 for r in runs
                                 if r.get("cpu_s") is not None and r.get("requests")])
                ratio = crs / rps if side != "coras" and crs and rps else None
                fails = row["failed"].get(side, 0)
                print(f"{label:<32} {side:<10} {fmt(rps, '8.0f')} {fmt(p50, '7.2f')} "
                      f"{fmt(p99, '7.2f')} {fmt(cpu_us, '6.1f')} {fmt(rss, '5.0f')} "
                      f"{fmt(ratio, '6.2f')}"
                      + (f" ({fails} run(s) failed)" if fails else ""))
                entry["tools"][side] = {"rounds": len(runs), "rps": rps, "p50_ms": p50,
                                        "p99_ms": p99, "cpu_us": cpu_us, "rss_mib": rss,
                                        "coras_ratio": ratio, "failed": fails}
            summary["rows"].append(entry)
    print()
    for i, note in enumerate(notes):
        print(f"[{i + 1}] {note}")
    print("Medians over the rounds; - where a tool did not run (absent: not found on this")
    print("machine). CPU = user+system seconds of the client process and the children it")
    print("waited for. floor (verified) = max(SHA-256 of every byte on one core, curl's")
    print("wall time, (hash + curl CPU + server CPU) / nproc), from the ceilings above.")
    if json_out:
        with open(json_out, "w") as f:
            json.dump(summary, f, indent=2)


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "image" and len(args) == 4:
        cmd_image(*args)
    elif cmd == "check" and len(args) == 3:
        cmd_check(*args)
    elif cmd == "measure" and len(args) >= 4 and args[2] == "--":
        cmd_measure(args[0], args[1], args[3:])
    elif cmd == "record" and len(args) >= 2:
        cmd_record(args[0], args[1], args[2:])
    elif cmd == "wrk" and not args:
        cmd_wrk(sys.stdin.read())
    elif cmd == "bench" and not args:
        cmd_bench(sys.stdin.read())
    elif cmd == "report" and len(args) in (2, 3):
        cmd_report(*args)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
