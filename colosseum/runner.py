"""The Hydra app: one job = one cell; a callback adds the sweep-level work.

The callback expands the sweep up front (so the manifest lists every expected cell and the
progress bar knows the total), counts outcomes, rewrites `scores.csv` and prints a leaderboard
and a one-line summary at the end. `colosseum.cli.main` turns failures into a non-zero exit.
"""
from __future__ import annotations

import copy
import signal
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf
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

from . import registry, results
from .cells import CellSpec, compute_cell, failure
from .provenance import provenance

RERUN_MODES = ("none", "failed", "all")
console = Console(stderr=True, width=None if sys.stderr.isatty() else 200)


# ----------------------------------------------------------------------------- config -> cell

def run_dir_of(cfg: DictConfig) -> Path:
    return Path(str(cfg.run_dir)).expanduser().absolute()


def _plugin_dirs(cfg: DictConfig) -> list[str]:
    dirs = cfg.get("plugin_dirs") or []
    return [str(dirs)] if isinstance(dirs, str) else [str(d) for d in dirs]


def spec_from_config(cfg: DictConfig) -> CellSpec:
    """The cell a composed config describes (plugin folders of the config are loaded first)."""
    registry.add_plugin_dirs(_plugin_dirs(cfg))
    dataset = OmegaConf.to_container(cfg.dataset, resolve=True)
    method = OmegaConf.to_container(cfg.method, resolve=True)
    assert isinstance(dataset, dict) and isinstance(method, dict)
    for group, node in (("dataset", dataset), ("method", method)):
        if "name" not in node:
            raise ValueError(f"config group `{group}` has no `name`; choose one with {group}=<name>")
    dname, mname = dataset.pop("name"), method.pop("name")
    return CellSpec.create(dname, dataset, mname, method, int(cfg.seed))


# ----------------------------------------------------------------------------- sweep state

@dataclass
class Session:
    """What one invocation has done so far (lives in the launching process)."""

    run_dir: Path
    total: int | None
    cell_ids: list[str] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    progress: Progress | None = None
    task: Any = None
    started: float = field(default_factory=time.monotonic)
    #: cells run in other processes (joblib, submitit, ray): progress comes from watching cell files
    watch: dict[str, tuple[str, float]] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    watcher: threading.Thread | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def poll(self) -> None:
        """Count cells whose files were (re)written since the sweep began (parallel launchers)."""
        with self.lock:
            for cid, (label, mtime) in list(self.watch.items()):
                path = results.cell_path(self.run_dir, cid)
                if path.exists() and path.stat().st_mtime_ns != mtime:
                    done = results.cell_outcome(self.run_dir, cid)
                    if done is None:
                        continue
                    del self.watch[cid]
                    self.cell_ids.append(cid)
                    self.advance(label, *done)

    def _watch(self) -> None:
        while not self.stop.wait(1.0):
            self.poll()

    def advance(self, label: str, status: str, seconds: float) -> None:
        self.counts[status] += 1
        done = sum(self.counts.values())
        total = self.total or done
        style = {"ok": "green", "cached": "dim", "skipped": "yellow"}.get(status, "bold red")
        line = (f"[{done:>{len(str(total))}}/{total}] [{style}]{status:<7}[/] {escape(label)}  "
                f"({seconds:.1f} s)")
        if self.progress is not None:
            self.progress.console.print(line, highlight=False)
            failed = self.counts["error"] + self.counts["timeout"]
            self.progress.update(self.task, advance=1, failed=failed)
        else:
            console.print(line, highlight=False)

    @property
    def failed(self) -> int:
        return self.counts["error"] + self.counts["timeout"]


_SESSION: Session | None = None
_LAST: Session | None = None
_WORKER = None


def last_session() -> Session | None:
    """The session of the most recent invocation in this process (for the CLI's exit status)."""
    return _LAST


def _worker(plugin_dirs: list[str], threads: int | None):
    global _WORKER
    from .isolation import CellWorker

    if _WORKER is None or (_WORKER.plugin_dirs, _WORKER.threads) != ([str(p) for p in plugin_dirs], threads):
        if _WORKER is not None:
            _WORKER.close()
        _WORKER = CellWorker(plugin_dirs, threads)
    return _WORKER


def shutdown() -> None:
    """Stop the cell worker of this process, if any."""
    global _WORKER
    if _WORKER is not None:
        _WORKER.close()
        _WORKER = None


# ----------------------------------------------------------------------------- one cell

