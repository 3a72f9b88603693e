"""The numbers of a report: leaderboards with bootstrap intervals, per-configuration scores and ranks."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import bootstrap, results
from ..scoring import metric_arrays, metric_values
from ..status import SCORED

BOOT_METRICS = ("sign_accuracy", "balanced_sign_accuracy", "auroc", "pearson")
#: Studentized range q_0.05 / sqrt(2) for k = 2..10 groups (Demsar 2006, Nemenyi test).
NEMENYI_Q05 = {2: 1.960, 3: 2.343, 4: 2.569, 5: 2.728, 6: 2.850, 7: 2.949, 8: 3.031, 9: 3.102, 10: 3.164}


def scored_points(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["status"].isin(SCORED) & (df["point"] >= 0)]


def bootstrap_leaderboard(df: pd.DataFrame, by=("method",), n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Pooled metrics per group with percentile 95 % intervals from resampling cells."""
    lb = results.leaderboard(df, by=by)
    extra = []
    for key, g in scored_points(df).groupby(list(by), sort=True):
        truth, est = g["true_curvature"].to_numpy(float), g["estimate"].to_numpy(float)
        tol = g["zero_tol"].to_numpy(float)
        cells = bootstrap.cell_groups(g["cell_id"].to_numpy())
        row = dict(zip(by, key if isinstance(key, tuple) else (key,)))
        for m in BOOT_METRICS:
            def stat(idx, m=m):
                pick = np.concatenate([cells[i] for i in idx])
                return metric_arrays(truth[pick], est[pick], tol[pick], (m,))[m]
            row[f"{m}_lo"], row[f"{m}_hi"] = bootstrap.interval(len(cells), stat, n_boot=n_boot,
                                                                rng=bootstrap.stream(seed, m))
        extra.append(row)
    return lb.merge(pd.DataFrame(extra), on=list(by), how="left") if extra else lb


def config_key(df: pd.DataFrame) -> pd.Series:
    cols = sorted(c for c in df.columns if c.startswith("dataset."))
    return df["dataset"].astype(object) + "|" + df[cols].astype(object).map(str).agg("|".join, axis=1)


def per_config_scores(df: pd.DataFrame, metric: str = "balanced_sign_accuracy") -> pd.DataFrame:
    """Pooled `metric` per (dataset configuration, method): the blocks of the rank statistics."""
    scored = df[df["status"].isin(SCORED)].assign(config=config_key)
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
