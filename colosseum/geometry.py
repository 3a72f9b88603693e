"""Exact ground truth: scalar curvature of an immersion by the Gauss equation and autodiff.

For F: R^d -> R^D with Jacobian J = QR (Q orthonormal tangent frame), the second fundamental
form in that frame is B_ab = R^-T_ai R^-T_bj P_N d_i d_j F with P_N = I - QQ^T, and
    S = |sum_a B_aa|^2 - sum_ab |B_ab|^2          (Gauss equation, contracted).
This is exact for any d and D, tilted or not: no graph or zero-gradient assumption.
Computed in float64 (x64 is switched on for these computations only).

Compilation: an embedding given as a `Family` member (a family function of (theta, u) and its parameters)
shares one compilation per geometric function, family and batch shape with every other member, so a
dataset that draws a new surface per seed compiles once per process instead of once per draw. A plain
closure is compiled on each call.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import solve_triangular

Embedding = Callable[[jax.Array], jax.Array]
#: Rows per compiled call (the last block is smaller, so at most two shapes are compiled).
CHUNK = 16_384
#: Members per compiled call of scalar_curvature_family (hangs were seen at 10k members under load).
FAMILY_CHUNK = 2_048
#: Rows x d^3 per compiled call of the scalar curvature. Its two batched LAPACK kernels (orgqr for Q, trsm
#: for R^-1) each go parallel past a cost threshold, and both parallel on a 2-thread pool can deadlock
#: (with or without --xla_cpu_multi_thread_eigen=false). trsm's threshold falls like d^3: measured with
#: D = 256 (image_manifold), it hung at 9,261 rows for d = 3 and 4,096 for d = 4 (about 25,000 for d = 2);
#: blocks within this budget (16,384 rows for d = 2, 4,854 for d = 3, 2,048 for d = 4) ran.
TRSM_BUDGET = 2**17


def curvature_chunk(dim: int, cap: int = CHUNK) -> int:
    """Rows per compiled scalar-curvature call for intrinsic dimension `dim` (see TRSM_BUDGET)."""
    return max(1, min(cap, TRSM_BUDGET // max(int(dim), 1) ** 3))


@dataclass(frozen=True, eq=False)
class Family:
    """The member `theta` of a family of immersions: u -> family(theta, u). `family` must be one function
    object for the whole family (module level, or cached per shape), `theta` a 1-D parameter array."""

    family: Callable[[jax.Array, jax.Array], jax.Array]
    theta: np.ndarray

    def __call__(self, u: jax.Array) -> jax.Array:
        return self.family(jnp.asarray(self.theta, dtype=u.dtype), u)


@functools.lru_cache(maxsize=256)
def _family_kernel(fn: Callable, family: Callable):
    """fn(member, v) vectorised over v and compiled once for the family (theta a traced argument)."""
    return jax.jit(jax.vmap(lambda th, v: fn(lambda w: family(th, w), v), in_axes=(None, 0)))


def batched(fn: Callable[[Embedding, jax.Array], jax.Array], embed: Embedding) -> Callable[[jax.Array], jax.Array]:
    """u (m, d) -> fn(embed, u_i) stacked, compiled once per family when `embed` is a Family member."""
    if isinstance(embed, Family):
        kernel = _family_kernel(fn, embed.family)
        theta = jnp.asarray(np.asarray(embed.theta, dtype=np.float64))
        return lambda u: kernel(theta, u)
    return jax.jit(jax.vmap(lambda v: fn(embed, v)))


def _frame(embed: Embedding, u: jax.Array) -> tuple[jax.Array, jax.Array]:
    jac = jax.jacfwd(embed)(u)  # (D, d)
    q, r = jnp.linalg.qr(jac)
    return q, r


def _scalar_curvature_at(embed: Embedding, u: jax.Array) -> jax.Array:
    q, r = _frame(embed, u)
    hess = jax.jacfwd(jax.jacfwd(embed))(u)  # (D, d, d)
    normal = hess - jnp.einsum("Da,Ea,Eij->Dij", q, q, hess)
    r_inv = solve_triangular(r, jnp.eye(r.shape[0], dtype=r.dtype), lower=False)
    b = jnp.einsum("ia,jb,Dij->Dab", r_inv, r_inv, normal)
    mean = jnp.trace(b, axis1=1, axis2=2)
    return mean @ mean - jnp.sum(b * b)


def _volume_element_at(embed: Embedding, u: jax.Array) -> jax.Array:
    _, r = _frame(embed, u)
    return jnp.abs(jnp.prod(jnp.diag(r)))  # sqrt(det g) = |det R|


def _metric_condition_at(embed: Embedding, u: jax.Array) -> jax.Array:
    _, r = _frame(embed, u)
    s = jnp.linalg.svd(r, compute_uv=False)
    return (s[0] / s[-1]) ** 2


def _pointwise(fn: Callable[[Embedding, jax.Array], jax.Array], embed: Embedding, u,
               chunk: int = CHUNK) -> np.ndarray:
    with jax.enable_x64(True):
        arr = jnp.asarray(np.asarray(u, dtype=np.float64))
        if arr.ndim not in (1, 2):
            raise ValueError(f"u must have shape (d,) or (m, d), got {arr.shape}")
        batch = arr[None] if arr.ndim == 1 else arr
        compiled = batched(fn, embed)
        # blocks below 25,000 rows: jaxlib 0.10's batched LAPACK kernels can deadlock above that on 2 threads
        out = np.concatenate([np.asarray(compiled(batch[i:i + chunk]), dtype=np.float64)
                              for i in range(0, batch.shape[0], chunk)])
    return np.asarray(out[0]) if arr.ndim == 1 else out


def scalar_curvature(embed: Embedding, u) -> np.ndarray:
    """Scalar curvature S of the immersion `embed` at parameters u ((d,) -> shape (), (m, d) -> (m,)).

    Sphere S^d of radius r: d(d-1)/r^2; surfaces: S = 2K. float64.
    """
    return _pointwise(_scalar_curvature_at, embed, u, chunk=curvature_chunk(np.shape(u)[-1] if np.ndim(u) else 1))


def volume_element(embed: Embedding, u) -> np.ndarray:
    """Riemannian volume density sqrt(det g) of `embed` at u: the target density of uniform sampling."""
    return _pointwise(_volume_element_at, embed, u)


def metric_condition(embed: Embedding, u) -> np.ndarray:
    """cond(g) at u: large values flag a degenerate chart (e.g. a pole of spherical coordinates)."""
    return _pointwise(_metric_condition_at, embed, u)


def scalar_curvature_family(family: Callable[[jax.Array, jax.Array], jax.Array], params, u) -> np.ndarray:
    """Scalar curvature of many members of a parametrized family at once.

    family(theta, u) -> R^D is one immersion per parameter vector theta; params has shape (k, p)
    and u shape (d,) (the same point for every member) or (k, d). Returns (k,) float64. One
    compiled call for the whole batch: cheap when a dataset draws many candidate surfaces.
    """
    with jax.enable_x64(True):
        theta = jnp.asarray(np.asarray(params, dtype=np.float64))
        pts = jnp.asarray(np.asarray(u, dtype=np.float64))
        if pts.ndim == 1:
            pts = jnp.broadcast_to(pts, (theta.shape[0], pts.shape[0]))
        fn = _family_batch(family)
        step = curvature_chunk(pts.shape[-1], FAMILY_CHUNK)
        return np.concatenate([np.asarray(fn(theta[i:i + step], pts[i:i + step]), dtype=np.float64)
                               for i in range(0, theta.shape[0], step)])


@functools.lru_cache(maxsize=64)
def _family_batch(family: Callable):
    return jax.jit(jax.vmap(lambda th, v: _scalar_curvature_at(lambda w: family(th, w), v)))


def _jacobian_at(embed: Embedding, u: jax.Array) -> jax.Array:
    return jax.jacfwd(embed)(u)


def _point_at(embed: Embedding, u: jax.Array) -> jax.Array:
    return embed(u)


def points(embed: Embedding, u) -> np.ndarray:
    """embed at each row of u (m, d): (m, D), float64."""
    return _pointwise(_point_at, embed, np.atleast_2d(np.asarray(u, dtype=np.float64)))


def jacobians(embed: Embedding, u) -> np.ndarray:
    """Jacobians (m, D, d) of embed at the rows of u, float64."""
    return _pointwise(_jacobian_at, embed, np.atleast_2d(np.asarray(u, dtype=np.float64)))


def point_function(embed: Embedding) -> Callable[[np.ndarray], np.ndarray]:
    """u (m, d) -> embed at each row (m, D), float64, compiled once for all calls (a sampler's loop)."""
    compiled = batched(_point_at, embed)

    def call(u) -> np.ndarray:
        with jax.enable_x64(True):
            return np.asarray(compiled(jnp.asarray(np.asarray(u, dtype=np.float64))), dtype=np.float64)
    return call
