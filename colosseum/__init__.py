"""Curvature Colosseum: does a curvature estimator get the sign of scalar curvature right?

Public API (docs/DESIGN.md): `registry` (datasets and methods), `geometry` (exact truth), `results`
(tidy tables), `scoring` (metrics), `compare` (run against run), and the plugin contract: `Sample`,
`Estimate`, `SkipCell`, `register_dataset`, `register_method`. The heavy modules (JAX, pandas) are
imported when first used, so that importing a plugin's decorators stays cheap.
"""
from importlib import import_module

from .contract import Estimate, Sample, SkipCell, validate_inputs
from .registry import register_dataset, register_method

_SUBMODULES = ("geometry", "registry", "results", "scoring", "compare")
__all__ = ["Estimate", "Sample", "SkipCell", "register_dataset", "register_method", "validate_inputs",
           *_SUBMODULES]
__version__ = "0.1.0"


def __getattr__(name: str):
    if name in _SUBMODULES:
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module 'colosseum' has no attribute {name!r}")
