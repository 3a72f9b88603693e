"""hickok_blumberg: scalar curvature from the growth of geodesic-ball volumes, calibrated against flat clouds
(reference: Hickok & Blumberg, arXiv 2308.02615; aghickok/curvature); the estimator, its flat
calibration and the measurements behind it are in colosseum.estimators.ball_volume."""
from typing import Annotated, Literal

from colosseum.params import Count, NonNegativeInt, Positive, Range
from colosseum.registry import register_method


@register_method("hickok_blumberg")
def hickok_blumberg(points, eval_idx, dim, *, seed: int, n_nbrs: Count = 20, r_max: Positive = 1.0,
                    bandwidth: Positive = 1.0, boundary: bool = True, n_directions: Count = 256,
                    fit: Literal["least_squares", "paper"] = "least_squares", flat_trials: NonNegativeInt = 4,
                    flat_noise: bool = True, min_ball: Annotated[int, Range(ge=2)] = 20):
    from colosseum.estimators import ball_volume
    return ball_volume.ball_volume_curvature(points, eval_idx, dim, seed=seed, n_nbrs=n_nbrs, r_max=r_max,
                                             bandwidth=bandwidth, boundary=boundary, n_directions=n_directions,
                                             fit=fit, flat_trials=flat_trials, flat_noise=flat_noise,
                                             min_ball=min_ball)
