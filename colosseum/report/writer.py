"""Read a run and write its report: the page, its figures and the CSV behind each section."""
from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import pandas as pd

from .. import results, store
from ..compare import code_versions
from . import page, plots, stats

POINTWISE_KINDS = ("closed",)


def compute(df: pd.DataFrame, n_boot: int = 1000, where: pd.DataFrame | None = None) -> dict:
    """Every table of the report from the per-point table (`where`: the rows of the heatmap and sample
    complexity, when they show a subset of the variants)."""
    lb = stats.bootstrap_leaderboard(df, by=("variant",), n_boot=n_boot).rename(columns={"variant": "method"})
    by_dataset = results.leaderboard(df, by=("dataset", "variant")).rename(columns={"variant": "method"})
    blocks = stats.block_scores(df)
    heat = stats.heatmap(df if where is None else where)
    return {"leaderboard": lb, "by_dataset": by_dataset[[c for c in (
                "dataset", "method", "cells", "points", "positive_share", "sign_accuracy", "balanced_sign_accuracy",
                "auroc", "pearson") if c in by_dataset]],
            "blocks": blocks, "test": stats.rank_test(blocks), "heatmap": heat,
            "complexity": stats.sample_complexity(heat), "leak": stats.flat_leak(df),
            "calibration": stats.calibration(df), "code": code_versions(df)}


VIEWS = ("both", "default", "tuned")


def view_of(df: pd.DataFrame, view: str) -> pd.DataFrame:
    """The rows of a tuned run's "where" panels: every variant (both), the defaults, or each method tuned where
    it has a tuned setting and at its default where it has none."""
    tuned = df["variant"].astype(str).str.contains(" tuned (", regex=False)
    if view == "default":
        return df[~tuned]
    if view == "tuned":
        has_tuned = set(df.loc[tuned, "method"])
        return df[tuned | ~df["method"].isin(has_tuned)]
    return df


def build(run_dir: str | Path, out: str | Path | None = None, n_boot: int = 1000, view: str = "both"
          ) -> dict[str, Path]:
    """Write report.html, report.md, the CSVs and every PNG; returns their paths by name.

    A run made by colosseum-tune (RUN_DIR/tuning/selected.yaml) is shown from its test seeds only, each
    method at its default and tuned (`colosseum.tuning.tuned_view`); `view` chooses what the "where" heatmap
    and sample-complexity panels show (both, default or tuned)."""
    from ..tuning import read_selection, tuned_view

    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
    run = Path(run_dir)
    out_dir = Path(out) if out else run / "report"
    out_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        df = results.load(run)
    missing = df.attrs.get("missing_cells", [])
    selection = read_selection(run)
    if selection is not None:
        df = tuned_view(df, selection)
    parts = compute(df, n_boot, where=view_of(df, view) if selection is not None else df)
    parts["selection"] = selection
    parts["health"] = page.health(df, missing)
    for name, key in (("health", "health"), ("leaderboard", "leaderboard"), ("by_dataset", "by_dataset"), ("blocks", "blocks"),
                      ("heatmap", "heatmap"), ("sample_complexity", "complexity"), ("flat_leak", "leak"),
                      ("calibration", "calibration"), ("code_versions", "code")):
        parts[key].to_csv(out_dir / f"{name}.csv", index=False)
    ranks = parts["test"]["ranks"]
    (ranks.rename("average_rank").reset_index() if ranks is not None
     else pd.DataFrame(columns=["method", "average_rank"])).to_csv(out_dir / "ranks.csv", index=False)
    order = list(parts["leaderboard"]["method"])
    files: dict[str, Path | None] = {
        "leaderboard": plots.plot_leaderboard(parts["leaderboard"], out_dir / "leaderboard.png"),
        "heatmap": plots.plot_heatmap(parts["heatmap"], order, out_dir / "heatmap.png"),
        "critical_difference": plots.plot_critical_difference(parts["test"], out_dir / "critical_difference.png"),
        "flat_leak": plots.plot_flat_leak(parts["leak"], out_dir / "flat_leak.png"),
        "calibration": plots.plot_calibration(df, parts["calibration"], out_dir / "calibration.png"),
    }
    kinds = df.get("meta.kind", pd.Series("", index=df.index)).astype(str)
    for dataset in sorted(df.loc[kinds.isin(POINTWISE_KINDS), "dataset"].unique()):
        files[f"cloud_{dataset}"] = plots.plot_pointwise(df, dataset, out_dir / f"cloud_{dataset}.png")
    parts["files"] = {k: v for k, v in files.items() if v is not None}
    (out_dir / "report.md").write_text(page.markdown(run, df, parts, missing))
    (out_dir / "report.html").write_text(page.page_html(run, df, parts, missing))
    return {**parts["files"], "markdown": out_dir / "report.md", "html": out_dir / "report.html"}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="colosseum-report", description="Write the report of a run.")
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--out", type=Path, help="output folder (default RUN_DIR/report)")
    ap.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples (default 1000)")
    ap.add_argument("--view", choices=VIEWS, default="both",
                    help="a tuned run (colosseum-tune): methods in the heatmap at both settings, default, or tuned")
    args = ap.parse_args(argv)
    if not (args.run_dir / store.CELLS).is_dir():
        ap.error(f"{args.run_dir} is not a run directory (no {store.CELLS}/ folder)")
    files = build(args.run_dir, args.out, n_boot=args.n_boot, view=args.view)
    print(files["html"])
    print(files["markdown"])
