"""tangent_pca: iterated local-PCA tangent projection (Little, Maggioni & Rosasco, ACHA 2017); the core is
colosseum.denoising.tangent."""
from typing import Annotated

from colosseum.params import Count, Range
from colosseum.registry import register_denoiser


@register_denoiser("tangent_pca")
def tangent_pca(points, dim, *, seed: int, k: Annotated[int, Range(ge=3)] = 30, iterations: Count = 2):
    from colosseum.denoising import tangent
    return tangent.tangent_projection(points, dim, k=k, iterations=iterations)
