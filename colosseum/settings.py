"""The run settings of `configs/config.yaml` (everything but the dataset and method), typed and checked.

They are read from a composed Hydra config once, into a frozen dataclass, before any cell runs: a
misspelt choice (`rerun=fail`), a timeout that is not a number or a `run_name` that is a path is one
line naming the setting, what it expects and what it got.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from .params import ParamError, Range, coerce_seed, param_type

RERUN_MODES = ("none", "failed", "all")
ISOLATION_MODES = ("subprocess", "inline")
#: A run name is a folder name under results/: letters, digits and . _ - (no separators, not . or ..).
NAME = re.compile(r"^(?!\.{1,2}$)[A-Za-z0-9._-]+$")

#: Bounds that a limit must respect to mean what it says: a time limit past 30 days overflows the waits that
#: enforce it; a memory limit below half a GB cannot start a worker (Python, NumPy, JAX) and one past 64 TB is
#: no limit the kernel can hold.
MAX_TIMEOUT_S = 30 * 86400.0
MEMORY_GB = Range(ge=0.5, le=65536)

_TYPES = {
    "rerun": param_type(Literal["none", "failed", "all"], "none"),
    "isolation": param_type(Literal["subprocess", "inline"], "subprocess"),
    "timeout_s": param_type(Annotated[float, Range(gt=0, le=MAX_TIMEOUT_S)], 600.0),
    "memory_gb": param_type(Annotated[float, MEMORY_GB] | None, None),
    "threads_per_cell": param_type(Annotated[int, Range(ge=1)] | None, None),
    "dry_run": param_type(bool, False),
}


@dataclass(frozen=True)
class Settings:
    """One invocation's settings (the same for every cell of a sweep except `seed`)."""

    run_dir: Path
    seed: int = 0
    rerun: str = "none"
    isolation: str = "subprocess"
    timeout_s: float = 600.0
    memory_gb: float | None = None
    threads_per_cell: int | None = None
    plugin_dirs: tuple[str, ...] = ()
    dry_run: bool = False
    #: cells that run at once on this machine (the joblib launcher's n_jobs), for the default memory limit
    parallel: int = 1

    @property
    def memory_limit_gb(self) -> float:
        """The memory limit of one cell's worker: `memory_gb`, or 80 % of this machine's memory shared
        by the cells that run at once."""
        if self.memory_gb is not None:
            return self.memory_gb
        return round(0.8 * physical_memory_gb() / max(1, self.parallel), 2)

    def needs_run(self, old_status: str | None) -> bool:
        """Whether a cell whose file holds `old_status` (None: no readable file) is computed again."""
        from .status import FAILED

        if old_status is None or self.rerun == "all":
            return True
        return self.rerun == "failed" and old_status in FAILED


def physical_memory_gb() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return 8.0


def parallel_cells(cfg: Any) -> int:
    """How many cells the configured launcher runs at once on one machine (1 unless joblib's n_jobs says more)."""
    launcher = None
    try:
        launcher = cfg.hydra.launcher if "hydra" in cfg else None
    except Exception:  # noqa: BLE001 - a config without a hydra node
        launcher = None
    if launcher is None:
        try:
            from hydra.core.hydra_config import HydraConfig

            launcher = HydraConfig.get().launcher if HydraConfig.initialized() else None
        except Exception:  # noqa: BLE001
            launcher = None
    target = str(launcher.get("_target_", "")) if launcher is not None else ""
    n = launcher.get("n_jobs") if ("joblib" in target.lower() or "CellLauncher" in target) else None
    try:
        return max(1, int(n)) if n is not None and int(n) > 0 else (os.cpu_count() or 1) if n == -1 else 1
    except (TypeError, ValueError):
        return 1


def check_run_name(value: Any) -> str:
    if not isinstance(value, str) or not NAME.match(value):
        raise ParamError(f"setting 'run_name' expects a folder name (letters, digits, '.', '_', '-'; no path "
                         f"separators: choose a path with run_dir=...), got {value!r}")
    return value


def plugin_dirs_of(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, os.PathLike)):
        return (str(value),)
    try:
        return tuple(str(v) for v in value)
    except TypeError:
        raise ParamError(f"setting 'plugin_dirs' expects a list of folders, got {value!r}") from None


def _changes_directory(cfg: Any) -> bool:
    try:
        return bool(cfg.hydra.job.chdir) if "hydra" in cfg else False
    except Exception:  # noqa: BLE001 - a config without that node
        return False


def from_config(cfg: Any) -> Settings:
    """The Settings of a composed config (a DictConfig or a mapping); ParamError names a bad setting."""
    get = cfg.get
    check_run_name(get("run_name", "main"))
    values = {}
    for key, kind in _TYPES.items():
        if key in cfg:
            values[key] = kind.coerce(get(key), f"setting {key!r}")
    run_dir = get("run_dir")
    if not isinstance(run_dir, (str, os.PathLike)) or not str(run_dir):
        raise ParamError(f"setting 'run_dir' expects a path, got {run_dir!r}")
    if _changes_directory(cfg) and not Path(str(run_dir)).expanduser().is_absolute():
        raise ParamError(f"hydra.job.chdir=true moves every job into its log folder, where the relative run_dir "
                         f"{str(run_dir)!r} would put its cells: give an absolute run_dir=... (or leave chdir false)")
    return Settings(run_dir=Path(str(run_dir)).expanduser().absolute(), seed=coerce_seed(get("seed", 0), "setting 'seed'"),
                    plugin_dirs=plugin_dirs_of(get("plugin_dirs")), parallel=parallel_cells(cfg), **values)
