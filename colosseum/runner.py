"""The Hydra app: one job = one cell; a callback does the sweep-level work around the jobs.

Before any job runs, the callback reads the settings, expands and validates the whole sweep
(`colosseum.sweep`), writes the manifest and starts the progress display; `dry_run=true` prints the
plan instead (`colosseum.plan`). After the last job it rewrites `scores.csv` and prints a leaderboard
and a summary. Anything that goes wrong at that level ends the command through `Abort`, which
Hydra does not swallow (it turns a callback's ordinary exceptions into warnings).
"""
from __future__ import annotations

import signal
import threading
import time
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig
from rich.markup import escape

from . import identity, isolation, registry, results, schema, settings, store, sweep
from .cells import CellSpec
from .compute import compute_cell, declined, failure
from .progress import CACHED, REFUSED, Session, console
from .provenance import provenance
from .status import Status


class Abort(BaseException):
    """Ends the command with `code` and a one-line `message` (0: a dry run that printed its plan)."""

    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(message)
        self.code, self.message = code, message


_SESSION: Session | None = None
_LAST: Session | None = None


def last_session() -> Session | None:
    """The session of the most recent invocation in this process (for the CLI's exit status)."""
    return _LAST


# ----------------------------------------------------------------------------- one cell

def run_cell(cfg: DictConfig) -> str:
    """Compute (or skip) the cell of one composed config; returns its status ("cached" if skipped)."""
    try:
        opts = settings.from_config(cfg)
        known = _planned_for_this_job()
        spec = known[1] if known is not None else plan_spec(sweep.spec_from_config(cfg), opts)
    except Exception as exc:  # noqa: BLE001 - validated up front; only a job outside a session gets here
        console.print(f"[bold red]config error[/]: {escape(str(exc))}", highlight=False)
        return Status.ERROR.value
    return run_spec(spec, opts)


def plan_spec(spec: CellSpec, opts: settings.Settings, versions: store.Versions | None = None) -> CellSpec:
    """The spec as planned in this run: with the files its plugins are known to read here (`identity`)."""
    versions = versions if versions is not None else store.expected_versions(opts.run_dir)
    return identity.planned(spec, versions, _plugin_dirs(opts))[0]


def _plugin_dirs(opts: settings.Settings) -> list[str]:
    return [*opts.plugin_dirs, *(str(d) for d in registry.user_plugin_dirs())]


#: Set while a sweep stops (Ctrl-C, SIGTERM): a cell whose worker the stop ended is not filed as an error
#: (its file would say "already done" to the next run); the same command computes it again.
STOPPING = threading.Event()


def run_spec(spec: CellSpec, opts: settings.Settings, worker: isolation.CellWorker | None = None) -> str:
    """Compute (or skip) one cell into its file, in `worker` (default: this process's worker).

    The cell is filed under the id of what computed it (`identity.reconcile`): when the worker ran other
    code than planned, it is computed once more in a fresh worker and otherwise refused (no file; "refused")."""
    t0 = time.monotonic()
    started_at = store.timestamp()
    old = store.cell_outcome(opts.run_dir, spec.cell_id)
    if not opts.needs_run(None if old is None else old[0]):
        _note(spec, CACHED, t0, old_status=old[0])
        return CACHED
    reason = declined(spec)
    payload = ({**failure(Status.SKIPPED, message=reason, phase="method"), "code_ran": dict(spec.code)} if reason
               else compute(spec, opts, worker))  # declined before any work: no draw, no worker
    if STOPPING.is_set() and payload.get("status") != Status.OK:  # its worker was ended by the stop
        raise KeyboardInterrupt("the sweep was stopped while this cell ran; nothing was filed for it")
    filed, problem = identity.reconcile(spec, payload)
    if problem and opts.isolation != "inline":
        (worker or isolation.worker(list(opts.plugin_dirs), opts.threads_per_cell, opts.memory_limit_gb)).restart()
        payload = compute(spec, opts, worker)
        filed, problem = identity.reconcile(spec, payload)
    if filed is None:
        message = f"refused: {problem}; nothing was filed, the same command computes it with the code now on disk"
        if _SESSION is None:
            console.print(f"[red]{REFUSED}[/] {escape(spec.label())}: {escape(message)}")
        _note(spec, REFUSED, t0, error=message)
        return REFUSED
    table = schema.cell_table(filed, payload, run_id=opts.run_dir.name, started_at=started_at,
                              provenance=provenance(), code_files=code_files(filed))
    store.write_cell(opts.run_dir, filed.cell_id, table)
    if filed.cell_id != spec.cell_id:  # it read files the plan did not know: its id says so from now on
        store.write_manifest(opts.run_dir, [{**filed.manifest_entry(), "reads_by": payload.get("reads_by", {})}],
                             opts.plugin_dirs, amends=True)
    if payload["status"] != Status.OK and _SESSION is None:
        console.print(f"[red]{payload['status']}[/] {escape(spec.label())}: {escape(payload.get('error', ''))}")
    _note(filed, payload["status"], t0, error=payload.get("error", ""))
    return str(payload["status"])


