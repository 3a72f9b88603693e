"""diffusion_orc: signed Wasserstein contraction 1 - W1(P^t delta_i, P^t delta_j) / d(i, j) of diffusion measures,
averaged over partners j (reference: the DC repo's `diffusion_curvature/wasserstein_signed.py`,
`WassersteinSignedCurvature` / `DiffusionORC`); the algorithm and its differences from the reference are in
colosseum.estimators.diffusion_orc."""
from typing import Annotated, Literal

from colosseum.params import Count, Positive, Probability, Range
from colosseum.registry import register_method


@register_method("diffusion_orc")
def diffusion_orc(points, eval_idx, dim, *, seed: int, t: Count = 8, knn: Annotated[int, Range(ge=2)] = 10,
                  alpha: Probability = 1.0, n_pairs: Count = 8, band_lo: Positive = 0.75, band_hi: Positive = 1.25,
                  support_mass: Annotated[float, Range(gt=0, le=1)] = 0.999, max_support: Count = 384,
                  output: Literal["kappa", "scalar"] = "kappa"):
    from colosseum.estimators import diffusion_orc as core
    return core.diffusion_orc_curvature(points, eval_idx, dim, seed=seed, t=t, knn=knn, alpha=alpha, n_pairs=n_pairs,
                                        band_lo=band_lo, band_hi=band_hi, support_mass=support_mass,
                                        max_support=max_support, output=output)
