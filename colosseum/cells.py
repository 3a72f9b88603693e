"""A cell, the unit of work: (dataset config, method config, seed) and its identity.

`CellSpec.key` names the configuration alone (dataset + method + complete, typed parameters + seed):
cells of different runs or machines line up by it. `CellSpec.cell_id` also hashes the code of the
dataset and of the method (each plugin's import closure, `colosseum.codehash`), so editing a file in
that closure recomputes exactly the cells that reach it. Parameters are coerced to their declared
types before hashing (`colosseum.params`): `n_points=300` and `n_points=300.0` are one cell.
"""
from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from . import registry
from .params import ParamType, Range, coerce_seed


def _canonical(value: Any, in_list: bool = False) -> Any:
    """A parameter value in a form that hashes the same on every machine (floats by repr, keys sorted).

    One computation, one form: -0.0 is 0.0, and inside a list a number is a number whatever its Python type
    (`[1, 2]` and `[1.0, 2]` are one value; a list parameter's declared element type is applied before)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, np.integer)) and not in_list:
        return int(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        f = float(value) + 0.0  # -0.0 + 0.0 is 0.0
        return repr(f) if math.isfinite(f) else str(f)
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [_canonical(v, in_list=True) for v in value]
    return str(value)


def digest(obj: Any) -> str:
    """16 hex digits of the SHA-256 of an object's canonical JSON."""
    return hashlib.sha256(json.dumps(_canonical(obj), sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True, eq=False)
class CellSpec:
    """What to compute; parameters are complete (registry defaults filled in), typed and plain Python.

    code: the code hash of each part ("dataset", "method", "denoise"): the import closure of its plugin file.
    reads: {file label: content digest} of the further project and plugin files the parts were seen to read
    when they ran (`colosseum.trace`: a data file beside a method, a module reached by attribute or importlib);
    empty for most cells. Both are part of `cell_id`, and two specs are equal exactly when their ids are."""

    dataset: str
    dataset_params: Mapping[str, Any]
    method: str
    method_params: Mapping[str, Any]
    seed: int
    code: Mapping[str, str] = field(default_factory=dict)
    #: the denoiser applied to the cloud before the method ("none": the cloud as drawn) and its parameters
    denoise: str = registry.NO_DENOISER
    denoise_params: Mapping[str, Any] = field(default_factory=dict)
    #: diffusion steps of result smoothing over the cloud's kNN graph (0: none)
    smooth_t: int = 0
    reads: Mapping[str, str] = field(default_factory=dict)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CellSpec) and self.cell_id == other.cell_id

    def __hash__(self) -> int:
        return hash(self.cell_id)

    def with_reads(self, reads: Mapping[str, str]) -> CellSpec:
        """The same cell with these further files read (their labels and digests) in its identity."""
        return replace(self, reads=dict(sorted(reads.items())))

    @classmethod
    def create(cls, dataset: str, dataset_params: Mapping[str, Any], method: str,
               method_params: Mapping[str, Any], seed: Any, denoise: str = registry.NO_DENOISER,
               denoise_params: Mapping[str, Any] | None = None, smooth_t: Any = 0) -> CellSpec:
        """Fill in defaults, coerce every value to its type and record the code hashes.

        Unknown names, unknown parameters and values their types reject raise ValueError (one line)."""
        d, m = registry.entry(registry.DATASET, dataset), registry.entry(registry.METHOD, method)
        mparams = {k: v for k, v in method_params.items() if k not in m.filled_by_runner}
        mparams = m.bind({**mparams, **{k: None for k in m.filled_by_runner}})
        mparams = {k: v for k, v in mparams.items() if k not in m.filled_by_runner}
        code = {"dataset": d.code_hash(), "method": m.code_hash()}
        dn = registry.make_denoiser(denoise, **dict(denoise_params or {}))
        if dn.entry is not None:
            code["denoise"] = dn.entry.code_hash()
        smooth = ParamType(int, range=Range(ge=0)).coerce(smooth_t, "setting 'smooth_t'")
        return cls(dataset, d.bind(dict(dataset_params)), method, mparams, coerce_seed(seed), code,
                   denoise, dict(dn.params), smooth)

    @property
    def method_seed(self) -> int:
        """The seed the method gets: drawn from the cell's seed and the dataset configuration.

        Datasets fix their truth by seed (the quadric's sign follows the seed's parity), so a method
        seeded with the cell's seed alone would make the same random choices (its flat comparison
        draws, say) in every configuration with that seed, and those choices would line up with the
        truth: in the first battery dc_peer called every seed-1 surface negative and every seed-0
        one positive, whatever the dimension, codimension or noise."""
        return int(digest({"seed": self.seed, "dataset": self.dataset, "dataset_params": self.dataset_params,
                           "purpose": "method"})[:8], 16) % 2**31  # fits any seed type (int32 JAX keys too)

    @property
    def denoise_seed(self) -> int:
        """The denoiser's seed, drawn like `method_seed` (denoisers of one draw share it)."""
        return int(digest({"seed": self.seed, "dataset": self.dataset, "dataset_params": self.dataset_params,
                           "purpose": "denoise"})[:8], 16) % 2**31

    @property
    def key(self) -> str:
        return digest({"dataset": self.dataset, "dataset_params": self.dataset_params,
                       "method": self.method, "method_params": self.method_params, "seed": self.seed,
                       "method_seed": self.method_seed, "denoise": self.denoise,
                       "denoise_params": self.denoise_params, "smooth_t": self.smooth_t})

    @property
    def cell_id(self) -> str:
        return digest({"key": self.key, "code": self.code, **({"reads": self.reads} if self.reads else {})})

    @property
    def draw_key(self) -> str:
        """What the dataset draw depends on: every cell with this key shares one draw."""
        return digest({"dataset": self.dataset, "params": self.dataset_params, "seed": self.seed,
                       "code": self.code.get("dataset", "")})

    @property
    def denoised_key(self) -> str:
        """What the cloud a method sees depends on: the draw and the denoiser."""
        return digest({"draw": self.draw_key, "denoise": self.denoise, "params": self.denoise_params,
                       "code": self.code.get("denoise", "")})

    def label(self) -> str:
        """Short human name: parameters that differ from the registered defaults are shown."""
        def changed(kind: str, name: str, params: Mapping[str, Any]) -> str:
            try:
                defaults = registry.entry(kind, name).defaults
            except ValueError:
                defaults = {}
            diff = [f"{k}={v}" for k, v in params.items() if _canonical(defaults.get(k)) != _canonical(v)]
            return f"{name}({', '.join(diff)})" if diff else name
        stages = ""
        if self.denoise != registry.NO_DENOISER:
            stages += f" × {changed(registry.DENOISER, self.denoise, self.denoise_params)}"
        if self.smooth_t:
            stages += f" smooth_t={self.smooth_t}"
        return (f"{changed(registry.DATASET, self.dataset, self.dataset_params)}{stages} × "
                f"{changed(registry.METHOD, self.method, self.method_params)} seed={self.seed}")

    def to_dict(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "dataset_params": dict(self.dataset_params), "method": self.method,
                "method_params": dict(self.method_params), "seed": self.seed, "code": dict(self.code),
                "denoise": self.denoise, "denoise_params": dict(self.denoise_params), "smooth_t": self.smooth_t,
                **({"reads": dict(self.reads)} if self.reads else {})}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CellSpec:
        return cls(d["dataset"], dict(d["dataset_params"]), d["method"], dict(d["method_params"]), int(d["seed"]),
                   dict(d.get("code", {})), d.get("denoise", registry.NO_DENOISER), dict(d.get("denoise_params", {})),
                   int(d.get("smooth_t", 0)), dict(d.get("reads", {})))

    def manifest_entry(self) -> dict[str, Any]:
        """What a manifest records of this cell."""
        return {"cell_id": self.cell_id, "cell_key": self.key, "label": self.label(), "dataset": self.dataset,
                "method": self.method, "seed": self.seed, "denoise": self.denoise, "smooth_t": self.smooth_t}
