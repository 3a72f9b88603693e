"""Run cells in a worker process, so that a hung, crashing or memory-hungry cell cannot take the sweep along.

The worker is a fresh interpreter (`python -m colosseum.isolation`, never a fork after JAX is initialised)
talking over a socket pair; it works the same inside joblib/loky, submitit and Ray workers. It is reused
across cells, so JAX is imported once per worker, not once per cell. It leads its own process group, so
whatever a method starts is ended with it:

- a cell past `timeout_s` (status `timeout`), or a worker that dies, ends the whole group (no orphans), and
  every descendant of the worker that left the group (`setsid`, a double fork): the worker is their
  subreaper (Linux), so they stay its descendants and are found and killed with it;
- the worker's data size is capped at `memory_gb` (RLIMIT_DATA): an allocation past it raises inside the
  method (MemoryError in NumPy, RESOURCE_EXHAUSTED in XLA) and the cell ends as an `error` row that names
  memory, while the sweep carries on;
- a worker killed by a signal (SIGSEGV, SIGKILL, ...) or exiting on its own gives an `error` row with the
  signal's name or the exit code and the last lines the worker wrote to stderr;
- when the launching process dies, the worker notices within a second and ends its group;
- whatever the worker prints, the launcher keeps only the last STDERR_BYTES of it.

The worker loads the project's modules through `colosseum.sources`, which records the bytes each was
executed from: the payload of a cell names the code that really ran (`compute.identity_ran`).
"""
from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from . import paths
from .cells import CellSpec
from .compute import compute_cell, failure
from .status import Status

STARTUP_TIMEOUT_S = 300.0
#: Lines of the worker's stderr kept for the row of a worker that dies, and the bytes read to find them.
STDERR_LINES = 40
STDERR_BYTES = 64 * 1024
#: How the worker starts: load colosseum/sources.py by path and install its recording finder before the
#: package is imported, then run this module (argv: sources.py, roots as JSON, then this module's own).
BOOT = ("import importlib.util, json, runpy, sys\n"
        "spec = importlib.util.spec_from_file_location('colosseum.sources', sys.argv[1])\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "sys.modules['colosseum.sources'] = module\n"
        "module.install(json.loads(sys.argv[2]))\n"
        "del sys.argv[1:3]\n"
        "runpy.run_module('colosseum.isolation', run_name='__main__', alter_sys=True)\n")
PR_SET_CHILD_SUBREAPER = 36


