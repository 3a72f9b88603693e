"""What a cell really read: the project and plugin files whose code ran, or which were opened, while its
dataset, denoiser or method was called.

A cell's id starts from the static import closure of its plugins (`colosseum.codehash`). A plugin can reach
more than its import statements say: a core reached as an attribute of a package (`colosseum.estimators.x`),
a sibling module loaded with `importlib`, a data file beside it. `Recorder` watches one call:

- the code that ran: every function called, by its file (cProfile, in C, on the calling thread; a plain
  profile hook on threads started during the call), module bodies executed by an import included;
- the files opened for reading (an audit hook on the "open" event), which also catches a module imported
  for the first time, and data files.

Only files under the project folder and the plugin folders count (not the virtual environment, not
bytecode caches, not the run's own outputs). The runner adds what a call read beyond the static closure
to the cell's identity (`CellSpec.reads`) and to the next plan of the same plugin.
"""
from __future__ import annotations

import cProfile
import os
import sys
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from . import codehash, paths

#: The recorder currently watching (one call at a time per process), for the audit hook.
_ACTIVE: Recorder | None = None
_HOOKED = False
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
#: Folders below the project folder that hold no code or data of a cell.
_IGNORED_PARTS = ("site-packages", "__pycache__", ".git", ".pytest_cache", "results")
#: The harness's own watching and loading code, which runs around every call.
_SELF = {Path(__file__).resolve(), Path(__file__).resolve().with_name("sources.py")}


def _audit(event: str, args: tuple) -> None:
    rec = _ACTIVE
    if rec is None or event != "open":
        return
    path, mode, flags = (tuple(args) + (None, None))[:3]
    if not isinstance(path, (str, bytes, os.PathLike)):
        return  # an open file descriptor
    if isinstance(mode, str) and any(c in mode for c in "wax+"):
        return
    if isinstance(flags, int) and flags & _WRITE_FLAGS:
        return
    rec._raw.add(os.fsdecode(path))


class Recorder:
    """`with Recorder(plugin_dirs) as rec: call()`; then `rec.files()` / `rec.labels()`."""

    def __init__(self, plugin_dirs: Sequence[str | os.PathLike[str]] = ()) -> None:
        self.plugin_dirs = [Path(d).resolve() for d in plugin_dirs]
        self.roots = [paths.HOME.resolve(), *self.plugin_dirs]
        self._raw: set[str] = set()
        self._profile: cProfile.Profile | None = None

    def _thread_hook(self, frame, event, arg) -> None:
        if event == "call":
            self._raw.add(frame.f_code.co_filename)

    def __enter__(self) -> Recorder:
        global _ACTIVE, _HOOKED
        if not _HOOKED:
            sys.addaudithook(_audit)
            _HOOKED = True
        self._raw = set()
        _ACTIVE = self
        threading.setprofile(self._thread_hook)
        try:
            self._profile = cProfile.Profile()
            self._profile.enable()
        except ValueError:  # another profiler is active on this thread: files opened are still recorded
            self._profile = None
        return self

    def __exit__(self, *exc) -> None:
        global _ACTIVE
        if self._profile is not None:
            self._profile.disable()
            for entry in self._profile.getstats():
                if not isinstance(entry.code, str):
                    self._raw.add(entry.code.co_filename)
            self._profile = None
        threading.setprofile(None)
        _ACTIVE = None

    def files(self) -> set[Path]:
        """The files read under the project and plugin folders."""
        out = set()
        for raw in self._raw:
            if not raw or raw.startswith("<"):
                continue
            path = Path(os.path.abspath(raw))
            if path.suffix == ".pyc" and path.parent.name == "__pycache__":
                path = path.parent.parent / (path.name.split(".")[0] + ".py")
            if not any(r == path or r in path.parents for r in self.roots):
                continue
            rel = next(path.relative_to(r) for r in self.roots if r == path or r in path.parents)
            if any(part in _IGNORED_PARTS or part.startswith(".venv") or part.endswith(".egg-info")
                   for part in rel.parts):
                continue
            if path.is_file() and path not in _SELF:
                out.add(path)
        return out

    def labels(self) -> set[str]:
        return {codehash.label(p, self.plugin_dirs) for p in self.files()}


def digests(files: Iterable[Path], plugin_dirs: Sequence[str | os.PathLike[str]], view=None) -> dict[str, str]:
    """{label: digest} of files: the bytes this process executed where `view` has them, else the file now."""
    import hashlib

    out = {}
    for f in files:
        data = view(f) if view is not None else None
        out[codehash.label(f, plugin_dirs)] = (hashlib.sha256(data).hexdigest() if data is not None
                                               else codehash.file_digest(f))
    return out
