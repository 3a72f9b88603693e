"""diffusion_geometry: scalar curvature by Jones's diffusion geometry (arXiv 2411.04100; reference
Iolo-Jones/ManifoldDiffusionGeometry `Scalar_Curvature`): the carré du champ of an adaptive diffusion
Laplacian gives tangent spaces and, iterated, the second fundamental form; the Gauss equation gives S,
band-limited to the Laplacian's first n0 eigenfunctions. The algorithm, its sparse form and its
deviations from the reference are in colosseum.estimators.diffusion_geometry.

Output in scalar-curvature units (unit S²: 2). Every point is computed (band-limiting is global) and
the evaluation rows are returned. The seed fixes the eigensolver's start vector and the subsample that
places its filter, so a result is reproducible. Defaults are the authors' (n0 = 50, k = 32, k_ep = 8,
c = 0). Diagnostics: `unbandlimited` (S before the last band-limiting) and `metric_scale` (the mean
top-d eigenvalue of the band-limited Γ over its median: ~1 where the tangent frame is well defined).
"""
from typing import Annotated

import numpy as np

from colosseum.params import NonNegativeInt, Range
from colosseum.registry import register_method


@register_method("diffusion_geometry", scalar_units=True)
def diffusion_geometry(points, eval_idx, dim, *, seed: int, n0: Annotated[int, Range(ge=2)] = 50,
                       k: Annotated[int, Range(ge=2)] = 32, k_ep: Annotated[int, Range(ge=2)] = 8,
                       c: float = 0.0, frame_normals: NonNegativeInt = 8):
    from colosseum.contract import Estimate
    from colosseum.estimators import diffusion_geometry as dg

    res = dg.scalar_curvature(points, dim, n0=n0, k=k, k_ep=k_ep, c=c, frame_normals=frame_normals, seed=seed)
    rows = np.asarray(eval_idx)
    return Estimate(res.scalar[rows], {"unbandlimited": res.raw[rows], "metric_scale": res.metric[rows]})
