"""The plots of a report (matplotlib, Agg): each function draws one figure to a PNG and returns its path."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..scoring import metric_values
from ..status import SCORED, Status
from .stats import config_key, critical_difference


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_leaderboard(lb: pd.DataFrame, path: Path) -> Path:
    plt = _plt()
    lb = lb.sort_values("balanced_sign_accuracy", na_position="first")
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(lb) + 1.5))
    y = np.arange(len(lb))
    val = lb["balanced_sign_accuracy"].to_numpy(float)
    lo = val - lb.get("balanced_sign_accuracy_lo", pd.Series(val)).to_numpy(float)
    hi = lb.get("balanced_sign_accuracy_hi", pd.Series(val)).to_numpy(float) - val
    ax.barh(y, val, xerr=np.vstack([np.nan_to_num(lo), np.nan_to_num(hi)]), color="tab:blue", alpha=0.8)
    ax.axvline(0.5, color="k", ls="--", lw=1, label="chance / any constant (0.5)")
    ax.set_yticks(y, lb["method"])
    ax.set_xlim(0, 1)
    ax.set_xlabel("balanced sign accuracy (95 % bootstrap interval over cells)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _chance_halfwidth(g: pd.DataFrame) -> float:
    """Half-width of the central 95 % of balanced sign accuracy for coin flips on g's signed points
    (normal approximation: var = (1/(4 n+) + 1/(4 n-)) / 4)."""
    rows = g[g["point"] >= 0]
    t, tol = rows["true_curvature"].to_numpy(float), rows["zero_tol"].to_numpy(float)
    n_pos, n_neg = int(np.sum(t > tol)), int(np.sum(t < -tol))
    if n_pos == 0 or n_neg == 0:
        return np.nan
    return 1.96 * np.sqrt((0.25 / n_pos + 0.25 / n_neg) / 4.0)


def plot_versus(df: pd.DataFrame, column: str, label: str, path: Path) -> Path | None:
    """Balanced sign accuracy against one dataset property, one small panel per method (None if the
    property never varies). The grey band is where 95 % of coin-flip scores on the same points fall."""
    if column not in df.columns or df[column].nunique(dropna=True) < 2:
        return None
    plt = _plt()
    from matplotlib.ticker import MaxNLocator

    scored = df[df["status"].isin(SCORED)]
    methods = sorted(scored["method"].unique())
    ncol = min(4, len(methods))
    nrow = -(-len(methods) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(2.7 * ncol, 2.0 * nrow + 0.7), sharex=True, sharey=True,
                             squeeze=False)
    for ax, method in zip(axes.flat, methods):
        xs, ys, bands = [], [], []
        for x, gx in scored[scored["method"] == method].groupby(column):
            xs.append(x)
            ys.append(metric_values(gx, ("balanced_sign_accuracy",))["balanced_sign_accuracy"])
            bands.append(_chance_halfwidth(gx))
        xs, bands = np.asarray(xs, dtype=float), np.asarray(bands)
        ax.fill_between(xs, 0.5 - bands, 0.5 + bands, color="0.85", lw=0)
        ax.axhline(0.5, color="0.5", ls="--", lw=0.8)
        ax.plot(xs, ys, marker="o", color="tab:blue")
        ax.set_title(method, fontsize=9)
        ax.set_ylim(0, 1.02)
        if np.all(xs == np.round(xs)):  # dimensions, sizes: no ticks between integers
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.tick_params(labelsize=8)
    for ax in axes.flat[len(methods):]:
        ax.set_visible(False)
    fig.supxlabel(label, fontsize=9)
    fig.supylabel("balanced sign accuracy", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_scatter(df: pd.DataFrame, path: Path) -> Path:
    plt = _plt()
    scored = df[(df["status"] == Status.OK) & (df["point"] >= 0)]
    methods = sorted(scored["method"].unique())
    cols = min(4, max(1, len(methods)))
    rows = int(np.ceil(len(methods) / cols)) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols, 3 * rows), squeeze=False)
    for ax, method in zip(axes.ravel(), methods):
        g = scored[scored["method"] == method]
        for name, gd in g.groupby("dataset"):
            ax.scatter(gd["true_curvature"], gd["estimate"], s=6, alpha=0.6, label=name)
        ax.axhline(0, color="k", lw=0.6)
        ax.axvline(0, color="k", lw=0.6)
        ax.set_title(method, fontsize=9)
        ax.set_xlabel("true S", fontsize=8)
        ax.set_ylabel("estimate", fontsize=8)
    for ax in axes.ravel()[len(methods):]:
        ax.axis("off")
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(6, len(labels)), fontsize=7)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_critical_difference(ranks: pd.Series, n_blocks: int, path: Path) -> Path:
    plt = _plt()
    k = len(ranks)
    cd = critical_difference(k, n_blocks)
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.32 * k))
    ax.set_xlim(0.8, k + 0.2)
    ax.set_ylim(-k - 1, 1.5)
    ax.hlines(0, 1, k, color="k")
    for r in range(1, k + 1):
        ax.vlines(r, 0, 0.15, color="k")
        ax.text(r, 0.3, str(r), ha="center", fontsize=8)
    for i, (method, r) in enumerate(ranks.items()):
        ax.plot([r, r], [0, -i - 1], color="0.5", lw=0.8)
        ax.text(r + 0.05, -i - 1, f"{method} ({r:.2f})", va="center", fontsize=8)
    # bars join methods whose average ranks differ by less than the critical difference
    vals = ranks.to_numpy()
    for i in range(k):
        j = i
        while j + 1 < k and vals[j + 1] - vals[i] < cd:
            j += 1
        if j > i:
            ax.plot([vals[i], vals[j]], [-0.5 - 0.12 * i] * 2, color="tab:red", lw=3)
    ax.plot([1, 1 + cd], [1.1, 1.1], color="k", lw=2)
    ax.text(1 + cd / 2, 1.2, f"CD = {cd:.2f} (Nemenyi, alpha 0.05, {n_blocks} dataset configs)", ha="center",
            fontsize=8)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_pointwise(df: pd.DataFrame, dataset: str, path: Path) -> Path | None:
    """Draw one cloud of a pointwise dataset again (from the cell's stored spec) and colour its evaluation
    points by truth and by each method's estimate."""
    from ..cells import CellSpec
    from ..compute import draw_sample
    from ..preview import principal_coordinates

    g = df[(df["dataset"] == dataset) & (df["status"] == Status.OK)]
    if g.empty or "spec" not in g:
        return None
    first = g.sort_values(["seed", "cell_id"]).iloc[0]
    same = g[(g["seed"] == first["seed"]) & (config_key(g) == config_key(g.loc[[first.name]]).iloc[0])]
    try:
        sample = draw_sample(CellSpec.from_dict(json.loads(first["spec"])))
    except Exception:  # noqa: BLE001 - a plot is not worth failing the report
        return None
    xyz = principal_coordinates(np.asarray(sample.points))
    panels = [("truth", same.drop_duplicates("point").sort_values("point")["true_curvature"].to_numpy())]
    for method, gm in same.groupby("method"):
        panels.append((method, gm.sort_values("point")["estimate"].to_numpy()))
    plt = _plt()
    cols = min(4, len(panels))
    rows = int(np.ceil(len(panels) / cols))
    fig = plt.figure(figsize=(3.4 * cols, 3.2 * rows))
    ev = xyz[sample.eval_idx]
    for i, (title, values) in enumerate(panels):
        ax = fig.add_subplot(rows, cols, i + 1, projection="3d")
        ax.scatter(*xyz.T, s=1, c="0.75", alpha=0.3, depthshade=False)
        finite = np.isfinite(values)
        lim = np.nanmax(np.abs(values)) if finite.any() else 1.0
        ax.scatter(*ev[finite].T, s=10, c=values[finite], cmap="coolwarm", vmin=-lim, vmax=lim, depthshade=False)
        ax.set_title(title, fontsize=9)
        ax.set_box_aspect(np.maximum(np.ptp(xyz, axis=0), 1e-3 * np.ptp(xyz).max()))
        ax.view_init(elev=35, azim=-60)
        ax.set_axis_off()
    fig.suptitle(f"{dataset} seed {first['seed']}: evaluation points coloured by sign and size (red +, blue -)",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
