"""A cell's identity, planned and as it ran: the id a cell is filed under names what really computed it.

The plan (`CellSpec.create`) hashes the static import closures of the cell's plugins as they are on disk,
plus `reads`: the further files those plugins were seen to read in earlier cells of the run (what the
manifests recorded, `colosseum.store.Versions.reads`), digested as they are now. The worker reports what
it ran (`colosseum.compute.identity_ran`). `reconcile` compares the two:

- the code that ran is not the planned code (a file edited between the plan and the worker's start, or a
  worker restarted after the edit), or a file the plan knew changed: a mismatch; the runner retries once in
  a fresh worker and otherwise refuses the cell (no file: it is reported missing, a rerun computes it);
- the plugins read files the plan did not know: the cell is filed under the id that includes them, and a
  manifest amendment makes that id the key's current version and teaches the next plan those files.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from . import codehash
from .cells import CellSpec
from .store import Versions

PARTS = ("dataset", "method", "denoise")


def known_reads(spec: CellSpec, versions: Versions, plugin_dirs: Sequence[str]) -> tuple[dict[str, str],
                                                                                         dict[str, list[str]]]:
    """({label: digest now} of the files the cell's plugins were seen to read in this run, {part: labels})."""
    names = {"dataset": spec.dataset, "method": spec.method, "denoise": spec.denoise}
    by_part = {part: sorted(versions.reads.get((part, names[part]), ())) for part in PARTS}
    by_part = {part: labels for part, labels in by_part.items() if labels}
    reads = {}
    for label in sorted({x for labels in by_part.values() for x in labels}):
        path = codehash.resolve(label, plugin_dirs)
        reads[label] = codehash.file_digest(path) if path is not None else "absent"
    return reads, by_part


def planned(spec: CellSpec, versions: Versions, plugin_dirs: Sequence[str]) -> tuple[CellSpec, dict[str, list[str]]]:
    """The spec with the files its plugins are known to read in its identity, and who read them."""
    reads, by_part = known_reads(spec, versions, plugin_dirs)
    return (spec.with_reads(reads) if reads else spec), by_part


def reconcile(spec: CellSpec, payload: Mapping[str, Any]) -> tuple[CellSpec | None, str]:
    """(the spec to file the cell under, "") or (None, why the computed cell cannot be filed as planned)."""
    ran = payload.get("code_ran") or {}
    changed = [part for part, code in ran.items() if spec.code.get(part) not in (None, code)]
    if changed:
        return None, (f"the code of its {' and '.join(changed)} changed while the sweep ran (planned "
                      + ", ".join(f"{p} {spec.code.get(p)}" for p in changed) + "; the worker ran "
                      + ", ".join(f"{p} {ran[p]}" for p in changed) + ")")
    reads = dict(payload.get("reads") or {})
    moved = sorted(label for label, d in reads.items() if spec.reads.get(label) not in (None, d))
    if moved:
        return None, f"{', '.join(moved)} changed while the sweep ran (the plan read another version)"
    if set(reads) <= set(spec.reads):
        return spec, ""
    return spec.with_reads({**spec.reads, **reads}), ""
