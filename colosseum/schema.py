"""The declared column types of a cell file, so that the cells of a run always merge.

Fixed columns have fixed types; `dataset.<p>` and `method.<p>` take the type of the parameter in its
plugin's schema (`colosseum.params`: int -> int64, float -> float64, bool -> bool, str -> string,
anything else JSON text); `meta.<k>` (scalars of the sample's meta) are bool, float64 or string by
value; `diag.<k>` (per-point diagnostics) are float64; `prov.<k>` are text (`prov.git_dirty` bool).
Readers still meet files written before this schema (or by other code): `unify` casts a column
whose types disagree to float64 when every type is numeric, else to text, instead of failing.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from .params import ParamType
from .store import timestamp

#: Columns every cell file has, with their types.
FIXED: dict[str, pa.DataType] = {
    "run_id": pa.string(), "cell_id": pa.string(), "cell_key": pa.string(),
    "dataset": pa.string(), "method": pa.string(), "seed": pa.int64(), "method_seed": pa.int64(),
    "point": pa.int64(), "row": pa.int64(), "true_curvature": pa.float64(), "estimate": pa.float64(),
    "status": pa.string(), "error": pa.string(), "error_type": pa.string(), "phase": pa.string(),
    "traceback": pa.string(), "runtime_s": pa.float64(), "dataset_s": pa.float64(),
    "dim": pa.int64(), "n_points": pa.int64(), "ambient_dim": pa.int64(), "zero_tol": pa.float64(),
    "denoise": pa.string(), "smooth_t": pa.int64(), "denoise_s": pa.float64(),
    "draw_cached": pa.bool_(), "first_call": pa.bool_(),
    "spec": pa.string(), "code.dataset": pa.string(), "code.method": pa.string(), "code.denoise": pa.string(),
    "code.files": pa.string(), "code.reads": pa.string(), "scalar_units": pa.bool_(),
    "started_at": pa.string(), "finished_at": pa.string(),
}
#: Columns that vary within a cell (one value per evaluation point); all others are constant over a cell.
POINT_COLUMNS = ("point", "row", "true_curvature", "estimate")
BOOL_PROVENANCE = ("prov.git_dirty",)


def text(value: Any) -> str | None:
    """A value as text: strings as they are, other values as JSON (None stays None)."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(_jsonable(value), sort_keys=True)


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v if isinstance(v, (bool, int, float, str)) or v is None else str(v)


def param_column(kind: ParamType, value: Any) -> tuple[pa.DataType, Any]:
    """(arrow type, stored value) of a parameter."""
    dtype = kind.arrow_type()
    return dtype, (text(value) if dtype == pa.string() and not isinstance(value, str) else value)


def meta_column(value: Any) -> tuple[pa.DataType, Any]:
    """(arrow type, stored value) of a scalar meta entry: bool, float64 or text, by value."""
    if isinstance(value, (bool, np.bool_)):
        return pa.bool_(), bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return pa.float64(), float(value)
    return pa.string(), text(value)


def build_table(columns: Mapping[str, Any], types: Mapping[str, pa.DataType], n_rows: int) -> pa.Table:
    """A table of `n_rows` rows: each column a scalar (repeated) or an ndarray of n_rows values, of its
    declared type."""
    arrays, fields = [], []
    for name, value in columns.items():
        dtype = types[name]
        if isinstance(value, np.ndarray):
            arr = pa.array(value, type=dtype, from_pandas=True)
        else:
            arr = pa.array([value] * n_rows, type=dtype, from_pandas=True)
        arrays.append(arr)
        fields.append(pa.field(name, dtype))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_null(t)


def unify(tables: list[pa.Table]) -> tuple[list[pa.Table], list[str]]:
    """The tables with every column cast to one type across them; also the columns that needed a cast.

    Agreeing types stay; numeric types that disagree become float64; anything else becomes text."""
    seen: dict[str, set[pa.DataType]] = {}
    for t in tables:
        for f in t.schema:
            seen.setdefault(f.name, set()).add(f.type)
    target = {}
    for name, kinds in seen.items():
        real = {k for k in kinds if not pa.types.is_null(k)}
        if len(real) > 1:
            target[name] = pa.float64() if all(_numeric(k) for k in real) else pa.string()
    if not target:
        return tables, []
    out = []
    for t in tables:
        for name, dtype in target.items():
            i = t.schema.get_field_index(name)
            if i >= 0 and t.schema.field(i).type != dtype:
                col = t.column(i)
                col = col.cast(dtype) if dtype != pa.string() or pa.types.is_primitive(col.type) else pa.array(
                    [text(v) for v in col.to_pylist()], type=pa.string())
                t = t.set_column(i, pa.field(name, dtype), col)
        out.append(t)
    return out, sorted(target)


