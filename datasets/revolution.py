"""`revolution`: closed surfaces of revolution with a random smooth cross-section, scored pointwise.

Cross-section (drawn per seed): the closed curve in the (rho, z) half-plane
    gamma(t) = (R, 0) + Rot(tilt) diag(a, b) r(t) (cos t, sin t),   t in [-pi, pi),
    r(t) = 1 + sum_{k=2..HARMONICS} (alpha_k cos kt + beta_k sin kt),
an ellipse of axes a = r0 sqrt(aspect), b = r0 / sqrt(aspect) (aspect log-uniform in [1, max_aspect],
tilt uniform in [0, pi)) whose radius is perturbed by harmonics 2..4 (alpha_k, beta_k uniform in
[-wobble / k, wobble / k]). r(t) > 0 makes it a smooth simple closed curve (star-shaped about (R, 0)),
immersed since |gamma'| >= min(a, b) r(t) > 0; the parameter check keeps it off the axis.
Rotated about the z axis: F(t, phi) = (rho(t) cos phi, rho(t) sin phi, z(t)), a torus (chi = 0) whose
curvature has both signs (positive on the outer side, negative on the inner one, more sign changes
where the wobble dents the section). With max_aspect = 1 and wobble = 0 it is the ring torus of radii
(R, r0).

Truth: colosseum.geometry.scalar_curvature of F (autodiff through the Family member of the drawn
section; the chart (t, phi) is periodic and nondegenerate everywhere). Sampling: volume-uniform in
(t, phi) by rejection with density sqrt(det g) = rho(t) |gamma'(t)| under a dense-grid bound (checked
against every proposal). density_slope: density grows along the first ambient coordinate x.

Evaluation rows: balanced between the signs BY ROW SELECTION: n_eval // 2 rows with S > threshold and
as many with S < -threshold, at random among the cloud's rows (an odd n_eval gives the extra row to the
seed's parity: positive for even seeds), threshold = max(zero_tol, eval_min_fraction * (max S - min S)
over the cloud). Every cell thus holds both signs, equally often. meta["row_params"] holds the clean
parameters (t, phi) of every row.
"""
from __future__ import annotations

import functools
from typing import Annotated, Literal

import jax.numpy as jnp
import numpy as np

from colosseum.domains import Rect
from colosseum.geometry import Family, scalar_curvature
from colosseum.params import Count, NonNegative, PointCount, Positive, Range
from colosseum.registry import register_dataset
from colosseum.sampling import (
    ambient_gradient,
    density_bound,
    evaluate,
    finish_cloud,
    sign_balanced_rows,
    volume_uniform,
)

#: Harmonics 2..HARMONICS perturb the section's radius (1 would only shift it; 0 scale it).
HARMONICS = 4
PI = float(np.pi)
DOMAIN = Rect((-PI, -PI), (PI, PI), periodic=True)


def max_perturbation(wobble: float) -> float:
    """The largest |r(t) - 1| the harmonics can reach: sum_k 2 wobble / k."""
    return wobble * sum(2.0 / k for k in range(2, HARMONICS + 1))


@functools.lru_cache(maxsize=1)
def revolution_family():
    """family(theta, (t, phi)) -> R^3; theta = (R, a, b, tilt, alpha_2..alpha_K, beta_2..beta_K)."""
    ks = np.arange(2, HARMONICS + 1, dtype=np.float64)
    n = HARMONICS - 1

    def family(theta, u):
        big_r, a, b, tilt = theta[0], theta[1], theta[2], theta[3]
        alpha, beta = theta[4:4 + n], theta[4 + n:4 + 2 * n]
        t, phi = u[0], u[1]
        r = 1.0 + jnp.sum(alpha * jnp.cos(ks * t) + beta * jnp.sin(ks * t))
        x, y = a * r * jnp.cos(t), b * r * jnp.sin(t)
        rho = big_r + jnp.cos(tilt) * x - jnp.sin(tilt) * y
        z = jnp.sin(tilt) * x + jnp.cos(tilt) * y
        return jnp.stack([rho * jnp.cos(phi), rho * jnp.sin(phi), z])
    return family


