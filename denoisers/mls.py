"""mls: moving least squares onto local quadrics (Levin 2004; Alexa et al. 2003; Sober & Levin 2020, MMLS);
the core is colosseum.denoising.mls."""
from typing import Annotated

from colosseum.params import Count, Range
from colosseum.registry import register_denoiser


@register_denoiser("mls")
def mls(points, dim, *, seed: int, k: Annotated[int, Range(ge=8)] = 60, iterations: Count = 1):
    from colosseum.denoising import mls as core
    return core.mls_projection(points, dim, k=k, iterations=iterations)
