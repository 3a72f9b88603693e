"""Geodesic caps of the d-sphere: uniformly sampled patches of constant positive curvature."""
import math
from typing import Annotated, Literal

import jax.numpy as jnp
import numpy as np

from colosseum.geometry import Family
from colosseum.params import Count, NonNegative, PointCount, Positive, Range
from colosseum.registry import register_dataset
from colosseum.sampling import DensityGradient, cloud_from_parameters, geodesic_cap, interior_rows, thin


def stereographic(radius: float):
    """Sphere of the given radius, parametrized by stereographic coordinates from the south pole.

    u = 0 is the north pole; smooth everywhere except at the south pole, so autodiff works
    at the cap's centre (geodesic polar coordinates do not).
    """
    return Family(_stereographic, np.array([radius], dtype=np.float64))


def _stereographic(theta, u):  # theta = (radius,)
    s = jnp.sum(u * u)
    return theta[0] * jnp.concatenate([2 * u, (1 - s)[None]]) / (1 + s)


@register_dataset("sphere_cap")
def sphere_cap(*, seed: int, dim: Count = 2, radius: Positive = 1.0,
               cap_angle: Annotated[float, Range(gt=0, lt=math.pi)] = 1.0, n_points: PointCount = 1000,
               n_eval: Count = 8, eval_margin: Annotated[float, Range(ge=0, lt=1)] = 0.5, noise: NonNegative = 0.0,
               ambient_dim: int | None = None, zero_tol: NonNegative = 1e-6, noise_scale: Literal["absolute", "diameter"] = "absolute",
               density_slope: Annotated[float, Range(ge=0, lt=1)] = 0.0):
    rng = np.random.default_rng(seed)

    def draw(k: int) -> np.ndarray:
        direction, psi = geodesic_cap(dim, cap_angle, k, rng)
        return direction * np.tan(psi / 2)[:, None]  # stereographic coordinates

    gradient = DensityGradient(density_slope, float(np.tan(cap_angle / 2))) if density_slope else None
    u = np.concatenate([np.zeros((1, dim)), thin(draw, n_points - 1, gradient, rng)])  # row 0: the pole
    psi = 2 * np.arctan(np.linalg.norm(u, axis=1))
    rows = interior_rows(cap_angle - psi, eval_margin * cap_angle, n_eval, rng)
    return cloud_from_parameters(stereographic(radius), u, rows, dim=dim, ambient_dim=ambient_dim,
                                 noise=noise, rng=rng, meta={"kind": "patch"}, noise_scale=noise_scale)
