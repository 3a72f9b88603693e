"""Controls that are intrinsically flat but extrinsically bent: scalar curvature 0 everywhere.

An estimator that reads bending (the second fundamental form, or how the cloud curves in R^D) instead
of intrinsic curvature gives them a value; how large, against its value on the unit 2-sphere cap, is
its *flat leak* (the report shows it per method). Their truth, 0, comes from the Gauss equation like
every other dataset's and is left out of sign accuracy by `zero_tol`.

- `cylinder`: S^1 x R^(d-1), the graph-free embedding (r cos(x_1/r), r sin(x_1/r), x_2, ..., x_d) of the
  box [-h, h]^d with h < pi r (a patch that does not wrap around); the map is an isometry, so a uniform
  sample of the box is volume-uniform. Evaluation rows are interior points, as for every patch.
- `flat_torus`: the product of d circles of radius r in R^(2d) (the Clifford torus for d = 2): closed,
  isometric to a flat torus, every point interior. Its density_slope runs along the first ambient
  coordinate r cos(u_1).
"""
import math
from typing import Annotated, Literal

import numpy as np

from colosseum.domains import Box, Rect
from colosseum.geometry import Family
from colosseum.params import Count, NonNegative, PointCount, Positive, Range
from colosseum.registry import register_dataset
from colosseum.sampling import DensityGradient, cloud_from_parameters, interior_rows, pick_rows, thin


def _cylinder(theta, x):  # theta = (radius,)
    import jax.numpy as jnp

    r = theta[0]
    return jnp.concatenate([r * jnp.stack([jnp.cos(x[0] / r), jnp.sin(x[0] / r)]), x[1:]])


def cylinder_embedding(dim: int, radius: float) -> Family:
    return Family(_cylinder, np.array([radius], dtype=np.float64))


@register_dataset("cylinder")
def cylinder(*, seed: int, dim: Annotated[int, Range(ge=2)] = 2, radius: Positive = 0.5, half_width: Positive = 1.0,
             n_points: PointCount = 1000, n_eval: Count = 8, eval_margin: Annotated[float, Range(ge=0, lt=1)] = 0.5,
             noise: NonNegative = 0.0, noise_scale: Literal["absolute", "diameter"] = "absolute",
             density_slope: Annotated[float, Range(ge=0, lt=1)] = 0.0, ambient_dim: int | None = None,
             zero_tol: NonNegative = 1e-9):
    if half_width >= math.pi * radius:
        raise ValueError(f"cylinder: half_width ({half_width}) must stay below pi * radius ({math.pi * radius:.4g}), "
                         "or the patch wraps around onto itself")
    rng = np.random.default_rng(seed)
    box = Box(dim, half_width)
    gradient = DensityGradient(density_slope, half_width) if density_slope else None
    u = np.concatenate([np.zeros((1, dim)), thin(lambda k: box.propose(k, rng), n_points - 1, gradient, rng)])
    rows = interior_rows(box.boundary_distance(u), eval_margin * half_width, n_eval, rng)
    return cloud_from_parameters(cylinder_embedding(dim, radius), u, rows, dim=dim, ambient_dim=ambient_dim,
                                 noise=noise, rng=rng, meta={"kind": "patch"}, noise_scale=noise_scale)


def _flat_torus(theta, u):  # theta = (radius,)
    import jax.numpy as jnp

    return theta[0] * jnp.stack([jnp.cos(u), jnp.sin(u)], axis=1).reshape(2 * u.shape[0])


def flat_torus_embedding(dim: int, radius: float) -> Family:
    return Family(_flat_torus, np.array([radius], dtype=np.float64))


@register_dataset("flat_torus")
def flat_torus(*, seed: int, dim: Annotated[int, Range(ge=2)] = 2, radius: Positive = 0.5,
               n_points: PointCount = 1000, n_eval: Count = 8, noise: NonNegative = 0.0,
               noise_scale: Literal["absolute", "diameter"] = "absolute", ambient_dim: int | None = None,
               zero_tol: NonNegative = 1e-9, density_slope: Annotated[float, Range(ge=0, lt=1)] = 0.0):
    if n_eval > n_points:
        raise ValueError(f"flat_torus: n_eval ({n_eval}) exceeds n_points ({n_points})")
    rng = np.random.default_rng(seed)
    domain = Rect((-math.pi,) * dim, (math.pi,) * dim, periodic=True)
    # an isometric embedding: uniform in the angles is volume-uniform; a density gradient runs along the
    # first ambient coordinate r cos(u_1), from 1 - slope to 1 + slope
    gradient = DensityGradient(density_slope, radius, coordinate=lambda u: radius * np.cos(u[:, 0])) \
        if density_slope else None
    u = thin(lambda k: domain.propose(k, rng), n_points, gradient, rng)
    rows = pick_rows(np.ones(n_points, dtype=bool), n_eval, rng, always=())  # closed: every point is interior
    return cloud_from_parameters(flat_torus_embedding(dim, radius), u, rows, dim=dim, ambient_dim=ambient_dim,
                                 noise=noise, rng=rng, meta={"kind": "closed"}, noise_scale=noise_scale)
