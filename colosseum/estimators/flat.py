"""Flat references: what every method compares its curved cloud with, and how it is drawn.

One seeding rule for every flat reference of every method (`flat_rng`): comparison spaces of the
diffusion methods, flat node values of Ollivier-Ricci and Forman-Ricci, flat clouds of
Hickok-Blumberg. A reference shared by all evaluation rows is drawn from (seed, dim); one made for
a row from (seed, dim, row). So the value at a row never depends on which other rows are evaluated.

Comparison spaces are values (`ComparisonSpace`), passed to the cores that use them: "uniform"
(the unit d-ball) and "cube" ([-1, 1]^d, the flat facsimile of the PyPI package
diffusion-curvature 0.0.3) are here; the neural flatteners build theirs in
colosseum.estimators.flattening.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .balls import uniform_ball, uniform_cube


def flat_rng(seed: int, dim: int, row: int | None = None) -> np.random.Generator:
    """THE generator of a flat reference: default_rng([seed, dim]) when it is shared by every row,
    default_rng([seed, dim, row]) when it is made for one row."""
    key = [int(seed), int(dim)] if row is None else [int(seed), int(dim), int(row)]
    return np.random.default_rng(key)


#: draw(points, eval row, dim, n, rng) -> (n', dim) flat sample, its centre at row 0.
Draw = Callable[[np.ndarray, int, int, int, np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class ComparisonSpace:
    """A flat comparison space: its name, how one sample is drawn, and whether the sample depends on the
    evaluation point (a flattened neighbourhood does; a uniform ball does not, and is then drawn once per
    trial and dimension for all rows)."""

    name: str
    draw: Draw
    point_independent: bool


def _uniform(points: np.ndarray, eval_row: int, dim: int, n: int, rng: np.random.Generator) -> np.ndarray:
    return uniform_ball(n, dim, rng, centre=True)  # as many points as the data: the kernels are scale-free


def _cube(points: np.ndarray, eval_row: int, dim: int, n: int, rng: np.random.Generator) -> np.ndarray:
    return uniform_cube(n, dim, rng, centre=True)


#: The point-independent comparison spaces, by name.
FLAT_SPACES = {"uniform": ComparisonSpace("uniform", _uniform, True),
               "cube": ComparisonSpace("cube", _cube, True)}


def flat_space(name: str) -> ComparisonSpace:
    """The comparison space `name` ("uniform": unit d-ball; "cube": [-1, 1]^d), both as large as the data."""
    if name not in FLAT_SPACES:
        raise ValueError(f"unknown comparison space {name!r}; known: {', '.join(sorted(FLAT_SPACES))}")
    return FLAT_SPACES[name]


def comparison_stats(space: ComparisonSpace, points: np.ndarray, eval_idx: np.ndarray, dims: np.ndarray, *,
                     trials: int, seed: int, stat: Callable[[np.ndarray], object]) -> list[list]:
    """`stat(E)` of every comparison draw E (centre at row 0) for every evaluation row: a list (one entry
    per row of `eval_idx`) of lists (one per trial).

    Point-independent spaces are drawn `trials` times per dimension from flat_rng(seed, d) and shared by
    the rows; the others `trials` times per row from flat_rng(seed, d, x). Either way the draws at a row
    depend only on (seed, d, x), never on the other rows evaluated.
    """
    n = len(points)
    out: list[list] = []
    shared: dict[int, list] = {}
    for x, d in zip(np.asarray(eval_idx).tolist(), np.asarray(dims).tolist()):
        if space.point_independent:
            if d not in shared:
                rng = flat_rng(seed, d)
                shared[d] = [stat(space.draw(points, int(x), int(d), n, rng)) for _ in range(trials)]
            out.append(shared[d])
        else:
            rng = flat_rng(seed, d, x)
            out.append([stat(space.draw(points, int(x), int(d), n, rng)) for _ in range(trials)])
    return out


def reference_rows(ball: np.ndarray, m: int, reach: float, rng: np.random.Generator) -> np.ndarray:
    """m rows of a centred unit-ball sample whose neighbourhoods stay clear of its boundary: drawn without
    replacement from the rows within 1 - reach of the origin (spread out, so their values are nearly
    independent, unlike a cluster of central rows that share edges); the m most central rows when fewer
    qualify. `reach`: how far a node's value looks (2.5 k-NN radii for Ollivier-Ricci and Forman-Ricci)."""
    r = np.linalg.norm(ball, axis=1)
    m = min(m, len(ball))
    inside = np.flatnonzero(r <= 1.0 - reach)
    if inside.size >= m:
        return np.sort(rng.choice(inside, size=m, replace=False))
    return np.argsort(r, kind="stable")[:m]
