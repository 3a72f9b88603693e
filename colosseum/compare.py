"""Comparing runs: cells line up by identity (dataset + method + parameters + seed), not by run or machine.

For each (dataset, method) group and metric the pooled value in each run is shown with the
paired difference B - A and a percentile bootstrap 95 % interval that resamples matched cells
(the replication unit: points of one cell are correlated), so a change is flagged only when
the interval excludes zero.
"""
from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .results import load
from .scoring import METRICS, SCORED_STATUSES

DEFAULT_METRICS = ("sign_accuracy", "balanced_sign_accuracy", "auroc", "pearson")


def _cell_arrays(df: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    df = df[df["status"].isin(SCORED_STATUSES) & (df["point"] >= 0)]
    out = {}
    for key, g in df.groupby("cell_key"):
        t = g["true_curvature"].to_numpy(float)
        signed = np.where(np.abs(t) <= g["zero_tol"].to_numpy(float), 0.0, t)
        out[key] = (signed, g["estimate"].to_numpy(float), t)
    return out


def _pooled(arrays, keys, metric: str) -> float:
    signed = np.concatenate([arrays[k][0] for k in keys])
    est = np.concatenate([arrays[k][1] for k in keys])
    raw = np.concatenate([arrays[k][2] for k in keys])
    truth = raw if metric in ("coverage", "pearson", "spearman") else signed
    return METRICS[metric](truth, est, 0.0)


def compare(run_a: str | os.PathLike[str] | pd.DataFrame, run_b: str | os.PathLike[str] | pd.DataFrame,
            metrics: Sequence[str] = DEFAULT_METRICS, by: Sequence[str] = ("dataset", "method"),
            n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """One row per group and metric: a, b, diff = b - a, ci_low, ci_high, n_cells, significant."""
    unknown = set(metrics) - set(METRICS)
    if unknown:
        raise ValueError(f"unknown metric(s) {sorted(unknown)}; known: {sorted(METRICS)}")
    a = run_a if isinstance(run_a, pd.DataFrame) else load(run_a)
    b = run_b if isinstance(run_b, pd.DataFrame) else load(run_b)
    rng = np.random.default_rng(seed)
    rows = []
    groups = sorted(set(map(tuple, a[list(by)].drop_duplicates().to_numpy()))
                    | set(map(tuple, b[list(by)].drop_duplicates().to_numpy())))
    for key in groups:
        ga = a[(a[list(by)] == list(key)).all(axis=1)]
        gb = b[(b[list(by)] == list(key)).all(axis=1)]
        arr_a, arr_b = _cell_arrays(ga), _cell_arrays(gb)
        matched = sorted(set(arr_a) & set(arr_b))
        only_a, only_b = len(set(arr_a) - set(arr_b)), len(set(arr_b) - set(arr_a))
        for metric in metrics:
            row = {**dict(zip(by, key)), "metric": metric, "n_cells": len(matched),
                   "only_a": only_a, "only_b": only_b}
            if not matched:
                rows.append({**row, "a": np.nan, "b": np.nan, "diff": np.nan, "ci_low": np.nan,
                             "ci_high": np.nan, "significant": False})
                continue
            va, vb = _pooled(arr_a, matched, metric), _pooled(arr_b, matched, metric)
            boots = []
            for _ in range(n_boot):
                pick = [matched[i] for i in rng.integers(0, len(matched), len(matched))]
                boots.append(_pooled(arr_b, pick, metric) - _pooled(arr_a, pick, metric))
            boots = np.asarray(boots)
            boots = boots[np.isfinite(boots)]
            lo, hi = (np.percentile(boots, [2.5, 97.5]) if boots.size else (np.nan, np.nan))
            rows.append({**row, "a": va, "b": vb, "diff": vb - va, "ci_low": float(lo), "ci_high": float(hi),
                         "significant": bool(np.isfinite(lo) and (lo > 0 or hi < 0))})
    return pd.DataFrame(rows)


def provenance_diff(run_a: pd.DataFrame, run_b: pd.DataFrame) -> pd.DataFrame:
    """Provenance columns (git commit, package versions, host) whose values differ between runs."""
    rows = []
    for col in sorted(c for c in set(run_a.columns) | set(run_b.columns) if c.startswith("prov.")):
        va = sorted(map(str, run_a[col].dropna().unique())) if col in run_a else []
        vb = sorted(map(str, run_b[col].dropna().unique())) if col in run_b else []
        if va != vb:
            rows.append({"field": col.removeprefix("prov."), "a": ", ".join(va), "b": ", ".join(vb)})
    return pd.DataFrame(rows, columns=["field", "a", "b"])
