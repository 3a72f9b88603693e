"""Run cells in a spawned worker process so that a hung cell can be killed at its timeout.

The worker is started with the `spawn` method (never fork after JAX is initialised) and is
reused across cells, so JAX is imported once per worker, not once per cell. A timeout or a
crash kills it; the next cell starts a fresh one.
"""
from __future__ import annotations

import atexit
import multiprocessing as mp
import time
from typing import Any

from .cells import CellSpec, compute_cell, failure


def _serve(conn, plugin_dirs: list[str]) -> None:  # runs in the worker
    from . import registry

    registry.add_plugin_dirs(plugin_dirs)
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        spec = CellSpec.from_dict(job)
        payload = compute_cell(spec, report=lambda kind, info: conn.send((kind, info)))
        conn.send(("done", payload))


class CellWorker:
    """One spawned worker process; `run(spec, timeout_s)` returns the cell's payload."""

    def __init__(self, plugin_dirs: list[str] | None = None) -> None:
        self.plugin_dirs = [str(p) for p in plugin_dirs or []]
        self._proc: Any = None
        self._conn: Any = None

    def _start(self) -> None:
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, self.plugin_dirs), daemon=False,
                                 name="colosseum-cell")
        self._proc.start()
        child.close()
        self._conn = parent
        # registered after multiprocessing's own exit hook, so it runs first (atexit is LIFO)
        atexit.register(self.close)

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.join(5)
        self._proc = self._conn = None

    def run(self, spec: CellSpec, timeout_s: float) -> dict[str, Any]:
        if self._proc is None or not self._proc.is_alive():
            self._start()
        self._conn.send(spec.to_dict())
        deadline = time.monotonic() + timeout_s
        partial: dict[str, Any] = {}
        while True:
            remaining = deadline - time.monotonic()
            try:
                ready = remaining > 0 and self._conn.poll(remaining)
                if not ready:
                    self._kill()
                    return {**partial, **failure("timeout", message=f"cell exceeded timeout_s={timeout_s:g}",
                                                 phase="method" if partial else "dataset")}
                kind, info = self._conn.recv()
            except (EOFError, ConnectionError, OSError):
                code = self._proc.exitcode if self._proc is not None else None
                self._kill()
                return {**partial, **failure("error", message=f"worker process died (exit code {code})",
                                             phase="method" if partial else "dataset")}
            if kind == "sample":
                partial = info
            else:
                return info

    def close(self) -> None:
        if self._proc is not None and self._proc.is_alive():
            try:
                self._conn.send(None)
                self._proc.join(5)
            except (BrokenPipeError, OSError):
                pass
        self._kill()
