"""`sphere_product`: products of round spheres S^a_1(r_1) x ... x S^a_k(r_k), closed, every point scored.

Embedding: (r_1 n_1, ..., r_k n_k) with n_i a unit vector of R^(a_i + 1), so d = sum a_i and the natural
ambient space is R^(sum (a_i + 1)) (`ambient_dim` rotates it into a larger R^D). The scalar curvature is
the constant sum_i a_i (a_i - 1) / r_i^2 (S^2 x S^1: 2 / r_1^2; a circle factor adds 0): positive, or 0
when every factor is a circle (a flat torus), so there are no two signs to balance.

Sampling is exact: the volume of a product is the product of the volumes, so each factor is drawn
uniformly on its sphere by normalising a standard Gaussian vector (no rejection and no density bound
needed). `density_slope` thins that draw with acceptance along the first ambient coordinate of the first
factor, relative density 1 + slope * x / r_1.

Truth: a global angle chart would degenerate at its poles, so each evaluation point gets a chart of its
own, centred on it: on each factor u_i -> r_i (n_i + E_i u_i) / |n_i + E_i u_i| (central projection from
the tangent plane; E_i an orthonormal basis of n_i's orthogonal complement), smooth at u = 0 with an
orthonormal frame there. `colosseum.geometry.scalar_curvature_family` evaluates the Gauss equation through
these charts at u = 0, all members in one compiled call; the closed form is only in the tests.
meta["eval_params"] holds the clean unit vectors (n_1, ..., n_k) of the evaluation rows.
"""
from __future__ import annotations

import functools
from typing import Annotated, Literal

import jax.numpy as jnp
import numpy as np

from colosseum.geometry import scalar_curvature_family
from colosseum.params import Count, NonNegative, PointCount, Range
from colosseum.registry import register_dataset
from colosseum.sampling import DensityGradient, check_ambient, finish_cloud, pick_rows, thin


def _factors(dims, radii) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """The factors' dimensions and radii, checked: ValueError naming what is wrong."""
    try:
        dims_t = tuple(int(a) for a in dims)
        radii_t = tuple(float(r) for r in radii)
    except (TypeError, ValueError):
        raise ValueError(f"sphere_product: dims must be a list of integers and radii a list of numbers, got "
                         f"dims={dims!r}, radii={radii!r}") from None
    if any(float(a) != b for a, b in zip(dims, dims_t)):
        raise ValueError(f"sphere_product: dims must be integers, got {dims!r}")
    if not dims_t or len(dims_t) != len(radii_t):
        raise ValueError(f"sphere_product: dims and radii need one entry per factor, got dims={dims!r}, "
                         f"radii={radii!r}")
    if min(dims_t) < 1 or sum(dims_t) < 2:
        raise ValueError(f"sphere_product: every factor needs dimension >= 1 and the product dimension >= 2, "
                         f"got dims={dims!r}")
    if not all(np.isfinite(r) and r > 0 for r in radii_t):
        raise ValueError(f"sphere_product: radii must be positive numbers, got {radii!r}")
    return dims_t, radii_t


@functools.lru_cache(maxsize=32)
def chart_family(dims: tuple[int, ...]):
    """family(theta, u) -> point of the product in R^(sum (a_i + 1)) through the chart centred at the
    member's base point; theta = per factor (r_i, n_i (a_i + 1), E_i ((a_i + 1) x a_i) flattened)."""
    def family(theta, u):
        out, at, off = [], 0, 0
        for a in dims:
            r = theta[at]
            n = theta[at + 1:at + 2 + a]
            e = theta[at + 2 + a:at + 2 + a + (a + 1) * a].reshape(a + 1, a)
            v = n + e @ u[off:off + a]
            out.append(r * v / jnp.sqrt(v @ v))
            at += 2 + a + (a + 1) * a
            off += a
        return jnp.concatenate(out)
    return family


def chart_parameters(units: list[np.ndarray], radii: tuple[float, ...]) -> np.ndarray:
    """theta (m, p) of the charts centred at the points whose factor unit vectors are units[i] (m, a_i + 1)."""
    parts = []
    for n, r in zip(units, radii):
        m, k = n.shape
        q = np.linalg.qr(n[:, :, None], mode="complete")[0]  # (m, k, k): first column +-n, rest its complement
        parts += [np.full((m, 1), r), n, q[:, :, 1:].reshape(m, k * (k - 1))]
    return np.concatenate(parts, axis=1)


def product_curvature(units: list[np.ndarray], dims: tuple[int, ...], radii: tuple[float, ...]) -> np.ndarray:
    """Scalar curvature (m,) at the points with factor unit vectors `units`, by the Gauss equation through
    the charts centred at them (u = 0)."""
    theta = chart_parameters(units, radii)
    return scalar_curvature_family(chart_family(dims), theta, np.zeros(sum(dims)))


def uniform_units(dims: tuple[int, ...], n: int, rng: np.random.Generator) -> list[np.ndarray]:
    """n points uniform on each unit sphere S^a_i (normalised Gaussian vectors), factor by factor."""
    out = []
    for a in dims:
        g = rng.standard_normal((n, a + 1))
        out.append(g / np.linalg.norm(g, axis=1, keepdims=True))
    return out


@register_dataset("sphere_product")
def sphere_product(*, seed: int, dims: list[int] = [2, 1], radii: list[float] = [1.0, 1.0],
                   n_points: PointCount = 1000, n_eval: Count = 32, noise: NonNegative = 0.0,
                   noise_scale: Literal["absolute", "diameter"] = "absolute", ambient_dim: int | None = None,
                   zero_tol: NonNegative = 1e-6, density_slope: Annotated[float, Range(ge=0, lt=1)] = 0.0):
    dims_t, radii_t = _factors(dims, radii)
    if n_eval > n_points:
        raise ValueError(f"sphere_product: n_eval ({n_eval}) exceeds n_points ({n_points})")
    natural = sum(a + 1 for a in dims_t)
    check_ambient(ambient_dim, natural, "sphere_product")
    rng = np.random.default_rng(seed)
    splits = np.cumsum([a + 1 for a in dims_t])[:-1]

    def draw(k: int) -> np.ndarray:
        return np.concatenate([r * n for n, r in zip(uniform_units(dims_t, k, rng), radii_t)], axis=1)

    gradient = DensityGradient(density_slope, radii_t[0]) if density_slope else None
    clean = thin(draw, n_points, gradient, rng)
    rows = pick_rows(np.ones(n_points, dtype=bool), n_eval, rng, always=())  # closed: every point is interior
    units = [block / r for block, r in zip(np.split(clean[rows], splits, axis=1), radii_t)]
    truth = product_curvature(units, dims_t, radii_t)
    meta = {"kind": "closed", "factors": len(dims_t), "sampler": "exact (normalised Gaussians)"}
    return finish_cloud(clean, rows, truth, np.concatenate(units, axis=1), dim=sum(dims_t),
                        ambient_dim=ambient_dim, noise=noise, rng=rng, meta=meta, noise_scale=noise_scale)
