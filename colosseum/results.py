"""Tidy tables of a run: the per-point table, per-cell scores, and leaderboards.

`load(run_dir)` reads, for each cell key, the version the newest manifest expects (the cell computed
by the code of the last sweep that asked for it, `colosseum.store`); older versions stay on disk and
are read with `versions="all"`. A key whose current version is not computed yet is listed in
`df.attrs["missing_cells"]` (and a warning says so): it is never replaced by an old version, so a
partial table never passes as complete and two code versions never pool. Unreadable cell files, and files
holding another cell than their name says, are skipped with one warning naming them
(`df.attrs["corrupt_cells"]`) and count as missing; a manifest of the wrong shape is skipped with one
warning naming it.
Every score is recomputable from the per-point table.
"""
from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from . import codehash, store
from .schema import POINT_COLUMNS, unify
from .scoring import METRICS, class_shares, metric_values
from .status import FAILED, SCORED, Status

SCORES_CSV = "scores.csv"
VERSIONS = ("current", "all")


class _Shared(list):
    """A list pandas may pass on without copying: it deep-copies `attrs` on every operation, which
    for thousands of missing-cell labels cost more than the operations themselves."""

    def __deepcopy__(self, memo):
        return self


def _identities(files: Sequence[Path], key_of: Mapping[str, str]) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """({cell id: (cell_key, finished_at)} of the files that hold the cell their name says, {cell id: reason}
    of those that do not or cannot be read)."""
    found, corrupt = {}, {}
    for f in files:
        try:
            row = store.read_table(f, ["cell_key", "finished_at"], key=key_of.get(f.stem)).slice(0, 1).to_pylist()[0]
        except store.CorruptCell as exc:
            corrupt[f.stem] = str(exc)
            continue
        except (FileNotFoundError, KeyError):
            continue
        found[f.stem] = (str(row.get("cell_key")), str(row.get("finished_at")))
    return found, corrupt


@dataclass
class Selection:
    """The cell files a reader uses, and what it found wrong on the way."""

    files: list[Path]
    missing: dict[str, str]          # cell id -> label: current versions some manifest expects, without a file
    superseded: int                  # files of older versions left out
    corrupt: dict[str, str]          # cell id -> reason: unreadable files, or files holding another cell
    malformed: dict[str, str]        # manifest file name -> what is wrong with it
    versions: store.Versions


def select(run_dir: str | os.PathLike[str], versions: str = "current") -> Selection:
    """The files of a run's current versions (`colosseum.store.current_versions`), or of every version."""
    if versions not in VERSIONS:
        raise ValueError(f"versions must be one of {VERSIONS}, got {versions!r}")
    expected = store.expected_versions(run_dir)
    files = store.cell_files(run_dir)
    found, corrupt = _identities(files, expected.key_of())
    if versions == "all":
        current, superseded = set(found), set()
    else:
        current, superseded = store.current_versions(expected, found)
    missing = {cid: expected.labels[key] for key, cid in expected.current.items() if cid not in found}
    chosen = sorted(f for f in files if f.stem in current)
    return Selection(chosen, missing, len(superseded), corrupt, expected.malformed, expected)


def select_versions(run_dir: str | os.PathLike[str], versions: str = "current"
                    ) -> tuple[list[Path], dict[str, str], int]:
    """(files a reader uses, {cell id: label} of current versions without a readable file, superseded count)."""
    sel = select(run_dir, versions)
    return sel.files, sel.missing, sel.superseded


def _read(files: Sequence[Path]) -> tuple[list[pa.Table], dict[str, str]]:
    """The readable cell files as tables, and {cell id: reason} of the unreadable ones."""
    def one(f: Path):
        try:
            return store.read_table(f), None
        except (store.CorruptCell, FileNotFoundError) as exc:
            return None, str(exc)

    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(one, files))
    corrupt = {f.stem: err for f, (_, err) in zip(files, got) if err is not None}
    return [t for t, _ in got if t is not None], corrupt


