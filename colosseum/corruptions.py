"""Corruptions real data has, on every dataset: outliers and heteroscedastic noise, applied after the draw.

Every registered dataset (plugins included, without edits) takes the parameters below besides its own;
the registry adds them to its schema, so they are part of a cell's identity and columns like any other
dataset parameter, and `registry.make_dataset` applies them to the dataset's own draw (`draw`):

- `outliers` (fraction in [0, 0.5)): round(outliers * (N - m)) of the N - m rows that are not evaluation
  rows are replaced by points uniform in the axis-aligned bounding box of the CLEAN cloud (in the
  final ambient coordinates). Evaluation rows are never replaced, so the truth is untouched.
- `noise_spread` (in [0, 1)): heteroscedastic noise. The dataset's own noise (its `noise`, `noise_scale`
  and noise model: the total noise is defined once, by the dataset) is scaled row by row by
  1 + noise_spread * t, where t in [-1, 1] is the clean point's position along a random direction,
  centred and scaled to the clean cloud's extent along it: the standard deviation runs linearly from
  noise * (1 - spread) at one end of the cloud to noise * (1 + spread) at the other. Implemented as
  clean + (1 + spread * t) * (noisy - clean) with the clean draw made with noise = 0: exact for additive
  noise (every ambient Gaussian model); for a noise model that is not additive (klein_bottle's pixel
  noise, renormalised onto the sphere) it scales the noise's displacement, which is its first order.

Random numbers come from the corruptions' own streams, np.random.default_rng([seed, STREAM_TAG, k]),
never from the dataset's, so the clean draw of a seed is the same with and without corruptions, and with
both at 0 the draw is the dataset's own, bit for bit. Only a draw that needs the clean cloud and has
noise (noise > 0 with outliers or noise_spread) costs a second draw (with noise = 0), which must agree
with the first in everything but the points (same evaluation rows and truth), or ValueError.

This module imports only numpy and the contract: the registry imports it, so it is in every plugin's
code closure, and it must not pull the sampling and geometry modules into the methods' closures.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .contract import Sample, validate_sample
from .params import ParamType, Range

#: The shared parameters: name -> (default, type). A dataset may not declare them itself.
SHARED: dict[str, tuple[Any, ParamType]] = {
    "outliers": (0.0, ParamType(float, range=Range(ge=0, lt=0.5))),
    "noise_spread": (0.0, ParamType(float, range=Range(ge=0, lt=1))),
}
#: Second entry of every corruption stream's seed ("corr"), third: the corruption's own index.
STREAM_TAG = 0x636F7272
_SPREAD_STREAM, _OUTLIER_STREAM = 1, 2


def shared_parameters(name: str, own: Mapping[str, Any]) -> dict[str, tuple[Any, ParamType]]:
    """The shared parameters a dataset with parameters `own` is given; TypeError when it declares one."""
    clash = sorted(set(SHARED) & set(own))
    if clash:
        raise TypeError(f"dataset {name!r}: parameter(s) {clash} are reserved for the corruptions every dataset "
                        "takes (colosseum.corruptions); rename them")
    return dict(SHARED)


def stream(seed: int, index: int) -> np.random.Generator:
    """The random stream of one corruption for a seed, independent of the dataset's streams."""
    return np.random.default_rng([int(seed), STREAM_TAG, index])


def spread_multipliers(clean: np.ndarray, spread: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(per-row noise multipliers 1 + spread * t in [1 - spread, 1 + spread], the random unit direction)."""
    direction = rng.standard_normal(clean.shape[1])
    direction /= np.linalg.norm(direction)
    proj = clean @ direction
    lo, hi = float(proj.min()), float(proj.max())
    t = (2 * proj - (lo + hi)) / (hi - lo) if hi > lo else np.zeros_like(proj)
    return 1.0 + spread * np.clip(t, -1.0, 1.0), direction


def outlier_rows(n_points: int, eval_idx: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """round(fraction * (N - m)) rows drawn among the rows that are not evaluation rows, sorted."""
    pool = np.setdiff1d(np.arange(n_points), np.asarray(eval_idx))
    count = int(round(fraction * pool.size))
    return np.sort(rng.choice(pool, size=count, replace=False)).astype(np.int64)


def _draw(func: Callable[..., Any], seed: int, params: Mapping[str, Any], source: str) -> Sample:
    sample = func(seed=seed, **params)
    if not isinstance(sample, Sample):
        raise TypeError(f"{source} returned {type(sample).__name__}, expected Sample")
    return validate_sample(sample, source=source)


def draw(func: Callable[..., Any], seed: int, params: Mapping[str, Any], source: str = "dataset") -> Sample:
    """The dataset `func` drawn for `seed` with its own parameters from `params`, then corrupted by the
    shared ones (outliers, noise_spread; absent ones count as 0). Validated Sample; meta records the
    corruptions (`outlier_rows`, `outlier_count`, `noise_multiplier`, `noise_spread_applied`)."""
    own_names = set(inspect.signature(func).parameters) - {"seed"}
    own = {k: v for k, v in params.items() if k in own_names}
    outliers = float(params.get("outliers", 0.0) or 0.0)
    spread = float(params.get("noise_spread", 0.0) or 0.0)
    sample = _draw(func, seed, own, source)
    if outliers == 0 and spread == 0:
        return sample  # the dataset's own draw, bit for bit
    noisy = float(own.get("noise", 0.0) or 0.0) > 0
    clean = sample
    if noisy:
        clean = _draw(func, seed, {**own, "noise": 0.0}, source)
        if not (np.array_equal(clean.eval_idx, sample.eval_idx) and np.array_equal(clean.curvature, sample.curvature)
                and clean.points.shape == sample.points.shape):
            raise ValueError(f"{source}: its draw with noise = 0 has other evaluation rows or truth than its noisy "
                             "draw, so outliers and noise_spread cannot find its clean cloud")
    points = np.array(sample.points, dtype=np.float64, copy=True)
    meta = dict(sample.meta)
    meta["noise_spread_applied"] = bool(spread > 0 and noisy)
    if spread > 0 and noisy:
        mult, direction = spread_multipliers(clean.points, spread, stream(seed, _SPREAD_STREAM))
        points = clean.points + mult[:, None] * (points - clean.points)
        meta.update(noise_multiplier=mult, noise_spread_direction=direction)
    if outliers > 0:
        rng = stream(seed, _OUTLIER_STREAM)
        rows = outlier_rows(len(points), sample.eval_idx, outliers, rng)
        lo, hi = clean.points.min(axis=0), clean.points.max(axis=0)
        points[rows] = rng.uniform(lo, hi, size=(rows.size, points.shape[1]))
        meta.update(outlier_rows=rows, outlier_count=int(rows.size))
    return Sample(points=points, eval_idx=sample.eval_idx, curvature=sample.curvature, dim=sample.dim, meta=meta)
