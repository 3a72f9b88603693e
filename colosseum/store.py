"""A run directory on disk: one file per cell, and the manifests that say which cells a sweep expected.

    <run_dir>/cells/<cell_id>.parquet   one cell, one row per evaluation point, written atomically
    <run_dir>/manifests/<utc ns>-<sequence>-<pid>-<tag>.json   what one invocation expected

A cell's *key* names its configuration (dataset, method, parameters, seed); its *id* also hashes the
code that computed it, so a key can have several versions on disk. The current version of a key is the
id that the newest manifest naming the key expected (that is what the last sweep of it computed, or
still has to compute); a key in no manifest falls back to its most recently finished version. That rule
lives here (`current_versions`) and every reader goes through it, so old versions never pool with new ones.

Recency never depends on the host's time zone: timestamps are written in UTC (`timestamp`) and compared
as instants (`instant`, which also reads the local-time strings of older files). A manifest's place in
the order is its UTC creation time, never earlier than the newest manifest already there, then a
per-run sequence number, then its name: merged folders from several machines order by time.

A cell file must hold the cell its name says: readers check its `cell_id` column against the file name
and its `cell_key` against what the manifests say that id is, and treat a mismatch as corrupt.
"""
from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

CELLS, MANIFESTS, QUARANTINE = "cells", "manifests", "corrupt"
SUFFIX = ".parquet"


class CorruptCell(Exception):
    """A cell file that cannot be read as a cell (truncated, not parquet, without its columns, or holding
    another cell than its name says)."""


# ----------------------------------------------------------------------------- time

def timestamp() -> str:
    """Now, as every file of a run records it: ISO 8601 in UTC with microseconds."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def instant(text: str | None) -> float:
    """Seconds since the epoch of a stored timestamp, whatever zone it was written in (older files wrote
    local time with an offset); -inf for a missing or unreadable one."""
    if not text:
        return float("-inf")
    text = str(text).strip()
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(text.replace("Z", "+0000"), fmt).timestamp()
        except ValueError:
            continue
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return float("-inf")
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


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


def read_table(path: Path, columns: Sequence[str] | None = None, key: str | None = None) -> pa.Table:
    """One cell file (all columns, or `columns`); CorruptCell when it is unreadable, lacks the columns of a
    cell, or holds another cell than its name says (its cell_id column, and its cell_key when `key` is
    the key its id should have)."""
    try:
        if columns is None:
            table = pq.read_table(path)
        else:
            names = set(pq.read_schema(path).names)
            table = pq.read_table(path, columns=[c for c in dict.fromkeys([*columns, "cell_id", "cell_key"])
                                                 if c in names or c in columns])
    except FileNotFoundError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever the parquet reader says, the file is not a cell
        raise CorruptCell(f"{path.name}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc
    if table.num_rows == 0 or "cell_id" not in table.column_names:
        raise CorruptCell(f"{path.name}: no rows or no cell_id column")
    ids = set(table.column("cell_id").to_pylist())
    if ids != {path.stem}:
        raise CorruptCell(f"{path.name}: holds cell {', '.join(sorted(map(str, ids)))[:80]}, not the cell its name "
                          "says (a file copied or moved over another)")
    if key is not None and "cell_key" in table.column_names and set(table.column("cell_key").to_pylist()) != {key}:
        raise CorruptCell(f"{path.name}: its cell_key is not the key the manifests give its id ({key})")
    return table if columns is None else table.select(list(columns))


def cell_outcome(run_dir: str | os.PathLike[str], cell_id: str) -> tuple[str, float] | None:
    """(status, seconds of draw + method) of a cell's file, or None when it has no readable file (a file
    holding another cell is no file of this one: the sweep computes it again)."""
    try:
        t = read_table(cell_path(run_dir, cell_id), ["status", "dataset_s", "runtime_s"]).slice(0, 1).to_pylist()[0]
    except (FileNotFoundError, CorruptCell):
        return None
    seconds = sum(v for v in (t["dataset_s"], t["runtime_s"]) if v is not None and v == v)
    return str(t["status"]), float(seconds)


# ----------------------------------------------------------------------------- manifests

#: New manifest names: <UTC ns, 20 digits>-<sequence, 6 digits>-<pid>-<tag>.json
_NAME = re.compile(r"^(\d{20})-(\d{6})-")


@dataclass(frozen=True)
class Manifest:
    """What one invocation expected: its cells (cell_id, cell_key, label, ...) and its plugin folders.

    order: (UTC ns of creation, sequence, file name), the manifest's place among the run's manifests."""

    path: Path
    cells: tuple[dict, ...]
    plugin_dirs: tuple[str, ...] = ()
    created: str = ""
    order: tuple[int, int, str] = (0, 0, "")


@dataclass
class Versions:
    """For each cell key, the id of its current version and the label to show when it is missing; and what
    each plugin (kind, name) was seen to read beyond its imports (labels), from the manifests' entries."""

    current: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    reads: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    #: manifests that were skipped or partly skipped: {file name: what is wrong}
    malformed: dict[str, str] = field(default_factory=dict)

    def key_of(self) -> dict[str, str]:
        """{cell id: key} of the ids the manifests expect."""
        return {cid: key for key, cid in self.current.items()}


