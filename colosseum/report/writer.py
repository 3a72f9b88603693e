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


def compute(df: pd.DataFrame, n_boot: int = 1000) -> dict:
    """Every table of the report from the per-point table."""
    lb = stats.bootstrap_leaderboard(df, by=("variant",), n_boot=n_boot).rename(columns={"variant": "method"})
    by_dataset = results.leaderboard(df, by=("dataset", "variant")).rename(columns={"variant": "method"})
    blocks = stats.block_scores(df)
    heat = stats.heatmap(df)
    return {"leaderboard": lb, "by_dataset": by_dataset[[c for c in (
                "dataset", "method", "cells", "points", "positive_share", "sign_accuracy", "balanced_sign_accuracy",
                "auroc", "pearson") if c in by_dataset]],
            "blocks": blocks, "test": stats.rank_test(blocks), "heatmap": heat,
            "complexity": stats.sample_complexity(heat), "leak": stats.flat_leak(df),
            "calibration": stats.calibration(df), "code": code_versions(df)}


def build(run_dir: str | Path, out: str | Path | None = None, n_boot: int = 1000) -> dict[str, Path]:
    """Write report.html, report.md, the CSVs and every PNG; returns their paths by name."""
    run = Path(run_dir)
    out_dir = Path(out) if out else run / "report"
    out_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        df = results.load(run)
    missing = df.attrs.get("missing_cells", [])
    parts = compute(df, n_boot)
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
    args = ap.parse_args(argv)
    if not (args.run_dir / store.CELLS).is_dir():
        ap.error(f"{args.run_dir} is not a run directory (no {store.CELLS}/ folder)")
    files = build(args.run_dir, args.out, n_boot=args.n_boot)
    print(files["html"])
    print(files["markdown"])
