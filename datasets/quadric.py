"""`quadric`: graphs of random polynomials, the rebuilt Colosseum battery (ground-truth.md, section 6).

    F(x) = (x, q_1(x), ..., q_c(x)) on the box [-half_width, half_width]^d,
    q_a(x) = 1/2 x^T H_a x  +  b_a . x  +  sum_{i<=j<=k} C_a,ijk x_i x_j x_k.

Surface (drawn from the seed's first sub-stream, candidates in rounds of CANDIDATE_ROUNDS):
- H_a = Q diag(lambda) Q^T, Q Haar-random, |lambda_i| uniform in [eig_min, eig_max]; the number of
  negative eigenvalues is uniform in 0..d for each component, so both signs of S are common.
- linear terms b_a uniform in [-linear_scale, linear_scale]^d (default 0: off, the tangent space
  at the centre is then the first d axes); cubic coefficients C_a,ijk (i <= j <= k) uniform in
  [-cubic_scale, cubic_scale] (default 0). Cubic terms leave S at the centre unchanged, and the
  Hessians of a seed's candidates do not depend on linear_scale or cubic_scale.
- A candidate is kept when S(0) has the target sign, min_abs_curvature <= |S(0)| <=
  max_abs_curvature (null: no cap besides eig_max) and the relative index
  |rho| = |S(0)| / sum_a ||H_a||_F^2 >= min_relative; the first one kept is the surface.
  sign: "positive", "negative", or "balanced" = positive for even seeds, negative for odd ones.
- S(0) of every candidate comes from colosseum.geometry (Gauss equation by autodiff, exact with
  or without linear terms); no closed form here.

Cloud (each attempt from its own sub-stream of the seed's second stream):
- n_points - 1 parameters uniform in Riemannian volume (exact density bound at the box's vertices
  when codim = 1 and cubic_scale = 0, where det g is convex; else a grid bound with margin), and
  row 0 = the centre x = 0. Evaluation rows: the centre plus n_eval - 1 random rows at least
  eval_margin * half_width inside the box.
- Sanity checks (colosseum.sanity) on the CLEAN points: at least min_neighbors other points
  within eval_radius * half_width of every evaluation point; at least min_per_direction of them
  in each of the 2d tangent cones of half-angle cone_angle (45 degrees, the ground-truth.md rule for
  d <= 3; the cones shrink fast with d, so widen it or raise n_points for d >= 4) around +-e_i of
  the true tangent frame;
  every evaluation point farther than that radius from the box's boundary. A failing draw is
  redrawn, at most max_resamples times, then ValueError names the failing check.
- Then the cloud is rotated into R^ambient_dim and noised (every row, evaluation rows included);
  the truth at each evaluation row is S at its clean parameter.

`drawn_surface(seed, **params)` returns the surface `quadric(seed=seed, **params)` uses (its
coefficients, S(0), relative index); `drawn_surfaces(seeds, **params)` does so for many seeds in one
compiled call (class shares, magnitude ranges of a battery without sampling any cloud).
"""
from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from typing import Annotated, Literal

import jax
import jax.numpy as jnp
import numpy as np

from colosseum.domains import Box
from colosseum.geometry import Family, batched, scalar_curvature_family
from colosseum.params import Count, NonNegative, NonNegativeInt, PointCount, Positive, Range, signature_types
from colosseum.registry import register_dataset
from colosseum.sampling import (
    DensityGradient,
    cloud_from_parameters,
    density_bound,
    interior_rows,
    volume_uniform,
)
from colosseum.sanity import check_sampling, orthonormal_frames

SIGN_MODES = ("positive", "negative", "balanced")
#: Candidate surfaces per round for each seed; after the last round without a valid one, ValueError.
CANDIDATE_ROUNDS = (256, 2048, 2048, 2048, 2048)
#: At most this many candidates per compiled curvature call. Large vmapped XLA:CPU computations can
#: wedge the multi-threaded Eigen pool (hung at 10240 candidates); small calls also run on one thread.
FAMILY_CHUNK = 2048


