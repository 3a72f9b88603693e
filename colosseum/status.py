"""The status of a cell: one enumeration for the runner, the tables, the scores and the report."""
from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """How a cell ended. Stored as its string value in the cell files."""

    OK = "ok"              # the method returned estimates (NaN entries are abstentions)
    ERROR = "error"        # the dataset or the method raised, returned bad output, or the worker died
    TIMEOUT = "timeout"    # the cell ran past timeout_s and was killed
    SKIPPED = "skipped"    # the method (or dataset) declined the cell with SkipCell


#: Cells that failed: a rerun with rerun=failed recomputes them; their points count as abstentions.
FAILED = frozenset({Status.ERROR, Status.TIMEOUT})
#: Cells whose points are scored (failures as abstentions); skipped cells are only counted.
SCORED = frozenset({Status.OK, Status.ERROR, Status.TIMEOUT})
