"""A run directory on disk: one file per cell, and the manifests that say which cells a sweep expected.

    <run_dir>/cells/<cell_id>.parquet   one cell, one row per evaluation point, written atomically
    <run_dir>/manifests/<time>-<pid>-<tag>.json   what one invocation expected, newest last by name

A cell's *key* names its configuration (dataset, method, parameters, seed); its *id* also hashes the
code that computed it, so a key can have several versions on disk. The current version of a key is the
id that the newest manifest naming the key expected (that is what the last sweep of it computed, or
still has to compute); a key in no manifest falls back to its most recently finished version. Every
reader goes through `current_versions`, so old versions never pool with new ones.
"""
from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

CELLS, MANIFESTS, QUARANTINE = "cells", "manifests", "corrupt"
SUFFIX = ".parquet"


class CorruptCell(Exception):
    """A cell file that cannot be read as a cell (truncated, not parquet, or without its columns)."""


def cell_path(run_dir: str | os.PathLike[str], cell_id: str) -> Path:
    return Path(run_dir) / CELLS / f"{cell_id}{SUFFIX}"


def cell_files(run_dir: str | os.PathLike[str]) -> list[Path]:
    """Every cell file of a run (temporary files, whose names start with '.', are not cells)."""
    folder = Path(run_dir) / CELLS
    return sorted(p for p in folder.glob(f"*{SUFFIX}") if not p.name.startswith("."))


def temporary_files(run_dir: str | os.PathLike[str]) -> list[Path]:
    """Leftovers of interrupted writes (a write is a temporary file, then a rename)."""
    return sorted((Path(run_dir) / CELLS).glob(".*.tmp"))


def write_table(path: Path, table: pa.Table) -> Path:
    """Write `table` to `path` atomically: a temporary file in the same folder, flushed, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.stem}.{os.getpid()}.{uuid.uuid4().hex[:6]}.tmp"
    try:
        with open(tmp, "wb") as f:
            pq.write_table(table, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_cell(run_dir: str | os.PathLike[str], cell_id: str, table: pa.Table) -> Path:
    return write_table(cell_path(run_dir, cell_id), table)


def read_table(path: Path, columns: Sequence[str] | None = None) -> pa.Table:
    """One cell file; CorruptCell when it is unreadable or lacks the columns of a cell."""
    try:
        table = pq.read_table(path, columns=list(columns) if columns else None)
    except FileNotFoundError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever the parquet reader says, the file is not a cell
        raise CorruptCell(f"{path.name}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc
    if table.num_rows == 0 or (columns is None and "cell_id" not in table.column_names):
        raise CorruptCell(f"{path.name}: no rows or no cell_id column")
    return table


def cell_outcome(run_dir: str | os.PathLike[str], cell_id: str) -> tuple[str, float] | None:
    """(status, seconds of draw + method) of a cell's file, or None when it has no readable file."""
    try:
        t = read_table(cell_path(run_dir, cell_id), ["status", "dataset_s", "runtime_s"]).slice(0, 1).to_pylist()[0]
    except (FileNotFoundError, CorruptCell):
        return None
    seconds = sum(v for v in (t["dataset_s"], t["runtime_s"]) if v is not None and v == v)
    return str(t["status"]), float(seconds)


# ----------------------------------------------------------------------------- manifests

@dataclass(frozen=True)
class Manifest:
    """What one invocation expected: its cells (cell_id, cell_key, label, ...) and its plugin folders."""

    path: Path
    cells: tuple[dict, ...]
    plugin_dirs: tuple[str, ...] = ()
    created: str = ""


@dataclass
class Versions:
    """For each cell key, the id of its current version and the label to show when it is missing."""

    current: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


def write_manifest(run_dir: str | os.PathLike[str], cells: Iterable[dict], plugin_dirs: Sequence[str] = ()) -> Path:
    """Record the cells an invocation expects (one file per invocation)."""
    folder = Path(run_dir) / MANIFESTS
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S") + f".{time.time_ns() % 1_000_000_000:09d}"
    path = folder / f"{stamp}-{os.getpid()}-{uuid.uuid4().hex[:6]}.json"
    body = {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "plugin_dirs": list(plugin_dirs), "cells": list(cells)}
    tmp = folder / f".{path.name}.tmp"
    tmp.write_text(json.dumps(body, indent=0))
    os.replace(tmp, path)
    return path


def read_manifests(run_dir: str | os.PathLike[str]) -> list[Manifest]:
    """Every readable manifest of a run, oldest first (an unreadable one is skipped: it only names cells)."""
    out = []
    for f in sorted((Path(run_dir) / MANIFESTS).glob("*.json")):
        try:
            body = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(body, list):  # the first format: a bare list of cells
            body = {"cells": body}
        cells = tuple(c for c in body.get("cells", []) if isinstance(c, dict) and "cell_id" in c)
        out.append(Manifest(f, cells, tuple(body.get("plugin_dirs", [])), str(body.get("created", ""))))
    return out


def expected_versions(run_dir: str | os.PathLike[str]) -> Versions:
    """Current ids and labels of every key some manifest names (the newest manifest naming a key wins)."""
    v = Versions()
    for manifest in read_manifests(run_dir):
        for c in manifest.cells:
            key = c.get("cell_key", c["cell_id"])
            v.current[key] = c["cell_id"]
            v.labels[key] = c.get("label", key)
    return v