@dataclass(frozen=True)
class QuadricSurface:
    """A drawn surface: coefficients, S at the centre, and how it was selected."""

    hessians: np.ndarray    # (c, d, d) H_a
    linear: np.ndarray      # (c, d) b_a
    cubic: np.ndarray       # (c, d, d, d) C_a,ijk, zero unless i <= j <= k
    curvature: float        # S(0), by colosseum.geometry
    relative_index: float   # S(0) / sum_a ||H_a||_F^2
    target_sign: int        # +1 or -1
    candidates_drawn: int

    @property
    def has_cubic(self) -> bool:
        return bool(np.any(self.cubic))

    def theta(self) -> np.ndarray:
        """The parameter vector of quadric_family(d, c, cubic=self.has_cubic)."""
        parts = [self.hessians.ravel(), self.linear.ravel()] + ([self.cubic.ravel()] if self.has_cubic else [])
        return np.concatenate(parts)


@functools.lru_cache(maxsize=64)
def quadric_family(dim: int, codim: int, cubic: bool = False):
    """family(theta, x) -> F(x) in R^(d+c); theta = (H (c,d,d), b (c,d)[, C (c,d,d,d)]) flattened."""
    n_h, n_b = codim * dim * dim, codim * dim

    def family(theta, x):
        h = theta[:n_h].reshape(codim, dim, dim)
        b = theta[n_h:n_h + n_b].reshape(codim, dim)
        q = 0.5 * jnp.einsum("aij,i,j->a", h, x, x) + b @ x
        if cubic:
            c = theta[n_h + n_b:].reshape(codim, dim, dim, dim)
            q = q + jnp.einsum("aijk,i,j,k->a", c, x, x, x)
        return jnp.concatenate([x, q])
    return family


def quadric_embed(surface: QuadricSurface) -> Family:
    """The embedding x -> F(x) of a drawn surface: a member of its (dim, codim) family, so that every
    surface of a battery shares the compiled geometry (truth, volume element, Jacobians)."""
    codim, dim = surface.linear.shape
    return Family(quadric_family(dim, codim, surface.has_cubic), surface.theta())


def _candidates(rng: np.random.Generator, n: int, dim: int, codim: int, eig_min: float, eig_max: float,
                linear_scale: float, cubic_scale: float):
    """n candidate coefficient sets; the Hessians use the stream first, whatever the other scales."""
    g = rng.standard_normal((n, codim, dim, dim))
    q, r = np.linalg.qr(g)
    q = q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]  # Haar
    mag = rng.uniform(eig_min, eig_max, size=(n, codim, dim))
    n_neg = rng.integers(0, dim + 1, size=(n, codim))
    lam = np.where(np.arange(dim) < n_neg[..., None], -mag, mag)
    hess = np.einsum("ncij,ncj,nckj->ncik", q, lam, q)
    hess = 0.5 * (hess + np.swapaxes(hess, -1, -2))
    lin = rng.uniform(-1.0, 1.0, size=(n, codim, dim)) * linear_scale
    i, j, k = np.meshgrid(*[np.arange(dim)] * 3, indexing="ij")
    mask = (i <= j) & (j <= k)
    cub = rng.uniform(-1.0, 1.0, size=(n, codim, dim, dim, dim)) * cubic_scale * mask
    return hess, lin, cub


def target_sign(sign: str, seed: int) -> int:
    if sign == "positive":
        return 1
    if sign == "negative":
        return -1
    if sign == "balanced":
        return 1 if int(seed) % 2 == 0 else -1
    raise ValueError(f"unknown sign mode {sign!r}; use one of {', '.join(SIGN_MODES)}")


def _streams(seed: int) -> tuple[np.random.SeedSequence, np.random.SeedSequence]:
    """(surface stream, sampling root); attempt k samples from sampling_root.spawn(...)[k]."""
    surface, sampling = np.random.SeedSequence(int(seed)).spawn(2)
    return surface, sampling


