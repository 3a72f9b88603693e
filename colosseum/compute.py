"""Computing one cell in this process: draw the dataset (or reuse a recent draw), run the method.

`compute_cell` never raises for a failing dataset or method: its payload's status says what happened
(`colosseum.status.Status`), with the error's type, message and traceback tail. The runner calls it in
a worker process (`colosseum.isolation`) so that a hung or crashing cell cannot take the sweep with it.
"""
from __future__ import annotations

import json
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from . import registry
from .cells import CellSpec
from .contract import Sample, SkipCell
from .status import Status

#: Samples drawn recently by this process, newest last. A sweep runs every method on the same draws
#: and a draw (truth by autodiff, sanity checks, rejection sampling) takes 1-2 s, often longer
#: than the method; draws are deterministic in (dataset, parameters, seed, code), so reusing one is
#: invisible except in `dataset_s`.
_SAMPLES: OrderedDict[str, Sample] = OrderedDict()
SAMPLE_CACHE_SIZE = 32
#: Denoised clouds of recent draws (denoisers run once per draw and denoiser, whatever the methods).
_DENOISED: OrderedDict[str, np.ndarray] = OrderedDict()
#: The memory limit of this process (set by the cell worker), named in the rows of cells that hit it.
MEMORY_LIMIT_GB: float | None = None


def _out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, MemoryError) or "RESOURCE_EXHAUSTED" in str(exc) or "Out of memory" in str(exc)


def failure(status: Status, exc: BaseException | None = None, message: str = "", phase: str = "") -> dict:
    """The outcome fields of a cell that did not end `ok` (an exhausted memory limit says so)."""
    error_type = type(exc).__name__ if exc is not None else ""
    if exc is not None and not message:
        if _out_of_memory(exc):
            limit = f"memory_gb={MEMORY_LIMIT_GB:g}" if MEMORY_LIMIT_GB else "the machine's memory"
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else error_type
            error_type, message = "MemoryError", f"out of memory: the cell needed more than {limit} ({first})"
        elif isinstance(exc, SystemExit):
            message = f"the {phase or 'cell'} called sys.exit({exc.code!r})"
        else:
            message = str(exc)
    return {"status": Status(status).value, "phase": phase, "error_type": error_type, "error": message,
            "traceback": "".join(traceback.format_exception(exc, limit=-6)) if exc is not None else ""}


def flat_meta(meta: Mapping[str, Any], prefix: str = "meta.") -> dict[str, Any]:
    """Scalar entries of a sample's meta, flattened to `meta.<key>` columns (params are stored apart;
    arrays, i.e. per-point data such as eval_params, stay out of the cell's columns)."""
    out: dict[str, Any] = {}
    for k, v in meta.items():
        if k in ("params", "name", "seed") or isinstance(v, np.ndarray):
            continue
        if isinstance(v, Mapping):
            out.update(flat_meta(v, f"{prefix}{k}."))
        elif isinstance(v, (bool, int, float, str, np.integer, np.floating, np.bool_)) or v is None:
            out[f"{prefix}{k}"] = v.item() if isinstance(v, np.generic) else v
        else:
            out[f"{prefix}{k}"] = json.dumps(v, default=str)
    return out


def draw_sample(spec: CellSpec) -> Sample:
    """The dataset draw of a cell, from this process's cache of recent draws when it is there."""
    key = spec.draw_key
    if key in _SAMPLES:
        _SAMPLES.move_to_end(key)
        return _SAMPLES[key]
    sample = registry.make_dataset(spec.dataset, seed=spec.seed, **spec.dataset_params)
    for arr in (sample.points, sample.eval_idx, sample.curvature):
        if isinstance(arr, np.ndarray):
            arr.setflags(write=False)  # shared by the cells that reuse it
    _SAMPLES[key] = sample
    while len(_SAMPLES) > SAMPLE_CACHE_SIZE:
        _SAMPLES.popitem(last=False)
    return sample


def _remember(cache: OrderedDict, key: str, value):
    cache[key] = value
    while len(cache) > SAMPLE_CACHE_SIZE:
        cache.popitem(last=False)
    return value