def compute(spec: CellSpec, opts: settings.Settings, worker: isolation.CellWorker | None = None) -> dict[str, Any]:
    """The cell's payload, computed in a worker process (or here with isolation=inline)."""
    if opts.isolation == "inline":
        return compute_cell(spec)
    try:
        worker = worker or isolation.worker(list(opts.plugin_dirs), opts.threads_per_cell, opts.memory_limit_gb)
        return worker.run(spec, opts.timeout_s)
    except Exception as exc:  # noqa: BLE001 - the worker could not even start: this cell's error
        return failure(Status.ERROR, exc, phase="dataset")


#: The cells of the current sweep by their job's overrides, as validated before it started
#: (the cell launcher runs these instead of composing every job again).
_PLANNED: dict[tuple[str, ...], tuple[DictConfig, CellSpec]] = {}


def planned(overrides) -> tuple[DictConfig, CellSpec] | None:
    return _PLANNED.get(tuple(overrides))


def _planned_for_this_job() -> tuple[DictConfig, CellSpec] | None:
    """The validated cell of the Hydra job running now in this process, if this process planned the sweep."""
    try:
        from hydra.core.hydra_config import HydraConfig

        return planned(HydraConfig.get().overrides.task) if HydraConfig.initialized() else None
    except Exception:  # noqa: BLE001 - no Hydra job here
        return None


def code_files(spec: CellSpec) -> dict[str, list[str]]:
    files = {"dataset": registry.entry(registry.DATASET, spec.dataset).code_files(),
             "method": registry.entry(registry.METHOD, spec.method).code_files()}
    if spec.denoise != registry.NO_DENOISER:
        files["denoise"] = registry.entry(registry.DENOISER, spec.denoise).code_files()
    return files


def _note(spec: CellSpec, status: str, t0: float, error: str = "", old_status: str | None = None) -> None:
    if _SESSION is None:
        return
    label = spec.label() + (f" — {error.splitlines()[0][:160]}" if error else "")
    _SESSION.advance(spec.cell_id, label, status, time.monotonic() - t0, old_status)


def task(cfg: DictConfig) -> str:
    """Hydra task function: one job runs one cell."""
    return run_cell(cfg)


def shutdown() -> None:
    isolation.shutdown()


# ----------------------------------------------------------------------------- sweep level

def begin(config: DictConfig, jobs: list[sweep.Job]) -> None:
    """Settings, validation, plan or manifest, progress: everything before the first cell."""
    try:
        opts = settings.from_config(config)
        registry.add_plugin_dirs(list(opts.plugin_dirs))
        registry.check_duplicates()
    except ValueError as exc:
        raise Abort(2, str(exc)) from None
    specs, problems = sweep.validate(jobs)
    _PLANNED.clear()
    if problems:
        for line in problems:
            console.print(f"[bold red]invalid[/] {escape(line)}", highlight=False)
        raise Abort(2, f"{len(jobs) - len(specs)} of {len(jobs)} cell(s) of the sweep are invalid "
                       f"({len(problems)} distinct problem(s) above); nothing was computed")
    target = str(config.hydra.launcher.get("_target_", "BasicLauncher"))
    open_session(specs, opts, jobs=jobs,
                 watch_files="BasicLauncher" not in target and "CellLauncher" not in target)