def _draw_surfaces(seeds, p: dict) -> list[QuadricSurface]:
    """The surface of each seed: the first valid candidate of its own stream, in CANDIDATE_ROUNDS.

    Candidates of the pending seeds go through scalar_curvature_family in chunks of at most
    FAMILY_CHUNK; each seed's candidates depend on its stream only, not on the grouping.
    """
    seeds = [int(s) for s in seeds]
    dim, codim = p["dim"], p["codim"]
    wants = np.array([target_sign(p["sign"], s) for s in seeds])
    rngs = [np.random.default_rng(_streams(s)[0]) for s in seeds]
    cubic = p["cubic_scale"] > 0
    family = quadric_family(dim, codim, cubic)
    cap = np.inf if p["max_abs_curvature"] is None else float(p["max_abs_curvature"])
    out: list[QuadricSurface | None] = [None] * len(seeds)
    drawn = 0
    for batch in CANDIDATE_ROUNDS:
        todo = [i for i, s in enumerate(out) if s is None]
        if not todo:
            break
        hess, lin, cub = (np.stack(a) for a in zip(*[
            _candidates(rngs[i], batch, dim, codim, p["eig_min"], p["eig_max"], p["linear_scale"],
                        p["cubic_scale"]) for i in todo]))  # (T, B, ...)
        parts = [hess, lin] + ([cub] if cubic else [])
        theta = np.concatenate([a.reshape(len(todo) * batch, -1) for a in parts], axis=1)
        s0 = np.concatenate([scalar_curvature_family(family, theta[i:i + FAMILY_CHUNK], np.zeros(dim))
                             for i in range(0, len(theta), FAMILY_CHUNK)]).reshape(len(todo), batch)
        rho = s0 / np.einsum("tncij,tncij->tn", hess, hess)
        ok = ((np.sign(s0) == wants[todo][:, None]) & (np.abs(s0) >= p["min_abs_curvature"])
              & (np.abs(s0) <= cap) & (np.abs(rho) >= p["min_relative"]))
        for t, i in enumerate(todo):
            if ok[t].any():
                k = int(np.argmax(ok[t]))
                out[i] = QuadricSurface(hess[t, k], lin[t, k], cub[t, k], float(s0[t, k]), float(rho[t, k]),
                                        int(wants[i]), drawn + k + 1)
        drawn += batch
    if all(s is not None for s in out):
        return out  # type: ignore[return-value]
    bad = [seeds[i] for i, s in enumerate(out) if s is None]
    raise ValueError(
        f"quadric (seed {bad[0]}): none of {drawn} candidate surfaces had S(0) of sign "
        f"{int(wants[seeds.index(bad[0])]):+d} with {p['min_abs_curvature']} <= |S(0)| <= {cap} and "
        f"|S(0)| / sum_a ||H_a||_F^2 >= {p['min_relative']} (dim={dim}, codim={codim}, |eigenvalues| in "
        f"[{p['eig_min']}, {p['eig_max']}], linear_scale={p['linear_scale']}); widen "
        "[min_abs_curvature, max_abs_curvature] or the eigenvalue range, or lower min_relative")


