"""The exact bytes of every project and plugin source file this process executed, kept as each is loaded.

A cell's id claims the code that computed it. The launching process plans that id from the files on
disk; a worker process runs whatever it loaded, which is not the same once a file is edited while a sweep
runs (a worker restarted after a timeout loads the edited file). So a worker loads project modules
through `install`'s finder, which compiles each module from the very bytes it records here, never from a
stale `.pyc`; plugin files are recorded by the registry as it executes them. `view` is what
`colosseum.codehash` hashes in a worker: the bytes that ran, or None for a file this process never loaded.

This module is loaded by path before the `colosseum` package (the worker's first step), so it imports
nothing of the package.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec, SourceFileLoader
from pathlib import Path

_LOADED: dict[Path, bytes] = {}


def record(path: str | os.PathLike[str], data: bytes) -> None:
    """Remember the bytes a source file was executed from (the last load wins)."""
    _LOADED[Path(path).resolve()] = data


def view(path: Path) -> bytes | None:
    """The bytes `path` was executed from in this process, or None when it was not loaded through here."""
    return _LOADED.get(Path(path))


def loaded() -> dict[Path, bytes]:
    return dict(_LOADED)


class _RecordingLoader(SourceFileLoader):
    """Compile a module from the bytes it records (no bytecode cache: a .pyc is checked by mtime and size,
    which an edit within the same second can keep)."""

    def get_code(self, fullname: str):
        data = self.get_data(self.path)
        record(self.path, data)
        return self.source_to_code(data, self.path)


class _Finder(MetaPathFinder):
    def __init__(self, roots: Sequence[Path]) -> None:
        self.roots = tuple(Path(r).resolve() for r in roots)

    def _ours(self, origin: str | None) -> bool:
        if not origin or not origin.endswith(".py"):
            return False
        path = Path(origin).resolve()
        return any(r in path.parents for r in self.roots) and "site-packages" not in path.parts

    def find_spec(self, fullname, path=None, target=None) -> ModuleSpec | None:
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is None:
                continue
            if isinstance(spec.loader, SourceFileLoader) and self._ours(spec.origin):
                spec.loader = _RecordingLoader(fullname, spec.origin)
            return spec
        return None


def install(roots: Sequence[str | os.PathLike[str]]) -> None:
    """Load every later-imported module under `roots` through the recording loader (once per process)."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder([Path(r) for r in roots]))