def denoised_points(spec: CellSpec, sample: Sample) -> np.ndarray:
    """The cloud the method sees: the draw's points through the cell's denoiser (cached per draw)."""
    if spec.denoise == registry.NO_DENOISER:
        return sample.points
    key = spec.denoised_key
    if key in _DENOISED:
        _DENOISED.move_to_end(key)
        return _DENOISED[key]
    out = registry.make_denoiser(spec.denoise, **spec.denoise_params)(sample.points, sample.dim, spec.denoise_seed)
    out.setflags(write=False)
    return _remember(_DENOISED, key, out)


def run_method(spec: CellSpec, points: np.ndarray, sample: Sample):
    """The method's Estimate at the evaluation rows; with smooth_t > 0 the estimates of the rows' t-hop
    neighbourhood, diffused (colosseum.smoothing), with the unsmoothed values as diag.unsmoothed."""
    params = dict(spec.method_params)
    entry = registry.entry(registry.METHOD, spec.method)
    if "truth" in entry.filled_by_runner:
        params["truth"] = sample.curvature
    method = registry.make_method(spec.method, **params)
    if not spec.smooth_t:
        return method.estimate(points, sample.eval_idx, sample.dim, seed=spec.method_seed)
    from . import smoothing
    from .contract import Estimate

    if not entry.smoothable:
        raise SkipCell(f"method {spec.method!r} declines result smoothing (smooth_t={spec.smooth_t}): it would "
                       "evaluate every row of a neighbourhood, and each costs it seconds")
    if "truth" in entry.filled_by_runner:
        raise SkipCell(f"method {spec.method!r} sees the truth of the evaluation rows only: it cannot be smoothed")
    rows, A = smoothing.neighbourhood(points, sample.eval_idx, spec.smooth_t)
    wide = method.estimate(points, rows, sample.dim, seed=spec.method_seed)
    at = np.searchsorted(rows, sample.eval_idx)
    diagnostics = {k: v[at] for k, v in wide.diagnostics.items()}
    diagnostics["unsmoothed"] = wide.values[at]
    diagnostics["smoothed_rows"] = np.full(len(at), float(len(rows)))
    values = smoothing.smooth(wide.values, rows, A, sample.eval_idx, spec.smooth_t)
    return Estimate(values=values, diagnostics=diagnostics)


def compute_cell(spec: CellSpec, report: Callable[[str, dict], None] | None = None) -> dict[str, Any]:
    """Draw the dataset, run the method, return a payload of plain arrays and scalars.

    `report("sample", info)` is called as soon as the sample exists, so a caller that later kills
    a hung method still knows the evaluation rows and the truth.
    """
    t0 = time.perf_counter()
    try:
        sample = draw_sample(spec)
    except SkipCell as exc:
        return failure(Status.SKIPPED, exc, phase="dataset")
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - recorded as the cell's status
        return {**failure(Status.ERROR, exc, phase="dataset"), "dataset_s": time.perf_counter() - t0}
    info = {"row": sample.eval_idx, "true_curvature": sample.curvature, "dim": sample.dim,
            "n_points": int(sample.points.shape[0]), "ambient_dim": int(sample.points.shape[1]),
            "zero_tol": float(sample.meta.get("zero_tol", 0.0)), "meta": flat_meta(sample.meta),
            "dataset_s": time.perf_counter() - t0}
    if report is not None:
        report("sample", info)
    t_d = time.perf_counter()
    try:
        points = denoised_points(spec, sample)
    except SkipCell as exc:
        return {**info, **failure(Status.SKIPPED, exc, phase="denoise")}
    except (Exception, SystemExit) as exc:  # noqa: BLE001
        return {**info, **failure(Status.ERROR, exc, phase="denoise"), "denoise_s": time.perf_counter() - t_d}
    info["denoise_s"] = time.perf_counter() - t_d
    t1 = time.perf_counter()
    try:
        est = run_method(spec, points, sample)
    except SkipCell as exc:
        return {**info, **failure(Status.SKIPPED, exc, phase="method")}
    except (Exception, SystemExit) as exc:  # noqa: BLE001
        return {**info, **failure(Status.ERROR, exc, phase="method"), "runtime_s": time.perf_counter() - t1}
    return {**info, "status": Status.OK.value, "phase": "", "error_type": "", "error": "", "traceback": "",
            "estimate": est.values, "diagnostics": est.diagnostics, "runtime_s": time.perf_counter() - t1}