def _validate(p: dict) -> None:
    """The checks that involve several parameters (each one alone is checked by its type)."""
    problems = []
    d, c = p["dim"], p["codim"]
    if not p["eig_min"] <= p["eig_max"]:
        problems.append(f"need 0 < eig_min <= eig_max, got eig_min={p['eig_min']}, eig_max={p['eig_max']}")
    cap = p["max_abs_curvature"]
    if cap is not None and cap < p["min_abs_curvature"]:
        problems.append(f"need 0 <= min_abs_curvature <= max_abs_curvature, got {p['min_abs_curvature']}"
                        f", {cap}")
    if not p["zero_tol"] <= p["min_abs_curvature"]:
        problems.append(f"zero_tol must be in [0, min_abs_curvature = {p['min_abs_curvature']}] so the "
                        f"centre's label is never unsigned, got {p['zero_tol']}")
    amb = p["ambient_dim"]
    if amb is not None and not (amb > d and amb >= d + c):
        problems.append(f"ambient_dim must exceed dim and be >= dim + codim = {d + c}, got {amb}")
    if p["n_points"] < max(10, d + 2, p["n_eval"]):
        problems.append(f"need n_points >= max(10, dim + 2, n_eval), got n_points={p['n_points']}, "
                        f"n_eval={p['n_eval']}")
    if problems:
        raise ValueError("quadric: " + "; ".join(problems))
    # checks no redraw can pass: say so at once
    if p["n_eval"] > 1 and p["eval_margin"] <= p["eval_radius"]:
        raise ValueError(f"quadric: interior check can never pass: evaluation points are only "
                         f"eval_margin={p['eval_margin']} * half_width inside the box, not farther than "
                         f"eval_radius={p['eval_radius']} * half_width; raise eval_margin or lower eval_radius")
    if p["min_neighbors"] >= p["n_points"]:
        raise ValueError(f"quadric: neighbourhood check can never pass: min_neighbors={p['min_neighbors']} "
                         f"other points are required but the cloud has n_points={p['n_points']}; raise "
                         "n_points or lower min_neighbors")
    if p["cone_angle"] <= 45 and 2 * d * p["min_per_direction"] > p["n_points"] - 1:  # disjoint cones
        raise ValueError(f"quadric: tangent-coverage check can never pass: {2 * d} directions x "
                         f"min_per_direction={p['min_per_direction']} exceeds the {p['n_points'] - 1} other "
                         "points; raise n_points or lower min_per_direction")


def _point_and_jacobian(embed, v):
    return embed(v), jax.jacfwd(embed)(v)


