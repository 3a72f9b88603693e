"""Classic surfaces in R^3 evaluated pointwise, both signs or strong variation of curvature:
the torus and the ellipsoid (closed: every point is interior) and the one-sheet hyperboloid
(a bounded strip of it). Volume-uniform by rejection on the parameter rectangle.

density_slope: the strip's density grows along its height parameter (a chart axis across it); the closed
surfaces' along the first ambient coordinate x (no chart axis runs across them), from 1 - slope at
x = -(R + r) (torus) or -a (ellipsoid) to 1 + slope at the other side."""
from typing import Annotated, Literal

import jax.numpy as jnp
import numpy as np

from colosseum.domains import Rect
from colosseum.geometry import Family, metric_condition
from colosseum.params import Count, NonNegative, PointCount, Positive, Range
from colosseum.registry import register_dataset
from colosseum.sampling import (
    DensityGradient,
    ambient_gradient,
    cloud_from_parameters,
    interior_rows,
    pick_rows,
    volume_uniform,
)

PI = float(np.pi)


def _check(n_points: int, n_eval: int) -> None:
    if not n_eval <= n_points:
        raise ValueError(f"need 0 < n_eval <= n_points, got n_eval={n_eval}, n_points={n_points}")


def _torus(theta, u):  # theta = (R, r); u = (angle around the tube, angle around the axis)
    ring = theta[0] + theta[1] * jnp.cos(u[0])
    return jnp.stack([ring * jnp.cos(u[1]), ring * jnp.sin(u[1]), theta[1] * jnp.sin(u[0])])


def torus_embedding(major_radius: float, minor_radius: float) -> Family:
    """A member of the family of ring tori: its truth and density compile once per process, not per draw."""
    return Family(_torus, np.array([major_radius, minor_radius], dtype=np.float64))


@register_dataset("torus")
def torus(*, seed: int, major_radius: Positive = 2.0, minor_radius: Positive = 1.0, n_points: PointCount = 1000,
          n_eval: Count = 64, noise: NonNegative = 0.0, ambient_dim: int | None = None, zero_tol: NonNegative = 0.02,
          noise_scale: Literal["absolute", "diameter"] = "absolute", density_slope: Annotated[float, Range(ge=0, lt=1)] = 0.0):
    _check(n_points, n_eval)
    if minor_radius >= major_radius:
        raise ValueError(f"a ring torus needs minor_radius < major_radius, got {minor_radius} >= {major_radius}")
    rng = np.random.default_rng(seed)
    embed = torus_embedding(major_radius, minor_radius)
    domain = Rect((-PI, -PI), (PI, PI))
    gradient = ambient_gradient(embed, domain, density_slope,
                                coordinate=lambda u: (major_radius + minor_radius * np.cos(u[:, 0])) * np.cos(u[:, 1]))
    u, info = volume_uniform(embed, domain, n_points, rng, gradient=gradient)
    rows = pick_rows(np.ones(n_points, dtype=bool), n_eval, rng, always=())  # closed: every point is interior
    return cloud_from_parameters(embed, u, rows, dim=2, ambient_dim=ambient_dim, noise=noise, rng=rng,
                                 meta={"kind": "closed", **info}, noise_scale=noise_scale)


def _ellipsoid(theta, u):  # theta = (a, b, c); u = (longitude, colatitude)
    return jnp.stack([theta[0] * jnp.cos(u[0]) * jnp.sin(u[1]), theta[1] * jnp.sin(u[0]) * jnp.sin(u[1]),
                      theta[2] * jnp.cos(u[1])])


def ellipsoid_embedding(a: float, b: float, c: float) -> Family:
    return Family(_ellipsoid, np.array([a, b, c], dtype=np.float64))


@register_dataset("ellipsoid")
def ellipsoid(*, seed: int, a: Positive = 3.0, b: Positive = 2.0, c: Positive = 1.0, n_points: PointCount = 1000,
              n_eval: Count = 64, noise: NonNegative = 0.0, ambient_dim: int | None = None,
              zero_tol: NonNegative = 1e-6, max_chart_condition: Positive = 1e6,
              noise_scale: Literal["absolute", "diameter"] = "absolute", density_slope: Annotated[float, Range(ge=0, lt=1)] = 0.0):
    _check(n_points, n_eval)
    rng = np.random.default_rng(seed)
    embed = ellipsoid_embedding(a, b, c)
    domain = Rect((-PI, 0.0), (PI, PI))
    gradient = ambient_gradient(embed, domain, density_slope, coordinate=lambda u: a * np.cos(u[:, 0]) * np.sin(u[:, 1]))
    u, info = volume_uniform(embed, domain, n_points, rng, gradient=gradient)
    # the angle chart degenerates at the poles: evaluate only where the metric is well conditioned
    rows = pick_rows(metric_condition(embed, u) <= max_chart_condition, n_eval, rng, always=())
    return cloud_from_parameters(embed, u, rows, dim=2, ambient_dim=ambient_dim, noise=noise, rng=rng,
                                 meta={"kind": "closed", **info}, noise_scale=noise_scale)


def _hyperboloid(theta, u):  # theta = (a, c); u = (height parameter, angle)
    ring = theta[0] * jnp.sqrt(u[0] ** 2 + 1)
    return jnp.stack([ring * jnp.cos(u[1]), ring * jnp.sin(u[1]), theta[1] * u[0]])


def hyperboloid_embedding(a: float, c: float) -> Family:
    return Family(_hyperboloid, np.array([a, c], dtype=np.float64))


@register_dataset("hyperboloid")
def hyperboloid(*, seed: int, a: Positive = 1.0, c: Positive = 1.0, half_height: Positive = 1.5,
                n_points: PointCount = 1000, n_eval: Count = 32, eval_margin: Annotated[float, Range(ge=0, lt=1)] = 0.5,
                noise: NonNegative = 0.0, ambient_dim: int | None = None, zero_tol: NonNegative = 1e-6,
                noise_scale: Literal["absolute", "diameter"] = "absolute", density_slope: Annotated[float, Range(ge=0, lt=1)] = 0.0):
    _check(n_points, n_eval)
    rng = np.random.default_rng(seed)
    embed = hyperboloid_embedding(a, c)
    gradient = DensityGradient(density_slope, half_height) if density_slope else None
    u, info = volume_uniform(embed, Rect((-half_height, -PI), (half_height, PI)), n_points - 1, rng, gradient=gradient)
    u = np.concatenate([np.zeros((1, 2)), u])  # row 0: on the waist
    rows = interior_rows(half_height - np.abs(u[:, 0]), eval_margin * half_height, n_eval, rng)
    return cloud_from_parameters(embed, u, rows, dim=2, ambient_dim=ambient_dim, noise=noise, rng=rng,
                                 meta={"kind": "patch", **info}, noise_scale=noise_scale)