def run_cell(cfg: DictConfig) -> str:
    """Compute (or skip) the cell of one composed config; returns its status ("cached" if skipped)."""
    rerun = str(cfg.get("rerun", "none"))
    if rerun not in RERUN_MODES:
        raise ValueError(f"rerun must be one of {RERUN_MODES}, got {rerun!r}")
    run_dir = run_dir_of(cfg)
    t0 = time.monotonic()
    started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    try:
        spec = spec_from_config(cfg)
    except Exception as exc:  # noqa: BLE001 - an unknown name is this cell's error, not the sweep's
        console.print(f"[bold red]config error[/]: {escape(str(exc))}", highlight=False)
        if _SESSION is not None:
            _SESSION.advance("(unresolvable config)", "error", 0.0)
        return "error"
    old = results.cell_status(run_dir, spec.cell_id)
    if old is not None and (rerun == "none" or (rerun == "failed" and old not in results.FAILED)):
        _note(spec, "cached", t0)
        return "cached"
    mode = str(cfg.get("isolation", "subprocess"))
    if mode == "subprocess":
        threads = cfg.get("threads_per_cell")
        payload = _worker(_plugin_dirs(cfg), int(threads) if threads else None).run(spec, float(cfg.timeout_s))
    elif mode == "inline":
        payload = compute_cell(spec)
    else:
        payload = failure("error", message=f"isolation must be 'subprocess' or 'inline', got {mode!r}")
    frame = results.cell_frame(spec, payload, run_id=run_dir.name, started_at=started_at,
                               provenance=provenance())
    results.write_cell(run_dir, frame)
    if payload["status"] != "ok" and _SESSION is None:
        console.print(f"[red]{payload['status']}[/] {escape(spec.label())}: {escape(payload.get('error', ''))}")
    _note(spec, payload["status"], t0, payload.get("error", ""))
    return str(payload["status"])


def _note(spec: CellSpec, status: str, t0: float, error: str = "") -> None:
    if _SESSION is None:
        return
    _SESSION.cell_ids.append(spec.cell_id)
    label = spec.label() + (f" — {error.splitlines()[0][:160]}" if error else "")
    _SESSION.advance(label, status, time.monotonic() - t0)


def task(cfg: DictConfig) -> str:
    """Hydra task function: one job runs one cell."""
    return run_cell(cfg)


# ----------------------------------------------------------------------------- sweep level

