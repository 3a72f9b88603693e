"""Registry of datasets and methods, discovered from plugin folders by file path.

A plugin is a `.py` file in `datasets/`, `methods/` or a folder named in `plugin_dirs`
(or the `COLOSSEUM_PLUGIN_DIRS` environment variable, separated by the path separator).
It registers functions with the decorators below. Files are imported under private module
names (`colosseum_plugins.*`), never as `datasets`, which is a popular PyPI package.
A file that fails to import is remembered with its error and listed by `failed_plugins()`;
listing keeps working.

Signatures the decorators accept:

    @register_dataset("name")
    def make(*, seed: int, param=default, ...) -> Sample

    @register_method("name")
    def estimate(points, eval_idx, dim, *, seed: int, param=default, ...) -> array (m,) | Estimate

Every keyword parameter (except `seed` and runner-filled ones such as the oracle's `truth`)
needs a default: the defaults are the parameter schema, mirrored in `configs/<kind>/<name>.yaml`.
"""
from __future__ import annotations

import hashlib
import importlib.util
import inspect
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from . import paths
from .contract import Estimate, Sample, validate_inputs, validate_sample

METHOD, DATASET = "method", "dataset"
#: Parameters the runner fills from the sample instead of the config (never part of a cell's identity).
RUNNER_FILLED = ("truth",)
#: Modules every dataset's truth depends on: their source is part of a dataset's code hash.
DATASET_DEPENDS = ("colosseum.geometry", "colosseum.sampling")


@dataclass(frozen=True)
class Entry:
    """One registered dataset or method: its function, parameter defaults and source."""

    kind: str
    name: str
    func: Callable[..., Any]
    source: Path
    defaults: Mapping[str, Any]
    filled_by_runner: tuple[str, ...] = ()
    depends: tuple[str, ...] = ()

    def code_hash(self) -> str:
        """Hash of the plugin file and of the package modules it declares it depends on."""
        h = hashlib.sha256(self.source.read_bytes())
        for mod in self.depends:
            spec = importlib.util.find_spec(mod)
            if spec is not None and spec.origin:
                h.update(Path(spec.origin).read_bytes())
        return h.hexdigest()[:16]


@dataclass(frozen=True)
class FailedPlugin:
    path: Path
    error: str


@dataclass(frozen=True)
class Method:
    """A configured method: call it as `method(points, eval_idx, dim, seed=0)`."""

    name: str
    params: Mapping[str, Any]
    entry: Entry = field(repr=False)

    def __call__(self, points: Any, eval_idx: Any, dim: int, seed: int = 0) -> np.ndarray:
        return self.estimate(points, eval_idx, dim, seed=seed).values

    def estimate(self, points: Any, eval_idx: Any, dim: int, seed: int = 0) -> Estimate:
        """Validate inputs, run, and check the output shape; returns values and diagnostics."""
        pts, idx, d = validate_inputs(points, eval_idx, dim)
        out = self.entry.func(pts, idx, d, seed=int(seed), **self.params)
        est = out if isinstance(out, Estimate) else Estimate(values=out)
        values = np.asarray(est.values)
        if values.shape != idx.shape:
            raise ValueError(f"method {self.name!r} returned shape {values.shape}, "
                             f"expected {idx.shape} (one estimate per eval row)")
        if not (np.issubdtype(values.dtype, np.floating) or np.issubdtype(values.dtype, np.integer)):
            raise ValueError(f"method {self.name!r} returned dtype {values.dtype}, expected real numbers")
        diagnostics = {}
        for key, val in est.diagnostics.items():
            arr = np.asarray(val)
            if arr.shape != idx.shape:
                raise ValueError(f"method {self.name!r}: diagnostic {key!r} has shape {arr.shape}, "
                                 f"expected {idx.shape}")
            diagnostics[key] = arr
        return Estimate(values=values.astype(np.float64), diagnostics=diagnostics)


_ENTRIES: dict[str, dict[str, Entry]] = {METHOD: {}, DATASET: {}}
_FAILED: dict[Path, FailedPlugin] = {}
_LOADED_FILES: set[Path] = set()
_EXTRA_DIRS: list[Path] = []


def _register(kind: str, name: str, filled: tuple[str, ...], depends: tuple[str, ...]):
    def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
        defaults = _schema(kind, name, func, filled)
        source = Path(inspect.getsourcefile(func) or "<unknown>").resolve()
        old = _ENTRIES[kind].get(name)
        if old is not None and old.source != source:
            raise ValueError(f"{kind} {name!r} is registered twice: in {old.source} and in {source}")
        _ENTRIES[kind][name] = Entry(kind, name, func, source, MappingProxyType(defaults), filled, depends)
        return func

    return decorator


def register_method(name: str, *, needs_truth: bool = False, depends: Iterable[str] = ()):
    """Register `func(points, eval_idx, dim, *, seed, **params)` as method `name`.

    needs_truth: the runner passes the sample's true curvature as `truth=` (the oracle only).
    depends: package modules (e.g. "colosseum.diffusion") whose source belongs to the code hash.
    """
    return _register(METHOD, name, ("truth",) if needs_truth else (), tuple(depends))


def register_dataset(name: str, *, depends: Iterable[str] = ()):
    """Register `func(*, seed, **params) -> Sample` as dataset `name`."""
    return _register(DATASET, name, (), DATASET_DEPENDS + tuple(depends))


