"""A sweep before it runs: every job of a multirun composed, turned into cells and validated.

Hydra composes a multirun's jobs one by one as it launches them, so an unknown method or a misspelt
key would only fail when its turn comes, after hours of other cells. Here the whole sweep is expanded
up front (the same jobs Hydra's basic sweeper makes) and every job becomes a CellSpec or a problem;
the runner computes nothing unless there are no problems. The Hydra internals this needs live here
and nowhere else.
"""
from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf

from . import registry, settings
from .cells import CellSpec


@dataclass(frozen=True)
class Job:
    """One job of a sweep: its overrides and its composed config (None when it does not compose)."""

    overrides: tuple[str, ...]
    config: DictConfig | None
    error: str = ""


def spec_from_config(cfg: DictConfig) -> CellSpec:
    """The cell a composed config describes (its plugin folders are loaded first); ValueError names
    what is wrong."""
    registry.add_plugin_dirs(list(settings.plugin_dirs_of(cfg.get("plugin_dirs"))))
    parts = {}
    for group in ("dataset", "method", "denoise"):
        node = OmegaConf.to_container(cfg[group], resolve=True) if group in cfg else None
        if group == "denoise" and node is None:
            node = {"name": registry.NO_DENOISER}
        if not isinstance(node, dict) or "name" not in node:
            raise ValueError(f"config group `{group}` has no `name`; choose one with {group}=<name>")
        parts[group] = node
    dname, mname, nname = (parts[g].pop("name") for g in ("dataset", "method", "denoise"))
    return CellSpec.create(dname, parts["dataset"], mname, parts["method"], cfg.get("seed", 0),
                           denoise=nname, denoise_params=parts["denoise"], smooth_t=cfg.get("smooth_t", 0))


def is_multirun_basic(config: DictConfig) -> bool:
    """Whether the multirun uses Hydra's basic sweeper (the one whose jobs `expand` predicts)."""
    return "BasicSweeper" in str(config.hydra.sweeper.get("_target_", ""))


def _methods(*leave_out: str, _root_: Any) -> str:
    """Every registered method (plugin folders of the config included) but `leave_out`, comma-separated."""
    registry.add_plugin_dirs(list(settings.plugin_dirs_of(_root_.get("plugin_dirs"))))
    names = [m for m in registry.list_methods() if m not in leave_out]
    unknown = sorted(set(leave_out) - set(registry.list_methods()))
    if unknown:
        raise ValueError(f"colosseum.methods_except: unknown method(s) {unknown}")
    return ",".join(names)


def register_resolvers() -> None:
    """`${colosseum.methods:}` (every registered method) and `${colosseum.methods_except:a,b}` for presets:
    methods are selected by rule, so a new method file and its config join every battery by themselves."""
    if not OmegaConf.has_resolver("colosseum.methods"):
        OmegaConf.register_new_resolver("colosseum.methods", lambda _root_: _methods(_root_=_root_), use_cache=False)
        OmegaConf.register_new_resolver("colosseum.methods_except", _methods, use_cache=False)


register_resolvers()


def expand(config: DictConfig) -> list[Job]:
    """Every job a basic-sweeper multirun of `config` will run.

    Composing one job takes Hydra ~0.1 s, minutes of silence for a battery of thousands of cells, so
    jobs are composed once per distinct set of config-group choices (`dataset=..`, `method=..`) and the
    plain value overrides (`dataset.dim=3`, `seed=1`) are applied to a copy, as Hydra applies them after
    composition. A job that does not compose is returned with its error instead of a config."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser

    loader = GlobalHydra.instance().config_loader()
    parser = OverridesParser.create(config_loader=loader)
    params = [f"{k}={v}" for k, v in (config.hydra.sweeper.get("params") or {}).items()]
    overrides = parser.parse_overrides(params + list(config.hydra.overrides.task))
    jobs = [list(job) for batch in BasicSweeper.split_arguments(overrides, None) for job in batch]
    repository = getattr(loader, "repository", None)
    composed: dict[tuple[str, ...], Any] = {}
    out = []
    for job in jobs:
        try:
            parsed = parser.parse_overrides(job)
            if repository is None:  # an unknown loader: compose every job in full
                out.append(Job(tuple(job), loader.load_sweep_config(config, job)))
                continue
            groups = tuple(o.input_line for o in parsed
                           if o.package is not None or repository.group_exists(o.key_or_group))
            values = [o for o in parsed if o.input_line not in groups]
            if groups not in composed:
                try:
                    composed[groups] = loader.load_sweep_config(config, list(groups))
                except Exception as exc:  # noqa: BLE001 - reported for every job of this group
                    composed[groups] = exc
            base = composed[groups]
            if isinstance(base, Exception):
                raise base
            cfg = copy.deepcopy(base)  # struct, as Hydra's: a misspelt key raises here too
            ConfigLoaderImpl._apply_overrides_to_config(values, cfg)
            out.append(Job(tuple(job), cfg))
        except Exception as exc:  # noqa: BLE001 - every problem is listed before anything runs
            out.append(Job(tuple(job), None, _one_line(exc)))
    return out


def compose(overrides: list[str]) -> tuple[DictConfig, list[Job]]:
    """The composed config and every job of `colosseum -m <overrides>`, outside a Hydra app (as
    `colosseum-tune` needs them): Hydra's own composition of a multirun, then `expand`."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.types import RunMode

    from . import paths

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(paths.CONFIGS), version_base="1.3"):
        config = GlobalHydra.instance().hydra.compose_config("config", list(overrides), run_mode=RunMode.MULTIRUN)
        jobs = expand(config)
    GlobalHydra.instance().clear()
    return config, jobs


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}" if not isinstance(exc, ValueError) else text[0]


def validate(jobs: list[Job]) -> tuple[list[CellSpec], list[str]]:
    """The cells of a sweep, and its problems (one line each, identical problems counted once)."""
    specs: list[CellSpec] = []
    problems: Counter[str] = Counter()
    example: dict[str, tuple[str, ...]] = {}
    for job in jobs:
        error = job.error
        if not error:
            try:
                settings.from_config(job.config)
                specs.append(spec_from_config(job.config))
                continue
            except Exception as exc:  # noqa: BLE001
                error = _one_line(exc)
        problems[error] += 1
        example.setdefault(error, job.overrides)
    lines = []
    for error, count in problems.items():
        where = " ".join(example[error]) or "(the command line)"
        lines.append(f"{error}  [{count} cell{'s' if count > 1 else ''}, e.g. {where}]")
    return specs, lines


_HYDRA_BATCH_CHECK: Any = None


def skip_hydra_recomposition(skip: bool) -> None:
    """Hydra's BasicSweeper composes every job once more before launching, only to check it is legal
    (~0.2 s a job: six minutes of silence before a 2016-cell battery). `expand` has just composed and
    `validate` checked the same jobs, so for this multirun that check is switched off (and restored after)."""
    global _HYDRA_BATCH_CHECK
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    if skip and _HYDRA_BATCH_CHECK is None:
        _HYDRA_BATCH_CHECK = BasicSweeper.validate_batch_is_legal
        BasicSweeper.validate_batch_is_legal = lambda self, batch: None
    elif not skip and _HYDRA_BATCH_CHECK is not None:
        BasicSweeper.validate_batch_is_legal = _HYDRA_BATCH_CHECK
        _HYDRA_BATCH_CHECK = None
