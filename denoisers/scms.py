"""scms: subspace-constrained mean shift (Ozertem & Erdogmus, JMLR 2011); the core is colosseum.denoising.scms."""
from typing import Annotated

from colosseum.params import Count, Positive, Range
from colosseum.registry import register_denoiser


@register_denoiser("scms")
def scms(points, dim, *, seed: int, k: Annotated[int, Range(ge=3)] = 50, bandwidth: Positive = 1.0,
         k_h: Count = 15, max_iter: Count = 30, tol: Positive = 1e-3):
    from colosseum.denoising import scms as core
    return core.scms_projection(points, dim, k=k, bandwidth=bandwidth, k_h=k_h, max_iter=max_iter, tol=tol)
