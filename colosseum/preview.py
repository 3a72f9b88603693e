"""Draw a dataset to PNG so a person can see what is being benchmarked.

`colosseum-preview NAME [param=value ...] [--seed S] [--out FILE]`: a 3-D scatter of the cloud's
top three principal coordinates with the evaluation points coloured by their true scalar
curvature (a diverging map centred at 0 when both signs occur), and a histogram of that truth.
A dataset whose points are images may put a few of them in `Sample.meta["images"]` (an array
(k, h, w), e.g. the clean images of the first evaluation rows): they are drawn as a grid beside the
cloud, titled by the true S of their rows.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import yaml

from .contract import Sample


def principal_coordinates(points: np.ndarray, k: int = 3) -> np.ndarray:
    """The first k principal coordinates (zero-padded when D < k)."""
    centred = points - points.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    out = centred @ vt[:k].T
    return np.pad(out, ((0, 0), (0, k - out.shape[1]))) if out.shape[1] < k else out


def draw(sample: Sample, path: str | Path, title: str = "") -> Path:
    """Write the preview PNG of `sample` to `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import Normalize, TwoSlopeNorm
    from matplotlib.ticker import MaxNLocator

    xyz = principal_coordinates(np.asarray(sample.points))
    truth = np.asarray(sample.curvature)
    lo, hi = float(truth.min()), float(truth.max())
    norm = TwoSlopeNorm(vcenter=0.0, vmin=lo, vmax=hi) if lo < 0 < hi else Normalize(lo, hi if hi > lo else lo + 1)
    cmap = "coolwarm" if lo < 0 < hi else ("Reds" if lo >= 0 else "Blues_r")
    images = sample.meta.get("images")
    images = np.asarray(images, dtype=float) if images is not None else None
    has_images = images is not None and images.ndim == 3 and len(images) > 0
    fig = plt.figure(figsize=(16 if has_images else 11, 5))
    grid = fig.add_gridspec(1, 3 if has_images else 2, width_ratios=[1.15, 0.9, 1] if has_images else [1.15, 1])
    ax = fig.add_subplot(grid[0, 0], projection="3d")
    ax.scatter(*xyz.T, s=2, c="0.6", alpha=0.35, depthshade=False, label="cloud")
    ev = xyz[sample.eval_idx]
    sc = ax.scatter(*ev.T, s=28, c=truth, cmap=cmap, norm=norm, edgecolors="k", linewidths=0.4,
                    depthshade=False, label="evaluation points")
    # below the axes, not beside them: a colour bar on the right covers the z tick labels
    fig.colorbar(sc, ax=ax, orientation="horizontal", shrink=0.6, fraction=0.05, aspect=30, pad=0.06,
                 label="true scalar curvature S")
    ax.set_box_aspect(np.maximum(np.ptp(xyz, axis=0), 1e-3 * np.ptp(xyz).max()))  # true proportions
    ax.set_title(f"{sample.points.shape[0]} points in R^{sample.points.shape[1]}, d = {sample.dim} "
                 "(top 3 principal coordinates)", fontsize=9)
    ax.locator_params(nbins=4)
    ax.tick_params(labelsize=7, pad=1)
    ax.legend(loc="upper left", fontsize=8)
    if has_images:
        _image_grid(fig, grid[0, 1], images, truth)
    hx = fig.add_subplot(grid[0, -1])
    hx.hist(truth, bins=min(40, max(5, truth.size // 2)), color="0.4")
    hx.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no fractional ticks
    hx.axvline(0.0, color="r", lw=1)
    tol = float(sample.meta.get("zero_tol", 0.0))
    signed = np.abs(truth) > tol
    share = float(np.mean(truth[signed] > 0)) if signed.any() else float("nan")
    hx.set_title(f"true S at {truth.size} evaluation points: positive share {share:.2f}, "
                 f"{int((~signed).sum())} unsigned (|S| <= {tol:g})", fontsize=9)
    hx.set_xlabel("true scalar curvature S")
    hx.set_ylabel("evaluation points")
    fig.suptitle(title or sample.meta.get("name", ""))
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _image_grid(fig, cell, images: np.ndarray, truth: np.ndarray) -> None:
    """Up to 8 images in a grid of 2 rows inside `cell`, each titled by the true S of its row."""
    k = min(len(images), 8)
    cols = int(np.ceil(k / 2)) if k > 1 else 1
    frame = fig.add_subplot(cell)
    frame.axis("off")
    frame.set_title("clean images of the first evaluation rows", fontsize=9, pad=18)
    inner = cell.subgridspec(2 if k > 1 else 1, cols, hspace=0.35, wspace=0.1)
    for i in range(k):
        ax = fig.add_subplot(inner[i // cols, i % cols])
        ax.imshow(images[i], cmap="gray", interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        if i < truth.size:
            ax.set_title(f"S = {truth[i]:.2f}", fontsize=8)


def main(argv: list[str] | None = None) -> None:
    from . import registry

    ap = argparse.ArgumentParser(prog="colosseum-preview", description=__doc__.splitlines()[0])
    ap.add_argument("dataset", help=f"one of: {', '.join(registry.list_datasets())}")
    ap.add_argument("params", nargs="*", help="dataset parameters as key=value (YAML values)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, help="PNG path (default: <dataset>.png)")
    args = ap.parse_intermixed_args(argv)
    params = {}
    for item in args.params:
        key, sep, value = item.partition("=")
        if not sep:
            ap.error(f"parameters are key=value, got {item!r}")
        params[key.removeprefix("dataset.")] = yaml.safe_load(value)
    try:
        sample = registry.make_dataset(args.dataset, seed=args.seed, **params)
    except ValueError as exc:
        ap.error(str(exc))
    label = ", ".join(f"{k}={v}" for k, v in params.items())
    out = draw(sample, args.out or Path(f"{args.dataset}.png"),
               title=f"{args.dataset}({label}) seed={args.seed}")
    print(out)
