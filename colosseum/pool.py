"""Cells on this machine, `n_jobs` at a time, each in a cell worker of its own (`colosseum.isolation`).

One thread per worker hands it cells (the threads only wait on sockets). The cells of one dataset draw go
to the same worker in a row, so the draw and its denoised clouds are computed once and the worker's
compiled JAX functions are reused. Used by the `cells` Hydra launcher and by `colosseum-tune`.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from .cells import CellSpec
from .settings import Settings


def run_cells(cells: Sequence[tuple[CellSpec, Settings]], n_jobs: int) -> list[str | BaseException]:
    """Compute (or find done) every cell; returns each cell's outcome (`runner.run_spec`'s, or the exception
    that ended it). Ctrl-C or SIGTERM ends every worker, and the cells they run, at once."""
    from . import isolation, runner

    groups: OrderedDict[str, list[int]] = OrderedDict()
    for i, (spec, _) in enumerate(cells):
        groups.setdefault(spec.draw_key, []).append(i)
    queue = list(groups.values())
    lock = threading.Lock()
    outcomes: list[str | BaseException] = [RuntimeError("not run")] * len(cells)
    workers: list[isolation.CellWorker] = []
    runner.STOPPING.clear()

    def serve() -> None:
        opts = cells[0][1]
        worker = isolation.CellWorker(list(opts.plugin_dirs), opts.threads_per_cell, opts.memory_limit_gb)
        with lock:
            workers.append(worker)
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    group = queue.pop(0)
                for i in group:
                    try:
                        outcomes[i] = runner.run_spec(cells[i][0], cells[i][1], worker)
                    except BaseException as exc:  # noqa: BLE001 - the caller reports it as this cell's failure
                        outcomes[i] = exc
        finally:
            worker.close()

    threads = [threading.Thread(target=serve, name=f"colosseum-cells-{k}", daemon=True)
               for k in range(min(max(1, n_jobs), len(queue)))]
    try:
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.5)
    except BaseException:
        runner.STOPPING.set()  # before the workers end: their cells are then not filed as errors
        with lock:
            queue.clear()
            for w in workers:
                w.kill()
        raise
    return outcomes
