"""Test plugins: methods that fail in the ways the runner must survive."""
import time

import numpy as np

from colosseum.registry import register_method


@register_method("always_fails")
def always_fails(points, eval_idx, dim, *, seed: int, message: str = "planted failure"):
    raise RuntimeError(message)


@register_method("sleeper")
def sleeper(points, eval_idx, dim, *, seed: int, seconds: float = 60.0):
    time.sleep(seconds)
    return np.zeros(eval_idx.shape)


@register_method("wrong_shape")
def wrong_shape(points, eval_idx, dim, *, seed: int):
    return np.zeros(len(eval_idx) + 1)


@register_method("string_diag")
def string_diag(points, eval_idx, dim, *, seed: int):
    from colosseum.contract import Estimate

    return Estimate(values=np.zeros(eval_idx.shape), diagnostics={"note": np.array(["x"] * len(eval_idx))})


@register_method("hog")
def hog(points, eval_idx, dim, *, seed: int, chunk_mb: int = 100):
    """Allocates (and touches) memory in chunks until something stops it."""
    chunks = []
    while True:
        chunks.append(np.ones(chunk_mb * 2**20 // 8))


@register_method("spawner")
def spawner(points, eval_idx, dim, *, seed: int, pid_file: str = "", setsid: bool = False):
    """Starts a child process that would outlive the cell (with `setsid`, in a session of its own, out of the
    worker's process group), records its pid, then hangs."""
    import subprocess

    child = subprocess.Popen(["sleep", "600"], start_new_session=setsid)
    if pid_file:
        with open(pid_file, "w") as f:
            f.write(str(child.pid))
    time.sleep(600)
    return np.zeros(eval_idx.shape)


@register_method("crasher")
def crasher(points, eval_idx, dim, *, seed: int, how: str = "segv"):
    """Dies the way `how` says: segv, kill (SIGKILL) or exit (sys.exit(3)), after a line on stderr."""
    import os
    import signal
    import sys

    print(f"crasher: about to {how}", file=sys.stderr, flush=True)
    if how == "exit":
        sys.exit(3)
    os.kill(os.getpid(), signal.SIGSEGV if how == "segv" else signal.SIGKILL)
    time.sleep(60)


@register_method("chatty")
def chatty(points, eval_idx, dim, *, seed: int, megabytes: int = 4, newlines: bool = True):
    """Writes megabytes to stdout and stderr (without `newlines`: one endless line to stderr), then answers."""
    import os
    import sys

    if not newlines:
        block = b"x" * 2**20
        for _ in range(megabytes):
            os.write(2, block)
        return np.ones(eval_idx.shape)
    line = "x" * 1023 + "\n"
    for _ in range(megabytes * 1024):
        sys.stdout.write(line)
        sys.stderr.write(line)
    return np.ones(eval_idx.shape)


@register_method("infinite")
def infinite(points, eval_idx, dim, *, seed: int):
    """+inf everywhere: an abstention, like NaN."""
    return np.full(eval_idx.shape, np.inf)
