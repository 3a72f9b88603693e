"""The d-dimensional saddle: the graph of scale * sum_j (-1)^j x_j^2 over a box, volume-uniform."""
from typing import Annotated, Literal

import jax.numpy as jnp
import numpy as np

from colosseum.domains import Box
from colosseum.geometry import Family, volume_element
from colosseum.params import Count, NonNegative, PointCount, Positive, Range
from colosseum.registry import register_dataset
from colosseum.sampling import DensityGradient, cloud_from_parameters, interior_rows, volume_uniform


def _saddle(theta, x):  # theta = (scale,): the graph of scale * sum_j (-1)^j x_j^2
    signs = (-1.0) ** jnp.arange(1, x.shape[0] + 1)
    return jnp.concatenate([x, (theta[0] * jnp.sum(signs * x * x))[None]])


def saddle_graph(dim: int, scale: float) -> Family:
    """A member of the saddle family: its truth compiles once per process and dimension, not per draw."""
    return Family(_saddle, np.array([scale], dtype=np.float64))


@register_dataset("saddle")
def saddle(*, seed: int, dim: Annotated[int, Range(ge=2)] = 2, scale: float = 1.0, half_width: Positive = 1.0,
           n_points: PointCount = 1000, n_eval: Count = 8, eval_margin: Annotated[float, Range(ge=0, lt=1)] = 0.5,
           noise: NonNegative = 0.0, ambient_dim: int | None = None, zero_tol: NonNegative = 1e-6,
           noise_scale: Literal["absolute", "diameter"] = "absolute", density_slope: Annotated[float, Range(ge=0, lt=1)] = 0.0):
    if scale == 0:
        raise ValueError("saddle needs scale != 0 (0 is the plane)")
    rng = np.random.default_rng(seed)
    embed = saddle_graph(dim, scale)
    box = Box(dim, half_width)
    # det g = 1 + |grad f|^2 is convex for a quadratic f, so its maximum sits at a vertex: an exact bound.
    bound = float(volume_element(embed, box.vertices()).max())
    gradient = DensityGradient(density_slope, half_width) if density_slope else None
    u, info = volume_uniform(embed, box, n_points - 1, rng, bound=bound, gradient=gradient)
    u = np.concatenate([np.zeros((1, dim)), u])  # row 0: the saddle point
    rows = interior_rows(box.boundary_distance(u), eval_margin * half_width, n_eval, rng)
    return cloud_from_parameters(embed, u, rows, dim=dim, ambient_dim=ambient_dim, noise=noise, rng=rng,
                                 meta={"kind": "patch", **info}, noise_scale=noise_scale)
