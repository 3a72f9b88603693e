"""The page of a report, as markdown (report.md) and as self-contained HTML (report.html): the same
sections in the same order, each with the CSV behind it."""
from __future__ import annotations

import html

import numpy as np
import pandas as pd

from ..display import to_markdown
from .stats import BOOT_METRICS, HEADLINE, REACH

LEADER_COLUMNS = ["method", "cells", "failed", "skipped", "points", "positive_share", "majority", *BOOT_METRICS,
                  "coverage", "runtime_s"]


def leader_columns(lb: pd.DataFrame) -> pd.DataFrame:
    """The leaderboard as shown: best balanced sign accuracy first, intervals in brackets."""
    show = lb.sort_values(HEADLINE, ascending=False, na_position="last").copy()
    for m in BOOT_METRICS:
        if f"{m}_lo" in show:
            show[m] = [f"{v:.3f} [{lo:.2f}, {hi:.2f}]" if np.isfinite(v) else "–"
                       for v, lo, hi in zip(show[m], show[f"{m}_lo"], show[f"{m}_hi"])]
    return show[[c for c in LEADER_COLUMNS if c in show.columns]]


def health(df: pd.DataFrame, missing) -> pd.DataFrame:
    """What the readers warn about, one row per finding: missing cells, corrupt files (by name), stale cells,
    malformed manifests, superseded versions left out. Empty for a complete and clean run."""
    label = df.drop_duplicates("cell_id").set_index("cell_id")
    label = (label["dataset"].astype(str) + " × " + label["variant"].astype(str) + " seed="
             + label["seed"].astype(str)).to_dict()
    rows = [("missing", m, "expected by the newest sweep of it, no file: rerun the sweep") for m in missing]
    rows += [("corrupt", c, "skipped and counted missing: colosseum-check --fix moves it aside, a rerun "
              "recomputes it") for c in df.attrs.get("corrupt_cells", [])]
    rows += [("stale", f"{label.get(c, c)} ({c})", "computed by code (or with a file it read) that has changed "
              "since: a rerun of its sweep recomputes it") for c in df.attrs.get("stale_cells", [])]
    rows += [("malformed manifest", m, "skipped by every reader") for m in df.attrs.get("malformed_manifests", [])]
    if df.attrs.get("superseded"):
        rows.append(("superseded", f"{df.attrs['superseded']} file(s)", "older versions of cells, left out "
                     "(results.load(run, versions='all') reads them)"))
    return pd.DataFrame(rows, columns=["finding", "what", "meaning"])