def load(run_dir: str | os.PathLike[str], cells: Iterable[str] | None = None,
         versions: str = "current") -> pd.DataFrame:
    """The tidy per-point table of a run (finished or partial): one row per (cell, evaluation point).

    cells: only these cell ids. versions: "current" (one version per cell key, see the module doc) or
    "all" (every file on disk). attrs: missing_cells (labels), corrupt_cells (reasons, each naming its file),
    superseded (files of older versions left out), retyped (columns whose types disagreed across files),
    stale_cells (ids of cells computed by code or files that changed since), malformed_manifests.
    """
    run = Path(run_dir)
    sel = select(run, versions)
    files, missing, corrupt = sel.files, dict(sel.missing), dict(sel.corrupt)
    label_of = {cid: sel.versions.labels[key] for key, cid in sel.versions.current.items()}
    if cells is not None:
        wanted = set(cells)
        files = [f for f in files if f.stem in wanted]
        missing = {cid: label for cid, label in missing.items() if cid in wanted}
        corrupt = {cid: why for cid, why in corrupt.items() if cid in wanted}
    tables, unreadable = _read(files)
    corrupt.update(unreadable)
    for name, why in sel.malformed.items():
        warnings.warn(f"{run}: manifest {name} skipped: {why}", stacklevel=2)
    if corrupt:
        warnings.warn(f"{run}: skipped {len(corrupt)} corrupt cell file(s), counted as missing: "
                      f"{'; '.join(list(corrupt.values())[:3])}{' ...' if len(corrupt) > 3 else ''} "
                      f"(colosseum-check {run} --fix moves them aside; a rerun recomputes them)", stacklevel=2)
        missing.update({cid: label_of.get(cid, cid) for cid in corrupt})
    if not tables:
        raise FileNotFoundError(f"no readable finished cells under {run / store.CELLS}")
    tables, retyped = unify(tables)
    df = add_variants(pa.concat_tables(tables, promote_options="permissive").to_pandas())
    labels = _Shared(missing.values())
    stale = _Shared(stale_cells(df, store.plugin_dirs_of_run(run)))
    df.attrs.update({"missing_cells": labels, "corrupt_cells": _Shared(corrupt.values()),
                     "superseded": sel.superseded, "retyped": _Shared(retyped), "stale_cells": stale,
                     "malformed_manifests": _Shared(f"{k}: {v}" for k, v in sel.malformed.items())})
    if stale:
        warnings.warn(f"{run}: {len(stale)} cell(s) were computed by code that has changed since (their dataset's "
                      "or method's import closure, or a file they were seen to read, differs from the files on "
                      "disk); rerun the sweep to update them", stacklevel=2)
    if labels:
        warnings.warn(f"{run}: {len(labels)} of {len(labels) + df['cell_id'].nunique()} expected cells are "
                      f"missing (e.g. {', '.join(list(labels)[:3])}); the table is partial", stacklevel=2)
    return df


def stale_cells(df: pd.DataFrame, plugin_dirs=()) -> list[str]:
    """Ids of cells whose code differs now from the code recorded in the cell: the import closure of their
    dataset, denoiser or method (`colosseum.codehash`), or a file they were seen to read (`code.reads`).
    Cells whose plugin file cannot be found are not judged."""
    if "code.files" not in df or df.empty:
        return []
    cols = ["cell_id", "code.files", "code.dataset", "code.method", "code.denoise", "code.reads"]
    cells = df.drop_duplicates("cell_id").reindex(columns=cols)
    current: dict[str, str | None] = {}

    def now(label: str) -> str | None:
        if label not in current:
            src = codehash.resolve(label, plugin_dirs)
            current[label] = codehash.code_hash(src) if src is not None else None
        return current[label]

    def digest_now(label: str) -> str:
        key = "read:" + label
        if key not in current:
            src = codehash.resolve(label, plugin_dirs)
            current[key] = codehash.file_digest(src) if src is not None else "absent"
        return str(current[key])

    out = []
    for cid, files, *codes, reads in cells.itertuples(index=False):
        closures, read = _json(files), _json(reads)
        changed = any(now(first) not in (None, code) for part, code in zip(("dataset", "method", "denoise"), codes)
                      if (first := (closures.get(part) or [None])[0]) is not None and isinstance(code, str))
        if changed or any(digest_now(label) != digest for label, digest in read.items()):
            out.append(cid)
    return out


