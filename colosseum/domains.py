"""Parameter domains of the datasets: a box, a ball and a rectangle (periodic for closed surfaces).

Each proposes uniform parameters, lays out a grid (for density bounds), lists its vertices (where a
convex density peaks) and measures how far parameters are from its boundary (for evaluation margins).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .estimators.balls import uniform_ball


@dataclass(frozen=True)
class Box:
    """The parameter box [-half_width, half_width]^dim."""

    dim: int
    half_width: float = 1.0

    def propose(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(-self.half_width, self.half_width, size=(n, self.dim))

    def grid(self, per_axis: int) -> np.ndarray:
        axis = np.linspace(-self.half_width, self.half_width, per_axis)
        return np.stack(np.meshgrid(*[axis] * self.dim, indexing="ij"), -1).reshape(-1, self.dim)

    def vertices(self) -> np.ndarray:
        return self.grid(2)

    def boundary_distance(self, u: np.ndarray) -> np.ndarray:
        """Distance in parameter space from each row of u to the box's boundary."""
        return self.half_width - np.abs(np.atleast_2d(u)).max(axis=1)


@dataclass(frozen=True)
class Ball:
    """The parameter ball of the given radius in R^dim."""

    dim: int
    radius: float = 1.0

    def propose(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return uniform_ball(n, self.dim, rng) * self.radius

    def grid(self, per_axis: int) -> np.ndarray:
        g = Box(self.dim, self.radius).grid(per_axis)
        return g[np.linalg.norm(g, axis=1) <= self.radius]

    def vertices(self) -> np.ndarray:
        return np.zeros((0, self.dim))

    def boundary_distance(self, u: np.ndarray) -> np.ndarray:
        return self.radius - np.linalg.norm(np.atleast_2d(u), axis=1)


@dataclass(frozen=True)
class Rect:
    """The parameter rectangle prod_i [low_i, high_i): bounded strips, or with `periodic` the angles of
    a closed surface (the chart wraps around, so no parameter is near a boundary)."""

    low: tuple[float, ...]
    high: tuple[float, ...]
    periodic: bool = False

    @property
    def dim(self) -> int:
        return len(self.low)

    def propose(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(self.low, self.high, size=(n, self.dim))

    def grid(self, per_axis: int) -> np.ndarray:
        axes = [np.linspace(lo, hi, per_axis) for lo, hi in zip(self.low, self.high)]
        return np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, self.dim)

    def vertices(self) -> np.ndarray:
        return self.grid(2)

    def boundary_distance(self, u: np.ndarray) -> np.ndarray:
        """Distance from each row of u to the nearest face; inf on a periodic (closed) rectangle."""
        u = np.atleast_2d(u)
        if self.periodic:
            return np.full(u.shape[0], np.inf)
        return np.minimum(u - np.asarray(self.low), np.asarray(self.high) - u).min(axis=1)


Domain = Box | Ball | Rect
