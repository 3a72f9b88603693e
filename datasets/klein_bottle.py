"""The Klein bottle of p x p image patches (Carlsson's k0 model), volume-uniform, every point scored.

Patch (pixels): P(x, y) = c·t² + d·t with t = a·x + b·y, (a, b) = (cos θ, sin θ), (c, d) = (cos φ, sin φ),
on the offsets {-(p-1)/2, ..., (p-1)/2}² (or those offsets rescaled to [-1, 1]).
Point: v(θ, φ) = Aᵀ D P / ‖P‖_D in R^(p²-1), where D is the Laplacian of the p x p 4-neighbour grid,
‖P‖_D = sqrt(Pᵀ D P) (D annihilates constants, so mean-centring is implicit), and the columns of A
are the non-constant tensor-product DCT patterns scaled so that AᵀDA = I. The map is an isometry from
mean-free patches with the D inner product onto R^(p²-1), so v lies on the unit sphere S^(p²-2).

Domain θ ∈ [0, π), φ ∈ [0, 2π): v(θ + π, φ) = v(θ, -φ) (t changes sign), which closes it into a
Klein bottle. The truth is the Gauss-equation curvature of `v` (colosseum.geometry); for p = 3 it
ranges over about [-8.67, 1.63] with total area 25.95 (docs/ground-truth.md §5).

Offsets: rescaling the offsets by λ only reparametrizes φ (P_λ(θ, φ) = r·P_1(θ, φ') with
φ' = atan2(λ sin φ, λ² cos φ)), so the manifold, its curvature and the law of the volume-uniform
cloud are the same; only the chart and (through the raw patch norms) the per-patch noise level change.

Noise (`noise` = σ, as hormoz-lab/PNAS-2021-Curvature generate_image_results.m): add
σ · median‖P‖ · N(0, I_{p²}) to the raw patches (Euclidean norm of the uncentred pixel vectors,
median over this cloud), then D-normalise and project again, so noisy points stay on the unit
sphere. Evaluation rows are noised like every row; the truth is at the clean parameters. The noise
stream depends on the seed only, so a σ sweep with one seed shares parameters, rotation and noise pattern.
`noise_scale: diameter` instead adds Gaussian noise of σ × the clean cloud's diameter to the patch
coordinates, as every other dataset's noise: a battery can noise all its families alike.

density_slope: the sampling density grows along the first isometric coordinate v_1 (1 - slope to
1 + slope across its range), the truth unchanged. meta["images"] holds the clean patches of the first
evaluation rows (p x p), which colosseum-preview draws beside the cloud.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Annotated, Literal

import jax.numpy as jnp
import numpy as np

from colosseum.contract import Sample
from colosseum.domains import Rect
from colosseum.geometry import Family, metric_condition, scalar_curvature
from colosseum.params import Count, NonNegative, PointCount, Range
from colosseum.registry import register_dataset
from colosseum.sampling import (
    ambient_gradient,
    check_ambient,
    density_bound,
    diameter,
    place_in_ambient,
    volume_uniform,
)

THETA_PERIOD, PHI_PERIOD = np.pi, 2 * np.pi
#: Clean patches of the first evaluation rows kept in meta["images"] (colosseum-preview draws them).
PREVIEW_IMAGES = 8


@dataclass(frozen=True, eq=False)
class PatchModel:
    """The pixel grid, its Laplacian D and the D-orthonormal DCT basis A of one patch size."""

    patch_size: int
    x: np.ndarray        # (p²,) pixel offsets along x (row-major over the p x p grid)
    y: np.ndarray        # (p²,) pixel offsets along y
    laplacian: np.ndarray  # D, (p², p²)
    basis: np.ndarray    # A, (p², p² - 1), AᵀDA = I
    rescale_offsets: bool = False

    @property
    def dim(self) -> int:
        """Dimension p² - 1 of the isometric coordinates."""
        return self.basis.shape[1]


def patch_model(patch_size: int = 3, rescale_offsets: bool = False) -> PatchModel:
    """Grid, graph Laplacian and D-orthonormal non-constant DCT basis of p x p patches."""
    p = int(patch_size)
    offsets = np.arange(p) - (p - 1) / 2
    if rescale_offsets:
        offsets = offsets / ((p - 1) / 2)
    path = np.diag(np.r_[1.0, 2.0 * np.ones(p - 2), 1.0]) - np.eye(p, k=1) - np.eye(p, k=-1)
    laplacian = np.kron(path, np.eye(p)) + np.kron(np.eye(p), path)
    k = np.arange(p)
    dct = np.cos(np.pi * np.outer(k + 0.5, k) / p)  # DCT-II: eigenvectors of the path Laplacian
    dct /= np.linalg.norm(dct, axis=0)
    eig1 = 2.0 - 2.0 * np.cos(np.pi * k / p)
    vecs, eigs = np.kron(dct, dct), (eig1[:, None] + eig1[None, :]).ravel()
    keep = np.arange(p * p) != 0  # drop the constant pattern (eigenvalue 0)
    basis = vecs[:, keep] / np.sqrt(eigs[keep])
    xs, ys = np.meshgrid(offsets, offsets, indexing="ij")
    return PatchModel(p, xs.ravel(), ys.ravel(), laplacian, basis, bool(rescale_offsets))


def patches(model: PatchModel, u: np.ndarray) -> np.ndarray:
    """Raw pixel patches P(θ, φ) for each row of u: (n, p²)."""
    u = np.atleast_2d(np.asarray(u, dtype=np.float64))
    t = np.cos(u[:, :1]) * model.x + np.sin(u[:, :1]) * model.y
    return np.cos(u[:, 1:]) * t**2 + np.sin(u[:, 1:]) * t


def project(model: PatchModel, pixels: np.ndarray) -> np.ndarray:
    """Isometric coordinates Aᵀ D P / ‖P‖_D of pixel patches (n, p²) -> (n, p² - 1), on the unit sphere."""
    dp = pixels @ model.laplacian
    coords = dp @ model.basis
    return coords / np.sqrt(np.einsum("ij,ij->i", dp, pixels))[:, None]


@functools.lru_cache(maxsize=16)
def _klein_family(p: int, rescale: bool):
    """The embedding of one patch model as a family function (theta unused): one function object per model,
    so its truth and density compile once per process, not per draw."""
    model = patch_model(p, rescale)
    x, y = jnp.asarray(model.x), jnp.asarray(model.y)
    lap, proj = jnp.asarray(model.laplacian), jnp.asarray(model.basis.T @ model.laplacian)

    def family(theta, u):
        t = jnp.cos(u[0]) * x + jnp.sin(u[0]) * y
        pix = jnp.cos(u[1]) * t**2 + jnp.sin(u[1]) * t
        return proj @ pix / jnp.sqrt(pix @ lap @ pix)
    return family


def klein_embedding(model: PatchModel) -> Family:
    """The jax-traceable embedding (θ, φ) -> v ∈ S^(p²-2) ⊂ R^(p²-1)."""
    return Family(_klein_family(model.patch_size, model.rescale_offsets), np.zeros(1))


#: Rows per call of the pointwise truth functions. jaxlib 0.10.x splits batched LAPACK calls over the
#: XLA:CPU intra-op pool and blocks a pool thread while waiting (jaxlib/cpu/lapack_kernels.cc,
#: ParallelBatchMap); scalar_curvature runs two such kernels side by side (orgqr for Q, trsm for R^-1),
#: and on a 2-thread pool both parallelised at once can deadlock. trsm of a 2 x 2 R goes parallel only
#: from 25,000 rows, so calls of at most this many rows are safe.
TRUTH_CHUNK = 8192


def pointwise_chunked(fn, embed, u: np.ndarray, chunk: int = TRUTH_CHUNK) -> np.ndarray:
    """fn(embed, u) (a colosseum.geometry pointwise function) evaluated in blocks of at most `chunk` rows."""
    u = np.atleast_2d(np.asarray(u, dtype=np.float64))
    return np.concatenate([fn(embed, u[i:i + chunk]) for i in range(0, len(u), chunk)])


def draw_parameters(embed, n: int, rng: np.random.Generator, density_slope: float = 0.0) -> tuple[np.ndarray, dict]:
    """n parameters (θ, φ) uniform in the Riemannian volume over [0, π) x [0, 2π) (times a density
    gradient along the first isometric coordinate when density_slope > 0)."""
    domain = Rect((0.0, 0.0), (THETA_PERIOD, PHI_PERIOD), periodic=True)  # closed: no boundary
    # sqrt(det g) is smooth but has no convexity to exploit: dense grid maximum x 1.2 (ground-truth §5);
    # volume_uniform still checks every proposal against the bound and redraws if it is ever exceeded.
    bound = density_bound(embed, domain, margin=1.2, max_grid=20_000)
    # Acceptance is about 0.47 (mean density 1.31 against a bound of 2.77 for p = 3): 2.5 n proposals
    # usually finish in one batch, which saves a compilation of the density.
    return volume_uniform(embed, domain, n, rng, bound=bound, batch=max(4096, int(2.5 * n)),
                          gradient=ambient_gradient(embed, domain, density_slope))


@register_dataset("klein_bottle")
def klein_bottle(*, seed: int, patch_size: Annotated[int, Range(ge=3)] = 3, rescale_offsets: bool = False,
                 n_points: PointCount = 2000, n_eval: Count = 64, noise: NonNegative = 0.0,
                 ambient_dim: int | None = None, zero_tol: NonNegative = 1e-3,
                 density_slope: Annotated[float, Range(ge=0, lt=1)] = 0.0,
                 noise_scale: Literal["pixel", "diameter"] = "pixel"):
    if patch_size % 2 == 0:
        raise ValueError(f"klein_bottle: patch_size must be an odd integer >= 3, got {patch_size!r}")
    p = int(patch_size)
    native = p * p - 1
    if not n_eval <= n_points:
        raise ValueError(f"klein_bottle: n_eval must be an integer in [1, n_points = {n_points}], got {n_eval!r}")
    check_ambient(ambient_dim, native, "klein_bottle")

    rng = np.random.default_rng(seed)
    noise_rng = np.random.default_rng([seed, 1])  # independent of noise level and of the other draws
    model = patch_model(p, bool(rescale_offsets))
    embed = klein_embedding(model)
    u, info = draw_parameters(embed, int(n_points), rng, density_slope)
    rows = np.sort(rng.choice(int(n_points), size=int(n_eval), replace=False)).astype(np.int64)

    pixels = patches(model, u)
    median_norm = float(np.median(np.linalg.norm(pixels, axis=1)))
    pixel_sd = float(noise) * median_norm if noise_scale == "pixel" else 0.0
    pixel_noise = noise_rng.standard_normal(pixels.shape)
    coords = project(model, pixels + pixel_sd * pixel_noise if pixel_sd > 0 else pixels)
    coord_sd = 0.0
    if noise_scale == "diameter" and noise > 0:  # Gaussian noise in patch coordinates, as every other dataset's
        coord_sd = float(noise) * diameter(coords)
        coords = coords + coord_sd * noise_rng.standard_normal(coords.shape)
    ambient = native if ambient_dim is None else int(ambient_dim)
    points = place_in_ambient(coords, ambient, rng)

    truth = pointwise_chunked(scalar_curvature, embed, u[rows])
    if not np.isfinite(truth).all():
        raise RuntimeError("klein_bottle: non-finite true curvature at some evaluation rows")
    cond = pointwise_chunked(metric_condition, embed, u[rows])
    meta = {"kind": "closed", "ambient_dim": ambient, "embedding_dim": native, "patch_size": p,
            "eval_rows_noised": bool(noise > 0), "noise_model": noise_scale, "noise_pixel_sd": pixel_sd,
            "noise_sd": coord_sd,
            "median_patch_norm": median_norm, "metric_condition_max": float(cond.max()),
            "images": pixels[rows[:PREVIEW_IMAGES]].reshape(-1, p, p), "eval_params": u[rows], **info}
    return Sample(points=points, eval_idx=rows, curvature=truth, dim=2, meta=meta)
