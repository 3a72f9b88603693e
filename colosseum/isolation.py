"""Run cells in a worker process so that a hung cell can be killed at its timeout.

The worker is a fresh interpreter (`python -m colosseum.isolation`, never a fork after JAX is
initialised) talking over a socket pair; it does not depend on the parent's multiprocessing
start method, so it works the same inside joblib/loky, submitit and Ray workers. It is reused
across cells, so JAX is imported once per worker, not once per cell. A timeout or a crash
kills it; the next cell starts a fresh one. `worker(...)` keeps one such worker per launching process.
"""
from __future__ import annotations

import atexit
import json
import os
import socket
import subprocess
import sys
import time
from multiprocessing.connection import Connection
from typing import Any

from .cells import CellSpec
from .compute import compute_cell, failure
from .status import Status

STARTUP_TIMEOUT_S = 300.0


def _serve(conn, plugin_dirs: list[str]) -> None:  # runs in the worker
    from . import registry

    registry.add_plugin_dirs(plugin_dirs)
    registry.list_methods()  # import every plugin (and JAX) before the first cell's clock starts
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


def worker_env(threads: int | None) -> dict[str, str]:
    """The worker's environment, fixed before its JAX starts (XLA reads its flags only at start-up).

    XLA:CPU's Eigen thread pool is switched off: on 2 cores its batched LAPACK calls can deadlock
    (seen with jaxlib 0.10 in scalar-curvature batches). `threads` caps OpenMP/BLAS threads.
    """
    env = dict(os.environ)
    env.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    flags = [f for f in env.get("XLA_FLAGS", "").split() if "multi_thread_eigen" not in f]
    env["XLA_FLAGS"] = " ".join([*flags, "--xla_cpu_multi_thread_eigen=false"])
    if threads:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(int(threads))
    return env


class CellWorker:
    """One spawned worker process; `run(spec, timeout_s)` returns the cell's payload."""

    def __init__(self, plugin_dirs: list[str] | None = None, threads: int | None = None) -> None:
        self.plugin_dirs = [str(p) for p in plugin_dirs or []]
        self.threads = threads
        self._proc: Any = None
        self._conn: Any = None

    def _start(self) -> None:
        mine, theirs = socket.socketpair()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "colosseum.isolation", str(theirs.fileno()), json.dumps(self.plugin_dirs)],
            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, env=worker_env(self.threads))
        theirs.close()
        self._conn = Connection(mine.detach())
        atexit.register(self.close)
        # start-up (interpreter, JAX, plugins) is not part of any cell's time limit
        if not self._conn.poll(STARTUP_TIMEOUT_S) or self._conn.recv()[0] != "ready":
            self._kill()
            raise RuntimeError(f"the cell worker did not start within {STARTUP_TIMEOUT_S} s")

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(5)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None

    def run(self, spec: CellSpec, timeout_s: float) -> dict[str, Any]:
        if self._proc is None or self._proc.poll() is not None:
            self._kill()
            try:
                self._start()
            except (RuntimeError, EOFError, OSError) as exc:
                return failure(Status.ERROR, exc, phase="dataset")
        self._conn.send(spec.to_dict())
        deadline = time.monotonic() + timeout_s
        partial: dict[str, Any] = {}
        while True:
            remaining = deadline - time.monotonic()
            try:
                ready = remaining > 0 and self._conn.poll(remaining)
                if not ready:
                    self._kill()
                    return {**partial, **failure(Status.TIMEOUT, message=f"cell exceeded timeout_s={timeout_s:g}",
                                                 phase="method" if partial else "dataset")}
                kind, info = self._conn.recv()
            except (EOFError, ConnectionError, OSError):
                code = self._proc.poll() if self._proc is not None else None
                self._kill()
                return {**partial, **failure(Status.ERROR, message=f"worker process died (exit code {code})",
                                             phase="method" if partial else "dataset")}
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
        self._kill()


_WORKER: CellWorker | None = None


def worker(plugin_dirs: list[str], threads: int | None) -> CellWorker:
    """This process's cell worker for these settings (a new one when they change)."""
    global _WORKER
    if _WORKER is None or (_WORKER.plugin_dirs, _WORKER.threads) != ([str(p) for p in plugin_dirs], threads):
        if _WORKER is not None:
            _WORKER.close()
        _WORKER = CellWorker(plugin_dirs, threads)
    return _WORKER


def shutdown() -> None:
    """Stop this process's cell worker, if any."""
    global _WORKER
    if _WORKER is not None:
        _WORKER.close()
        _WORKER = None


def _die_with_parent() -> None:  # runs in the worker
    """On Linux, have the kernel kill this worker when the process that started it dies (a killed
    sweep or launcher job must not leave cells computing); elsewhere the worker exits at its next
    receive, once its current cell is done."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before the request took effect
        os._exit(0)


if __name__ == "__main__":
    _die_with_parent()
    _serve(Connection(int(sys.argv[1])), json.loads(sys.argv[2]))