def expand_sweep(config: DictConfig) -> list[DictConfig]:
    """Every job config a basic-sweeper multirun of `config` will run (for the manifest and the cell
    count; hydra.job fields are those of the first job of each group).

    Composing one job takes Hydra ~0.1 s, minutes of silence for a battery of thousands of cells, so
    the jobs are composed once per distinct set of config-group choices (`dataset=..`, `method=..`)
    and the plain value overrides (`dataset.dim=3`, `seed=1`) are applied to a copy, as Hydra applies
    them after composition."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser

    if "BasicSweeper" not in str(config.hydra.sweeper.get("_target_", "")):
        return []
    loader = GlobalHydra.instance().config_loader()
    parser = OverridesParser.create(config_loader=loader)
    params = [f"{k}={v}" for k, v in (config.hydra.sweeper.get("params") or {}).items()]
    overrides = parser.parse_overrides(params + list(config.hydra.overrides.task))
    jobs = [list(job) for batch in BasicSweeper.split_arguments(overrides, None) for job in batch]
    repository = getattr(loader, "repository", None)
    if repository is None:  # an unknown loader: compose every job in full
        return [loader.load_sweep_config(config, job) for job in jobs]

    composed: dict[tuple[str, ...], DictConfig] = {}
    out = []
    for job in jobs:
        parsed = parser.parse_overrides(job)
        groups = tuple(o.input_line for o in parsed
                       if o.package is not None or repository.group_exists(o.key_or_group))
        values = [o for o in parsed if o.input_line not in groups]
        if groups not in composed:
            composed[groups] = loader.load_sweep_config(config, list(groups))
        cfg = copy.deepcopy(composed[groups])  # struct, as Hydra's: a misspelt key raises here too
        ConfigLoaderImpl._apply_overrides_to_config(values, cfg)
        out.append(cfg)
    return out


def _specs(configs: list[DictConfig]) -> list[CellSpec]:
    specs = []
    for c in configs:
        try:
            specs.append(spec_from_config(c))
        except Exception:  # noqa: BLE001 - reported when that job runs
            pass
    return specs


def begin(config: DictConfig, configs: list[DictConfig]) -> None:
    global _SESSION
    run_dir = run_dir_of(config)
    specs = _specs(configs)
    if specs:
        results.write_manifest(run_dir, specs)
    _SESSION = session = Session(run_dir=run_dir, total=len(configs) or None)
    console.print(f"colosseum: {len(configs) or '?'} cell(s) → {run_dir}", highlight=False)
    if len(configs) > 1:
        session.progress = Progress(
            TextColumn("cells"), BarColumn(), MofNCompleteColumn(), TextColumn("failed {task.fields[failed]}"),
            TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), console=console, transient=True)
        session.task = session.progress.add_task("cells", total=len(configs), failed=0)
        session.progress.start()
    if "BasicLauncher" not in str(config.hydra.launcher.get("_target_", "BasicLauncher")):
        _watch_remote(session, specs, str(config.get("rerun", "none")))


def _watch_remote(session: Session, specs: list[CellSpec], rerun: str) -> None:
    """Jobs run in other processes: count finished cells from their files, in a thread."""
    for spec in specs:
        old = results.cell_status(session.run_dir, spec.cell_id)
        if old is not None and (rerun == "none" or (rerun == "failed" and old not in results.FAILED)):
            session.cell_ids.append(spec.cell_id)
            session.advance(spec.label(), "cached", 0.0)
            continue
        path = results.cell_path(session.run_dir, spec.cell_id)
        session.watch[spec.cell_id] = (spec.label(), path.stat().st_mtime_ns if path.exists() else -1)
    session.watcher = threading.Thread(target=session._watch, name="colosseum-progress", daemon=True)
    session.watcher.start()


def finish() -> None:
    global _SESSION, _LAST
    session, _SESSION = _SESSION, None
    if session is None:
        return
    if session.watcher is not None:
        session.stop.set()
        session.watcher.join()
        session.poll()
    if session.progress is not None:
        session.progress.stop()
    _LAST = session
    if session.cell_ids:
        from .tables import print_leaderboard

        results.write_scores_csv(session.run_dir)
        frame = results.load(session.run_dir, cells=session.cell_ids)
        print_leaderboard(results.leaderboard(frame, by=("method",)),
                          title=f"Leaderboard — {len(set(session.cell_ids))} cells of {session.run_dir.name}")
    c = session.counts
    console.print(f"colosseum: {sum(c.values())} cells: {c['ok']} ok, {c['cached']} already done, "
                  f"{c['skipped']} skipped, {c['error']} error, {c['timeout']} timeout "
                  f"in {time.monotonic() - session.started:.1f} s → {session.run_dir}", highlight=False)


class SweepCallback(Callback):
    """Manifest, progress and summary around a run or a multirun (runs in the launching process)."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        begin(config, [config])

    def on_run_end(self, config: DictConfig, **kwargs: Any) -> None:
        finish()

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        configs = expand_sweep(config)  # composes every job: raises here on an illegal one
        if configs:
            _skip_hydra_recomposition(True)
        _interrupt_on_sigterm(True)
        begin(config, configs)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        _skip_hydra_recomposition(False)
        _interrupt_on_sigterm(False)
        finish()


_SIGTERM_BEFORE: Any = None


def _interrupt_on_sigterm(on: bool) -> None:
    """During a multirun, SIGTERM (kill, a scheduler's stop) acts as Ctrl-C: the launcher unwinds
    and stops its workers (joblib kills its loky processes; cell workers die with their parent)
    instead of the launching process vanishing and leaving them computing."""
    global _SIGTERM_BEFORE
    if threading.current_thread() is not threading.main_thread():
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    if on and _SIGTERM_BEFORE is None:
        _SIGTERM_BEFORE = signal.signal(signal.SIGTERM, interrupt)
    elif not on and _SIGTERM_BEFORE is not None:
        signal.signal(signal.SIGTERM, _SIGTERM_BEFORE)
        _SIGTERM_BEFORE = None


_HYDRA_BATCH_CHECK: Any = None


def _skip_hydra_recomposition(skip: bool) -> None:
    """Hydra's BasicSweeper composes every job once more before launching, only to check it is legal
    (~0.2 s a job: six minutes of silence before the 2016-cell battery). `expand_sweep` has just
    composed the same jobs, so for this multirun that check is switched off (and restored after)."""
    global _HYDRA_BATCH_CHECK
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    if skip and _HYDRA_BATCH_CHECK is None:
        _HYDRA_BATCH_CHECK = BasicSweeper.validate_batch_is_legal
        BasicSweeper.validate_batch_is_legal = lambda self, batch: None
    elif not skip and _HYDRA_BATCH_CHECK is not None:
        BasicSweeper.validate_batch_is_legal = _HYDRA_BATCH_CHECK
        _HYDRA_BATCH_CHECK = None
