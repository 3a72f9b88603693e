"""hickok_blumberg: scalar curvature from the growth of geodesic-ball volumes (reference: Hickok & Blumberg,
arXiv 2308.02615; aghickok/curvature), and hickok_blumberg_calibrated, this project's variant; the
estimator, the calibration and the measurements behind both are in colosseum.estimators.ball_volume.

`hickok_blumberg` is the authors' estimator: their fit (the paper's Riemann sum, `version=2`), their 20
neighbours whatever the dimension, the tutorial's radius pi/2 (in units of the cloud's radius of
gyration, exactly 1 on their unit sphere), no boundary cap and no flat calibration. On a unit S^2 of 1000
points it gives 2.99 +- 0.20 (truth 2; the tutorial reports 2.92). Without boundary handling its balls
leave a bounded patch, which reads as positive curvature. `hickok_blumberg_calibrated` caps the radius at
the estimated boundary distance, doubles the neighbours per extra dimension, fits by least squares and
subtracts the same estimator on flat clouds of matched density: it is unbiased on patches but, at 1000
points, removes part of the true curvature on a closed sphere (mean 1.8, sd 2.4 there)."""
import math
from typing import Annotated, Literal

from colosseum.params import Count, NonNegativeInt, Positive, Range
from colosseum.registry import register_method


@register_method("hickok_blumberg", scalar_units=True)
def hickok_blumberg(points, eval_idx, dim, *, seed: int, n_nbrs: Count = 20,
                    nbrs_per_dim: Literal["fixed", "double"] = "fixed", r_max: Positive = round(math.pi / 2, 6),
                    bandwidth: Positive = 1.0, boundary: bool = False, n_directions: Count = 256,
                    fit: Literal["least_squares", "paper"] = "paper", flat_trials: NonNegativeInt = 0,
                    flat_noise: bool = True, min_ball: Annotated[int, Range(ge=2)] = 20):
    from colosseum.estimators import ball_volume
    return ball_volume.ball_volume_curvature(points, eval_idx, dim, seed=seed, n_nbrs=n_nbrs, r_max=r_max,
                                             bandwidth=bandwidth, boundary=boundary, n_directions=n_directions,
                                             fit=fit, flat_trials=flat_trials, flat_noise=flat_noise,
                                             min_ball=min_ball, nbrs_per_dim=nbrs_per_dim)


@register_method("hickok_blumberg_calibrated", scalar_units=True)
def hickok_blumberg_calibrated(points, eval_idx, dim, *, seed: int, n_nbrs: Count = 20,
                               nbrs_per_dim: Literal["fixed", "double"] = "double", r_max: Positive = 1.0,
                               bandwidth: Positive = 1.0, boundary: bool = True, n_directions: Count = 256,
                               fit: Literal["least_squares", "paper"] = "least_squares",
                               flat_trials: NonNegativeInt = 4, flat_noise: bool = True,
                               min_ball: Annotated[int, Range(ge=2)] = 20):
    from colosseum.estimators import ball_volume
    return ball_volume.ball_volume_curvature(points, eval_idx, dim, seed=seed, n_nbrs=n_nbrs, r_max=r_max,
                                             bandwidth=bandwidth, boundary=boundary, n_directions=n_directions,
                                             fit=fit, flat_trials=flat_trials, flat_noise=flat_noise,
                                             min_ball=min_ball, nbrs_per_dim=nbrs_per_dim)
