"""`hydra/launcher=ray`: one Ray task per job, on an existing cluster or a local Ray instance.

Written for the Colosseum instead of taking hydra-ray-launcher 1.2.2, which (a) always passes an
`object_store_memory` to `ray.init`, which Ray 2.x refuses when it connects to a running cluster
("When connecting to an existing cluster, object_store_memory must not be provided"), and (b) pins
cloudpickle < 3, which breaks the joblib launcher's environment (`pip check`). Here `ray.init` gets
exactly `hydra.launcher.ray.init` (address, and anything else Ray accepts), jobs travel with Ray's own
serialiser, and each job is Hydra's `run_job` in a Ray worker: the cell still runs in its own worker
process there (colosseum.isolation), and its file lands in the shared run_dir.

    colosseum -m ... hydra/launcher=ray hydra.launcher.ray.init.address=HOST:PORT

Every node must import colosseum from the same checkout and see the same run_dir.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, configure_log, run_job, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict


def _run_remote(hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig,
                singleton_state: dict[Any, Any]) -> JobReturn:  # runs in a Ray worker
    setup_globals()
    Singleton.set_state(singleton_state)
    return run_job(hydra_context=hydra_context, task_function=task_function, config=config,
                   job_dir_key="hydra.sweep.dir", job_subdir_key="hydra.sweep.subdir")


class RayLauncher(Launcher):
    def __init__(self, ray: DictConfig | dict | None = None) -> None:
        self.ray_cfg = ray or {}
        self.config: DictConfig | None = None
        self.task_function: TaskFunction | None = None
        self.hydra_context: HydraContext | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config, self.hydra_context, self.task_function = config, hydra_context, task_function

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        import ray

        assert self.config is not None and self.hydra_context is not None and self.task_function is not None
        setup_globals()
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        cfg = OmegaConf.to_container(OmegaConf.create(self.ray_cfg), resolve=True) if self.ray_cfg else {}
        init = {k: v for k, v in (cfg.get("init") or {}).items() if v is not None}
        if not ray.is_initialized():
            ray.init(**init)
        remote = ray.remote(_run_remote).options(**{k: v for k, v in (cfg.get("remote") or {}).items()
                                                    if v is not None})
        refs = []
        for i, overrides in enumerate(job_overrides):
            idx = initial_job_idx + i
            sweep_config = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
            with open_dict(sweep_config):
                sweep_config.hydra.job.id = f"ray_job_{idx}"
                sweep_config.hydra.job.num = idx
            refs.append(remote.remote(self.hydra_context, self.task_function, sweep_config, Singleton.get_state()))
        return ray.get(refs)
