"""`bumps`: graphs of random sums of Gaussian bumps over a box, both signs in every draw.

    F(x) = (x, f_1(x), ..., f_c(x)) on [-h, h]^d (h = half_width, d = 2 or 3, c = 1 or 2),
    f_a(x) = h * sum_k A_ak exp(-|x / h - c_ak|^2 / (2 w_ak^2)),   k = 1..n_bumps,

with centres c_ak uniform in [-0.8, 0.8]^d, widths w_ak uniform in [width_min, width_max] and amplitudes
A_ak of random sign with |A_ak| uniform in [amp_min, amp_max] (all relative to h, so the shape does not
depend on h and S scales as 1 / h^2). A bump is positive-curved on its cap and negative-curved on its
flanks, and overlapping bumps make saddles, so the sign of S changes across every draw at scales set by
the widths: a harder, more varied battery than one quadric per draw.

Truth: colosseum.geometry.scalar_curvature (Gauss equation by autodiff, correct where the graph is
tilted) at the clean parameters, the surface a Family member (one compilation per (d, c, n_bumps)).
Sampling: volume-uniform by rejection under a dense-grid bound x 1.2, checked against every proposal;
density_slope grows the density along x_1 like quadric's.

Evaluation rows: rows at least eval_margin * h inside the box where |S| is clearly nonzero, |S| >
threshold = max(zero_tol, eval_min_fraction * spread), the spread being the 5-95 % quantile range of S
over those interior rows (robust to the sharp caps of narrow bumps), balanced between
the signs BY ROW SELECTION (n_eval // 2 of each at random; an odd n_eval gives the extra row to the
seed's parity, positive for even seeds). The sanity checks of colosseum.sanity (neighbours within
eval_radius * h, tangent coverage, interior) run on the clean cloud. A draw (surface and cloud, from
attempt k's own sub-stream of the seed) that has too few rows of one sign or fails a check is redrawn,
at most max_resamples times. meta["surface_theta"] holds the drawn surface's parameters (the theta of
bumps_family(d, c, n_bumps)), meta["row_params"] the clean parameters x of every row.
d = 3 spreads the points thinner: use about n_points = 2000 with cone_angle = 60 there.
"""
from __future__ import annotations

import functools
from typing import Annotated, Literal

import jax.numpy as jnp
import numpy as np

from colosseum.domains import Box
from colosseum.geometry import Family, jacobians, scalar_curvature
from colosseum.params import NonNegative, NonNegativeInt, PointCount, Positive, Range
from colosseum.registry import register_dataset
from colosseum.sampling import (
    DensityGradient,
    check_ambient,
    density_bound,
    evaluate,
    finish_cloud,
    sign_balanced_rows,
    volume_uniform,
)
from colosseum.sanity import check_sampling, orthonormal_frames

#: Bump centres lie in [-CENTRE_SPAN, CENTRE_SPAN]^d (relative to half_width).
CENTRE_SPAN = 0.8


@functools.lru_cache(maxsize=32)
def bumps_family(dim: int, codim: int, n_bumps: int):
    """family(theta, x) -> (x, f(x)); theta = (half_width, centres (c,K,d), widths (c,K), amplitudes (c,K))."""
    n_c = codim * n_bumps * dim

    def family(theta, x):
        h = theta[0]
        centres = theta[1:1 + n_c].reshape(codim, n_bumps, dim)
        widths = theta[1 + n_c:1 + n_c + codim * n_bumps].reshape(codim, n_bumps)
        amps = theta[1 + n_c + codim * n_bumps:].reshape(codim, n_bumps)
        r2 = jnp.sum((x / h - centres) ** 2, axis=-1)
        return jnp.concatenate([x, h * jnp.sum(amps * jnp.exp(-0.5 * r2 / widths**2), axis=-1)])
    return family


def draw_bumps(rng: np.random.Generator, dim: int, codim: int, n_bumps: int, half_width: float,
               amp_min: float, amp_max: float, width_min: float, width_max: float) -> Family:
    """One random surface (its embedding, a Family member)."""
    centres = rng.uniform(-CENTRE_SPAN, CENTRE_SPAN, size=(codim, n_bumps, dim))
    widths = rng.uniform(width_min, width_max, size=(codim, n_bumps))
    amps = rng.uniform(amp_min, amp_max, size=(codim, n_bumps)) * rng.choice([-1.0, 1.0], size=(codim, n_bumps))
    theta = np.concatenate([[half_width], centres.ravel(), widths.ravel(), amps.ravel()])
    return Family(bumps_family(dim, codim, n_bumps), theta)


