"""Shared helpers: run the `colosseum` console script in a subprocess, as a user would."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# before JAX starts in this process or any child: XLA:CPU's Eigen pool can deadlock batched LAPACK on 2 cores
os.environ["XLA_FLAGS"] = " ".join([*[f for f in os.environ.get("XLA_FLAGS", "").split()
                                      if "multi_thread_eigen" not in f], "--xla_cpu_multi_thread_eigen=false"])

import pytest

from colosseum import registry

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ROOT / "tests" / "plugins"
BIN = Path(sys.executable).parent


def run_cli(*args: str, cwd: Path, timeout: float = 300, script: str = "colosseum",
            env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([str(BIN / script), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=env)


@pytest.fixture
def plugin_args() -> list[str]:
    """Overrides that make the misbehaving test plugins and their configs available."""
    return [f"plugin_dirs=[{PLUGINS}]", f"hydra.searchpath=[file://{PLUGINS / 'configs'}]"]


@pytest.fixture
def isolated_registry(monkeypatch):
    """Registry state changed by a test (extra plugin folders, test plugins, failed imports) is undone.

    Plugin registration is process-global; test plugins also get unique names, so even a leak
    could not collide with anything.
    """
    registry.list_methods()  # load the built-ins before taking the snapshot
    monkeypatch.setattr(registry, "_ENTRIES", {k: dict(v) for k, v in registry._ENTRIES.items()})
    monkeypatch.setattr(registry, "_FAILED", dict(registry._FAILED))
    monkeypatch.setattr(registry, "_LOADED_FILES", set(registry._LOADED_FILES))
    monkeypatch.setattr(registry, "_EXTRA_DIRS", list(registry._EXTRA_DIRS))
