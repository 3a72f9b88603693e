"""dc_wasserstein: the Wasserstein spread of the diffusion at x against a flat comparison space, k = 1 - W_M / W_E
(reference: the PyPI package diffusion-curvature 0.0.3, Bhaskar et al., re-implemented with seeded flat draws and
fast backends); the algorithm and its backends are in colosseum.estimators.spread."""
from typing import Annotated, Literal

from colosseum.params import Count, NonNegativeInt, Positive, Probability, Range
from colosseum.registry import register_method


@register_method("dc_wasserstein")
def dc_wasserstein(points, eval_idx, dim, *, seed: int, t: Count = 8, knn: Count = 30, decay: Positive = 40.0,
                   thresh: Annotated[float, Range(gt=0, lt=1)] = 1e-4, anisotropy: Probability = 1.0,
                   eps: Positive = 1e-6, comparison: Literal["uniform", "cube"] = "uniform",
                   comparison_trials: Count = 3, support_mass: Annotated[float, Range(gt=0, le=1)] = 0.999,
                   max_support: NonNegativeInt = 0, backend: Literal["auto", "dense", "local"] = "auto"):
    from colosseum.estimators import flat, spread
    return spread.wasserstein_curvature(points, eval_idx, dim, seed=seed, comparison=flat.flat_space(comparison), t=t,
                                        knn=knn, decay=decay, thresh=thresh, anisotropy=anisotropy, eps=eps,
                                        comparison_trials=comparison_trials, support_mass=support_mass,
                                        max_support=max_support, backend=backend)
