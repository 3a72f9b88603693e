"""The page of a report: the same content as markdown (report.md) and as self-contained HTML (report.html)."""
from __future__ import annotations

import html

import numpy as np
import pandas as pd

from ..display import to_markdown
from .stats import BOOT_METRICS


def leader_columns(lb: pd.DataFrame) -> pd.DataFrame:
    """The leaderboard as shown: best balanced sign accuracy first, intervals in brackets."""
    show = lb.sort_values("balanced_sign_accuracy", ascending=False, na_position="last").copy()
    for m in BOOT_METRICS:
        if f"{m}_lo" in show:
            show[m] = [f"{v:.3f} [{lo:.3f}, {hi:.3f}]" if np.isfinite(v) else "–"
                       for v, lo, hi in zip(show[m], show[f"{m}_lo"], show[f"{m}_hi"])]
    cols = ["method", "cells", "failed", "skipped", "points", "positive_share", "majority", *BOOT_METRICS,
            "coverage", "runtime_s"]
    return show[[c for c in cols if c in show.columns]]


def markdown(run, df, lb, by_dataset, code, files, missing) -> str:
    parts = [f"# Colosseum report: {run.name}\n",
             f"{df['cell_id'].nunique()} cells, {df['method'].nunique()} methods, {df['dataset'].nunique()} "
             f"datasets; git {', '.join(sorted(map(str, df['prov.git_commit'].unique())))[:80]}.\n"]
    if missing:
        parts.append(f"**Partial run: {len(missing)} expected cells are missing.**\n")
    parts += ["## Leaderboard (95 % bootstrap intervals over cells)\n", to_markdown(leader_columns(lb)),
              "\nBalanced sign accuracy 0.5 = no sign information; `majority` is what always guessing the "
              "majority sign scores.\n", "## By dataset\n",
              to_markdown(by_dataset[[c for c in ("dataset", "method", "cells", "points", "positive_share",
                                                  "sign_accuracy", "balanced_sign_accuracy", "auroc", "pearson")
                                      if c in by_dataset]]),
              "\n## Code versions\n", to_markdown(code)]
    parts += [f"\n![{name}]({p.name})\n" for name, p in files.items() if p.suffix == ".png"]
    return "\n".join(parts)


def page_html(run, lb, by_dataset, code, files, missing) -> str:
    def table(frame: pd.DataFrame) -> str:
        return frame.to_html(index=False, float_format=lambda v: f"{v:.3f}", na_rep="–", border=0,
                             classes="t")

    imgs = "".join(f'<figure><img src="{html.escape(p.name)}" alt="{html.escape(n)}"><figcaption>'
                   f"{html.escape(n.replace('_', ' '))}</figcaption></figure>"
                   for n, p in files.items() if p.suffix == ".png")
    warn = f"<p class=warn>Partial run: {len(missing)} expected cells are missing.</p>" if missing else ""
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Colosseum report: {html.escape(run.name)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1400px}} table.t{{border-collapse:collapse;font-size:13px}}
table.t td,table.t th{{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right;white-space:nowrap}}
figure{{margin:1em 0}} img{{max-width:100%}} .warn{{color:#b00;font-weight:bold}}</style></head>
<body><h1>Colosseum report: {html.escape(run.name)}</h1>{warn}
<h2>Leaderboard</h2><p>Pooled over each method's evaluation points; brackets: 95 % bootstrap interval over cells.
Balanced sign accuracy 0.5 means no sign information.</p>{table(leader_columns(lb))}
<h2>By dataset</h2>{table(by_dataset)}<h2>Code versions</h2>{table(code)}<h2>Plots</h2>{imgs}</body></html>"""
