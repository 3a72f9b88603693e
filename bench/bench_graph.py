#!/usr/bin/env python3
"""Graph curvatures against GraphRicciCurvature, the library people use for them: time and values.

    python bench/bench_graph.py                 # n = 500, 1000, 2000, 4000, k = 10, every edge
    python bench/bench_graph.py --ns 500,1000   # fewer sizes
    python bench/bench_graph.py --write-fixture tests/data/grc_reference.npz

GraphRicciCurvature 0.6.1 asks for scipy <= 1.13.1, which the project's environment cannot have beside
jax, so it is installed into its own virtual environment (bench/.venv-grc, made on first use). Both sides
get the same graph: the symmetric kNN graph of a 2-D unit-sphere cap with Euclidean lengths divided by the
median kNN length (what colosseum.estimators.graph_curvature uses), and both run on one core:
GraphRicciCurvature with `proc=1` (its default spreads over every core; the project's computes cells in
parallel instead), exact EMD (`method="OTD"`), alpha 0.5; Forman-Ricci "augmented" with those weights.
Each side runs in its own process; every edge is computed once; the largest difference of the edge values
is printed next to 1.5e-6, the tolerance of numpy.testing.assert_array_almost_equal that its tests use.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / "bench" / ".venv-grc"
TOLERANCE = 1.5e-6
GRC = """
import json, sys, time
import numpy as np, networkx as nx
from GraphRicciCurvature.OllivierRicci import OllivierRicci
from GraphRicciCurvature.FormanRicci import FormanRicci
data = np.load(sys.argv[1])
G = nx.Graph()
G.add_nodes_from(range(int(data["n"])))
for i, j, w in zip(data["u"], data["v"], data["w"]):
    G.add_edge(int(i), int(j), weight=float(w))
t = time.perf_counter()
orc = OllivierRicci(G, alpha=0.5, method="OTD", proc=1, verbose="ERROR")
orc.compute_ricci_curvature()
t_orc = time.perf_counter() - t
t = time.perf_counter()
frc = FormanRicci(G, method="augmented")
frc.compute_ricci_curvature()
t_frc = time.perf_counter() - t
kappa = [orc.G[int(i)][int(j)]["ricciCurvature"] for i, j in zip(data["u"], data["v"])]
forman = [frc.G[int(i)][int(j)]["formanCurvature"] for i, j in zip(data["u"], data["v"])]
np.savez(sys.argv[2], kappa=kappa, forman=forman)
print(json.dumps({"orc_s": t_orc, "forman_s": t_frc}))
"""


def grc_python() -> Path:
    py = VENV / "bin" / "python"
    if not py.exists():
        print(f"installing GraphRicciCurvature into {VENV} (its scipy pin conflicts with the project's) ...",
              file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "GraphRicciCurvature==0.6.1", "networkx"], check=True)
    return py


def graph(n: int, k: int, seed: int = 0):
    from colosseum import registry
    from colosseum.estimators.knn import knn_graph

    cloud = registry.make_dataset("sphere_cap", seed=seed, n_points=n, n_eval=1).points
    return knn_graph(cloud, k)


def ours(g) -> dict:
    from colosseum.estimators import graph_curvature as gc

    t = time.perf_counter()
    u, v, kappa = gc.ollivier_ricci_all_edges(g, alpha=0.5)
    t_orc = time.perf_counter() - t
    t = time.perf_counter()
    fu, fv, F = gc.forman_all_edges(g, weighted=True)
    t_frc = time.perf_counter() - t
    assert np.array_equal(fu, u) and np.array_equal(fv, v), "both curvatures list the edges in one order"
    return {"u": u, "v": v, "kappa": kappa, "forman": F, "orc_s": t_orc, "forman_s": t_frc}


def run_grc(g, u, v) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "graph.npz", Path(tmp) / "out.npz"
        A = g.lengths
        w = np.asarray(A[u, v]).ravel() / g.scale
        np.savez(src, n=g.n, u=u, v=v, w=w)
        script = Path(tmp) / "grc.py"
        script.write_text(GRC)
        res = subprocess.run([str(grc_python()), str(script), str(src), str(out)], capture_output=True, text=True,
                             check=True)
        times = json.loads(res.stdout.strip().splitlines()[-1])
        vals = np.load(out)
        return {"kappa": vals["kappa"], "forman": vals["forman"], **times}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ns", default="500,1000,2000,4000")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--write-fixture", type=Path, help="write GraphRicciCurvature's values on a small graph here")
    args = ap.parse_args()
    if args.write_fixture:
        from colosseum.estimators.knn import knn_graph

        points = np.random.default_rng(0).normal(size=(60, 3))
        g = knn_graph(points, 6)
        mine = ours(g)
        ref = run_grc(g, mine["u"], mine["v"])
        np.savez(args.write_fixture, points=points, k=6, u=mine["u"], v=mine["v"], kappa=ref["kappa"],
                 forman=ref["forman"])
        print(f"wrote {args.write_fixture}: {len(mine['u'])} edges from GraphRicciCurvature 0.6.1")
        return
    print(f"{'n':>6} {'edges':>7}  {'ORC ours':>9} {'ORC GRC':>9} {'ratio':>7} {'max|dk|':>9}  "
          f"{'Forman ours':>11} {'Forman GRC':>10} {'ratio':>7} {'max|dF|':>9}")
    for n in (int(x) for x in args.ns.split(",")):
        g = graph(n, args.k)
        mine = ours(g)
        ref = run_grc(g, mine["u"], mine["v"])
        dk = float(np.max(np.abs(mine["kappa"] - ref["kappa"])))
        dF = float(np.max(np.abs(mine["forman"] - ref["forman"])))
        print(f"{n:>6} {len(mine['u']):>7}  {mine['orc_s']:>8.2f}s {ref['orc_s']:>8.2f}s "
              f"{ref['orc_s'] / mine['orc_s']:>6.1f}x {dk:>9.1e}  {mine['forman_s']:>10.3f}s {ref['forman_s']:>9.3f}s "
              f"{ref['forman_s'] / mine['forman_s']:>6.1f}x {dF:>9.1e}", flush=True)
    print(f"values agree within GraphRicciCurvature's test tolerance {TOLERANCE:g} when max|dk|, max|dF| are below it")


if __name__ == "__main__":
    main()
