"""`image_manifold`: images of a Gaussian blob rendered analytically on a p x p grid, the cloud in R^(p²).

Renderer (JAX, so the truth follows by autodiff through it): pixel centres x_j, y_i = (k + 1/2) 2/p - 1
on [-1, 1]², the blob
    I(x, y) = exp(-(x_r² / (sigma e^e)² + y_r² / (sigma e^-e)²) / 2),
    (x_r, y_r) = rotation by -theta of (x - c_x, y - c_y),
and the image the row-major vector of I(x_j, y_i). Parameters u in the box [-1, 1]^d, in this order:
    u_1: horizontal position c_x = position_range * u_1
    u_2: width sigma, log-uniform in [width_min, width_max]
    u_3 (d >= 3): orientation theta = orientation_range * u_3 (radians)
    u_4 (d = 4): vertical position c_y = position_range * u_4
(c_y = 0 and theta = 0 below those dimensions); `elongation` e fixes the axes' ratio e^(2e), and must be
> 0 when d >= 3 (a round blob does not change when rotated, which would make the chart degenerate).

Normalisation, part of the embedding (so the truth includes it): "contrast" (default) removes the
image's mean and scales it to unit Euclidean norm, as the Klein-bottle patches are mean-free and
normalised (Euclidean instead of their D-norm, so the coordinates stay pixels and the cloud lies on the
unit sphere of the mean-free hyperplane of R^(p²)); "unit" scales to unit norm only; "none" keeps raw
pixels.

Geometry: for blobs well inside a fine grid, "unit" images are the square roots of Gaussian densities
(the Hellinger embedding), so the (position, width) family is a hyperbolic plane: S = -2 for d = 2, and
-6 for position (2-D) and width. At the defaults (a 16 x 16 grid, blobs of one to two pixels) the
evaluation rows have S between about -2.7 and -1.7 for d = 2, the orientation adds variation (about -11
to -1.3 for d = 3), and d = 4 gives about -8.2 to -4.9. Every evaluation row is clearly negative (meta["nonzero_share"] records the share with |S| > zero_tol): there is no second sign
to balance in these families.

Sampling: volume-uniform in the parameter box by rejection under a dense-grid bound x 1.2, checked against
every proposal; density_slope grows the density along u_1. Evaluation rows lie at least eval_margin inside
the box (a fraction of its half-width 1). Noise is Gaussian in pixel space (the ambient space) after the
normalisation, on every row. meta["images"] holds the clean images of the first evaluation rows (p x p),
which colosseum-preview draws beside the cloud; meta["row_params"] the clean parameters u of every row.
"""
from __future__ import annotations

import functools
from typing import Annotated, Literal

import jax.numpy as jnp
import numpy as np

from colosseum.domains import Box
from colosseum.geometry import Family
from colosseum.params import Count, NonNegative, PointCount, Positive, Range
from colosseum.registry import register_dataset
from colosseum.sampling import (
    DensityGradient,
    check_ambient,
    cloud_from_parameters,
    density_bound,
    evaluate,
    interior_rows,
    volume_uniform,
)

NORMALISATIONS = ("contrast", "unit", "none")
#: Clean images of the first evaluation rows kept in meta["images"].
PREVIEW_IMAGES = 8


def pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of the pixel centres, row-major over a size x size image on [-1, 1]²."""
    axis = (np.arange(size) + 0.5) / size * 2 - 1
    x, y = np.meshgrid(axis, axis, indexing="xy")  # x varies along a row, y down the columns
    return x.ravel(), y.ravel()


@functools.lru_cache(maxsize=32)
def image_family(size: int, dim: int, normalise: str):
    """family(theta, u) -> image in R^(size²); theta = (position_range, log width_min, log width_max,
    elongation, orientation_range)."""
    gx, gy = pixel_grid(size)

    def family(theta, u):
        pos, lo, hi, elong, orient = theta[0], theta[1], theta[2], theta[3], theta[4]
        cx = pos * u[0]
        sigma = jnp.exp(lo + (u[1] + 1) / 2 * (hi - lo))
        angle = orient * u[2] if dim >= 3 else 0.0
        cy = pos * u[3] if dim >= 4 else 0.0
        c, s = jnp.cos(angle), jnp.sin(angle)
        dx, dy = gx - cx, gy - cy
        xr, yr = c * dx + s * dy, -s * dx + c * dy
        img = jnp.exp(-0.5 * ((xr / (sigma * jnp.exp(elong))) ** 2 + (yr / (sigma * jnp.exp(-elong))) ** 2))
        if normalise == "contrast":
            img = img - jnp.mean(img)
        if normalise != "none":
            img = img / jnp.sqrt(img @ img)
        return img
    return family


def image_embed(size: int, dim: int, normalise: str, position_range: float, width_min: float, width_max: float,
                elongation: float, orientation_range: float) -> Family:
    """The embedding u in [-1, 1]^d -> image in R^(size²) (a member of its compiled family)."""
    theta = np.array([position_range, np.log(width_min), np.log(width_max), elongation, orientation_range])
    return Family(image_family(int(size), int(dim), normalise), theta)


def render(embed: Family, u: np.ndarray, size: int) -> np.ndarray:
    """The images (m, size, size) of the parameters u (m, d)."""
    return evaluate(embed, np.atleast_2d(u)).reshape(-1, size, size)


@register_dataset("image_manifold")
def image_manifold(*, seed: int, dim: Annotated[int, Range(ge=2, le=4)] = 2,
                   image_size: Annotated[int, Range(ge=4)] = 16, position_range: Positive = 0.3,
                   width_min: Positive = 0.15, width_max: Positive = 0.3, elongation: NonNegative = 0.4,
                   orientation_range: Annotated[float, Range(gt=0, lt=1.5)] = 1.0,
                   normalise: Literal["contrast", "unit", "none"] = "contrast", n_points: PointCount = 1000,
                   n_eval: Count = 16, eval_margin: Annotated[float, Range(ge=0, lt=1)] = 0.2,
                   noise: NonNegative = 0.0, noise_scale: Literal["absolute", "diameter"] = "absolute",
                   ambient_dim: int | None = None, zero_tol: NonNegative = 0.05,
                   density_slope: Annotated[float, Range(ge=0, lt=1)] = 0.0):
    problems = []
    if not width_min < width_max:
        problems.append(f"need width_min < width_max, got {width_min}, {width_max}")
    if dim >= 3 and elongation == 0:
        problems.append("d >= 3 varies the orientation, which a round blob (elongation = 0) does not have")
    native = image_size * image_size
    if n_eval > n_points:
        problems.append(f"n_eval ({n_eval}) exceeds n_points ({n_points})")
    if problems:
        raise ValueError("image_manifold: " + "; ".join(problems))
    check_ambient(ambient_dim, native, "image_manifold")
    rng = np.random.default_rng(seed)
    embed = image_embed(image_size, dim, normalise, position_range, width_min, width_max, elongation,
                        orientation_range)
    box = Box(dim, 1.0)
    gradient = DensityGradient(density_slope, 1.0) if density_slope else None
    u, info = volume_uniform(embed, box, n_points, rng, bound=density_bound(embed, box), gradient=gradient)
    rows = interior_rows(box.boundary_distance(u), eval_margin, n_eval, rng, always=())
    meta = {"kind": "patch", "image_shape": [image_size, image_size], "normalise": normalise, "row_params": u,
            "images": render(embed, u[rows[:PREVIEW_IMAGES]], image_size), **info}
    sample = cloud_from_parameters(embed, u, rows, dim=dim, ambient_dim=ambient_dim, noise=noise, rng=rng,
                                   meta=meta, noise_scale=noise_scale)
    sample.meta["nonzero_share"] = float(np.mean(np.abs(sample.curvature) > zero_tol))
    return sample
