#!/usr/bin/env python3
"""Wall time and peak memory of the diffusion-curvature variants, next to the published package.

    python bench/bench_diffusion.py            # n = 1k, 2k, 4k, 8k, 20k on 2-D and 4-D sphere caps
    python bench/bench_diffusion.py --quick    # n = 1k, 2k on the 2-D cap only

Every measurement runs in its own freshly spawned process (multiprocessing "spawn"), which builds
the method, warms it up on the first 300 points (imports, numba/XLA compilation: not timed), and
times one call on the arrays sent from the parent (the same arrays for every method). Peak memory
is the child's peak resident set size during that call (the kernel's VmHWM, reset just before it
through /proc/self/clear_refs; it sees NumPy, SciPy and XLA buffers alike), reported whole and as
the rise over the RSS just before the call. Elsewhere the peak falls back to getrusage ru_maxrss
(then it includes the imports). A measurement that runs past --timeout is stopped and reported.

Rows evaluated: dc_wasserstein every point for n <= --all-max (default 4000), the dataset's 8
evaluation rows beyond (there also with max_support=--quadrature, the midpoint quadrature that keeps
4-D clouds of 10^4 points tractable); dc_entropy and dc_laziness the 8 evaluation rows; the package (dc_peer)
always computes every point (that is how it works). The package is not started where its dense
float64 n x n matrices alone would exceed --peer-max-gb, nor at sizes above one where it already
ran out of time; the table says why.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _child(conn, name: str, params: dict, points, rows, dim: int, seed: int) -> None:
    import gc
    import resource
    import warnings

    warnings.filterwarnings("ignore")
    sys.path.insert(0, str(ROOT))
    try:
        import numpy as np

        from colosseum import registry

        method = registry.make_method(name, **params)
        warm = min(len(points), 300)  # imports, JIT compilation of numba/XLA kernels: not timed
        method(points[:warm], np.arange(min(8, warm)), dim, seed=seed)
        gc.collect()
        try:  # reset the peak RSS (Linux >= 4.0), so the peak below is this call's own
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            base = _status_kb("VmRSS")
        except OSError:
            base = None
        if base is None:
            base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.perf_counter()
        values = method(points, rows, dim, seed=seed)
        wall = time.perf_counter() - t0
        peak = _status_kb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        conn.send(("ok", wall, peak * 1024, base * 1024, values))
    except Exception as exc:  # noqa: BLE001 - reported in the table
        status = "skipped" if type(exc).__name__ == "SkipCell" else "error"
        conn.send((status, float("nan"), 0, 0, f"{type(exc).__name__}: {exc}"
                   + ("" if status == "skipped" else "\n" + traceback.format_exc(limit=-2))))
    finally:
        conn.close()


def measure(name: str, params: dict, points, rows, dim: int, timeout: float, seed: int = 0) -> dict:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, name, params, points, rows, dim, seed))
    t0 = time.perf_counter()
    proc.start()
    child.close()
    if parent.poll(timeout):
        status, wall, peak, base, payload = parent.recv()
        proc.join()
    else:
        proc.terminate()
        proc.join()
        return {"status": "timeout", "wall": float("nan"), "peak": 0, "base": 0,
                "note": f"stopped after {timeout:.0f} s ({time.perf_counter() - t0:.0f} s with start-up)"}
    note = "" if status == "ok" else str(payload).splitlines()[0]
    return {"status": status, "wall": wall, "peak": peak, "base": base, "note": note}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="n = 1000, 2000 on the 2-D cap only")
    ap.add_argument("--ns", default="1000,2000,4000,8000,20000")
    ap.add_argument("--dims", default="2,4")
    ap.add_argument("--methods", default="dc_wasserstein,dc_entropy,dc_laziness,dc_peer")
    ap.add_argument("--all-max", type=int, default=4000, help="dc_wasserstein on every point up to this n")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per measurement")
    ap.add_argument("--quadrature", type=int, default=1024,
                    help="beyond --all-max also time dc_wasserstein with max_support=this (0: do not)")
    ap.add_argument("--peer-timeout", type=float, default=120.0, help="seconds for the package")
    ap.add_argument("--peer-max-gb", type=float, default=6.0,
                    help="do not start the package where 4 dense float64 n x n matrices exceed this")
    args = ap.parse_args()
    ns = [1000, 2000] if args.quick else [int(x) for x in args.ns.split(",")]
    dims = [2] if args.quick else [int(x) for x in args.dims.split(",")]

    sys.path.insert(0, str(ROOT))
    import jax
    import numpy as np

    from colosseum import registry

    dev = jax.devices()[0]
    print(f"device: {dev.platform} ({dev.device_kind}), jax {jax.__version__}, {os.cpu_count()} cpus", flush=True)
    known = set(registry.list_methods())
    methods = [m for m in args.methods.split(",") if m in known]
    missing = [m for m in args.methods.split(",") if m not in known]
    print(f"# bench_diffusion  cpus={os.cpu_count()}  load={os.getloadavg()[0]:.1f}  "
          f"methods={','.join(methods)}" + (f"  (not registered: {','.join(missing)})" if missing else ""))
    hdr = f"{'dim':>3} {'n':>6} {'method':<18} {'rows':>6} {'wall s':>9} {'peak MB':>8} {'+MB':>7}  note"
    print(hdr)
    print("-" * len(hdr))
    results: dict[tuple, dict] = {}
    for dim in dims:
        peer_out_of_time = None
        for n in ns:
            s = registry.make_dataset("sphere_cap", seed=0, dim=dim, n_points=n)
            pts, ev = np.asarray(s.points), np.asarray(s.eval_idx)
            runs = [(m, m, {}) for m in methods]
            if "dc_wasserstein" in methods and n > args.all_max and args.quadrature:
                runs.insert(methods.index("dc_wasserstein") + 1,
                            ("dc_wasserstein", f"  max_support={args.quadrature}", {"max_support": args.quadrature}))
            for name, label, params in runs:
                rows = np.arange(n) if (name == "dc_peer" or (name == "dc_wasserstein" and n <= args.all_max)) else ev
                timeout = args.timeout
                if name == "dc_peer":
                    timeout = args.peer_timeout
                    params = {"max_points": max(n, 10000)}
                    gb = 4 * 8 * n * n / 1e9
                    if gb > args.peer_max_gb:
                        r = {"status": "not run", "wall": float("nan"), "peak": 0, "base": 0,
                             "note": f"4 dense float64 n x n matrices = {gb:.0f} GB > {args.peer_max_gb:g} GB"}
                    elif peer_out_of_time is not None:
                        r = {"status": "not run", "wall": float("nan"), "peak": 0, "base": 0,
                             "note": f"already over {args.peer_timeout:.0f} s at n = {peer_out_of_time}"}
                    else:
                        r = measure(name, params, pts, rows, dim, timeout)
                        if r["status"] == "timeout":
                            peer_out_of_time = n
                else:
                    r = measure(name, params, pts, rows, dim, timeout)
                results[(dim, n, label)] = r
                wall = f"{r['wall']:.2f}" if r["status"] == "ok" else r["status"]
                peak = f"{r['peak'] / 2**20:.0f}" if r["peak"] else "-"
                rise = f"{(r['peak'] - r['base']) / 2**20:.0f}" if r["peak"] else "-"
                print(f"{dim:>3} {n:>6} {label:<18} {len(rows):>6} {wall:>9} {peak:>8} {rise:>7}  {r['note']}",
                      flush=True)
    print()
    for dim in dims:
        for n in ns:
            a, b = results.get((dim, n, "dc_wasserstein")), results.get((dim, n, "dc_peer"))
            if a and b and a["status"] == b["status"] == "ok" and n <= args.all_max:
                print(f"dim {dim}, n = {n}: package / dc_wasserstein (every point) = "
                      f"{b['wall']:.2f} s / {a['wall']:.2f} s = {b['wall'] / a['wall']:.1f}x")
    big = max(ns)
    for (dim, n, label), r in results.items():
        if n == big and r["status"] == "ok" and label != "dc_peer":
            dense = 4 * big * big / 2**20
            flag = "below" if (r["peak"] - r["base"]) / 2**20 < dense else "NOT below"
            print(f"dim {dim}, n = {big}, {label.strip()}: memory rise {(r['peak'] - r['base']) / 2**20:.0f} MB, "
                  f"{flag} one dense float32 n x n matrix ({dense:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