def sections(parts: dict) -> list[tuple[str, str, pd.DataFrame | None, list[str], list[str]]]:
    """(title, text, table, figures, csv files) of each section, in order."""
    test = parts["test"]
    friedman = (f"Friedman test over {test['n_blocks']} complete blocks: p = {test['friedman_p']:.2g}."
                if np.isfinite(test.get("friedman_p", np.nan)) else "Too few blocks or methods for a rank test.")
    ranks = None if test.get("ranks") is None else test["ranks"].rename("average_rank").reset_index()
    found = parts["health"]
    counts = found["finding"].value_counts()
    summary = ("Complete and clean: every expected cell is here, current and readable." if not len(found) else
               "This run is not complete and clean: " + ", ".join(
                   f"{n} {kind}" + (" cell(s)" if kind in ("missing", "stale") else "")
                   for kind, n in counts.items()) + ". Rows of stale cells are scored as they stand; a method "
               "with cells of two code versions is shown as two rows ([code ...]).")
    tuned = []
    sel = parts.get("selection")
    if sel:
        rows = [{"method": name, "tuned": "yes" if m["tuned"] else "default kept",
                 "setting": ", ".join(f"{k}={v}" for k, v in m["setting"].items()),
                 "dev_score": m["dev_score"], "default_dev_score": m["default_dev_score"], "dev_blocks": m["dev_blocks"],
                 "space": "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in m["space"].items())}
                for name, m in sel["methods"].items()]
        tuned = [("Tuned track", f"Each setting of a method's space ran on dev seeds {sel['dev_seeds']}; the best "
                  "mean balanced sign accuracy over dev blocks was chosen (ties to the default) and only the default "
                  f"and the chosen setting ran on the test seeds {sel['test_seeds']}, which every other panel scores. "
                  "Dev cells are left out of this report.", pd.DataFrame(rows), [], [])]
    return [
        ("Health of this run", summary, found if len(found) else None, [], ["health.csv"]),
        *tuned,
        ("Leaderboard", "Pooled over each method's evaluation points; brackets: 95 % bootstrap interval over "
         "cells. Balanced sign accuracy 0.5 means no sign information; any constant scores exactly 0.5 and is "
         "undefined (–) where a group holds one sign only.", leader_columns(parts["leaderboard"]),
         ["leaderboard"], ["leaderboard.csv"]),
        ("Where: accuracy per condition", "Each column pools every cell of one condition (the axes that vary in "
         "this run); grey where the condition holds one sign only.", None, ["heatmap"], ["heatmap.csv"]),
        (f"Sample complexity: smallest n reaching {REACH}", "Per dimension and noise (and the other axes that "
         "vary), the smallest cloud size at which the method reaches the balanced sign accuracy above; – if it "
         "never does at the sizes run (listed).", parts["complexity"], [], ["sample_complexity.csv"]),
        ("How sure: ranks over blocks", "A block is one condition and one seed pair holding both signs. "
         + friedman, ranks, ["critical_difference"], ["blocks.csv", "ranks.csv"]),
        ("Flat leak", "Median |estimate| on intrinsically flat, extrinsically bent controls (cylinder, flat torus, "
         "plane) over the median on the unit S² cap: what a method reads from bending alone.", parts["leak"],
         ["flat_leak"], ["flat_leak.csv"]),
        ("Calibration (methods in scalar-curvature units)", "Least-squares slope of estimate on truth (1 = "
         "calibrated) and correlation.", parts["calibration"], ["calibration"], ["calibration.csv"]),
        ("By dataset", "", parts["by_dataset"], [], ["by_dataset.csv"]),
        ("Clouds", "", None, [n for n in parts["files"] if n.startswith("cloud_")], []),
        ("Code versions", "Which code computed the rows: each dataset's and method's code hash (its import "
         "closure) and the git commit.", parts["code"], [], ["code_versions.csv"]),
    ]


#: What a section needs that a run may lack, said in one sentence instead of an empty heading.
LACKS = {
    "Where": "This run holds no condition with both signs: balanced sign accuracy is undefined everywhere "
             "(add datasets or seeds of the other sign, e.g. saddle beside sphere_cap, or quadric seeds 0,1).",
    "Sample complexity": "This run varies no cloud size: add e.g. dataset.n_points=250,500,2000 to see the "
                         "smallest n at which each method reaches the target.",
    "How sure": "Too few complete blocks (a condition and seed pair holding both signs) or methods for a rank test: "
                "add seeds (pairs 0,1 2,3 ...) or conditions.",
    "Flat leak": "This run has no flat controls: add cylinder or flat_torus, with the unit sphere_cap as the "
                 "reference, to see what each method reads from extrinsic bending alone.",
    "Calibration": "No method in scalar-curvature units ran here (each method declares its units when it "
                   "registers).",
    "Clouds": "This run has no closed (pointwise) dataset: add torus or ellipsoid to see clouds coloured by truth "
              "and by each method's estimate.",
}


def _lacks(title: str) -> str:
    return next((text for key, text in LACKS.items() if title.startswith(key)), "Nothing to show for this run.")


def markdown(run, df, parts: dict, missing) -> str:
    files = parts["files"]
    out = [f"# Colosseum report: {run.name}\n",
           f"{df['cell_id'].nunique()} cells, {df['variant'].nunique()} methods, {df['dataset'].nunique()} datasets; "
           f"git {', '.join(sorted(map(str, df['prov.git_commit'].unique())))[:80]}.\n"]
    if missing:
        out.append(f"**Partial run: {len(missing)} expected cells are missing.**\n")
    for title, text, table, figs, csvs in sections(parts):
        out.append(f"## {title}\n")
        shown = (table is not None and len(table)) or any(f in files for f in figs)
        if text and (shown or title.startswith("Health")):
            out.append(text + "\n")
        if not shown and not title.startswith("Health"):
            out.append(f"*{_lacks(title)}*\n")
            continue
        if table is not None and len(table):
            out.append(to_markdown(table))
        out += [f"\n![{f}]({files[f].name})\n" for f in figs if f in files]
        if csvs:
            out.append("CSV: " + ", ".join(f"[{c}]({c})" for c in csvs) + "\n")
    return "\n".join(out)


def page_html(run, df, parts: dict, missing) -> str:
    files = parts["files"]

    def table(frame: pd.DataFrame) -> str:
        return frame.to_html(index=False, float_format=lambda v: f"{v:.3f}", na_rep="–", border=0, classes="t")

    body = []
    for title, text, frame, figs, csvs in sections(parts):
        body.append(f"<h2>{html.escape(title)}</h2>")
        shown = (frame is not None and len(frame)) or any(f in files for f in figs)
        if text and (shown or title.startswith("Health")):
            body.append(f"<p>{html.escape(text)}</p>")
        if not shown and not title.startswith("Health"):
            body.append(f"<p class=lack>{html.escape(_lacks(title))}</p>")
            continue
        if frame is not None and len(frame):
            body.append(table(frame))
        body += [f'<figure><img src="{html.escape(files[f].name)}" alt="{html.escape(f)}"></figure>'
                 for f in figs if f in files]
        if csvs:
            body.append("<p class=csv>CSV: " + ", ".join(f'<a href="{c}">{c}</a>' for c in csvs) + "</p>")
    warn = f"<p class=warn>Partial run: {len(missing)} expected cells are missing.</p>" if missing else ""
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Colosseum report: {html.escape(run.name)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1500px}} table.t{{border-collapse:collapse;font-size:13px}}
table.t td,table.t th{{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right;white-space:nowrap}}
figure{{margin:1em 0}} img{{max-width:100%;height:auto}} .warn{{color:#b00;font-weight:bold}} .lack{{color:#555;font-style:italic}} .csv{{font-size:12px}}</style>
</head><body><h1>Colosseum report: {html.escape(run.name)}</h1>
<p>{df['cell_id'].nunique()} cells, {df['variant'].nunique()} methods, {df['dataset'].nunique()} datasets.</p>{warn}
{''.join(body)}</body></html>"""