def draw_section(seed: int, major_radius: float, tube_radius: float, max_aspect: float,
                 wobble: float) -> np.ndarray:
    """theta of the seed's cross-section (from the seed's first sub-stream)."""
    rng = np.random.default_rng(np.random.SeedSequence(int(seed)).spawn(2)[0])
    aspect = float(np.exp(rng.uniform(0.0, np.log(max_aspect))))
    tilt = float(rng.uniform(0.0, PI))
    ks = np.arange(2, HARMONICS + 1)
    coef = rng.uniform(-1.0, 1.0, size=(2, ks.size)) * wobble / ks
    return np.concatenate([[major_radius, tube_radius * np.sqrt(aspect), tube_radius / np.sqrt(aspect), tilt],
                           coef.ravel()])


def section_embed(theta: np.ndarray) -> Family:
    """The surface of revolution of a drawn section: a member of the one compiled family."""
    return Family(revolution_family(), np.asarray(theta, dtype=np.float64))


def drawn_surface(seed: int, major_radius: float = 2.0, tube_radius: float = 0.7, max_aspect: float = 1.6,
                  wobble: float = 0.1) -> Family:
    """The embedding (t, phi) -> R^3 that revolution(seed=seed, ...) samples (tests, previews)."""
    return section_embed(draw_section(seed, major_radius, tube_radius, max_aspect, wobble))


@register_dataset("revolution")
def revolution(*, seed: int, major_radius: Positive = 2.0, tube_radius: Positive = 0.7,
               max_aspect: Annotated[float, Range(ge=1)] = 1.6, wobble: NonNegative = 0.1,
               n_points: PointCount = 1000, n_eval: Count = 32,
               eval_min_fraction: Annotated[float, Range(ge=0, lt=0.5)] = 0.05, noise: NonNegative = 0.0,
               noise_scale: Literal["absolute", "diameter"] = "absolute", ambient_dim: int | None = None,
               zero_tol: NonNegative = 0.02, density_slope: Annotated[float, Range(ge=0, lt=1)] = 0.0):
    if max_perturbation(wobble) >= 0.5:
        raise ValueError(f"revolution: wobble = {wobble} lets the section's radius swing by up to "
                         f"{max_perturbation(wobble):.3g} (harmonics 2..{HARMONICS}); keep it below 0.5 "
                         f"(wobble < {0.5 / max_perturbation(1.0):.3g}) so the section stays a smooth simple curve")
    reach = tube_radius * np.sqrt(max_aspect) * (1 + max_perturbation(wobble))
    if not reach < 0.9 * major_radius:
        raise ValueError(f"revolution: the cross-section may reach {reach:.3g} from its centre, which must stay "
                         f"below 0.9 * major_radius = {0.9 * major_radius:.3g} (off the axis); lower tube_radius, "
                         "max_aspect or wobble, or raise major_radius")
    if n_eval > n_points:
        raise ValueError(f"revolution: n_eval ({n_eval}) exceeds n_points ({n_points})")
    theta = draw_section(seed, major_radius, tube_radius, max_aspect, wobble)
    embed = section_embed(theta)
    rng = np.random.default_rng(np.random.SeedSequence(int(seed)).spawn(2)[1])
    u, info = volume_uniform(embed, DOMAIN, n_points, rng, bound=density_bound(embed, DOMAIN),
                             gradient=ambient_gradient(embed, DOMAIN, density_slope))
    s_all = scalar_curvature(embed, u)
    threshold = max(zero_tol, eval_min_fraction * float(s_all.max() - s_all.min()))
    try:
        rows = sign_balanced_rows(s_all, np.ones(n_points, dtype=bool), n_eval, threshold, rng,
                                  first_sign=1 if seed % 2 == 0 else -1)
    except ValueError as exc:
        raise ValueError(f"revolution (seed={seed}): {exc}; raise n_points or lower n_eval or "
                         "eval_min_fraction") from None
    meta = {"kind": "closed", "sign_balance": "rows", "eval_threshold": threshold, "row_params": u,
            "section_aspect": float(theta[1] / theta[2]), "section_tilt": float(theta[3]),
            "positive_area_rows": float(np.mean(s_all > 0)), **info}
    return finish_cloud(evaluate(embed, u), rows, s_all[rows], u[rows], dim=2, ambient_dim=ambient_dim,
                        noise=noise, rng=rng, meta=meta, noise_scale=noise_scale)
