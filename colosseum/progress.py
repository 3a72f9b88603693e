"""What one invocation has done so far, shown as it happens: counts, a progress bar, the time left.

Cells run by the basic launcher report here directly; cells run in other processes (joblib, submitit,
Ray) are counted from their files as they appear, by a watcher thread.
"""
from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from . import store
from .status import FAILED, Status

console = Console(stderr=True, width=None if sys.stderr.isatty() else 200)
#: How a cell of the sweep ended besides a Status: found done on disk, or computed and refused because the
#: code that ran was not the code planned (nothing filed; `colosseum.identity`).
CACHED = "cached"
REFUSED = "refused"


@dataclass
class Session:
    """The launching process's view of one invocation."""

    run_dir: Path
    total: int
    cell_ids: list[str] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    #: cells found done on disk whose stored status is a failure (they fail the sweep too)
    cached_failed: int = 0
    progress: Progress | None = None
    task: Any = None
    started: float = field(default_factory=time.monotonic)
    #: cell_id -> (label, mtime of its file when the sweep began, key) for cells run in other processes
    watch: dict[str, tuple[str, float, str]] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    watcher: threading.Thread | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start_bar(self) -> None:
        if self.total > 1:
            self.progress = Progress(
                TextColumn("cells"), BarColumn(), MofNCompleteColumn(),
                TextColumn("failed {task.fields[failed]}"), TimeElapsedColumn(), TextColumn("eta"),
                TimeRemainingColumn(), console=console, transient=True)
            self.task = self.progress.add_task("cells", total=self.total, failed=0)
            self.progress.start()

    def advance(self, cell_id: str, label: str, status: str, seconds: float, old_status: str | None = None) -> None:
        """Count one cell: `status` is how it ended now, or "cached" with the status stored on disk."""
        with self.lock:
            self.cell_ids.append(cell_id)
            self.counts[status] += 1
            if status == CACHED and old_status in FAILED:
                self.cached_failed += 1
            done = sum(self.counts.values())
            style = {Status.OK: "green", CACHED: "dim", Status.SKIPPED: "yellow"}.get(status, "bold red")
            shown = status if status != CACHED or old_status in (None, Status.OK) else f"{CACHED}/{old_status}"
            line = (f"[{done:>{len(str(self.total))}}/{self.total}] [{style}]{shown:<7}[/] {escape(label)}  "
                    f"({seconds:.1f} s)")
            if self.progress is not None:
                self.progress.console.print(line, highlight=False)
                self.progress.update(self.task, advance=1, failed=self.failed)
            else:
                console.print(line, highlight=False)

    @property
    def failed(self) -> int:
        """Failed cells of the requested sweep: computed now or found failed on disk, refused, or without a
        file at the end (a cell run elsewhere that was refused or lost)."""
        return sum(self.counts[s] for s in FAILED) + self.cached_failed + self.counts[REFUSED] + self.unfinished

    @property
    def unfinished(self) -> int:
        return len(self.watch) if self.watcher is not None else 0

    # ------------------------------------------------------------------ cells run elsewhere

    def watch_files(self, pending: dict[str, tuple[str, str]]) -> None:
        """Count the cells `pending` (cell_id -> (label, key)) as their files are (re)written."""
        for cid, (label, key) in pending.items():
            path = store.cell_path(self.run_dir, cid)
            self.watch[cid] = (label, path.stat().st_mtime_ns if path.exists() else -1, key)
        self.watcher = threading.Thread(target=self._watch, name="colosseum-progress", daemon=True)
        self.watcher.start()

    def poll(self, amended: dict[str, str] | None = None) -> None:
        """Count the watched cells whose files appeared (`amended`: {key: id} of cells filed under another id
        than planned, because they read files the plan did not know)."""
        for cid, (label, mtime, key) in list(self.watch.items()):
            filed = (amended or {}).get(key, cid)
            path = store.cell_path(self.run_dir, filed)
            if path.exists() and (filed != cid or path.stat().st_mtime_ns != mtime):
                done = store.cell_outcome(self.run_dir, filed)
                if done is None:
                    continue
                del self.watch[cid]
                self.advance(filed, label, *done)

    def _watch(self) -> None:
        while not self.stop.wait(1.0):
            self.poll()

    def close(self) -> None:
        if self.watcher is not None:
            self.stop.set()
            self.watcher.join()
            self.poll(store.expected_versions(self.run_dir).current)
        if self.progress is not None:
            self.progress.stop()

    def summary(self) -> str:
        c = self.counts
        cached = f"{c[CACHED]} already done" + (f" ({self.cached_failed} of them failed)" if self.cached_failed else "")
        refused = f", {c[REFUSED]} refused" if c[REFUSED] else ""
        lost = f", {self.unfinished} without a file" if self.unfinished else ""
        return (f"colosseum: {sum(c.values())} cells: {c['ok']} ok, {cached}, {c['skipped']} skipped, "
                f"{c['error']} error, {c['timeout']} timeout{refused}{lost} in "
                f"{time.monotonic() - self.started:.1f} s → {self.run_dir}")