def _order_of(path: Path, body: Mapping) -> tuple[int, int, str]:
    m = _NAME.match(path.name)
    if m:
        return int(m.group(1)), int(m.group(2)), path.name
    ns = body.get("created_ns")
    if not isinstance(ns, int):
        moment = instant(body.get("created"))
        ns = int(moment * 1e9) if moment != float("-inf") else int(path.stat().st_mtime_ns)
    seq = body.get("sequence") if isinstance(body.get("sequence"), int) else 0
    return ns, seq, path.name


def write_manifest(run_dir: str | os.PathLike[str], cells: Iterable[dict], plugin_dirs: Sequence[str] = (),
                   amends: bool = False) -> Path:
    """Record the cells an invocation expects (one file per invocation; `amends`: a correction of the ids
    of cells already expected, written when a cell turned out to read more than its plan knew)."""
    folder = Path(run_dir) / MANIFESTS
    folder.mkdir(parents=True, exist_ok=True)
    newest_ns, newest_seq = 0, 0
    for f in folder.glob("*.json"):
        m = _NAME.match(f.name)
        if m:
            newest_ns, newest_seq = max(newest_ns, int(m.group(1))), max(newest_seq, int(m.group(2)))
        else:  # an older manifest: its time from its body
            try:
                newest_ns = max(newest_ns, _order_of(f, _body(f))[0])
            except (OSError, ValueError):
                continue
    created_ns = max(time.time_ns(), newest_ns + 1)  # never before a manifest already there: recency cannot run back
    seq = newest_seq + 1
    path = folder / f"{created_ns:020d}-{seq:06d}-{os.getpid()}-{uuid.uuid4().hex[:6]}.json"
    created = datetime.fromtimestamp(created_ns / 1e9, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = {"created": created, "created_ns": created_ns, "sequence": seq, "plugin_dirs": list(plugin_dirs),
            **({"amends": True} if amends else {}), "cells": list(cells)}
    tmp = folder / f".{path.name}.tmp"
    tmp.write_text(json.dumps(body, indent=0))
    os.replace(tmp, path)
    return path


def _body(path: Path) -> dict:
    body = json.loads(path.read_text())
    if isinstance(body, list):  # the first format: a bare list of cells
        body = {"cells": body}
    if not isinstance(body, dict):
        raise ValueError(f"holds a JSON {type(body).__name__}, not an object with a list of cells")
    return body


def _valid_cell(c) -> bool:
    return isinstance(c, dict) and isinstance(c.get("cell_id"), str) and isinstance(c.get("cell_key", ""), str)


def read_manifests(run_dir: str | os.PathLike[str], malformed: dict[str, str] | None = None) -> list[Manifest]:
    """Every readable manifest of a run, oldest first. One that is unreadable or of the wrong shape is skipped
    (it only names cells) and, with `malformed`, named there with what is wrong with it."""
    out = []
    for f in (Path(run_dir) / MANIFESTS).glob("*.json"):
        try:
            body = _body(f)
            cells = body.get("cells", [])
            if not isinstance(cells, list):
                raise ValueError(f"its cells are a JSON {type(cells).__name__}, not a list")
        except (OSError, ValueError) as exc:
            if malformed is not None:
                malformed[f.name] = str(exc).splitlines()[0] if isinstance(exc, ValueError) else type(exc).__name__
            continue
        good = tuple(c for c in cells if _valid_cell(c))
        if len(good) < len(cells) and malformed is not None:
            malformed[f.name] = f"{len(cells) - len(good)} of its {len(cells)} entries are not cells (skipped)"
        dirs = body.get("plugin_dirs", [])
        dirs = tuple(str(d) for d in dirs) if isinstance(dirs, list) else ()
        out.append(Manifest(f, good, dirs, str(body.get("created", "")), _order_of(f, body)))
    return sorted(out, key=lambda m: m.order)


def expected_versions(run_dir: str | os.PathLike[str]) -> Versions:
    """Current ids and labels of every key some manifest names (the newest manifest naming a key wins), what
    each plugin was seen to read, and the manifests that could not be used."""
    v = Versions()
    for manifest in read_manifests(run_dir, v.malformed):
        for c in manifest.cells:
            key = c.get("cell_key", c["cell_id"])
            v.current[key] = c["cell_id"]
            v.labels[key] = str(c.get("label", key))
            reads_by = c.get("reads_by")
            if isinstance(reads_by, dict):
                for part, labels in reads_by.items():
                    name = c.get(part)
                    if isinstance(name, str) and isinstance(labels, list):
                        v.reads.setdefault((part, name), set()).update(str(x) for x in labels)
    return v


def plugin_dirs_of_run(run_dir: str | os.PathLike[str]) -> list[str]:
    """The plugin folders the run's invocations named, in order, once each."""
    return list(dict.fromkeys(d for m in read_manifests(run_dir) for d in m.plugin_dirs))


def current_versions(expected: Versions, found: Mapping[str, tuple[str, str]]) -> tuple[set[str], set[str]]:
    """(current ids, superseded ids) among the cell files `found` ({cell id: (cell key, finished_at)}): a key
    some manifest names is current in the id that manifest expects, any other file of it is superseded;
    a key no manifest names is current in its most recently finished file."""
    current = {cid for cid, (key, _) in found.items() if expected.current.get(key) == cid}
    newest: dict[str, tuple[float, str]] = {}
    for cid, (key, finished) in found.items():
        if key in expected.current:
            continue
        moment = instant(finished)
        if key not in newest or (moment, cid) > newest[key]:
            newest[key] = (moment, cid)
    current |= {cid for _, cid in newest.values()}
    return current, set(found) - current