def _schema(kind: str, name: str, func: Callable[..., Any], filled: tuple[str, ...]) -> dict[str, Any]:
    sig = inspect.signature(func)
    params = list(sig.parameters.values())
    if kind == METHOD:
        positional = [p.name for p in params[:3]]
        if positional != ["points", "eval_idx", "dim"]:
            raise TypeError(f"method {name!r} must take (points, eval_idx, dim, *, seed, ...), "
                            f"got {positional}")
        params = params[3:]
    names = {p.name for p in params}
    if "seed" not in names:
        raise TypeError(f"{kind} {name!r} must take a keyword argument `seed`")
    defaults = {}
    for p in params:
        if p.name == "seed" or p.name in filled:
            continue
        if p.kind is not inspect.Parameter.KEYWORD_ONLY:
            raise TypeError(f"{kind} {name!r}: parameter {p.name!r} must be keyword-only (after `*`)")
        if p.default is inspect.Parameter.empty:
            raise TypeError(f"{kind} {name!r}: parameter {p.name!r} needs a default")
        defaults[p.name] = p.default
    return defaults


# ----------------------------------------------------------------------------- discovery

def add_plugin_dirs(dirs: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> None:
    """Add folders whose `.py` files register datasets or methods (loaded on next use).

    Takes one folder or a list of folders; all are checked before any is added.
    """
    if isinstance(dirs, (str, os.PathLike)):
        dirs = [dirs]
    resolved = [Path(d).expanduser().resolve() for d in dirs]
    missing = [str(d) for d, p in zip(dirs, resolved) if not p.is_dir()]
    if missing:
        raise ValueError("; ".join(f"plugin folder {m!r} does not exist" for m in missing))
    for p in resolved:
        if p not in _EXTRA_DIRS:
            _EXTRA_DIRS.append(p)


def plugin_dirs() -> list[Path]:
    """Every folder searched for plugins, built-in ones first."""
    env = [Path(s).expanduser().resolve()
           for s in os.environ.get("COLOSSEUM_PLUGIN_DIRS", "").split(os.pathsep) if s]
    out: list[Path] = []
    for d in [paths.DATASETS, paths.METHODS, *env, *_EXTRA_DIRS]:
        for sub in (d, d / "datasets", d / "methods"):
            if sub.is_dir() and sub not in out:
                out.append(sub)
    return out


def _plugin_files() -> list[Path]:
    files = []
    for d in plugin_dirs():
        files += sorted(f.resolve() for f in d.glob("*.py")
                        if not f.name.startswith(("_", "template_", "test_")))
    return files


def _load_file(path: Path) -> None:
    tag = hashlib.sha256(str(path.parent).encode()).hexdigest()[:8]
    modname = f"colosseum_plugins.p{tag}.{path.stem}"
    try:
        spec = importlib.util.spec_from_file_location(modname, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[modname] = module
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - a broken plugin must not break listing
        sys.modules.pop(modname, None)
        tail = traceback.format_exc(limit=-3)
        _FAILED[path] = FailedPlugin(path, f"{type(exc).__name__}: {exc}\n{tail}")
    finally:
        _LOADED_FILES.add(path)


def _discover() -> None:
    for f in _plugin_files():
        if f not in _LOADED_FILES:
            _load_file(f)


def failed_plugins() -> list[FailedPlugin]:
    """Plugin files that could not be imported, with their errors."""
    _discover()
    return list(_FAILED.values())


# ----------------------------------------------------------------------------- lookup

def list_methods() -> list[str]:
    _discover()
    return sorted(_ENTRIES[METHOD])


def list_datasets() -> list[str]:
    _discover()
    return sorted(_ENTRIES[DATASET])


def entry(kind: str, name: str) -> Entry:
    """The registry entry for `name`; ValueError listing the known names when there is none."""
    _discover()
    table = _ENTRIES[kind]
    if name not in table:
        msg = f"unknown {kind} {name!r}; known {kind}s: {', '.join(sorted(table)) or '(none)'}"
        if _FAILED:
            msg += "; plugin files that failed to import: " + ", ".join(
                f"{f.path.name} ({f.error.splitlines()[0]})" for f in _FAILED.values())
        raise ValueError(msg)
    return table[name]


def _bind(e: Entry, params: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(params) - set(e.defaults) - set(e.filled_by_runner)
    if unknown:
        raise ValueError(f"{e.kind} {e.name!r} has no parameter(s) {sorted(unknown)}; "
                         f"it takes {sorted(e.defaults) + list(e.filled_by_runner)}")
    missing = [k for k in e.filled_by_runner if k not in params]
    if missing:
        raise ValueError(f"{e.kind} {e.name!r} needs {missing} (the runner fills them from the sample)")
    return {**e.defaults, **params}


def make_method(name: str, **params: Any) -> Method:
    """A configured method; unknown names or parameters raise ValueError."""
    e = entry(METHOD, name)
    return Method(name=name, params=MappingProxyType(_bind(e, params)), entry=e)


def make_dataset(name: str, seed: int = 0, **params: Any) -> Sample:
    """Draw dataset `name` for `seed`; the result is validated and its meta names the draw."""
    e = entry(DATASET, name)
    bound = _bind(e, params)
    sample = e.func(seed=int(seed), **bound)
    if not isinstance(sample, Sample):
        raise TypeError(f"dataset {name!r} returned {type(sample).__name__}, expected Sample")
    sample = validate_sample(sample, source=f"dataset {name!r}")
    meta = {"name": name, "seed": int(seed), "params": bound, "zero_tol": bound.get("zero_tol", 0.0),
            **sample.meta}
    return Sample(sample.points, sample.eval_idx, sample.curvature, sample.dim, meta)
