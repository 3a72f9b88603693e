"""Where a result came from: code version, package versions, machine, time. Computed once per process."""
from __future__ import annotations

import functools
import platform
import socket
import subprocess
from importlib import metadata

from . import paths

PACKAGES = ("colosseum", "jax", "jaxlib", "flax", "optax", "diffrax", "numpy", "scipy", "pandas",
            "hydra-core")


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=paths.HOME, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


@functools.lru_cache(maxsize=1)
def provenance() -> dict[str, object]:
    """Flat dict of provenance columns (prefixed `prov.`)."""
    out: dict[str, object] = {
        "prov.git_commit": _git("rev-parse", "HEAD") or "unknown",
        "prov.git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "prov.python": platform.python_version(),
        "prov.host": socket.gethostname(),
        "prov.platform": platform.platform(),
    }
    for pkg in PACKAGES:
        try:
            out[f"prov.{pkg}"] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[f"prov.{pkg}"] = ""
    return out
