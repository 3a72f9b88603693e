#!/usr/bin/env python3
"""The image_manifold truth (autodiff through the renderer) against manifold-microscope's finite differences.

    python bench/bench_image_truth.py                  # grids of 41, 81 and 161 points per axis
    python bench/bench_image_truth.py --grids 81 --dim 2

manifold-microscope (PyPI, BSD-3; Koulakis & Seibold, "The data manifold under the microscope", ICML 2026)
computes the scalar curvature of an image manifold intrinsically, from images rendered on a regular grid
of parameters: the metric by central differences, then Christoffel symbols and the Riemann tensor by
differences of differences, three grid points lost at each border. It needs torch, which the project does
not, so it is installed into its own virtual environment (bench/.venv-microscope, made on first use;
`pip install manifold-microscope==0.2.0`, torch included) and runs in its own process. Nothing in the
project depends on it.

Both sides get the same images: image_manifold's default embedding (d = 2: x-position and width, 16 x 16
pixels, contrast-normalised) rendered on a grid over the parameter box [-0.8, 0.8]^2 (inside the box the
dataset samples). Ours is colosseum.geometry.scalar_curvature at every grid point; theirs the finite-
difference estimate at the grid's inner points. Printed: per grid, the spacing h and the relative
difference |S_fd - S_autodiff| / |S_autodiff| (median, 95th percentile, max), which should fall like h^2.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# before JAX starts: XLA:CPU's Eigen pool can deadlock batched LAPACK on 2 cores (as the workers and tests do)
os.environ["XLA_FLAGS"] = " ".join([*[f for f in os.environ.get("XLA_FLAGS", "").split()
                                      if "multi_thread_eigen" not in f], "--xla_cpu_multi_thread_eigen=false"])
ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / "bench" / ".venv-microscope"
SPAN = 0.8
MICROSCOPE = """
import json, sys, time
import numpy as np
from microscope.computations_grid.curvature import scalar_curvature
data = np.load(sys.argv[1])
features, h = data["features"], float(data["h"])
t = time.perf_counter()
out = scalar_curvature(features, difference_intervals=[h] * (features.ndim - 1), cyclic_dimensions=[],
                       patch_sizes=list(features.shape[:-1]), device="cpu")
np.savez(sys.argv[2], curvature=out)
print(json.dumps({"seconds": time.perf_counter() - t}))
"""


def microscope_python() -> Path:
    py = VENV / "bin" / "python"
    if not py.exists():
        print(f"installing manifold-microscope into {VENV} (it needs torch, the project does not) ...",
              file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "manifold-microscope==0.2.0"], check=True)
    return py


def ours(dim: int, size: int):
    """(embed, grid (s, ..., s, d), images (s, ..., s, p^2), autodiff truth (s, ..., s), seconds)."""
    from colosseum import geometry, registry

    plugin = registry.entry("dataset", "image_manifold").func.__globals__
    embed = plugin["image_embed"](16, dim, "contrast", 0.3, 0.15, 0.3, 0.4, 1.0)  # the dataset's defaults
    axis = np.linspace(-SPAN, SPAN, size)
    grid = np.stack(np.meshgrid(*[axis] * dim, indexing="ij"), -1)
    flat = grid.reshape(-1, dim)
    images = geometry.points(embed, flat).reshape(grid.shape[:-1] + (-1,))
    t = time.perf_counter()
    truth = geometry.scalar_curvature(embed, flat).reshape(grid.shape[:-1])
    return images, truth, axis[1] - axis[0], time.perf_counter() - t


def theirs(images: np.ndarray, h: float) -> tuple[np.ndarray, float]:
    py = microscope_python()
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.npz", Path(tmp) / "out.npz"
        np.savez(src, features=images, h=h)
        out = subprocess.run([str(py), "-c", MICROSCOPE, str(src), str(dst)], check=True, capture_output=True,
                             text=True)
        return np.load(dst)["curvature"], json.loads(out.stdout.strip().splitlines()[-1])["seconds"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grids", default="41,81,161", help="grid points per parameter axis (comma-separated)")
    ap.add_argument("--dim", type=int, default=2, help="the image family's dimension d (2, 3 or 4)")
    args = ap.parse_args()
    print(f"image_manifold d = {args.dim} (16 x 16, contrast), parameter box [-{SPAN}, {SPAN}]^{args.dim}")
    print(f"{'grid':>6} {'h':>8} {'points':>7} {'S range (autodiff)':>20} {'median rel':>11} {'p95 rel':>9} "
          f"{'max rel':>9} {'ours s':>7} {'theirs s':>9}")
    for size in (int(s) for s in args.grids.split(",")):
        images, truth, h, t_ours = ours(args.dim, size)
        fd, t_theirs = theirs(images, h)
        inner = truth[(slice(3, -3),) * args.dim]
        rel = np.abs(fd - inner) / np.abs(inner)
        print(f"{size:>6} {h:>8.4f} {inner.size:>7} {f'[{inner.min():.3f}, {inner.max():.3f}]':>20} "
              f"{np.median(rel):>11.2e} {np.quantile(rel, 0.95):>9.2e} {rel.max():>9.2e} {t_ours:>7.2f} "
              f"{t_theirs:>9.2f}", flush=True)


if __name__ == "__main__":
    main()
