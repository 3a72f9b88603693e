"""Computing one cell in this process: draw the dataset (or reuse a recent draw), run the method.

`compute_cell` never raises for a failing dataset or method: its payload's status says what happened
(`colosseum.status.Status`), with the error's type, message and traceback tail. The runner calls it in
a worker process (`colosseum.isolation`) so that a hung or crashing cell cannot take the sweep with it.

The payload also says what computed it: `code_ran`, the code hash of each part from the bytes this
process executed (`colosseum.sources`), and `reads`, the files beyond those static closures that the
parts were seen to read while they ran (`colosseum.trace`), with their digests. The runner files the cell
under the id these give, never under a planned id they contradict.

Every stage (draw, denoiser, method) starts from a fixed global random state (NumPy's and Python's),
drawn from the cell, so a method that uses it gives the same value whatever ran before it in the worker.
"""
from __future__ import annotations

import json
import random
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from . import codehash, registry, sources, trace
from .cells import CellSpec, digest
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
#: Methods this process has called: the first call of each also compiles its JAX functions.
_CALLED: set[str] = set()
#: Files each plugin ((kind, name)) was seen to read while it ran in this process. A call served from a
#: cache (a reused draw, an already compiled function) runs less of its code than the first, so what one
#: call read counts for every later cell of that plugin here.
_READ: dict[tuple[str, str], set[Path]] = {}


def fixed_global_state(*parts: Any) -> None:
    """Seed NumPy's and Python's global generators from `parts`: a stage never sees what ran before it."""
    s = int(digest({"global_random_state": list(parts)}), 16)
    np.random.seed(s % 2**32)
    random.seed(s)