def _param_types(kind: str, name: str) -> Mapping[str, ParamType]:
    from . import registry

    try:
        return registry.entry(kind, name).types
    except ValueError:  # not registered in this process: infer from the values
        return {}


def _scalar_units(spec: Any) -> bool | None:
    """Whether the cell's estimates are scalar curvature, as its method declared at registration."""
    from . import registry

    try:
        return registry.entry(registry.METHOD, spec.method).in_scalar_units(spec.method_params)
    except (ValueError, KeyError, TypeError):
        return None


def cell_table(spec: Any, payload: Mapping[str, Any], *, run_id: str, started_at: str,
               provenance: Mapping[str, Any], code_files: Mapping[str, list[str]] | None = None) -> pa.Table:
    """The rows of one cell file: one per evaluation point (a single row with point -1 when the dataset
    itself failed), every column of its declared type."""
    from .params import param_type

    rows = np.asarray(payload.get("row", []), dtype=np.int64)
    m = rows.size
    n = max(m, 1)
    truth = np.asarray(payload.get("true_curvature", np.full(m, np.nan)), dtype=np.float64)
    est = np.asarray(payload.get("estimate", np.full(m, np.nan)), dtype=np.float64)
    if m == 0:
        rows, truth, est = np.array([-1]), np.array([np.nan]), np.array([np.nan])

    def number(key: str) -> float:
        v = payload.get(key)
        return float(v) if v is not None else float("nan")

    cols: dict[str, Any] = {
        "run_id": run_id, "cell_id": spec.cell_id, "cell_key": spec.key, "dataset": spec.dataset,
        "method": spec.method, "seed": int(spec.seed), "method_seed": int(spec.method_seed),
        "point": np.arange(m) if m else np.array([-1]), "row": rows, "true_curvature": truth, "estimate": est,
        "status": str(payload["status"]), "error": str(payload.get("error", "")),
        "error_type": str(payload.get("error_type", "")), "phase": str(payload.get("phase", "")),
        "traceback": str(payload.get("traceback", "")), "runtime_s": number("runtime_s"),
        "dataset_s": number("dataset_s"), "denoise": spec.denoise, "smooth_t": int(spec.smooth_t),
        "denoise_s": number("denoise_s"), "draw_cached": payload.get("draw_cached"),
        "first_call": payload.get("first_call"), "dim": payload.get("dim"), "n_points": payload.get("n_points"),
        "ambient_dim": payload.get("ambient_dim"),
        "zero_tol": float(payload.get("zero_tol", spec.dataset_params.get("zero_tol", 0.0)) or 0.0),
        "spec": text(spec.to_dict()), "code.dataset": spec.code.get("dataset", ""),
        "code.method": spec.code.get("method", ""), "code.denoise": spec.code.get("denoise", ""), "code.files": text(dict(code_files or {})),
        "code.reads": text(dict(spec.reads)), "scalar_units": _scalar_units(spec),
        "started_at": started_at, "finished_at": timestamp(),
    }
    types: dict[str, pa.DataType] = dict(FIXED)
    for kind, name, params in (("dataset", spec.dataset, spec.dataset_params),
                               ("method", spec.method, spec.method_params),
                               ("denoiser", spec.denoise, spec.denoise_params)):
        declared = _param_types(kind, name)
        for k, v in params.items():
            dtype, value = param_column(declared.get(k) or param_type(None, v), v)
            col = f"{'denoise' if kind == 'denoiser' else kind}.{k}"
            cols[col], types[col] = value, dtype
    for k, v in payload.get("meta", {}).items():
        if k not in cols:
            types[k], cols[k] = meta_column(v)
    for k, v in payload.get("diagnostics", {}).items():
        cols[f"diag.{k}"], types[f"diag.{k}"] = np.asarray(v, dtype=np.float64), pa.float64()
    for k, v in provenance.items():
        if k in BOOL_PROVENANCE:
            cols[k], types[k] = bool(v), pa.bool_()
        else:
            cols[k], types[k] = text(v) if v is not None else "", pa.string()
    return build_table(cols, types, n)