def _json(text) -> dict:
    try:
        value = json.loads(text) if isinstance(text, str) and text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _varying(df: pd.DataFrame, by: str, prefix: str) -> np.ndarray:
    """`name(p=v, ...)` per row: the `by` column with the `prefix` parameters that vary within its groups."""
    label = df[by].astype(str).to_numpy(dtype=object).copy()
    for name, g in df.groupby(by, sort=False):
        cols = [c for c in g.columns if c.startswith(prefix) and g[c].astype(str).nunique() > 1]
        if cols:
            parts = g[cols].astype(str).apply(lambda r: ", ".join(f"{c[len(prefix):]}={v}" for c, v in r.items()),
                                              axis=1)
            label[df.index.get_indexer(g.index)] = (f"{name}(" + parts + ")").to_numpy()
    return label


def add_variants(df: pd.DataFrame) -> pd.DataFrame:
    """Add `variant`: the method's name with the parameters that vary among that method's cells in this
    table, e.g. `dc_mioflattener(rfae_stage=False)`, after the denoiser when there is one (`mls+sritharan`),
    with the result smoothing when it is on, and with its code version (`sritharan [code 1a2b3c]`) when the
    table holds cells of several. Leaderboards group by it: no two pipelines or code versions are pooled."""
    variant = _varying(df, "method", "method.")
    if "denoise" in df and (df["denoise"] != "none").any():
        denoiser = _varying(df, "denoise", "denoise.")
        variant = np.where(df["denoise"].to_numpy() == "none", variant, denoiser + "+" + variant)
    if "smooth_t" in df and (df["smooth_t"].fillna(0) > 0).any():
        t = df["smooth_t"].fillna(0).astype(int).to_numpy()
        variant = np.where(t > 0, variant + " smooth_t=" + t.astype(str), variant)
    if "code.method" in df:  # two code versions of one variant (a subset rerun after an edit) are two variants
        code = df["code.method"].fillna("").astype(str).to_numpy(dtype=object)
        frame = pd.DataFrame({"variant": variant, "code": code})
        several = frame.groupby("variant")["code"].transform("nunique").to_numpy() > 1
        variant = np.where(several, variant + " [code " + frame["code"].str[:6].to_numpy(dtype=object) + "]", variant)
    df["variant"] = variant
    return df


def cell_columns(df: pd.DataFrame) -> list[str]:
    """Columns constant over a cell's rows (everything but the per-point columns and diagnostics)."""
    return [c for c in df.columns if c not in POINT_COLUMNS and not c.startswith("diag.")]


def scores(run: str | os.PathLike[str] | pd.DataFrame) -> pd.DataFrame:
    """One row per cell and metric (long format), with the cell's identity, parameters and status."""
    df = run if isinstance(run, pd.DataFrame) else load(run)
    out = []
    cols = cell_columns(df)
    for _, rows in df.groupby("cell_id", sort=True):
        first = rows.iloc[0]
        ident = {c: first[c] for c in cols}
        scored = first["status"] in SCORED and (rows["point"] >= 0).any()
        values = metric_values(rows) if scored else {k: np.nan for k in METRICS}
        n_signed, pos = class_shares(rows)
        for metric, value in values.items():
            out.append({**ident, "metric": metric, "value": value, "n_eval": int((rows["point"] >= 0).sum()),
                        "n_signed": n_signed, "positive_share": pos})
    return pd.DataFrame(out)


def write_scores_csv(run_dir: str | os.PathLike[str]) -> Path:
    """Rewrite `scores.csv` beside the cell files from the run's current cells."""
    path = Path(run_dir) / SCORES_CSV
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = scores(load(run_dir))
    tmp = path.with_suffix(".tmp")
    table.drop(columns=["traceback", "spec", "code.files"], errors="ignore").to_csv(tmp, index=False)
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
        scored = g[g["status"].isin(SCORED)]
        n_signed, pos = class_shares(scored)
        vals = metric_values(scored) if len(scored) else {k: np.nan for k in METRICS}
        rows.append({**dict(zip(by, key)), "cells": len(per_cell),
                     "failed": int(per_cell.isin(FAILED).sum()), "skipped": int((per_cell == Status.SKIPPED).sum()),
                     "points": n_signed, "positive_share": pos, **vals,
                     "majority": max(pos, 1 - pos) if n_signed else np.nan,
                     "runtime_s": float(g.groupby("cell_id")["runtime_s"].first().median())})
    return pd.DataFrame(rows)
