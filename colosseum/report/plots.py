"""The figures of a report (matplotlib, Agg): each function draws one PNG and returns its path.

Figures are drawn at the size they are shown (the page never scales them up), with text of at least
9 points and a colour bar wherever colour carries a value.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..status import Status
from .stats import HEADLINE

DPI = 100
#: A heatmap with more conditions than this is drawn with conditions as rows and methods as columns.
WIDE = 24


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 10, "axes.titlesize": 10, "axes.labelsize": 10})
    return plt


def _save(fig, path: Path) -> Path:
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def plot_leaderboard(lb: pd.DataFrame, path: Path) -> Path:
    """Balanced sign accuracy per method, best on top, with its 95 % interval over cells."""
    plt = _plt()
    # the table's order (best first, ties as listed), drawn top to bottom
    lb = lb.sort_values(HEADLINE, ascending=False, na_position="last", kind="stable").iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.38 * len(lb) + 1.4))
    y = np.arange(len(lb))
    val = lb[HEADLINE].to_numpy(float)
    lo = lb.get(f"{HEADLINE}_lo", pd.Series(val, index=lb.index)).to_numpy(float)
    hi = lb.get(f"{HEADLINE}_hi", pd.Series(val, index=lb.index)).to_numpy(float)
    ax.barh(y, np.nan_to_num(val), color="tab:blue", alpha=0.75)
    ax.errorbar(np.nan_to_num(val), y, xerr=np.vstack([np.nan_to_num(val - lo), np.nan_to_num(hi - val)]),
                fmt="none", ecolor="k", capsize=3, lw=1)
    ax.axvline(0.5, color="k", ls="--", lw=1, label="chance, and any constant (0.5)")
    ax.set_yticks(y, lb["method"])
    ax.set_xlim(0, 1.04)  # whiskers that reach 1.0 keep their caps
    ax.set_xticks(np.linspace(0, 1, 6))
    ax.set_xlabel("balanced sign accuracy (95 % bootstrap interval over cells)")
    ax.legend(loc="lower right", fontsize=9)
    return _save(fig, path)


def plot_heatmap(heat: pd.DataFrame, order: list[str], path: Path) -> Path | None:
    """Method x condition: balanced sign accuracy, '–' (grey) where a condition has one sign only."""
    if heat.empty:
        return None
    plt = _plt()
    table = heat.pivot(index="method", columns="condition", values="value")
    table = table.reindex([m for m in order if m in table.index]).dropna(axis=1, how="all")
    if table.empty:
        return None
    if table.shape[1] > WIDE:  # many conditions (families x corruptions): one row per condition instead
        table = table.T
    fig, ax = plt.subplots(figsize=(max(7.0, 0.55 * table.shape[1] + 3.5), 0.42 * table.shape[0] + 2.8))
    cmap = plt.get_cmap("RdYlGn").copy()
    cmap.set_bad("0.85")
    im = ax.imshow(np.ma.masked_invalid(table.to_numpy(float)), cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(np.arange(table.shape[1]), table.columns, rotation=60, ha="right")
    ax.set_yticks(np.arange(table.shape[0]), table.index)
    for (i, j), v in np.ndenumerate(table.to_numpy(float)):
        ax.text(j, i, "–" if not np.isfinite(v) else f"{v:.2f}", ha="center", va="center", fontsize=8,
                color="k" if not np.isfinite(v) or 0.25 < v < 0.85 else "w")
    fig.colorbar(im, ax=ax, fraction=0.03, pad=0.02, label="balanced sign accuracy (0.5 = chance)")
    ax.set_title("Where methods detect the sign: balanced sign accuracy per condition")
    return _save(fig, path)


def plot_critical_difference(test: dict, path: Path) -> Path | None:
    """The critical-difference diagram of the Nemenyi test over blocks (scikit-posthocs)."""
    if test.get("nemenyi") is None or test.get("ranks") is None:
        return None
    import scikit_posthocs as sp

    plt = _plt()
    k = len(test["ranks"])
    fig, ax = plt.subplots(figsize=(10, 0.3 * k + 1.8))
    sp.critical_difference_diagram(test["ranks"], test["nemenyi"], ax=ax, label_props={"fontsize": 9})
    ax.set_title(f"Average rank over {test['n_blocks']} blocks (1 = best); bars join methods the Nemenyi test "
                 f"does not separate at 0.05 (Friedman p = {test['friedman_p']:.2g})", fontsize=9)
    return _save(fig, path)


def plot_flat_leak(leak: pd.DataFrame, path: Path) -> Path | None:
    """How much each method reads on intrinsically flat, extrinsically bent clouds, against the unit S^2 cap."""
    leak = leak[np.isfinite(leak["leak"].astype(float))]
    if leak.empty:
        return None
    plt = _plt()
    leak = leak.sort_values("leak")
    fig, ax = plt.subplots(figsize=(8, 0.38 * len(leak) + 1.4))
    ax.barh(np.arange(len(leak)), leak["leak"], color="tab:orange")
    ax.set_yticks(np.arange(len(leak)), leak["method"])
    ax.axvline(1.0, color="k", ls="--", lw=1, label="as large as on the unit sphere")
    ax.set_xscale("symlog", linthresh=0.1)
    ax.set_xlabel("flat leak: median |estimate| on flat controls / on the unit S² cap")
    ax.legend(loc="lower right", fontsize=9)
    return _save(fig, path)


def robust_limits(values: np.ndarray, share: float = 0.02) -> tuple[float, float]:
    """Axis limits that fit the bulk of `values` (the truth always, estimates between the 2nd and 98th
    percentiles), with a margin: one wild estimate does not squeeze the rest into a strip."""
    v = values[np.isfinite(values)]
    if not v.size:
        return -1.0, 1.0
    lo, hi = np.quantile(v, [share, 1 - share])
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    pad = 0.08 * (hi - lo or 1.0)
    return float(lo - pad), float(hi + pad)


def plot_calibration(df: pd.DataFrame, calib: pd.DataFrame, path: Path) -> Path | None:
    """Estimate against truth for methods in scalar-curvature units, with y = x and the fitted slope."""
    from .stats import in_scalar_units

    pts = df[(df["status"] == Status.OK) & (df["point"] >= 0) & in_scalar_units(df)]
    methods = [m for m in calib["method"] if m in set(pts["variant"])]
    if not methods:
        return None
    plt = _plt()
    cols = min(3, len(methods))
    rows = -(-len(methods) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.8 * rows), squeeze=False)
    for ax, m in zip(axes.flat, methods):
        g = pts[pts["variant"] == m]
        t, e = g["true_curvature"].to_numpy(float), g["estimate"].to_numpy(float)
        ok = np.isfinite(e)
        xlim, ylim = robust_limits(t, share=0.0), robust_limits(e[ok])
        inside = ok & (e >= ylim[0]) & (e <= ylim[1])
        ax.scatter(t[inside], e[inside], s=8, alpha=0.5)
        outside = ok & ~inside
        if outside.any():  # a few wild estimates: shown on the edge, and counted
            ax.scatter(t[outside], np.clip(e[outside], *ylim), s=12, marker="^", color="tab:red", alpha=0.6,
                       label=f"{int(outside.sum())} beyond the axis")
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
        lim = [max(xlim[0], ylim[0]), min(xlim[1], ylim[1])]
        ax.plot(lim, lim, "k--", lw=1, label="y = x")
        row = calib[calib["method"] == m].iloc[0]
        if np.isfinite(row["slope"]):
            xs = np.linspace(*xlim, 2)
            ax.plot(xs, row["intercept"] + row["slope"] * xs, color="tab:red", lw=1, label=f"slope {row['slope']:.2f}")
        ax.set_title(f"{m} (r = {row['r']:.2f})")
        ax.set_xlabel("true S")
        ax.set_ylabel("estimate")
        ax.legend(fontsize=8, loc="upper left")
    for ax in axes.flat[len(methods):]:
        ax.axis("off")
    fig.tight_layout()
    return _save(fig, path)


def plot_pointwise(df: pd.DataFrame, dataset: str, path: Path) -> Path | None:
    """Draw one cloud of a pointwise dataset again (from the cell's stored spec) and colour its evaluation
    points by truth and by each method's estimate (each panel with its colour bar)."""
    from ..cells import CellSpec
    from ..compute import draw_sample
    from ..preview import principal_coordinates

    g = df[(df["dataset"] == dataset) & (df["status"] == Status.OK)]
    if g.empty or "spec" not in g:
        return None
    first = g.sort_values(["seed", "cell_id"]).iloc[0]
    spec = json.loads(first["spec"])
    same = g[g["spec"].map(lambda s: {k: v for k, v in json.loads(s).items() if k not in ("method", "method_params",
                                                                                             "code")}
                           == {k: v for k, v in spec.items() if k not in ("method", "method_params", "code")})]
    try:
        sample = draw_sample(CellSpec.from_dict(spec))
    except Exception:  # noqa: BLE001 - a plot is not worth failing the report
        return None
    xyz = principal_coordinates(np.asarray(sample.points))
    panels = [("truth", same.drop_duplicates("point").sort_values("point")["true_curvature"].to_numpy())]
    for method, gm in same.groupby("variant"):
        panels.append((method, gm.sort_values("point")["estimate"].to_numpy()))
    plt = _plt()
    cols = min(4, len(panels))
    rows = int(np.ceil(len(panels) / cols))
    fig = plt.figure(figsize=(3.8 * cols, 3.4 * rows))
    ev = xyz[sample.eval_idx]
    for i, (title, values) in enumerate(panels):
        ax = fig.add_subplot(rows, cols, i + 1, projection="3d")
        ax.scatter(*xyz.T, s=1, c="0.75", alpha=0.3, depthshade=False)
        finite = np.isfinite(values)
        lim = float(np.nanmax(np.abs(values))) if finite.any() else 1.0
        sc = ax.scatter(*ev[finite].T, s=10, c=values[finite], cmap="coolwarm", vmin=-lim, vmax=lim, depthshade=False)
        fig.colorbar(sc, ax=ax, shrink=0.6, pad=0.0)
        ax.set_title(title)
        ax.set_box_aspect(np.maximum(np.ptp(xyz, axis=0), 1e-3 * np.ptp(xyz).max()))
        ax.view_init(elev=35, azim=-60)
        ax.set_axis_off()
    fig.suptitle(f"{dataset} seed {first['seed']}: evaluation points coloured by value (red +, blue −)")
    fig.tight_layout()
    return _save(fig, path)