def _probe(embed, rows: int):
    """u (m <= rows, d) -> (F(u) (m, D), Jacobians (m, D, d)), float64, by one compiled call.

    Inputs are padded to `rows` rows so that the vertices and every draw of the cloud share a
    single compilation.
    """
    fn = batched(_point_and_jacobian, embed)

    def probe(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u = np.asarray(u, dtype=np.float64)
        m = len(u)
        pad = np.concatenate([u, np.zeros((max(rows - m, 0), u.shape[1]))]) if m < rows else u
        with jax.enable_x64(True):
            pts, jac = fn(jnp.asarray(pad))
            return np.asarray(pts, dtype=np.float64)[:m], np.asarray(jac, dtype=np.float64)[:m]
    return probe


def _params(seed: int, params: dict) -> dict:
    """quadric's complete parameters, each coerced and checked by its type (as the registry does)."""
    bound = inspect.signature(quadric).bind(seed=seed, **params)
    bound.apply_defaults()
    p = dict(bound.arguments)
    p.pop("seed")
    types = signature_types(quadric, list(p), p)
    return {k: types[k].coerce(v, f"quadric: parameter {k!r}") for k, v in p.items()}


def drawn_surface(seed: int, **params) -> QuadricSurface:
    """The surface (Hessians, linear and cubic coefficients, S(0)) that quadric(seed=seed, **params) uses."""
    return drawn_surfaces([seed], **params)[0]


def drawn_surfaces(seeds, **params) -> list[QuadricSurface]:
    """drawn_surface for many seeds at once (one compiled curvature call per round): battery previews."""
    seeds = list(seeds)
    p = _params(seeds[0] if seeds else 0, params)
    _validate(p)
    return _draw_surfaces(seeds, p)


@register_dataset("quadric")
def quadric(*, seed: int, dim: Annotated[int, Range(ge=2)] = 2, codim: Count = 1, half_width: Positive = 1.0,
            eig_min: Positive = 0.25, eig_max: Positive = 2.0, linear_scale: NonNegative = 0.0,
            cubic_scale: NonNegative = 0.0, sign: Literal["positive", "negative", "balanced"] = "balanced",
            min_abs_curvature: NonNegative = 0.1, max_abs_curvature: NonNegative | None = None,
            min_relative: NonNegative = 0.1, n_points: PointCount = 1000, n_eval: Count = 8,
            eval_margin: Annotated[float, Range(ge=0, lt=1)] = 0.5, eval_radius: Annotated[float, Range(gt=0, lt=1)] = 0.25,
            min_neighbors: NonNegativeInt = 5, min_per_direction: NonNegativeInt = 1,
            cone_angle: Annotated[float, Range(gt=0, le=90)] = 45.0, max_resamples: NonNegativeInt = 20,
            noise: NonNegative = 0.0, ambient_dim: int | None = None, zero_tol: NonNegative = 0.05,
            noise_scale: Literal["absolute", "diameter"] = "absolute",
            density_slope: Annotated[float, Range(ge=0, lt=1)] = 0.0):
    p = {k: v for k, v in locals().items() if k != "seed"}
    _validate(p)
    surface = _draw_surfaces([seed], p)[0]
    embed = quadric_embed(surface)
    box = Box(dim, half_width)
    exact = codim == 1 and cubic_scale == 0
    # codim 1 without cubic terms: det g = 1 + |b + Hx|^2 is convex, so its maximum sits at a vertex.
    probe = _probe(embed, n_points)
    if exact:  # sqrt(det g) = sqrt(det J^T J) at the vertices, J by autodiff
        jac = probe(box.vertices())[1]
        bound = float(np.sqrt(np.linalg.det(np.swapaxes(jac, 1, 2) @ jac)).max())
    else:
        bound = density_bound(embed, box)
    radius = eval_radius * half_width
    gradient = DensityGradient(density_slope, half_width) if density_slope else None
    attempts = _streams(seed)[1].spawn(max_resamples + 1)
    failures = {"neighborhood": 0, "tangent_coverage": 0, "interior": 0}
    for attempt, stream in enumerate(attempts):
        rng = np.random.default_rng(stream)
        u, info = volume_uniform(embed, box, n_points - 1, rng, bound=bound, gradient=gradient)
        bound = info["density_bound"]  # keep an enlarged bound for later attempts
        u = np.concatenate([np.zeros((1, dim)), u])  # row 0: the centre
        bdist = box.boundary_distance(u)
        rows = interior_rows(bdist, eval_margin * half_width, n_eval, rng)
        clean, jac = probe(u)
        report = check_sampling(clean, rows, orthonormal_frames(jac[rows]), radius,
                                min_neighbors=min_neighbors, min_per_direction=min_per_direction,
                                half_angle=np.radians(cone_angle),
                                boundary_distance=bdist[rows])
        for name in report.failed:
            failures[name] += 1
        if report.ok:
            break
    else:
        advice = {"neighborhood": f"fewer than min_neighbors={min_neighbors} points within "
                                  f"eval_radius={eval_radius} * half_width of an evaluation point",
                  "tangent_coverage": f"fewer than min_per_direction={min_per_direction} neighbours in a "
                                      f"{cone_angle}-degree cone around a tangent axis",
                  "interior": "an evaluation point within eval_radius of the box's boundary"}
        worst = [k for k in advice if failures[k]]
        raise ValueError(
            f"quadric (seed={seed}): sanity check(s) {', '.join(worst)} failed in all {max_resamples + 1} "
            f"draws ({'; '.join(advice[k] for k in worst)}; last draw: min neighbours "
            f"{int(report.neighbours.min())}, min per direction {int(report.cones.min())}); raise n_points "
            "or eval_radius, or lower min_neighbors / min_per_direction, or widen cone_angle (d >= 4), or "
            "allow more max_resamples")
    meta = {"kind": "patch", "sign_mode": sign, "sign_target": surface.target_sign,
            "curvature_centre": surface.curvature, "relative_index": surface.relative_index,
            "candidates_drawn": surface.candidates_drawn, "resamples": attempt,
            "sanity_on": "clean", "sanity_failed_neighborhood": failures["neighborhood"],
            "sanity_failed_tangent_coverage": failures["tangent_coverage"],
            "density_bound_exact": exact, **info, **report.meta()}
    return cloud_from_parameters(embed, u, rows, dim=dim, ambient_dim=ambient_dim, noise=noise, rng=rng,
                                 meta=meta, noise_scale=noise_scale)
