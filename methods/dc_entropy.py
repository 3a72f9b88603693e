"""dc_entropy: DC2, the diffusion entropy at x against a flat comparison at a matched diffusion-trajectory
length (reference professorwug/diffusion-curvature @ 1834e35); the algorithm, its
deliberate differences from the reference and its measured behaviour are in colosseum.estimators.dc2."""
from typing import Annotated, Literal

from colosseum.params import Count, NonNegativeInt, Probability, Range
from colosseum.registry import register_method


@register_method("dc_entropy")
def dc_entropy(points, eval_idx, dim, *, seed: int, knn: Annotated[int, Range(ge=2)] = 120,
               tolerance: NonNegativeInt = 5, alpha: Probability = 0.0, t_max: Annotated[int, Range(ge=2)] = 39,
               locality: Annotated[float, Range(gt=0, le=1)] = 0.9, comparison: Literal["uniform", "cube"] = "uniform",
               comparison_trials: Count = 3, dim_source: Literal["given", "local_pca"] = "given",
               match: Literal["trajectory", "time"] = "trajectory"):
    from colosseum.estimators import dc2, flat
    return dc2.entropy_curvature(points, eval_idx, dim, seed=seed, comparison=flat.flat_space(comparison), knn=knn,
                                 tolerance=tolerance, alpha=alpha, t_max=t_max, locality=locality,
                                 comparison_trials=comparison_trials, dim_source=dim_source, match=match)
