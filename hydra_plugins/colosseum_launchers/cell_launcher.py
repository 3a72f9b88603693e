"""`hydra/launcher=cells`: the cells of a sweep on this machine, `n_jobs` at a time, without a process pool.

The launching process keeps `n_jobs` cell workers (colosseum.isolation: spawned interpreters with their
time and memory limits) and one thread per worker that hands it cells (`colosseum.pool`). Compared with the
joblib launcher: nothing is composed again (the cells are the ones the sweep validated before it started),
the cells of one dataset draw go to the same worker in a row, so the draw and its denoised clouds are
computed once and the worker's compiled JAX functions are reused, and progress is counted as cells
finish, not from their files.
"""
from __future__ import annotations

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
        from colosseum import pool, runner, settings, sweep

        assert self.config is not None and self.hydra_context is not None
        jobs = []
        for overrides in job_overrides:
            known = runner.planned(overrides)
            if known is None:  # not validated by the callback (a sweep started some other way): compose it
                cfg = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
                known = (cfg, runner.plan_spec(sweep.spec_from_config(cfg), settings.from_config(cfg)))
            jobs.append((list(overrides), known[0], known[1], settings.from_config(known[0])))
        outcomes = pool.run_cells([(spec, opts) for _, _, spec, opts in jobs], self.n_jobs)
        out = []
        for (overrides, cfg, _, _), status in zip(jobs, outcomes):
            ret = JobReturn(overrides=overrides, cfg=cfg)
            ret.status = JobStatus.FAILED if isinstance(status, BaseException) else JobStatus.COMPLETED
            ret.return_value = status
            out.append(ret)
        return out
