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
                             the medians and ratios of compare.sh's results
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
    """coras-bench --json output -> {rate, requests, p50_ms, p99_ms} of its last phase."""
    try:
        p = json.loads(text)["phases"][-1]
    except (ValueError, KeyError, IndexError):
        print(json.dumps({"rc": 1}))
        return
    lat = p.get("latency_ms", {})
    print(json.dumps({"rate": p["requests_per_s"], "requests": p["items"],
                      "p50_ms": lat.get("p50"), "p99_ms": lat.get("p99"),
                      "cpu_s": p["client_cpu_s"], "rc": 0}))


def median(values):
    return statistics.median(values) if values else None


def fmt(v, spec):
    """format(v, spec), or "-" as wide as spec's width when v is None."""
    if v is not None:
        return format(v, spec)
    width = spec.split(".")[0]
    return format("-", ">" + width) if width else "-"


def cmd_report(results, machine, json_out=None):
    rows, order = {}, []
    with open(results) as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            row = rows.get(r["row"])
            if row is None:
                row = rows[r["row"]] = {"coras": [], "peer": [], "peer_name": r["peer_name"],
                                        "kind": r["kind"], "bytes": r.get("bytes", 0),
                                        "notes": [], "failed": {"coras": 0, "peer": 0}}
                order.append(r["row"])
            if r.get("note") and r["note"] not in row["notes"]:
                row["notes"].append(r["note"])
            if r["status"] == "ok":
                row[r["side"]].append(r)
            elif r["status"] == "failed":
                row["failed"][r["side"]] += 1

    print()
    print("machine:")
    with open(machine) as f:
        machine_lines = [line.rstrip() for line in f]
    for line in machine_lines:
        print("  " + line)

    summary = []
    copies = [k for k in order if rows[k]["kind"] == "copy"]
    rates = [k for k in order if rows[k]["kind"] == "rate"]
    notes = []

    def note_marks(key):
        row = rows[key]
        marks = ""
        for note in row["notes"]:
            if note not in notes:
                notes.append(note)
            marks += f" [{notes.index(note) + 1}]"
        for side, n in row["failed"].items():
            if n:
                marks += f" ({n} {side if side == 'coras' else row['peer_name']} run(s) failed)"
        return marks

    if copies:
        print()
        print("copies: median wall time, MiB/s of the layers, client CPU s, client peak RSS MiB")
        head = (f"{'row':<22} {'coras s':>8} {'skopeo s':>9} {'time c/p':>9} {'thru c/p':>9} "
                f"{'coras MiB/s':>12} {'skopeo MiB/s':>13} {'CPU c':>6} {'CPU p':>6} "
                f"{'RSS c':>6} {'RSS p':>6}")
        print(head)
        print("-" * len(head))
        for key in copies:
            row = rows[key]
            c, p = row["coras"], row["peer"]
            cw, pw = median([r["wall_s"] for r in c]), median([r["wall_s"] for r in p])
            cc, pc = median([r["cpu_s"] for r in c]), median([r["cpu_s"] for r in p])
            cr = median([r["max_rss_kib"] / 1024 for r in c])
            pr = median([r["max_rss_kib"] / 1024 for r in p])
            mib = row["bytes"] / (1 << 20)
            ct = mib / cw if cw else None
            pt = mib / pw if pw else None
            time_ratio = cw / pw if cw and pw else None
            thru_ratio = pw / cw if cw and pw else None
            print(f"{key:<22} {fmt(cw, '8.2f')} {fmt(pw, '9.2f')} {fmt(time_ratio, '9.2f')} "
                  f"{fmt(thru_ratio, '9.2f')} {fmt(ct, '12.0f')} {fmt(pt, '13.0f')} "
                  f"{fmt(cc, '6.2f')} {fmt(pc, '6.2f')} {fmt(cr, '6.0f')} {fmt(pr, '6.0f')}"
                  + note_marks(key))
            summary.append({"row": key, "kind": "copy", "peer": row["peer_name"],
                            "rounds": [len(c), len(p)], "bytes": row["bytes"],
                            "coras_wall_s": cw, "peer_wall_s": pw, "time_ratio": time_ratio,
                            "throughput_ratio": thru_ratio, "coras_mib_s": ct, "peer_mib_s": pt,
                            "coras_cpu_s": cc, "peer_cpu_s": pc, "coras_rss_mib": cr,
                            "peer_rss_mib": pr, "notes": row["notes"]})
    if rates:
        print()
        print("requests: median requests/s and latency (ms) at concurrency 64, one client thread")
        head = (f"{'row':<30} {'coras/s':>8} {'wrk/s':>8} {'thru c/p':>9} "
                f"{'coras p50':>10} {'wrk p50':>8} {'coras p99':>10} {'wrk p99':>8}")
        print(head)
        print("-" * len(head))
        for key in rates:
            row = rows[key]
            c, p = row["coras"], row["peer"]
            crs, prs = median([r["rate"] for r in c]), median([r["rate"] for r in p])
            c50, p50 = median([r["p50_ms"] for r in c]), median([r["p50_ms"] for r in p])
            c99, p99 = median([r["p99_ms"] for r in c]), median([r["p99_ms"] for r in p])
            thru_ratio = crs / prs if crs and prs else None
            print(f"{key:<30} {fmt(crs, '8.0f')} {fmt(prs, '8.0f')} {fmt(thru_ratio, '9.2f')} "
                  f"{fmt(c50, '10.2f')} {fmt(p50, '8.2f')} {fmt(c99, '10.2f')} {fmt(p99, '8.2f')}"
                  + note_marks(key))
            summary.append({"row": key, "kind": "rate", "peer": row["peer_name"],
                            "rounds": [len(c), len(p)], "coras_rps": crs, "peer_rps": prs,
                            "throughput_ratio": thru_ratio, "coras_p50_ms": c50,
                            "peer_p50_ms": p50, "coras_p99_ms": c99, "peer_p99_ms": p99,
                            "notes": row["notes"]})
    print()
    for i, note in enumerate(notes):
        print(f"[{i + 1}] {note}")
    print("Medians over the rounds; - where a side did not run. time c/p = coras time / peer")
    print("time (below 1: coras is faster); thru c/p = coras throughput / peer throughput")
    print("(above 1: coras is faster). CPU = user+system seconds of the client process.")
    if json_out:
        with open(json_out, "w") as f:
            json.dump({"machine": machine_lines, "rows": summary}, f, indent=2)


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
