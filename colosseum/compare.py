"""Comparing runs: cells line up by what they are (dataset + method + parameters + seed), not by run, code
or machine.

Runs of one sweep made with a parameter changed (`dataset.n_points=500` against 300) share no identical
cell, so by default cells align on their identity *without* the parameters whose values the two runs do
not share (each run holding one value of it), and the comparison says so in one line (`alignment`):
"aligned ignoring dataset.n_points: 300 vs 500". `match` (align on exactly these parameters) and `ignore`
(leave these out) choose by hand. A group (dataset, method) present in one run only is listed, not compared.

For each (dataset, method) group and metric: the pooled value in each run, the paired difference
B - A with a percentile bootstrap 95 % interval that resamples matched cells (`colosseum.bootstrap`,
one random stream per metric), and a Wilcoxon signed-rank test of the per-cell differences
(`scipy.stats.wilcoxon`). A change is flagged when the interval excludes zero. Fewer than
`MIN_CELLS` matched cells make both weak: the table says so (`few_cells`) and a warning too.
`provenance_diff` lists what differs in how the two runs were made, code hashes first.
"""
from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from . import bootstrap
from .results import load
from .scoring import METRICS, metric_arrays
from .status import SCORED

DEFAULT_METRICS = ("sign_accuracy", "balanced_sign_accuracy", "auroc", "pearson")
#: Below this many matched cells the interval and the test have little power: flagged, and warned about.
MIN_CELLS = 10


#: What a cell is apart from its parameters: cells always align on these.
ALWAYS = ("dataset", "method", "denoise", "smooth_t", "seed")
PARAMETERS = ("dataset.", "method.", "denoise.")


@dataclass(frozen=True)
class Alignment:
    """The parameters two runs' cells align on, and those left out with their values in each run."""

    on: tuple[str, ...]
    ignored: dict[str, tuple[str, str]] = field(default_factory=dict)

    def describe(self) -> str:
        if not self.ignored:
            return "aligned on every parameter"
        return "aligned ignoring " + "; ".join(f"{c}: {a} vs {b}" for c, (a, b) in self.ignored.items())


def _values(df: pd.DataFrame, col: str) -> list[str]:
    if col not in df:
        return []
    cells = df.drop_duplicates("cell_id")[col]
    return sorted({str(v) for v in cells if not (isinstance(v, float) and np.isnan(v)) and v is not None})


def align(a: pd.DataFrame, b: pd.DataFrame, match: Sequence[str] | None = None,
          ignore: Sequence[str] | None = None) -> Alignment:
    """Which parameters to align on: `match` (exactly these), else all but `ignore` and, unless `ignore` is
    given, but those whose values the runs do not share while each run holds one (or that one run lacks)."""
    params = sorted(c for c in set(a.columns) | set(b.columns) if c.startswith(PARAMETERS))
    unknown = sorted((set(match or ()) | set(ignore or ())) - set(params))
    if unknown:
        raise ValueError(f"no parameter column(s) {unknown} in these runs; they have {', '.join(params)}")
    shown = {c: (", ".join(_values(a, c)) or "(absent)", ", ".join(_values(b, c)) or "(absent)") for c in params}
    if match is not None:
        on = [c for c in params if c in match]
    elif ignore is not None:
        on = [c for c in params if c not in ignore]
    else:
        on = []
        for c in params:
            va, vb = _values(a, c), _values(b, c)
            if bool(va) != bool(vb) or (len(va) == len(vb) == 1 and va != vb):
                continue  # one run lacks the parameter, or each holds one value and they differ
            on.append(c)
    return Alignment(tuple(on), {c: shown[c] for c in params if c not in on})


def _match_keys(df: pd.DataFrame, on: Sequence[str]) -> pd.Series:
    """Each row's alignment key: its cell's values of ALWAYS and the aligned parameters."""
    cols = [c for c in (*ALWAYS, *on) if c in df]
    cells = df.drop_duplicates("cell_id").set_index("cell_id")[cols].astype(object).map(str)
    return df["cell_id"].map(cells.agg("|".join, axis=1))


def _cell_arrays(df: pd.DataFrame, on: Sequence[str] | None = None) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """alignment key -> (truth, estimate, zero_tol) of the scored points of its cells (cell_key when `on` is None)."""
    df = df[df["status"].isin(SCORED) & (df["point"] >= 0)]
    keys = df["cell_key"] if on is None else _match_keys(df, on)
    return {key: (g["true_curvature"].to_numpy(float), g["estimate"].to_numpy(float), g["zero_tol"].to_numpy(float))
            for key, g in df.groupby(keys)}


def _pooled(arrays, keys, metric: str) -> float:
    parts = [arrays[k] for k in keys]
    return metric_arrays(*(np.concatenate([p[i] for p in parts]) for i in range(3)), (metric,))[metric]