def descendants(pid: int) -> list[int]:
    """Every living descendant of `pid` (from /proc; empty where there is none)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def kill_tree(pid: int) -> None:
    """SIGKILL every descendant of `pid` (a few passes: one may fork while it is being killed)."""
    for _ in range(3):
        found = descendants(pid)
        if not found:
            return
        for child in found:
            try:
                os.kill(child, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def _serve(conn, plugin_dirs: list[str], memory_bytes: int) -> None:  # runs in the worker
    from . import compute, registry

    if memory_bytes > 0:
        import resource

        resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
        compute.MEMORY_LIMIT_GB = memory_bytes / 2**30
    registry.add_plugin_dirs(plugin_dirs)
    registry.list_methods()
    _warm_up()
    conn.send(("ready", {}))
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


def _warm_up() -> None:  # runs in the worker
    """Import what every cell needs (JAX, SciPy, the truth's geometry) before the first cell's clock starts.
    An estimator core is imported by the first cell that uses it: its import counts as that method's first
    call in this worker, which the CPU summary shows apart (`runner.cpu_by_method`), and a sweep of cheap
    methods does not pay for importing every core (the neural flatteners' libraries take ~1.3 s)."""
    import jax.numpy  # noqa: F401
    import scipy.sparse  # noqa: F401
    import scipy.spatial  # noqa: F401

    from . import geometry, sampling  # noqa: F401


def worker_env(threads: int | None) -> dict[str, str]:
    """The worker's environment, fixed before its JAX starts (XLA reads its flags only at start-up).

    XLA:CPU's Eigen thread pool is switched off: on 2 cores its batched LAPACK calls can deadlock
    (seen with jaxlib 0.10 in scalar-curvature batches; the flag concerns the CPU backend only, a GPU is
    used as JAX finds it). `threads` caps OpenMP/BLAS threads.
    """
    env = dict(os.environ)
    env.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    # compiled XLA programs persist across workers and runs (equinox's runtime checks become NaN instead of
    # host callbacks, which would make diffrax's solves uncacheable)
    env.setdefault("JAX_COMPILATION_CACHE_DIR", str(Path.home() / ".cache" / "colosseum" / "jax"))
    env.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.5")
    env.setdefault("EQX_ON_ERROR", "nan")
    flags = [f for f in env.get("XLA_FLAGS", "").split() if "multi_thread_eigen" not in f]
    env["XLA_FLAGS"] = " ".join([*flags, "--xla_cpu_multi_thread_eigen=false"])
    if threads:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(int(threads))
    return env


def exit_description(code: int | None) -> str:
    """'killed by SIGSEGV (signal 11)', 'exit code 3', ..."""
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name} (signal {-code})"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class CellWorker:
    """One spawned worker process; `run(spec, timeout_s)` returns the cell's payload."""

    def __init__(self, plugin_dirs: list[str] | None = None, threads: int | None = None,
                 memory_gb: float | None = None) -> None:
        self.plugin_dirs = [str(p) for p in plugin_dirs or []]
        self.threads = threads
        self.memory_gb = memory_gb
        self._proc: Any = None
        self._conn: Any = None
        self._stderr = bytearray()
        self._stderr_lock = threading.Lock()

    @property
    def settings(self) -> tuple:
        return self.plugin_dirs, self.threads, self.memory_gb

    def _start(self) -> None:
        mine, theirs = socket.socketpair()
        memory = int(self.memory_gb * 2**30) if self.memory_gb else 0
        roots = [str(paths.HOME), *self.plugin_dirs]
        self._proc = subprocess.Popen(
            [sys.executable, "-c", BOOT, str(Path(__file__).with_name("sources.py")), json.dumps(roots),
             str(theirs.fileno()), json.dumps(self.plugin_dirs), str(memory), str(os.getpid())],
            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env=worker_env(self.threads), start_new_session=True)
        theirs.close()
        self._conn = Connection(mine.detach())
        with self._stderr_lock:
            self._stderr.clear()
        threading.Thread(target=self._drain, args=(self._proc.stderr,), daemon=True,
                         name="colosseum-worker-stderr").start()
        atexit.register(self.close)
        # start-up (interpreter, JAX, plugins) is not part of any cell's time limit
        if not self._conn.poll(STARTUP_TIMEOUT_S) or self._conn.recv()[0] != "ready":
            self.kill()
            raise RuntimeError(f"the cell worker did not start within {STARTUP_TIMEOUT_S} s")

    def _drain(self, pipe) -> None:
        """Keep the last STDERR_BYTES of the worker's stderr, read in chunks: however much it writes, with
        or without newlines, the pipe never fills and this process never holds more."""
        fd = pipe.fileno()
        while True:
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:
                break
            if not chunk:
                break
            with self._stderr_lock:
                self._stderr += chunk
                del self._stderr[:-STDERR_BYTES]
        pipe.close()

    def stderr_tail(self) -> str:
        with self._stderr_lock:
            text = bytes(self._stderr).decode(errors="replace")
        return "\n".join(text.splitlines()[-STDERR_LINES:])

    def kill(self) -> None:
        """End the worker and everything it started: its descendants (those that left its process group
        included), then its process group."""
        if self._proc is not None:
            kill_tree(self._proc.pid)
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None

    def restart(self) -> None:
        """End this worker now; the next cell starts a fresh one, which loads the files as they are then."""
        self.kill()

    def _died(self, partial: dict[str, Any]) -> dict[str, Any]:
        proc = self._proc
        code = proc.poll() if proc is not None else None
        if proc is not None and code is None:
            try:
                code = proc.wait(2)
            except subprocess.TimeoutExpired:
                pass
        self.kill()
        time.sleep(0.05)  # let the stderr reader take the last lines
        tail = self.stderr_tail()
        hint = (f"; it may have run out of memory (memory_gb={self.memory_gb:g})"
                if self.memory_gb and code is not None and code in (-signal.SIGKILL, -signal.SIGABRT) else "")
        msg = f"the worker process died: {exit_description(code)}{hint}"
        return {**partial, **failure(Status.ERROR, message=msg, phase="method" if partial else "dataset"),
                "error_type": "WorkerDied", "traceback": f"last lines of the worker's stderr:\n{tail}" if tail else ""}

    def run(self, spec: CellSpec, timeout_s: float) -> dict[str, Any]:
        if self._proc is None or self._proc.poll() is not None:
            self.kill()
            try:
                self._start()
            except (RuntimeError, EOFError, OSError) as exc:
                return {**failure(Status.ERROR, exc, phase="dataset"), "traceback": self.stderr_tail()}
        try:
            self._conn.send(spec.to_dict())
        except OSError:
            return self._died({})
        sent = time.monotonic()
        deadline = sent + timeout_s
        partial: dict[str, Any] = {}
        while True:
            remaining = deadline - time.monotonic()
            try:
                ready = remaining > 0 and self._conn.poll(remaining)
                if not ready:
                    self.kill()
                    burned = time.monotonic() - sent  # what the cell cost before it was stopped counts too
                    spent = {"runtime_s": max(0.0, burned - partial.get("dataset_s", 0.0))} if partial else \
                        {"dataset_s": burned}
                    return {**partial, **spent,
                            **failure(Status.TIMEOUT, message=f"cell exceeded timeout_s={timeout_s:g}",
                                      phase="method" if partial else "dataset")}
                kind, info = self._conn.recv()
            except (EOFError, ConnectionError, OSError):
                return self._died(partial)
            if kind == "sample":
                partial = info
            else:
                return info

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            try:
                self._conn.send(None)
                self._proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()


_WORKER: CellWorker | None = None


def worker(plugin_dirs: list[str], threads: int | None, memory_gb: float | None = None) -> CellWorker:
    """This process's cell worker for these settings (a new one when they change)."""
    global _WORKER
    wanted = ([str(p) for p in plugin_dirs], threads, memory_gb)
    if _WORKER is None or _WORKER.settings != wanted:
        if _WORKER is not None:
            _WORKER.close()
        _WORKER = CellWorker(plugin_dirs, threads, memory_gb)
    return _WORKER


def shutdown() -> None:
    """Stop this process's cell worker, if any."""
    global _WORKER
    if _WORKER is not None:
        _WORKER.close()
        _WORKER = None


def _end_group(*_: Any) -> None:  # runs in the worker
    kill_tree(os.getpid())
    os.killpg(os.getpgrp(), signal.SIGKILL)


def _adopt_orphans() -> None:  # runs in the worker
    """Become the subreaper of what the methods start, so that a grandchild whose parent exits (a double
    fork) stays a descendant of this worker, where `kill_tree` finds it (Linux; elsewhere a no-op)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _watch_parent(parent: int) -> None:  # runs in the worker
    """End this worker's process group as soon as the launching process is gone (killed, even by -9):
    a thread, so that it runs while the main thread is inside NumPy or XLA."""
    def watch() -> None:
        while True:
            if os.getppid() != parent:
                _end_group()
            time.sleep(0.5)

    if os.getppid() != parent:
        _end_group()
    threading.Thread(target=watch, daemon=True, name="colosseum-parent-watch").start()
    signal.signal(signal.SIGTERM, _end_group)  # a scheduler's stop ends the methods' children too
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the launching process's to handle


if __name__ == "__main__":
    _adopt_orphans()
    _watch_parent(int(sys.argv[4]))
    _serve(Connection(int(sys.argv[1])), json.loads(sys.argv[2]), int(sys.argv[3]))
