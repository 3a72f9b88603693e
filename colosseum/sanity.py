"""Sampling sanity checks at the evaluation points of a cloud drawn on a parametrized manifold.

Three checks (docs/ground-truth.md, section 3), all measured on the CLEAN cloud
(the embedded parameters before rotation and noise; the rotation preserves distances):

- neighbourhood: the number of other cloud points within Euclidean (ambient) distance `radius`
  of each evaluation point is at least `min_neighbors`;
- tangent coverage: the displacements of those neighbours, projected onto the true tangent space
  at the evaluation point (orthonormalised columns of the Jacobian, by autodiff in float64), fall
  in each of the 2d cones of half-angle `half_angle` (45 degrees) around the frame axes +e_i and
  -e_i at least `min_per_direction` times (no empty direction);
- interior: each evaluation point's distance to the boundary of the parameter domain exceeds
  `radius`. For a graph chart x -> (x, f(x)) the parameter distance is at most the ambient
  distance, so then the ambient ball of that radius never reaches the boundary.

`check_sampling` returns a `SanityReport`; `SanityReport.meta()` gives the scalar summaries
(smallest neighbourhood count, smallest cone count, smallest boundary distance) for `Sample.meta`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import Embedding

CHECKS = ("neighborhood", "tangent_coverage", "interior")


def orthonormal_frames(jacobians: np.ndarray) -> np.ndarray:
    """Orthonormal tangent frames (m, D, d) from Jacobians (m, D, d): Q of the QR factorisation.

    Column i of the frame spans the same flag as the first i Jacobian columns (the signs of the
    axes are irrelevant to the checks, whose cones come in +- pairs).
    """
    return np.linalg.qr(np.asarray(jacobians, dtype=np.float64))[0]


def jacobians(embed: Embedding, u: np.ndarray) -> np.ndarray:
    """Jacobians (m, D, d) of `embed` at the rows of u (m, d), by jax.jacfwd in float64."""
    from .geometry import jacobians as _jacobians

    return _jacobians(embed, u)


def tangent_frames(embed: Embedding, u: np.ndarray) -> np.ndarray:
    """Orthonormal tangent frames (m, D, d) of `embed` at the rows of u (m, d)."""
    return orthonormal_frames(jacobians(embed, u))


def _displacements(points: np.ndarray, eval_rows: np.ndarray, radius: float):
    """For each evaluation row: displacements (k, D) of the other points within `radius`."""
    pts = np.asarray(points, dtype=np.float64)
    out = []
    for row in np.asarray(eval_rows, dtype=np.int64):
        diff = pts - pts[row]
        dist2 = np.einsum("nD,nD->n", diff, diff)
        near = (dist2 <= radius * radius) & (dist2 > 0.0)
        out.append(diff[near])
    return out


def neighbourhood_counts(points: np.ndarray, eval_rows: np.ndarray, radius: float) -> np.ndarray:
    """(m,) number of OTHER points within distance `radius` of each evaluation row (copies excluded)."""
    return np.array([len(d) for d in _displacements(points, eval_rows, radius)], dtype=np.int64)


def cone_counts(points: np.ndarray, eval_rows: np.ndarray, frames: np.ndarray, radius: float,
                half_angle: float = np.pi / 4) -> np.ndarray:
    """(m, 2d) counts of neighbours within `radius` whose projected direction lies in each cone.

    Columns are ordered +e_1, -e_1, +e_2, -e_2, ...; frames (m, D, d) are orthonormal tangent
    frames in the coordinates of `points`. A neighbour counts for cone +e_i when the angle between
    its tangent projection and e_i is at most `half_angle` (displacements normal to the tangent
    space, with zero projection, count for no cone).
    """
    frames = np.asarray(frames, dtype=np.float64)
    m, _, d = frames.shape
    cos_max = np.cos(half_angle)
    out = np.zeros((m, 2 * d), dtype=np.int64)
    for k, disp in enumerate(_displacements(points, eval_rows, radius)):
        if len(disp) == 0:
            continue
        v = disp @ frames[k]  # (n, d) tangent coordinates
        norm = np.linalg.norm(v, axis=1)
        v = v[norm > 0] / norm[norm > 0, None]
        out[k, 0::2] = (v >= cos_max).sum(axis=0)
        out[k, 1::2] = (v <= -cos_max).sum(axis=0)
    return out


@dataclass(frozen=True)
class SanityReport:
    """Results of the checks for one draw: per evaluation point, and which checks failed."""

    neighbours: np.ndarray          # (m,) neighbourhood counts
    cones: np.ndarray               # (m, 2d) cone counts
    boundary_distance: np.ndarray   # (m,) parameter distance to the domain's boundary
    radius: float
    failed: tuple[str, ...]         # names from CHECKS

    @property
    def ok(self) -> bool:
        return not self.failed

    def meta(self) -> dict[str, float | int]:
        return {"sanity_min_neighbors": int(self.neighbours.min()),
                "sanity_min_per_direction": int(self.cones.min()),
                "sanity_min_boundary_distance": float(self.boundary_distance.min()),
                "sanity_radius": float(self.radius)}


def check_sampling(points: np.ndarray, eval_rows: np.ndarray, frames: np.ndarray, radius: float, *,
                   min_neighbors: int, min_per_direction: int, boundary_distance: np.ndarray,
                   half_angle: float = np.pi / 4) -> SanityReport:
    """Run the three checks on a clean cloud; `boundary_distance` is per evaluation row (m,)."""
    neighbours = neighbourhood_counts(points, eval_rows, radius)
    cones = cone_counts(points, eval_rows, frames, radius, half_angle)
    bdist = np.asarray(boundary_distance, dtype=np.float64)
    failed = []
    if neighbours.min() < min_neighbors:
        failed.append("neighborhood")
    if cones.min() < min_per_direction:
        failed.append("tangent_coverage")
    if bdist.min() <= radius:
        failed.append("interior")
    return SanityReport(neighbours, cones, bdist, float(radius), tuple(failed))
