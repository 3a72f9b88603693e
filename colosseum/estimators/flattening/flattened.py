"""DC2 against neurally flattened comparison spaces: the core of dc_rfae and dc_mioflattener (issue 6).

DC2 (colosseum.estimators.dc2) compares the diffusion entropy at x with that at the
centre of a flat comparison space E built through the same kernel (same nu). Here E is not a uniform
ball but the eval point's own neighbourhood flattened into R^d by a flattener:
- dc_rfae (`rfae.RFAEFlattener`): the RFAE embedding (radial distances from x kept, neighbourhoods kept);
- dc_mioflattener (`mioflow.MIOFlattener`): that embedding flowed by a neural ODE toward uniform density
  on the d-ball.

The neighbourhood is the `neighbourhood` nearest points of x (the whole cloud when it is smaller).
`data_side` says what DC2 sees on the data side:
- "neighbourhood" (default): DC2 runs on the neighbourhood alone (nu tuned there), compared with its
  own flattening: equal size, the same points, one curved and one flat. The sampling noise of the two
  sides is then shared and cancels (a plane gives ~0 up to the flattening error); what is left is the
  geometry that the flattening had to change;
- "cloud" (as dc_entropy): the whole cloud; only the comparison side is the neighbourhood, so the
  two sides differ in size when neighbourhood < N (E then has a boundary the data walk may not see).

The DC2 logic is dc_entropy's own (`dc2.entropy_curvature`, the comparison space built here and
passed to it). A flattening is trained per evaluation point and trial (default one trial: the
randomness of a flattening is only its training seed). Besides DC2's diagnostics, every row gets the
flattening-quality figures (means over trials): radial_distortion, knn_overlap, mmd (MMD^2 to the
uniform d-ball, radial-quantile scaled), radial_w1 (radial-distribution distance to the data),
uniform_radial_w1 (the same for a uniform ball: the dc_entropy comparison's figure), n_flat, and the
training steps and seconds; dc_mioflattener adds rfae_mmd and rfae_radial_distortion (its input's).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ...contract import Estimate
from ..balls import uniform_ball
from ..dc2 import entropy_curvature
from ..flat import ComparisonSpace
from .metrics import quality, radial_w1
from .neighbourhood import Neighbourhood, make_neighbourhood, neighbourhood_rows
from .training import Flattened, FlattenKeys

DATA_SIDES = ("cloud", "neighbourhood")
#: A flattener: (neighbourhood, dim, seeds) -> (flattened sample, extra figures); with `name` and `quantile`.
Flattener = Callable[[Neighbourhood, int, FlattenKeys], tuple[Flattened, dict[str, float]]]


@dataclass(frozen=True)
class FlattenSettings:
    """Which neighbourhood is flattened."""

    neighbourhood: int = 500     # points of the neighbourhood flattened (the k nearest, centre included)
    graph_knn: int = 30          # k of the kNN graph whose Dijkstra distances are d_M (10 inflates them by 5-10%)


def flatten(points: np.ndarray, centre: int, dim: int, flattener: Flattener,
            settings: FlattenSettings = FlattenSettings(), seed: int = 0) -> tuple[Flattened, Neighbourhood, dict]:
    """Flatten the neighbourhood of row `centre` with `flattener`.

    Returns (result, neighbourhood, quality figures): radial_distortion, knn_overlap, mmd, radial_w1,
    uniform_radial_w1 (the radial_w1 of a uniform ball of the same size: the uniform comparison's
    figure), n_flat, and the flattener's own figures (timings, steps, ...).
    """
    nb = make_neighbourhood(points, centre, settings.neighbourhood, settings.graph_knn, flattener.quantile)
    keys = FlattenKeys(*(int(k) for k in np.random.default_rng([int(seed), int(centre)]).integers(0, 2**31 - 1, 3)))
    res, extra = flattener(nb, dim, keys)
    q = quality(res.Z, nb, seed=keys.quality)
    U = uniform_ball(nb.n, dim, np.random.default_rng([keys.quality, 11]))
    U[0] = 0.0
    q["uniform_radial_w1"] = radial_w1(U, nb.radial)
    q["n_flat"] = float(nb.n)
    q.update(extra)
    return res, nb, q


def flattened_space(flattener: Flattener, settings: FlattenSettings, record: list) -> ComparisonSpace:
    """The comparison space "the eval point's neighbourhood flattened by `flattener`" (point-dependent).

    Its sample has min(neighbourhood, N) points, centre at row 0 (the `n` asked for is ignored); every
    flattening appends (eval row, quality figures) to `record`."""
    def draw(points: np.ndarray, eval_row: int, dim: int, n: int, rng: np.random.Generator) -> np.ndarray:
        res, _, q = flatten(points, int(eval_row), int(dim), flattener, settings, int(rng.integers(0, 2**31 - 1)))
        record.append((int(eval_row), q))
        return res.Z
    return ComparisonSpace(flattener.name, draw, point_independent=False)


def flattened_curvature(points: np.ndarray, eval_idx: np.ndarray, dim: int, *, seed: int, flattener: Flattener,
                        settings: FlattenSettings, data_side: str, **dc2) -> Estimate:
    """DC2 (`dc2.entropy_curvature` with the DC2 parameters `dc2`) against the flattening of each eval
    point's neighbourhood; the flattening figures averaged over trials join DC2's diagnostics."""
    if data_side not in DATA_SIDES:
        raise ValueError(f"data_side must be one of {DATA_SIDES}, got {data_side!r}")
    if settings.neighbourhood < 2 * dc2["knn"]:
        raise ValueError(f"neighbourhood ({settings.neighbourhood}) must hold at least 2 x knn ({dc2['knn']}) "
                         "points for the comparison walk to leave its centre's kernel support")
    eval_idx = np.asarray(eval_idx)
    m, trials = len(eval_idx), int(dc2["comparison_trials"])
    record: list = []
    space = flattened_space(flattener, settings, record)
    if data_side == "cloud":
        est = entropy_curvature(points, eval_idx, dim, seed=seed, comparison=space, **dc2)
        values, diag = np.asarray(est.values), {k: np.asarray(v) for k, v in est.diagnostics.items()}
    else:
        values, diag = np.full(m, np.nan), {}
        for j, x in enumerate(eval_idx.tolist()):
            rows = neighbourhood_rows(points, int(x), settings.neighbourhood)
            sub_seed = int(np.random.default_rng([int(seed), int(x)]).integers(0, 2**31 - 1))
            est = entropy_curvature(points[rows], np.array([0]), dim, seed=sub_seed, comparison=space, **dc2)
            values[j] = est.values[0]
            for k, v in est.diagnostics.items():
                diag.setdefault(k, np.full(m, np.nan))[j] = v[0]
    if len(record) != m * trials:
        raise RuntimeError(f"expected {m * trials} flattenings, got {len(record)}")
    for k in record[0][1]:
        vals = np.array([q[k] for _, q in record], dtype=np.float64).reshape(m, trials)
        diag[k] = vals.mean(axis=1)
    return Estimate(values=values, diagnostics=diag)
