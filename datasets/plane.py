"""The flat control: a d-dimensional square patch (truth 0, left out of sign accuracy by zero_tol)."""
from typing import Annotated, Literal

import jax.numpy as jnp
import numpy as np

from colosseum.domains import Box
from colosseum.params import Count, NonNegative, PointCount, Positive, Range
from colosseum.registry import register_dataset
from colosseum.sampling import DensityGradient, cloud_from_parameters, interior_rows, thin


@register_dataset("plane")
def plane(*, seed: int, dim: Count = 2, half_width: Positive = 1.0, n_points: PointCount = 1000, n_eval: Count = 8,
          eval_margin: Annotated[float, Range(ge=0, lt=1)] = 0.5, noise: NonNegative = 0.0,
          ambient_dim: int | None = None, zero_tol: NonNegative = 1e-9, noise_scale: Literal["absolute", "diameter"] = "absolute",
          density_slope: Annotated[float, Range(ge=0, lt=1)] = 0.0):
    rng = np.random.default_rng(seed)
    box = Box(dim, half_width)
    gradient = DensityGradient(density_slope, half_width) if density_slope else None
    u = np.concatenate([np.zeros((1, dim)), thin(lambda k: box.propose(k, rng), n_points - 1, gradient, rng)])

    def embed(x):
        return jnp.concatenate([x, jnp.zeros(1)])

    rows = interior_rows(box.boundary_distance(u), eval_margin * half_width, n_eval, rng)
    return cloud_from_parameters(embed, u, rows, dim=dim, ambient_dim=ambient_dim, noise=noise, rng=rng,
                                 meta={"kind": "patch"}, noise_scale=noise_scale)
