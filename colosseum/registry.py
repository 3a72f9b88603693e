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
needs a default. Defaults and annotations are the parameter schema (`colosseum.params`): values are
coerced and checked against it before anything runs, and it is mirrored in
`configs/<kind>/<name>.yaml`. A plugin's code identity is its import closure (`colosseum.codehash`).
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

from . import codehash, corruptions, paths, sources
from .contract import Estimate, Sample, validate_denoised, validate_estimate, validate_inputs
from .params import ParamError, ParamType, coerce_seed, signature_types

METHOD, DATASET, DENOISER = "method", "dataset", "denoiser"
#: The denoiser that leaves the cloud as it is: reserved, no plugin, no code of its own.
NO_DENOISER = "none"
#: Parameters the runner fills from the sample instead of the config (never part of a cell's identity).
RUNNER_FILLED = ("truth",)


@dataclass(frozen=True)
class Entry:
    """One registered dataset or method: its function, parameter schema (defaults and types) and source."""

    kind: str
    name: str
    func: Callable[..., Any]
    source: Path
    defaults: Mapping[str, Any]
    types: Mapping[str, ParamType] = field(default_factory=dict)
    filled_by_runner: tuple[str, ...] = ()
    #: methods only: whether the runner may ask it for a neighbourhood of rows to smooth results (smooth_t)
    smoothable: bool = True
    #: methods only: whether its estimates are scalar curvature (so calibration slopes and Pearson against the
    #: truth mean something): a bool, or a function of the method's parameters for a method whose `output`
    #: parameter decides
    scalar_units: bool | Callable[[Mapping[str, Any]], bool] = False

    def in_scalar_units(self, params: Mapping[str, Any]) -> bool:
        """Whether this method, with these parameters, estimates scalar curvature itself."""
        units = self.scalar_units
        return bool(units(params) if callable(units) else units)

    def code_hash(self) -> str:
        """Hash of the plugin file's import closure: the file and every project module it reaches."""
        return codehash.code_hash(self.source)

    def code_files(self) -> list[str]:
        """The files of that closure, by name (the plugin file first)."""
        return [codehash.label(p) for p in codehash.closure(self.source)]

    def bind(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The complete parameters: defaults filled in, every value coerced to its declared type.

        Unknown names and values the schema rejects raise ParamError (a ValueError), one line each."""
        unknown = set(params) - set(self.defaults) - set(self.filled_by_runner)
        if unknown:
            raise ParamError(f"{self.kind} {self.name!r} has no parameter(s) {sorted(unknown)}; "
                             f"it takes {sorted(self.defaults) + list(self.filled_by_runner)}")
        missing = [k for k in self.filled_by_runner if k not in params]
        if missing:
            raise ParamError(f"{self.kind} {self.name!r} needs {missing} (the runner fills them from the sample)")
        out, problems = dict(self.defaults), []
        for key, value in params.items():
            if key in self.filled_by_runner:
                out[key] = value
                continue
            try:
                out[key] = self.types[key].coerce(value, f"parameter {key!r}")
            except ParamError as exc:
                problems.append(str(exc))
        if problems:
            raise ParamError(f"{self.kind} {self.name!r}: " + "; ".join(problems))
        return out


@dataclass(frozen=True)
class FailedPlugin:
    path: Path
    error: str
    #: it registered a name another plugin file holds: an error for every sweep, not only for its own names
    duplicate: bool = False


class DuplicateName(ValueError):
    """Two plugin files register the same name of one kind."""


@dataclass(frozen=True)
class Method:
    """A configured method: call it as `method(points, eval_idx, dim, seed=0)`."""

    name: str
    params: Mapping[str, Any]
    entry: Entry = field(repr=False)

    def __call__(self, points: Any, eval_idx: Any, dim: int, seed: int = 0) -> np.ndarray:
        return self.estimate(points, eval_idx, dim, seed=seed).values

    def estimate(self, points: Any, eval_idx: Any, dim: int, seed: int = 0) -> Estimate:
        """Validate inputs, run, and check the output; returns values and diagnostics (float64)."""
        pts, idx, d = validate_inputs(points, eval_idx, dim)
        out = self.entry.func(pts, idx, d, seed=coerce_seed(seed), **self.params)
        return validate_estimate(out, idx.shape, f"method {self.name!r}")


@dataclass(frozen=True)
class Denoiser:
    """A configured denoiser: `denoiser(points, dim, seed=0)` returns the cloud moved toward its manifold,
    checked: the same shape, finite, and the same rows in the same order."""

    name: str
    params: Mapping[str, Any]
    entry: Entry | None = field(default=None, repr=False)

    def __call__(self, points: Any, dim: int, seed: int = 0) -> np.ndarray:
        pts, _, d = validate_inputs(points, np.zeros(1, dtype=np.int64), dim)
        if self.entry is None:  # "none"
            return pts
        out = self.entry.func(pts, d, seed=coerce_seed(seed), **self.params)
        return validate_denoised(out, pts, f"denoiser {self.name!r}")


_ENTRIES: dict[str, dict[str, Entry]] = {METHOD: {}, DATASET: {}, DENOISER: {}}
_FAILED: dict[Path, FailedPlugin] = {}
_LOADED_FILES: set[Path] = set()
_EXTRA_DIRS: list[Path] = []


def _register(kind: str, name: str, filled: tuple[str, ...], smoothable: bool = True,
              scalar_units: bool | Callable[[Mapping[str, Any]], bool] = False):
    if kind == DENOISER and name == NO_DENOISER:
        raise ValueError(f"denoiser name {NO_DENOISER!r} is reserved for leaving the cloud as it is")

    def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
        defaults = _schema(kind, name, func, filled)
        types = signature_types(func, list(defaults), defaults)
        if kind == DATASET:  # every dataset also takes the shared corruptions (outliers, noise_spread)
            for key, (default, ptype) in corruptions.shared_parameters(name, defaults).items():
                defaults[key], types[key] = default, ptype
        for key, default in defaults.items():
            try:
                types[key].coerce(default, f"{kind} {name!r}: the default of {key!r}")
            except ParamError as exc:
                raise TypeError(str(exc)) from None
        source = Path(inspect.getsourcefile(func) or "<unknown>").resolve()
        old = _ENTRIES[kind].get(name)
        if old is not None and old.source != source:
            raise DuplicateName(f"{kind} {name!r} is registered twice: in {old.source} and in {source}; "
                                "rename one of them")
        _ENTRIES[kind][name] = Entry(kind, name, func, source, MappingProxyType(defaults),
                                     MappingProxyType(types), filled, smoothable, scalar_units)
        return func

    return decorator


def register_method(name: str, *, needs_truth: bool = False, smoothable: bool = True,
                    scalar_units: bool | Callable[[Mapping[str, Any]], bool] = False):
    """Register `func(points, eval_idx, dim, *, seed, **params)` as method `name`.

    needs_truth: the runner passes the sample's true curvature as `truth=` (the oracle only).
    smoothable: False declines result smoothing (smooth_t > 0), which evaluates a whole neighbourhood of
    rows around each evaluation row: for methods whose cost per row makes that unaffordable.
    scalar_units: True when the estimates are scalar curvature itself (the report's calibration and
    Pearson are about them), or a function of the parameters deciding it (`lambda p: p["output"] == ...`).
    """
    return _register(METHOD, name, ("truth",) if needs_truth else (), smoothable, scalar_units)


def register_denoiser(name: str):
    """Register `func(points, dim, *, seed, **params) -> points` as denoiser `name`: it returns an array of the
    same shape, the same rows in the same order, moved toward the manifold."""
    return _register(DENOISER, name, ())


def register_dataset(name: str):
    """Register `func(*, seed, **params) -> Sample` as dataset `name`."""
    return _register(DATASET, name, ())


def _schema(kind: str, name: str, func: Callable[..., Any], filled: tuple[str, ...]) -> dict[str, Any]:
    sig = inspect.signature(func)
    params = list(sig.parameters.values())
    leading = {METHOD: ["points", "eval_idx", "dim"], DENOISER: ["points", "dim"]}.get(kind, [])
    if leading:
        positional = [p.name for p in params[:len(leading)]]
        if positional != leading:
            raise TypeError(f"{kind} {name!r} must take ({', '.join(leading)}, *, seed, ...), got {positional}")
        params = params[len(leading):]
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


def user_plugin_dirs() -> list[Path]:
    """The plugin folders beyond the built-in ones: COLOSSEUM_PLUGIN_DIRS, then those added."""
    env = [Path(s).expanduser().resolve()
           for s in os.environ.get("COLOSSEUM_PLUGIN_DIRS", "").split(os.pathsep) if s]
    return [*env, *(d for d in _EXTRA_DIRS if d not in env)]


def plugin_dirs() -> list[Path]:
    """Every folder searched for plugins, built-in ones first."""
    out: list[Path] = []
    for d in [paths.DATASETS, paths.METHODS, paths.DENOISERS, *user_plugin_dirs()]:
        for sub in (d, d / "datasets", d / "methods", d / "denoisers"):
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
    """Execute a plugin file from bytes read once (recorded: `colosseum.sources`); a file that raises, or
    registers a name another file holds, is a failed plugin and keeps none of its registrations."""
    tag = hashlib.sha256(str(path.parent).encode()).hexdigest()[:8]
    modname = f"colosseum_plugins.p{tag}.{path.stem}"
    before = {kind: dict(table) for kind, table in _ENTRIES.items()}
    try:
        spec = importlib.util.spec_from_file_location(modname, path)
        assert spec is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[modname] = module
        source = path.read_bytes()
        sources.record(path, source)
        exec(compile(source, str(path), "exec", dont_inherit=True), module.__dict__)
    except Exception as exc:  # noqa: BLE001 - a broken plugin must not break listing
        sys.modules.pop(modname, None)
        for kind, table in before.items():
            _ENTRIES[kind] = table
        tail = traceback.format_exc(limit=-3)
        _FAILED[path] = FailedPlugin(path, f"{type(exc).__name__}: {exc}\n{tail}",
                                     duplicate=isinstance(exc, DuplicateName))
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


def check_duplicates() -> None:
    """DuplicateName (one line naming both files) when a plugin file registers a name another file holds:
    which of the two would run depends on the order of discovery, so a sweep refuses to start."""
    clashes = [f for f in failed_plugins() if f.duplicate]
    if clashes:
        raise DuplicateName("; ".join(f.error.splitlines()[0].split(": ", 1)[1] for f in clashes))


# ----------------------------------------------------------------------------- lookup

def list_methods() -> list[str]:
    _discover()
    return sorted(_ENTRIES[METHOD])


def list_datasets() -> list[str]:
    _discover()
    return sorted(_ENTRIES[DATASET])


def list_denoisers() -> list[str]:
    """Every registered denoiser, "none" (the cloud as it is) first."""
    _discover()
    return [NO_DENOISER, *sorted(_ENTRIES[DENOISER])]


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


def make_denoiser(name: str, **params: Any) -> Denoiser:
    """A configured denoiser ("none" leaves the cloud as it is); unknown names or parameters raise ValueError."""
    if name == NO_DENOISER:
        if params:
            raise ParamError(f"denoiser {NO_DENOISER!r} takes no parameters, got {sorted(params)}")
        return Denoiser(NO_DENOISER, MappingProxyType({}))
    e = entry(DENOISER, name)
    return Denoiser(name=name, params=MappingProxyType(e.bind(params)), entry=e)


def make_method(name: str, **params: Any) -> Method:
    """A configured method; unknown names or parameters raise ValueError."""
    e = entry(METHOD, name)
    return Method(name=name, params=MappingProxyType(e.bind(params)), entry=e)


def make_dataset(name: str, seed: int = 0, **params: Any) -> Sample:
    """Draw dataset `name` for `seed`; the result is validated and its meta names the draw."""
    e = entry(DATASET, name)
    bound = e.bind(params)
    # the dataset's own draw, then the shared corruptions its parameters ask for (validated Sample)
    sample = corruptions.draw(e.func, coerce_seed(seed), bound, source=f"dataset {name!r}")
    meta = {"name": name, "seed": coerce_seed(seed), "params": bound, "zero_tol": bound.get("zero_tol", 0.0),
            **sample.meta}
    return Sample(sample.points, sample.eval_idx, sample.curvature, sample.dim, meta)