def _stage(kind: str, name: str, seed_parts: tuple, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """call(*args, **kwargs), one stage of a cell, from a fixed global random state, recording what it read."""
    fixed_global_state(kind, *seed_parts)
    rec = trace.Recorder(registry.user_plugin_dirs())
    try:
        with rec:
            return call(*args, **kwargs)
    finally:
        _READ.setdefault((kind, name), set()).update(rec.files())


def identity_ran(spec: CellSpec) -> tuple[dict[str, str], dict[str, str], dict[str, list[str]]]:
    """What computed the cell in this process: (code hash of each part from the bytes executed, {label:
    digest} of the further files its plugins were seen to read, {part: labels} of who read them)."""
    parts = [(registry.DATASET, spec.dataset, "dataset"), (registry.METHOD, spec.method, "method")]
    if spec.denoise != registry.NO_DENOISER:
        parts.append((registry.DENOISER, spec.denoise, "denoise"))
    code, static = {}, set()
    for kind, name, part in parts:
        source = registry.entry(kind, name).source
        code[part] = codehash.code_hash(source, view=sources.view)
        static.update(codehash.closure(source, view=sources.view))
    dirs = registry.user_plugin_dirs()
    by_part = {part: sorted(_READ.get((kind, name), set()) - static) for kind, name, part in parts}
    reads = trace.digests(sorted({f for files in by_part.values() for f in files}), dirs, view=sources.view)
    return code, reads, {part: [codehash.label(f, dirs) for f in files] for part, files in by_part.items() if files}


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


def declined(spec: CellSpec) -> str | None:
    """Why the cell's method declines it before any work is done (None: it does not): result smoothing asks
    a method for every row of a neighbourhood, which one declared unaffordable (`smoothable=False`) cannot give."""
    if not spec.smooth_t:
        return None
    entry = registry.entry(registry.METHOD, spec.method)
    if not entry.smoothable:
        return (f"method {spec.method!r} declines result smoothing (smooth_t={spec.smooth_t}): it would have to "
                "evaluate every row of each evaluation row's neighbourhood, and each row costs it seconds")
    if "truth" in entry.filled_by_runner:
        return f"method {spec.method!r} sees the truth of the evaluation rows only: it cannot be smoothed"
    return None


def draw_sample(spec: CellSpec) -> Sample:
    """The dataset draw of a cell, from this process's cache of recent draws when it is there."""
    key = spec.draw_key
    if key in _SAMPLES:
        _SAMPLES.move_to_end(key)
        return _SAMPLES[key]
    sample = _stage(registry.DATASET, spec.dataset, (key,), registry.make_dataset, spec.dataset, seed=spec.seed,
                    **spec.dataset_params)
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
    denoiser = registry.make_denoiser(spec.denoise, **spec.denoise_params)
    out = _stage(registry.DENOISER, spec.denoise, (key,), denoiser, sample.points, sample.dim, spec.denoise_seed)
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

    def estimate(rows):
        return _stage(registry.METHOD, spec.method, (spec.key,), method.estimate, points, rows, sample.dim,
                      seed=spec.method_seed)

    if not spec.smooth_t:
        return estimate(sample.eval_idx)
    from . import smoothing
    from .contract import Estimate

    reason = declined(spec)
    if reason:
        raise SkipCell(reason)
    rows, A = smoothing.neighbourhood(points, sample.eval_idx, spec.smooth_t)
    wide = estimate(rows)
    at = np.searchsorted(rows, sample.eval_idx)
    diagnostics = {k: v[at] for k, v in wide.diagnostics.items()}
    diagnostics["unsmoothed"] = wide.values[at]
    diagnostics["smoothed_rows"] = np.full(len(at), float(len(rows)))
    values = smoothing.smooth(wide.values, rows, A, sample.eval_idx, spec.smooth_t)
    return Estimate(values=values, diagnostics=diagnostics)


def compute_cell(spec: CellSpec, report: Callable[[str, dict], None] | None = None) -> dict[str, Any]:
    """Draw the dataset, run the method, return a payload of plain arrays and scalars, with the identity of
    what ran (`code_ran`, `reads`).

    `report("sample", info)` is called as soon as the sample exists, so a caller that later kills
    a hung method still knows the evaluation rows and the truth.
    """
    payload = _compute(spec, report)
    try:
        payload["code_ran"], payload["reads"], payload["reads_by"] = identity_ran(spec)
    except Exception:  # noqa: BLE001 - a plugin that cannot be looked up has failed already: the plan stands
        payload["code_ran"], payload["reads"], payload["reads_by"] = {}, {}, {}
    return payload


def _compute(spec: CellSpec, report: Callable[[str, dict], None] | None) -> dict[str, Any]:
    t0 = time.perf_counter()
    cached_draw = spec.draw_key in _SAMPLES
    try:
        sample = draw_sample(spec)
    except SkipCell as exc:
        return failure(Status.SKIPPED, exc, phase="dataset")
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - recorded as the cell's status
        return {**failure(Status.ERROR, exc, phase="dataset"), "dataset_s": time.perf_counter() - t0}
    info = {"row": sample.eval_idx, "true_curvature": sample.curvature, "dim": sample.dim,
            "n_points": int(sample.points.shape[0]), "ambient_dim": int(sample.points.shape[1]),
            "zero_tol": float(sample.meta.get("zero_tol", 0.0)), "meta": flat_meta(sample.meta),
            "dataset_s": time.perf_counter() - t0, "draw_cached": cached_draw}
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
    info["first_call"] = spec.method not in _CALLED
    _CALLED.add(spec.method)
    try:
        est = run_method(spec, points, sample)
    except SkipCell as exc:
        return {**info, **failure(Status.SKIPPED, exc, phase="method")}
    except (Exception, SystemExit) as exc:  # noqa: BLE001
        return {**info, **failure(Status.ERROR, exc, phase="method"), "runtime_s": time.perf_counter() - t1}
    return {**info, "status": Status.OK.value, "phase": "", "error_type": "", "error": "", "traceback": "",
            "estimate": est.values, "diagnostics": est.diagnostics, "runtime_s": time.perf_counter() - t1}
