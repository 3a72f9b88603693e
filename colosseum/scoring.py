"""Scores of signed curvature estimates against the truth.

Sign metrics ignore points whose true |S| <= zero_tol (too flat to have a sign); an abstention
(a NaN or infinite estimate) counts as a miss there and lowers coverage. Rank and correlation metrics use the
points with a finite estimate. Every function takes (truth, estimate, zero_tol) arrays and
returns a float, NaN where the metric is undefined (e.g. AUROC with one class).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.stats import rankdata


def _estimates(est) -> np.ndarray:
    """Estimates as float, every non-finite value (NaN, +inf, -inf) an abstention (NaN)."""
    est = np.asarray(est, dtype=float)
    return np.where(np.isfinite(est), est, np.nan)


def _signed(truth, est, zero_tol):
    truth, est = np.asarray(truth, dtype=float), _estimates(est)
    keep = np.abs(truth) > zero_tol
    return truth[keep], est[keep]


def sign_accuracy(truth, est, zero_tol=0.0) -> float:
    """Share of signed points whose estimate has the true sign (NaN or 0 estimates are misses)."""
    t, e = _signed(truth, est, zero_tol)
    return float(np.mean(np.sign(e) == np.sign(t))) if t.size else np.nan


def balanced_sign_accuracy(truth, est, zero_tol=0.0) -> float:
    """Mean of the two sign classes' recalls: exactly 0.5 for any constant. Undefined (NaN) unless both
    signs occur: on one sign it would be plain accuracy, and a constant of that sign would score 1."""
    t, e = _signed(truth, est, zero_tol)
    if not (np.any(t > 0) and np.any(t < 0)):
        return np.nan
    return float(np.mean([np.mean(np.sign(e[t * s > 0]) == s) for s in (-1.0, 1.0)]))


def coverage(truth, est, zero_tol=0.0) -> float:
    """Share of evaluation points with a finite estimate (not abstained)."""
    est = _estimates(est)
    return float(np.mean(np.isfinite(est))) if est.size else np.nan


def _ranks(x: np.ndarray) -> np.ndarray:
    return rankdata(x, method="average")


def auroc(truth, est, zero_tol=0.0) -> float:
    """Probability that a positive-curvature point gets a higher estimate than a negative one
    (ties count half); finite estimates of signed points only; NaN unless both classes occur."""
    t, e = _signed(truth, est, zero_tol)
    ok = np.isfinite(e)
    t, e = t[ok], e[ok]
    pos, neg = int(np.sum(t > 0)), int(np.sum(t < 0))
    if pos == 0 or neg == 0:
        return np.nan
    r = _ranks(e)
    return float((r[t > 0].sum() - pos * (pos + 1) / 2) / (pos * neg))


def _finite_pairs(truth, est):
    truth, est = np.asarray(truth, dtype=float), _estimates(est)
    ok = np.isfinite(est) & np.isfinite(truth)
    return truth[ok], est[ok]


def pearson(truth, est, zero_tol=0.0) -> float:
    """Pearson correlation of estimate and truth over finite estimates (NaN if either is constant)."""
    t, e = _finite_pairs(truth, est)
    if t.size < 3 or np.ptp(t) == 0 or np.ptp(e) == 0:
        return np.nan
    return float(np.corrcoef(t, e)[0, 1])


def spearman(truth, est, zero_tol=0.0) -> float:
    """Spearman rank correlation over finite estimates."""
    t, e = _finite_pairs(truth, est)
    return pearson(_ranks(t), _ranks(e)) if t.size >= 3 else np.nan


Metric = Callable[..., float]
METRICS: dict[str, Metric] = {
    "sign_accuracy": sign_accuracy,
    "balanced_sign_accuracy": balanced_sign_accuracy,
    "coverage": coverage,
    "auroc": auroc,
    "pearson": pearson,
    "spearman": spearman,
}


def metric_values(points: pd.DataFrame, metrics=tuple(METRICS)) -> dict[str, float]:
    """Every metric on a set of point rows (columns true_curvature, estimate, zero_tol)."""
    rows = points[points["point"] >= 0]
    return metric_arrays(rows["true_curvature"].to_numpy(float), rows["estimate"].to_numpy(float),
                         rows["zero_tol"].to_numpy(float), metrics)


def metric_arrays(truth: np.ndarray, est: np.ndarray, tol: np.ndarray, metrics=tuple(METRICS)) -> dict[str, float]:
    """Every metric on aligned arrays of true curvature, estimate and per-row zero tolerance."""
    # a per-row tolerance: apply it by blanking flat rows' truth for the sign metrics
    flat = np.abs(truth) <= tol
    signed_truth = np.where(flat, 0.0, truth)
    out = {}
    for name in metrics:
        fn = METRICS[name]
        out[name] = fn(truth, est, 0.0) if name in ("coverage", "pearson", "spearman") else fn(
            signed_truth, est, 0.0)
    return out


def class_shares(points: pd.DataFrame) -> tuple[int, float]:
    """(number of signed points, share of them with positive true curvature)."""
    rows = points[points["point"] >= 0]
    t = rows["true_curvature"].to_numpy(float)
    signed = np.abs(t) > rows["zero_tol"].to_numpy(float)
    n = int(signed.sum())
    return n, (float(np.mean(t[signed] > 0)) if n else np.nan)
