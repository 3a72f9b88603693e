"""Reports of a run: a self-contained HTML page and a markdown summary, with PNG plots beside them.

`colosseum-report RUN_DIR [--out DIR]` writes report.html, report.md and the plots: a
leaderboard with bootstrap intervals over cells, balanced sign accuracy against intrinsic
dimension, codimension (where it varies), noise and sample size, estimate-vs-truth scatter plots, a critical-difference
diagram across dataset configurations, and, for pointwise datasets, the cloud coloured by truth
and by each method's estimate. The CSV behind every table is written too.
"""
from __future__ import annotations

import argparse
import html
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from . import results
from .scoring import METRICS, SCORED_STATUSES, metric_arrays, metric_values
from .tables import to_markdown

BOOT_METRICS = ("sign_accuracy", "balanced_sign_accuracy", "auroc", "pearson")
#: Studentized range q_0.05 / sqrt(2) for k = 2..10 groups (Demsar 2006, Nemenyi test).
NEMENYI_Q05 = {2: 1.960, 3: 2.343, 4: 2.569, 5: 2.728, 6: 2.850, 7: 2.949, 8: 3.031, 9: 3.102, 10: 3.164}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def bootstrap_leaderboard(df: pd.DataFrame, by=("method",), n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Pooled metrics per group with percentile 95 % intervals from resampling cells."""
    lb = results.leaderboard(df, by=by)
    rng = np.random.default_rng(seed)
    scored = df[df["status"].isin(SCORED_STATUSES) & (df["point"] >= 0)]
    extra = []
    for key, g in scored.groupby(list(by), sort=True):
        truth, est = g["true_curvature"].to_numpy(float), g["estimate"].to_numpy(float)
        tol = g["zero_tol"].to_numpy(float)
        codes, _ = pd.factorize(g["cell_id"])
        order = np.argsort(codes, kind="stable")
        cell_rows = np.split(order, np.flatnonzero(np.diff(codes[order])) + 1)  # row positions per cell
        boots = {m: [] for m in BOOT_METRICS}
        for _ in range(n_boot):
            pick = np.concatenate([cell_rows[i] for i in rng.integers(0, len(cell_rows), len(cell_rows))])
            vals = metric_arrays(truth[pick], est[pick], tol[pick], BOOT_METRICS)
            for m in BOOT_METRICS:
                boots[m].append(vals[m])
        row = dict(zip(by, key if isinstance(key, tuple) else (key,)))
        for m in BOOT_METRICS:
            b = np.asarray(boots[m], dtype=float)
            b = b[np.isfinite(b)]
            row[f"{m}_lo"], row[f"{m}_hi"] = (np.percentile(b, [2.5, 97.5]) if b.size else (np.nan, np.nan))
        extra.append(row)
    return lb.merge(pd.DataFrame(extra), on=list(by), how="left") if extra else lb


def _config_key(df: pd.DataFrame) -> pd.Series:
    cols = sorted(c for c in df.columns if c.startswith("dataset."))
    return df["dataset"].astype(object) + "|" + df[cols].astype(object).map(str).agg("|".join, axis=1)


def per_config_scores(df: pd.DataFrame, metric: str = "balanced_sign_accuracy") -> pd.DataFrame:
    """Pooled `metric` per (dataset configuration, method): the blocks of the rank statistics."""
    scored = df[df["status"].isin(SCORED_STATUSES)].assign(config=_config_key)
    rows = [{"config": c, "method": m, metric: metric_values(g, (metric,))[metric]}
            for (c, m), g in scored.groupby(["config", "method"])]
    return pd.DataFrame(rows)


def average_ranks(scores: pd.DataFrame, metric: str = "balanced_sign_accuracy") -> tuple[pd.Series, int]:
    """Average rank of each method across configurations (1 = best); configs lacking a method are dropped."""
    table = scores.pivot(index="config", columns="method", values=metric).dropna()
    ranks = table.rank(axis=1, ascending=False)
    return ranks.mean().sort_values(), len(table)


def critical_difference(k: int, n: int) -> float:
    """Nemenyi critical difference of average ranks at alpha = 0.05 for k methods on n blocks."""
    q = NEMENYI_Q05.get(k, NEMENYI_Q05[10] + 0.05 * (k - 10))
    return q * np.sqrt(k * (k + 1) / (6.0 * n))


# ----------------------------------------------------------------------------- plots

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

    scored = df[df["status"].isin(SCORED_STATUSES)]
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
    scored = df[(df["status"] == "ok") & (df["point"] >= 0)]
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
    """Regenerate one cloud of a pointwise dataset and colour its eval points by truth and estimates."""
    from . import registry
    from .preview import principal_coordinates

    g = df[(df["dataset"] == dataset) & (df["status"] == "ok")]
    if g.empty:
        return None
    first = g.sort_values(["seed", "cell_id"]).iloc[0]
    same = g[(g["seed"] == first["seed"]) & (_config_key(g) == _config_key(g.loc[[first.name]]).iloc[0])]
    accepted = registry.entry(registry.DATASET, dataset).defaults
    params = {k: first[f"dataset.{k}"] for k in accepted if f"dataset.{k}" in g.columns}
    params = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in params.items()}
    params = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in params.items()}
    for k, v in params.items():
        if isinstance(v, str) and v[:1] in "[{":
            params[k] = json.loads(v)
    try:
        sample = registry.make_dataset(dataset, seed=int(first["seed"]), **params)
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


# ----------------------------------------------------------------------------- assembly

POINTWISE_KINDS = ("closed",)


def build(run_dir: str | Path, out: str | Path | None = None, n_boot: int = 1000) -> dict[str, Path]:
    """Write report.html, report.md, the CSVs and every PNG; returns their paths by name."""
    run = Path(run_dir)
    out_dir = Path(out) if out else run / "report"
    out_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = results.load(run)
    missing = df.attrs.get("missing_cells", [])
    files: dict[str, Path] = {}
    lb = bootstrap_leaderboard(df, n_boot=n_boot)
    by_dataset = results.leaderboard(df, by=("dataset", "method"))
    lb.to_csv(out_dir / "leaderboard.csv", index=False)
    by_dataset.to_csv(out_dir / "by_dataset.csv", index=False)
    files["leaderboard"] = plot_leaderboard(lb, out_dir / "leaderboard.png")
    for col, label, name in (("dim", "intrinsic dimension d", "vs_dimension"),
                             ("dataset.codim", "codimension", "vs_codimension"),
                             ("dataset.noise", "noise (ambient standard deviation)", "vs_noise"),
                             ("n_points", "sample size N", "vs_sample_size")):
        p = plot_versus(df, col, label, out_dir / f"{name}.png")
        if p is not None:
            files[name] = p
    files["scatter"] = plot_scatter(df, out_dir / "scatter.png")
    scores = per_config_scores(df)
    ranks, n_blocks = average_ranks(scores) if len(scores) else (pd.Series(dtype=float), 0)
    if len(ranks) >= 2 and n_blocks >= 2:
        files["critical_difference"] = plot_critical_difference(ranks, n_blocks, out_dir / "critical_difference.png")
    kinds = df.get("meta.kind", pd.Series("", index=df.index)).astype(str)
    for dataset in sorted(df.loc[kinds.isin(POINTWISE_KINDS), "dataset"].unique()):
        p = plot_pointwise(df, dataset, out_dir / f"cloud_{dataset}.png")
        if p is not None:
            files[f"cloud_{dataset}"] = p
    md = _markdown(run, df, lb, by_dataset, files, missing, [str(w.message) for w in caught])
    (out_dir / "report.md").write_text(md)
    (out_dir / "report.html").write_text(_html(run, lb, by_dataset, files, missing))
    files["markdown"], files["html"] = out_dir / "report.md", out_dir / "report.html"
    return files


def _leader_columns(lb: pd.DataFrame) -> pd.DataFrame:
    show = lb.copy()
    for m in BOOT_METRICS:
        if f"{m}_lo" in show:
            show[m] = [f"{v:.3f} [{lo:.3f}, {hi:.3f}]" if np.isfinite(v) else "–"
                       for v, lo, hi in zip(show[m], show[f"{m}_lo"], show[f"{m}_hi"])]
    cols = ["method", "cells", "failed", "skipped", "points", "positive_share", "majority", *BOOT_METRICS,
            "coverage", "runtime_s"]
    return show[[c for c in cols if c in show.columns]].sort_values("method")


def _markdown(run, df, lb, by_dataset, files, missing, notes) -> str:
    parts = [f"# Colosseum report: {run.name}\n",
             f"{df['cell_id'].nunique()} cells, {df['method'].nunique()} methods, {df['dataset'].nunique()} "
             f"datasets; git {', '.join(sorted(map(str, df['prov.git_commit'].unique())))[:80]}.\n"]
    if missing:
        parts.append(f"**Partial run: {len(missing)} expected cells are missing.**\n")
    parts += ["## Leaderboard (95 % bootstrap intervals over cells)\n", to_markdown(_leader_columns(lb)),
              "\nBalanced sign accuracy 0.5 = no sign information; `majority` is what always guessing the "
              "majority sign scores.\n", "## By dataset\n",
              to_markdown(by_dataset[[c for c in ("dataset", "method", "cells", "points", "positive_share",
                                                  "sign_accuracy", "balanced_sign_accuracy", "auroc", "pearson")
                                      if c in by_dataset]])]
    parts += [f"\n![{name}]({p.name})\n" for name, p in files.items() if p.suffix == ".png"]
    return "\n".join(parts)


def _html(run, lb, by_dataset, files, missing) -> str:
    def table(frame: pd.DataFrame) -> str:
        return frame.to_html(index=False, float_format=lambda v: f"{v:.3f}", na_rep="–", border=0,
                             classes="t")

    imgs = "".join(f'<figure><img src="{html.escape(p.name)}" alt="{html.escape(n)}"><figcaption>'
                   f"{html.escape(n.replace('_', ' '))}</figcaption></figure>"
                   for n, p in files.items() if p.suffix == ".png")
    warn = f"<p class=warn>Partial run: {len(missing)} expected cells are missing.</p>" if missing else ""
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Colosseum report: {html.escape(run.name)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}} table.t{{border-collapse:collapse;font-size:13px}}
table.t td,table.t th{{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}}
figure{{display:inline-block;margin:1em}} img{{max-width:560px}} .warn{{color:#b00;font-weight:bold}}</style></head>
<body><h1>Colosseum report: {html.escape(run.name)}</h1>{warn}
<h2>Leaderboard</h2><p>Pooled over each method's evaluation points; brackets: 95 % bootstrap interval over cells.
Balanced sign accuracy 0.5 means no sign information.</p>{table(_leader_columns(lb))}
<h2>By dataset</h2>{table(by_dataset)}<h2>Plots</h2>{imgs}</body></html>"""


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="colosseum-report", description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--out", type=Path, help="output folder (default RUN_DIR/report)")
    ap.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples (default 1000)")
    args = ap.parse_args(argv)
    if not (args.run_dir / results.CELLS).is_dir():
        ap.error(f"{args.run_dir} is not a run directory (no {results.CELLS}/ folder)")
    files = build(args.run_dir, args.out, n_boot=args.n_boot)
    print(files["html"])
    print(files["markdown"])


__all__ = ["build", "bootstrap_leaderboard", "average_ranks", "critical_difference", "METRICS"]
