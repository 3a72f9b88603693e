"""The public data contract: what a dataset hands a method and what a method hands back.

`Sample` and `Estimate` are frozen dataclasses; `validate_inputs` is the single place where a
method's inputs are checked, so no method has to repeat (or forget) those checks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: A method gets at least this many points (and at least dim + 2); fewer cannot define a neighbourhood.
MIN_POINTS = 10


@dataclass(frozen=True)
class Sample:
    """A point cloud with exactly known scalar curvature at its evaluation rows.

    points: (N, D) float cloud a method sees; eval_idx: (m,) rows where curvature is scored;
    curvature: (m,) TRUE scalar curvature at those rows (float64); dim: intrinsic dimension d;
    meta: name, parameters, sanity-check results and anything else worth a column.
    """

    points: np.ndarray
    eval_idx: np.ndarray
    curvature: np.ndarray
    dim: int
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Estimate:
    """What a method function may return instead of a bare array: values plus per-point diagnostics.

    values: (m,) signed scalar-curvature estimates, NaN = abstain; diagnostics: name -> (m,) array
    (radius used, error bar, neighbourhood size, ...), written to the tidy table as `diag.<name>`.
    """

    values: np.ndarray
    diagnostics: dict[str, np.ndarray] = field(default_factory=dict)


class SkipCell(Exception):
    """Raised by a method (or dataset) that declines a cell, e.g. an optional peer package is missing.

    The runner records status `skipped` with the message instead of `error`.
    """


def validate_inputs(points: Any, eval_idx: Any, dim: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """Check a method's inputs once, centrally; return them as (float64 (N, D), int64 (m,), int).

    Raises ValueError naming the problem: wrong rank, non-finite values, a bad `dim`,
    evaluation rows out of range, or too few points.
    """
    pts = np.asarray(points)
    if pts.ndim != 2:
        raise ValueError(f"points must be a 2-D (N, D) array, got shape {pts.shape}")
    if not (np.issubdtype(pts.dtype, np.floating) or np.issubdtype(pts.dtype, np.integer)):
        raise ValueError(f"points must be real numbers, got dtype {pts.dtype}")
    pts = pts.astype(np.float64, copy=False)
    bad = ~np.isfinite(pts)
    if bad.any():
        rows = np.unique(np.nonzero(bad)[0])
        raise ValueError(f"points contain {int(bad.sum())} non-finite values (NaN or inf) "
                         f"in {rows.size} rows, first rows {rows[:5].tolist()}")
    n, big_d = pts.shape
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise ValueError(f"dim must be an integer, got {dim!r}")
    dim = int(dim)
    if not 1 <= dim < big_d:
        raise ValueError(f"dim must satisfy 1 <= dim < D = {big_d} (ambient dimension), got dim = {dim}")
    need = max(MIN_POINTS, dim + 2)
    if n < need:
        raise ValueError(f"too few points: {n} given, a {dim}-dimensional cloud needs at least {need}")
    idx = np.asarray(eval_idx)
    if idx.ndim != 1 or idx.size == 0:
        raise ValueError(f"eval_idx must be a non-empty 1-D array of row numbers, got shape {idx.shape}")
    if not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"eval_idx must hold integers, got dtype {idx.dtype}")
    out = (idx < 0) | (idx >= n)
    if out.any():
        raise ValueError(f"eval_idx has {int(out.sum())} rows out of range [0, {n}): "
                         f"{idx[out][:5].tolist()}")
    frozen = np.array(pts, copy=True)  # a method must never write into the caller's cloud
    frozen.setflags(write=False)
    return frozen, idx.astype(np.int64), dim


def validate_sample(sample: Sample, source: str = "dataset") -> Sample:
    """Check a freshly built Sample (shapes, finiteness, truth aligned with eval rows)."""
    pts, idx, dim = validate_inputs(sample.points, sample.eval_idx, sample.dim)
    truth = np.asarray(sample.curvature, dtype=np.float64)
    if truth.shape != idx.shape:
        raise ValueError(f"{source}: curvature has shape {truth.shape}, eval_idx has {idx.shape}")
    if not np.isfinite(truth).all():
        raise ValueError(f"{source}: true curvature is not finite at some evaluation rows")
    if not isinstance(sample.meta, dict):
        raise ValueError(f"{source}: meta must be a dict")
    return Sample(points=pts, eval_idx=idx, curvature=truth, dim=dim, meta=dict(sample.meta))


def validate_estimate(out: Any, shape: tuple[int, ...], source: str = "method") -> Estimate:
    """Check what a method returned (a bare array or an Estimate): real values of the eval rows' shape,
    diagnostics of that shape holding numbers or booleans. Returns an Estimate of float64 arrays;
    ±inf stays as it is (scored as an abstention, like NaN)."""
    est = out if isinstance(out, Estimate) else Estimate(values=out)
    values = np.asarray(est.values)
    if values.shape != shape:
        raise ValueError(f"{source} returned shape {values.shape}, expected {shape} (one estimate per eval row)")
    if not (np.issubdtype(values.dtype, np.floating) or np.issubdtype(values.dtype, np.integer)
            or values.dtype == np.bool_):
        raise ValueError(f"{source} returned dtype {values.dtype}, expected real numbers")
    if not isinstance(est.diagnostics, dict):
        raise ValueError(f"{source}: diagnostics must be a dict of name -> array, got {type(est.diagnostics).__name__}")
    diagnostics = {}
    for key, val in est.diagnostics.items():
        arr = np.asarray(val)
        if arr.shape != shape:
            raise ValueError(f"{source}: diagnostic {key!r} has shape {arr.shape}, expected {shape}")
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_) or np.iscomplexobj(arr):
            raise ValueError(f"{source}: diagnostic {key!r} holds {arr.dtype} values; diagnostics must be "
                             "real numbers or booleans (one per eval row)")
        diagnostics[str(key)] = arr.astype(np.float64)
    return Estimate(values=values.astype(np.float64), diagnostics=diagnostics)


def validate_denoised(out: Any, points: np.ndarray, source: str = "denoiser") -> np.ndarray:
    """Check what a denoiser returned: a finite real array of the input's shape whose rows are the input's
    rows in the same order. Row order is judged against a derangement of the rows: rows moved as far as
    exchanging them with other rows would move them cannot be the same rows, denoised. Returns float64."""
    arr = np.asarray(out)
    if arr.shape != points.shape:
        raise ValueError(f"{source} returned shape {arr.shape}, expected {points.shape} (the same rows)")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"{source} returned dtype {arr.dtype}, expected real numbers")
    arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(f"{source} returned {int(bad.sum())} non-finite values (NaN or inf)")
    moved = float(np.median(np.linalg.norm(arr - points, axis=1)))
    shifted = float(np.median(np.linalg.norm(arr - np.roll(points, len(points) // 2 + 1, axis=0), axis=1)))
    if len(points) > 2 and moved >= 0.5 * shifted:
        spread = _rms_radius(arr) / max(_rms_radius(points), 1e-300)
        if spread < 0.9:  # a reordering keeps the cloud's spread exactly; a collapse shrinks it
            diameter = float(np.ptp(points, axis=0).max()) or 1.0
            raise ValueError(f"{source} collapsed the cloud: it moved rows by a median {moved:.3g} "
                             f"({moved / diameter:.0%} of the cloud's extent, as far as reordering the rows would) "
                             f"and shrank its spread to {spread:.0%} of the input's; it over-smooths this cloud "
                             "(a narrower setting, or none, keeps its shape)")
        raise ValueError(f"{source} moved its rows by a median {moved:.3g}, as far as reordering them would "
                         f"({shifted:.3g}): rows must stay in their order (row i of the output is row i denoised)")
    return arr


def _rms_radius(points: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.sum((points - points.mean(axis=0)) ** 2, axis=1))))