def open_session(specs: list[CellSpec], opts: settings.Settings, jobs: list[sweep.Job] | None = None,
                 watch_files: bool = False) -> list[CellSpec]:
    """Plan the cells (with the files their plugins are known to read in this run), print the plan of a dry
    run (Abort(0)) or write the manifest and start the progress display; returns the planned cells.

    jobs: the Hydra jobs of the cells, remembered for the launchers; watch_files: the cells run in other
    processes, so progress is counted from their files."""
    global _SESSION
    versions = store.expected_versions(opts.run_dir)
    planned_specs = [identity.planned(s, versions, _plugin_dirs(opts)) for s in specs]
    specs = [s for s, _ in planned_specs]
    if jobs is not None:
        _PLANNED.update({tuple(j.overrides): (j.config, spec) for j, spec in zip(jobs, specs)})
    if opts.dry_run:
        from .plan import print_plan

        print_plan(specs, opts)
        raise Abort(0)
    store.write_manifest(opts.run_dir, [{**s.manifest_entry(), **({"reads_by": by} if by else {})}
                                        for s, by in planned_specs], opts.plugin_dirs)
    _SESSION = session = Session(run_dir=opts.run_dir, total=len(specs))
    console.print(f"colosseum: {len(specs)} cell(s) → {opts.run_dir}", highlight=False)
    session.start_bar()
    if watch_files:
        pending = {}
        for spec in specs:  # jobs run in other processes: count the finished ones from their files
            old = store.cell_outcome(opts.run_dir, spec.cell_id)
            if not opts.needs_run(None if old is None else old[0]):
                session.advance(spec.cell_id, spec.label(), CACHED, 0.0, old[0])
            else:
                pending[spec.cell_id] = (spec.label(), spec.key)
        session.watch_files(pending)
    return specs


def finish() -> None:
    """Scores, leaderboard and summary after the last cell."""
    global _SESSION, _LAST
    session, _SESSION = _SESSION, None
    if session is None:
        return
    session.close()
    _LAST = session
    if session.cell_ids:
        from .display import print_leaderboard

        results.write_scores_csv(session.run_dir)
        frame = results.load(session.run_dir, cells=session.cell_ids)
        print_leaderboard(results.leaderboard(frame, by=("variant",)).rename(columns={"variant": "method"}),
                          title=f"Leaderboard — {len(set(session.cell_ids))} cells of {session.run_dir.name}")
        console.print(cpu_by_method(frame), highlight=False)
    console.print(session.summary(), highlight=False)


def cpu_by_method(frame) -> str:
    """Where this sweep's CPU went, in one line: the methods' own time (timed-out cells included), apart from
    the dataset draws and from the extra time of each method's first call in a worker (JIT compilation),
    which would otherwise be charged to whichever method happened to run first."""
    cells = frame.drop_duplicates("cell_id")
    runtime = cells["runtime_s"].fillna(0.0)
    first = cells["first_call"].fillna(False).astype(bool) if "first_call" in cells else runtime * 0 > 0
    typical = runtime[~first].groupby(cells.loc[~first, "method"]).median()
    excess = (runtime - cells["method"].map(typical).fillna(0.0)).clip(lower=0.0).where(first, 0.0)
    own = (runtime - excess).groupby(cells["method"]).sum().sort_values(ascending=False)
    draws = cells["dataset_s"].fillna(0.0) + (cells["denoise_s"].fillna(0.0) if "denoise_s" in cells else 0.0)
    drawn = int((~cells["draw_cached"].fillna(False).astype(bool)).sum()) if "draw_cached" in cells else len(cells)
    return ("CPU by method: " + ", ".join(f"{m} {v:.0f} s" for m, v in own.items())
            + f" (total {own.sum():.0f} s); dataset draws and denoising {draws.sum():.0f} s ({drawn} computed); "
            f"first calls in a worker beyond a typical call (JIT compilation) {excess.sum():.0f} s")


def _guarded(step, *args) -> None:
    """Run a callback step; any failure ends the command (Hydra would only warn about it)."""
    try:
        step(*args)
    except Abort:
        raise
    except Exception as exc:  # noqa: BLE001
        text = str(exc).strip().splitlines()
        raise Abort(1, f"{type(exc).__name__}: {text[0] if text else ''}") from exc


class SweepCallback(Callback):
    """Validation, manifest, progress and summary around a run or a multirun (in the launching process)."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        _guarded(begin, config, [sweep.Job(tuple(config.hydra.overrides.task), config)])

    def on_run_end(self, config: DictConfig, **kwargs: Any) -> None:
        _guarded(finish)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if not sweep.is_multirun_basic(config):
            raise Abort(2, f"colosseum validates a sweep before it runs, which needs Hydra's basic sweeper; "
                           f"got {config.hydra.sweeper.get('_target_')}")
        jobs = _guarded_value(sweep.expand, config)
        _guarded(begin, config, jobs)
        sweep.skip_hydra_recomposition(True)
        _interrupt_on_sigterm(True)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep.skip_hydra_recomposition(False)
        _interrupt_on_sigterm(False)
        _guarded(finish)


def _guarded_value(fn, *args):
    box = []
    _guarded(lambda: box.append(fn(*args)))
    return box[0]


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
