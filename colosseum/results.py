"""Result storage and tidy tables.

A run directory holds `cells/<cell_id>.parquet` (one atomically written file per cell, one row
per evaluation point), `manifests/*.json` (the cells each invocation expected, so a partial run
says what is missing) and `scores.csv` (one row per cell and metric, rewritten after each run).
Every score is recomputable from the points table.
"""
from __future__ import annotations

import json
import os
import time
import uuid
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .cells import CellSpec
from .scoring import METRICS, SCORED_STATUSES, class_shares, metric_values

CELLS, MANIFESTS, SCORES_CSV = "cells", "manifests", "scores.csv"
#: Columns that vary within a cell; every other column is constant over a cell's rows.
POINT_COLUMNS = ("point", "row", "true_curvature", "estimate")
FAILED = ("error", "timeout")


def cell_path(run_dir: str | os.PathLike[str], cell_id: str) -> Path:
    return Path(run_dir) / CELLS / f"{cell_id}.parquet"


def _plain(v: Any) -> Any:
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(v, sort_keys=True)
    return v.item() if isinstance(v, np.generic) else v


def cell_frame(spec: CellSpec, payload: dict[str, Any], run_id: str, started_at: str,
               provenance: dict[str, Any]) -> pd.DataFrame:
    """The tidy rows of one cell: one per evaluation point, or a single row (point -1) when the
    dataset itself failed."""
    rows = np.asarray(payload.get("row", []), dtype=np.int64)
    m = rows.size
    truth = np.asarray(payload.get("true_curvature", np.full(m, np.nan)), dtype=float)
    est = np.asarray(payload.get("estimate", np.full(m, np.nan)), dtype=float)
    if m == 0:
        rows, truth, est = np.array([-1]), np.array([np.nan]), np.array([np.nan])
    cols: dict[str, Any] = {
        "run_id": run_id, "cell_id": spec.cell_id, "cell_key": spec.key,
        "dataset": spec.dataset, "method": spec.method, "seed": spec.seed, "method_seed": spec.method_seed,
        "point": np.arange(len(rows)) if m else np.array([-1]), "row": rows,
        "true_curvature": truth, "estimate": est,
        "status": payload["status"], "error": payload.get("error", ""),
        "error_type": payload.get("error_type", ""), "phase": payload.get("phase", ""),
        "traceback": payload.get("traceback", ""),
        "runtime_s": float(payload.get("runtime_s", np.nan)),
        "dataset_s": float(payload.get("dataset_s", np.nan)),
        "dim": payload.get("dim", spec.dataset_params.get("dim")),
        "n_points": payload.get("n_points"), "ambient_dim": payload.get("ambient_dim"),
        "zero_tol": float(payload.get("zero_tol", spec.dataset_params.get("zero_tol", 0.0)) or 0.0),
    }
    cols.update({f"dataset.{k}": _plain(v) for k, v in spec.dataset_params.items()})
    cols.update({f"method.{k}": _plain(v) for k, v in spec.method_params.items()})
    cols.update({k: _plain(v) for k, v in payload.get("meta", {}).items()})
    for k, v in payload.get("diagnostics", {}).items():
        cols[f"diag.{k}"] = np.asarray(v, dtype=float)
    cols.update({"code.dataset": spec.code.get("dataset", ""), "code.method": spec.code.get("method", ""),
                 "started_at": started_at, "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    cols.update(provenance)
    frame = pd.DataFrame(cols)
    frame.attrs = {}
    return frame


def write_cell(run_dir: str | os.PathLike[str], frame: pd.DataFrame) -> Path:
    """Write one cell's rows atomically: a temporary file in the same folder, then a rename."""
    cell_id = str(frame["cell_id"].iloc[0])
    final = cell_path(run_dir, cell_id)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{cell_id}.{os.getpid()}.{uuid.uuid4().hex[:6]}.tmp"
    try:
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return final


def cell_status(run_dir: str | os.PathLike[str], cell_id: str) -> str | None:
    """Status of a finished cell, or None when the cell has no (readable) file."""
    done = cell_outcome(run_dir, cell_id)
    return None if done is None else done[0]


def cell_outcome(run_dir: str | os.PathLike[str], cell_id: str) -> tuple[str, float] | None:
    """(status, seconds the dataset draw and the method took) of a finished cell, or None when the
    cell has no (readable) file."""
    path = cell_path(run_dir, cell_id)
    if not path.exists():
        return None
    try:
        row = pd.read_parquet(path, columns=["status", "dataset_s", "runtime_s"]).iloc[0]
    except Exception:  # noqa: BLE001 - an unreadable file is as good as missing
        return None
    seconds = float(np.nansum([row["dataset_s"], row["runtime_s"]]))
    return str(row["status"]), seconds


def write_manifest(run_dir: str | os.PathLike[str], specs: Sequence[CellSpec]) -> Path:
    """Record the cells an invocation expects (one JSON file per invocation; their union is the run)."""
    folder = Path(run_dir) / MANIFESTS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{uuid.uuid4().hex[:6]}.json"
    cells = [{"cell_id": s.cell_id, "cell_key": s.key, "label": s.label()} for s in specs]
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(cells, indent=0))
    os.replace(tmp, path)
    return path


def expected_cells(run_dir: str | os.PathLike[str]) -> dict[str, str]:
    """cell_id -> label of every cell any invocation of this run expected."""
    out: dict[str, str] = {}
    for f in sorted((Path(run_dir) / MANIFESTS).glob("*.json")):
        out.update({c["cell_id"]: c["label"] for c in json.loads(f.read_text())})
    return out


def _cell_files(run_dir: Path) -> list[Path]:
    return sorted(p for p in (run_dir / CELLS).glob("*.parquet") if not p.name.startswith("."))


class _Shared(list):
    """A list pandas may pass on without copying: it deep-copies `attrs` on every operation, which
    for thousands of missing-cell labels cost more than the operations themselves."""

    def __deepcopy__(self, memo):
        return self


def _read_cells(files: Sequence[Path]) -> pd.DataFrame:
    """Cell files as one frame: Arrow tables (read on a few threads) concatenated with their
    schemas unified (methods write different diag.* columns), then converted once; ~2x faster
    than concatenating one DataFrame per file."""
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa
    import pyarrow.parquet as pq

    with ThreadPoolExecutor(max_workers=4) as pool:
        tables = list(pool.map(pq.read_table, files))
    return pa.concat_tables(tables, promote_options="permissive").to_pandas()


def load(run_dir: str | os.PathLike[str], cells: Iterable[str] | None = None) -> pd.DataFrame:
    """The tidy per-point table of a run (finished or partial).

    `df.attrs["missing_cells"]` lists the labels of expected cells without a file; a warning
    says so too, so a partial table never passes as complete.
    """
    run = Path(run_dir)
    files = _cell_files(run)
    if cells is not None:
        wanted = set(cells)
        files = [f for f in files if f.stem in wanted]
    if not files:
        raise FileNotFoundError(f"no finished cells under {run / CELLS}")
    df = _read_cells(files)
    present = {f.stem for f in files}
    expected = expected_cells(run)
    if cells is not None:
        expected = {k: v for k, v in expected.items() if k in set(cells)}
    missing = _Shared(label for cid, label in expected.items() if cid not in present)
    df.attrs["missing_cells"] = missing
    if missing:
        warnings.warn(f"{run}: {len(missing)} of {len(expected)} expected cells are missing "
                      f"(e.g. {', '.join(missing[:3])}); the table is partial", stacklevel=2)
    return df


def _cell_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c not in POINT_COLUMNS and not c.startswith("diag.")]


