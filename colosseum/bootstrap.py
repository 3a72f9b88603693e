"""Percentile bootstrap intervals that resample cells, the replication unit (points of one cell share a
cloud and are correlated), for the leaderboards of the report and the paired differences of compare.

Resampling is `scipy.stats.bootstrap`; every metric gets its own random stream, started afresh from the
same fixed seed, so a metric's interval never depends on what else is computed alongside, and two
metrics with identical per-cell values get identical intervals (and the same verdict).
"""
from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from scipy import stats

LEVEL = 0.95


def stream(seed: int, name: str = "") -> np.random.Generator:
    """The random stream of one metric (`name` documents which): a fresh generator from the seed alone, so
    every metric resamples the same cells."""
    return np.random.default_rng(int(seed))


def cell_groups(cell_ids) -> list[np.ndarray]:
    """Row positions of each cell (cells sorted by id) in an array of cell ids."""
    _, codes = np.unique(np.asarray(cell_ids), return_inverse=True)
    order = np.argsort(codes, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(codes[order])) + 1) if len(order) else []


def interval(n_cells: int, statistic: Callable[[np.ndarray], float], *, n_boot: int = 1000,
             rng: np.random.Generator, level: float = LEVEL) -> tuple[float, float]:
    """Percentile interval of statistic(resampled cell indices): cells drawn with replacement.

    Resamples where the statistic is undefined (NaN, e.g. AUROC with one class) are left out; with
    no cells, or none defined, the interval is (NaN, NaN)."""
    if n_cells == 0 or n_boot < 1:
        return float("nan"), float("nan")
    if n_cells == 1:  # every resample is that cell
        v = float(statistic(np.zeros(1, dtype=np.int64)))
        return (v, v) if np.isfinite(v) else (float("nan"), float("nan"))
    with warnings.catch_warnings():  # one cell, or a constant statistic: a degenerate distribution
        warnings.simplefilter("ignore")
        res = stats.bootstrap((np.arange(n_cells),), lambda idx: statistic(np.asarray(idx, dtype=np.int64)),
                              n_resamples=n_boot, vectorized=False, method="percentile",
                              confidence_level=level, rng=rng)
    dist = np.asarray(res.bootstrap_distribution, dtype=float)
    dist = dist[np.isfinite(dist)]
    if not dist.size:
        return float("nan"), float("nan")
    lo, hi = np.percentile(dist, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)
