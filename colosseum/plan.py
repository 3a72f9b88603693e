"""`dry_run=true`: the plan of a sweep, computed from the cell files, with nothing computed.

stdout gets one JSON object per cell: cell_id, cell_key, dataset, method, seed, the label, `state`
(`todo`: no file; `done`: a file whose cell did not fail; `failed`: a file with status error or
timeout), and `will_run` (what the `rerun` setting makes of that state). stderr gets a one-line summary:
how many cells would be computed and, where earlier runs of the same cell key (any code version) left
a runtime, the CPU time they took, which is what the computation is expected to cost.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from . import store
from .cells import CellSpec
from .settings import Settings
from .status import FAILED


@dataclass(frozen=True)
class PlannedCell:
    spec: CellSpec
    state: str
    will_run: bool

    def row(self) -> dict:
        return {**self.spec.manifest_entry(), "state": self.state, "will_run": self.will_run}


def earlier_seconds(run_dir) -> dict[str, float]:
    """cell_key -> seconds (draw + method) of its most recent run that recorded them, any version."""
    out: dict[str, tuple[float, float]] = {}
    for f in store.cell_files(run_dir):
        try:
            row = store.read_table(f, ["cell_key", "dataset_s", "runtime_s", "finished_at"]).slice(0, 1).to_pylist()[0]
        except (store.CorruptCell, FileNotFoundError, KeyError):
            continue
        parts = [v for v in (row["dataset_s"], row["runtime_s"]) if v is not None and v == v]
        if parts and (row["cell_key"] not in out or store.instant(row["finished_at"]) > out[row["cell_key"]][0]):
            out[row["cell_key"]] = (store.instant(row["finished_at"]), float(sum(parts)))
    return {k: s for k, (_, s) in out.items()}


def plan(specs: Sequence[CellSpec], settings: Settings) -> list[PlannedCell]:
    out = []
    for spec in specs:
        outcome = store.cell_outcome(settings.run_dir, spec.cell_id)
        state = "todo" if outcome is None else ("failed" if outcome[0] in FAILED else "done")
        out.append(PlannedCell(spec, state, settings.needs_run(None if outcome is None else outcome[0])))
    return out


def print_plan(specs: Sequence[CellSpec], settings: Settings, out=None, err=None) -> list[PlannedCell]:
    out, err = out or sys.stdout, err or sys.stderr
    cells = plan(specs, settings)
    try:
        for c in cells:
            print(json.dumps(c.row()), file=out)
        out.flush()
    except BrokenPipeError:  # the reader (e.g. `| head`) has seen enough
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
    todo = [c for c in cells if c.will_run]
    known = earlier_seconds(settings.run_dir) if todo else {}
    timed = [known[c.spec.key] for c in todo if c.spec.key in known]
    states = {s: sum(c.state == s for c in cells) for s in ("todo", "done", "failed")}
    cost = (f"; earlier runs of {len(timed)} of them took {_duration(sum(timed))} of CPU" if timed
            else "; no earlier runtimes of these cells to estimate their cost")
    print(f"colosseum: dry run of {len(cells)} cells → {settings.run_dir}: {len(todo)} to compute "
          f"({states['todo']} todo, {states['done']} done, {states['failed']} failed, rerun={settings.rerun})"
          f"{cost if todo else ''}; nothing was computed", file=err)
    return cells


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