def scores(run: str | os.PathLike[str] | pd.DataFrame) -> pd.DataFrame:
    """One row per cell and metric (long format), with the cell's identity, parameters and status."""
    df = run if isinstance(run, pd.DataFrame) else load(run)
    out = []
    cell_cols = _cell_columns(df)
    for _, rows in df.groupby("cell_id", sort=True):
        first = rows.iloc[0]
        ident = {c: first[c] for c in cell_cols}
        scored = first["status"] in SCORED_STATUSES and (rows["point"] >= 0).any()
        values = metric_values(rows) if scored else {k: np.nan for k in METRICS}
        n_signed, pos = class_shares(rows)
        for metric, value in values.items():
            out.append({**ident, "metric": metric, "value": value, "n_eval": int((rows["point"] >= 0).sum()),
                        "n_signed": n_signed, "positive_share": pos})
    return pd.DataFrame(out)


def write_scores_csv(run_dir: str | os.PathLike[str]) -> Path:
    """Rewrite `scores.csv` beside the cell files from everything the run holds."""
    path = Path(run_dir) / SCORES_CSV
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = scores(load(run_dir))
    tmp = path.with_suffix(".tmp")
    table.drop(columns=["traceback"], errors="ignore").to_csv(tmp, index=False)
    os.replace(tmp, path)
    return path


def leaderboard(df: pd.DataFrame, by: Sequence[str] = ("method",)) -> pd.DataFrame:
    """Metrics pooled over all scored points of each group, with class shares and failure counts.

    Failed cells (error, timeout) count as abstentions; skipped cells are only counted.
    `majority` is the sign accuracy of always predicting the group's majority sign.
    """
    rows = []
    for key, g in df.groupby(list(by), sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        per_cell = g.groupby("cell_id")["status"].first()
        scored = g[g["status"].isin(SCORED_STATUSES)]
        n_signed, pos = class_shares(scored)
        vals = metric_values(scored) if len(scored) else {k: np.nan for k in METRICS}
        rows.append({**dict(zip(by, key)), "cells": len(per_cell),
                     "failed": int(per_cell.isin(FAILED).sum()), "skipped": int((per_cell == "skipped").sum()),
                     "points": n_signed, "positive_share": pos, **vals,
                     "majority": max(pos, 1 - pos) if n_signed else np.nan,
                     "runtime_s": float(g.groupby("cell_id")["runtime_s"].first().median())})
    return pd.DataFrame(rows)