def _wilcoxon(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided p-value of the Wilcoxon signed-rank test of b - a (NaN when every difference is 0 or undefined)."""
    d = b - a
    d = d[np.isfinite(d)]
    if not d.size or np.all(d == 0):
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(stats.wilcoxon(d, zero_method="wilcox").pvalue)


def compare(run_a: str | os.PathLike[str] | pd.DataFrame, run_b: str | os.PathLike[str] | pd.DataFrame,
            metrics: Sequence[str] = DEFAULT_METRICS, by: Sequence[str] = ("dataset", "method"),
            n_boot: int = 1000, seed: int = 0, match: Sequence[str] | None = None,
            ignore: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per group present in both runs and metric: a, b, diff = b - a, ci_low, ci_high, p_wilcoxon,
    n_cells (matched), only_a, only_b, few_cells, significant. attrs: alignment (`Alignment`), only_a / only_b
    ({group label: cells} of groups present in one run only), matched (matched cells over all groups)."""
    unknown = set(metrics) - set(METRICS)
    if unknown:
        raise ValueError(f"unknown metric(s) {sorted(unknown)}; known: {sorted(METRICS)}")
    a = run_a if isinstance(run_a, pd.DataFrame) else load(run_a)
    b = run_b if isinstance(run_b, pd.DataFrame) else load(run_b)
    alignment = align(a, b, match, ignore)
    rows, few = [], []
    in_a = set(map(tuple, a[list(by)].drop_duplicates().to_numpy()))
    in_b = set(map(tuple, b[list(by)].drop_duplicates().to_numpy()))
    only = {"a": {}, "b": {}}
    for side, frame, keys in (("a", a, in_a - in_b), ("b", b, in_b - in_a)):
        for key in sorted(keys, key=str):
            g = frame[(frame[list(by)] == list(key)).all(axis=1)]
            only[side]["/".join(map(str, key))] = int(g["cell_id"].nunique())
    matched_total = 0
    for key in sorted(in_a & in_b, key=str):
        ga = a[(a[list(by)] == list(key)).all(axis=1)]
        gb = b[(b[list(by)] == list(key)).all(axis=1)]
        arr_a, arr_b = _cell_arrays(ga, alignment.on), _cell_arrays(gb, alignment.on)
        matched = sorted(set(arr_a) & set(arr_b))
        matched_total += len(matched)
        if 0 < len(matched) < MIN_CELLS:
            few.append("/".join(map(str, key)))
        for metric in metrics:
            row = {**dict(zip(by, key)), "metric": metric, "n_cells": len(matched),
                   "only_a": len(set(arr_a) - set(arr_b)), "only_b": len(set(arr_b) - set(arr_a)),
                   "few_cells": 0 < len(matched) < MIN_CELLS}
            if not matched:
                rows.append({**row, "a": np.nan, "b": np.nan, "diff": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                             "p_wilcoxon": np.nan, "significant": False})
                continue
            va, vb = _pooled(arr_a, matched, metric), _pooled(arr_b, matched, metric)
            lo, hi = bootstrap.interval(
                len(matched), lambda idx: _pooled(arr_b, [matched[i] for i in idx], metric)
                - _pooled(arr_a, [matched[i] for i in idx], metric),
                n_boot=n_boot, rng=bootstrap.stream(seed, metric))
            per_a = np.array([_pooled(arr_a, [k], metric) for k in matched])
            per_b = np.array([_pooled(arr_b, [k], metric) for k in matched])
            rows.append({**row, "a": va, "b": vb, "diff": vb - va, "ci_low": lo, "ci_high": hi,
                         "p_wilcoxon": _wilcoxon(per_a, per_b),
                         "significant": bool(np.isfinite(lo) and (lo > 0 or hi < 0))})
    if few:
        warnings.warn(f"{len(few)} group(s) have fewer than {MIN_CELLS} matched cells (e.g. {', '.join(few[:3])}): "
                      "their intervals and tests are weak", stacklevel=2)
    cols = [*by, "metric", "a", "b", "diff", "ci_low", "ci_high", "p_wilcoxon", "n_cells", "only_a", "only_b",
            "few_cells", "significant"]
    out = pd.DataFrame(rows, columns=cols)
    out.attrs.update({"alignment": alignment, "only_a": only["a"], "only_b": only["b"], "matched": matched_total})
    return out


def code_versions(df: pd.DataFrame) -> pd.DataFrame:
    """Which code computed the rows: one row per (part, name, code hash) with the git commits seen."""
    rows = []
    for part in ("dataset", "method"):
        col = f"code.{part}"
        if col not in df:
            continue
        for (name, code), g in df.groupby([part, col], dropna=False):
            commits = sorted(map(str, g["prov.git_commit"].dropna().unique())) if "prov.git_commit" in g else []
            rows.append({"part": part, "name": name, "code": code, "cells": g["cell_id"].nunique(),
                         "git_commit": ", ".join(c[:12] for c in commits)})
    return pd.DataFrame(rows, columns=["part", "name", "code", "cells", "git_commit"])


def provenance_diff(run_a: pd.DataFrame, run_b: pd.DataFrame) -> pd.DataFrame:
    """What differs in how two runs were made: each dataset's and method's code hash, then the
    provenance columns (git commit, package versions, host)."""
    rows = []
    ca, cb = code_versions(run_a), code_versions(run_b)
    for part, name in sorted(set(zip(ca["part"], ca["name"])) | set(zip(cb["part"], cb["name"]))):
        va = sorted(ca.loc[(ca["part"] == part) & (ca["name"] == name), "code"].astype(str))
        vb = sorted(cb.loc[(cb["part"] == part) & (cb["name"] == name), "code"].astype(str))
        if va != vb:
            rows.append({"field": f"code of {part} {name}", "a": ", ".join(va) or "–", "b": ", ".join(vb) or "–"})
    for col in sorted(c for c in set(run_a.columns) | set(run_b.columns) if c.startswith("prov.")):
        va = sorted(map(str, run_a[col].dropna().unique())) if col in run_a else []
        vb = sorted(map(str, run_b[col].dropna().unique())) if col in run_b else []
        if va != vb:
            rows.append({"field": col.removeprefix("prov."), "a": ", ".join(va), "b": ", ".join(vb)})
    return pd.DataFrame(rows, columns=["field", "a", "b"])