@register_dataset("bumps")
def bumps(*, seed: int, dim: Annotated[int, Range(ge=2, le=3)] = 2, codim: Annotated[int, Range(ge=1, le=2)] = 1,
          n_bumps: Annotated[int, Range(ge=1, le=32)] = 4, half_width: Positive = 1.0,
          amp_min: Positive = 0.1, amp_max: Positive = 0.4, width_min: Positive = 0.3, width_max: Positive = 0.6,
          n_points: PointCount = 1000, n_eval: Annotated[int, Range(ge=2)] = 16,
          eval_margin: Annotated[float, Range(ge=0, lt=1)] = 0.3,
          eval_min_fraction: Annotated[float, Range(ge=0, lt=0.5)] = 0.05,
          eval_radius: Annotated[float, Range(gt=0, lt=1)] = 0.25, min_neighbors: NonNegativeInt = 5,
          min_per_direction: NonNegativeInt = 1, cone_angle: Annotated[float, Range(gt=0, le=90)] = 45.0,
          max_resamples: NonNegativeInt = 20, noise: NonNegative = 0.0,
          noise_scale: Literal["absolute", "diameter"] = "absolute", ambient_dim: int | None = None,
          zero_tol: NonNegative = 0.05, density_slope: Annotated[float, Range(ge=0, lt=1)] = 0.0):
    problems = []
    if not amp_min <= amp_max:
        problems.append(f"need amp_min <= amp_max, got {amp_min}, {amp_max}")
    if not width_min <= width_max:
        problems.append(f"need width_min <= width_max, got {width_min}, {width_max}")
    if not eval_radius < eval_margin:
        problems.append(f"evaluation rows must lie farther inside (eval_margin = {eval_margin}) than the sanity "
                        f"radius (eval_radius = {eval_radius}), both fractions of half_width")
    if n_eval > n_points:
        problems.append(f"n_eval ({n_eval}) exceeds n_points ({n_points})")
    if problems:
        raise ValueError("bumps: " + "; ".join(problems))
    check_ambient(ambient_dim, dim + codim, "bumps")
    box = Box(dim, half_width)
    gradient = DensityGradient(density_slope, half_width) if density_slope else None
    failures = {"signs": 0, "neighborhood": 0, "tangent_coverage": 0, "interior": 0}
    last = ""
    for attempt, stream in enumerate(np.random.SeedSequence(int(seed)).spawn(max_resamples + 1)):
        rng = np.random.default_rng(stream)
        embed = draw_bumps(rng, dim, codim, n_bumps, half_width, amp_min, amp_max, width_min, width_max)
        u, info = volume_uniform(embed, box, n_points, rng, bound=density_bound(embed, box), gradient=gradient)
        inside = box.boundary_distance(u) >= eval_margin * half_width
        s_all = scalar_curvature(embed, u)  # every row: one batch shape, so one compilation per family
        spread = float(np.subtract(*np.quantile(s_all[inside], [0.95, 0.05]))) if inside.any() else 0.0
        threshold = max(zero_tol, eval_min_fraction * spread)
        try:
            rows = sign_balanced_rows(s_all, inside, n_eval, threshold, rng,
                                      first_sign=1 if seed % 2 == 0 else -1)
        except ValueError as exc:
            failures["signs"] += 1
            last = str(exc)
            continue
        clean = evaluate(embed, u)
        report = check_sampling(clean, rows, orthonormal_frames(jacobians(embed, u[rows])),
                                eval_radius * half_width, min_neighbors=min_neighbors,
                                min_per_direction=min_per_direction, half_angle=np.radians(cone_angle),
                                boundary_distance=box.boundary_distance(u[rows]))
        for name in report.failed:
            failures[name] += 1
        if report.ok:
            break
        last = f"sanity check(s) {', '.join(report.failed)} failed"
    else:
        raise ValueError(f"bumps (seed={seed}): no valid draw in {max_resamples + 1} attempts (last: {last}); "
                         "raise n_points, lower n_eval or eval_min_fraction, widen the box's interior "
                         "(lower eval_margin), raise eval_radius or cone_angle (d = 3), or allow more "
                         "max_resamples")
    meta = {"kind": "patch", "sign_balance": "rows", "eval_threshold": threshold, "resamples": attempt,
            "surface_theta": np.asarray(embed.theta), "row_params": u,
            "curvature_spread": spread, "resamples_for_signs": failures["signs"],
            "sanity_failed_neighborhood": failures["neighborhood"],
            "sanity_failed_tangent_coverage": failures["tangent_coverage"], **info, **report.meta()}
    return finish_cloud(clean, rows, s_all[rows], u[rows], dim=dim, ambient_dim=ambient_dim, noise=noise,
                        rng=rng, meta=meta, noise_scale=noise_scale)
