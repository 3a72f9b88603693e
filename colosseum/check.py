"""`colosseum-check RUN_DIR [--fix]`: is a run complete and clean, and if not, what is wrong with it.

Every cell file is verified: readable, holding the columns of a cell, its `cell_id` column equal to its
file name, its key the one the manifests give that id, and that id equal to the one its stored spec
(configuration, code hashes and the files it read) gives. Listed: missing cells (current versions some
manifest expects, without a file), failed cells (error, timeout), corrupt files (unreadable or
inconsistent), malformed manifests (skipped by every reader), superseded versions (kept on purpose), stale
cells (computed by code, or with a file they read, that has changed since) and stray temporary files of
interrupted writes. Which version of a cell is current is decided as every reader decides it
(`colosseum.store.current_versions`). `--fix` moves corrupt cell files, malformed manifests and stray
temporary files into RUN_DIR/corrupt/ (it never deletes anything), so that rerunning the sweep recomputes
those cells. Exit status 0 only when the run is complete and clean (nothing missing, failed or corrupt, no
malformed manifest, no stray files), else 1; 2 when RUN_DIR is not a run.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import store
from .cells import CellSpec
from .status import FAILED

REQUIRED = ("cell_id", "cell_key", "status", "point", "true_curvature", "estimate", "spec")


@dataclass
class Findings:
    files: int = 0
    corrupt: dict[str, str] = field(default_factory=dict)     # file name -> reason
    missing: list[str] = field(default_factory=list)          # labels
    failed: list[str] = field(default_factory=list)           # cell ids
    superseded: list[str] = field(default_factory=list)       # cell ids
    stale: list[str] = field(default_factory=list)            # cell ids
    temporary: list[str] = field(default_factory=list)        # file names
    malformed: dict[str, str] = field(default_factory=dict)   # manifest file name -> what is wrong

    @property
    def clean(self) -> bool:
        return not (self.corrupt or self.missing or self.failed or self.temporary or self.malformed)


def _verify(path: Path, key: str | None) -> tuple[str | None, dict | None]:
    """(problem or None, first row) of one cell file (`key`: the key the manifests give its id)."""
    try:
        table = store.read_table(path, key=key)
    except store.CorruptCell as exc:
        return str(exc).split(": ", 1)[-1], None
    absent = [c for c in REQUIRED if c not in table.column_names]
    if absent:
        return f"not a cell file of this version: no column(s) {absent}", None
    row = table.slice(0, 1).to_pylist()[0]
    if set(table.column("cell_id").to_pylist()) != {path.stem}:
        return f"its cell_id column says {sorted(set(table.column('cell_id').to_pylist()))}, not {path.stem}", row
    try:
        spec = CellSpec.from_dict(json.loads(row["spec"]))
    except (TypeError, ValueError, KeyError) as exc:
        return f"its spec column does not parse ({type(exc).__name__})", row
    if spec.cell_id != path.stem or spec.key != row["cell_key"]:
        return f"its content hashes to cell {spec.cell_id} (key {spec.key}), not {path.stem} (key {row['cell_key']})", row
    return None, row


def check(run_dir: str | Path) -> Findings:
    run = Path(run_dir)
    out = Findings()
    expected = store.expected_versions(run)
    out.malformed = dict(expected.malformed)
    key_of = expected.key_of()
    rows = {}
    for path in store.cell_files(run):
        out.files += 1
        problem, row = _verify(path, key_of.get(path.stem))
        if problem is not None:
            out.corrupt[path.name] = problem
        else:
            rows[path.stem] = row
    current, superseded = store.current_versions(
        expected, {cid: (str(r["cell_key"]), str(r["finished_at"])) for cid, r in rows.items()})
    out.missing = [expected.labels[k] for k, cid in expected.current.items() if cid not in rows]
    out.failed = sorted(cid for cid in current if rows[cid]["status"] in FAILED)
    out.superseded = sorted(superseded)
    out.temporary = [p.name for p in store.temporary_files(run)]
    if current:
        import pandas as pd

        from .results import stale_cells

        frame = pd.DataFrame([{**rows[c], "cell_id": c} for c in current])
        out.stale = sorted(stale_cells(frame, store.plugin_dirs_of_run(run)))
    return out


def fix(run_dir: str | Path, findings: Findings) -> list[Path]:
    """Move corrupt cell files, malformed manifests and stray temporary files into RUN_DIR/corrupt/ (never
    deleting one)."""
    run = Path(run_dir)
    aside = run / store.QUARANTINE
    moved = []
    for folder, name in [*((store.CELLS, n) for n in (*findings.corrupt, *findings.temporary)),
                         *((store.MANIFESTS, n) for n in findings.malformed)]:
        src = run / folder / name
        if not src.exists():
            continue
        aside.mkdir(exist_ok=True)
        dst = aside / name.lstrip(".")
        n = 1
        while dst.exists():
            dst = aside / f"{name.lstrip('.')}.{n}"
            n += 1
        shutil.move(str(src), dst)
        moved.append(dst)
    return moved


def _show(title: str, items, limit: int) -> None:
    items = list(items)
    if not items:
        return
    print(f"{title}: {len(items)}")
    for item in items[:limit]:
        print(f"  {item}")
    if len(items) > limit:
        print(f"  ... and {len(items) - limit} more (--all lists every one)")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="colosseum-check", description=__doc__.splitlines()[0].split(": ", 1)[1])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--fix", action="store_true", help="move corrupt and temporary files aside (RUN_DIR/corrupt/)")
    ap.add_argument("--all", action="store_true", help="list every entry, not the first 20 of each kind")
    args = ap.parse_args(argv)
    if not (args.run_dir / store.CELLS).is_dir() and not (args.run_dir / store.MANIFESTS).is_dir():
        ap.error(f"{args.run_dir} is not a run directory (no {store.CELLS}/ or {store.MANIFESTS}/ folder)")
    found = check(args.run_dir)
    limit = 10**9 if args.all else 20
    print(f"{args.run_dir}: {found.files} cell files")
    _show("corrupt (unreadable or inconsistent; --fix moves them aside, a rerun recomputes them)",
          [f"{k}: {v}" for k, v in found.corrupt.items()], limit)
    _show("malformed manifests (skipped by every reader; --fix moves them aside)",
          [f"{k}: {v}" for k, v in found.malformed.items()], limit)
    _show("missing (expected by the newest manifest, no file)", found.missing, limit)
    _show("failed (status error or timeout; rerun=failed recomputes them)", found.failed, limit)
    _show("stray temporary files of interrupted writes", found.temporary, limit)
    _show("stale (computed by code that has changed since; a rerun recomputes them)", found.stale, limit)
    _show("superseded versions (older code; kept, read with versions='all')", found.superseded, limit)
    if args.fix:
        for dst in fix(args.run_dir, found):
            print(f"moved aside: {dst}")
        found = check(args.run_dir)
    print(f"colosseum-check: {'complete and clean' if found.clean else 'NOT complete and clean'}"
          f" ({len(found.missing)} missing, {len(found.failed)} failed, {len(found.corrupt)} corrupt, "
          f"{len(found.malformed)} malformed manifest(s), "
          f"{len(found.temporary)} temporary, {len(found.stale)} stale, {len(found.superseded)} superseded)")
    sys.exit(0 if found.clean else 1)
