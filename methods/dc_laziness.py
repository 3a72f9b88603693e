"""dc_laziness: diffusion laziness (diffusion curvature v1), the mass of x's t-step walk kept in its
neighbourhood minus the same at a flat centre (reference Bhaskar et al., NeurIPS 2022, arXiv 2206.03977;
professorwug/diffusion-curvature-old @ e9a503c); the algorithm, its differences from the
reference and its measured behaviour are in colosseum.estimators.laziness."""
from typing import Annotated, Literal

from colosseum.params import Count, NonNegativeInt, Positive, Probability, Range
from colosseum.registry import register_method


@register_method("dc_laziness")
def dc_laziness(points, eval_idx, dim, *, seed: int, t: Count = 8, knn: Annotated[int, Range(ge=2)] = 120,
                tolerance: NonNegativeInt = 5, alpha: Probability = 1.0,
                kernel: Literal["agnostic", "adaptive"] = "agnostic", neighbourhood: Positive = 2.0,
                comparison: Literal["uniform", "cube"] = "uniform", comparison_trials: Count = 3,
                dim_source: Literal["given", "local_pca"] = "given"):
    from colosseum.estimators import flat, laziness
    return laziness.laziness_curvature(points, eval_idx, dim, seed=seed, comparison=flat.flat_space(comparison), t=t,
                                       knn=knn, tolerance=tolerance, alpha=alpha, kernel=kernel,
                                       neighbourhood=neighbourhood, comparison_trials=comparison_trials,
                                       dim_source=dim_source)
