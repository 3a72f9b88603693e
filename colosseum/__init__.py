"""Curvature Colosseum: does a curvature estimator get the sign of scalar curvature right?

Public API (see DESIGN.md): `registry` (datasets and methods), `geometry` (exact truth),
`results` (tidy tables), `scoring` (metrics), `compare` (run against run).
"""
from . import geometry, registry, results, scoring
from .contract import Estimate, Sample, SkipCell, validate_inputs
from .registry import register_dataset, register_method

__all__ = ["Estimate", "Sample", "SkipCell", "geometry", "register_dataset", "register_method", "registry",
           "results", "scoring", "validate_inputs"]
__version__ = "0.1.0"
