"""diffusion: diffusion smoothing of the coordinates, X <- P^t X (MAGIC, van Dijk et al., Cell 2018); the core
is colosseum.denoising.diffusion."""
from typing import Annotated

from colosseum.params import Count, Probability, Range
from colosseum.registry import register_denoiser


@register_denoiser("diffusion")
def diffusion(points, dim, *, seed: int, knn: Annotated[int, Range(ge=2)] = 10, t: Count = 3,
              alpha: Probability = 1.0):
    from colosseum.denoising import diffusion as core
    return core.diffusion_smoothing(points, dim, knn=knn, t=t, alpha=alpha)
