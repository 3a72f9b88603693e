"""`hydra/launcher=cells`: the cells of a sweep on this machine, `n_jobs` at a time, without a process pool.

The launching process keeps `n_jobs` cell workers (colosseum.isolation: spawned interpreters with their
time and memory limits) and one thread per worker that hands it cells; the threads only wait on sockets.
Compared with the joblib launcher: nothing is composed again (the cells are the ones the sweep validated
before it started), the cells of one dataset draw go to the same worker in a row, so the draw and its
denoised clouds are computed once and the worker's compiled JAX functions are reused, and progress is
counted as cells finish, not from their files.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


class CellLauncher(Launcher):
    def __init__(self, n_jobs: int = 2) -> None:
        self.n_jobs = max(1, int(n_jobs))
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.task_function: TaskFunction | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config, self.hydra_context, self.task_function = config, hydra_context, task_function

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        from colosseum import isolation, runner, settings, sweep

        assert self.config is not None and self.hydra_context is not None
        jobs = []
        for overrides in job_overrides:
            known = runner.planned(overrides)
            if known is None:  # not validated by the callback (a sweep started some other way): compose it
                cfg = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
                known = (cfg, runner.plan_spec(sweep.spec_from_config(cfg), settings.from_config(cfg)))
            jobs.append((list(overrides), known[0], known[1], settings.from_config(known[0])))
        groups: OrderedDict[str, list[int]] = OrderedDict()
        for i, (_, _, spec, _) in enumerate(jobs):
            groups.setdefault(spec.draw_key, []).append(i)
        queue = list(groups.values())
        lock = threading.Lock()
        statuses: list = [None] * len(jobs)
        workers: list[isolation.CellWorker] = []

        def serve() -> None:
            opts = jobs[0][3]
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
                            statuses[i] = runner.run_spec(jobs[i][2], jobs[i][3], worker)
                        except BaseException as exc:  # noqa: BLE001 - returned to Hydra as the job's failure
                            statuses[i] = exc
            finally:
                worker.close()

        threads = [threading.Thread(target=serve, name=f"colosseum-cells-{k}", daemon=True)
                   for k in range(min(self.n_jobs, len(queue)))]
        try:
            for t in threads:
                t.start()
            for t in threads:
                while t.is_alive():
                    t.join(0.5)
        except BaseException:  # Ctrl-C or SIGTERM: end every worker (and the cells they run) now
            with lock:
                queue.clear()
                for w in workers:
                    w.kill()
            raise
        out = []
        for (overrides, cfg, _, _), status in zip(jobs, statuses):
            ret = JobReturn(overrides=overrides, cfg=cfg)
            ret.status = JobStatus.FAILED if isinstance(status, BaseException) else JobStatus.COMPLETED
            ret.return_value = status
            out.append(ret)
        return out
