"""The one uniform sampler of the unit d-ball (and of the cube [-1, 1]^d), in NumPy and in JAX.

Every flat sample of the project comes from here: parameter balls of datasets, flat comparison
spaces of the diffusion methods, flat reference clouds of the graph curvatures and of
Hickok-Blumberg, MMD targets of the neural flatteners. A ball point is a Gaussian direction times
U^(1/d) (volume-uniform). `centre=True` puts the origin first and draws n - 1 points after it: the
flat references are read at their centre, row 0.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def uniform_ball(n: int, dim: int, rng: np.random.Generator, *, centre: bool = False,
                 radius: float = 1.0) -> np.ndarray:
    """n points uniform in the dim-ball of `radius` (centre=True: the origin as row 0, then n - 1 points).

    The stream is n (or n - 1) Gaussian directions, then as many uniform radii."""
    m = n - 1 if centre else n
    g = rng.standard_normal((m, dim))
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    pts = g * (radius * rng.uniform(size=(m, 1)) ** (1.0 / dim))
    return np.concatenate([np.zeros((1, dim)), pts]) if centre else pts


def uniform_ball_jax(key: jax.Array, n: int, dim: int, dtype=jnp.float32) -> jax.Array:
    """n points uniform in the unit dim-ball, for code inside jit (the same construction as `uniform_ball`)."""
    kd, kr = jax.random.split(key)
    g = jax.random.normal(kd, (n, dim), dtype)
    g = g / jnp.linalg.norm(g, axis=1, keepdims=True)
    return g * jax.random.uniform(kr, (n, 1), dtype) ** (1.0 / dim)


def uniform_cube(n: int, dim: int, rng: np.random.Generator, *, centre: bool = False) -> np.ndarray:
    """n points uniform in the cube [-1, 1]^dim (centre=True: the origin as row 0, then n - 1 points)."""
    if centre:
        return np.concatenate([np.zeros((1, dim)), rng.uniform(-1.0, 1.0, size=(n - 1, dim))])
    return rng.uniform(-1.0, 1.0, size=(n, dim))
