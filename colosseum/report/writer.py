"""Read a run and write its report: page, plots and the CSV behind each of them."""
from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import pandas as pd

from .. import results, store
from ..compare import code_versions
from . import page, plots, stats

POINTWISE_KINDS = ("closed",)


def build(run_dir: str | Path, out: str | Path | None = None, n_boot: int = 1000) -> dict[str, Path]:
    """Write report.html, report.md, the CSVs and every PNG; returns their paths by name."""
    run = Path(run_dir)
    out_dir = Path(out) if out else run / "report"
    out_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        df = results.load(run)
    missing = df.attrs.get("missing_cells", [])
    files: dict[str, Path] = {}
    lb = stats.bootstrap_leaderboard(df, n_boot=n_boot)
    by_dataset = results.leaderboard(df, by=("dataset", "method"))
    code = code_versions(df)
    lb.to_csv(out_dir / "leaderboard.csv", index=False)
    by_dataset.to_csv(out_dir / "by_dataset.csv", index=False)
    code.to_csv(out_dir / "code_versions.csv", index=False)
    files["leaderboard"] = plots.plot_leaderboard(lb, out_dir / "leaderboard.png")
    for col, label, name in (("dim", "intrinsic dimension d", "vs_dimension"),
                             ("dataset.codim", "codimension", "vs_codimension"),
                             ("dataset.noise", "noise (ambient standard deviation)", "vs_noise"),
                             ("n_points", "sample size N", "vs_sample_size")):
        p = plots.plot_versus(df, col, label, out_dir / f"{name}.png")
        if p is not None:
            files[name] = p
    files["scatter"] = plots.plot_scatter(df, out_dir / "scatter.png")
    scores = stats.per_config_scores(df)
    ranks, n_blocks = stats.average_ranks(scores) if len(scores) else (pd.Series(dtype=float), 0)
    if len(ranks) >= 2 and n_blocks >= 2:
        files["critical_difference"] = plots.plot_critical_difference(ranks, n_blocks,
                                                                      out_dir / "critical_difference.png")
    kinds = df.get("meta.kind", pd.Series("", index=df.index)).astype(str)
    for dataset in sorted(df.loc[kinds.isin(POINTWISE_KINDS), "dataset"].unique()):
        p = plots.plot_pointwise(df, dataset, out_dir / f"cloud_{dataset}.png")
        if p is not None:
            files[f"cloud_{dataset}"] = p
    (out_dir / "report.md").write_text(page.markdown(run, df, lb, by_dataset, code, files, missing))
    (out_dir / "report.html").write_text(page.page_html(run, lb, by_dataset, code, files, missing))
    files["markdown"], files["html"] = out_dir / "report.md", out_dir / "report.html"
    return files


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
